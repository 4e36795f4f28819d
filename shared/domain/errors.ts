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

/**
 * The topic incarnation a request read (maybe a cached copy) was deleted meanwhile: its heads are
 * tombstones. A missing topic to the caller; the log service first retries on a fresh read, which
 * may find the topic created again.
 */
export class TopicDeletedError extends TopicNotFoundError {}

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

export class GroupNotFoundError extends ShoalError {
  override name = 'GroupNotFoundError';
  constructor(readonly group: string) {
    super(`Consumer group '${group}' does not exist`);
  }
}

/**
 * Why a group request was fenced, with Kafka's error names: `stale-generation` is
 * ILLEGAL_GENERATION, `unknown-member` is UNKNOWN_MEMBER_ID (never joined, left, or silent past its
 * session timeout), `not-owner` means the partition is not assigned to the member in the current
 * generation.
 */
export type FencedReason = 'stale-generation' | 'unknown-member' | 'not-owner';

/**
 * A member acted on a view of the group that is no longer current. The member should heartbeat (or
 * rejoin, for `unknown-member`) and carry on with the answer's generation and assignments;
 * `generation` is the group's current one.
 */
export class FencedError extends ShoalError {
  override name = 'FencedError';
  constructor(
    readonly group: string,
    readonly reason: FencedReason,
    readonly generation: number,
    readonly memberId: string | undefined,
    detail: string,
  ) {
    super(detail);
  }
}

/** Reset, delete and standalone commits need a group without live members. */
export class GroupNotEmptyError extends ShoalError {
  override name = 'GroupNotEmptyError';
  constructor(
    readonly group: string,
    readonly liveMembers: number,
    action: string,
  ) {
    super(
      `Consumer group '${group}' has ${liveMembers} live member(s): ${action} only while it has none (stop its consumers or wait for their session timeout)`,
    );
  }
}

/** A commit would move a committed offset backwards; only a reset may do that. */
export class OffsetRegressionError extends ShoalError {
  override name = 'OffsetRegressionError';
  constructor(
    readonly group: string,
    readonly topic: string,
    readonly partition: number,
    readonly offset: number,
    readonly committedOffset: number | undefined,
  ) {
    super(
      `Offset ${offset} for ${topic}-${partition} is below the group's committed offset ${committedOffset ?? '(unknown)'}; committed offsets only move forward (reset the group to move them back)`,
    );
  }
}

/** A commit named an offset past the partition's high watermark (or below 0). */
export class InvalidCommitOffsetError extends ShoalError {
  override name = 'InvalidCommitOffsetError';
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offset: number,
    readonly highWatermark: number,
  ) {
    super(
      `Cannot commit offset ${offset} for ${topic}-${partition}: a committed offset is the next offset to read, from 0 to the high watermark ${highWatermark}`,
    );
  }
}

export class SubscriptionNotFoundError extends ShoalError {
  override name = 'SubscriptionNotFoundError';
  constructor(readonly subscription: string) {
    super(`Subscription '${subscription}' does not exist`);
  }
}

export class SubscriptionExistsError extends ShoalError {
  override name = 'SubscriptionExistsError';
  constructor(readonly subscription: string) {
    super(`Subscription '${subscription}' already exists`);
  }
}
