/**
 * Shoal's error hierarchy. Domain code throws these; only the HTTP edge maps them to status codes
 * (`shared/http/problem.ts`). Each carries structured fields instead of formatting them into text.
 */

/** Base of every error Shoal raises on purpose. */
export class ShoalError extends Error {
  override name = 'ShoalError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The request is malformed or a field is out of bounds; `field` names the offending field. */
export class InvalidRequestError extends ShoalError {
  override name = 'InvalidRequestError';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The request exceeds a published limit (body, record, transaction size or item count). */
export class LimitExceededError extends ShoalError {
  override name = 'LimitExceededError';
  constructor(
    message: string,
    readonly limit: string,
    readonly value: number,
    readonly max: number,
  ) {
    super(message);
  }
}

export class TopicNotFoundError extends ShoalError {
  override name = 'TopicNotFoundError';
  constructor(readonly topic: string) {
    super(`Topic '${topic}' does not exist`);
  }
}

export class TopicExistsError extends ShoalError {
  override name = 'TopicExistsError';
  constructor(readonly topic: string) {
    super(`Topic '${topic}' already exists`);
  }
}

export class PartitionNotFoundError extends ShoalError {
  override name = 'PartitionNotFoundError';
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly partitionCount: number,
  ) {
    super(`Topic '${topic}' has no partition ${partition}: it has partitions 0 to ${partitionCount - 1}`);
  }
}

/** A fetch asked for an offset outside [logStartOffset, highWatermark]. */
export class OffsetOutOfRangeError extends ShoalError {
  override name = 'OffsetOutOfRangeError';
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offset: number,
    readonly logStartOffset: number,
    readonly highWatermark: number,
  ) {
    super(
      `Offset ${offset} is out of range for ${topic}-${partition}: readable offsets are ${logStartOffset} to ${highWatermark}`,
    );
  }
}

/** The same Idempotency-Key was used with a different request body. */
export class IdempotencyKeyReusedError extends ShoalError {
  override name = 'IdempotencyKeyReusedError';
  constructor(readonly idempotencyKey: string) {
    super(`Idempotency-Key '${idempotencyKey}' was already used with a different request`);
  }
}

/** A change that the current state does not allow (e.g. fewer partitions). */
export class ConflictError extends ShoalError {
  override name = 'ConflictError';
}

/**
 * The operation could not finish now but may succeed on retry (lost append races, throttling).
 * `retryAfterSeconds` becomes the `Retry-After` header.
 */
export class RetryableError extends ShoalError {
  override name = 'RetryableError';
  constructor(
    message: string,
    readonly reason: 'contention' | 'throttled' | 'unavailable',
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
