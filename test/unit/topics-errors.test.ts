/**
 * Shoal's errors (`shared/domain/errors.ts`) as a caller sees them: a 4xx answer shows the
 * message as its `detail`, logs and clients tell errors apart by `name`, and every error keeps the
 * structured fields and the cause it was given. (`problem.test.ts` pins the status each maps to.)
 */
import { describe, expect, it } from 'vitest';
import * as errors from '../../shared/domain/errors.js';
import { problemFor } from '../../shared/http/problem.js';

/**
 * One error (made inside the test, so that mutation testing sees which test covers which class),
 * the name it reports, its message, and fields it carries.
 */
type Row = [() => errors.ShoalError, string, string, Record<string, unknown>];

const rows: Row[] = [
  [() => new errors.ShoalError('plain'), 'ShoalError', 'plain', {}],
  [
    () => new errors.InvalidRequestError('bad key', 'key'),
    'InvalidRequestError',
    'bad key',
    { field: 'key' },
  ],
  [
    () => new errors.LimitExceededError('too many', 'records', 600, 500),
    'LimitExceededError',
    'too many',
    { limit: 'records', value: 600, max: 500 },
  ],
  [
    () => new errors.TopicNotFoundError('orders'),
    'TopicNotFoundError',
    "Topic 'orders' does not exist",
    { topic: 'orders' },
  ],
  [
    () => new errors.TopicExistsError('orders'),
    'TopicExistsError',
    "Topic 'orders' already exists",
    { topic: 'orders' },
  ],
  [
    () => new errors.PartitionNotFoundError('orders', 7, 3),
    'PartitionNotFoundError',
    "Topic 'orders' has no partition 7: it has partitions 0 to 2",
    { topic: 'orders', partition: 7, partitionCount: 3 },
  ],
  [
    () => new errors.OffsetOutOfRangeError('orders', 1, 99, 10, 50),
    'OffsetOutOfRangeError',
    'Offset 99 is out of range for orders-1: readable offsets are 10 to 50',
    { topic: 'orders', partition: 1, offset: 99, logStartOffset: 10, highWatermark: 50 },
  ],
  [
    () => new errors.IdempotencyKeyReusedError('k-1'),
    'IdempotencyKeyReusedError',
    "Idempotency-Key 'k-1' was already used with a different request",
    { idempotencyKey: 'k-1' },
  ],
  [() => new errors.ConflictError('fewer partitions'), 'ConflictError', 'fewer partitions', {}],
  [
    () => new errors.RetryableError('busy', 'contention', 1),
    'RetryableError',
    'busy',
    { reason: 'contention', retryAfterSeconds: 1 },
  ],
  [
    () => new errors.GroupNotFoundError('billing'),
    'GroupNotFoundError',
    "Consumer group 'billing' does not exist",
    { group: 'billing' },
  ],
  [
    () => new errors.FencedError('billing', 'stale-generation', 4, 'm-1', 'generation 3 is stale'),
    'FencedError',
    'generation 3 is stale',
    { group: 'billing', reason: 'stale-generation', generation: 4, memberId: 'm-1' },
  ],
  [
    () => new errors.GroupNotEmptyError('billing', 2, 'it can be deleted'),
    'GroupNotEmptyError',
    "Consumer group 'billing' has 2 live member(s): it can be deleted only while it has none (stop its consumers or wait for their session timeout)",
    { group: 'billing', liveMembers: 2 },
  ],
  [
    () => new errors.OffsetRegressionError('billing', 'orders', 0, 5, 9),
    'OffsetRegressionError',
    "Offset 5 for orders-0 is below the group's committed offset 9; committed offsets only move forward (reset the group to move them back)",
    { group: 'billing', topic: 'orders', partition: 0, offset: 5, committedOffset: 9 },
  ],
  [
    () => new errors.OffsetRegressionError('billing', 'orders', 0, 5, undefined),
    'OffsetRegressionError',
    "Offset 5 for orders-0 is below the group's committed offset (unknown); committed offsets only move forward (reset the group to move them back)",
    { committedOffset: undefined },
  ],
  [
    () => new errors.InvalidCommitOffsetError('orders', 2, 80, 70),
    'InvalidCommitOffsetError',
    'Cannot commit offset 80 for orders-2: a committed offset is the next offset to read, from 0 to the high watermark 70',
    { topic: 'orders', partition: 2, offset: 80, highWatermark: 70 },
  ],
  [
    () => new errors.SubscriptionNotFoundError('mailer'),
    'SubscriptionNotFoundError',
    "Subscription 'mailer' does not exist",
    { subscription: 'mailer' },
  ],
  [
    () => new errors.SubscriptionExistsError('mailer'),
    'SubscriptionExistsError',
    "Subscription 'mailer' already exists",
    { subscription: 'mailer' },
  ],
];

describe('Shoal errors', () => {
  it.each(rows)('%# reports its name %j, its message and its fields', (make, name, message, fields) => {
    const error = make();
    expect(error).toBeInstanceOf(errors.ShoalError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(error.message).toBe(message);
    expect(error).toMatchObject(fields);
    expect(String(error)).toBe(`${name}: ${message}`);
  });

  it('keeps the cause of a failure it wraps', () => {
    const cause = new Error('ProvisionedThroughputExceededException');

    expect(new errors.ShoalError('failed', { cause }).cause).toBe(cause);
    expect(new errors.RetryableError('slow down', 'throttled', 2, { cause }).cause).toBe(cause);
    expect(new errors.RetryableError('slow down', 'throttled', 2).cause).toBeUndefined();
  });

  it('answers a topic deleted under a request as a missing topic (404), not as a failure', () => {
    const error = new errors.TopicDeletedError('orders');

    expect(error).toBeInstanceOf(errors.TopicNotFoundError);
    expect(error.message).toBe("Topic 'orders' does not exist");
    expect(problemFor(error)).toMatchObject({ status: 404, slug: 'topic-not-found', errorCode: 40401 });
  });
});
