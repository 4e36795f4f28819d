/**
 * The layout of one atomic append (produce-plan.ts), pure: the bounds a produce request is checked
 * against, each at its limit and one past it (record count, key and headers, record size,
 * partitions, DynamoDB transaction items and bytes), and how records are grouped by partition in
 * request order and split into items, a record over recordInlineBytesMax stored alone.
 */
import { describe, expect, it } from 'vitest';
import { InvalidRequestError, LimitExceededError } from '../../shared/domain/errors.js';
import { LIMITS } from '../../shared/domain/limits.js';
import {
  checkRecordCount,
  checkTransaction,
  chunkByPartition,
  type PartitionChunks,
  recordSizes,
  withTimestamp,
} from '../../shared/domain/produce-plan.js';
import type { ProduceRecord } from '../../shared/domain/record.js';
import { decodeBatch, encodedRecordBytes } from '../../shared/domain/record-codec.js';

const bytes = (length: number, fill = 7) => new Uint8Array(length).fill(fill);

const binary = (valueBytes: number, keyBytes?: number): ProduceRecord => ({
  key: keyBytes === undefined ? null : { type: 'BINARY', bytes: bytes(keyBytes) },
  value: { type: 'BINARY', bytes: bytes(valueBytes) },
  headers: [],
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

/** A key length whose record, with no value, encodes to exactly `target` bytes. */
function keyBytesFor(target: number): number {
  let length = target;
  for (let i = 0; i < 20; i++) {
    const size = encodedRecordBytes(withTimestamp({ ...binary(0, length), value: null }, 0));
    if (size === target) return length;
    length += target - size;
  }
  throw new Error(`no key length encodes to ${target} bytes`);
}

describe('checkRecordCount', () => {
  it('takes 1 to recordsPerRequestMax records', () => {
    expect(() => checkRecordCount([1])).not.toThrow();
    expect(() => checkRecordCount(new Array(LIMITS.recordsPerRequestMax).fill(0))).not.toThrow();
  });

  it('refuses no records and one past the limit, naming it', () => {
    expect(() => checkRecordCount([])).toThrow(InvalidRequestError);
    const error = limitError(() => checkRecordCount(new Array(LIMITS.recordsPerRequestMax + 1).fill(0)));
    expect(error).toMatchObject({
      limit: 'recordsPerRequest',
      value: LIMITS.recordsPerRequestMax + 1,
      max: LIMITS.recordsPerRequestMax,
    });
  });
});

describe('recordSizes', () => {
  it('answers each record encoded size', () => {
    const records = [binary(10), binary(1_000, 5)];

    expect(recordSizes(records)).toEqual(records.map((r) => encodedRecordBytes(withTimestamp(r, 0))));
  });

  it('takes key and headers up to recordInlineBytesMax and refuses a byte more, naming the record', () => {
    const at = keyBytesFor(LIMITS.recordInlineBytesMax);
    const fits: ProduceRecord = { ...binary(0, at), value: null };
    const over: ProduceRecord = { ...binary(0, at + 1), value: null };

    expect(recordSizes([fits])).toHaveLength(1);
    const error = limitError(() => recordSizes([binary(1), over]));
    expect(error).toMatchObject({
      limit: 'recordKeyAndHeadersBytes',
      value: LIMITS.recordInlineBytesMax + 1,
      max: LIMITS.recordInlineBytesMax,
    });
    expect(error.message).toContain('Record 1 ');
  });

  it('lets a value alone make a record larger than recordInlineBytesMax, up to recordBytesMax', () => {
    const large = binary(LIMITS.recordInlineBytesMax * 2);
    const base = encodedRecordBytes(withTimestamp(binary(0), 0));

    expect(recordSizes([large])[0]).toBeGreaterThan(LIMITS.recordInlineBytesMax);
    const error = limitError(() => recordSizes([binary(LIMITS.recordBytesMax)]));
    expect(error).toMatchObject({ limit: 'recordBytes', max: LIMITS.recordBytesMax });
    expect(error.value).toBeGreaterThan(LIMITS.recordBytesMax);
    expect(base).toBeGreaterThan(0);
  });

  it('takes a record of exactly recordBytesMax', () => {
    let valueBytes = LIMITS.recordBytesMax - 64;
    for (let i = 0; i < 2; i++) {
      valueBytes += LIMITS.recordBytesMax - encodedRecordBytes(withTimestamp(binary(valueBytes), 0));
    }
    expect(encodedRecordBytes(withTimestamp(binary(valueBytes), 0))).toBe(LIMITS.recordBytesMax);

    expect(recordSizes([binary(valueBytes)])).toEqual([LIMITS.recordBytesMax]);
    expect(() => recordSizes([binary(valueBytes + 1)])).toThrow(LimitExceededError);
  });
});

describe('chunkByPartition', () => {
  const stamp = (records: readonly ProduceRecord[]) => records.map((r, i) => withTimestamp(r, 1_000 + i));

  it('groups records by partition in partition order, each in request order', () => {
    const records = [binary(1), binary(2), binary(3), binary(4)];
    const partitions = [2, 0, 2, 1];

    const chunks = chunkByPartition(partitions, recordSizes(records), stamp(records));

    expect(chunks.map((c) => [c.partition, c.chunks.map((chunk) => chunk.indexes)])).toEqual([
      [0, [[1]]],
      [1, [[3]]],
      [2, [[0, 2]]],
    ]);
    const [two] = chunks[2]?.chunks ?? [];
    expect(
      decodeBatch(two?.data ?? new Uint8Array(), 10).map((r) => [r.offset, r.value?.bytes.length]),
    ).toEqual([
      [10, 1],
      [11, 3],
    ]);
    expect(two?.apart).toBe(false);
  });

  it('splits a partition records into items of at most batchItemBytesMax', () => {
    const records = [binary(200_000), binary(200_000), binary(200_000)];
    const sizes = recordSizes(records);

    const [only] = chunkByPartition([0, 0, 0], sizes, stamp(records));

    expect(only?.chunks.map((chunk) => chunk.indexes)).toEqual([[0], [1], [2]]);
    const pairs = chunkByPartition([0, 0], recordSizes([binary(100_000), binary(100_000)]), stamp(records));
    expect(pairs[0]?.chunks.map((chunk) => chunk.indexes)).toEqual([[0, 1]]);
  });

  it('stores a record over recordInlineBytesMax alone and uncompressed, and marks it apart', () => {
    const records = [binary(10), binary(LIMITS.recordInlineBytesMax + 1), binary(10)];
    const sizes = recordSizes(records);

    const [only] = chunkByPartition([0, 0, 0], sizes, stamp(records));

    expect(only?.chunks.map((chunk) => [chunk.indexes, chunk.apart])).toEqual([
      [[0], false],
      [[1], true],
      [[2], false],
    ]);
    // Uncompressed: the item holds the value's bytes in full.
    expect(only?.chunks[1]?.data.byteLength).toBeGreaterThan(LIMITS.recordInlineBytesMax);
    expect(only?.chunks[0]?.data.byteLength).toBeLessThan(100);
  });

  it('takes partitionsPerRequestMax partitions and refuses one more', () => {
    const count = LIMITS.partitionsPerRequestMax;
    const records = Array.from({ length: count + 1 }, () => binary(1));
    const sizes = recordSizes(records);
    const partitions = records.map((_, i) => i);

    expect(chunkByPartition(partitions.slice(0, count), sizes, stamp(records))).toHaveLength(count);
    const error = limitError(() => chunkByPartition(partitions, sizes, stamp(records)));
    expect(error).toMatchObject({ limit: 'partitionsPerRequest', value: count + 1, max: count });
  });
});

describe('checkTransaction', () => {
  /** `partitions` partitions of `chunksEach` items of `dataBytes` bytes each. */
  const layout = (partitions: number, chunksEach: number, dataBytes = 1, apart = false): PartitionChunks[] =>
    Array.from({ length: partitions }, (_, partition) => ({
      partition,
      chunks: Array.from({ length: chunksEach }, () => ({ indexes: [0], data: bytes(dataBytes), apart })),
    }));

  it('counts a head per partition, its items and the idempotency record, up to transactionItemsMax', () => {
    // 33 partitions of 2 batches: 99 items, and the idempotency record makes 100.
    expect(() => checkTransaction(layout(33, 2), undefined)).not.toThrow();
    expect(() => checkTransaction(layout(33, 2), 'key')).not.toThrow();
    expect(limitError(() => checkTransaction(layout(25, 3), 'key'))).toMatchObject({
      limit: 'transactionItems',
      value: 101,
      max: LIMITS.transactionItemsMax,
    });
    expect(limitError(() => checkTransaction(layout(1, 100), undefined))).toMatchObject({ value: 101 });
  });

  it('takes transactionBytesMax stored bytes and refuses one more, not counting records stored apart', () => {
    const half = LIMITS.transactionBytesMax / 2;

    expect(() => checkTransaction(layout(1, 2, half), undefined)).not.toThrow();
    expect(
      limitError(() => checkTransaction([...layout(1, 2, half), ...layout(1, 1, 1)], undefined)),
    ).toMatchObject({
      limit: 'transactionBytes',
      value: LIMITS.transactionBytesMax + 1,
      max: LIMITS.transactionBytesMax,
    });
    expect(() => checkTransaction(layout(1, 3, half, true), undefined)).not.toThrow();
  });
});
