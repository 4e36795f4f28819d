/**
 * `Archiver.run` on the in-memory ports with a manual clock: a run over every topic (its order
 * seeded by the clock's random source, its time bounded by runMsMax), and the idle check the
 * deployed archiver sets (`idleCheckMsMax`): a partition with nothing to do is not read again
 * before its period, one head read per topic finds the partitions with work, and retention that
 * comes due, a retention changed by PATCH, segments to retag or another archiver's segment each
 * bring a partition back.
 */
import { describe, expect, it } from 'vitest';
import type { ArchiveRunReport } from '../../shared/domain/archiver.js';
import { type ArchiveWorld, archiveWorld } from '../support/archive-world.js';

const MINUTE = 60_000;
/** A partition is checked at most every 10 s; with random() = 0, it is due after 7.5 s. */
const IDLE_MS = 10_000;
const DUE_MS = 7_500;

const worked = (report: ArchiveRunReport, topic = 't') =>
  report.partitions
    .filter((partition) => partition.topic === topic)
    .map((partition) => partition.partition)
    .sort();

/** Partitions whose heads the runs read with eventual consistency (the idle checks), per read. */
const checks = (w: ArchiveWorld) =>
  w.log.headReads.filter((read) => read.consistency === 'eventual').map((read) => [...read.partitions]);

describe('Archiver.run', () => {
  it('orders the partitions by the clock random source, so a cut-short run leaves others each time', async () => {
    const w = await archiveWorld({ segmentMs: MINUTE }, 3);
    const order = async (random: number) => {
      w.random.value = random;
      const report = await w.archiver({ concurrency: 1 }).run();
      return report.partitions.map((partition) => partition.partition);
    };

    // Fisher-Yates: 0 swaps each item with the first, 0.99 with itself.
    expect(await order(0.99)).toEqual([0, 1, 2]);
    expect(await order(0)).toEqual([1, 2, 0]);
  });

  it('starts no partition once runMsMax has passed, and counts the ones left', async () => {
    const w = await archiveWorld({ segmentMs: MINUTE }, 3);
    // Each head read takes 400 ms of the run.
    w.log.onReadHeads = () => w.clock.advance(400);

    const report = await w.archiver({ concurrency: 1, runMsMax: 800 }).run();

    expect(report.partitions).toHaveLength(2);
    expect(report.skippedPartitions).toBe(1);
    expect(report.durationMs).toBe(800);
  });

  it('runs one worker when concurrency is below one', async () => {
    const w = await archiveWorld({ segmentMs: MINUTE }, 2);
    await w.produce(['a'], 0);
    await w.produce(['b'], 1);
    w.clock.advance(MINUTE);

    const report = await w.archiver({ concurrency: 0 }).run();

    expect(report.partitions.map((partition) => partition.segments)).toEqual([1, 1]);
  });
});

describe('idle checks', () => {
  it('reads no partition again before its period, and archives an append to an idle one after it', async () => {
    const w = await archiveWorld({ segmentMs: MINUTE }, 2);
    const archiver = w.archiver({ idleCheckMsMax: IDLE_MS });

    const first = await archiver.run();
    await w.produce(['a'], 1);
    w.clock.advance(DUE_MS - 1);
    const before = await archiver.run();
    w.clock.advance(1);
    const after = await archiver.run();

    expect(worked(first)).toEqual([]);
    expect(worked(before)).toEqual([]);
    expect(worked(after)).toEqual([1]);
    // One read of both heads per check; none before the period.
    expect(checks(w)).toEqual([
      [0, 1],
      [0, 1],
    ]);
  });

  it('checks a partition whose tail is still young in every run, and archives it once it is due', async () => {
    const w = await archiveWorld({ segmentMs: MINUTE }, 2);
    const archiver = w.archiver({ idleCheckMsMax: IDLE_MS });
    await w.produce(['a'], 1);

    const young = await archiver.run();
    const again = await archiver.run();
    w.clock.advance(MINUTE);
    const due = await archiver.run();

    expect([worked(young), worked(again)]).toEqual([[1], [1]]);
    expect(checks(w)).toEqual([[0, 1], [1], [0, 1]]);
    expect(due.partitions.map((partition) => [partition.partition, partition.segments])).toEqual([[1, 1]]);
  });

  it('spreads the next check over the last quarter of the period by the random source', async () => {
    const w = await archiveWorld({ segmentMs: MINUTE }, 1);
    w.random.value = 0.5;
    const archiver = w.archiver({ idleCheckMsMax: IDLE_MS });
    await archiver.run();
    await w.produce(['a']);

    w.clock.advance(8_750 - 1);
    const before = await archiver.run();
    w.clock.advance(1);
    const after = await archiver.run();

    expect([worked(before), worked(after)]).toEqual([[], [0]]);
  });

  it('checks a partition at least four times per segmentMs', async () => {
    const w = await archiveWorld({ segmentMs: 4_000 }, 1);
    const archiver = w.archiver({ idleCheckMsMax: IDLE_MS });
    await archiver.run();
    await w.produce(['a']);

    w.clock.advance(750 - 1);
    const before = await archiver.run();
    w.clock.advance(1);
    const after = await archiver.run();

    expect([worked(before), worked(after)]).toEqual([[], [0]]);
  });

  it('checks a partition at least four times per localRetentionMs', async () => {
    const w = await archiveWorld({ segmentMs: MINUTE, localRetentionMs: 2_000 }, 1);
    const archiver = w.archiver({ idleCheckMsMax: IDLE_MS });
    await archiver.run();
    await w.produce(['a']);

    w.clock.advance(375 - 1);
    const before = await archiver.run();
    w.clock.advance(1);
    const after = await archiver.run();

    expect([worked(before), worked(after)]).toEqual([[], [0]]);
  });

  it('reads no heads of a topic none of whose partitions is due', async () => {
    const w = await archiveWorld({ segmentMs: MINUTE }, 2);
    await w.topicService.create({ name: 'other', partitions: 1, segmentMs: 4_000 });
    const archiver = w.archiver({ idleCheckMsMax: IDLE_MS });
    await archiver.run();
    w.log.headReads.length = 0;

    w.clock.advance(750);
    await archiver.run();

    expect(checks(w)).toEqual([[0]]);
  });

  it('applies retention when it comes due, though the partition had nothing else to do', async () => {
    const w = await archiveWorld({ segmentMs: 1_000, retentionMs: MINUTE, localRetentionMs: MINUTE }, 1);
    const archiver = w.archiver({ idleCheckMsMax: IDLE_MS });
    await w.produce(['a']);
    w.clock.advance(1_000);
    const archived = await archiver.run();
    const archivedAt = w.clock.now();

    // Checked every 7.5 s: nothing to do until the segment is past retention.
    const checked: number[][] = [];
    while (w.clock.now() + DUE_MS < archivedAt + MINUTE) {
      w.clock.advance(DUE_MS);
      checked.push(worked(await archiver.run()));
    }
    w.clock.advance(archivedAt + MINUTE - w.clock.now());
    const due = await archiver.run();
    w.clock.advance(1);
    const past = await archiver.run();

    expect(archived.partitions[0]?.segments).toBe(1);
    expect(checked.length).toBeGreaterThan(5);
    expect(checked.every((partitions) => partitions.length === 0)).toBe(true);
    expect(due.partitions.map((partition) => partition.deletedSegments)).toEqual([0]);
    expect(past.partitions.map((partition) => partition.deletedSegments)).toEqual([1]);
    expect(await w.entries()).toEqual([]);
  });

  it('applies a retentionMs shortened since at the next check', async () => {
    const w = await archiveWorld({ segmentMs: 1_000, retentionMs: 7 * 24 * 60 * MINUTE }, 1);
    const archiver = w.archiver({ idleCheckMsMax: IDLE_MS });
    await w.produce(['a']);
    w.clock.advance(1_000);
    await archiver.run();
    w.clock.advance(2 * MINUTE);
    expect(worked(await archiver.run())).toEqual([]);

    await w.topicService.update('t', { retentionMs: MINUTE, localRetentionMs: MINUTE });
    w.clock.advance(DUE_MS);
    const report = await archiver.run();

    expect(report.partitions.map((partition) => partition.deletedSegments)).toEqual([1]);
  });

  it('applies a retentionBytes set since at the next check', async () => {
    const w = await archiveWorld({ segmentMs: 1_000, retentionMs: -1 }, 1);
    const archiver = w.archiver({ idleCheckMsMax: IDLE_MS });
    for (let seed = 1; seed <= 3; seed++) {
      await w.produceBytes(600, seed);
      w.clock.advance(1_000);
      await archiver.run();
    }
    w.clock.advance(DUE_MS);
    expect(worked(await archiver.run())).toEqual([]);

    await w.topicService.update('t', { retentionBytes: 1024 });
    w.clock.advance(DUE_MS);
    const report = await archiver.run();

    // Three segments of over 600 bytes: the newest two hold 1,024, the newest alone does not.
    expect(report.partitions.map((partition) => partition.deletedSegments)).toEqual([1]);
  });

  it('applies retention at the next check after another archiver archived a segment and lost the retention race', async () => {
    const w = await archiveWorld({ segmentMs: 1_000, retentionMs: -1, retentionBytes: 1024 }, 1);
    const archiver = w.archiver({ idleCheckMsMax: IDLE_MS });
    for (let seed = 1; seed <= 2; seed++) {
      await w.produceBytes(600, seed);
      w.clock.advance(1_000);
      await archiver.run();
    }
    // Another archiver records a third segment; its retention loses to a third party.
    await w.produceBytes(600, 3);
    w.clock.advance(1_000);
    w.manifest.refuseAdvance = true;
    const rival = await w.archiver().archivePartition(await w.topic(), 0);
    w.manifest.refuseAdvance = false;

    w.clock.advance(DUE_MS);
    const report = await archiver.run();

    expect(rival).toMatchObject({ segments: 1, deletedSegments: 0 });
    expect(report.partitions.map((partition) => partition.deletedSegments)).toEqual([1]);
    expect((await w.entries()).map((entry) => entry.baseOffset)).toEqual([1, 2]);
  });

  it('deletes, at the next check, the entry left behind by the interrupted retention of another archiver', async () => {
    const w = await archiveWorld({ segmentMs: 1_000, retentionMs: MINUTE, localRetentionMs: MINUTE }, 1);
    const archiver = w.archiver({ idleCheckMsMax: IDLE_MS });
    await w.produce(['a']);
    w.clock.advance(1_000);
    await archiver.run();
    w.clock.advance(MINUTE + 1);
    // The rival applies retention first (an interrupted one: the entry is left behind).
    w.manifest.failRemoveOnce = true;
    await expect(w.archiver().archivePartition(await w.topic(), 0)).rejects.toThrow(/crashed/);
    expect((await w.head()).logStartOffset).toBe(1);

    const report = await archiver.run();

    expect(worked(report)).toEqual([0]);
    expect(await w.entries()).toEqual([]);
  });

  it('comes back at once when it lost the race to move logStartOffset', async () => {
    const w = await archiveWorld({ segmentMs: 1_000, retentionMs: MINUTE, localRetentionMs: MINUTE }, 1);
    const archiver = w.archiver({ idleCheckMsMax: IDLE_MS });
    await w.produce(['a']);
    w.clock.advance(1_000);
    await archiver.run();
    w.clock.advance(30_000);
    await w.produce(['b']);
    w.clock.advance(1_000);
    await archiver.run();
    // Past retention for the first segment only: the second is due 31 s later.
    w.clock.advance(30_000);
    w.manifest.refuseAdvance = true;
    const lost = await archiver.run();
    w.manifest.refuseAdvance = false;

    const again = await archiver.run();

    expect(lost.partitions.map((partition) => partition.deletedSegments)).toEqual([0]);
    expect(again.partitions.map((partition) => partition.deletedSegments)).toEqual([1]);
  });

  it('comes back at once when retention read retentionEntriesMax entries and deleted them all', async () => {
    const w = await archiveWorld({ segmentMs: 1_000, retentionMs: MINUTE, localRetentionMs: MINUTE }, 1);
    const archiver = w.archiver({ idleCheckMsMax: IDLE_MS, retentionEntriesMax: 3 });
    for (let i = 0; i < 5; i++) {
      await w.produce([`r${i}`]);
      w.clock.advance(1_000);
      await archiver.run();
    }
    w.clock.advance(MINUTE + 1);

    const first = await archiver.run();
    const second = await archiver.run();

    expect([first, second].map((report) => report.partitions.map((p) => p.deletedSegments))).toEqual([
      [3],
      [2],
    ]);
  });

  it('leaves a partition within its retentionBytes alone at its checks', async () => {
    const w = await archiveWorld({ segmentMs: 1_000, retentionMs: -1, retentionBytes: 1024 }, 1);
    const archiver = w.archiver({ idleCheckMsMax: IDLE_MS });
    await w.produce(['a']);
    w.clock.advance(1_000);
    await archiver.run();

    const checked: number[][] = [];
    for (let run = 0; run < 3; run++) {
      w.clock.advance(DUE_MS);
      checked.push(worked(await archiver.run()));
    }

    expect(checked).toEqual([[], [], []]);
    expect(checks(w)).toHaveLength(4);
  });

  it('retags segments at the next check after a retention increase', async () => {
    const w = await archiveWorld({ segmentMs: 1_000, retentionMs: 24 * 60 * MINUTE }, 1);
    const archiver = w.archiver({ idleCheckMsMax: IDLE_MS });
    await w.produce(['a']);
    w.clock.advance(1_000);
    await archiver.run();

    await w.topicService.update('t', { retentionMs: 30 * 24 * 60 * MINUTE });
    w.clock.advance(DUE_MS);
    const report = await archiver.run();

    expect(report.partitions.map((partition) => partition.retaggedSegments)).toEqual([1]);
  });

  it('keeps checking a partition whose retagging is not done', async () => {
    const w = await archiveWorld({ segmentMs: 1_000, retentionMs: 24 * 60 * MINUTE }, 1);
    const archiver = w.archiver({ idleCheckMsMax: IDLE_MS, retagEntriesMax: 1 });
    for (const value of ['a', 'b', 'c']) {
      await w.produce([value]);
      w.clock.advance(1_000);
      await archiver.run();
    }
    await w.topicService.update('t', { retentionMs: 30 * 24 * 60 * MINUTE });
    w.clock.advance(DUE_MS);

    const retagged: number[] = [];
    for (let run = 0; run < 4; run++) {
      retagged.push((await archiver.run()).partitions.reduce((sum, p) => sum + p.retaggedSegments, 0));
    }

    expect(retagged).toEqual([1, 1, 1, 0]);
  });

  it('reports a topic whose heads cannot be read, and archives the others', async () => {
    const w = await archiveWorld({ segmentMs: 1_000 }, 2);
    await w.topicService.create({ name: 'broken', partitions: 2, segmentMs: 1_000 });
    await w.produce(['a'], 1);
    w.clock.advance(1_000);
    w.log.failReadHeadsOf = 'broken';

    const report = await w.archiver({ idleCheckMsMax: IDLE_MS }).run();

    expect(report.errors.map((error) => [error.topic, error.partition])).toEqual([['broken', 0]]);
    expect(
      report.partitions.map((partition) => [partition.topic, partition.partition, partition.segments]),
    ).toEqual([['t', 1, 1]]);
  });

  it('reads every partition in every run when idleCheckMsMax is 0', async () => {
    const w = await archiveWorld({ segmentMs: MINUTE }, 2);
    const archiver = w.archiver();

    const first = await archiver.run();
    const second = await archiver.run();

    expect([worked(first), worked(second)]).toEqual([
      [0, 1],
      [0, 1],
    ]);
    expect(checks(w)).toEqual([]);
  });
});
