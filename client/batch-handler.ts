/**
 * Runs the user's handler on one fetched batch: `eachBatch` once, or `eachRecord` record by record,
 * within `partitionsConsumedConcurrently`. What the handler resolves moves the partition's
 * `resolved` offset; after the batch the next fetch starts there, so records it did not get to (it
 * threw, paused, or the partition was revoked) are fetched again. With automatic commits after
 * each batch, it commits before the next fetch.
 */

import type { FetchAnswer } from './api.js';
import type { EachBatchPayload, EachRecordPayload, RunOptions } from './consumer-types.js';
import { toError } from './errors.js';
import type { PartitionState, PartitionTable } from './partition-table.js';
import { type ConsumedRecord, toConsumedRecord } from './records.js';
import type { RunState } from './run-state.js';
import { Semaphore } from './semaphore.js';

/** What the batch handler needs of the rest of the consumer. */
export interface BatchHandlerContext {
  readonly table: PartitionTable;
  readonly run: RunState;
  readonly partitionsConsumedConcurrently: number;
  /** Commit after every batch (automatic commits without a timer). */
  readonly commitAfterEachBatch: boolean;
  /** Commits processed offsets (in order with other commits). */
  commit(): Promise<void>;
  /** Hurries the next heartbeat when it is due; does not wait for it. */
  heartbeatSoon(): void;
}

/** The controls a handler gets over the partition of its batch. */
interface Controls {
  /** The partition is still this consumer's, at the epoch the batch was fetched in. */
  owned(): boolean;
  /** Owned, and the consumer runs. */
  current(): boolean;
  resolveOffset(offset: number): void;
  heartbeat(): Promise<void>;
  pause(): () => void;
}

/** See the module comment. */
export class BatchHandler {
  private readonly slots: Semaphore;
  private handlers: RunOptions | undefined;

  constructor(private readonly context: BatchHandlerContext) {
    this.slots = new Semaphore(context.partitionsConsumedConcurrently);
  }

  /** The handlers of this `run`. */
  use(handlers: RunOptions): void {
    this.handlers = handlers;
  }

  /** Runs the handler on one batch; the error when it threw (the unresolved records are fetched again). */
  async process(state: PartitionState, epoch: number, answer: FetchAnswer): Promise<Error | undefined> {
    const release = await this.slots.acquire();
    const handlers = this.handlers as RunOptions;
    const records = answer.records.map((record) => toConsumedRecord(state.topic, state.partition, record));
    const controls = this.controls(state, epoch);
    state.processing = true;
    let failure: Error | undefined;
    try {
      if (!controls.current()) return undefined;
      if (handlers.eachBatch) {
        await this.runEachBatch(handlers, state, answer.highWatermark, records, controls);
      } else if (handlers.eachRecord) {
        await this.runEachRecord(handlers.eachRecord, state, records, controls);
      }
    } catch (error) {
      failure = toError(error);
    } finally {
      state.processing = false;
      release();
    }
    if (state.epoch === epoch) state.position = state.resolved;
    if (failure === undefined && this.context.commitAfterEachBatch && controls.current()) {
      await this.context.commit().catch(() => undefined);
    }
    return failure;
  }

  private controls(state: PartitionState, epoch: number): Controls {
    const { table, run } = this.context;
    const owned = () => state.active && state.epoch === epoch;
    return {
      owned,
      current: () => owned() && run.running,
      resolveOffset: (offset) => {
        if (owned() && offset + 1 > state.resolved) state.resolved = offset + 1;
      },
      // Heartbeats run in the background whatever handlers do; this one only hurries the next when
      // due. It does not wait: a rebalance in progress may be waiting for this very handler to return.
      heartbeat: async () => this.context.heartbeatSoon(),
      pause: () => {
        table.pause([{ topic: state.topic, partitions: [state.partition] }]);
        return () => table.resume([{ topic: state.topic, partitions: [state.partition] }]);
      },
    };
  }

  private async runEachBatch(
    handlers: RunOptions,
    state: PartitionState,
    highWatermark: number,
    records: readonly ConsumedRecord[],
    controls: Controls,
  ): Promise<void> {
    const eachBatch = handlers.eachBatch as (payload: EachBatchPayload) => Promise<void>;
    const last = records.at(-1) as ConsumedRecord;
    await eachBatch({
      batch: {
        topic: state.topic,
        partition: state.partition,
        highWatermark,
        records,
        firstOffset: () => records[0]?.offset ?? null,
        lastOffset: () => last.offset,
        offsetLag: () => Math.max(0, highWatermark - last.offset - 1),
      },
      resolveOffset: controls.resolveOffset,
      heartbeat: controls.heartbeat,
      commitOffsetsIfNecessary: async () => {
        if (this.context.commitAfterEachBatch) await this.context.commit();
      },
      isRunning: () => this.context.run.running,
      isStale: () => !controls.current(),
      pause: controls.pause,
    });
    if (handlers.eachBatchAutoResolve ?? true) controls.resolveOffset(last.offset);
  }

  private async runEachRecord(
    eachRecord: (payload: EachRecordPayload) => Promise<void>,
    state: PartitionState,
    records: readonly ConsumedRecord[],
    controls: Controls,
  ): Promise<void> {
    for (const record of records) {
      if (!controls.current() || this.context.table.isPaused(state)) break;
      await eachRecord({
        topic: state.topic,
        partition: state.partition,
        record,
        heartbeat: controls.heartbeat,
        pause: controls.pause,
      });
      controls.resolveOffset(record.offset);
    }
  }
}
