/**
 * Invokes subscribed Lambda functions synchronously (`RequestResponse`), as an event source mapping
 * does, and reads each function's timeout so the dispatcher never starts an invocation it cannot
 * wait for.
 */
import {
  GetFunctionConfigurationCommand,
  InvokeCommand,
  type InvokeCommandOutput,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { isModuleTarget, type SubscriptionTarget } from '../../domain/subscription.js';
import type { FunctionInvoker, InvocationResult } from '../../ports/function-invoker.js';

/** How long a function's timeout is remembered before it is read again. */
const CONFIGURATION_TTL_MS = 5 * 60 * 1000;
/** The SDK call may outlast the function by this much (network, queueing) before it is abandoned. */
const CALL_MARGIN_MS = 10_000;

/**
 * Invokes function targets with the Lambda client it is given (built once per process); module
 * targets fail, they run on the local stack only.
 */
export class LambdaInvoker implements FunctionInvoker {
  private readonly timeouts = new Map<string, { timeoutMs: number; readAt: number }>();

  constructor(
    private readonly lambda: LambdaClient,
    private readonly now: () => number = Date.now,
  ) {}

  async timeoutMs(target: SubscriptionTarget): Promise<number> {
    const functionArn = requireFunction(target);
    const cached = this.timeouts.get(functionArn);
    if (cached && this.now() - cached.readAt < CONFIGURATION_TTL_MS) return cached.timeoutMs;
    const configuration = await this.lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: functionArn }),
    );
    const timeoutMs = (configuration.Timeout ?? 3) * 1000;
    this.timeouts.set(functionArn, { timeoutMs, readAt: this.now() });
    return timeoutMs;
  }

  async invoke(target: SubscriptionTarget, payload: string): Promise<InvocationResult> {
    const functionArn = requireFunction(target);
    const timeoutMs = await this.timeoutMs(target);
    let answer: InvokeCommandOutput;
    try {
      answer = await this.lambda.send(
        new InvokeCommand({
          FunctionName: functionArn,
          InvocationType: 'RequestResponse',
          Payload: Buffer.from(payload, 'utf8'),
        }),
        { abortSignal: AbortSignal.timeout(timeoutMs + CALL_MARGIN_MS) },
      );
    } catch (error) {
      // Throttled, missing, not permitted, or no answer in time: the records are not at fault.
      const name = (error as { name?: string }).name ?? 'Error';
      return { kind: 'unavailable', reason: `${name}: ${(error as Error).message}` };
    }
    const text = answer.Payload ? Buffer.from(answer.Payload).toString('utf8') : '';
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = text;
    }
    if (answer.FunctionError) {
      const error = (body ?? {}) as { errorType?: unknown; errorMessage?: unknown };
      return {
        kind: 'function-error',
        errorType: typeof error.errorType === 'string' ? error.errorType : answer.FunctionError,
        errorMessage: typeof error.errorMessage === 'string' ? error.errorMessage : text,
      };
    }
    return { kind: 'returned', answer: body };
  }
}

function requireFunction(target: SubscriptionTarget): string {
  if (isModuleTarget(target)) {
    throw new Error(
      `Module target ${target.module} runs on the local stack only; in AWS a subscription targets a functionArn`,
    );
  }
  return target.functionArn;
}
