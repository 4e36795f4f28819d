import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BatchOutcome,
  batchLimit,
  type DeliveryPolicy,
  type RetryState,
  retryBackoffMs,
  settleBatch,
} from '../../shared/domain/delivery.js';

const settle = (
  outcome: BatchOutcome,
  policy: DeliveryPolicy,
  retry?: RetryState,
  batch: [number, number] = [10, 20],
) =>
  settleBatch({
    batchStart: batch[0],
    batchEnd: batch[1],
    outcome,
    retry,
    policy,
    now: 1_000,
    backoffMs: (attempts) => attempts * 100,
  });

const plain: DeliveryPolicy = { bisectBatchOnError: false, retryAttempts: 2 };
const bisect: DeliveryPolicy = { bisectBatchOnError: true, retryAttempts: 2 };

describe('settleBatch', () => {
  it('commits the whole batch on success and clears the retry', () => {
    expect(settle({ kind: 'success' }, plain, { start: 10, end: 12, attempts: 2, retryAt: 0 })).toEqual({
      commitTo: 20,
      retry: undefined,
      deadLetter: undefined,
      bisected: false,
    });
  });

  it('retries a failed batch after a backoff, counting the attempt', () => {
    expect(settle({ kind: 'failure', progressTo: 10 }, plain).retry).toEqual({
      start: 10,
      end: 20,
      attempts: 1,
      retryAt: 1_100,
    });
  });

  it('commits up to a reported failure and retries from there', () => {
    const settled = settle({ kind: 'failure', progressTo: 14 }, plain, {
      start: 10,
      end: 20,
      attempts: 2,
      retryAt: 0,
    });
    expect(settled.commitTo).toBe(14);
    expect(settled.retry).toEqual({ start: 14, end: 20, attempts: 1, retryAt: 1_100 });
  });

  it('dead-letters the failed range once retries are exhausted and moves past it', () => {
    const settled = settle({ kind: 'failure', progressTo: 10 }, plain, {
      start: 10,
      end: 20,
      attempts: 2,
      retryAt: 0,
    });
    expect(settled).toMatchObject({
      commitTo: 20,
      retry: undefined,
      deadLetter: { from: 10, to: 20, attempts: 3 },
    });
  });

  it('never gives up with retryAttempts -1', () => {
    const forever = { bisectBatchOnError: false, retryAttempts: -1 };
    const settled = settle({ kind: 'failure', progressTo: 10 }, forever, {
      start: 10,
      end: 20,
      attempts: 500,
      retryAt: 0,
    });
    expect(settled.deadLetter).toBeUndefined();
    expect(settled.retry?.attempts).toBe(501);
  });

  it('splits a failed batch in two without counting an attempt', () => {
    const settled = settle({ kind: 'failure', progressTo: 10 }, bisect, {
      start: 10,
      end: 20,
      attempts: 1,
      retryAt: 0,
    });
    expect(settled).toMatchObject({
      commitTo: 10,
      bisected: true,
      retry: { start: 10, end: 15, attempts: 1, retryAt: 1_000 },
    });
  });

  it('retries a single failing record when it cannot split further', () => {
    const settled = settle({ kind: 'failure', progressTo: 10 }, bisect, undefined, [10, 11]);
    expect(settled).toMatchObject({ bisected: false, retry: { start: 10, end: 11, attempts: 1 } });
  });

  it('keeps the attempts of a throttled batch and retries it later', () => {
    const settled = settle({ kind: 'throttled' }, plain, { start: 10, end: 15, attempts: 1, retryAt: 0 });
    expect(settled).toMatchObject({
      commitTo: 10,
      retry: { start: 10, end: 15, attempts: 1, retryAt: 1_100 },
    });
  });

  it('ignores a retry state that does not start at the batch', () => {
    const settled = settle({ kind: 'failure', progressTo: 10 }, plain, {
      start: 3,
      end: 20,
      attempts: 2,
      retryAt: 0,
    });
    expect(settled.retry?.attempts).toBe(1);
  });

  it('fails when progress lies outside the batch (a bug in the caller)', () => {
    expect(() => settle({ kind: 'failure', progressTo: 20 }, plain)).toThrow(/Invariant broken/);
  });
});

describe('batchLimit', () => {
  it('limits the next batch to the retried range', () => {
    expect(batchLimit(10, 100, { start: 10, end: 13, attempts: 0, retryAt: 0 })).toBe(3);
    expect(batchLimit(10, 2, { start: 10, end: 13, attempts: 0, retryAt: 0 })).toBe(2);
    expect(batchLimit(11, 100, { start: 10, end: 13, attempts: 0, retryAt: 0 })).toBe(100);
  });
});

describe('retryBackoffMs', () => {
  it('doubles up to the cap, with half of it jittered', () => {
    const policy = { baseMs: 100, capMs: 1_000 };
    expect(retryBackoffMs(1, policy, () => 0)).toBe(50);
    expect(retryBackoffMs(3, policy, () => 1)).toBe(400);
    expect(retryBackoffMs(30, policy, () => 1)).toBe(1_000);
  });
});

/**
 * Delivery of a partition simulated against a function that fails every batch holding a poison
 * record, or reports it with batchItemFailures: the partition always ends caught up, every good
 * record delivered in order, and, with bisect, exactly the poison records dead-lettered.
 */
describe('settleBatch, driven to the end of a partition', () => {
  it('delivers every good record in order and dead-letters the poison ones', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 0, max: 3 }),
        fc.boolean(),
        fc.boolean(),
        fc.uniqueArray(fc.integer({ min: 0, max: 59 }), { maxLength: 5 }),
        (length, batchSize, retryAttempts, bisectBatchOnError, partial, poisonOffsets) => {
          const poison = new Set(poisonOffsets.filter((offset) => offset < length));
          const policy = { bisectBatchOnError, retryAttempts };
          let committed = 0;
          let retry: RetryState | undefined;
          const delivered: number[] = [];
          const deadLettered: number[] = [];
          for (let step = 0; committed < length; step++) {
            if (step > 10_000) throw new Error('did not converge');
            const end = Math.min(length, committed + batchLimit(committed, batchSize, retry));
            const batch = Array.from({ length: end - committed }, (_, i) => committed + i);
            const firstPoison = batch.find((offset) => poison.has(offset));
            const outcome: BatchOutcome =
              firstPoison === undefined
                ? { kind: 'success' }
                : { kind: 'failure', progressTo: partial ? firstPoison : committed };
            if (outcome.kind === 'success') delivered.push(...batch);
            else delivered.push(...batch.filter((offset) => offset < outcome.progressTo));
            const settled = settleBatch({
              batchStart: committed,
              batchEnd: end,
              outcome,
              retry,
              policy,
              now: step,
              backoffMs: () => 0,
            });
            expect(settled.commitTo).toBeGreaterThanOrEqual(committed);
            if (settled.retry) expect(settled.retry.start).toBe(settled.commitTo);
            if (settled.deadLetter)
              deadLettered.push(...batch.filter((offset) => offset >= (settled.deadLetter?.from ?? 0)));
            committed = settled.commitTo;
            retry = settled.retry;
          }
          // Every offset was delivered or dead-lettered, never both, in order.
          expect([...delivered, ...deadLettered].sort((a, b) => a - b)).toEqual(
            Array.from({ length }, (_, offset) => offset),
          );
          expect(delivered).toEqual([...delivered].sort((a, b) => a - b));
          if (bisectBatchOnError || partial) {
            // Isolated before given up: nothing good is dead-lettered.
            if (bisectBatchOnError) expect(deadLettered).toEqual([...poison].sort((a, b) => a - b));
            for (const offset of poison) expect(delivered).not.toContain(offset);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
