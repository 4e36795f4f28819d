/**
 * `Archiver.archivePartition` on the in-memory ports with a manual clock: the segments it writes
 * (contiguous, named by their range, readable by a fetch once DynamoDB dropped the batches), when a
 * run rolls (size, time, a TTL coming due, its bounds), what a warm archiver remembers of a tail
 * that is not ready, the batches TTL deleted and the stream rescued (archived, then cleaned up, and
 * only those), and the races: a rival archiver, a produce holding the head.
 */
import { describe, expect, it } from 'vitest';
import { FRAME_HEADER_BYTES_MAX } from '../../shared/domain/segment-format.js';
import { segmentKey } from '../../shared/domain/segment-keys.js';
import type { SegmentEntry } from '../../shared/ports/segment-archive.js';
import { archiveWorld, T0 } from '../support/archive-world.js';

const SEGMENT_MS = 60_000;
const MINUTE = 60_000;

/** Segments from offset 0, each starting where the previous one ended, up to `archivedOffset`. */
function expectContiguous(entries: readonly SegmentEntry[], archivedOffset: number): void {
  expect(entries.map((entry) => entry.baseOffset)).toEqual([
    0,
    ...entries.slice(0, -1).map((entry) => entry.lastOffset + 1),
  ]);
  expect(entries.at(-1)?.lastOffset).toBe(archivedOffset - 1);
}

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

describe('a segment', () => {
  it('holds a run segmentMs old, named by its range, tagged with its class, and reads back the same', async () => {
    const w = await archiveWorld({ segmentMs: SEGMENT_MS });
    await w.produce(['a', 'b']);
    w.clock.advance(10);
    await w.produce(['c']);
    await w.produce(['d', 'e', 'f']);
    const hot = await w.hotBatches();
    const batchBytes = sum(hot.map((batch) => batch.data.byteLength));
    w.clock.advance(SEGMENT_MS);
    const topic = await w.topic();

    const report = await w.archiver().archivePartition(topic, 0);

    const entries = await w.entries();
    const entry = entries[0] as SegmentEntry;
    expect(report).toEqual({
      topic: 't',
      partition: 0,
      segments: 1,
      records: 6,
      batches: 3,
      batchBytes,
      objectBytes: entry.objectBytes,
      rescuedBatches: 0,
      lostRaces: 0,
      deletedSegments: 0,
      retaggedSegments: 0,
      archivedOffset: 6,
      logStartOffset: 0,
    });
    expect(entries).toEqual([
      {
        baseOffset: 0,
        lastOffset: 5,
        key: segmentKey(topic.topicId, 0, 0, 5),
        objectBytes: entry.objectBytes,
        indexPosition: entry.indexPosition,
        batchBytes,
        maxTimestampSoFar: T0 + 10,
        archivedAt: T0 + 10 + SEGMENT_MS,
        retentionClassDays: 8,
      },
    ]);
    expect(w.objects.keys()).toEqual([entry.key]);
    expect(w.objects.tagsOf(entry.key)).toEqual({ 'shoal-retention-days': '8' });
    // The recorded size is the object's: one byte more is past its end.
    await w.objects.readRange(entry.key, 0, entry.objectBytes);
    await expect(w.objects.readRange(entry.key, 0, entry.objectBytes + 1)).rejects.toThrow(/past the end/);
    expect(entry.indexPosition).toBeGreaterThan(batchBytes);
    expect(await w.head()).toMatchObject({
      archivedOffset: 6,
      archivedBytes: batchBytes,
      retentionClassFloorDays: 8,
    });
    w.log.deleteExpired(Number.MAX_SAFE_INTEGER);
    expect(await w.fetchValues()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  it('carries no lifecycle tag on a topic kept forever', async () => {
    const w = await archiveWorld({ segmentMs: SEGMENT_MS, retentionMs: -1 });
    await w.produce(['a']);
    w.clock.advance(SEGMENT_MS);

    await w.archiver().archivePartition(await w.topic(), 0);

    const [entry] = await w.entries();
    expect(entry?.retentionClassDays).toBe(1_000_000);
    expect(w.objects.tagsOf(entry?.key ?? '')).toEqual({});
  });

  it('counts the records of batches of several records each', async () => {
    const w = await archiveWorld({ segmentMs: SEGMENT_MS });
    await w.produce(['a', 'b', 'c']);
    const topic = await w.topic();
    w.clock.advance(SEGMENT_MS);
    await w.archiver().archivePartition(topic, 0);
    await w.produce(['d', 'e']);
    await w.produce(['f', 'g', 'h', 'i']);
    w.clock.advance(SEGMENT_MS);

    const report = await w.archiver().archivePartition(topic, 0);

    expect(report).toMatchObject({ segments: 1, batches: 2, records: 6, archivedOffset: 9 });
    expectContiguous(await w.entries(), 9);
  });
});

describe('when a run rolls', () => {
  it('rolls full segments by size at once and leaves the young rest in DynamoDB', async () => {
    const w = await archiveWorld({ segmentMs: SEGMENT_MS, segmentBytes: 1024 });
    const values: string[] = [];
    for (let seed = 1; seed <= 10; seed++) values.push(await w.produceBytes(300, seed));
    const hot = await w.hotBatches();
    // Two batches with their frames fit a segment, a third does not.
    const frame = (hot[0]?.data.byteLength ?? 0) + FRAME_HEADER_BYTES_MAX;
    expect(2 * frame).toBeLessThanOrEqual(1024);
    expect(3 * frame).toBeGreaterThan(1024);

    const report = await w.archiver().archivePartition(await w.topic(), 0);

    const entries = await w.entries();
    expect(report).toMatchObject({ segments: 4, batches: 8, records: 8, archivedOffset: 8 });
    expectContiguous(entries, 8);
    expect(entries.map((entry) => entry.lastOffset - entry.baseOffset + 1)).toEqual([2, 2, 2, 2]);
    w.log.deleteExpired(Number.MAX_SAFE_INTEGER);
    // Only the segments hold the records now.
    const fetched = await w.service.fetch('t', 0, 0, { recordsMax: 8, bytesMax: 1e8, waitMs: 0 });
    expect(fetched.records.map((r) => Buffer.from(r.value?.bytes ?? []).toString('latin1'))).toEqual(
      values.slice(0, 8),
    );
  });

  it('rolls at most segmentsPerPartitionMax segments of a partition per run', async () => {
    const w = await archiveWorld({ segmentMs: SEGMENT_MS, segmentBytes: 1024 });
    for (let seed = 1; seed <= 10; seed++) await w.produceBytes(300, seed);
    const archiver = w.archiver({ segmentsPerPartitionMax: 3 });
    const topic = await w.topic();

    const first = await archiver.archivePartition(topic, 0);
    const second = await archiver.archivePartition(topic, 0);
    const third = await archiver.archivePartition(topic, 0);

    expect([first.segments, second.segments, third.segments]).toEqual([3, 1, 0]);
    expect([first.archivedOffset, second.archivedOffset]).toEqual([6, 8]);
    expectContiguous(await w.entries(), 8);
  });

  it('puts at most batchesPerSegmentMax batches in one segment', async () => {
    const w = await archiveWorld({ segmentMs: SEGMENT_MS });
    for (let i = 0; i < 7; i++) await w.produce([`r${i}`]);
    w.clock.advance(SEGMENT_MS);

    const report = await w.archiver({ batchesPerSegmentMax: 3 }).archivePartition(await w.topic(), 0);

    const entries = await w.entries();
    expect(report.segments).toBe(3);
    expect(entries.map((entry) => [entry.baseOffset, entry.lastOffset])).toEqual([
      [0, 2],
      [3, 5],
      [6, 6],
    ]);
  });

  it('waits until the first batch is segmentMs old', async () => {
    const w = await archiveWorld({ segmentMs: SEGMENT_MS });
    await w.produce(['a']);
    const topic = await w.topic();
    w.clock.advance(SEGMENT_MS - 1);

    const young = await w.archiver().archivePartition(topic, 0);
    w.clock.advance(1);
    const due = await w.archiver().archivePartition(topic, 0);

    expect([young.segments, due.segments]).toEqual([0, 1]);
    expect(young.archivedOffset).toBe(0);
    expect(w.objects.keys()).toHaveLength(1);
  });

  it('rolls a young run once its TTL is due within expiryMarginMs', async () => {
    const w = await archiveWorld({ segmentMs: 3_600_000, localRetentionMs: 20 * MINUTE });
    await w.produce(['a']);
    const topic = await w.topic();
    const archiver = w.archiver({ expiryMarginMs: 10 * MINUTE });

    w.clock.advance(10 * MINUTE - 1);
    const early = await archiver.archivePartition(topic, 0);
    w.clock.advance(1);
    const due = await archiver.archivePartition(topic, 0);

    expect([early.segments, due.segments]).toEqual([0, 1]);
    expect(due.archivedOffset).toBe(1);
  });

  it('rolls the batches before one segmentMs newer than the first, and leaves that one', async () => {
    const w = await archiveWorld({ segmentMs: SEGMENT_MS });
    await w.produce(['a'], 0, T0);
    await w.produce(['b'], 0, T0 + SEGMENT_MS - 1);
    await w.produce(['c'], 0, T0 + SEGMENT_MS);

    const report = await w.archiver().archivePartition(await w.topic(), 0);

    expect(report).toMatchObject({ segments: 1, archivedOffset: 2 });
    expect((await w.entries()).map((entry) => entry.lastOffset)).toEqual([1]);
  });
});

describe('a tail that is not ready to roll', () => {
  it('is not read again by a warm archiver: only the batches appended since are', async () => {
    const w = await archiveWorld({ segmentMs: SEGMENT_MS });
    const topic = await w.topic();
    const archiver = w.archiver();
    await w.produce(['a']);
    await archiver.archivePartition(topic, 0);
    w.log.batchReads.length = 0;

    await archiver.archivePartition(topic, 0);
    const idle = w.log.batchReads.length;
    await w.produce(['b']);
    w.clock.advance(SEGMENT_MS - 1);
    await archiver.archivePartition(topic, 0);
    const afterAppend = w.log.batchReads.map((read) => read.fromOffset);

    expect(idle).toBe(0);
    expect(afterAppend).toEqual([1]);
    expect((await w.head()).archivedOffset).toBe(0);
  });

  it('rolls as soon as its first batch is segmentMs old, with what was appended since', async () => {
    const w = await archiveWorld({ segmentMs: SEGMENT_MS });
    const topic = await w.topic();
    const archiver = w.archiver();
    await w.produce(['a']);
    await archiver.archivePartition(topic, 0);
    w.clock.advance(10);
    await w.produce(['b']);
    await archiver.archivePartition(topic, 0);
    w.clock.advance(SEGMENT_MS - 11);
    const before = await archiver.archivePartition(topic, 0);
    w.clock.advance(1);

    const report = await archiver.archivePartition(topic, 0);

    expect([before.segments, report.segments]).toEqual([0, 1]);
    expect(report.archivedOffset).toBe(2);
    expect(await w.fetchValues()).toEqual(['a', 'b']);
  });

  it('rolls once its TTL is due within the margin, though nothing was appended since', async () => {
    const w = await archiveWorld({ segmentMs: 3_600_000, localRetentionMs: 20 * MINUTE });
    const topic = await w.topic();
    const archiver = w.archiver({ expiryMarginMs: 10 * MINUTE });
    await w.produce(['a']);
    await archiver.archivePartition(topic, 0);
    w.clock.advance(5 * MINUTE);
    await w.produce(['b']);
    await archiver.archivePartition(topic, 0);
    w.clock.advance(5 * MINUTE - 1);
    const before = await archiver.archivePartition(topic, 0);
    w.clock.advance(1);

    const report = await archiver.archivePartition(topic, 0);

    expect([before.segments, report.segments]).toEqual([0, 1]);
    expect(report.archivedOffset).toBe(2);
  });

  it('rolls by size as soon as the batches appended since fill a segment', async () => {
    const w = await archiveWorld({ segmentMs: SEGMENT_MS, segmentBytes: 1024 });
    const topic = await w.topic();
    const warm = w.archiver();
    const rolledAt: number[] = [];
    for (let seed = 1; seed <= 7; seed++) {
      await w.produceBytes(300, seed);
      const report = await warm.archivePartition(topic, 0);
      if (report.segments > 0) rolledAt.push(seed);
    }

    // A segment takes two batches and rolls when the third arrives.
    expect(rolledAt).toEqual([3, 5, 7]);
    expectContiguous(await w.entries(), 6);
    expect((await w.entries()).map((entry) => entry.lastOffset)).toEqual([1, 3, 5]);
  });

  it('rolls by count once the batches appended since pass batchesPerSegmentMax', async () => {
    const w = await archiveWorld({ segmentMs: SEGMENT_MS });
    const topic = await w.topic();
    const warm = w.archiver({ batchesPerSegmentMax: 3 });
    const segments: number[] = [];
    for (let i = 0; i < 5; i++) {
      await w.produce([`r${i}`]);
      segments.push((await warm.archivePartition(topic, 0)).segments);
    }

    expect(segments).toEqual([0, 0, 0, 1, 0]);
    expect((await w.entries()).map((entry) => [entry.baseOffset, entry.lastOffset])).toEqual([[0, 2]]);
  });

  it('rolls by time once a batch appended since is segmentMs newer than the first', async () => {
    const w = await archiveWorld({ segmentMs: SEGMENT_MS });
    const topic = await w.topic();
    const warm = w.archiver();
    await w.produce(['a'], 0, T0);
    await warm.archivePartition(topic, 0);
    await w.produce(['b'], 0, T0 + SEGMENT_MS - 1);
    const before = await warm.archivePartition(topic, 0);
    await w.produce(['c'], 0, T0 + SEGMENT_MS);

    const report = await warm.archivePartition(topic, 0);

    expect([before.segments, report.segments]).toEqual([0, 1]);
    expect(report.archivedOffset).toBe(2);
  });

  it('is read afresh once another archiver archived part of it', async () => {
    const w = await archiveWorld({ segmentMs: SEGMENT_MS, localRetentionMs: 20 * MINUTE });
    const topic = await w.topic();
    const warm = w.archiver();
    await w.produce(['a']);
    await warm.archivePartition(topic, 0);
    // A rival whose margin covers every TTL rolls the young run at once.
    await w.archiver({ expiryMarginMs: 3_600_000 }).archivePartition(topic, 0);
    w.clock.advance(30_000);
    await w.produce(['b']);
    w.log.batchReads.length = 0;
    w.clock.advance(SEGMENT_MS - 30_000);

    const report = await warm.archivePartition(topic, 0);

    // b is 30 s young: nothing rolls, and the read starts at the new archivedOffset.
    expect(report.segments).toBe(0);
    expect(w.log.batchReads.map((read) => read.fromOffset)).toEqual([1]);
  });
});

describe('batches TTL deleted before they were archived', () => {
  const TTL = 20 * MINUTE;

  it('are archived from the rescue area, and their rescued copies deleted', async () => {
    const w = await archiveWorld({ segmentMs: 3_600_000, localRetentionMs: TTL });
    await w.produce(['a', 'b']);
    await w.produce(['c']);
    await w.produce(['d']);
    w.clock.advance(TTL + 1_000);
    expect(await w.expireAndRescue(w.clock.now())).toBe(3);
    expect(await w.objects.listRescued((await w.topic()).topicId, 0, 100, 100)).toEqual([0, 2, 3]);

    const report = await w.archiver().archivePartition(await w.topic(), 0);

    expect(report).toMatchObject({
      segments: 1,
      batches: 3,
      records: 4,
      rescuedBatches: 3,
      archivedOffset: 4,
    });
    expect(await w.objects.listRescued((await w.topic()).topicId, 0, 100, 100)).toEqual([]);
    expect(await w.fetchValues()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('end a segment at a deleted batch the rescue has not stored yet, and join it once it has', async () => {
    const w = await archiveWorld({ segmentMs: 3_600_000, localRetentionMs: TTL });
    const topic = await w.topic();
    await w.produce(['a']);
    w.clock.advance(MINUTE);
    await w.produce(['b']);
    w.clock.advance(TTL - MINUTE + 1_000);
    // a is deleted, its stream record not handled yet; b is still hot (its TTL 1 minute later).
    const deleted = w.log.deleteExpired(w.clock.now());
    expect(deleted.map(({ batch }) => batch.baseOffset)).toEqual([0]);

    const waiting = await w.archiver().archivePartition(topic, 0);
    await w.rescuer.rescue(
      deleted.map(({ topicId, partition, batch }) => ({
        topicId,
        partition,
        baseOffset: batch.baseOffset,
        lastOffset: batch.lastOffset,
        maxTimestampSoFar: batch.maxTimestampSoFar,
        data: batch.data,
      })),
    );
    const joined = await w.archiver().archivePartition(topic, 0);

    expect(waiting).toMatchObject({ segments: 0, archivedOffset: 0 });
    expect(w.objects.keys()).toEqual([segmentKey(topic.topicId, 0, 0, 1)]);
    expect(joined).toMatchObject({ segments: 1, batches: 2, rescuedBatches: 1, archivedOffset: 2 });
    expect(await w.objects.listRescued(topic.topicId, 0, 100, 100)).toEqual([]);
    expect(await w.fetchValues()).toEqual(['a', 'b']);
  });

  it('keep the rescued copies of batches not archived yet', async () => {
    const w = await archiveWorld({ segmentMs: 3_600_000, localRetentionMs: TTL });
    const topic = await w.topic();
    for (const value of ['a', 'b', 'c']) await w.produce([value]);
    w.clock.advance(TTL + 1_000);
    await w.expireAndRescue(w.clock.now());

    const report = await w
      .archiver({ batchesPerSegmentMax: 1, segmentsPerPartitionMax: 1 })
      .archivePartition(topic, 0);

    expect(report).toMatchObject({ segments: 1, rescuedBatches: 1, archivedOffset: 1 });
    expect(await w.objects.listRescued(topic.topicId, 0, 100, 100)).toEqual([1, 2]);
    expect(await w.fetchValues()).toEqual(['a', 'b', 'c']);
  });

  it('are cleaned up at most rescueCleanupMax after a segment', async () => {
    const w = await archiveWorld({ segmentMs: 3_600_000, localRetentionMs: TTL });
    const topic = await w.topic();
    for (const value of ['a', 'b', 'c']) await w.produce([value]);
    w.clock.advance(TTL + 1_000);
    await w.expireAndRescue(w.clock.now());

    await w.archiver({ rescueCleanupMax: 2 }).archivePartition(topic, 0);

    expect(await w.objects.listRescued(topic.topicId, 0, 100, 100)).toEqual([2]);
  });

  it('are cleaned up when the TTL deleted and the stream rescued a batch while the archiver copied it', async () => {
    const w = await archiveWorld({ segmentMs: 3_600_000, localRetentionMs: TTL });
    const topic = await w.topic();
    await w.produce(['a']);
    w.clock.advance(TTL + 1_000);
    // Read from DynamoDB (expired, not deleted yet); deleted and rescued before the segment is recorded.
    w.manifest.beforeRecord = async () => {
      await w.expireAndRescue(w.clock.now());
    };

    const report = await w.archiver().archivePartition(topic, 0);

    expect(report).toMatchObject({ segments: 1, rescuedBatches: 0, archivedOffset: 1 });
    expect(w.objects.rescueListings).toBe(1);
    expect(await w.objects.listRescued(topic.topicId, 0, 100, 100)).toEqual([]);
  });

  it('are not looked for after a segment of batches far from their TTL', async () => {
    const w = await archiveWorld({ segmentMs: SEGMENT_MS });
    await w.produce(['a']);
    w.clock.advance(SEGMENT_MS);

    const report = await w.archiver().archivePartition(await w.topic(), 0);

    expect(report.segments).toBe(1);
    expect(w.objects.rescueListings).toBe(0);
  });
});

describe('races', () => {
  it('keeps the object a rival archiver recorded first for the same range, and counts the lost race', async () => {
    const w = await archiveWorld({ segmentMs: SEGMENT_MS });
    const topic = await w.topic();
    await w.produce(['a']);
    await w.produce(['b']);
    w.clock.advance(SEGMENT_MS);
    w.manifest.beforeRecord = async () => {
      await w.archiver().archivePartition(topic, 0);
    };

    const report = await w.archiver().archivePartition(topic, 0);

    expect(report).toMatchObject({ segments: 0, lostRaces: 1, archivedOffset: 2 });
    const entries = await w.entries();
    expect(entries.map((entry) => entry.key)).toEqual([segmentKey(topic.topicId, 0, 0, 1)]);
    expect(w.objects.keys()).toEqual([segmentKey(topic.topicId, 0, 0, 1)]);
    w.log.deleteExpired(Number.MAX_SAFE_INTEGER);
    expect(await w.fetchValues()).toEqual(['a', 'b']);
  });

  it('deletes its own object when a rival recorded another range first, and archives on from there', async () => {
    const w = await archiveWorld({ segmentMs: SEGMENT_MS });
    const topic = await w.topic();
    for (const value of ['a', 'b', 'c']) await w.produce([value]);
    w.clock.advance(SEGMENT_MS);
    w.manifest.beforeRecord = async () => {
      await w.archiver({ batchesPerSegmentMax: 1, segmentsPerPartitionMax: 1 }).archivePartition(topic, 0);
    };

    const report = await w.archiver().archivePartition(topic, 0);

    expect(report).toMatchObject({ segments: 1, lostRaces: 1, archivedOffset: 3 });
    const keys = [segmentKey(topic.topicId, 0, 0, 0), segmentKey(topic.topicId, 0, 1, 2)];
    expect((await w.entries()).map((entry) => entry.key)).toEqual(keys);
    expect(w.objects.keys()).toEqual(keys);
    w.log.deleteExpired(Number.MAX_SAFE_INTEGER);
    expect(await w.fetchValues()).toEqual(['a', 'b', 'c']);
  });

  it('tries again when a produce held the head, up to three times in a row', async () => {
    const w = await archiveWorld({ segmentMs: SEGMENT_MS });
    const topic = await w.topic();
    await w.produce(['a']);
    w.clock.advance(SEGMENT_MS);
    w.manifest.answers.push('conflict', 'conflict');

    const report = await w.archiver().archivePartition(topic, 0);

    expect(report).toMatchObject({ segments: 1, lostRaces: 0, archivedOffset: 1 });
    expect(w.manifest.recordCalls).toHaveLength(3);
  });

  it('leaves the partition for the next run after three conflicts in a row', async () => {
    const w = await archiveWorld({ segmentMs: SEGMENT_MS });
    const topic = await w.topic();
    await w.produce(['a']);
    w.clock.advance(SEGMENT_MS);
    w.manifest.answers.push('conflict', 'conflict', 'conflict');

    const report = await w.archiver().archivePartition(topic, 0);
    const next = await w.archiver().archivePartition(topic, 0);

    expect(report).toMatchObject({ segments: 0, lostRaces: 0, archivedOffset: 0 });
    expect(w.manifest.recordCalls).toHaveLength(4);
    expect(next).toMatchObject({ segments: 1, archivedOffset: 1 });
  });

  it('counts conflicts per segment: each segment gets its three tries', async () => {
    const w = await archiveWorld({ segmentMs: SEGMENT_MS });
    const topic = await w.topic();
    await w.produce(['a']);
    await w.produce(['b']);
    w.clock.advance(SEGMENT_MS);
    // Two conflicts, recorded; two conflicts, recorded.
    w.manifest.answers.push('conflict', 'conflict', undefined, 'conflict', 'conflict');

    const report = await w.archiver({ batchesPerSegmentMax: 1 }).archivePartition(topic, 0);

    expect(report).toMatchObject({ segments: 2, archivedOffset: 2 });
    expect(w.manifest.recordCalls).toHaveLength(6);
  });
});
