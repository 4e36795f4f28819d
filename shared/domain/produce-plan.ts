/**
 * A produce request laid out for one atomic append: checked against the published limits, its
 * records grouped by partition in request order, encoded into items small enough for DynamoDB,
 * and (once the partition heads are read) placed at their offsets. Pure: the log service reads the
 * heads and appends.
 */
import assert from 'node:assert/strict';
import type { BatchToWrite, PartitionHead } from '../ports/partition-log.js';
import { InvalidRequestError, LimitExceededError } from './errors.js';
import { LIMITS } from './limits.js';
import type { ProduceRecord, RecordInput, RecordPosition } from './record.js';
import { type BatchCompression, encodeBatch, encodedRecordBytes, splitIntoChunks } from './record-codec.js';
import type { Topic } from './topic.js';

/** Items of a transaction besides batches: the idempotency record. */
const IDEMPOTENCY_ITEMS = 1;

/** One partition's records of a request: the indexes of its records, in items. */
export interface PartitionChunks {
  readonly partition: number;
  readonly chunks: readonly {
    readonly indexes: readonly number[];
    readonly data: Uint8Array;
    /** One record over `recordInlineBytesMax`, stored alone and uncompressed (see `storedApart`). */
    readonly apart: boolean;
  }[];
}

/** The record as stored, stamped with its timestamp. */
export function withTimestamp(record: ProduceRecord, timestamp: number): RecordInput {
  return { key: record.key, value: record.value, headers: record.headers, timestamp };
}

/** @throws InvalidRequestError, LimitExceededError unless 1 to recordsPerRequestMax records */
export function checkRecordCount(records: readonly unknown[]): void {
  if (records.length === 0) throw new InvalidRequestError('records must hold at least one record', 'records');
  if (records.length > LIMITS.recordsPerRequestMax) {
    throw new LimitExceededError(
      `A produce request holds at most ${LIMITS.recordsPerRequestMax} records, got ${records.length}`,
      'recordsPerRequest',
      records.length,
      LIMITS.recordsPerRequestMax,
    );
  }
}

/**
 * Each record's encoded size. Only a value may make a record larger than `recordInlineBytesMax`:
 * a fetch answers such a value by reference when it does not fit, and a key or headers could not be.
 *
 * @throws LimitExceededError naming the first record over a limit
 */
export function recordSizes(records: readonly ProduceRecord[]): number[] {
  const sizes = records.map((record) => encodedRecordBytes(withTimestamp(record, 0)));
  sizes.forEach((size, index) => {
    const valueBytes = records[index]?.value?.bytes.byteLength ?? 0;
    if (size - valueBytes > LIMITS.recordInlineBytesMax) {
      throw new LimitExceededError(
        `Record ${index} has ${size - valueBytes} bytes of key and headers, encoded; the limit is ${LIMITS.recordInlineBytesMax} (only a value may be larger)`,
        'recordKeyAndHeadersBytes',
        size - valueBytes,
        LIMITS.recordInlineBytesMax,
      );
    }
    if (size > LIMITS.recordBytesMax) {
      throw new LimitExceededError(
        `Record ${index} is ${size} bytes encoded; the limit is ${LIMITS.recordBytesMax}`,
        'recordBytes',
        size,
        LIMITS.recordBytesMax,
      );
    }
  });
  return sizes;
}

/**
 * Records of each partition in request order, split into items small enough for DynamoDB, in
 * partition order.
 *
 * @throws LimitExceededError when the request touches more than partitionsPerRequestMax partitions
 */
export function chunkByPartition(
  partitions: readonly number[],
  sizes: readonly number[],
  stamped: readonly RecordInput[],
): PartitionChunks[] {
  const byPartition = new Map<number, number[]>();
  partitions.forEach((partition, index) => {
    const indexes = byPartition.get(partition) ?? [];
    indexes.push(index);
    byPartition.set(partition, indexes);
  });
  if (byPartition.size > LIMITS.partitionsPerRequestMax) {
    throw new LimitExceededError(
      `This request touches ${byPartition.size} partitions; one atomic request is limited to ` +
        `${LIMITS.partitionsPerRequestMax}: send the records of fewer partitions per request`,
      'partitionsPerRequest',
      byPartition.size,
      LIMITS.partitionsPerRequestMax,
    );
  }
  return [...byPartition.entries()]
    .sort(([a], [b]) => a - b)
    .map(([partition, indexes]) => ({
      partition,
      chunks: splitIntoChunks(indexes, (i) => sizes[i] as number, LIMITS.batchItemBytesMax).map((chunk) => {
        const apart = storedApart(chunk, sizes);
        return {
          indexes: chunk,
          data: encodeBatch(
            chunk.map((i) => stamped[i] as RecordInput),
            apart ? STORED_APART : undefined,
          ),
          apart,
        };
      }),
    }));
}

/** How a record over `recordInlineBytesMax` is stored: alone in its batch, uncompressed. */
const STORED_APART: BatchCompression = { codec: 'none', level: 0 };

/**
 * Whether a chunk is one record over `recordInlineBytesMax`: such a record is stored alone and
 * uncompressed (the chunking gives it a chunk of its own, since `batchItemBytesMax` is no larger),
 * so that its value is one contiguous range of the payload object and, later, of its segment, which
 * a fetch can hand out by reference; and it is always written through the payload object.
 */
function storedApart(chunk: readonly number[], sizes: readonly number[]): boolean {
  return chunk.length === 1 && (sizes[chunk[0] as number] as number) > LIMITS.recordInlineBytesMax;
}

/**
 * @throws LimitExceededError when the append needs more items or bytes than one DynamoDB
 *   transaction takes
 */
export function checkTransaction(
  chunks: readonly PartitionChunks[],
  idempotencyKey: string | undefined,
): void {
  const itemCount =
    chunks.reduce((sum, entry) => sum + 1 + entry.chunks.length, 0) +
    (idempotencyKey ? IDEMPOTENCY_ITEMS : 0);
  if (itemCount > LIMITS.transactionItemsMax) {
    throw new LimitExceededError(
      `This request needs ${itemCount} DynamoDB items (one head and at least one batch per partition it touches, ` +
        `plus one for an Idempotency-Key); one atomic request is limited to ${LIMITS.transactionItemsMax}: ` +
        'send the records of fewer partitions per request',
      'transactionItems',
      itemCount,
      LIMITS.transactionItemsMax,
    );
  }
  // A record stored apart is always in the payload object: the transaction holds only its range.
  const storedBytes = chunks.reduce(
    (sum, entry) =>
      sum + entry.chunks.reduce((inner, chunk) => inner + (chunk.apart ? 0 : chunk.data.byteLength), 0),
    0,
  );
  if (storedBytes > LIMITS.transactionBytesMax) {
    throw new LimitExceededError(
      `This request stores ${storedBytes} bytes after compression; one atomic request is limited to ` +
        `${LIMITS.transactionBytesMax} (a DynamoDB transaction): split it`,
      'transactionBytes',
      storedBytes,
      LIMITS.transactionBytesMax,
    );
  }
}

/**
 * Places the records after the heads read (one per partition, in the order of `chunks`): each
 * record's position, and the batches that store them.
 */
export function placeRecords(
  topic: Topic,
  heads: readonly PartitionHead[],
  chunks: readonly PartitionChunks[],
  stamped: readonly RecordInput[],
  appendTime: number,
): { positions: RecordPosition[]; batches: BatchToWrite[] } {
  const positions: RecordPosition[] = new Array(stamped.length);
  const batches: BatchToWrite[] = [];
  for (const [entryIndex, entry] of chunks.entries()) {
    const head = heads[entryIndex];
    assert.ok(head && head.partition === entry.partition, 'heads come back in the order asked');
    let nextOffset = head.highWatermark;
    let maxTimestampSoFar = head.maxTimestamp;
    for (const chunk of entry.chunks) {
      const baseOffset = nextOffset;
      for (const index of chunk.indexes) {
        const record = stamped[index] as RecordInput;
        positions[index] = { partition: entry.partition, offset: nextOffset++, timestamp: record.timestamp };
        maxTimestampSoFar = Math.max(maxTimestampSoFar, record.timestamp);
      }
      batches.push({
        partition: entry.partition,
        baseOffset,
        recordCount: chunk.indexes.length,
        data: chunk.data,
        maxTimestampSoFar,
        // The hot tier keeps a batch this long; the archiver copies it to S3 well before.
        expiresAt: appendTime + topic.config.localRetentionMs,
      });
    }
  }
  return { positions, batches };
}

/**
 * Checks that an append with a commit fits one DynamoDB transaction: `commitItems` (the group
 * fence, the member, one per offset), a head and the batches of every partition of every topic,
 * and the Idempotency-Key; the batches' stored bytes within `transactionBytesMax`.
 *
 * @throws LimitExceededError naming `transactionItems` or `transactionBytes`
 */
export function checkCommitTransaction(
  chunksOfTopics: readonly (readonly PartitionChunks[])[],
  commitItems: number,
  idempotencyKey: string | undefined,
): void {
  const partitions = chunksOfTopics.reduce((sum, chunks) => sum + chunks.length, 0);
  const appendItems = chunksOfTopics.reduce(
    (sum, chunks) => sum + chunks.reduce((inner, entry) => inner + 1 + entry.chunks.length, 0),
    0,
  );
  const itemCount = commitItems + appendItems + (idempotencyKey ? IDEMPOTENCY_ITEMS : 0);
  if (itemCount > LIMITS.transactionItemsMax) {
    throw new LimitExceededError(
      `This transaction needs ${itemCount} DynamoDB items: ${commitItems} for the commit (the group, the member, one per offset), ` +
        `${appendItems} for ${partitions} partitions (a head and at least one batch each)` +
        `${idempotencyKey ? ' and one for the Idempotency-Key' : ''}; one transaction is limited to ` +
        `${LIMITS.transactionItemsMax}: send fewer partitions or offsets per transaction`,
      'transactionItems',
      itemCount,
      LIMITS.transactionItemsMax,
    );
  }
  const storedBytes = chunksOfTopics.reduce(
    (sum, chunks) =>
      sum +
      chunks.reduce(
        (bytes, entry) =>
          bytes + entry.chunks.reduce((inner, chunk) => inner + (chunk.apart ? 0 : chunk.data.byteLength), 0),
        0,
      ),
    0,
  );
  if (storedBytes > LIMITS.transactionBytesMax) {
    throw new LimitExceededError(
      `This transaction stores ${storedBytes} bytes after compression; one transaction is limited to ` +
        `${LIMITS.transactionBytesMax} (a DynamoDB transaction): split it`,
      'transactionBytes',
      storedBytes,
      LIMITS.transactionBytesMax,
    );
  }
}
