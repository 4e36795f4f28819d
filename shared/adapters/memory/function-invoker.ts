/**
 * Subscription targets as functions in memory: each target names a handler registered here, called
 * with the event parsed from its payload (a fresh copy, as if it came over the wire). What the
 * dispatcher sees is what `adapters/lambda/lambda-invoker.ts` reports: the JSON answer, a function
 * error (the handler threw: Lambda's `FunctionError`, named by the error's name), or `unavailable`
 * for a target that is not there (Lambda's ResourceNotFoundException). Every invocation is
 * remembered, for tests of what was delivered.
 */
import { isModuleTarget, type SubscriptionTarget } from '../../domain/subscription.js';
import type { FunctionInvoker, InvocationResult } from '../../ports/function-invoker.js';

/** A function's handler: its answer, or a throw for a function error. */
export type MemoryHandler = (event: unknown) => unknown;

/** Lambda's default function timeout, for function targets registered without one. */
const DEFAULT_TIMEOUT_MS = 3_000;

export class MemoryFunctionInvoker implements FunctionInvoker {
  private readonly functions = new Map<string, { handler: MemoryHandler; timeoutMs: number }>();
  /** Every invocation that reached a handler, in order: the target's name and the event. */
  readonly invocations: { readonly name: string; readonly event: unknown }[] = [];

  /** Registers (or replaces) the function a target names: its ARN, or a module's path. */
  register(name: string, handler: MemoryHandler, timeoutMs = DEFAULT_TIMEOUT_MS): void {
    this.functions.set(name, { handler, timeoutMs });
  }

  /** Removes a function: its invocations are `unavailable` from then on. */
  unregister(name: string): void {
    this.functions.delete(name);
  }

  async timeoutMs(target: SubscriptionTarget): Promise<number> {
    if (isModuleTarget(target)) return target.timeoutMs;
    return this.functions.get(target.functionArn)?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async invoke(target: SubscriptionTarget, payload: string): Promise<InvocationResult> {
    const name = isModuleTarget(target) ? target.module : target.functionArn;
    const fn = this.functions.get(name);
    if (!fn) return { kind: 'unavailable', reason: `ResourceNotFoundException: Function not found: ${name}` };
    const event: unknown = JSON.parse(payload);
    this.invocations.push({ name, event });
    try {
      const answer = await fn.handler(structuredClone(event));
      // The answer crosses the wire as JSON too.
      return {
        kind: 'returned',
        answer: answer === undefined ? undefined : JSON.parse(JSON.stringify(answer)),
      };
    } catch (error) {
      const thrown = error instanceof Error ? error : new Error(String(error));
      return { kind: 'function-error', errorType: thrown.name, errorMessage: thrown.message };
    }
  }
}
