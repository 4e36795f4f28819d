/**
 * LogService.offsetForTimestamp (a reset to a timestamp, a subscription AT_TIMESTAMP), beside
 * offset-for-timestamp.test.ts: the earliest offset whose record timestamp is at or after the one
 * asked, checked against a scan of every record for every timestamp from before the first record to
 * after the last, over batches of different sizes whose timestamps repeat across batches and go
 * back within them; in the hot tier alone, over archived segments with the hot copies gone, after
 * retention deleted the oldest segment, and without the S3 tier over a log the archiver has copied.
 */
import { describe, expect, it } from 'vitest';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemorySegmentManifest } from '../../shared/adapters/memory/segment-manifest.js';
import { MemorySegmentObjects } from '../../shared/adapters/memory/segment-objects.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import { Archiver } from '../../shared/domain/archiver.js';
import { LogService, type ProduceRecordInput } from '../../shared/domain/log-service.js';
import { SegmentReader } from '../../shared/domain/segment-reader.js';
import { type CreateTopicInput, TopicService } from '../../shared/domain/topic-service.js';
import type { StoredBatch } from '../../shared/ports/partition-log.js';
import { manualClock } from '../support/manual-clock.js';

const START = 1_800_000_000_000;

/** The in-memory log, counting the batches the time lookup reads. */
class CountingLog extends MemoryPartitionLog {
  batchReads = 0;

  override async readBatchAt(
    topic: Parameters<MemoryPartitionLog['readBatchAt']>[0],
    partition: number,
    offset: number,
  ): Promise<StoredBatch | undefined> {
    this.batchReads++;
    return super.readBatchAt(topic, partition, offset);
  }
}

async function world(input: Partial<CreateTopicInput> = {}) {
  const clock = manualClock(START);
  const topics = new MemoryTopicStore();
  const log = new CountingLog({ now: clock.now });
  const manifest = new MemorySegmentManifest(log.heads);
  const objects = new MemorySegmentObjects();
  const service = new LogService(topics, log, clock, new SegmentReader(manifest, objects));
  const hotOnly = new LogService(topics, log, clock);
  const archiver = new Archiver(topics, log, manifest, objects, clock);
  await new TopicService(topics, log, clock).create({ name: 't', partitions: 1, ...input });
  const topic = await topics.get('t');
  if (!topic) throw new Error('created above');
  /** Every record's timestamp, by offset. */
  const timestamps: number[] = [];
  const produce = async (batch: readonly number[]) => {
    const records = batch.map(
      (timestamp): ProduceRecordInput => ({
        key: null,
        value: { type: 'STRING', bytes: new Uint8Array([1]) },
        headers: [],
        partition: 0,
        timestamp,
      }),
    );
    await service.produce('t', records);
    timestamps.push(...batch);
  };
  const archive = async () => {
    clock.advance(input.segmentMs ?? 0);
    clock.advance(1);
    return archiver.archivePartition(topic, 0);
  };
  return { clock, log, manifest, service, hotOnly, archive, produce, timestamps, topic };
}

/**
 * Batches `from` to `to` (exclusive) of a log whose timestamps rise by 10 every third batch (so
 * three batches in a row share them), with 1 to 4 records each, some records 25 ms older than the
 * batch before them (a producer's clock behind another's).
 */
function batchesOf(from: number, to: number): number[][] {
  return Array.from({ length: to - from }, (_, i) => {
    const batch = from + i;
    const base = 1_000 + 10 * Math.floor(batch / 3);
    return Array.from(
      { length: 1 + ((batch * 7) % 4) },
      (_, j) => base + ((j * 13 + batch) % 5 === 0 ? -25 : j),
    );
  });
}

/** What the lookup must answer, by a scan of every record: the first at or after, else the high watermark. */
function scan(timestamps: readonly number[], logStartOffset: number, timestamp: number): number {
  const index = timestamps.findIndex(
    (candidate, offset) => offset >= logStartOffset && candidate >= timestamp,
  );
  return index === -1 ? timestamps.length : index;
}

/** Every timestamp from 30 ms before the first record to 5 ms after the last. */
function askedOf(timestamps: readonly number[]): number[] {
  const asked: number[] = [];
  for (let timestamp = Math.min(...timestamps) - 30; timestamp <= Math.max(...timestamps) + 5; timestamp++) {
    asked.push(timestamp);
  }
  return asked;
}

async function lookups(service: LogService, asked: readonly number[]): Promise<number[]> {
  const found: number[] = [];
  for (const timestamp of asked) found.push(await service.offsetForTimestamp('t', 0, timestamp));
  return found;
}

describe('offsetForTimestamp in the hot tier', () => {
  it('answers like a scan of every record, with timestamps repeated across batches and going back within them', async () => {
    const { service, produce, timestamps } = await world();
    for (const batch of batchesOf(0, 41)) await produce(batch);
    const asked = askedOf(timestamps);

    const found = await lookups(service, asked);

    expect(found).toEqual(asked.map((timestamp) => scan(timestamps, 0, timestamp)));
  });

  it('answers the first of many batches that share one timestamp, and the high watermark after it', async () => {
    const { service, produce } = await world();
    await produce([100]);
    for (let batch = 0; batch < 20; batch++) await produce([200, 200]);
    await produce([300]);

    expect(await service.offsetForTimestamp('t', 0, 0)).toBe(0);
    expect(await service.offsetForTimestamp('t', 0, 101)).toBe(1);
    expect(await service.offsetForTimestamp('t', 0, 200)).toBe(1);
    expect(await service.offsetForTimestamp('t', 0, 201)).toBe(41);
    expect(await service.offsetForTimestamp('t', 0, 300)).toBe(41);
    expect(await service.offsetForTimestamp('t', 0, 301)).toBe(42);
  });

  it('answers 0 for an empty partition', async () => {
    const { service } = await world();

    expect(await service.offsetForTimestamp('t', 0, 0)).toBe(0);
    expect(await service.offsetForTimestamp('t', 0, START)).toBe(0);
  });

  it('reads about log2 of the batches, not each one', async () => {
    const { service, produce, log } = await world();
    for (let batch = 0; batch < 64; batch++) await produce([1_000 + batch]);
    const reads: number[] = [];

    for (const timestamp of [999, 1_000, 1_017, 1_031, 1_032, 1_063]) {
      log.batchReads = 0;
      await service.offsetForTimestamp('t', 0, timestamp);
      reads.push(log.batchReads);
    }

    // 64 batches of one record: the range halves at most 7 times, and the search ends on the batch
    // it last read, with no read more.
    expect(Math.max(...reads)).toBeLessThanOrEqual(7);
  });
});

describe('offsetForTimestamp over a hot tier with batches gone', () => {
  /** Batches 0-9 at one time, 10-19 a TTL later; DynamoDB then deletes the first ten (nothing archived them). */
  async function expired() {
    const w = await world({ localRetentionMs: 1_000 });
    for (let batch = 0; batch < 10; batch++) await w.produce([1_000 + batch]);
    w.clock.advance(5_000);
    for (let batch = 10; batch < 20; batch++) await w.produce([1_000 + batch]);
    return w;
  }

  it('answers the first record left at or after the timestamp, in a bounded number of reads', async () => {
    const w = await expired();
    w.log.deleteExpired(w.clock.now());
    const found: number[] = [];
    const reads: number[] = [];

    for (const timestamp of [999, 1_005, 1_010, 1_015, 1_019]) {
      w.log.batchReads = 0;
      found.push(await w.hotOnly.offsetForTimestamp('t', 0, timestamp));
      reads.push(w.log.batchReads);
    }

    expect(found).toEqual([10, 10, 10, 15, 19]);
    expect(Math.max(...reads)).toBeLessThanOrEqual(61);
  });

  it('answers the high watermark once every batch is gone', async () => {
    const w = await expired();
    w.log.deleteExpired(w.clock.now() + 10_000);

    expect(await w.hotOnly.offsetForTimestamp('t', 0, 1_000)).toBe(20);
  });
});

describe('offsetForTimestamp over archived segments', () => {
  /** 12 batches in two segments (their hot copies deleted by TTL), then 9 batches in DynamoDB only. */
  async function tiered() {
    const w = await world({ segmentMs: 1_000, localRetentionMs: 1_000 });
    for (const batch of batchesOf(0, 6)) await w.produce(batch);
    await w.archive();
    for (const batch of batchesOf(6, 12)) await w.produce(batch);
    await w.archive();
    w.log.deleteExpired(w.clock.now() + 2_000);
    for (const batch of batchesOf(12, 21)) await w.produce(batch);
    return w;
  }

  it('answers like a scan of every record, in either tier and across their boundary', async () => {
    const { service, timestamps, log, manifest, topic } = await tiered();
    const asked = askedOf(timestamps);

    const found = await lookups(service, asked);

    expect(found).toEqual(asked.map((timestamp) => scan(timestamps, 0, timestamp)));
    // Two segments, whose batches' hot copies are gone: only S3 answers below the hot tier.
    const segments = await manifest.segmentsFrom(topic, 0, 0, 10);
    expect(segments).toHaveLength(2);
    const firstHot = await log.readBatchAt(topic, 0, 0);
    expect(firstHot?.baseOffset).toBe(
      segments[1]?.lastOffset === undefined ? -1 : segments[1].lastOffset + 1,
    );
  });

  it('answers the first retained offset for a timestamp before it once retention deleted the oldest segment', async () => {
    const w = await world({ segmentMs: 1_000, retentionMs: 60_000, localRetentionMs: 60_000 });
    for (const batch of batchesOf(0, 6)) await w.produce(batch);
    await w.archive();
    for (const batch of batchesOf(6, 9)) await w.produce(batch);
    w.clock.advance(60_000);
    await w.archive();
    w.clock.advance(1);
    const deleted = await w.archive();
    const start = deleted.logStartOffset;
    expect(start).toBeGreaterThan(0);
    const asked = askedOf(w.timestamps);

    const found = await lookups(w.service, asked);

    expect(found).toEqual(asked.map((timestamp) => scan(w.timestamps, start, timestamp)));
    expect(found[0]).toBe(start);
  });

  it('searches DynamoDB from the log start when built without the S3 tier, over a log the archiver copied', async () => {
    const w = await world({ segmentMs: 1_000 });
    for (const batch of batchesOf(0, 9)) await w.produce(batch);
    const archived = await w.archive();
    for (const batch of batchesOf(9, 15)) await w.produce(batch);
    expect(archived.segments).toBeGreaterThan(0);
    const asked = askedOf(w.timestamps);

    const found = await lookups(w.hotOnly, asked);

    expect(found).toEqual(asked.map((timestamp) => scan(w.timestamps, 0, timestamp)));
  });
});
