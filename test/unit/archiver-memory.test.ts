/**
 * The archiver cannot run out of memory at the largest allowed settings (issue 18): four partitions
 * archived at once, each holding up to a segment of `segmentBytesMax` (256 MiB) of batches plus the
 * segment encoded from them, would hold over 2 GiB in a 2,048 MB function. Each partition reserves
 * its working set from a byte budget (60% of the function's memory) before it reads, so at most
 * two such partitions run at once, and what a segment really holds stays within its reservation.
 * In-memory ports: the bound is a property of the domain code, not of DynamoDB or S3.
 */
import { describe, expect, it } from 'vitest';
import { workingBytesFor } from '../../functions/archive-segments.js';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemorySegmentManifest } from '../../shared/adapters/memory/segment-manifest.js';
import { MemorySegmentObjects } from '../../shared/adapters/memory/segment-objects.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import { Archiver, type ArchiverOptions, segmentWorkingBytes } from '../../shared/domain/archiver.js';
import { ByteBudget } from '../../shared/domain/byte-budget.js';
import { LIMITS } from '../../shared/domain/limits.js';
import { type Topic, type TopicConfig, withConfigDefaults } from '../../shared/domain/topic.js';
import { manualClock } from '../support/manual-clock.js';

const MiB = 1024 * 1024;
const T0 = 1_700_000_000_000;
const FUNCTION_MEMORY_MB = 2048;

async function deployment(config: Partial<TopicConfig>, options: ArchiverOptions) {
  const clock = manualClock(T0);
  const topics = new MemoryTopicStore();
  const log = new MemoryPartitionLog({ now: clock.now });
  const manifest = new MemorySegmentManifest(log.heads);
  const objects = new MemorySegmentObjects();
  const topic: Topic = {
    name: 'archived',
    topicId: 'topic-1',
    partitionCount: 4,
    config: withConfigDefaults({ retentionMs: 7 * 86_400_000, ...config }),
    createdAt: T0,
  };
  await topics.create(topic);
  const archiver = new Archiver(topics, log, manifest, objects, clock, { concurrency: 4, ...options });
  /** Appends one batch of `recordCount` records of `bytes` stored bytes to each partition. */
  const appendEach = async (baseOffset: number, recordCount: number, bytes: number) => {
    for (let partition = 0; partition < topic.partitionCount; partition++) {
      const [head] = await log.readHeads(topic, [partition]);
      const outcome = await log.append({
        topic,
        appendId: `append-${partition}-${baseOffset}`,
        expectedHeads: [head as NonNullable<typeof head>],
        batches: [
          {
            partition,
            baseOffset,
            recordCount,
            // The archiver copies stored bytes without decoding them.
            data: new Uint8Array(bytes).fill(partition + 1),
            maxTimestampSoFar: clock.now(),
            expiresAt: clock.now() + topic.config.localRetentionMs,
          },
        ],
      });
      expect(outcome.kind).toBe('appended');
    }
  };
  return { clock, topic, log, manifest, archiver, appendEach };
}

describe('the archiver at the largest segment size', () => {
  it('archives four partitions of 256 MiB segments two at a time in a 2,048 MB function', async () => {
    const workingBytesMax = workingBytesFor(String(FUNCTION_MEMORY_MB)) as number;
    const { clock, topic, log, archiver, appendEach } = await deployment(
      { segmentBytes: LIMITS.segmentBytesMax, segmentMs: 60_000 },
      { workingBytesMax },
    );
    const working = segmentWorkingBytes(topic);
    // Without the budget four partitions would reserve more than the function has.
    expect(4 * working).toBeGreaterThan(FUNCTION_MEMORY_MB * MiB);
    expect(2 * working).toBeLessThanOrEqual(workingBytesMax);
    expect(3 * working).toBeGreaterThan(workingBytesMax);

    await appendEach(0, 10, 64 * 1024);
    clock.advance(topic.config.segmentMs);
    const report = await archiver.run();

    expect(report.errors).toEqual([]);
    expect(report.partitions.map((partition) => partition.segments)).toEqual([1, 1, 1, 1]);
    const heads = await log.readHeads(topic, [0, 1, 2, 3]);
    expect(heads.map((head) => head.archivedOffset)).toEqual([10, 10, 10, 10]);
    // Two partitions held their reservations at once, and never a third.
    expect(report.workingBytesPeak).toBe(2 * working);
  });

  it('runs a partition alone when its working set is larger than the whole budget', async () => {
    const { clock, topic, archiver, appendEach } = await deployment(
      { segmentBytes: LIMITS.segmentBytesMax, segmentMs: 60_000 },
      { workingBytesMax: 100 * MiB },
    );
    await appendEach(0, 3, 1024);
    clock.advance(topic.config.segmentMs);
    const report = await archiver.run();

    expect(report.partitions.map((partition) => partition.segments)).toEqual([1, 1, 1, 1]);
    expect(report.workingBytesPeak).toBe(100 * MiB);
  });
});

describe('what one segment holds', () => {
  it('stays within its reservation when a segment rolls by size', async () => {
    const { topic, archiver, appendEach } = await deployment(
      { segmentBytes: 1 * MiB, segmentMs: 3_600_000 },
      { workingBytesMax: 64 * MiB },
    );
    for (let index = 0; index < 6; index++) await appendEach(index * 10, 10, 300_000);
    const report = await archiver.run();

    expect(report.partitions.every((partition) => partition.segments >= 1)).toBe(true);
    // Candidates (up to the segment size plus the batch that crosses it) and the encoded segment.
    expect(report.segmentHeldBytesMax).toBeGreaterThan(2 * MiB);
    expect(report.segmentHeldBytesMax).toBeLessThanOrEqual(segmentWorkingBytes(topic));
  });

  it('stays within its reservation for the largest stored batch in the smallest segment', async () => {
    const largest = LIMITS.recordBytesMax + LIMITS.recordInlineBytesMax;
    const { clock, topic, archiver, appendEach } = await deployment(
      { segmentBytes: LIMITS.segmentBytesMin, segmentMs: 1_000 },
      { workingBytesMax: 512 * MiB },
    );
    await appendEach(0, 1, largest);
    clock.advance(topic.config.segmentMs);
    const report = await archiver.run();

    expect(report.partitions.map((partition) => partition.segments)).toEqual([1, 1, 1, 1]);
    expect(report.segmentHeldBytesMax).toBeGreaterThan(2 * largest);
    expect(report.segmentHeldBytesMax).toBeLessThanOrEqual(segmentWorkingBytes(topic));
  });
});

describe('ByteBudget', () => {
  it('grants in arrival order while reservations fit, and a release is counted once', async () => {
    const budget = new ByteBudget(100);
    const first = await budget.reserve(60);
    const granted: string[] = [];
    const second = budget.reserve(50).then((release) => {
      granted.push('second');
      return release;
    });
    // Fits now, but must not overtake the second, which waits.
    const third = budget.reserve(10).then((release) => {
      granted.push('third');
      return release;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(granted).toEqual([]);

    first();
    first();
    const releaseSecond = await second;
    const releaseThird = await third;
    expect(granted).toEqual(['second', 'third']);
    expect(budget.reservedBytes).toBe(60);
    releaseSecond();
    releaseThird();
    expect(budget.reservedBytes).toBe(0);
    expect(budget.peakBytes).toBe(60);
  });

  it('refuses a budget that is not a positive whole number of bytes', () => {
    expect(() => new ByteBudget(0)).toThrow(RangeError);
    expect(() => new ByteBudget(1.5)).toThrow(RangeError);
    expect(() => new ByteBudget(-100)).toThrow(RangeError);
    expect(() => new ByteBudget(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => new ByteBudget(Number.NaN)).toThrow(RangeError);
    expect(new ByteBudget(1).capacityBytes).toBe(1);
  });

  it('grants at once what fits exactly, and every waiter that fits when bytes come back', async () => {
    const budget = new ByteBudget(100);
    const first = await budget.reserve(60);
    const granted: number[] = [];
    const track = (bytes: number) =>
      budget.reserve(bytes).then((release) => {
        granted.push(bytes);
        return release;
      });
    const exact = track(40);
    await new Promise((resolve) => setImmediate(resolve));
    expect(granted).toEqual([40]);
    expect(budget.reservedBytes).toBe(100);

    const waiters = [track(70), track(30)];
    await new Promise((resolve) => setImmediate(resolve));
    expect(granted).toEqual([40]);
    first();
    (await exact)();
    await Promise.all(waiters);

    expect(granted).toEqual([40, 70, 30]);
    expect(budget.reservedBytes).toBe(100);
  });

  it('reserves whole bytes, nothing for a negative size, and at most the capacity', async () => {
    const budget = new ByteBudget(100);

    const fraction = await budget.reserve(10.2);
    expect(budget.reservedBytes).toBe(11);
    fraction();
    const negative = await budget.reserve(-5);
    expect(budget.reservedBytes).toBe(0);
    negative();
    const huge = await budget.reserve(1_000);
    expect(budget.reservedBytes).toBe(100);
    huge();
    expect(budget.reservedBytes).toBe(0);
  });

  it('lets a task larger than the budget run alone: others wait until it is done', async () => {
    const budget = new ByteBudget(100);
    const huge = await budget.reserve(1_000);
    let smallGranted = false;
    const small = budget.reserve(1).then((release) => {
      smallGranted = true;
      return release;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(smallGranted).toBe(false);

    huge();
    (await small)();

    expect(smallGranted).toBe(true);
    expect(budget.reservedBytes).toBe(0);
  });

  it('starts a new peak from what is reserved when reset', async () => {
    const budget = new ByteBudget(100);
    const first = await budget.reserve(80);
    first();
    const held = await budget.reserve(30);

    budget.resetPeak();
    expect(budget.peakBytes).toBe(30);
    const more = await budget.reserve(20);
    more();
    held();

    expect(budget.peakBytes).toBe(50);
  });

  it('derives the budget from the Lambda memory size, and none outside Lambda', () => {
    expect(workingBytesFor('2048')).toBe(Math.floor(2048 * MiB * 0.6));
    expect(workingBytesFor(undefined)).toBeUndefined();
    expect(workingBytesFor('')).toBeUndefined();
  });
});
