import { describe, expect, it } from 'vitest';
import { classifyAppendFailure } from '../../shared/adapters/dynamodb/partition-log.js';
import {
  anyConditionFailed,
  conditionFailedAt,
  isAmbiguousFailure,
  isGoneConnection,
  isNoSuchKey,
  isResourceNotFound,
  isStaleIterator,
  isThrottling,
  isTransactionConflict,
  throttlingAsRetryable,
} from '../../shared/adapters/sdk-errors.js';

const error = (name: string, fields: Record<string, unknown> = {}) =>
  Object.assign(new Error(name), { name, ...fields });
const cancelled = (...codes: string[]) =>
  error('TransactionCanceledException', { CancellationReasons: codes.map((Code) => ({ Code })) });

describe('SDK error recognition', () => {
  it('recognizes throttling by name and by cancellation reason', () => {
    expect(isThrottling(error('ProvisionedThroughputExceededException'))).toBe(true);
    expect(isThrottling(error('ThrottlingException'))).toBe(true);
    expect(isThrottling(cancelled('None', 'ThrottlingError'))).toBe(true);
    expect(isThrottling(cancelled('ConditionalCheckFailed'))).toBe(false);
  });

  it('turns throttling, and nothing else, into a retryable error for the HTTP edge', () => {
    expect(throttlingAsRetryable(error('ThrottlingException'))).toMatchObject({ reason: 'throttled' });
    expect(throttlingAsRetryable(error('ValidationException'))).toBeUndefined();
  });

  it('recognizes transaction conflicts', () => {
    expect(isTransactionConflict(cancelled('None', 'TransactionConflict'))).toBe(true);
    expect(isTransactionConflict(error('TransactionInProgressException'))).toBe(true);
    expect(isTransactionConflict(error('ValidationException'))).toBe(false);
  });

  it('treats timeouts, connection resets and 5xx as ambiguous', () => {
    expect(isAmbiguousFailure(error('TimeoutError'))).toBe(true);
    expect(isAmbiguousFailure(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isAmbiguousFailure(error('InternalServerError', { $metadata: { httpStatusCode: 500 } }))).toBe(
      true,
    );
    expect(isAmbiguousFailure(error('ValidationException', { $metadata: { httpStatusCode: 400 } }))).toBe(
      false,
    );
  });
});

describe('append failure classification', () => {
  it('reads a failed head condition as a lost race', () => {
    expect(classifyAppendFailure(cancelled('ConditionalCheckFailed', 'None'), 2, false)).toEqual({
      kind: 'head-moved',
    });
  });

  it('reads a failed idempotency condition (the last item) as a repeat', () => {
    expect(classifyAppendFailure(cancelled('None', 'None', 'ConditionalCheckFailed'), 2, true)).toEqual({
      kind: 'idempotency-key-exists',
    });
  });

  it('reads a conflict as a lost race and a timeout as unknown', () => {
    expect(classifyAppendFailure(cancelled('TransactionConflict', 'None'), 2, false)).toEqual({
      kind: 'head-moved',
    });
    expect(classifyAppendFailure(error('TimeoutError'), 2, false).kind).toBe('unknown');
  });

  it('fails with the retryable error the client middleware made of throttling, unchanged', () => {
    const throttled = throttlingAsRetryable(error('ProvisionedThroughputExceededException'));

    expect(() => classifyAppendFailure(throttled, 2, false)).toThrow(throttled);
  });

  it('fails with the original error for anything else', () => {
    const unexpected = error('ValidationException', { $metadata: { httpStatusCode: 400 } });

    expect(() => classifyAppendFailure(unexpected, 2, false)).toThrow(unexpected);
  });
});

describe('conditions, S3 and stream errors', () => {
  it('tells which item of a cancelled transaction failed its condition', () => {
    const error = cancelled('None', 'ConditionalCheckFailed');

    expect(conditionFailedAt(error, 1)).toBe(true);
    expect(conditionFailedAt(error, 0)).toBe(false);
    expect(anyConditionFailed(error)).toBe(true);
    expect(anyConditionFailed(cancelled('TransactionConflict', 'None'))).toBe(false);
    expect(anyConditionFailed(new Error('not a cancellation'))).toBe(false);
  });

  it('recognizes an absent S3 object and a stale stream iterator by name', () => {
    expect(isNoSuchKey(error('NoSuchKey'))).toBe(true);
    expect(isNoSuchKey(error('NotFound'))).toBe(true);
    expect(isNoSuchKey(error('AccessDenied'))).toBe(false);
    expect(isStaleIterator(error('ExpiredIteratorException'))).toBe(true);
    expect(isStaleIterator(error('TrimmedDataAccessException'))).toBe(true);
    expect(isStaleIterator(error('ResourceNotFoundException'))).toBe(false);
    expect(isGoneConnection(error('GoneException'))).toBe(true);
    expect(isGoneConnection(error('ForbiddenException'))).toBe(false);
    expect(isResourceNotFound(error('ResourceNotFoundException'))).toBe(true);
    expect(isResourceNotFound(error('ResourceInUseException'))).toBe(false);
  });
});
