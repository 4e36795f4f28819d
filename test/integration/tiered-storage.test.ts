import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbSegmentManifest } from '../../shared/adapters/dynamodb/segment-manifest.js';
import { DynamoDbTopicStore } from '../../shared/adapters/dynamodb/topic-store.js';
import { S3SegmentObjects } from '../../shared/adapters/s3/segment-objects.js';
import { Archiver } from '../../shared/domain/archiver.js';
import { type Clock, systemClock } from '../../shared/domain/clock.js';
import type { SegmentEntry, SegmentObjects } from '../../shared/ports/segment-archive.js';
import type { Runtime } from '../../shared/runtime.js';
import { partitionLogFor, tieredStorageFor } from '../../shared/services.js';
import { createFaultInjector } from '../support/faults.js';
import { type ApiClient, json, str } from '../support/http-client.js';
import { createTestRuntime, startApiClient } from '../support/local-aws.js';
import {
  type ApiRecord,
  expectedAnswer,
  manifestEntries,
  segmentObjects,
  storedTopic,
} from '../support/tiered-storage.js';

const faults = createFaultInjector({ seed: 11 });
let runtime: Runtime;
let api: ApiClient;
let close: () => Promise<void>;

beforeAll(async () => {
  runtime = await createTestRuntime({ tablePrefix: 'tiered', decorateDynamoDb: faults.install });
  ({ api, close } = await startApiClient(runtime));
});
afterAll(() => close());

/** A clock `aheadMs` in the future, for segment rolls and retention without waiting. */
function clockAhead(aheadMs: number): Clock {
  return { ...systemClock, now: () => Date.now() + aheadMs };
}

/** Produces `requests` requests of 1..`perRequestMax` records of varied sizes to partition 0. */
async function produceVaried(topic: string, requests: number, perRequestMax: number, seed: number) {
  let state = seed;
  const random = () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
  for (let request = 0; request < requests; request++) {
    const count = 1 + Math.floor(random() * perRequestMax);
    const records = Array.from({ length: count }, (_, i) => ({
      partition: 0,
      key: random() < 0.3 ? null : str(`key-${request}-${i}`),
      // Random text: segment sizes should reflect bytes, not how well a repeated character compresses.
      value: json({ request, i, filler: randomText(random, Math.floor(random() * 300)) }),
      headers:
        random() < 0.2 ? [{ name: 'trace', value: Buffer.from(`t${request}`).toString('base64') }] : [],
    }));
    const answer = await api.post(`/v1/topics/${topic}/records`, { records });
    expect(answer.status).toBe(200);
  }
}

function randomText(random: () => number, length: number): string {
  let text = '';
  while (text.length < length) text += Math.floor(random() * 2 ** 31).toString(36);
  return text.slice(0, length);
}

async function fetchAll(topic: string, partition = 0): Promise<ApiRecord[]> {
  const records: ApiRecord[] = [];
  let offset = (await api.get(`/v1/topics/${topic}`)).body.partitions[partition].logStartOffset;
  for (;;) {
    const page = await api.get(
      `/v1/topics/${topic}/partitions/${partition}/records?offset=${offset}&maxRecords=10000`,
    );
    expect(page.status).toBe(200);
    records.push(...page.body.records);
    if (page.body.nextOffset >= page.body.highWatermark) return records;
    offset = page.body.nextOffset;
  }
}

/** Segments from offset 0 to archivedOffset, each starting where the previous one ended. */
function expectContiguous(entries: readonly SegmentEntry[], archivedOffset: number): void {
  expect(entries.map((entry) => entry.baseOffset)).toEqual([
    0,
    ...entries.slice(0, -1).map((entry) => entry.lastOffset + 1),
  ]);
  expect(entries.at(-1)?.lastOffset).toBe(archivedOffset - 1);
}

async function partitionState(topic: string, partition = 0) {
  return (await api.get(`/v1/topics/${topic}`)).body.partitions[partition];
}

describe('archiving to S3 segments', () => {
  it('fetches any range the same before and after archiving, across segment and tier boundaries', async () => {
    await api.post('/v1/topics', { name: 'ranges', partitions: 1, segmentBytes: 4096, segmentMs: 3_600_000 });
    await produceVaried('ranges', 60, 12, 7);
    const all = await fetchAll('ranges');
    const topic = await storedTopic(runtime, 'ranges');
    const { archiver } = tieredStorageFor(runtime);
    const ranges = fc.tuple(
      fc.integer({ min: 0, max: all.length - 1 }),
      fc.integer({ min: 1, max: 120 }),
      fc.integer({ min: 1, max: 20_000 }),
    );
    let crossings = 0;
    const checkRanges = (archivedOffset: number) =>
      fc.assert(
        fc.asyncProperty(ranges, async ([offset, maxRecords, maxBytes]) => {
          const page = await api.get(
            `/v1/topics/ranges/partitions/0/records?offset=${offset}&maxRecords=${maxRecords}&maxBytes=${maxBytes}`,
          );
          const expected = expectedAnswer(all, offset, maxRecords, maxBytes);
          expect(page.status).toBe(200);
          expect(page.body.records).toEqual(expected);
          expect(page.body.nextOffset).toBe(offset + expected.length);
          if (offset < archivedOffset && page.body.nextOffset > archivedOffset) crossings++;
        }),
        { numRuns: 40, seed: 42 },
      );

    await checkRanges(0);
    const report = await archiver.archivePartition(topic, 0);
    const { archivedOffset, highWatermark } = await partitionState('ranges');
    await checkRanges(archivedOffset);

    expect(report.segments).toBeGreaterThan(3);
    expect(archivedOffset).toBe(report.archivedOffset);
    expect(archivedOffset).toBeGreaterThan(0);
    // The unrolled tail (less than segmentBytes) stays in DynamoDB, as Kafka's active segment.
    expect(archivedOffset).toBeLessThan(highWatermark);
    expect(crossings).toBeGreaterThan(0);
    expect(await fetchAll('ranges')).toEqual(all);
  });

  it('writes one object per contiguous range, named in the manifest, with no gap or overlap', async () => {
    await api.post('/v1/topics', { name: 'layout', partitions: 1, segmentBytes: 2048, segmentMs: 3_600_000 });
    await produceVaried('layout', 30, 8, 3);
    const topic = await storedTopic(runtime, 'layout');

    await tieredStorageFor(runtime).archiver.archivePartition(topic, 0);

    const entries = await manifestEntries(runtime, topic, 0);
    const objects = await segmentObjects(runtime, topic, 0);
    const { archivedOffset } = await partitionState('layout');
    expectContiguous(entries, archivedOffset);
    expect(objects.map((object) => object.key).sort()).toEqual(entries.map((entry) => entry.key).sort());
    for (const entry of entries) {
      expect(objects.find((object) => object.key === entry.key)?.size).toBe(entry.objectBytes);
    }
  });

  it('rolls a young run only once segmentMs has passed', async () => {
    await api.post('/v1/topics', { name: 'young', partitions: 1, segmentMs: 60_000 });
    await produceVaried('young', 5, 5, 5);
    const topic = await storedTopic(runtime, 'young');
    const { highWatermark } = await partitionState('young');

    const now = await tieredStorageFor(runtime).archiver.archivePartition(topic, 0);
    const later = await tieredStorageFor({ ...runtime, clock: clockAhead(61_000) }).archiver.archivePartition(
      topic,
      0,
    );

    expect(now.segments).toBe(0);
    expect(later.segments).toBe(1);
    expect(later.archivedOffset).toBe(highWatermark);
    expect(await fetchAll('young')).toHaveLength(highWatermark);
  });

  it('finds offsets by timestamp in archived segments and in DynamoDB alike', async () => {
    await api.post('/v1/topics', { name: 'times', partitions: 1, segmentBytes: 1024, segmentMs: 3_600_000 });
    const base = 1_767_225_600_000;
    const timestamps = Array.from({ length: 120 }, (_, i) => base + i * 1000 + (i % 7 === 3 ? -5000 : 0));
    for (let start = 0; start < timestamps.length; start += 4) {
      const records = timestamps.slice(start, start + 4).map((timestamp, i) => ({
        partition: 0,
        value: json({ n: start + i, pad: 'p'.repeat(60) }),
        timestamp,
      }));
      await api.post('/v1/topics/times/records', { records });
    }
    const lookups = [
      base - 1,
      base,
      base + 2500,
      base + 41_000,
      base + 87_000,
      base + 118_000,
      base + 200_000,
    ];
    const expected = lookups.map((target) => {
      const index = timestamps.findIndex((timestamp) => timestamp >= target);
      return index === -1 ? timestamps.length : index;
    });
    const offsets = async () =>
      Promise.all(
        lookups.map(
          async (target) =>
            (await api.get(`/v1/topics/times/partitions/0/offsets?timestamp=${target}`)).body
              .offset as number,
        ),
      );

    const before = await offsets();
    await tieredStorageFor(runtime).archiver.archivePartition(await storedTopic(runtime, 'times'), 0);
    const after = await offsets();

    expect((await partitionState('times')).archivedOffset).toBeGreaterThan(60);
    expect(before).toEqual(expected);
    expect(after).toEqual(expected);
  });
});

describe('archiving safely', () => {
  it('lets two archivers run at once without overlap or gap', async () => {
    await api.post('/v1/topics', { name: 'racing', partitions: 1, segmentBytes: 2048, segmentMs: 3_600_000 });
    const topic = await storedTopic(runtime, 'racing');
    // Each archiver its own adapters; uploads are slowed at random so that the two interleave.
    const slowed = (objects: SegmentObjects): SegmentObjects =>
      new Proxy(objects, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver);
          if (property !== 'putSegment') return typeof value === 'function' ? value.bind(target) : value;
          return async (...args: Parameters<SegmentObjects['putSegment']>) => {
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 30));
            return target.putSegment(...args);
          };
        },
      });
    const archiver = () =>
      new Archiver(
        new DynamoDbTopicStore(runtime.documents, runtime.config.metaTableName),
        partitionLogFor(runtime),
        new DynamoDbSegmentManifest(runtime.documents, { metaTableName: runtime.config.metaTableName }),
        slowed(new S3SegmentObjects(runtime.s3, runtime.config.segmentBucketName)),
      );
    const first = archiver();
    const second = archiver();
    let lostRaces = 0;
    let segments = 0;

    for (let round = 0; round < 6; round++) {
      await produceVaried('racing', 8, 10, 100 + round);
      const reports = await Promise.all([
        first.archivePartition(topic, 0),
        second.archivePartition(topic, 0),
      ]);
      for (const report of reports) {
        lostRaces += report.lostRaces;
        segments += report.segments;
      }
    }

    const entries = await manifestEntries(runtime, topic, 0);
    const objects = await segmentObjects(runtime, topic, 0);
    const { archivedOffset, highWatermark } = await partitionState('racing');
    expect(lostRaces).toBeGreaterThan(0);
    expect(entries).toHaveLength(segments);
    expectContiguous(entries, archivedOffset);
    // A loser deletes its own object unless the winner wrote the very same key: no orphan stays.
    expect(objects.map((object) => object.key).sort()).toEqual(entries.map((entry) => entry.key).sort());
    expect((await fetchAll('racing')).map((record) => record.offset)).toEqual(
      Array.from({ length: highWatermark }, (_, i) => i),
    );
  });

  it('loses nothing when the manifest write fails after the upload: the next run records the segment', async () => {
    await api.post('/v1/topics', { name: 'crash', partitions: 1, segmentBytes: 2048, segmentMs: 3_600_000 });
    await produceVaried('crash', 20, 8, 9);
    const all = await fetchAll('crash');
    const topic = await storedTopic(runtime, 'crash');
    const { archiver } = tieredStorageFor(runtime);
    faults.reset();
    faults.add({ commands: ['TransactWriteItems'], fault: 'throttle', times: 1 });

    const failed = await archiver.archivePartition(topic, 0).catch((error: unknown) => error);
    const orphans = await segmentObjects(runtime, topic, 0);
    const stateAfterCrash = await partitionState('crash');
    const fetchedAfterCrash = await fetchAll('crash');
    const report = await archiver.archivePartition(topic, 0);

    expect(failed).toBeInstanceOf(Error);
    expect(orphans).toHaveLength(1);
    expect(stateAfterCrash.archivedOffset).toBe(0);
    expect(fetchedAfterCrash).toEqual(all);
    expect(report.segments).toBeGreaterThan(1);
    expect((await segmentObjects(runtime, topic, 0)).map((object) => object.key)).toContain(orphans[0]?.key);
    expect(await fetchAll('crash')).toEqual(all);
  });

  it('loses nothing when the manifest write applies but its answer times out', async () => {
    await api.post('/v1/topics', {
      name: 'timeout',
      partitions: 1,
      segmentBytes: 2048,
      segmentMs: 3_600_000,
    });
    await produceVaried('timeout', 20, 8, 13);
    const all = await fetchAll('timeout');
    const topic = await storedTopic(runtime, 'timeout');
    const { archiver } = tieredStorageFor(runtime);
    faults.reset();
    faults.add({ commands: ['TransactWriteItems'], fault: 'timeoutAfterWrite', times: 1 });

    const failed = await archiver.archivePartition(topic, 0).catch((error: unknown) => error);
    const afterTimeout = await partitionState('timeout');
    await archiver.archivePartition(topic, 0);

    const entries = await manifestEntries(runtime, topic, 0);
    expect(failed).toBeInstanceOf(Error);
    expect(afterTimeout.archivedOffset).toBeGreaterThan(0);
    expect((await segmentObjects(runtime, topic, 0)).map((object) => object.key).sort()).toEqual(
      entries.map((entry) => entry.key).sort(),
    );
    expect(await fetchAll('timeout')).toEqual(all);
  });
});

describe('retention', () => {
  it('deletes segments archived longer ago than retentionMs, moves logStartOffset, and answers 416 below it', async () => {
    await api.post('/v1/topics', {
      name: 'retained',
      partitions: 1,
      retentionMs: 60_000,
      segmentBytes: 2048,
      segmentMs: 3_600_000,
    });
    await produceVaried('retained', 30, 8, 21);
    const all = await fetchAll('retained');
    const topic = await storedTopic(runtime, 'retained');
    await tieredStorageFor(runtime).archiver.archivePartition(topic, 0);
    const archived = await partitionState('retained');
    const segmentsBefore = await segmentObjects(runtime, topic, 0);

    const young = await tieredStorageFor({ ...runtime, clock: clockAhead(30_000) }).archiver.archivePartition(
      topic,
      0,
    );
    const old = await tieredStorageFor({ ...runtime, clock: clockAhead(61_000) }).archiver.archivePartition(
      topic,
      0,
    );
    const below = await api.get('/v1/topics/retained/partitions/0/records?offset=0');
    const state = await partitionState('retained');

    expect(segmentsBefore.length).toBeGreaterThan(1);
    expect(young.deletedSegments).toBe(0);
    expect(old.deletedSegments).toBe(segmentsBefore.length);
    expect(state.logStartOffset).toBe(archived.archivedOffset);
    expect(await segmentObjects(runtime, topic, 0)).toEqual([]);
    expect(await manifestEntries(runtime, topic, 0)).toEqual([]);
    expect(below.status).toBe(416);
    expect(below.body).toMatchObject({ logStartOffset: archived.archivedOffset, highWatermark: all.length });
    // What DynamoDB still holds past the archived segments is untouched.
    expect(await fetchAll('retained')).toEqual(all.slice(archived.archivedOffset));
  });

  it('keeps the newest segments that hold retentionBytes and deletes the older ones', async () => {
    await api.post('/v1/topics', { name: 'sized', partitions: 1, segmentBytes: 2048, segmentMs: 3_600_000 });
    await produceVaried('sized', 40, 8, 31);
    const topic = await storedTopic(runtime, 'sized');
    await tieredStorageFor(runtime).archiver.archivePartition(topic, 0);
    const entries = await manifestEntries(runtime, topic, 0);
    const keptBytes = entries.slice(-3).reduce((sum, entry) => sum + entry.batchBytes, 0);

    const patched = await api.patch('/v1/topics/sized', { retentionBytes: keptBytes });
    const report = await tieredStorageFor(runtime).archiver.archivePartition(
      await storedTopic(runtime, 'sized'),
      0,
    );

    const remaining = await manifestEntries(runtime, topic, 0);
    expect(patched.body.config.retentionBytes).toBe(keptBytes);
    expect(report.deletedSegments).toBe(entries.length - 3);
    expect(remaining).toEqual(entries.slice(-3));
    expect((await partitionState('sized')).logStartOffset).toBe(remaining[0]?.baseOffset);
  });

  it('retags segments for the lifecycle backstop when retention grows', async () => {
    await api.post('/v1/topics', {
      name: 'regrown',
      partitions: 1,
      retentionMs: 86_400_000,
      segmentBytes: 2048,
      segmentMs: 3_600_000,
    });
    await produceVaried('regrown', 20, 8, 41);
    await tieredStorageFor(runtime).archiver.archivePartition(await storedTopic(runtime, 'regrown'), 0);

    await api.patch('/v1/topics/regrown', { retentionMs: 30 * 86_400_000 });
    const topic = await storedTopic(runtime, 'regrown');
    const report = await tieredStorageFor(runtime).archiver.archivePartition(topic, 0);
    const again = await tieredStorageFor(runtime).archiver.archivePartition(topic, 0);

    const entries = await manifestEntries(runtime, topic, 0);
    expect(report.retaggedSegments).toBe(entries.length);
    expect(again.retaggedSegments).toBe(0);
    expect(entries.map((entry) => entry.retentionClassDays)).toEqual(entries.map(() => 31));
  });
});
