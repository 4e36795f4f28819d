/**
 * How one invocation's outcome moves a subscription's partition: what is committed, what is
 * retried and when, what goes to the dead-letter topic. Pure: the dispatcher reads, invokes and
 * writes; this decides.
 *
 * A partition's position is its committed offset (the next offset to deliver). While a range at
 * that position is being retried, a {@link RetryState} remembers how far the next batch may reach
 * (`end`) and how many failures counted so far (`attempts`):
 *
 * ```
 *   committed                                   batch read
 *   |<------------------------- [start, end) ------------------------->|
 *   success            commit end                          retry: none
 *   partial at f       commit f, retry [f, end)            attempts 1 (f failed once)
 *   error, bisect      commit start, retry [start, mid)    attempts unchanged (a split is free)
 *   error              commit start, retry [start, end)    attempts + 1, after a backoff
 *   attempts > retryAttempts: dead-letter [p, end), commit end, retry: none
 * ```
 *
 * As in Lambda: splitting a batch does not count towards `retryAttempts`, so with
 * `bisectBatchOnError` a poison record is isolated first and then retried alone; without it the
 * whole failing batch is retried and, once retries run out, dead-lettered together.
 */

/** The retry of a range at the committed offset. */
export interface RetryState {
  /** First offset of the range; the state holds only while it equals the committed offset. */
  readonly start: number;
  /** The next batch reads no further than this (exclusive). */
  readonly end: number;
  /** Failed invocations that counted towards `retryAttempts` for the record at `start`. */
  readonly attempts: number;
  /** Epoch ms before which the range is not invoked again. */
  readonly retryAt: number;
}

export interface DeliveryPolicy {
  readonly bisectBatchOnError: boolean;
  /** -1 retries forever. */
  readonly retryAttempts: number;
}

/** What became of the invocation of a batch covering offsets [batchStart, batchEnd). */
export type BatchOutcome =
  | { readonly kind: 'success' }
  /** The function failed; records before `progressTo` (>= batchStart) are processed. */
  | { readonly kind: 'failure'; readonly progressTo: number }
  /** Lambda refused to run the function (throttled): try again later, nothing counted. */
  | { readonly kind: 'throttled' };

export interface Settlement {
  /** The committed offset afterwards (the next offset to deliver). */
  readonly commitTo: number;
  /** The retry afterwards; undefined when nothing is pending. */
  readonly retry: RetryState | undefined;
  /** Offsets [from, to) to dead-letter before committing, and the attempts they had. */
  readonly deadLetter: { readonly from: number; readonly to: number; readonly attempts: number } | undefined;
  /** The failing range was split in two. */
  readonly bisected: boolean;
}

export interface SettleInput {
  readonly batchStart: number;
  /** One past the last offset the batch covered (delivered, filtered or expired). */
  readonly batchEnd: number;
  readonly outcome: BatchOutcome;
  /** The retry state the batch was read under (ignored unless it starts at `batchStart`). */
  readonly retry: RetryState | undefined;
  readonly policy: DeliveryPolicy;
  readonly now: number;
  /** The pause before retry number `attempts` (1, 2, ...). */
  readonly backoffMs: (attempts: number) => number;
}

/** Decides what an invocation's outcome commits, retries and dead-letters. */
export function settleBatch(input: SettleInput): Settlement {
  const { batchStart, batchEnd, outcome, policy, now } = input;
  if (!(batchStart < batchEnd)) throw new Error(`Invariant broken: empty batch [${batchStart}, ${batchEnd})`);
  const retry = input.retry?.start === batchStart ? input.retry : undefined;
  switch (outcome.kind) {
    case 'success':
      return { commitTo: batchEnd, retry: undefined, deadLetter: undefined, bisected: false };
    case 'throttled': {
      const attempts = retry?.attempts ?? 0;
      return {
        commitTo: batchStart,
        retry: {
          start: batchStart,
          end: retry?.end ?? batchEnd,
          attempts,
          retryAt: now + input.backoffMs(Math.max(1, attempts)),
        },
        deadLetter: undefined,
        bisected: false,
      };
    }
    case 'failure': {
      const progress = outcome.progressTo;
      if (!(progress >= batchStart && progress < batchEnd)) {
        throw new Error(
          `Invariant broken: progress ${progress} outside the batch [${batchStart}, ${batchEnd})`,
        );
      }
      const earlier = progress === batchStart ? (retry?.attempts ?? 0) : 0;
      const remaining = batchEnd - progress;
      if (policy.bisectBatchOnError && remaining > 1) {
        return {
          commitTo: progress,
          retry: {
            start: progress,
            end: progress + Math.ceil(remaining / 2),
            attempts: earlier,
            retryAt: now,
          },
          deadLetter: undefined,
          bisected: true,
        };
      }
      const attempts = earlier + 1;
      if (policy.retryAttempts !== -1 && attempts > policy.retryAttempts) {
        return {
          commitTo: batchEnd,
          retry: undefined,
          deadLetter: { from: progress, to: batchEnd, attempts },
          bisected: false,
        };
      }
      return {
        commitTo: progress,
        retry: { start: progress, end: batchEnd, attempts, retryAt: now + input.backoffMs(attempts) },
        deadLetter: undefined,
        bisected: false,
      };
    }
  }
}

/** How many records the next batch at `committed` may hold: the batch size, within a retried range. */
export function batchLimit(committed: number, batchSize: number, retry: RetryState | undefined): number {
  if (retry === undefined || retry.start !== committed) return batchSize;
  return Math.max(1, Math.min(batchSize, retry.end - committed));
}

/** Exponential backoff with equal jitter: half fixed, half random, capped. */
export function retryBackoffMs(
  attempts: number,
  policy: { readonly baseMs: number; readonly capMs: number },
  random: () => number,
): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
