/**
 * The consumer's public types: what `subscribe`, `assign`, `run` and `commit` take, and what a
 * handler is given. Re-exported by client/consumer.ts and client/index.ts; every module of the
 * consumer may import them, none of them imports back.
 */

import type { ConsumedRecord } from './records.js';

/** A topic and partition. */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** A topic, partition and offset: where to read or what to commit (the next offset to read). */
export interface TopicPartitionOffset extends TopicPartition {
  readonly offset: number;
}

/** Where to start when there is no committed offset (Kafka's `auto.offset.reset`) or on `assign`. */
export type StartFrom = 'earliest' | 'latest' | { readonly timestamp: number | string | Date };

/** Options of a consumer. Every one is bounded. */
export interface ConsumerOptions {
  /** The consumer group. Required for `subscribe`; with `assign`, where offsets are read from and committed to. */
  readonly groupId?: string;
  /** Dropped from the group after this long without heartbeat (1000 to 300000). @default 30000 */
  readonly sessionTimeoutMs?: number;
  /** How often the member heartbeats and learns of rebalances. @default 3000 */
  readonly heartbeatIntervalMs?: number;
  /** A fetch's long-poll wait when a partition has nothing new (0 to 20000). @default 2000 */
  readonly maxWaitMs?: number;
  /**
   * Wait for news on the watch WebSocket (the transport's `watchUrl`) once a long poll came back
   * empty, instead of polling again: an idle consumer then makes no fetches, heartbeats over the
   * WebSocket every `idleHeartbeatIntervalMs`, and costs cents a month instead of dollars. Without a
   * watch URL, or while the WebSocket is down, the consumer long polls as before.
   * @default true
   */
  readonly watch?: boolean;
  /** How often an idle member heartbeats (over the WebSocket). @default sessionTimeoutMs / 3 */
  readonly idleHeartbeatIntervalMs?: number;
  /**
   * How often the watch is renewed; each renewal answers every partition's high watermark, so a lost
   * notification delays a record by at most this long (1000 to 540000: API Gateway closes a
   * WebSocket after 10 idle minutes). @default 60000
   */
  readonly watchRenewMs?: number;
  /** Records per fetch (1 to 10000). @default 500 */
  readonly maxRecords?: number;
  /** About this many bytes per fetch. @default 1048576 */
  readonly maxBytes?: number;
  /** Fetches in flight at once, over all partitions. @default 8 */
  readonly fetchConcurrency?: number;
  /** Batches processed at once (each partition still in order). @default 1 */
  readonly partitionsConsumedConcurrently?: number;
  /** Commit processed offsets automatically. @default true (with a group) */
  readonly autoCommit?: boolean;
  /** Commit on this timer instead of after every batch. */
  readonly autoCommitIntervalMs?: number;
  /** Attempts at a failing handler before the consumer crashes (it retries from the first unresolved record). @default 5 */
  readonly handlerRetriesMax?: number;
  /** Called after the member gained partitions, before they are fetched. */
  readonly onPartitionsAssigned?: (partitions: TopicPartition[]) => void | Promise<void>;
  /** Called after the member lost partitions and their handlers finished. */
  readonly onPartitionsRevoked?: (partitions: TopicPartition[]) => void | Promise<void>;
  /** Called when the consumer stops on an error it cannot get past. */
  readonly onCrash?: (error: Error) => void;
}

/** A fetched batch of one partition. */
export interface Batch {
  readonly topic: string;
  readonly partition: number;
  readonly highWatermark: number;
  readonly records: readonly ConsumedRecord[];
  firstOffset(): number | null;
  lastOffset(): number;
  /** Records after this batch not read yet. */
  offsetLag(): number;
}

/** What `eachBatch` is given: the batch and the controls over its partition. */
export interface EachBatchPayload {
  readonly batch: Batch;
  /** Marks `offset` as processed: the next commit covers it. */
  resolveOffset(offset: number): void;
  /** Heartbeats now if the interval has passed (for long handlers). */
  heartbeat(): Promise<void>;
  /** Commits resolved offsets if autoCommit wants to now. */
  commitOffsetsIfNecessary(): Promise<void>;
  /** False once the consumer is stopping. */
  isRunning(): boolean;
  /** True once this partition was revoked or sought: stop and return. */
  isStale(): boolean;
  /** Pauses this partition; returns the function that resumes it. */
  pause(): () => void;
}

/** What `eachRecord` is given: one record, in offset order within its partition. */
export interface EachRecordPayload {
  readonly topic: string;
  readonly partition: number;
  readonly record: ConsumedRecord;
  heartbeat(): Promise<void>;
  pause(): () => void;
}

/** The handler `run` calls: exactly one of `eachBatch` and `eachRecord`. */
export interface RunOptions {
  readonly eachBatch?: (payload: EachBatchPayload) => Promise<void>;
  readonly eachRecord?: (payload: EachRecordPayload) => Promise<void>;
  /** Resolve the whole batch when `eachBatch` returns. @default true */
  readonly eachBatchAutoResolve?: boolean;
}
