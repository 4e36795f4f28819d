/**
 * SubscriptionService on the in-memory ports with a manual clock: where a new subscription starts
 * (its group's offsets), which changes an update refuses, what describe shows per partition and in
 * total, and what a deletion leaves behind (the group, when the request named it).
 */
import { describe, expect, it } from 'vitest';
import { MemoryGroupStore } from '../../shared/adapters/memory/group-store.js';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemorySubscriptionStore } from '../../shared/adapters/memory/subscription-store.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import {
  ConflictError,
  GroupNotFoundError,
  InvalidRequestError,
  SubscriptionExistsError,
  SubscriptionNotFoundError,
  TopicNotFoundError,
} from '../../shared/domain/errors.js';
import { GroupService } from '../../shared/domain/group-service.js';
import { LogService } from '../../shared/domain/log-service.js';
import type { SubscriptionInput, SubscriptionTarget } from '../../shared/domain/subscription.js';
import { SubscriptionService } from '../../shared/domain/subscription-service.js';
import { TopicService } from '../../shared/domain/topic-service.js';
import { manualClock } from '../support/manual-clock.js';

const START = 1_800_000_000_000;
const FN = 'arn:aws:lambda:eu-west-1:123456789012:function:consumer';

async function world() {
  const clock = manualClock(START);
  const topics = new MemoryTopicStore();
  const partitionLog = new MemoryPartitionLog({ now: clock.now });
  const groupStore = new MemoryGroupStore();
  const store = new MemorySubscriptionStore();
  const log = new LogService(topics, partitionLog, clock);
  const groups = new GroupService(groupStore, topics, partitionLog, log, clock);
  const topicService = new TopicService(topics, partitionLog, clock);
  const checked: SubscriptionTarget[] = [];
  const service = new SubscriptionService(
    store,
    topics,
    partitionLog,
    groupStore,
    groups,
    log,
    async (target) => {
      checked.push(target);
      if ('functionArn' in target && target.functionArn.endsWith(':missing')) {
        throw new InvalidRequestError('no such function', 'target');
      }
    },
    clock,
  );
  await topicService.create({ name: 't', partitions: 2 });
  const produce = async (partition: number, count: number, timestamp?: number) => {
    const value = { type: 'STRING' as const, bytes: new Uint8Array([1]) };
    await log.produce(
      't',
      Array.from({ length: count }, () => ({ key: null, value, headers: [], partition, timestamp })),
    );
  };
  return { clock, store, groups, topicService, service, checked, produce };
}

const input = (extra: Partial<SubscriptionInput> = {}): SubscriptionInput => ({
  name: 'sub',
  topic: 't',
  target: { functionArn: FN },
  ...extra,
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

const committed = async (w: Awaited<ReturnType<typeof world>>, group = 'sub') =>
  (await w.groups.describe(group)).offsets.map((o) => o.committedOffset);

describe('SubscriptionService.create', () => {
  it('starts a new group at the end of each partition for LATEST, the default', async () => {
    const w = await world();
    await w.produce(0, 3);
    await w.produce(1, 1);

    const subscription = await w.service.create(input());

    expect(subscription).toMatchObject({
      name: 'sub',
      topic: 't',
      startingPosition: 'LATEST',
      consumerGroupId: 'sub',
      consumerGroupIdGiven: false,
      createdAt: START,
      enabled: true,
    });
    expect(await committed(w)).toEqual([3, 1]);
    expect(w.checked).toEqual([{ functionArn: FN }]);
  });

  it('starts at the log start for TRIM_HORIZON, and at a timestamp for AT_TIMESTAMP', async () => {
    const w = await world();
    await w.produce(0, 2, START - 10);
    await w.produce(0, 2, START + 10);

    await w.service.create(input({ startingPosition: 'TRIM_HORIZON' }));
    await w.service.create(
      input({ name: 'at', startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: START }),
    );

    expect(await committed(w)).toEqual([0, 0]);
    expect(await committed(w, 'at')).toEqual([2, 0]);
  });

  it('keeps the offsets a named group already has, and starts only the partitions without one', async () => {
    const w = await world();
    await w.produce(0, 5);
    await w.produce(1, 5);
    await w.groups.commit('shared', { offsets: [{ topic: 't', partition: 0, offset: 2 }] });

    const subscription = await w.service.create(
      input({ consumerGroupId: 'shared', startingPosition: 'TRIM_HORIZON' }),
    );

    expect(subscription.consumerGroupIdGiven).toBe(true);
    expect(await committed(w, 'shared')).toEqual([2, 0]);
  });

  it('refuses a second subscription of the same name or on the same group', async () => {
    const w = await world();
    await w.service.create(input());

    await expect(w.service.create(input())).rejects.toBeInstanceOf(SubscriptionExistsError);
    await expect(w.service.create(input({ name: 'other', consumerGroupId: 'sub' }))).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect(await w.service.list()).toHaveLength(1);
  });

  it('refuses a missing topic, dead-letter topic, output topic or function, and creates nothing', async () => {
    const w = await world();

    await expect(w.service.create(input({ topic: 'absent' }))).rejects.toBeInstanceOf(TopicNotFoundError);
    const deadLetter = await rejection(w.service.create(input({ onFailure: { topic: 'absent' } })));
    const output = await rejection(w.service.create(input({ outputTopic: 'absent' })));
    const target = await rejection(
      w.service.create(input({ target: { functionArn: `${FN.replace(':consumer', '')}:missing` } })),
    );

    expect(deadLetter).toMatchObject({ field: 'onFailure.topic' });
    expect(output).toMatchObject({ field: 'outputTopic' });
    expect(target).toMatchObject({ field: 'target' });
    expect(await w.service.list()).toEqual([]);
    await expect(w.groups.describe('sub')).rejects.toBeInstanceOf(GroupNotFoundError);
  });

  it('accepts existing dead-letter and output topics', async () => {
    const w = await world();
    await w.topicService.create({ name: 'dlq', partitions: 1 });
    await w.topicService.create({ name: 'out', partitions: 1 });

    const subscription = await w.service.create(input({ onFailure: { topic: 'dlq' }, outputTopic: 'out' }));

    expect(subscription).toMatchObject({ onFailure: { topic: 'dlq' }, outputTopic: 'out' });
  });
});

describe('SubscriptionService.update', () => {
  it('changes settings and keeps position, identity and creation time', async () => {
    const w = await world();
    const created = await w.service.create(input({ startingPosition: 'TRIM_HORIZON' }));
    w.clock.advance(1_000);

    const updated = await w.service.update(input({ batchSize: 7, startingPosition: 'LATEST' }));

    expect(updated).toMatchObject({
      batchSize: 7,
      startingPosition: 'TRIM_HORIZON',
      subscriptionId: created.subscriptionId,
      createdAt: START,
      consumerGroupIdGiven: false,
    });
    expect(await w.service.get('sub')).toEqual(updated);
  });

  it('refuses to change the topic or the group, or to update what does not exist', async () => {
    const w = await world();
    await w.topicService.create({ name: 'u', partitions: 1 });
    await w.service.create(input());

    expect(await rejection(w.service.update(input({ topic: 'u' })))).toMatchObject({ field: 'topic' });
    expect(await rejection(w.service.update(input({ consumerGroupId: 'g2' })))).toMatchObject({
      field: 'consumerGroupId',
    });
    await expect(w.service.update(input({ name: 'absent' }))).rejects.toBeInstanceOf(
      SubscriptionNotFoundError,
    );
    const dlq = await rejection(w.service.update(input({ onFailure: { topic: 'absent' } })));
    expect(dlq).toMatchObject({ field: 'onFailure.topic' });
  });
});

describe('SubscriptionService.describe', () => {
  it('shows per partition the committed offset, lag and the age of the oldest undelivered record', async () => {
    const w = await world();
    await w.service.create(input({ startingPosition: 'TRIM_HORIZON' }));
    await w.produce(0, 3);
    w.clock.advance(5_000);

    const described = await w.service.describe('sub');

    expect(described.partitions).toEqual([
      {
        partition: 0,
        committedOffset: 0,
        highWatermark: 3,
        lag: 3,
        oldestUndeliveredAgeMs: 5_000,
        counters: { delivered: 0, invocations: 0, errors: 0, deadLettered: 0, filtered: 0, discarded: 0 },
        retry: null,
        lastError: null,
        lastDeliveredAt: null,
        delivering: false,
      },
      expect.objectContaining({ partition: 1, committedOffset: 0, highWatermark: 0, lag: 0 }),
    ]);
    expect(described.totals).toMatchObject({ lag: 3, oldestUndeliveredAgeMs: 5_000, delivered: 0 });
  });

  it('answers no partitions once the topic is gone', async () => {
    const w = await world();
    await w.service.create(input());
    await w.topicService.delete('t');

    const described = await w.service.describe('sub');

    expect(described.partitions).toEqual([]);
    expect(described.totals).toMatchObject({ lag: 0, oldestUndeliveredAgeMs: 0 });
  });

  it('fails for a subscription that does not exist, or a malformed name', async () => {
    const w = await world();

    await expect(w.service.describe('absent')).rejects.toBeInstanceOf(SubscriptionNotFoundError);
    await expect(w.service.get('bad name!')).rejects.toBeInstanceOf(InvalidRequestError);
  });
});

describe('SubscriptionService.delete', () => {
  it('deletes the subscription and the group named after it', async () => {
    const w = await world();
    await w.service.create(input());

    await w.service.delete('sub');

    expect(await w.service.list()).toEqual([]);
    await expect(w.groups.describe('sub')).rejects.toBeInstanceOf(GroupNotFoundError);
    await expect(w.service.delete('sub')).rejects.toBeInstanceOf(SubscriptionNotFoundError);
  });

  it('keeps a group the request named, with its offsets', async () => {
    const w = await world();
    await w.produce(0, 4);
    await w.service.create(input({ consumerGroupId: 'kept' }));

    await w.service.delete('sub');

    expect(await committed(w, 'kept')).toEqual([4, 0]);
  });
});
