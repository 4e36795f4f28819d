/**
 * One archiver run over every topic on the in-memory ports with a manual clock (the archiver's own
 * tests call archivePartition directly): what it archives and reports, that a second run finds
 * nothing more, that a partition's failure is reported without stopping the others, and that a run
 * past runMsMax leaves the rest for the next one.
 */
import { describe, expect, it } from 'vitest';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemorySegmentManifest } from '../../shared/adapters/memory/segment-manifest.js';
import { MemorySegmentObjects } from '../../shared/adapters/memory/segment-objects.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import { Archiver, type ArchiverOptions } from '../../shared/domain/archiver.js';
import { LogService, type ProduceRecordInput } from '../../shared/domain/log-service.js';
import { TopicService } from '../../shared/domain/topic-service.js';
import { manualClock } from '../support/manual-clock.js';

const SEGMENT_MS = 1_000;

/** The bucket, refusing segment writes of one topic (by id) when told to. */
class FailingObjects extends MemorySegmentObjects {
  failTopicId: string | undefined;

  override async putSegment(key: string, bytes: Uint8Array, tags: Readonly<Record<string, string>>) {
    if (this.failTopicId && key.includes(this.failTopicId)) throw new Error('S3 is down for this topic');
    return super.putSegment(key, bytes, tags);
  }
}

async function world(options: ArchiverOptions = {}) {
  const clock = manualClock(1_800_000_000_000);
  const topics = new MemoryTopicStore();
  const log = new MemoryPartitionLog({ now: clock.now });
  const manifest = new MemorySegmentManifest(log.heads);
  const objects = new FailingObjects();
  const service = new LogService(topics, log, clock);
  const topicService = new TopicService(topics, log, clock);
  await topicService.create({ name: 'a', partitions: 2, segmentMs: SEGMENT_MS });
  await topicService.create({ name: 'b', partitions: 1, segmentMs: SEGMENT_MS });
  const archiver = new Archiver(topics, log, manifest, objects, clock, { concurrency: 2, ...options });
  const record = (partition: number): ProduceRecordInput => ({
    key: null,
    value: { type: 'STRING', bytes: new Uint8Array([1, 2, 3]) },
    headers: [],
    partition,
  });
  await service.produce('a', [record(0), record(0), record(1)]);
  await service.produce('b', [record(0)]);
  clock.advance(SEGMENT_MS);
  return { clock, topics, objects, archiver };
}

const byPartition = (report: Awaited<ReturnType<Archiver['run']>>) =>
  report.partitions
    .map((p) => [`${p.topic}-${p.partition}`, p.segments, p.records, p.archivedOffset] as const)
    .sort(([x], [y]) => (x < y ? -1 : 1));

describe('Archiver.run', () => {
  it('archives every partition of every topic whose records are segmentMs old, and reports each', async () => {
    const { archiver } = await world();

    const report = await archiver.run();

    expect(byPartition(report)).toEqual([
      ['a-0', 1, 2, 2],
      ['a-1', 1, 1, 1],
      ['b-0', 1, 1, 1],
    ]);
    expect(report).toMatchObject({ errors: [], skippedPartitions: 0, durationMs: 0 });
    expect(report.workingBytesPeak).toBeGreaterThan(0);
    expect(report.segmentHeldBytesMax).toBeGreaterThan(0);
  });

  it('archives nothing more on a second run', async () => {
    const { archiver } = await world();
    await archiver.run();

    const again = await archiver.run();

    expect(again.partitions.every((p) => p.segments === 0 && p.records === 0)).toBe(true);
    expect(byPartition(again).map(([name, , , archived]) => [name, archived])).toEqual([
      ['a-0', 2],
      ['a-1', 1],
      ['b-0', 1],
    ]);
  });

  it('waits for records younger than segmentMs', async () => {
    const { archiver, clock } = await world();
    clock.advance(-1);

    const report = await archiver.run();

    expect(report.partitions.every((p) => p.segments === 0)).toBe(true);
  });

  it('reports a failing partition and archives the others', async () => {
    const { archiver, objects, topics } = await world();
    objects.failTopicId = (await topics.get('b'))?.topicId;

    const report = await archiver.run();

    expect(report.errors.map((e) => `${e.topic}-${e.partition}`)).toEqual(['b-0']);
    expect(byPartition(report).map(([name, segments]) => [name, segments])).toEqual([
      ['a-0', 1],
      ['a-1', 1],
    ]);
  });

  it('leaves every partition for the next run once runMsMax has passed', async () => {
    const { archiver } = await world({ runMsMax: 0 });

    const report = await archiver.run();

    expect(report.partitions).toEqual([]);
    expect(report.skippedPartitions).toBe(3);
  });
});
