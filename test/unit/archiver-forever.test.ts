/**
 * Two promises of the archiver that the other archiver tests leave implicit: a topic changed to
 * keep its records forever has every segment's expiry tag removed, also by an archiver with idle
 * checks (where retention no longer brings the partition back: only the pending retag does); and
 * a run reads the rescue area only at a gap, so that a partition without expired batches costs no
 * S3 request beyond its segment.
 */
import { describe, expect, it } from 'vitest';
import { archiveWorld } from '../support/archive-world.js';

const DAY = 86_400_000;
/** With random() = 0, a partition is due again after 7.5 s. */
const IDLE_MS = 10_000;
const DUE_MS = 7_500;

describe('a topic changed to keep its records forever', () => {
  async function foreverWorld(segmentCount: number) {
    const w = await archiveWorld({ segmentMs: 1_000, retentionMs: DAY, localRetentionMs: DAY });
    for (let i = 0; i < segmentCount; i++) {
      await w.produce([`r${i}`]);
      w.clock.advance(1_000);
      await w.archiver().archivePartition(await w.topic(), 0);
    }
    const entries = await w.entries();
    expect(entries.map((entry) => w.objects.tagsOf(entry.key))).toEqual(
      entries.map(() => ({ 'shoal-retention-days': '2' })),
    );
    await w.topicService.update('t', { retentionMs: -1 });
    return { w, entries };
  }

  it('loses the expiry tag of every segment at the next idle check', async () => {
    const { w, entries } = await foreverWorld(2);
    const archiver = w.archiver({ idleCheckMsMax: IDLE_MS });

    const report = await archiver.run();
    w.clock.advance(DUE_MS);
    const later = await archiver.run();

    expect(report.partitions.map((partition) => partition.retaggedSegments)).toEqual([2]);
    expect(later.partitions).toEqual([]);
    expect(entries.map((entry) => w.objects.tagsOf(entry.key))).toEqual([{}, {}]);
    expect((await w.entries()).map((entry) => entry.retentionClassDays)).toEqual([1_000_000, 1_000_000]);
  });

  it('is retagged at every run, without waiting for a period, until every segment is', async () => {
    const { w, entries } = await foreverWorld(3);
    const archiver = w.archiver({ idleCheckMsMax: IDLE_MS, retagEntriesMax: 1 });

    const retagged: number[] = [];
    for (let run = 0; run < 4; run++) {
      retagged.push((await archiver.run()).partitions.reduce((sum, p) => sum + p.retaggedSegments, 0));
    }

    expect(retagged).toEqual([1, 1, 1, 0]);
    expect(entries.map((entry) => w.objects.tagsOf(entry.key))).toEqual([{}, {}, {}]);
  });
});

describe('the rescue area', () => {
  it('is not read for a partition whose batches are all in DynamoDB', async () => {
    const w = await archiveWorld({ segmentMs: 1_000 });
    let reads = 0;
    const getRescued = w.objects.getRescued.bind(w.objects);
    w.objects.getRescued = async (topicId, partition, baseOffset) => {
      reads++;
      return getRescued(topicId, partition, baseOffset);
    };
    await w.produce(['a']);
    await w.produce(['b']);
    w.clock.advance(1_000);

    const report = await w.archiver().archivePartition(await w.topic(), 0);
    await w.produce(['c']);
    const young = await w.archiver().archivePartition(await w.topic(), 0);

    expect([report.segments, young.segments]).toEqual([1, 0]);
    expect(reads).toBe(0);
  });
});
