/**
 * Retention and retagging by `Archiver.archivePartition` on the in-memory ports with a manual
 * clock: the oldest segments go (by age or by size), logStartOffset moves past them and their
 * objects and entries are deleted, also after a crash in between or a lost race; after a retention
 * increase every live segment is moved to the longer lifecycle class, a bounded number per run, so
 * that S3's backstop never deletes what the topic now keeps.
 */
import { describe, expect, it } from 'vitest';
import { OffsetOutOfRangeError } from '../../shared/domain/errors.js';
import type { SegmentEntry } from '../../shared/ports/segment-archive.js';
import { type ArchiveWorld, archiveWorld, T0 } from '../support/archive-world.js';

const SEGMENT_MS = 1_000;
const RETENTION_MS = 60_000;
const DAY = 86_400_000;

/** Archives one segment of one record per value, `SEGMENT_MS` apart. */
async function segments(w: ArchiveWorld, values: readonly string[]): Promise<SegmentEntry[]> {
  const archiver = w.archiver();
  for (const value of values) {
    await w.produce([value]);
    w.clock.advance(SEGMENT_MS);
    const report = await archiver.archivePartition(await w.topic(), 0);
    expect(report.segments).toBe(1);
  }
  return w.entries();
}

describe('retention', () => {
  it('deletes the segments archived longer ago than retentionMs, and keeps the rest', async () => {
    const w = await archiveWorld({
      segmentMs: SEGMENT_MS,
      retentionMs: RETENTION_MS,
      localRetentionMs: RETENTION_MS,
    });
    const [first, second, third] = await segments(w, ['a', 'b', 'c']);
    if (!first || !second || !third) throw new Error('archived above');
    // The second segment was archived at T0 + 2 s: it is past retention 1 ms after T0 + 62 s.
    w.clock.advance(T0 + 2 * SEGMENT_MS + RETENTION_MS - w.clock.now());
    const archiver = w.archiver();

    const atLimit = await archiver.archivePartition(await w.topic(), 0);
    w.clock.advance(1);
    const past = await archiver.archivePartition(await w.topic(), 0);

    expect(atLimit).toMatchObject({ deletedSegments: 1, logStartOffset: 1 });
    expect(past).toMatchObject({ deletedSegments: 1, logStartOffset: 2, archivedOffset: 3 });
    expect(await w.entries()).toEqual([third]);
    expect(w.objects.keys()).toEqual([third.key]);
    expect(await w.head()).toMatchObject({ logStartOffset: 2, archivedBytes: third.batchBytes });
    expect(await w.fetchValues()).toEqual(['c']);
    await expect(
      w.service.fetch('t', 0, 1, { recordsMax: 1, bytesMax: 1e6, waitMs: 0 }),
    ).rejects.toBeInstanceOf(OffsetOutOfRangeError);
  });

  it('keeps the newest segments that still hold retentionBytes', async () => {
    const w = await archiveWorld({ segmentMs: SEGMENT_MS, retentionMs: -1, retentionBytes: 1024 });
    const archiver = w.archiver();
    for (let seed = 1; seed <= 4; seed++) {
      await w.produceBytes(400, seed);
      w.clock.advance(SEGMENT_MS);
      await archiver.archivePartition(await w.topic(), 0);
    }

    const entries = await w.entries();
    const head = await w.head();

    // Each segment holds over 400 bytes: three hold 1,024, two do not.
    expect(entries.map((entry) => entry.baseOffset)).toEqual([1, 2, 3]);
    expect(entries.slice(1).reduce((sum, entry) => sum + entry.batchBytes, 0)).toBeLessThan(1024);
    expect(head.archivedBytes).toBe(entries.reduce((sum, entry) => sum + entry.batchBytes, 0));
    expect(head.logStartOffset).toBe(1);
  });

  it('deletes nothing of a topic kept forever without a size bound', async () => {
    const w = await archiveWorld({ segmentMs: SEGMENT_MS, retentionMs: -1 });
    const entries = await segments(w, ['a', 'b']);
    w.clock.advance(10 * 365 * DAY);

    const report = await w.archiver().archivePartition(await w.topic(), 0);

    expect(report.deletedSegments).toBe(0);
    expect(await w.entries()).toEqual(entries);
  });

  it('reads the manifest a page at a time, deleting every expired segment in one run', async () => {
    const w = await archiveWorld({
      segmentMs: SEGMENT_MS,
      retentionMs: RETENTION_MS,
      localRetentionMs: RETENTION_MS,
    });
    const values = Array.from({ length: 19 }, (_, i) => `r${i}`);
    await segments(w, values);
    w.clock.advance(RETENTION_MS + 1);

    const report = await w.archiver().archivePartition(await w.topic(), 0);

    expect(report).toMatchObject({ deletedSegments: 19, logStartOffset: 19 });
    expect(await w.entries()).toEqual([]);
    expect(w.objects.keys()).toEqual([]);
  });

  it('deletes at most retentionEntriesMax segments per run, the oldest first', async () => {
    const w = await archiveWorld({
      segmentMs: SEGMENT_MS,
      retentionMs: RETENTION_MS,
      localRetentionMs: RETENTION_MS,
    });
    const entries = await segments(w, ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    w.clock.advance(RETENTION_MS + 1);
    const archiver = w.archiver({ retentionEntriesMax: 3 });

    const first = await archiver.archivePartition(await w.topic(), 0);
    const second = await archiver.archivePartition(await w.topic(), 0);

    expect([first.deletedSegments, second.deletedSegments]).toEqual([3, 3]);
    expect(await w.entries()).toEqual(entries.slice(6));
    expect(second.logStartOffset).toBe(6);
  });

  it('stops at the first segment it keeps', async () => {
    const w = await archiveWorld({
      segmentMs: SEGMENT_MS,
      retentionMs: RETENTION_MS,
      localRetentionMs: RETENTION_MS,
    });
    const entries = await segments(
      w,
      Array.from({ length: 12 }, (_, i) => `r${i}`),
    );
    // Past retention for the first ten segments only.
    w.clock.advance(T0 + 10 * SEGMENT_MS + RETENTION_MS + 1 - w.clock.now());

    const report = await w.archiver().archivePartition(await w.topic(), 0);

    expect(report).toMatchObject({ deletedSegments: 10, logStartOffset: 10 });
    expect(await w.entries()).toEqual(entries.slice(10));
  });

  it('deletes nothing when another archiver moved logStartOffset first', async () => {
    const w = await archiveWorld({
      segmentMs: SEGMENT_MS,
      retentionMs: RETENTION_MS,
      localRetentionMs: RETENTION_MS,
    });
    const entries = await segments(w, ['a', 'b']);
    w.clock.advance(RETENTION_MS + 1);
    w.manifest.refuseAdvance = true;

    const lost = await w.archiver().archivePartition(await w.topic(), 0);
    w.manifest.refuseAdvance = false;
    const next = await w.archiver().archivePartition(await w.topic(), 0);

    expect(lost).toMatchObject({ deletedSegments: 0, logStartOffset: 0 });
    expect(w.objects.keys()).toEqual([]);
    expect(next).toMatchObject({ deletedSegments: 2, logStartOffset: 2 });
    expect(entries).toHaveLength(2);
  });

  it('keeps every object while another archiver moved logStartOffset first', async () => {
    const w = await archiveWorld({
      segmentMs: SEGMENT_MS,
      retentionMs: RETENTION_MS,
      localRetentionMs: RETENTION_MS,
    });
    const entries = await segments(w, ['a', 'b']);
    w.clock.advance(RETENTION_MS + 1);
    w.manifest.refuseAdvance = true;

    await w.archiver().archivePartition(await w.topic(), 0);

    expect(await w.entries()).toEqual(entries);
    expect(w.objects.keys()).toEqual(entries.map((entry) => entry.key));
  });

  it('deletes, in the next run, the entries and objects a crash left below logStartOffset', async () => {
    const w = await archiveWorld({
      segmentMs: SEGMENT_MS,
      retentionMs: RETENTION_MS,
      localRetentionMs: RETENTION_MS,
    });
    const [first, second] = await segments(w, ['a', 'b']);
    if (!first || !second) throw new Error('archived above');
    w.clock.advance(T0 + SEGMENT_MS + RETENTION_MS + 1 - w.clock.now());
    w.objects.failDeleteOnce = true;

    await expect(w.archiver().archivePartition(await w.topic(), 0)).rejects.toThrow(/crashed/);
    const leftBehind = { entries: await w.entries(), keys: w.objects.keys(), head: await w.head() };
    const next = await w.archiver().archivePartition(await w.topic(), 0);

    expect(leftBehind.head.logStartOffset).toBe(1);
    expect(leftBehind.entries).toEqual([first, second]);
    expect(leftBehind.keys).toEqual([first.key, second.key]);
    expect(next).toMatchObject({ deletedSegments: 0, logStartOffset: 1 });
    expect(await w.entries()).toEqual([second]);
    expect(w.objects.keys()).toEqual([second.key]);
  });

  it('removes, in the next run, the entries a crash left after their objects were deleted', async () => {
    const w = await archiveWorld({
      segmentMs: SEGMENT_MS,
      retentionMs: RETENTION_MS,
      localRetentionMs: RETENTION_MS,
    });
    const [first, second] = await segments(w, ['a', 'b']);
    if (!first || !second) throw new Error('archived above');
    w.clock.advance(T0 + SEGMENT_MS + RETENTION_MS + 1 - w.clock.now());
    w.manifest.failRemoveOnce = true;

    await expect(w.archiver().archivePartition(await w.topic(), 0)).rejects.toThrow(/crashed/);
    await w.archiver().archivePartition(await w.topic(), 0);

    expect(await w.entries()).toEqual([second]);
    expect(w.objects.keys()).toEqual([second.key]);
    expect(await w.fetchValues()).toEqual(['b']);
  });
});

describe('retagging after a retention increase', () => {
  async function grown(count: number, retentionMs = 30 * DAY) {
    const w = await archiveWorld({ segmentMs: SEGMENT_MS, retentionMs: DAY, localRetentionMs: DAY });
    const entries = await segments(
      w,
      Array.from({ length: count }, (_, i) => `r${i}`),
    );
    expect(entries.every((entry) => entry.retentionClassDays === 2)).toBe(true);
    await w.topicService.update('t', { retentionMs });
    return { w, entries };
  }

  it('moves every segment to the longer class, and the partition head with them', async () => {
    const { w, entries } = await grown(3);

    const report = await w.archiver().archivePartition(await w.topic(), 0);
    const again = await w.archiver().archivePartition(await w.topic(), 0);

    expect([report.retaggedSegments, again.retaggedSegments]).toEqual([3, 0]);
    expect((await w.entries()).map((entry) => entry.retentionClassDays)).toEqual([31, 31, 31]);
    expect(entries.map((entry) => w.objects.tagsOf(entry.key))).toEqual(
      entries.map(() => ({ 'shoal-retention-days': '31' })),
    );
    expect((await w.head()).retentionClassFloorDays).toBe(31);
  });

  it('removes the expiry tag of every segment when the topic is kept forever', async () => {
    const { w, entries } = await grown(2, -1);

    const report = await w.archiver().archivePartition(await w.topic(), 0);

    expect(report.retaggedSegments).toBe(2);
    expect(entries.map((entry) => w.objects.tagsOf(entry.key))).toEqual([{}, {}]);
  });

  it('retags at most retagEntriesMax segments per run, going on where the last run stopped', async () => {
    const { w, entries } = await grown(5);
    const archiver = w.archiver({ retagEntriesMax: 2 });
    const retagged: number[] = [];
    const floors: number[] = [];

    for (let run = 0; run < 4; run++) {
      retagged.push((await archiver.archivePartition(await w.topic(), 0)).retaggedSegments);
      floors.push((await w.head()).retentionClassFloorDays);
    }

    expect(retagged).toEqual([2, 2, 1, 0]);
    expect(floors).toEqual([2, 2, 31, 31]);
    expect(w.objects.retagged).toEqual(entries.map((entry) => entry.key));
  });

  it('retags the older segments though a segment of the new class was written since', async () => {
    const { w, entries } = await grown(2);
    await w.produce(['new']);
    w.clock.advance(SEGMENT_MS);

    const report = await w.archiver().archivePartition(await w.topic(), 0);

    expect(report).toMatchObject({ segments: 1, retaggedSegments: 2 });
    expect((await w.entries()).map((entry) => entry.retentionClassDays)).toEqual([31, 31, 31]);
    expect(entries.map((entry) => w.objects.tagsOf(entry.key))).toEqual([
      { 'shoal-retention-days': '31' },
      { 'shoal-retention-days': '31' },
    ]);
  });

  it('leaves segments alone when retention shrinks', async () => {
    const w = await archiveWorld({ segmentMs: SEGMENT_MS, retentionMs: 30 * DAY, localRetentionMs: DAY });
    const entries = await segments(w, ['a', 'b']);
    await w.topicService.update('t', { retentionMs: 2 * DAY });

    const report = await w.archiver().archivePartition(await w.topic(), 0);

    expect(report.retaggedSegments).toBe(0);
    expect(w.objects.retagged).toEqual([]);
    expect(entries.map((entry) => w.objects.tagsOf(entry.key))).toEqual([
      { 'shoal-retention-days': '31' },
      { 'shoal-retention-days': '31' },
    ]);
  });

  it('does not retag the segments retention deleted', async () => {
    const w = await archiveWorld({
      segmentMs: SEGMENT_MS,
      retentionMs: RETENTION_MS,
      localRetentionMs: RETENTION_MS,
    });
    const entries = await segments(w, ['a', 'b', 'c']);
    w.clock.advance(T0 + 2 * SEGMENT_MS + RETENTION_MS + 1 - w.clock.now());
    await w.archiver().archivePartition(await w.topic(), 0);
    await w.topicService.update('t', { retentionMs: 30 * DAY });

    const report = await w.archiver().archivePartition(await w.topic(), 0);

    expect(report.retaggedSegments).toBe(1);
    expect(w.objects.retagged).toEqual([entries[2]?.key]);
  });
});
