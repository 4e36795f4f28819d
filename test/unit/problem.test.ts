import { describe, expect, it } from 'vitest';
import * as errors from '../../shared/domain/errors.js';
import { internalErrorResult, problemFor, problemResult } from '../../shared/http/problem.js';

/** One error and the answer it gets: status, slug, title, error_code and the fields after them. */
type Row = [string, Error, number, string, string, number, Record<string, unknown>];

/** A fenced request of group 'billing', generation 4. */
const fenced = (
  reason: errors.FencedReason,
  errorCode: number,
  memberId: string | undefined,
  extra: Record<string, unknown>,
): Row => [
  `a fenced ${reason}`,
  new errors.FencedError('billing', reason, 4, memberId, 'fenced'),
  409,
  `fenced-${reason}`,
  'Fenced',
  errorCode,
  extra,
];

const rows: Row[] = [
  [
    'a field',
    new errors.InvalidRequestError('bad', 'key'),
    400,
    'invalid-request',
    'Invalid request',
    400,
    { field: 'key' },
  ],
  [
    'no field',
    new errors.InvalidRequestError('bad body'),
    400,
    'invalid-request',
    'Invalid request',
    400,
    {},
  ],
  [
    'a limit',
    new errors.LimitExceededError('too many', 'records', 600, 500),
    413,
    'limit-exceeded',
    'Request exceeds a limit',
    413,
    { limit: 'records', value: 600, max: 500 },
  ],
  ['a topic', new errors.TopicNotFoundError('orders'), 404, 'topic-not-found', 'Topic not found', 40401, {}],
  [
    'a partition',
    new errors.PartitionNotFoundError('t', 7, 3),
    404,
    'partition-not-found',
    'Partition not found',
    40402,
    {},
  ],
  [
    'a range',
    new errors.OffsetOutOfRangeError('orders', 1, 99, 10, 50),
    416,
    'offset-out-of-range',
    'Offset out of range',
    416,
    { offset: 99, logStartOffset: 10, highWatermark: 50 },
  ],
  [
    'a topic name',
    new errors.TopicExistsError('orders'),
    409,
    'topic-exists',
    'Topic already exists',
    409,
    {},
  ],
  [
    'a group',
    new errors.GroupNotFoundError('billing'),
    404,
    'group-not-found',
    'Consumer group not found',
    40404,
    {},
  ],
  [
    'a name',
    new errors.SubscriptionNotFoundError('m'),
    404,
    'subscription-not-found',
    'Subscription not found',
    40405,
    {},
  ],
  [
    'a taken name',
    new errors.SubscriptionExistsError('m'),
    409,
    'subscription-exists',
    'Subscription already exists',
    40915,
    {},
  ],
  fenced('stale-generation', 40910, 'm-1', { reason: 'stale-generation', generation: 4, memberId: 'm-1' }),
  fenced('unknown-member', 40911, undefined, { reason: 'unknown-member', generation: 4 }),
  fenced('not-owner', 40912, 'm-2', { reason: 'not-owner', generation: 4, memberId: 'm-2' }),
  [
    'live members',
    new errors.GroupNotEmptyError('billing', 2, 'it can be deleted'),
    409,
    'group-not-empty',
    'Consumer group has live members',
    40913,
    { liveMembers: 2 },
  ],
  [
    'a committed offset',
    new errors.OffsetRegressionError('billing', 'orders', 0, 5, 9),
    409,
    'offset-regression',
    'Committed offsets only move forward',
    40914,
    { topic: 'orders', partition: 0, offset: 5, committedOffset: 9 },
  ],
  [
    'an unknown committed offset',
    new errors.OffsetRegressionError('billing', 'orders', 0, 5, undefined),
    409,
    'offset-regression',
    'Committed offsets only move forward',
    40914,
    { topic: 'orders', partition: 0, offset: 5, committedOffset: null },
  ],
  [
    'a high watermark',
    new errors.InvalidCommitOffsetError('orders', 2, 80, 70),
    422,
    'invalid-commit-offset',
    'Offset cannot be committed',
    42202,
    { topic: 'orders', partition: 2, offset: 80, highWatermark: 70 },
  ],
  ['a state', new errors.ConflictError('fewer partitions'), 409, 'conflict', 'Conflict', 409, {}],
  [
    'a key',
    new errors.IdempotencyKeyReusedError('k-1'),
    422,
    'idempotency-key-reused',
    'Idempotency-Key reused with a different request',
    422,
    {},
  ],
  [
    'throttling',
    new errors.RetryableError('slow down', 'throttled', 2),
    429,
    'throttled',
    'Too many requests',
    429,
    {},
  ],
  [
    'contention',
    new errors.RetryableError('busy', 'contention', 1),
    503,
    'contention',
    'Service unavailable',
    503,
    {},
  ],
  [
    'an outage',
    new errors.RetryableError('down', 'unavailable', 5),
    503,
    'unavailable',
    'Service unavailable',
    503,
    {},
  ],
];

describe('problem answers', () => {
  it.each(rows)('answers %s with its status, slug, title, error_code and fields, in this order', (...row) => {
    // Prepare
    const [, error, status, slug, title, errorCode, extra] = row;
    const problem = problemFor(error);

    // Act
    const result = problem && problemResult(problem, 'req-1');

    // Assess
    expect(result?.statusCode).toBe(status);
    expect(result?.body).toBe(
      JSON.stringify({
        type: `urn:shoal:problem:${slug}`,
        title,
        status,
        detail: error.message,
        error_code: errorCode,
        ...extra,
        requestId: 'req-1',
      }),
    );
  });

  it('tells a retryable error when to come back, and no other', () => {
    const retryAfter = (error: Error) => {
      const problem = problemFor(error);
      return problem && problemResult(problem).headers;
    };

    expect(retryAfter(new errors.RetryableError('slow down', 'throttled', 2))).toEqual({
      'content-type': 'application/problem+json',
      'retry-after': '2',
    });
    expect(retryAfter(new errors.TopicNotFoundError('orders'))).toEqual({
      'content-type': 'application/problem+json',
    });
  });

  it('maps nothing that is not a known Shoal error (those are 5xx)', () => {
    expect(problemFor(new Error('bug'))).toBeUndefined();
    expect(problemFor(new errors.ShoalError('unmapped'))).toBeUndefined();
    expect(problemFor('text')).toBeUndefined();
  });

  it('answers a failure inside Shoal with a generic body', () => {
    const result = internalErrorResult('req-2');

    expect(result.statusCode).toBe(500);
    expect(JSON.parse(result.body)).toEqual({
      type: 'urn:shoal:problem:internal',
      title: 'Internal error',
      status: 500,
      detail:
        'The request failed inside Shoal; it has been logged. Retrying with the same Idempotency-Key is safe.',
      error_code: 500,
      requestId: 'req-2',
    });
  });
});
