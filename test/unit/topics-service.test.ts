/**
 * Topic administration (`shared/domain/topic-service.ts`) as an operator uses it: create with
 * Kafka's naming rules and published bounds, describe each partition's position, grow partitions
 * and change configuration (never fewer partitions), delete at once and create again afresh.
 */
import { describe, expect, it } from 'vitest';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import {
  ConflictError,
  InvalidRequestError,
  TopicExistsError,
  TopicNotFoundError,
} from '../../shared/domain/errors.js';
import { LogService, type ProduceRecordInput } from '../../shared/domain/log-service.js';
import type { Topic, TopicConfig } from '../../shared/domain/topic.js';
import { TopicService } from '../../shared/domain/topic-service.js';
import { manualClock } from '../support/manual-clock.js';

const START = 1_800_000_000_000;
const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
const WAIT_NONE = { recordsMax: 1_000, bytesMax: 1_000_000, waitMs: 0 };

/**
 * The memory store, where a rival's update (one more partition, segmentMs one second longer) lands
 * just before each of the next `rivalWins` updates: another administrator, racing.
 */
class RacedStore extends MemoryTopicStore {
  rivalWins = 0;
  /** Updates that reached the store, not counting the rival's. */
  updates = 0;
  override async update(
    expected: Topic,
    changes: { partitionCount: number; config: TopicConfig },
  ): Promise<boolean> {
    this.updates++;
    const current = await this.get(expected.name);
    if (this.rivalWins > 0 && current) {
      this.rivalWins--;
      await super.update(current, {
        partitionCount: current.partitionCount + 1,
        config: { ...current.config, segmentMs: current.config.segmentMs + 1_000 },
      });
    }
    return super.update(expected, changes);
  }
}

function world() {
  const clock = manualClock(START);
  const store = new RacedStore();
  const log = new MemoryPartitionLog({ now: clock.now });
  return {
    clock,
    store,
    log,
    topics: new TopicService(store, log, clock),
    records: new LogService(store, log, clock),
  };
}

const record = (value: string, partition: number): ProduceRecordInput => ({
  key: null,
  value: { type: 'STRING', bytes: new TextEncoder().encode(value) },
  headers: [],
  partition,
});

const emptyPartition = (partition: number) => ({
  partition,
  logStartOffset: 0,
  highWatermark: 0,
  archivedOffset: 0,
  archivedBytes: 0,
});

/** The error a promise rejects with (the test fails when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: unknown) => error,
  );
}

describe('TopicService.create', () => {
  it('stores the topic with its partitions, the default configuration and the creation time', async () => {
    const { clock, topics, store } = world();
    clock.advance(5);

    const created = await topics.create({ name: 'orders', partitions: 3 });

    expect(created.topic).toMatchObject({
      name: 'orders',
      partitionCount: 3,
      createdAt: START + 5,
      config: {
        retentionMs: 7 * DAY_MS,
        retentionBytes: -1,
        segmentMs: HOUR_MS,
        segmentBytes: 64 * 1024 * 1024,
        localRetentionMs: DAY_MS,
      },
    });
    expect(created.topic.topicId).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.partitions).toEqual([emptyPartition(0), emptyPartition(1), emptyPartition(2)]);
    expect(await store.get('orders')).toEqual(created.topic);
  });

  it('keeps the configuration given, and only that', async () => {
    const { topics } = world();

    const created = await topics.create({
      name: 'audit',
      partitions: 1,
      retentionMs: -1,
      retentionBytes: 1_000_000,
      segmentMs: 60_000,
      segmentBytes: 1024 * 1024,
      localRetentionMs: 2 * DAY_MS,
    });

    expect(created.topic.config).toEqual({
      retentionMs: -1,
      retentionBytes: 1_000_000,
      segmentMs: 60_000,
      segmentBytes: 1024 * 1024,
      localRetentionMs: 2 * DAY_MS,
    });
  });

  it('ignores fields of the input that are not configuration', async () => {
    const { topics } = world();
    const input = { name: 'extra', partitions: 2, retentionMs: HOUR_MS, colour: 'blue' };

    const created = await topics.create(input);

    expect(Object.keys(created.topic.config).sort()).toEqual([
      'localRetentionMs',
      'retentionBytes',
      'retentionMs',
      'segmentBytes',
      'segmentMs',
    ]);
    expect(created.topic.config.localRetentionMs).toBe(HOUR_MS);
  });

  it('accepts 1 and 1024 partitions', async () => {
    const { topics } = world();

    expect((await topics.create({ name: 'one', partitions: 1 })).partitions).toHaveLength(1);
    expect((await topics.create({ name: 'many', partitions: 1024 })).topic.partitionCount).toBe(1024);
  });

  it.each([0, -1, 1025, 2.5, Number.NaN])(
    'fails when asked for %d partitions, storing nothing',
    async (partitions) => {
      const { topics, store } = world();

      const error = await rejection(topics.create({ name: 'orders', partitions }));

      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error).toMatchObject({
        field: 'partitions',
        message: `partitions must be a whole number from 1 to 1024, got ${partitions}`,
      });
      expect(await store.get('orders')).toBeUndefined();
    },
  );

  it('fails when the name breaks Kafka rules, storing nothing', async () => {
    const { topics, store } = world();

    await expect(topics.create({ name: 'bad name', partitions: 1 })).rejects.toMatchObject({ field: 'name' });
    await expect(topics.create({ name: 'ok', partitions: 1, retentionMs: 5 })).rejects.toMatchObject({
      field: 'retentionMs',
    });
    expect(await store.list(10)).toEqual([]);
  });

  it('fails when the topic exists, leaving it as it was', async () => {
    const { topics } = world();
    const first = await topics.create({ name: 'orders', partitions: 2 });

    const error = await rejection(topics.create({ name: 'orders', partitions: 5 }));

    expect(error).toBeInstanceOf(TopicExistsError);
    expect(error).toMatchObject({ topic: 'orders' });
    expect((await topics.describe('orders')).topic).toEqual(first.topic);
  });
});

describe('TopicService.list and describe', () => {
  it('lists topics in name order', async () => {
    const { topics } = world();
    for (const name of ['b', 'a', 'C']) await topics.create({ name, partitions: 1 });

    expect((await topics.list()).map((topic) => topic.name)).toEqual(['C', 'a', 'b']);
  });

  it("describes each partition's offsets after appends", async () => {
    const { topics, records } = world();
    await topics.create({ name: 'orders', partitions: 3 });
    await records.produce('orders', [record('a', 0), record('b', 0), record('c', 2)]);

    const described = await topics.describe('orders');

    expect(described.partitions).toEqual([
      { ...emptyPartition(0), highWatermark: 2 },
      emptyPartition(1),
      { ...emptyPartition(2), highWatermark: 1 },
    ]);
  });

  it('fails when the topic does not exist', async () => {
    const { topics } = world();

    const error = await rejection(topics.describe('missing'));

    expect(error).toBeInstanceOf(TopicNotFoundError);
    expect(error).toMatchObject({ topic: 'missing' });
  });
});

describe('TopicService.update', () => {
  it('adds partitions, keeping the existing ones and the configuration', async () => {
    const { topics, records } = world();
    const created = await topics.create({ name: 'orders', partitions: 2, retentionMs: HOUR_MS });
    await records.produce('orders', [record('a', 1)]);

    const updated = await topics.update('orders', { partitions: 4 });

    expect(updated.topic).toEqual({ ...created.topic, partitionCount: 4 });
    expect(updated.partitions).toEqual([
      emptyPartition(0),
      { ...emptyPartition(1), highWatermark: 1 },
      emptyPartition(2),
      emptyPartition(3),
    ]);
    expect(await topics.describe('orders')).toEqual(updated);
  });

  it('changes the configuration given and keeps the rest and the partitions', async () => {
    const { topics } = world();
    const created = await topics.create({ name: 'orders', partitions: 3, segmentBytes: 4096 });

    const updated = await topics.update('orders', { retentionMs: 2 * HOUR_MS });

    expect(updated.topic).toEqual({
      ...created.topic,
      config: { ...created.topic.config, retentionMs: 2 * HOUR_MS, localRetentionMs: 2 * HOUR_MS },
    });
    expect((await topics.describe('orders')).topic.config.segmentBytes).toBe(4096);
  });

  it('accepts the same partition count', async () => {
    const { topics } = world();
    await topics.create({ name: 'orders', partitions: 3 });

    expect((await topics.update('orders', { partitions: 3 })).topic.partitionCount).toBe(3);
  });

  it('fails when asked for fewer partitions, as Kafka does, changing nothing', async () => {
    const { topics } = world();
    const created = await topics.create({ name: 'orders', partitions: 3 });

    const error = await rejection(topics.update('orders', { partitions: 2, retentionMs: HOUR_MS }));

    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({
      field: 'partitions',
      message: "Topic 'orders' has 3 partitions; the count can only grow (asked for 2)",
    });
    expect((await topics.describe('orders')).topic).toEqual(created.topic);
  });

  it('fails on a partition count out of bounds before looking for the topic', async () => {
    const { topics, store } = world();
    await topics.create({ name: 'orders', partitions: 3 });

    await expect(topics.update('missing', { partitions: 0 })).rejects.toMatchObject({ field: 'partitions' });
    await expect(topics.update('orders', { partitions: 1025 })).rejects.toMatchObject({
      field: 'partitions',
    });
    expect(store.updates).toBe(0);
  });

  it('fails on a configuration out of bounds, changing nothing', async () => {
    const { topics, store } = world();
    await topics.create({ name: 'orders', partitions: 3, retentionMs: HOUR_MS });

    await expect(topics.update('orders', { localRetentionMs: 2 * HOUR_MS })).rejects.toMatchObject({
      field: 'localRetentionMs',
    });
    expect(store.updates).toBe(0);
  });

  it('fails when the topic does not exist', async () => {
    const { topics } = world();

    await expect(topics.update('missing', { retentionMs: HOUR_MS })).rejects.toBeInstanceOf(
      TopicNotFoundError,
    );
  });

  it('applies the change to the topic as a rival left it, after losing up to four races to it', async () => {
    const { topics, store } = world();
    await topics.create({ name: 'orders', partitions: 2 });
    store.rivalWins = 4;

    const updated = await topics.update('orders', { retentionMs: HOUR_MS });

    expect(store.updates).toBe(5);
    expect(updated.topic).toMatchObject({
      partitionCount: 6,
      config: { retentionMs: HOUR_MS, localRetentionMs: HOUR_MS, segmentMs: HOUR_MS + 4_000 },
    });
    expect(await store.get('orders')).toEqual(updated.topic);
  });

  it('fails with a conflict to retry after losing five races, changing nothing of its own', async () => {
    const { topics, store } = world();
    await topics.create({ name: 'orders', partitions: 2 });
    store.rivalWins = 5;

    const error = await rejection(topics.update('orders', { retentionMs: HOUR_MS }));

    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toBe(
      "Topic 'orders' kept changing while it was being updated; try again",
    );
    expect(store.updates).toBe(5);
    expect((await store.get('orders'))?.config.retentionMs).toBe(7 * DAY_MS);
  });

  it('checks the partition count again against what the rival left', async () => {
    const { topics, store } = world();
    await topics.create({ name: 'orders', partitions: 2 });
    store.rivalWins = 2;

    await expect(topics.update('orders', { partitions: 3 })).rejects.toMatchObject({
      field: 'partitions',
      message: "Topic 'orders' has 4 partitions; the count can only grow (asked for 3)",
    });
  });
});

describe('TopicService.delete', () => {
  it('removes the topic at once, closes every partition and hands it to the reaper', async () => {
    const { clock, topics, store, log, records } = world();
    const { topic } = await topics.create({ name: 'orders', partitions: 2 });
    await records.produce('orders', [record('a', 0)]);
    clock.advance(1_000);

    await topics.delete('orders');

    await expect(topics.describe('orders')).rejects.toBeInstanceOf(TopicNotFoundError);
    await expect(records.produce('orders', [record('b', 0)])).rejects.toBeInstanceOf(TopicNotFoundError);
    expect((await log.readHeads(topic, [0, 1])).map((head) => head.deleted)).toEqual([true, true]);
    expect(log.heads.get(topic.topicId, 1)).toMatchObject({ dl: START + 1_000 });
    expect(store.deleted).toEqual([{ topic, deletedAtMs: START + 1_000 }]);
  });

  it('fails when the topic does not exist', async () => {
    const { topics, store } = world();

    const error = await rejection(topics.delete('missing'));

    expect(error).toBeInstanceOf(TopicNotFoundError);
    expect(error).toMatchObject({ topic: 'missing' });
    expect(store.deleted).toEqual([]);
  });

  it('lets the name be created again as a new, empty topic that never shows the old records', async () => {
    const { topics, records } = world();
    const old = await topics.create({ name: 'orders', partitions: 2, retentionMs: HOUR_MS });
    await records.produce('orders', [record('old-0', 0), record('old-1', 0)]);
    await topics.delete('orders');

    const created = await topics.create({ name: 'orders', partitions: 1 });
    await records.produce('orders', [record('new-0', 0)]);

    expect(created.topic.topicId).not.toBe(old.topic.topicId);
    expect(created.topic.config.retentionMs).toBe(7 * DAY_MS);
    expect(created.partitions).toEqual([emptyPartition(0)]);
    const fetched = await records.fetch('orders', 0, 0, WAIT_NONE);
    expect(fetched.records.map((r) => new TextDecoder().decode(r.value?.bytes))).toEqual(['new-0']);
  });
});
