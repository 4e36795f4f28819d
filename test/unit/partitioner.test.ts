import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assignKeylessPartitions,
  murmur2,
  partitionForKey,
  STICKY_BATCH_BYTES,
  toPositive,
} from '../../shared/domain/partitioner.js';
import { seededRandom } from '../support/events.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('murmur2', () => {
  // Kafka's clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java (testMurmur2), plus
  // Java-client values quoted by Akka's and librdkafka's compatibility tests.
  it.each([
    ['21', -973_932_308],
    ['foobar', -790_332_482],
    ['a-little-bit-long-string', -985_981_536],
    ['a-little-bit-longer-string', -1_486_304_829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58_897_971],
    ['abc', 479_470_107],
    ['1', -1_993_445_489],
    ['12', 126_087_238],
    ['123', -267_702_483],
    ['1234', -1_614_185_708],
    ['12345', -1_188_365_604],
    ['kafka', -798_503_068],
  ])('hashes %j as Kafka does', (text, expected) => {
    // Prepare
    const bytes = utf8(text);

    // Act
    const hash = murmur2(bytes);

    // Assess
    expect(hash).toBe(expected);
  });

  it('returns a signed 32-bit integer for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        // Act
        const hash = murmur2(bytes);

        // Assess
        expect(hash).toBe(hash | 0);
      }),
    );
  });
});

describe('toPositive', () => {
  it.each([
    [5, 5],
    [-1, 2_147_483_647],
    [-2_147_483_648, 0],
    [2_147_483_647, 2_147_483_647],
  ])('maps %i to %i by clearing the sign bit', (n, expected) => {
    // Act
    const positive = toPositive(n);

    // Assess
    expect(positive).toBe(expected);
  });
});

describe('partitionForKey', () => {
  // toPositive(murmur2(key)) of Kafka's vectors above, modulo several partition counts.
  it.each([
    ['21', [0, 0, 0, 0, 40, 340]],
    ['foobar', [0, 0, 0, 6, 66, 166]],
    ['a-little-bit-long-string', [0, 2, 2, 8, 12, 112]],
    ['a-little-bit-longer-string', [0, 2, 5, 11, 19, 819]],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', [0, 2, 5, 5, 77, 677]],
  ])('puts %j where Kafka would with 1, 3, 6, 12, 100 and 1000 partitions', (key, expected) => {
    // Prepare
    const counts = [1, 3, 6, 12, 100, 1000];

    // Act
    const partitions = counts.map((count) => partitionForKey(utf8(key), count));

    // Assess
    expect(partitions).toEqual(expected);
  });

  // Partitions the Java producer chose with 1000 partitions, as quoted by kafka-python's
  // test_murmur2_java_compatibility.
  it.each([
    ['', 681],
    ['a', 524],
    ['ab', 434],
    ['abc', 107],
    ['123456789', 566],
    ['\u0000 ', 742],
  ])('puts %j in partition %i of 1000 as the Java producer does', (key, expected) => {
    // Act
    const partition = partitionForKey(utf8(key), 1000);

    // Assess
    expect(partition).toBe(expected);
  });

  it('gives the same key the same partition every time, within range', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 1, max: 10_000 }), (key, count) => {
        // Prepare
        const copy = Uint8Array.from(key);

        // Act
        const first = partitionForKey(key, count);
        const second = partitionForKey(copy, count);

        // Assess
        expect(second).toBe(first);
        expect(Number.isInteger(first) && first >= 0 && first < count).toBe(true);
      }),
    );
  });

  it.each([0, -1, 1.5, Number.NaN])('fails when the partition count is %d', (count) => {
    // Act
    const act = () => partitionForKey(utf8('key'), count);

    // Assess
    expect(act).toThrow(RangeError);
  });
});

describe('assignKeylessPartitions', () => {
  it('moves to the next partition once a partition received stickyBatchBytes', () => {
    // Prepare
    const sizes = [6000, 6000, 6000, 9000, 9000, 500];
    const pickPartition2 = () => 0.5;

    // Act
    const partitions = assignKeylessPartitions(sizes, 4, pickPartition2, 16_384);

    // Assess
    expect(partitions).toEqual([2, 2, 2, 3, 3, 0]);
  });

  it('keeps a request smaller than stickyBatchBytes in one partition', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2_000 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 64 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (sizes, count, draw) => {
          // Act
          const partitions = assignKeylessPartitions(sizes, count, () => draw);

          // Assess
          expect(new Set(partitions).size).toBe(1);
        },
      ),
    );
  });

  it('fills each partition up to stickyBatchBytes, then the next one round robin', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 5_000 }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 20_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (sizes, count, stickyBytes, draw) => {
          // Act
          const partitions = assignKeylessPartitions(sizes, count, () => draw, stickyBytes);

          // Assess: cut into runs of equal partitions; each full run reached stickyBytes only with its last record
          expect(partitions).toHaveLength(sizes.length);
          let runBytes = 0;
          for (let i = 0; i < sizes.length; i++) {
            const size = sizes[i] as number;
            const next = partitions[i + 1];
            expect(partitions[i]).toBeGreaterThanOrEqual(0);
            expect(partitions[i]).toBeLessThan(count);
            runBytes += size;
            if (next === undefined) break;
            if (runBytes >= stickyBytes) {
              expect(next).toBe(((partitions[i] as number) + 1) % count);
              runBytes = 0;
            } else {
              expect(next).toBe(partitions[i]);
            }
          }
        },
      ),
    );
  });

  it('spreads keyless bytes evenly over partitions across many requests', () => {
    // Prepare
    const random = seededRandom(7);
    const partitionCount = 6;
    const bytesByPartition = new Array<number>(partitionCount).fill(0);
    let totalBytes = 0;

    // Act
    for (let request = 0; request < 20_000; request++) {
      const sizes = Array.from(
        { length: 1 + Math.floor(random() * 50) },
        () => 50 + Math.floor(random() * 2_000),
      );
      const partitions = assignKeylessPartitions(sizes, partitionCount, random);
      partitions.forEach((partition, i) => {
        const size = sizes[i] as number;
        bytesByPartition[partition] = (bytesByPartition[partition] as number) + size;
        totalBytes += size;
      });
    }

    // Assess: each share within 5% (relative) of 1/6
    for (const bytes of bytesByPartition) {
      expect(Math.abs(bytes / totalBytes - 1 / partitionCount)).toBeLessThan(0.05 / partitionCount);
    }
  });

  it('uses the default sticky batch size of Kafka (16 KiB)', () => {
    // Prepare
    const sizes = [STICKY_BATCH_BYTES - 1, 1, 1];

    // Act
    const partitions = assignKeylessPartitions(sizes, 3, () => 0);

    // Assess
    expect(partitions).toEqual([0, 0, 1]);
  });

  it('returns no partitions for no records', () => {
    // Act
    const partitions = assignKeylessPartitions([], 3, () => 0.3);

    // Assess
    expect(partitions).toEqual([]);
  });

  it('stays in range when random returns its largest value', () => {
    // Act
    const partitions = assignKeylessPartitions([10], 5, () => 1 - Number.EPSILON);

    // Assess
    expect(partitions).toEqual([4]);
  });

  it('fails when the partition count is not a positive integer', () => {
    // Act
    const act = () => assignKeylessPartitions([10], 0, () => 0);

    // Assess
    expect(act).toThrow(RangeError);
  });

  it('fails when stickyBatchBytes is not a positive integer', () => {
    // Act
    const act = () => assignKeylessPartitions([10], 3, () => 0, 0);

    // Assess
    expect(act).toThrow(RangeError);
  });
});

describe('assignKeylessPartitions at its bounds', () => {
  it('stays in range even when random returns 1, outside its contract', () => {
    // Act
    const partitions = assignKeylessPartitions([10, 10], 5, () => 1, 10);

    // Assess
    expect(partitions).toEqual([4, 0]);
  });

  it('moves on after every record when stickyBatchBytes is 1', () => {
    // Act
    const partitions = assignKeylessPartitions([1, 1, 1, 1], 3, () => 0, 1);

    // Assess
    expect(partitions).toEqual([0, 1, 2, 0]);
  });

  it.each([1.5, Number.NaN, 2 ** 53, -1])('fails when stickyBatchBytes is %d, naming it', (sticky) => {
    // Act
    const act = () => assignKeylessPartitions([10], 3, () => 0, sticky);

    // Assess
    expect(act).toThrow(new RangeError(`stickyBatchBytes must be a positive integer, got ${sticky}`));
  });

  it.each([2.5, 2 ** 53, 0])('fails when the partition count is %d, naming it', (count) => {
    // Act
    const act = () => assignKeylessPartitions([10], count, () => 0);

    // Assess
    expect(act).toThrow(new RangeError(`partitionCount must be a positive integer, got ${count}`));
  });
});
