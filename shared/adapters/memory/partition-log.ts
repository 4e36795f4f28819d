/**
 * The hot tier in memory: the same items and conditions as `adapters/dynamodb/partition-log.ts`,
 * held in maps, for unit tests of the domain that run in milliseconds (castore's in-memory
 * adapter). Both pass one contract suite (`test/contract/partition-log.contract.ts`).
 */
import { decodeBatch } from '../../domain/record-codec.js';
import type { Topic } from '../../domain/topic.js';
import type {
  AppendOutcome,
  AppendRequest,
  BatchToWrite,
  IdempotencyRecord,
  PartitionHead,
  PartitionLog,
  StoredBatch,
  StoredEncodedBatch,
} from '../../ports/partition-log.js';

/**
 * A partition head item as DynamoDB keeps it: an attribute nobody wrote yet is absent, not 0,
 * because some conditions tell the two apart (`ao >= :next` fails on an absent `ao`).
 */
export interface MemoryHeadItem {
  hw?: number;
  lso?: number;
  ao?: number;
  mt?: number;
  ab?: number;
  tc?: number;
  /** Deleted at (epoch ms): a tombstone (`closePartitions`). */
  dl?: number;
}

/** A batch item: keyed by its last offset, as the log table's sort key. */
interface MemoryBatchItem {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly maxTimestampSoFar: number;
  readonly data: Uint8Array;
  readonly appendId: string;
  readonly expiresAt: number;
}

/**
 * The partition head items, shared by the partition log and the segment manifest as the meta
 * table shares them: the append moves `hw` and `mt`, the archiver `ao`, `ab` and `tc`, retention
 * `lso` and `ab`.
 */
export class MemoryHeads {
  private readonly items = new Map<string, MemoryHeadItem>();

  /** The stored item, undefined when absent. */
  get(topicId: string, partition: number): MemoryHeadItem | undefined {
    return this.items.get(headId(topicId, partition));
  }

  /** The stored item, made (empty) when absent, as an UpdateItem makes it. */
  upsert(topicId: string, partition: number): MemoryHeadItem {
    const id = headId(topicId, partition);
    let item = this.items.get(id);
    if (!item) {
      item = {};
      this.items.set(id, item);
    }
    return item;
  }

  /** Replaces the item whole, as a PutItem does. */
  put(topicId: string, partition: number, item: MemoryHeadItem): void {
    this.items.set(headId(topicId, partition), item);
  }
}

const headId = (topicId: string, partition: number) => `${topicId}#${partition}`;

/** The head as the port reads it: absent attributes read as 0. */
export function toPartitionHead(partition: number, item: MemoryHeadItem | undefined): PartitionHead {
  return {
    partition,
    highWatermark: item?.hw ?? 0,
    logStartOffset: item?.lso ?? 0,
    archivedOffset: item?.ao ?? 0,
    maxTimestamp: item?.mt ?? 0,
    archivedBytes: item?.ab ?? 0,
    retentionClassFloorDays: item?.tc ?? 0,
    ...(item?.dl === undefined ? {} : { deleted: true as const }),
  };
}

export interface MemoryPartitionLogOptions {
  /** Epoch ms now: when an idempotency record counts as expired for a new append. */
  readonly now: () => number;
  /** Shared with a `MemorySegmentManifest`; a log of its own when absent. */
  readonly heads?: MemoryHeads;
}

/**
 * Every condition of the DynamoDB append, checked and applied at once (JavaScript runs one append
 * to its end before another starts, as a transaction would):
 *
 * ```
 *  head   hw = expected (or absent, no tombstone, when 0)  → hw := expected + records, mt := last batch's
 *  batch  no batch item with the same last offset          → put
 *  key    no idempotency item, or one whose expiry passed  → put
 * ```
 *
 * A refused idempotency condition reads as `idempotency-key-exists` even when a head moved too,
 * as the DynamoDB adapter classifies a cancelled transaction. Never answers `unknown`: nothing in
 * memory times out after the write.
 *
 * TTL is not applied on its own, as DynamoDB deletes expired items only days later:
 * `deleteExpired` does it, for tests of what happens when it has.
 */
export class MemoryPartitionLog implements PartitionLog {
  readonly heads: MemoryHeads;
  private readonly now: () => number;
  private readonly batches = new Map<string, MemoryBatchItem[]>();
  private readonly idempotency = new Map<string, IdempotencyRecord>();

  constructor(options: MemoryPartitionLogOptions) {
    this.now = options.now;
    this.heads = options.heads ?? new MemoryHeads();
  }

  async readHeads(topic: Topic, partitions: readonly number[]): Promise<PartitionHead[]> {
    return partitions.map((partition) =>
      toPartitionHead(partition, this.heads.get(topic.topicId, partition)),
    );
  }

  async append(request: AppendRequest): Promise<AppendOutcome> {
    const { topic } = request;
    const keyId = request.idempotency ? idempotencyId(topic.topicId, request.idempotency.key) : undefined;
    if (keyId !== undefined && this.idempotencyHeld(keyId, this.now())) {
      return { kind: 'idempotency-key-exists' };
    }
    if (!this.appendPasses(topic, request.expectedHeads, request.batches)) return { kind: 'head-moved' };
    this.applyAppend(topic, request.appendId, request.expectedHeads, request.batches);
    if (keyId !== undefined && request.idempotency) this.putIdempotency(keyId, request.idempotency);
    return { kind: 'appended' };
  }

  /**
   * Whether the head and batch conditions of an append to one topic hold: every head still at the
   * high watermark expected (an expected empty head fails on a tombstone), every batch's key free.
   * Package-internal: the append and `MemoryTransactionalLog` check with it before applying.
   */
  appendPasses(
    topic: Topic,
    expectedHeads: readonly PartitionHead[],
    batches: readonly BatchToWrite[],
  ): boolean {
    for (const expected of expectedHeads) {
      const head = this.heads.get(topic.topicId, expected.partition);
      const stored = head?.hw;
      const unchanged =
        expected.highWatermark === 0
          ? head?.dl === undefined && (stored === undefined || stored === 0)
          : stored === expected.highWatermark;
      if (!unchanged) return false;
    }
    return !batches.some((batch) => this.batchAt(topic.topicId, batch.partition, lastOffsetOf(batch)));
  }

  /**
   * Moves each head past its partition's batches and stores the batches, unchecked: call
   * `appendPasses` first, in the same turn. Package-internal, like `appendPasses`.
   */
  applyAppend(
    topic: Topic,
    appendId: string,
    expectedHeads: readonly PartitionHead[],
    batches: readonly BatchToWrite[],
  ): void {
    for (const expected of expectedHeads) {
      const ofPartition = batches.filter((batch) => batch.partition === expected.partition);
      const last = ofPartition[ofPartition.length - 1];
      if (!last) throw new Error(`Expected head of partition ${expected.partition} has no batch`);
      const head = this.heads.upsert(topic.topicId, expected.partition);
      head.hw = expected.highWatermark + ofPartition.reduce((sum, batch) => sum + batch.recordCount, 0);
      head.mt = last.maxTimestampSoFar;
    }
    for (const batch of batches) {
      const items = this.partitionBatches(topic.topicId, batch.partition);
      items.push({
        baseOffset: batch.baseOffset,
        lastOffset: lastOffsetOf(batch),
        maxTimestampSoFar: batch.maxTimestampSoFar,
        data: batch.data.slice(),
        appendId,
        // DynamoDB's TTL attribute holds whole seconds.
        expiresAt: Math.ceil(batch.expiresAt / 1000) * 1000,
      });
      items.sort((a, b) => a.lastOffset - b.lastOffset);
    }
  }

  /**
   * Whether a live idempotency record holds the item `id` at `now` (its expiry not passed), the
   * condition a new record's put fails on. Package-internal: ids of another scope (a group
   * incarnation's, `MemoryTransactionalLog`) share the map as they share the meta table.
   */
  idempotencyHeld(id: string, now: number): boolean {
    const stored = this.idempotency.get(id);
    return stored !== undefined && !(stored.expiresAt < now);
  }

  /** Stores an idempotency record under the item `id`, unchecked. Package-internal. */
  putIdempotency(id: string, record: IdempotencyRecord): void {
    this.idempotency.set(id, { ...record, response: record.response.slice() });
  }

  /** The live idempotency record of the item `id` at `now`, or undefined. Package-internal. */
  readIdempotencyItem(id: string, now: number): IdempotencyRecord | undefined {
    const stored = this.idempotency.get(id);
    if (!stored || stored.expiresAt < now) return undefined;
    return stored;
  }

  async appendLanded(topic: Topic, appendId: string, firstBatch: BatchToWrite): Promise<boolean> {
    return this.batchAt(topic.topicId, firstBatch.partition, lastOffsetOf(firstBatch))?.appendId === appendId;
  }

  async readIdempotency(topic: Topic, key: string, now: number): Promise<IdempotencyRecord | undefined> {
    return this.readIdempotencyItem(idempotencyId(topic.topicId, key), now);
  }

  async readBatches(
    topic: Topic,
    partition: number,
    fromOffset: number,
    limits: { recordsMax: number; bytesMax: number },
  ): Promise<StoredBatch[]> {
    const found: MemoryBatchItem[] = [];
    let records = 0;
    let bytes = 0;
    for (const item of this.batchesFrom(topic.topicId, partition, fromOffset)) {
      found.push(item);
      records += item.lastOffset + 1 - Math.max(item.baseOffset, fromOffset);
      bytes += item.data.byteLength;
      if (records >= limits.recordsMax || bytes >= limits.bytesMax) break;
    }
    return found.map(toStoredBatch);
  }

  async readEncodedBatches(
    topic: Topic,
    partition: number,
    fromOffset: number,
    limits: { batchesMax: number; bytesMax: number },
  ): Promise<StoredEncodedBatch[]> {
    const found: StoredEncodedBatch[] = [];
    let bytes = 0;
    for (const item of this.batchesFrom(topic.topicId, partition, fromOffset)) {
      found.push({
        baseOffset: item.baseOffset,
        lastOffset: item.lastOffset,
        maxTimestampSoFar: item.maxTimestampSoFar,
        data: item.data.slice(),
        expiresAt: item.expiresAt,
      });
      bytes += item.data.byteLength;
      if (found.length >= limits.batchesMax || bytes >= limits.bytesMax) break;
    }
    return found;
  }

  async readBatchAt(topic: Topic, partition: number, offset: number): Promise<StoredBatch | undefined> {
    const [item] = this.batchesFrom(topic.topicId, partition, offset);
    return item ? toStoredBatch(item) : undefined;
  }

  async closePartitions(topic: Topic, deletedAtMs: number): Promise<void> {
    for (let partition = 0; partition < topic.partitionCount; partition++) {
      this.heads.put(topic.topicId, partition, { dl: deletedAtMs });
    }
  }

  /**
   * What DynamoDB's TTL eventually does: deletes every batch and idempotency item whose expiry is
   * before `now`. Returns the batches deleted, in the order a stream would report them.
   */
  deleteExpired(now: number): { topicId: string; partition: number; batch: StoredEncodedBatch }[] {
    const deleted: { topicId: string; partition: number; batch: StoredEncodedBatch }[] = [];
    for (const [id, items] of this.batches) {
      const [topicId, partition] = splitPartitionId(id);
      const kept = items.filter((item) => {
        if (!(item.expiresAt < now)) return true;
        deleted.push({ topicId, partition, batch: { ...item, data: item.data.slice() } });
        return false;
      });
      this.batches.set(id, kept);
    }
    for (const [id, record] of this.idempotency) {
      if (record.expiresAt < now) this.idempotency.delete(id);
    }
    return deleted;
  }

  private batchesFrom(topicId: string, partition: number, fromOffset: number): MemoryBatchItem[] {
    return (this.batches.get(headId(topicId, partition)) ?? []).filter(
      (item) => item.lastOffset >= fromOffset,
    );
  }

  private batchAt(topicId: string, partition: number, lastOffset: number): MemoryBatchItem | undefined {
    return this.batches.get(headId(topicId, partition))?.find((item) => item.lastOffset === lastOffset);
  }

  private partitionBatches(topicId: string, partition: number): MemoryBatchItem[] {
    const id = headId(topicId, partition);
    let items = this.batches.get(id);
    if (!items) {
      items = [];
      this.batches.set(id, items);
    }
    return items;
  }
}

function toStoredBatch(item: MemoryBatchItem): StoredBatch {
  return {
    baseOffset: item.baseOffset,
    lastOffset: item.lastOffset,
    maxTimestampSoFar: item.maxTimestampSoFar,
    records: decodeBatch(item.data, item.baseOffset),
    storedBytes: item.data.byteLength,
  };
}

const lastOffsetOf = (batch: BatchToWrite) => batch.baseOffset + batch.recordCount - 1;
const idempotencyId = (topicId: string, key: string) => `${topicId}#${key}`;

function splitPartitionId(id: string): [string, number] {
  const at = id.lastIndexOf('#');
  return [id.slice(0, at), Number(id.slice(at + 1))];
}
