/**
 * SubscriptionService (subscription-service.ts) on the in-memory ports with a manual clock, for
 * what subscription-service.test.ts leaves out: the delivery state describe shows (counters summed
 * field by field, a retry only while it is at the committed offset, a lease until its deadline),
 * partitions without a committed offset, offsets of an earlier topic of the same name, the most
 * subscriptions one deployment serves, and writes that lose a race to a rival request (a store
 * wrapper lets the rival in at the chosen moment).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryGroupStore } from '../../shared/adapters/memory/group-store.js';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemorySubscriptionStore } from '../../shared/adapters/memory/subscription-store.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import {
  ConflictError,
  GroupNotEmptyError,
  SubscriptionExistsError,
  SubscriptionNotFoundError,
} from '../../shared/domain/errors.js';
import type { CommittedOffset } from '../../shared/domain/group.js';
import { GroupService } from '../../shared/domain/group-service.js';
import { LogService } from '../../shared/domain/log-service.js';
import {
  SUBSCRIPTION_LIMITS,
  type Subscription,
  type SubscriptionInput,
} from '../../shared/domain/subscription.js';
import { SubscriptionService } from '../../shared/domain/subscription-service.js';
import { TopicService } from '../../shared/domain/topic-service.js';
import { NO_COUNTS } from '../../shared/ports/subscription-store.js';
import { manualClock } from '../support/manual-clock.js';

const START = 1_800_000_000_000;
const FN = 'arn:aws:lambda:eu-west-1:123456789012:function:consumer';

/** A subscription store that runs `rival` once, just before the service's next create, update or delete. */
class RivalStore extends MemorySubscriptionStore {
  rival: (() => Promise<void>) | undefined;

  private async letRivalIn(): Promise<void> {
    const rival = this.rival;
    this.rival = undefined;
    await rival?.();
  }

  override async create(subscription: Subscription): Promise<boolean> {
    await this.letRivalIn();
    return super.create(subscription);
  }

  override async update(next: Subscription): Promise<boolean> {
    await this.letRivalIn();
    return super.update(next);
  }

  override async delete(subscription: Subscription): Promise<boolean> {
    await this.letRivalIn();
    return super.delete(subscription);
  }
}

/** A group store that also answers offset items an earlier incarnation of the group left behind. */
class LeftoverGroupStore extends MemoryGroupStore {
  readonly leftovers: CommittedOffset[] = [];

  override async readOffsets(group: string, limit: number): Promise<CommittedOffset[]> {
    return [...(await super.readOffsets(group, limit)), ...this.leftovers];
  }
}

async function world() {
  const clock = manualClock(START);
  const topics = new MemoryTopicStore();
  const partitionLog = new MemoryPartitionLog({ now: clock.now });
  const groupStore = new LeftoverGroupStore();
  const store = new RivalStore();
  const log = new LogService(topics, partitionLog, clock);
  const groups = new GroupService(groupStore, topics, partitionLog, log, clock);
  const topicService = new TopicService(topics, partitionLog, clock);
  const refused = new Set<string>();
  const service = new SubscriptionService(
    store,
    topics,
    partitionLog,
    groupStore,
    groups,
    log,
    async (target) => {
      if ('functionArn' in target && refused.has(target.functionArn)) throw new Error('no such function');
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
  return { clock, log, topics, store, groupStore, groups, topicService, service, refused, produce };
}

const input = (extra: Partial<SubscriptionInput> = {}): SubscriptionInput => ({
  name: 'sub',
  topic: 't',
  target: { functionArn: FN },
  ...extra,
});

describe('SubscriptionService.describe: delivery state', () => {
  it('sums each counter over the partitions, and shows the last error and delivery of each', async () => {
    const w = await world();
    const subscription = await w.service.create(input());
    const counters = [
      { delivered: 1, invocations: 2, errors: 3, deadLettered: 4, filtered: 5, discarded: 6 },
      { delivered: 10, invocations: 20, errors: 30, deadLettered: 40, filtered: 50, discarded: 60 },
    ];
    for (const partition of [0, 1]) {
      await w.store.acquireLease(subscription, partition, 'run', START - 1, START - 1_000);
      await w.store.saveProgress(subscription, partition, 'run', {
        retry: undefined,
        counters: counters[partition] ?? {},
        lastError: { message: `boom ${partition}`, at: START - 500, offset: partition },
        lastDeliveredAt: START - 100 * (partition + 1),
        leaseUntil: START - 1,
      });
    }

    const described = await w.service.describe('sub');

    expect(described.partitions.map((row) => row.counters)).toEqual(counters);
    expect(described.totals).toEqual({
      delivered: 11,
      invocations: 22,
      errors: 33,
      deadLettered: 44,
      filtered: 55,
      discarded: 66,
      lag: 0,
      oldestUndeliveredAgeMs: 0,
    });
    expect(described.partitions.map((row) => [row.lastError?.message, row.lastDeliveredAt])).toEqual([
      ['boom 0', START - 100],
      ['boom 1', START - 200],
    ]);
  });

  it('shows a retry only while it starts at the committed offset', async () => {
    const w = await world();
    const subscription = await w.service.create(input({ startingPosition: 'TRIM_HORIZON' }));
    await w.produce(0, 3);
    await w.produce(1, 3);
    for (const partition of [0, 1]) {
      await w.store.acquireLease(subscription, partition, 'run', START + 60_000, START);
      await w.store.saveProgress(subscription, partition, 'run', {
        // Partition 0 retries at its committed offset 0; partition 1's retry was left behind at 2.
        retry: { start: partition === 0 ? 0 : 2, end: 3, attempts: 2, retryAt: START + 1_000 },
        counters: {},
        leaseUntil: START + 60_000,
      });
    }

    const described = await w.service.describe('sub');

    expect(described.partitions.map((row) => row.retry)).toEqual([
      { attempts: 2, retryAt: START + 1_000 },
      null,
    ]);
  });

  it('shows a partition as delivering until its lease deadline, and not after it', async () => {
    const w = await world();
    const subscription = await w.service.create(input());
    await w.store.acquireLease(subscription, 0, 'run', START + 1_000, START);
    await w.store.acquireLease(subscription, 1, 'run', START + 999, START);
    w.clock.advance(1_000);

    const described = await w.service.describe('sub');

    expect(described.partitions.map((row) => row.delivering)).toEqual([true, false]);
  });

  it('shows no delivery state for a partition that has none', async () => {
    const w = await world();
    const subscription = await w.service.create(input());
    await w.store.acquireLease(subscription, 1, 'run', START + 1_000, START);

    const [first] = (await w.service.describe('sub')).partitions;

    expect(first).toMatchObject({
      counters: NO_COUNTS,
      retry: null,
      lastError: null,
      lastDeliveredAt: null,
      delivering: false,
    });
  });
});

describe('SubscriptionService.describe: positions', () => {
  it('shows the oldest undelivered age per partition, and the largest in total', async () => {
    const w = await world();
    await w.service.create(input({ startingPosition: 'TRIM_HORIZON' }));
    await w.produce(0, 1, START - 7_000);
    await w.produce(1, 2, START - 3_000);
    w.clock.advance(1_000);

    const described = await w.service.describe('sub');

    expect(described.partitions.map((row) => [row.lag, row.oldestUndeliveredAgeMs])).toEqual([
      [1, 8_000],
      [2, 4_000],
    ]);
    expect(described.totals).toMatchObject({ lag: 3, oldestUndeliveredAgeMs: 8_000 });
  });

  it('counts an undelivered record stamped in the future as age 0', async () => {
    const w = await world();
    await w.service.create(input({ startingPosition: 'TRIM_HORIZON' }));
    await w.produce(0, 1, START + 5_000);

    const [first] = (await w.service.describe('sub')).partitions;

    expect(first).toMatchObject({ lag: 1, oldestUndeliveredAgeMs: 0 });
  });

  it('shows a partition added after the subscription with no committed offset, its lag from the log start', async () => {
    const w = await world();
    await w.service.create(input());
    await w.topicService.update('t', { partitions: 3 });
    await w.produce(2, 4, START - 2_000);

    const described = await w.service.describe('sub');

    expect(described.partitions[2]).toMatchObject({
      partition: 2,
      committedOffset: null,
      highWatermark: 4,
      lag: 4,
      oldestUndeliveredAgeMs: 0,
    });
    expect(described.totals.lag).toBe(4);
  });

  it('ignores offsets its group committed for an earlier topic of the same name', async () => {
    const w = await world();
    await w.produce(0, 5);
    await w.service.create(input());
    await w.topicService.delete('t');
    await w.topicService.create({ name: 't', partitions: 2 });
    await w.produce(0, 2);

    const described = await w.service.describe('sub');

    expect(described.partitions.map((row) => [row.committedOffset, row.lag])).toEqual([
      [null, 2],
      [null, 0],
    ]);
  });
  it('shows the lag from the committed offset', async () => {
    const w = await world();
    await w.produce(0, 3);
    await w.service.create(input());
    await w.produce(0, 2, START - 4_000);

    const [first] = (await w.service.describe('sub')).partitions;

    expect(first).toMatchObject({
      committedOffset: 3,
      highWatermark: 5,
      lag: 2,
      oldestUndeliveredAgeMs: 4_000,
    });
  });

  it('ignores offset items an earlier incarnation of its group left behind', async () => {
    const w = await world();
    await w.produce(0, 3);
    await w.service.create(input());
    const topic = await w.topics.get('t');
    w.groupStore.leftovers.push({
      topic: 't',
      partition: 0,
      offset: 1,
      metadata: undefined,
      topicId: topic?.topicId ?? '',
      groupId: 'an-earlier-incarnation',
      committedAt: START - 1,
    });

    const described = await w.service.describe('sub');

    expect(described.partitions.map((row) => row.committedOffset)).toEqual([3, 0]);
  });

  it('looks up the oldest undelivered age of the first 256 lagging partitions only', async () => {
    const w = await world();
    await w.topicService.create({ name: 'wide', partitions: 258 });
    await w.service.create(input({ name: 'wide-sub', topic: 'wide', startingPosition: 'TRIM_HORIZON' }));
    const value = { type: 'STRING' as const, bytes: new Uint8Array([1]) };
    // Partition 0 stays empty, caught up: the lookups go to the lagging partitions 1 to 256.
    for (let partition = 1; partition < 258; partition++) {
      await w.log.produce('wide', [{ key: null, value, headers: [], partition, timestamp: START - 1_000 }]);
    }

    const described = await w.service.describe('wide-sub');

    const ages = described.partitions.map((row) => row.oldestUndeliveredAgeMs);
    expect(ages[0]).toBe(0);
    expect(ages.slice(1, 257).every((age) => age === 1_000)).toBe(true);
    expect(ages[257]).toBe(0);
    expect(described.totals.lag).toBe(257);
  });

  it('shows no committed offsets once its group is gone, though offset items of it are left behind', async () => {
    const w = await world();
    await w.produce(0, 3);
    await w.service.create(input());
    const topic = await w.topics.get('t');
    const [left] = await w.groupStore.readOffsets('sub', 10);
    await w.groups.delete('sub');
    if (left) w.groupStore.leftovers.push(left);

    const described = await w.service.describe('sub');

    expect(left).toMatchObject({ partition: 0, offset: 3, topicId: topic?.topicId });
    expect(described.partitions.map((row) => [row.committedOffset, row.lag])).toEqual([
      [null, 3],
      [null, 0],
    ]);
  });
});

describe('SubscriptionService.create: bounds and races', () => {
  it('sets starting offsets for a topic recreated since its named group last committed', async () => {
    const w = await world();
    await w.produce(0, 5);
    await w.groups.commit('kept', { offsets: [{ topic: 't', partition: 0, offset: 5 }] });
    await w.topicService.delete('t');
    await w.topicService.create({ name: 't', partitions: 2 });
    await w.produce(0, 2);

    await w.service.create(input({ consumerGroupId: 'kept', startingPosition: 'TRIM_HORIZON' }));

    const described = await w.service.describe('sub');
    expect(described.partitions.map((row) => row.committedOffset)).toEqual([0, 0]);
  });

  it('gives each incarnation of a name its own id', async () => {
    const w = await world();
    const first = await w.service.create(input());
    await w.service.delete('sub');

    const second = await w.service.create(input());

    expect(second.subscriptionId).not.toBe(first.subscriptionId);
    expect(second.subscriptionId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves up to subscriptionsListedMax subscriptions and refuses one more', async () => {
    const w = await world();
    const template = await w.service.create(input({ name: 's-0000' }));
    for (let n = 1; n < SUBSCRIPTION_LIMITS.subscriptionsListedMax - 1; n++) {
      const name = `s-${String(n).padStart(4, '0')}`;
      await w.store.create({ ...template, name, consumerGroupId: name, subscriptionId: randomUUID() });
    }

    await w.service.create(input({ name: 'last' }));
    const over = w.service.create(input({ name: 'one-more' }));

    await expect(over).rejects.toBeInstanceOf(ConflictError);
    await expect(over).rejects.toThrow(/already 1000 subscriptions/);
    expect(await w.service.list()).toHaveLength(SUBSCRIPTION_LIMITS.subscriptionsListedMax);
  });

  it('fails with SubscriptionExistsError when a rival creates the name first', async () => {
    const w = await world();
    const rivalId = randomUUID();
    w.store.rival = async () => {
      const rival = await w.service.create(input({ name: 'rival' }));
      await w.store.create({ ...rival, name: 'sub', consumerGroupId: 'sub-rival', subscriptionId: rivalId });
    };

    await expect(w.service.create(input())).rejects.toBeInstanceOf(SubscriptionExistsError);
    expect((await w.service.get('sub')).subscriptionId).toBe(rivalId);
  });
});

describe('SubscriptionService.update and delete: races and refusals', () => {
  it('fails with SubscriptionNotFoundError when the subscription is deleted while it is updated', async () => {
    const w = await world();
    await w.service.create(input());
    w.store.rival = () => w.service.delete('sub');

    await expect(w.service.update(input({ batchSize: 5 }))).rejects.toBeInstanceOf(SubscriptionNotFoundError);
    await expect(w.service.get('sub')).rejects.toBeInstanceOf(SubscriptionNotFoundError);
  });

  it('fails with SubscriptionNotFoundError when a rival deletes it first, and leaves the new incarnation’s group', async () => {
    const w = await world();
    await w.produce(0, 2);
    const first = await w.service.create(input());
    w.store.rival = async () => {
      await w.service.delete('sub');
      await w.service.create(input());
    };

    await expect(w.service.delete('sub')).rejects.toBeInstanceOf(SubscriptionNotFoundError);
    expect((await w.service.get('sub')).subscriptionId).not.toBe(first.subscriptionId);
    expect((await w.groups.describe('sub')).offsets.map((o) => o.committedOffset)).toEqual([2, 0]);
  });

  it('checks the target, dead-letter and output topics of an update', async () => {
    const w = await world();
    await w.service.create(input());
    w.refused.add(FN);

    await expect(w.service.update(input())).rejects.toThrow('no such function');
    w.refused.clear();
    await expect(w.service.update(input({ outputTopic: 'absent' }))).rejects.toMatchObject({
      field: 'outputTopic',
    });
    expect((await w.service.get('sub')).outputTopic).toBeUndefined();
  });

  it('keeps the starting timestamp of an AT_TIMESTAMP subscription through an update', async () => {
    const w = await world();
    await w.service.create(input({ startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: START - 5 }));

    const updated = await w.service.update(input({ enabled: false }));

    expect(updated).toMatchObject({
      startingPosition: 'AT_TIMESTAMP',
      startingPositionTimestamp: START - 5,
      enabled: false,
    });
  });

  it('deletes a subscription whose group was deleted already', async () => {
    const w = await world();
    await w.service.create(input());
    await w.groups.delete('sub');

    await w.service.delete('sub');

    expect(await w.service.list()).toEqual([]);
  });

  it('fails when its group has a live member, and leaves the group with its offsets', async () => {
    const w = await world();
    await w.produce(0, 3);
    await w.service.create(input());
    await w.groups.join('sub', { topics: ['t'], sessionTimeoutMs: 30_000 });

    await expect(w.service.delete('sub')).rejects.toBeInstanceOf(GroupNotEmptyError);
    expect((await w.groups.describe('sub')).offsets.map((o) => o.committedOffset)).toEqual([3, 0]);
  });
});
