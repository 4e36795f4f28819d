/**
 * The local stack's stand-in for Lambda's Invoke: a subscription's `{ module, handler }` target is
 * imported once and called in this process with the event (a fresh copy, as if it came over the
 * wire) and a Lambda-like context. The function's timeout is enforced: past it the invocation
 * counts as timed out, as Lambda reports it. (Lambda would also freeze the function; a module's
 * work left running after its timeout is not stopped here.)
 *
 * Only files inside the allowed module folders are imported, checked again at every invocation
 * (the subscriptions API refuses others at creation; this also stops a subscription stored before
 * the folders changed). A module outside fails as one that cannot be loaded does
 * (`Runtime.ImportModuleError`): retried, then dead-lettered, like any failing batch. (Reporting it
 * `unavailable` would keep the records waiting, but would also hold a dispatcher run retrying it
 * until the run's deadline, and with it the stack's stop.)
 */
import { randomUUID } from 'node:crypto';
import { basename, extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { ENV } from '../shared/config.js';
import { isModuleTarget, type ModuleTarget, type SubscriptionTarget } from '../shared/domain/subscription.js';
import { locateModule, type ModuleFolders } from '../shared/module-folders.js';
import type { FunctionInvoker, InvocationResult } from '../shared/ports/function-invoker.js';

type Handler = (
  event: unknown,
  context: Context,
  callback?: (error?: unknown, result?: unknown) => void,
) => unknown;

/**
 * Invokes module targets inside `folders.moduleDirs`; `folders.baseDir` resolves relative module
 * paths (the stack's working directory).
 * @default both the working directory
 */
export class ModuleInvoker implements FunctionInvoker {
  private readonly modules = new Map<string, Promise<Record<string, unknown>>>();
  private readonly folders: ModuleFolders;

  constructor(folders: Partial<ModuleFolders> = {}) {
    const baseDir = folders.baseDir ?? process.cwd();
    this.folders = { baseDir, moduleDirs: folders.moduleDirs ?? [baseDir] };
  }

  async timeoutMs(target: SubscriptionTarget): Promise<number> {
    return requireModule(target).timeoutMs;
  }

  async invoke(target: SubscriptionTarget, payload: string): Promise<InvocationResult> {
    const moduleTarget = requireModule(target);
    const location = locateModule(moduleTarget.module, this.folders);
    const { path } = location;
    let handler: Handler;
    try {
      if (location.kind === 'outside') {
        throw importError(
          `${path} is outside the folders modules may be loaded from ` +
            `(${this.folders.moduleDirs.join(', ')}); set ${ENV.moduleDirs} to allow it`,
        );
      }
      if (location.kind === 'missing') throw importError(`Cannot find module ${path}`);
      handler = await this.load(path, moduleTarget.handler);
    } catch (error) {
      return {
        kind: 'function-error',
        errorType: (error as Error).name,
        errorMessage: (error as Error).message,
      };
    }
    const started = Date.now();
    const deadline = started + moduleTarget.timeoutMs;
    const context = lambdaContext(path, moduleTarget, deadline);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<InvocationResult>((resolveTimeout) => {
      timer = setTimeout(
        () =>
          resolveTimeout({
            kind: 'function-error',
            errorType: 'Sandbox.Timedout',
            errorMessage: `Task timed out after ${(moduleTarget.timeoutMs / 1000).toFixed(2)} seconds`,
          }),
        moduleTarget.timeoutMs,
      );
    });
    try {
      return await Promise.race([run(handler, JSON.parse(payload), context), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async load(path: string, name: string): Promise<Handler> {
    let loading = this.modules.get(path);
    if (!loading) {
      // A computed specifier: bundlers and Vite leave it to the runtime.
      const specifier = pathToFileURL(path).href;
      loading = import(specifier) as Promise<Record<string, unknown>>;
      this.modules.set(path, loading);
      loading.catch(() => this.modules.delete(path));
    }
    let module: Record<string, unknown>;
    try {
      module = await loading;
    } catch (error) {
      throw importError(`${path} failed to load: ${(error as Error).message}`);
    }
    const handler = module[name];
    if (typeof handler !== 'function') {
      throw Object.assign(new Error(`${basename(path)}.${name} is undefined or not exported`), {
        name: 'Runtime.HandlerNotFound',
      });
    }
    return handler as Handler;
  }
}

/** The error Lambda reports for a handler module it cannot load. */
function importError(message: string): Error {
  return Object.assign(new Error(message), { name: 'Runtime.ImportModuleError' });
}

function requireModule(target: SubscriptionTarget): ModuleTarget {
  if (!isModuleTarget(target)) {
    throw new Error('The local stack invokes module targets only; functionArn targets are invoked in AWS');
  }
  return target;
}

async function run(handler: Handler, event: unknown, context: Context): Promise<InvocationResult> {
  try {
    const result =
      handler.length >= 3
        ? await new Promise<unknown>((resolveCallback, rejectCallback) => {
            const returned = handler(event, context, (error, value) =>
              error ? rejectCallback(error) : resolveCallback(value),
            );
            if (returned instanceof Promise) returned.then(resolveCallback, rejectCallback);
          })
        : await handler(event, context);
    // The answer goes over the wire in Lambda: what JSON cannot carry is lost here too.
    const text = result === undefined ? undefined : JSON.stringify(result);
    return { kind: 'returned', answer: text === undefined ? undefined : JSON.parse(text) };
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    return { kind: 'function-error', errorType: failure.name || 'Error', errorMessage: failure.message };
  }
}

function lambdaContext(path: string, target: ModuleTarget, deadline: number): Context {
  const functionName = `${basename(path, extname(path))}-${target.handler}`.replace(/[^a-zA-Z0-9-_]/g, '-');
  const requestId = randomUUID();
  const unsupported = () => {
    throw new Error('context.done, fail and succeed are not supported: return a value or throw');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '128',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/[$LATEST]${requestId.replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}
