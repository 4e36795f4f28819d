import type { SubscriptionTarget } from '../domain/subscription.js';

/** How one synchronous invocation ended. */
export type InvocationResult =
  /** The function returned; `answer` is its JSON result (undefined when it returned nothing). */
  | { readonly kind: 'returned'; readonly answer: unknown }
  /** The function threw, crashed or timed out (Lambda's `FunctionError`). */
  | { readonly kind: 'function-error'; readonly errorType: string; readonly errorMessage: string }
  /**
   * The function could not be run: throttled, missing, not permitted. Not the records' fault, so it
   * does not count towards retryAttempts.
   */
  | { readonly kind: 'unavailable'; readonly reason: string };

/**
 * Runs a subscription's target with an event. Implemented by `adapters/lambda/lambda-invoker.ts`
 * (AWS Lambda, RequestResponse) and `local/module-invoker.ts` (a module's handler, in process).
 */
export interface FunctionInvoker {
  /**
   * The function's timeout: the dispatcher starts an invocation only when it can wait that long
   * and holds the partition's lease for at least as long.
   * @throws Error when the target cannot be used by this invoker (e.g. a module target in AWS).
   */
  timeoutMs(target: SubscriptionTarget): Promise<number>;
  /** Invokes with `payload`, the event as JSON text. */
  invoke(target: SubscriptionTarget, payload: string): Promise<InvocationResult>;
}
