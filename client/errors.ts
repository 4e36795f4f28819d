/**
 * What the client throws. Both join the one `ShoalError` hierarchy, so an application can catch
 * everything Shoal raises with one `instanceof`.
 */
import { ShoalError } from '../shared/domain/errors.js';

/**
 * The API answered with an error (RFC 9457 problem details). `errorCode` is the Confluent REST Proxy
 * code where one exists (40401 topic not found, 40402 partition not found, 42206 invalid payload...),
 * otherwise the HTTP status.
 *
 * @example
 * try { await admin.describeTopic('orders'); }
 * catch (error) { if (error instanceof ShoalApiError && error.errorCode === 40401) create(); }
 */
export class ShoalApiError extends ShoalError {
  override name = 'ShoalApiError';
  constructor(
    message: string,
    /** The HTTP status. */
    readonly status: number,
    /** The problem's `error_code`. */
    readonly errorCode: number,
    /** The problem's `type`, e.g. `urn:shoal:problem:topic-not-found`. */
    readonly type: string,
    /** The whole problem body, with its extra fields (`logStartOffset`, `reason`...). */
    readonly problem: Readonly<Record<string, unknown>>,
    /** `GET /v1/topics/orders`. */
    readonly request: string,
  ) {
    super(message);
  }
}

/** No answer arrived (connection refused or reset, DNS, timeout) after the bounded retries. */
export class ShoalConnectionError extends ShoalError {
  override name = 'ShoalConnectionError';
  constructor(
    message: string,
    readonly request: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A client-side misuse: a bad option, a call in the wrong state. */
export class ShoalClientStateError extends ShoalError {
  override name = 'ShoalClientStateError';
}

/** Problem `error_code`s the client reacts to. */
export const ERROR_CODES = {
  topicNotFound: 40401,
  partitionNotFound: 40402,
  groupNotFound: 40404,
  staleGeneration: 40910,
  unknownMember: 40911,
  notOwner: 40912,
  groupNotEmpty: 40913,
  offsetRegression: 40914,
  offsetOutOfRange: 416,
  topicExists: 409,
} as const;

/** True for an API error with one of the given `error_code`s. */
export function isApiError(error: unknown, ...errorCodes: number[]): error is ShoalApiError {
  return error instanceof ShoalApiError && (errorCodes.length === 0 || errorCodes.includes(error.errorCode));
}

/** What was thrown, as an Error (a handler may throw anything). */
export function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
