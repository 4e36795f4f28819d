/**
 * The topic cache (`shared/domain/topic-cache.ts`): produce and fetch read topics from a copy at
 * most `LIMITS.topicCacheAgeMsMax` old, and a stale copy never writes to a deleted topic, never
 * hides a topic created again, and never refuses a partition added since. Two services over one
 * store stand for two Lambda execution environments, each with its own cache.
 */
import { describe, expect, it } from 'vitest';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import { TopicNotFoundError } from '../../shared/domain/errors.js';
import { LIMITS } from '../../shared/domain/limits.js';
import { LogService, type ProduceRecordInput } from '../../shared/domain/log-service.js';
import { partitionForKey } from '../../shared/domain/partitioner.js';
import type { Topic, TopicConfig } from '../../shared/domain/topic.js';
import { TopicCache } from '../../shared/domain/topic-cache.js';
import { TopicService } from '../../shared/domain/topic-service.js';
import type { AppendOutcome, AppendRequest } from '../../shared/ports/partition-log.js';
import type { TopicFreshness, TopicStore } from '../../shared/ports/topic-store.js';
import { type ManualClock, manualClock } from '../support/manual-clock.js';

const START = 1_800_000_000_000;
const WAIT_NONE = { recordsMax: 1_000, bytesMax: 1_000_000, waitMs: 0 };

/** The memory store, counting the reads that reach it. */
class CountingStore implements TopicStore {
  reads = 0;
  constructor(private readonly store: TopicStore) {}
  get(name: string, freshness?: TopicFreshness): Promise<Topic | undefined> {
    this.reads++;
    return this.store.get(name, freshness);
  }
  create(topic: Topic): Promise<boolean> {
    return this.store.create(topic);
  }
  list(limit: number): Promise<Topic[]> {
    return this.store.list(limit);
  }
  update(expected: Topic, changes: { partitionCount: number; config: TopicConfig }): Promise<boolean> {
    return this.store.update(expected, changes);
  }
  delete(name: string, deletedAtMs: number): Promise<Topic | undefined> {
    return this.store.delete(name, deletedAtMs);
  }
}

/** The memory log, running `beforeAppend` once before the next append is applied. */
class HeldBackLog extends MemoryPartitionLog {
  beforeAppend: (() => Promise<void>) | undefined;
  override async append(request: AppendRequest): Promise<AppendOutcome> {
    const hook = this.beforeAppend;
    this.beforeAppend = undefined;
    await hook?.();
    return super.append(request);
  }
}

/** One execution environment: its own cache over the shared store and log. */
function environment(store: TopicStore, log: MemoryPartitionLog, clock: ManualClock) {
  const counted = new CountingStore(store);
  const cache = new TopicCache(counted, clock);
  return {
    counted,
    cache,
    log: new LogService(cache, log, clock),
    topics: new TopicService(cache, log, clock),
  };
}

async function world() {
  const clock = manualClock(START);
  const store = new MemoryTopicStore();
  const log = new HeldBackLog({ now: clock.now });
  const a = environment(store, log, clock);
  const b = environment(store, log, clock);
  await b.topics.create({ name: 't', partitions: 2 });
  return { clock, store, log, a, b };
}

const text = (value: string) => ({ type: 'STRING' as const, bytes: new TextEncoder().encode(value) });
const record = (value: string, extra: Partial<ProduceRecordInput> = {}): ProduceRecordInput => ({
  key: null,
  value: text(value),
  headers: [],
  partition: 0,
  ...extra,
});

describe('TopicCache', () => {
  it('answers cached reads from a copy younger than the age limit, then reads the store again', async () => {
    const { clock, a } = await world();
    await a.cache.get('t', 'cached');
    await a.cache.get('t', 'cached');
    clock.advance(LIMITS.topicCacheAgeMsMax - 1);
    await a.cache.get('t', 'cached');
    expect(a.counted.reads).toBe(1);

    clock.advance(1);
    await a.cache.get('t', 'cached');
    expect(a.counted.reads).toBe(2);
  });

  it('reads the store on every strong read, and keeps what it read for cached ones', async () => {
    const { a } = await world();
    await a.cache.get('t');
    await a.cache.get('t', 'strong');
    await a.cache.get('t', 'cached');
    expect(a.counted.reads).toBe(2);
  });

  it('does not remember a missing topic: one created elsewhere is found at once', async () => {
    const { a, b } = await world();
    expect(await a.cache.get('later', 'cached')).toBeUndefined();
    await b.topics.create({ name: 'later', partitions: 1 });
    expect((await a.cache.get('later', 'cached'))?.name).toBe('later');
  });

  it('forgets the copy of a topic changed through it, so its own process reads its writes', async () => {
    const { a } = await world();
    await a.cache.get('t', 'cached');
    await a.topics.update('t', { partitions: 5 });
    expect((await a.cache.get('t', 'cached'))?.partitionCount).toBe(5);
    await a.topics.delete('t');
    expect(await a.cache.get('t', 'cached')).toBeUndefined();
  });

  it('keeps at most entriesMax copies, dropping the oldest', async () => {
    const clock = manualClock(START);
    const store = new MemoryTopicStore();
    const log = new MemoryPartitionLog({ now: clock.now });
    const topics = new TopicService(store, log, clock);
    for (const name of ['x', 'y', 'z']) await topics.create({ name, partitions: 1 });
    const counted = new CountingStore(store);
    const cache = new TopicCache(counted, clock, { entriesMax: 2 });
    for (const name of ['x', 'y', 'z']) await cache.get(name, 'cached');
    expect(counted.reads).toBe(3);

    await cache.get('z', 'cached');
    await cache.get('y', 'cached');
    expect(counted.reads).toBe(3);
    await cache.get('x', 'cached');
    expect(counted.reads).toBe(4);
  });

  it('keeps copies for the age given in its options', async () => {
    const { clock, store } = await world();
    const counted = new CountingStore(store);
    const cache = new TopicCache(counted, clock, { ageMsMax: 50 });
    await cache.get('t', 'cached');
    clock.advance(49);
    await cache.get('t', 'cached');
    expect(counted.reads).toBe(1);

    clock.advance(1);
    await cache.get('t', 'cached');
    expect(counted.reads).toBe(2);
  });

  it('renews the age of a copy on every store read', async () => {
    const { clock, a } = await world();
    await a.cache.get('t', 'cached');
    clock.advance(LIMITS.topicCacheAgeMsMax - 1);
    await a.cache.get('t', 'strong');
    clock.advance(LIMITS.topicCacheAgeMsMax - 1);
    await a.cache.get('t', 'cached');
    expect(a.counted.reads).toBe(2);
  });

  it('drops its copy when a strong read finds the topic gone', async () => {
    const { a, b } = await world();
    await a.cache.get('t', 'cached');
    await b.topics.delete('t');

    expect(await a.cache.get('t')).toBeUndefined();
    expect(await a.cache.get('t', 'cached')).toBeUndefined();
  });

  it('does not evict another copy when a topic it holds is read again', async () => {
    const clock = manualClock(START);
    const store = new MemoryTopicStore();
    const topics = new TopicService(store, new MemoryPartitionLog({ now: clock.now }), clock);
    for (const name of ['x', 'y']) await topics.create({ name, partitions: 1 });
    const counted = new CountingStore(store);
    const cache = new TopicCache(counted, clock, { entriesMax: 2 });
    await cache.get('x', 'cached');
    await cache.get('y', 'cached');

    await cache.get('y', 'strong');
    await cache.get('x', 'cached');
    expect(counted.reads).toBe(3);
  });

  it('forgets its copy of a topic created again through it', async () => {
    const { a, b } = await world();
    const old = await a.cache.get('t', 'cached');
    await b.topics.delete('t');

    const created = await a.topics.create({ name: 't', partitions: 1 });

    expect(created.topic.topicId).not.toBe(old?.topicId);
    expect((await a.cache.get('t', 'cached'))?.topicId).toBe(created.topic.topicId);
  });

  it('forgets its copy when an update through it loses to another process', async () => {
    const { a, b } = await world();
    const stale = await a.cache.get('t', 'cached');
    if (!stale) throw new Error('created by world()');
    await b.topics.update('t', { partitions: 3 });

    expect(await a.cache.update(stale, { partitionCount: 4, config: stale.config })).toBe(false);
    expect((await a.cache.get('t', 'cached'))?.partitionCount).toBe(3);
  });

  it('lists topics from the store, up to the limit', async () => {
    const { a, b } = await world();
    await b.topics.create({ name: 'u', partitions: 1 });

    expect((await a.cache.list(10)).map((topic) => topic.name)).toEqual(['t', 'u']);
    expect((await a.cache.list(1)).map((topic) => topic.name)).toEqual(['t']);
  });
});

describe('produce and fetch through a cached copy', () => {
  it('read the topic once per age limit, not once per request', async () => {
    const { a } = await world();
    for (let i = 0; i < 5; i++) await a.log.produce('t', [record(`v${i}`)]);
    await a.log.fetch('t', 0, 0, WAIT_NONE);
    expect(a.counted.reads).toBe(1);
  });

  it('refuse a topic deleted by another process, and write nothing to it', async () => {
    const { log, a, b } = await world();
    await a.log.produce('t', [record('before')]);
    const deleted = (await b.topics.describe('t')).topic;
    await b.topics.delete('t');

    await expect(
      a.log.produce('t', [record('after'), record('after', { partition: 1 })]),
    ).rejects.toBeInstanceOf(TopicNotFoundError);
    await expect(a.log.fetch('t', 0, 0, WAIT_NONE)).rejects.toBeInstanceOf(TopicNotFoundError);
    const heads = await log.readHeads(deleted, [0, 1]);
    expect(heads.map((head) => [head.deleted, head.highWatermark])).toEqual([
      [true, 0],
      [true, 0],
    ]);
    expect(await log.readBatchAt(deleted, 1, 0)).toBeUndefined();
  });

  it('refuse the append of a request that read the heads just before another process deleted the topic', async () => {
    const { log, a, b } = await world();
    await a.log.fetch('t', 1, 0, WAIT_NONE); // caches the topic
    const deleted = (await b.topics.describe('t')).topic;
    log.beforeAppend = () => b.topics.delete('t');

    // Partition 1 is empty: its head was absent when read, so only the tombstone refuses the write.
    await expect(a.log.produce('t', [record('late', { partition: 1 })])).rejects.toBeInstanceOf(
      TopicNotFoundError,
    );
    expect(await log.readBatchAt(deleted, 1, 0)).toBeUndefined();
    expect((await log.readHeads(deleted, [1]))[0]).toMatchObject({ deleted: true, highWatermark: 0 });
  });

  it('answer 404 for a topic whose deletion closed some partitions only (cut short), not a retryable race', async () => {
    const { store, log, a } = await world();
    await a.log.produce('t', [record('warm')]);
    const topic = await store.get('t');
    if (!topic) throw new Error('created by world()');
    // The deletion removed the topic, then closed partition 0 and was throttled before partition 1.
    await store.delete('t', START);
    await log.closePartitions({ ...topic, partitionCount: 1 }, START);

    await expect(a.log.produce('t', [record('p0'), record('p1', { partition: 1 })])).rejects.toBeInstanceOf(
      TopicNotFoundError,
    );
    expect(await log.readBatchAt(topic, 1, 0)).toBeUndefined();
  });

  it('write to and read from the new incarnation of a topic deleted and created again elsewhere', async () => {
    const { a, b } = await world();
    await a.log.produce('t', [record('old-0'), record('old-1')]);
    await b.topics.delete('t');
    await b.topics.create({ name: 't', partitions: 1 });

    const appended = await a.log.produce('t', [record('new-0')]);

    expect(appended.records).toMatchObject([{ partition: 0, offset: 0 }]);
    const fetched = await b.log.fetch('t', 0, 0, WAIT_NONE);
    expect(fetched.records.map((r) => new TextDecoder().decode(r.value?.bytes))).toEqual(['new-0']);
    expect((await a.log.fetch('t', 0, 0, WAIT_NONE)).highWatermark).toBe(1);
  });

  it('find a partition added elsewhere at once when a record names it', async () => {
    const { a, b } = await world();
    await a.log.produce('t', [record('warm')]);
    await b.topics.update('t', { partitions: 4 });

    expect((await a.log.produce('t', [record('p3', { partition: 3 })])).records).toMatchObject([
      { partition: 3, offset: 0 },
    ]);
    expect((await a.log.fetch('t', 3, 0, WAIT_NONE)).records).toHaveLength(1);
  });

  it('place keyed records by the cached partition count until the copy ages out, as a Kafka producer does', async () => {
    const { clock, a, b } = await world();
    const key = { type: 'STRING' as const, bytes: new TextEncoder().encode('k-7') };
    expect(partitionForKey(key.bytes, 2)).not.toBe(partitionForKey(key.bytes, 16));
    await a.log.produce('t', [record('warm')]);
    await b.topics.update('t', { partitions: 16 });

    const stale = await a.log.produce('t', [record('k', { partition: undefined, key })]);
    clock.advance(LIMITS.topicCacheAgeMsMax);
    const fresh = await a.log.produce('t', [record('k', { partition: undefined, key })]);

    expect(stale.records[0]?.partition).toBe(partitionForKey(key.bytes, 2));
    expect(fresh.records[0]?.partition).toBe(partitionForKey(key.bytes, 16));
  });
});
