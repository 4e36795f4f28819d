import { brotliCompressSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  deserializePositions,
  type RecordPosition,
  serializePositions,
} from '../../shared/domain/log-service.js';
import { seededRandom } from '../support/events.js';

/** Positions as an append gives them: per partition, consecutive offsets in request order. */
const appendedPositions = fc
  .record({
    partitions: fc.array(fc.integer({ min: 0, max: 1023 }), { minLength: 1, maxLength: 300 }),
    bases: fc.array(fc.nat({ max: 2 ** 40 }), { minLength: 1024, maxLength: 1024 }),
    timestamps: fc.option(fc.array(fc.nat({ max: 253_402_300_799_999 }), { minLength: 300, maxLength: 300 })),
    appendTime: fc.nat({ max: 253_402_300_799_999 }),
  })
  .map(({ partitions, bases, timestamps, appendTime }) => {
    const next = [...bases];
    return partitions.map((partition, index): RecordPosition => {
      const offset = next[partition] as number;
      next[partition] = offset + 1;
      return { partition, offset, timestamp: timestamps ? (timestamps[index] as number) : appendTime };
    });
  });

describe('the answer kept with an Idempotency-Key', () => {
  it('reads back exactly the positions an append gave', () => {
    fc.assert(
      fc.property(appendedPositions, (positions) => {
        expect(deserializePositions(serializePositions(positions))).toEqual(positions);
      }),
    );
  });

  it('stays small for a large request stamped with one append time', () => {
    const positions = Array.from({ length: 10_000 }, (_, i) => ({
      partition: i % 7,
      offset: 1_000_000 + Math.floor(i / 7),
      timestamp: 1_763_700_000_000,
    }));

    expect(serializePositions(positions).byteLength).toBeLessThan(2_000);
  });

  it('keeps the producer timestamps of 1,000 records in under 1 KB', () => {
    // As the benchmark's producers stamp them: 0 to 20 ms apart, at random.
    const random = seededRandom(3);
    let timestamp = 1_767_225_600_000;
    const positions = Array.from({ length: 1_000 }, (_, i) => {
      timestamp += Math.floor(random() * 21);
      return { partition: 0, offset: 5_000 + i, timestamp };
    });

    const stored = serializePositions(positions);

    expect(stored.byteLength).toBeLessThan(1_024);
    expect(deserializePositions(stored)).toEqual(positions);
  });

  it('reads answers stored before timestamps were kept as differences', () => {
    const positions = [
      { partition: 2, offset: 40, timestamp: 1_767_225_600_123 },
      { partition: 0, offset: 7, timestamp: 1_767_225_600_001 },
      { partition: 2, offset: 41, timestamp: 1_767_225_600_456 },
    ];
    const older = brotliCompressSync(
      Buffer.from(JSON.stringify({ p: [2, 0, 2], b: { 0: 7, 2: 40 }, t: positions.map((p) => p.timestamp) })),
    );

    expect(deserializePositions(older)).toEqual(positions);
  });
});
