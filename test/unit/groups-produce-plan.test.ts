/**
 * produce-plan.ts beside produce-plan.test.ts, pure: where `placeRecords` puts each record (offsets
 * after the head, per partition, in request order; batches with their base offset, count, running
 * maximum timestamp and hot-tier expiry), and the bounds of an append with a commit
 * (`checkCommitTransaction`): items and stored bytes each at the limit and one past it, and the
 * counts its refusal tells the caller (what to send fewer of).
 */
import { describe, expect, it } from 'vitest';
import { LimitExceededError } from '../../shared/domain/errors.js';
import { LIMITS } from '../../shared/domain/limits.js';
import {
  checkCommitTransaction,
  chunkByPartition,
  type PartitionChunks,
  placeRecords,
  recordSizes,
  withTimestamp,
} from '../../shared/domain/produce-plan.js';
import type { ProduceRecord } from '../../shared/domain/record.js';
import { decodeBatch, encodedRecordBytes } from '../../shared/domain/record-codec.js';
import { resolveTopicConfig, type Topic } from '../../shared/domain/topic.js';
import type { PartitionHead } from '../../shared/ports/partition-log.js';

const bytes = (length: number, fill = 7) => new Uint8Array(length).fill(fill);

const value = (length: number): ProduceRecord => ({
  key: null,
  value: { type: 'BINARY', bytes: bytes(length) },
  headers: [],
});

const LOCAL_RETENTION_MS = 3_600_000;

const topic: Topic = {
  name: 't',
  topicId: 'topic-id',
  partitionCount: 4,
  config: resolveTopicConfig({ localRetentionMs: LOCAL_RETENTION_MS }),
  createdAt: 0,
};

const head = (partition: number, highWatermark: number, maxTimestamp: number): PartitionHead => ({
  partition,
  highWatermark,
  logStartOffset: 0,
  archivedOffset: 0,
  maxTimestamp,
  archivedBytes: 0,
  retentionClassFloorDays: 0,
});

function limitError(run: () => unknown): LimitExceededError {
  try {
    run();
  } catch (error) {
    if (error instanceof LimitExceededError) return error;
    throw error;
  }
  throw new Error('expected a LimitExceededError');
}

describe('placeRecords', () => {
  it('places each partition records after its head, in request order, answering by request index', () => {
    const records = [value(1), value(2), value(3), value(4), value(5)];
    const partitions = [2, 0, 2, 0, 2];
    const stamped = records.map((record, i) => withTimestamp(record, 1_000 + i));
    const chunks = chunkByPartition(partitions, recordSizes(records), stamped);

    const { positions } = placeRecords(topic, [head(0, 10, 0), head(2, 40, 0)], chunks, stamped, 5_000);

    expect(positions).toEqual([
      { partition: 2, offset: 40, timestamp: 1_000 },
      { partition: 0, offset: 10, timestamp: 1_001 },
      { partition: 2, offset: 41, timestamp: 1_002 },
      { partition: 0, offset: 11, timestamp: 1_003 },
      { partition: 2, offset: 42, timestamp: 1_004 },
    ]);
  });

  it('writes one batch per item with its base offset, record count, data and hot-tier expiry', () => {
    // 200,000-byte values: two share no item of batchItemBytesMax, so partition 1 has three items.
    const records = [value(200_000), value(10), value(200_000), value(200_000)];
    const partitions = [1, 3, 1, 1];
    const stamped = records.map((record, i) => withTimestamp(record, 2_000 + i));
    const chunks = chunkByPartition(partitions, recordSizes(records), stamped);

    const { batches } = placeRecords(topic, [head(1, 7, 0), head(3, 0, 0)], chunks, stamped, 5_000);

    expect(batches.map(({ data: _, ...batch }) => batch)).toEqual([
      {
        partition: 1,
        baseOffset: 7,
        recordCount: 1,
        maxTimestampSoFar: 2_000,
        expiresAt: 5_000 + LOCAL_RETENTION_MS,
      },
      {
        partition: 1,
        baseOffset: 8,
        recordCount: 1,
        maxTimestampSoFar: 2_002,
        expiresAt: 5_000 + LOCAL_RETENTION_MS,
      },
      {
        partition: 1,
        baseOffset: 9,
        recordCount: 1,
        maxTimestampSoFar: 2_003,
        expiresAt: 5_000 + LOCAL_RETENTION_MS,
      },
      {
        partition: 3,
        baseOffset: 0,
        recordCount: 1,
        maxTimestampSoFar: 2_001,
        expiresAt: 5_000 + LOCAL_RETENTION_MS,
      },
    ]);
    expect(batches.map((batch) => batch.data)).toEqual(
      chunks.flatMap((entry) => entry.chunks.map((c) => c.data)),
    );
  });

  it('keeps the running maximum timestamp: from the head, never lowered by an older record', () => {
    const records = [value(1), value(1), value(1)];
    const stamped = [
      withTimestamp(records[0] as ProduceRecord, 500),
      withTimestamp(records[1] as ProduceRecord, 900),
      withTimestamp(records[2] as ProduceRecord, 700),
    ];
    const chunks = chunkByPartition([0, 0, 0], recordSizes(records), stamped);

    const later = placeRecords(topic, [head(0, 3, 800)], chunks, stamped, 0);
    const earlier = placeRecords(topic, [head(0, 3, 1_000)], chunks, stamped, 0);

    expect(later.batches.map((batch) => batch.maxTimestampSoFar)).toEqual([900]);
    expect(earlier.batches.map((batch) => batch.maxTimestampSoFar)).toEqual([1_000]);
    // Each record keeps its own timestamp, whatever the running maximum.
    expect(later.positions.map((position) => position.timestamp)).toEqual([500, 900, 700]);
    expect(decodeBatch(later.batches[0]?.data ?? new Uint8Array(), 3).map((r) => r.offset)).toEqual([
      3, 4, 5,
    ]);
  });
});

describe('a record at recordInlineBytesMax', () => {
  /** A value whose record encodes to exactly `target` bytes. */
  function valueFor(target: number): ProduceRecord {
    let length = target - 64;
    for (let i = 0; i < 4; i++) length += target - encodedRecordBytes(withTimestamp(value(length), 0));
    expect(encodedRecordBytes(withTimestamp(value(length), 0))).toBe(target);
    return value(length);
  }

  it('shares the inline path (compressed, not apart) at the limit, and is stored apart a byte over it', () => {
    const records = [valueFor(LIMITS.recordInlineBytesMax), valueFor(LIMITS.recordInlineBytesMax + 1)];
    const stamped = records.map((record) => withTimestamp(record, 0));

    const chunks = chunkByPartition([0, 1], recordSizes(records), stamped);

    expect(chunks.map((entry) => entry.chunks.map((chunk) => chunk.apart))).toEqual([[false], [true]]);
    // A record of one repeated byte compresses to little unless it is stored apart, uncompressed.
    expect(chunks[0]?.chunks[0]?.data.byteLength).toBeLessThan(10_000);
    expect(chunks[1]?.chunks[0]?.data.byteLength).toBeGreaterThan(300_000);
  });
});

describe('recordSizes refusing key and headers over recordInlineBytesMax', () => {
  it('names the bytes of key and headers alone, not counting the value', () => {
    const keyOnly = (keyBytes: number): ProduceRecord => ({
      key: { type: 'BINARY', bytes: bytes(keyBytes) },
      value: null,
      headers: [],
    });
    const overBy = encodedRecordBytes(withTimestamp(keyOnly(LIMITS.recordInlineBytesMax), 0));
    const record: ProduceRecord = { ...keyOnly(LIMITS.recordInlineBytesMax), value: value(1_000).value };

    const error = limitError(() => recordSizes([record]));

    expect(overBy).toBeGreaterThan(LIMITS.recordInlineBytesMax);
    expect(error).toMatchObject({ limit: 'recordKeyAndHeadersBytes', max: LIMITS.recordInlineBytesMax });
    // The value's 1,000 bytes are not counted; a byte or two of its framing is.
    expect(error.value).toBeGreaterThanOrEqual(overBy);
    expect(error.value).toBeLessThan(overBy + 10);
    expect(error.message).toContain(`has ${error.value} bytes of key and headers`);
  });
});

describe('checkCommitTransaction', () => {
  /** `partitions` partitions of `chunksEach` items of `dataBytes` bytes each. */
  const layout = (partitions: number, chunksEach: number, dataBytes = 1, apart = false): PartitionChunks[] =>
    Array.from({ length: partitions }, (_, partition) => ({
      partition,
      chunks: Array.from({ length: chunksEach }, () => ({ indexes: [0], data: bytes(dataBytes), apart })),
    }));

  it('counts the commit items, a head and the items of every partition of every topic, and the key', () => {
    // Two topics: 10 partitions of 2 items (30) and 5 of 3 (20): 50 append items.
    const topics = [layout(10, 2), layout(5, 3)];

    expect(() => checkCommitTransaction(topics, 50, undefined)).not.toThrow();
    expect(() => checkCommitTransaction(topics, 49, 'key')).not.toThrow();
    expect(limitError(() => checkCommitTransaction(topics, 50, 'key'))).toMatchObject({
      limit: 'transactionItems',
      value: 101,
      max: LIMITS.transactionItemsMax,
    });
    expect(limitError(() => checkCommitTransaction(topics, 51, undefined))).toMatchObject({ value: 101 });
  });

  it('tells the caller what the items are for: the commit, the partitions, the key', () => {
    const withKey = limitError(() => checkCommitTransaction([layout(10, 2), layout(5, 3)], 60, 'key'));
    const withoutKey = limitError(() => checkCommitTransaction([layout(20, 4)], 3, undefined));

    expect(withKey.message).toContain('needs 111 DynamoDB items: 60 for the commit');
    expect(withKey.message).toContain('50 for 15 partitions');
    expect(withKey.message).toContain('and one for the Idempotency-Key');
    expect(withKey.message).toContain(`limited to ${LIMITS.transactionItemsMax}`);
    expect(withoutKey.message).toContain('needs 103 DynamoDB items: 3 for the commit');
    expect(withoutKey.message).toContain('100 for 20 partitions');
    expect(withoutKey.message).not.toContain('Idempotency-Key');
  });

  it('takes exactly transactionBytesMax stored bytes over several topics, refuses one more, and skips records stored apart', () => {
    const quarter = LIMITS.transactionBytesMax / 4;
    const full = [layout(1, 2, quarter), layout(2, 1, quarter)];

    expect(() => checkCommitTransaction(full, 3, undefined)).not.toThrow();
    const error = limitError(() => checkCommitTransaction([...full, layout(1, 1, 1)], 3, undefined));
    expect(error).toMatchObject({
      limit: 'transactionBytes',
      value: LIMITS.transactionBytesMax + 1,
      max: LIMITS.transactionBytesMax,
    });
    expect(error.message).toContain(`stores ${LIMITS.transactionBytesMax + 1} bytes`);
    expect(error.message).toContain(`limited to ${LIMITS.transactionBytesMax}`);
    expect(() => checkCommitTransaction([...full, layout(1, 1, quarter, true)], 3, undefined)).not.toThrow();
  });
});
