import type { LogRecord } from '../domain/record.js';
import type { EncodedBatch } from '../domain/segment-format.js';
import type { PartitionState, Topic } from '../domain/topic.js';
import type { OffsetCommit } from './group-store.js';

/** The stored head of one partition, read before an append. */
export interface PartitionHead extends PartitionState {
  /** The largest record timestamp appended so far (epoch ms), 0 when empty. */
  readonly maxTimestamp: number;
  /** Stored batch bytes of the segments in [logStartOffset, archivedOffset) (what retentionBytes counts). */
  readonly archivedBytes: number;
  /**
   * Every segment below archivedOffset is tagged with a lifecycle retention class of at least this
   * many days (`segment-keys.ts`); 0 when unknown. Lets the archiver skip retagging when a topic's
   * retention has not grown.
   */
  readonly retentionClassFloorDays: number;
  /**
   * The topic incarnation was deleted: its head is a tombstone (`closePartitions`), which reads as
   * empty and which no append passes. Absent on a live head.
   */
  readonly deleted?: true;
}

/** One item to write: a contiguous run of encoded records of one partition. */
export interface BatchToWrite {
  readonly partition: number;
  readonly baseOffset: number;
  readonly recordCount: number;
  /** Output of `encodeBatch`. */
  readonly data: Uint8Array;
  /** Largest timestamp of this batch and every batch before it (monotonic; for time lookups). */
  readonly maxTimestampSoFar: number;
  /**
   * Epoch ms after which DynamoDB may delete the batch (its TTL): the append time plus the topic's
   * `localRetentionMs`. The archiver copies it to S3 before then, or the stream rescues it.
   */
  readonly expiresAt: number;
}

/**
 * Where the DynamoDB adapter keeps the batch bytes of appends too large to store in items cheaply:
 * objects of the segment bucket under `payloads/` (`segment-keys.ts`). Implemented by
 * `adapters/s3/segment-objects.ts`.
 */
export interface PayloadObjects {
  /** Writes (or overwrites) an object tagged with `tags`. */
  putObject(key: string, bytes: Uint8Array, tags: Readonly<Record<string, string>>): Promise<void>;
  /**
   * Bytes `start` (inclusive) to `end` (exclusive) of an object.
   * @throws SegmentMissingError when the object does not exist.
   */
  readRange(key: string, start: number, end: number): Promise<Uint8Array>;
}

/** A whole produce request, applied in one transaction. */
export interface AppendRequest {
  readonly topic: Topic;
  /** Unique per attempt; lets an ambiguous outcome (timeout) be resolved by reading it back. */
  readonly appendId: string;
  /** The head each touched partition must still have for the append to apply. */
  readonly expectedHeads: readonly PartitionHead[];
  readonly batches: readonly BatchToWrite[];
  /** Remembered with the append, in the same transaction. */
  readonly idempotency?: IdempotencyRecord;
}

/** What an Idempotency-Key remembers: the request's fingerprint and the answer it got. */
export interface IdempotencyRecord {
  readonly key: string;
  readonly requestHash: string;
  /** The produce answer, serialized by the domain. */
  readonly response: Uint8Array;
  /** Epoch ms after which the key may be reused. */
  readonly expiresAt: number;
}

/** Expected outcomes of an append; infrastructure failures throw instead. */
export type AppendOutcome =
  | { readonly kind: 'appended' }
  /** A head moved: another append won the race. */
  | { readonly kind: 'head-moved' }
  /** The Idempotency-Key was stored by an earlier request (maybe an earlier attempt of this one). */
  | { readonly kind: 'idempotency-key-exists' }
  /**
   * The outcome is unknown (a timeout after the request left); resolve it with `appendLanded`.
   */
  | { readonly kind: 'unknown'; readonly cause: unknown };

/** A stored batch as read back. */
export interface StoredBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly maxTimestampSoFar: number;
  readonly records: readonly LogRecord[];
  /** Encoded bytes as stored (for accounting). */
  readonly storedBytes: number;
}

/** A batch as stored, still encoded: what the archiver copies into a segment. */
export interface StoredEncodedBatch extends EncodedBatch {
  /** Epoch ms of its TTL; undefined for batches appended before batches carried one. */
  readonly expiresAt: number | undefined;
}

/**
 * The hot tier of every partition. Implemented by `adapters/dynamodb/partition-log.ts`.
 *
 * Reads return every batch DynamoDB still holds, including batches whose TTL has passed but which
 * DynamoDB has not deleted yet: the hot tier serves offsets at or above archivedOffset only, where
 * such a batch is the one copy of acknowledged records (not yet in S3), so it is served rather than
 * refused; offsets below archivedOffset are read from S3 whatever DynamoDB still holds.
 */
/** How fresh a head read must be. */
export type HeadConsistency = 'strong' | 'eventual';

export interface PartitionLog {
  /**
   * Current heads, strongly consistent unless `consistency` is `'eventual'` (half the read units; a
   * head may then lag an append of the last second: for the background work that comes back later);
   * absent partitions read as empty.
   */
  readHeads(
    topic: Topic,
    partitions: readonly number[],
    consistency?: HeadConsistency,
  ): Promise<PartitionHead[]>;
  append(request: AppendRequest): Promise<AppendOutcome>;
  /** Whether the append with this id and first batch is stored (to resolve an unknown outcome). */
  appendLanded(topic: Topic, appendId: string, firstBatch: BatchToWrite): Promise<boolean>;
  /** A live idempotency record, or undefined when absent or expired. */
  readIdempotency(topic: Topic, key: string, now: number): Promise<IdempotencyRecord | undefined>;
  /**
   * Batches in offset order starting with the one that holds `fromOffset` (or the first after it),
   * stopping once `recordsMax` records or `bytesMax` stored bytes are collected, or the log ends.
   */
  readBatches(
    topic: Topic,
    partition: number,
    fromOffset: number,
    limits: { recordsMax: number; bytesMax: number },
  ): Promise<StoredBatch[]>;
  /**
   * Encoded batches in offset order starting with the one that holds `fromOffset` (or the first
   * after it), stopping after `batchesMax` batches or once `bytesMax` stored bytes are collected.
   */
  readEncodedBatches(
    topic: Topic,
    partition: number,
    fromOffset: number,
    limits: { batchesMax: number; bytesMax: number },
  ): Promise<StoredEncodedBatch[]>;
  /** The batch holding `offset` (or the first after it), undefined past the end. */
  readBatchAt(topic: Topic, partition: number, offset: number): Promise<StoredBatch | undefined>;
  /**
   * Turns every head of a deleted topic incarnation into a tombstone, kept `LIMITS.headTombstoneMs`:
   * it reads as empty and `deleted`, and no append passes it, so a request that read the topic
   * before its deletion (or a cached copy of it) cannot write to it after. Bounded work.
   *
   * @throws RetryableError when some heads are left open (throttled).
   */
  closePartitions(topic: Topic, deletedAtMs: number): Promise<void>;
}

/** One topic's part of an append with a commit: the heads it expects and the batches it writes. */
export interface TopicAppend {
  readonly topic: Topic;
  /** The head each touched partition must still have, in the order of the partitions' first batch. */
  readonly expectedHeads: readonly PartitionHead[];
  readonly batches: readonly BatchToWrite[];
}

/**
 * Records appended to one or more topics together with a consumer group's committed offsets: one
 * transaction, all of it or nothing (guarantee 10, exactly once).
 */
export interface AppendWithCommitRequest {
  /** Unique per attempt; names the batches it writes, so `appendLanded` resolves a timeout. */
  readonly appendId: string;
  /** At least one, each topic once, each with at least one batch. */
  readonly appends: readonly TopicAppend[];
  /** The commit, fenced exactly as `GroupStore.commit` fences it (generation, member liveness, no regression). */
  readonly commit: OffsetCommit;
  /**
   * Remembered with the append in the same transaction, scoped to the group incarnation
   * (`commit.groupId`): read back with `readCommitIdempotency`.
   */
  readonly idempotency?: IdempotencyRecord;
}

/** Expected outcomes of an append with a commit; infrastructure failures throw. Nothing is written unless `appended`. */
export type AppendWithCommitOutcome =
  | { readonly kind: 'appended' }
  /** A partition head moved, or another transaction touched the same items at once: place again. */
  | { readonly kind: 'head-moved' }
  /** The Idempotency-Key is stored (maybe by an earlier attempt of this request). */
  | { readonly kind: 'idempotency-key-exists' }
  /** The group item's generation or incarnation changed: the committer is fenced. */
  | { readonly kind: 'generation-changed' }
  /** The committing member's item is gone or past its deadline. */
  | { readonly kind: 'member-gone' }
  /** `commit.offsets[index]` is below the committed offset. */
  | { readonly kind: 'regressed'; readonly index: number }
  /** A timeout after the request left: resolve with `appendLanded` on the first batch of the first append. */
  | { readonly kind: 'unknown'; readonly cause: unknown };

/**
 * The exactly-once primitive: appends plus a consumer group commit in one DynamoDB transaction.
 * Implemented by `adapters/dynamodb/partition-log.ts`; kept apart from {@link PartitionLog} so that a
 * log without transactions across topics and groups still implements that port.
 *
 * Items in one transaction (at most `LIMITS.transactionItemsMax`): the group fence, the member (when
 * `commit.member` is set), one per offset, one head per partition appended to, each batch, and the
 * idempotency record. See `transaction-plan.ts` for the check with a clear error.
 */
export interface TransactionalLog {
  appendWithCommit(request: AppendWithCommitRequest): Promise<AppendWithCommitOutcome>;
  /** A live idempotency record of an append with a commit to group incarnation `groupId`, or undefined. */
  readCommitIdempotency(groupId: string, key: string, now: number): Promise<IdempotencyRecord | undefined>;
}
