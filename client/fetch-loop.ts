/**
 * One fetch loop per partition read: long polls from the partition's position (at most
 * `fetchConcurrency` in flight over all partitions), hands each batch to the {@link BatchHandler},
 * waits while the partition is paused, and backs off on failures, crashing the consumer when a
 * fetch or the handler keeps failing. A partition out of range (retention moved its start, or a seek
 * went past its end) goes on from the nearest end.
 */

import type { FetchAnswer, ShoalApi } from './api.js';
import type { BatchHandler } from './batch-handler.js';
import { ERROR_CODES, isApiError, toError } from './errors.js';
import type { PartitionStart, PartitionState, PartitionTable } from './partition-table.js';
import type { RunState } from './run-state.js';
import { Semaphore } from './semaphore.js';
import { sleep } from './transport.js';

/** Attempts at a fetch that keeps failing (after the transport's own retries) before a crash. */
const FETCH_FAILURES_MAX = 5;

/** What the fetch loops need of the rest of the consumer. */
export interface FetchLoopContext {
  readonly api: ShoalApi;
  readonly table: PartitionTable;
  readonly run: RunState;
  readonly handler: BatchHandler;
  readonly settings: {
    readonly maxRecords: number;
    readonly maxBytes: number;
    readonly maxWaitMs: number;
    readonly fetchConcurrency: number;
    readonly handlerRetriesMax: number;
  };
  /** Stops the consumer on an error it cannot get past. */
  crash(error: Error): void;
  /** True while the watch announces new records: an empty fetch then waits for news, not a long poll. */
  watching(): boolean;
}

type FetchOutcome =
  | { kind: 'fetched'; answer: FetchAnswer }
  | { kind: 'skipped' }
  | { kind: 'failed'; error: Error };

/** See the module comment. */
export class FetchLoops {
  private readonly slots: Semaphore;

  constructor(private readonly context: FetchLoopContext) {
    this.slots = new Semaphore(context.settings.fetchConcurrency);
  }

  /** Adds the partitions to the table and starts a loop for each. */
  start(starts: readonly PartitionStart[]): void {
    for (const start of starts) {
      const state = this.context.table.add(start);
      // A bug or an unexpected failure stops the consumer as a crash, never as an unhandled rejection.
      state.loop = this.loop(state).catch((error: unknown) => this.context.crash(toError(error)));
    }
  }

  /** Revokes the partitions: their loops stop (a running handler finishes), then they leave the table. */
  async stop(states: readonly PartitionState[]): Promise<void> {
    for (const state of states) {
      state.active = false;
      state.epoch++;
      state.fetch?.abort();
      state.cancel.abort();
      this.context.table.wake(state);
    }
    await Promise.all(states.map((state) => state.loop));
    for (const state of states) this.context.table.delete(state);
  }

  /** When the consumer stops: ends every fetch in flight and every pause, and waits for the loops. */
  async drain(): Promise<void> {
    const states = this.context.table.all();
    for (const state of states) {
      state.fetch?.abort();
      this.context.table.wake(state);
    }
    await Promise.all(states.map((state) => state.loop));
  }

  private async loop(state: PartitionState): Promise<void> {
    const { table, run, handler, settings } = this.context;
    let fetchFailures = 0;
    let handlerFailures = 0;
    const backoff = (ms: number) =>
      sleep(ms, AbortSignal.any([run.signal, state.cancel.signal])).catch(() => undefined);
    while (state.active && run.running) {
      if (table.isPaused(state)) {
        await table.whenResumed(state);
        continue;
      }
      const epoch = state.epoch;
      const outcome = await this.fetchOnce(state, epoch);
      if (outcome.kind === 'skipped') continue;
      if (outcome.kind === 'failed') {
        fetchFailures++;
        if (fetchFailures > FETCH_FAILURES_MAX) return this.context.crash(outcome.error);
        await backoff(Math.min(10_000, 250 * 2 ** fetchFailures));
        continue;
      }
      fetchFailures = 0;
      const answer = outcome.answer;
      state.highWatermark = answer.highWatermark;
      state.fetchedOnce = true;
      if (answer.records.length === 0) {
        state.position = Math.max(state.position, answer.nextOffset);
        // Nothing new after a long poll: wait for the watch's news instead of paying for more polls.
        if (this.context.watching() && answer.highWatermark <= state.position) {
          await table.whenAnnounced(state);
        }
        continue;
      }
      const failure = await handler.process(state, epoch, answer);
      if (failure === undefined) {
        handlerFailures = 0;
        continue;
      }
      handlerFailures++;
      if (handlerFailures > settings.handlerRetriesMax) return this.context.crash(failure);
      await backoff(Math.min(10_000, 100 * 2 ** handlerFailures));
    }
  }

  /** One fetch within the concurrency bound; an aborted or outdated one is `skipped`. */
  private async fetchOnce(state: PartitionState, epoch: number): Promise<FetchOutcome> {
    const { api, table, run, settings } = this.context;
    const release = await this.slots.acquire();
    const controller = new AbortController();
    state.fetch = controller;
    try {
      if (!state.active || !run.running || state.epoch !== epoch || table.isPaused(state)) {
        return { kind: 'skipped' };
      }
      const answer = await api.fetch(
        state.topic,
        state.partition,
        {
          offset: state.position,
          maxRecords: settings.maxRecords,
          maxBytes: settings.maxBytes,
          waitMs: settings.maxWaitMs,
        },
        controller.signal,
      );
      return state.epoch === epoch && state.active ? { kind: 'fetched', answer } : { kind: 'skipped' };
    } catch (error) {
      if (controller.signal.aborted || !state.active || !run.running) return { kind: 'skipped' };
      if (state.epoch === epoch && this.skipOutOfRange(state, error)) return { kind: 'skipped' };
      return { kind: 'failed', error: toError(error) };
    } finally {
      state.fetch = undefined;
      release();
    }
  }

  /** Out of range: moves the partition to the nearest end of its log. False for any other error. */
  private skipOutOfRange(state: PartitionState, error: unknown): boolean {
    if (!isApiError(error, ERROR_CODES.offsetOutOfRange)) return false;
    const logStartOffset = Number(error.problem.logStartOffset);
    const highWatermark = Number(error.problem.highWatermark);
    if (!Number.isSafeInteger(logStartOffset) || !Number.isSafeInteger(highWatermark)) return false;
    state.position = state.position < logStartOffset ? logStartOffset : highWatermark;
    state.resolved = state.position;
    return true;
  }
}
