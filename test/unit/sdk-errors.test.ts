import { describe, expect, it } from 'vitest';
import { classifyAppendFailure } from '../../shared/adapters/dynamodb/partition-log.js';
import {
  isAmbiguousFailure,
  isThrottling,
  isTransactionConflict,
  throttlingAsRetryable,
} from '../../shared/adapters/dynamodb/sdk-errors.js';

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
