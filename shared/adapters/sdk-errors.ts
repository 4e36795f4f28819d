/**
 * The one place that recognizes AWS SDK errors (DynamoDB, DynamoDB Streams, S3), by `name` or
 * cancellation reason `Code` (never by message text). Adapters ask these questions; throttling is
 * translated once for all DynamoDB adapters by the client middleware in `dynamodb/error-boundary.ts`,
 * so nothing above the adapters ever sees an SDK error it must understand.
 */

import { RetryableError } from '../domain/errors.js';

/** A cancellation reason of a failed TransactWriteItems, in item order. */
export interface CancellationReason {
  readonly Code?: string;
  readonly Message?: string;
}

function nameOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'name' in error && typeof error.name === 'string'
    ? error.name
    : undefined;
}

/** The per-item reasons of a cancelled transaction, or undefined when `error` is something else. */
export function cancellationReasons(error: unknown): readonly CancellationReason[] | undefined {
  if (nameOf(error) !== 'TransactionCanceledException') return undefined;
  const reasons = (error as { CancellationReasons?: unknown }).CancellationReasons;
  return Array.isArray(reasons) ? (reasons as CancellationReason[]) : [];
}

export function isConditionalCheckFailed(error: unknown): boolean {
  return nameOf(error) === 'ConditionalCheckFailedException';
}

/** Whether the condition of transaction item `index` failed (items in request order). */
export function conditionFailedAt(error: unknown, index: number): boolean {
  return cancellationReasons(error)?.[index]?.Code === 'ConditionalCheckFailed';
}

/** Whether the condition of any item of a cancelled transaction failed. */
export function anyConditionFailed(error: unknown): boolean {
  return cancellationReasons(error)?.some((reason) => reason.Code === 'ConditionalCheckFailed') ?? false;
}

/** S3's answer for an absent object: `NoSuchKey` from GET, `NotFound` from HEAD. */
export function isNoSuchKey(error: unknown): boolean {
  const name = nameOf(error);
  return name === 'NoSuchKey' || name === 'NotFound';
}

/** S3's answer to a range that starts past the object's end (any range of an empty object). */
export function isInvalidRange(error: unknown): boolean {
  return nameOf(error) === 'InvalidRange';
}

/** API Gateway's answer for a WebSocket connection that no longer exists (HTTP 410). */
export function isGoneConnection(error: unknown): boolean {
  return nameOf(error) === 'GoneException';
}

/** A DynamoDB Streams iterator the service no longer serves: trimmed away, or past its 15 minutes. */
export function isStaleIterator(error: unknown): boolean {
  const name = nameOf(error);
  return name === 'TrimmedDataAccessException' || name === 'ExpiredIteratorException';
}

/** DynamoDB's answer for a table (or stream) that does not exist, or not yet. */
export function isResourceNotFound(error: unknown): boolean {
  return nameOf(error) === 'ResourceNotFoundException';
}

const THROTTLING_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
]);
const THROTTLING_REASONS = new Set([
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
  'RequestLimitExceeded',
]);

/** DynamoDB refused for capacity: worth retrying later, the request did not apply. */
export function isThrottling(error: unknown): boolean {
  const name = nameOf(error);
  if (name !== undefined && THROTTLING_NAMES.has(name)) return true;
  return cancellationReasons(error)?.some((reason) => THROTTLING_REASONS.has(reason.Code ?? '')) ?? false;
}

/**
 * The retryable error a throttled DynamoDB call stands for, or undefined when `error` is not
 * throttling; the client middleware of `error-boundary.ts` throws it in place of the SDK's error, so
 * throttling answers 429 with Retry-After wherever it happens.
 */
export function throttlingAsRetryable(error: unknown): RetryableError | undefined {
  if (!isThrottling(error)) return undefined;
  return new RetryableError('DynamoDB is throttling this request; retry shortly', 'throttled', 1, {
    cause: error,
  });
}

/**
 * The retryable error a failed S3 write stands for, or undefined for an error that is not S3's to
 * retry: `SlowDown` (503, S3's throttling) after the SDK's retries, or a timeout or server failure.
 * Either way nothing that depends on the object was committed, so the whole request can be retried.
 */
export function s3WriteFailureAsRetryable(error: unknown): RetryableError | undefined {
  if (nameOf(error) === 'SlowDown') {
    return new RetryableError('S3 is throttling writes; retry shortly', 'throttled', 1, { cause: error });
  }
  if (!isAmbiguousFailure(error)) return undefined;
  return new RetryableError('S3 did not answer a write in time; retry', 'unavailable', 1, { cause: error });
}

/** Another transaction touched the same item at the same moment: the request did not apply. */
export function isTransactionConflict(error: unknown): boolean {
  if (nameOf(error) === 'TransactionInProgressException') return true;
  return cancellationReasons(error)?.some((reason) => reason.Code === 'TransactionConflict') ?? false;
}

const AMBIGUOUS_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'AbortError',
  'InternalServerError',
  'ServiceUnavailable',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNREFUSED',
]);

/**
 * The request may or may not have been applied: a timeout or a connection or server failure.
 * Writes that end this way must be resolved by reading back.
 */
export function isAmbiguousFailure(error: unknown): boolean {
  const name = nameOf(error);
  if (name !== undefined && AMBIGUOUS_NAMES.has(name)) return true;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && AMBIGUOUS_NAMES.has(code)) return true;
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  return typeof status === 'number' && status >= 500;
}
