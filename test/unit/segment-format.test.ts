import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBatch, encodeBatch } from '../../shared/domain/record-codec.js';
import {
  CorruptSegmentError,
  decodeFrames,
  decodeSegmentIndex,
  type EncodedBatch,
  encodeSegment,
  entryForOffset,
  entryForTimestamp,
  SEGMENT_TRAILER_BYTES,
} from '../../shared/domain/segment-format.js';
import { makeEventRecords, seededRandom } from '../support/events.js';

/** Contiguous encoded batches of random event records, from `baseOffset`, with a running max timestamp. */
function makeBatches(sizes: readonly number[], seed: number, baseOffset = 0): EncodedBatch[] {
  const random = seededRandom(seed);
  const batches: EncodedBatch[] = [];
  let offset = baseOffset;
  let maxTimestamp = 0;
  for (const size of sizes) {
    const records = makeEventRecords(random, random() < 0.5 ? 'small' : 'typical', size);
    maxTimestamp = Math.max(maxTimestamp, ...records.map((record) => record.timestamp));
    batches.push({
      baseOffset: offset,
      lastOffset: offset + size - 1,
      maxTimestampSoFar: maxTimestamp,
      data: encodeBatch(records),
    });
    offset += size;
  }
  return batches;
}

/** Every frame of a segment, read from the first index entry to the index. */
function allFrames(bytes: Uint8Array, indexPosition: number, baseOffset: number) {
  return decodeFrames(bytes.subarray(0, indexPosition), 0, baseOffset, baseOffset);
}

describe('segment format', () => {
  it('keeps every batch byte for byte, and its index finds each one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 30 }),
        fc.integer(),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 1, max: 20_000 }),
        (sizes, seed, baseOffset, interval) => {
          const batches = makeBatches(sizes, seed, baseOffset);

          const segment = encodeSegment(batches, interval);
          const index = decodeSegmentIndex(
            segment.bytes.subarray(segment.index.indexPosition),
            segment.index.indexPosition,
          );
          const frames = allFrames(segment.bytes, index.indexPosition, baseOffset);

          expect(index).toEqual(segment.index);
          expect(
            frames.map((frame) => [frame.baseOffset, frame.lastOffset, frame.maxTimestampSoFar]),
          ).toEqual(batches.map((batch) => [batch.baseOffset, batch.lastOffset, batch.maxTimestampSoFar]));
          frames.forEach((frame, i) => {
            expect(Buffer.from(frame.data).equals(Buffer.from((batches[i] as EncodedBatch).data))).toBe(true);
          });
          expect(segment.batchBytes).toBe(batches.reduce((sum, batch) => sum + batch.data.byteLength, 0));
          for (const entry of index.entries) {
            const [first] = decodeFrames(
              segment.bytes.subarray(entry.position, index.indexPosition),
              entry.position,
              entry.baseOffset,
              baseOffset,
            );
            expect(first?.baseOffset).toBe(entry.baseOffset);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('places an index entry about every indexIntervalBytes, starting with the first frame', () => {
    const batches = makeBatches(
      Array.from({ length: 200 }, () => 5),
      3,
    );

    const segment = encodeSegment(batches, 4096);

    const positions = segment.index.entries.map((entry) => entry.position);
    expect(positions[0]).toBe(0);
    expect(positions.length).toBeGreaterThan(segment.index.indexPosition / 4096 / 2);
    positions.slice(1).forEach((position, i) => {
      expect(position - (positions[i] as number)).toBeGreaterThanOrEqual(4096);
    });
  });

  it('finds the entry at or before an offset and before a timestamp', () => {
    const batches = makeBatches(
      Array.from({ length: 100 }, () => 10),
      5,
      1000,
    );
    const { index } = encodeSegment(batches, 2048);

    for (const offset of [1000, 1001, 1333, 1999]) {
      const entry = entryForOffset(index, offset);
      const next = index.entries.find((candidate) => candidate.position > entry.position);
      expect(entry.baseOffset).toBeLessThanOrEqual(offset);
      if (next) expect(next.baseOffset).toBeGreaterThan(offset);
    }
    const middle = (batches[50] as EncodedBatch).maxTimestampSoFar;
    const byTime = entryForTimestamp(index, middle);
    expect(byTime.maxTimestampSoFar < middle || byTime.position === 0).toBe(true);
  });

  it('returns only the complete frames of a range cut short', () => {
    const batches = makeBatches([3, 4, 5], 9);
    const segment = encodeSegment(batches);
    const secondEnd = allFrames(segment.bytes, segment.index.indexPosition, 0)[1]?.end as number;

    const frames = decodeFrames(segment.bytes.subarray(0, secondEnd + 3), 0, 0, 0);

    expect(frames.map((frame) => frame.baseOffset)).toEqual([0, 3]);
    expect(decodeBatch((frames[1] as EncodedBatch).data, 3).map((record) => record.offset)).toEqual([
      3, 4, 5, 6,
    ]);
  });

  it('fails when the index was altered (checksum)', () => {
    const segment = encodeSegment(makeBatches([2, 2], 1));
    const tail = segment.bytes.slice(segment.index.indexPosition);
    tail[2] = (tail[2] as number) ^ 0x01;

    expect(() => decodeSegmentIndex(tail, segment.index.indexPosition)).toThrow(/checksum/);
  });

  it('fails when the object is not a segment', () => {
    const bytes = new Uint8Array(64).fill(7);

    expect(() => decodeSegmentIndex(bytes, 0)).toThrow(CorruptSegmentError);
    expect(() => decodeSegmentIndex(new Uint8Array(SEGMENT_TRAILER_BYTES - 1), 0)).toThrow(
      CorruptSegmentError,
    );
  });

  it('fails when frames do not continue at the expected offset', () => {
    const segment = encodeSegment(makeBatches([2, 2], 1));

    expect(() => decodeFrames(segment.bytes, 0, 1, 0)).toThrow(CorruptSegmentError);
  });

  it('fails when the batches are not contiguous or empty', () => {
    const [first, second] = makeBatches([2, 2], 1);
    const gap = { ...(second as EncodedBatch), baseOffset: 3, lastOffset: 4 };

    expect(() => encodeSegment([first as EncodedBatch, gap])).toThrow(RangeError);
    expect(() => encodeSegment([])).toThrow(RangeError);
  });
});
