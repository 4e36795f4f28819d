/**
 * What every SubscriptionStore must do, run in memory (unit project) and against DynamoDB Local
 * (integration project): one subscription per name and incarnation, and a partition lease that at
 * most one dispatcher run holds at a time, expiring after its deadline, with every write of
 * delivery state conditional on it.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Subscription } from '../../shared/domain/subscription.js';
import { NO_COUNTS, type SubscriptionStore } from '../../shared/ports/subscription-store.js';
import { freshName } from './fixtures.js';

const NOW = 1_000_000;

function subscription(name = freshName('s'), extra: Partial<Subscription> = {}): Subscription {
  return {
    name,
    topic: 'orders',
    target: { functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f' },
    startingPosition: 'TRIM_HORIZON',
    startingPositionTimestamp: undefined,
    batchSize: 100,
    maxBatchingWindowMs: 500,
    retryAttempts: 3,
    maxRecordAgeMs: -1,
    bisectBatchOnError: false,
    reportBatchItemFailures: false,
    onFailure: undefined,
    outputTopic: undefined,
    filters: [],
    enabled: true,
    consumerGroupId: `${name}-group`,
    subscriptionId: randomUUID(),
    consumerGroupIdGiven: false,
    createdAt: 500,
    ...extra,
  };
}

export function subscriptionStoreContract(name: string, make: () => Promise<SubscriptionStore>): void {
  describe(`SubscriptionStore contract: ${name}`, () => {
    it('stores a subscription under a free name only', async () => {
      const store = await make();
      const first = subscription();

      expect(await store.create(first)).toBe(true);
      expect(await store.create(subscription(first.name))).toBe(false);

      expect(await store.get(first.name)).toEqual(first);
      expect(await store.get(freshName('absent'))).toBeUndefined();
    });

    it('lists subscriptions in name order, at most limit', async () => {
      const store = await make();
      const before = (await store.list(1_000)).map((s) => s.name);
      const created = [subscription(), subscription()];
      for (const s of created) await store.create(s);

      const names = (await store.list(1_000)).map((s) => s.name);

      expect(names).toEqual([...before, ...created.map((s) => s.name)].sort());
      expect(await store.list(1)).toHaveLength(1);
    });

    it('updates and deletes the incarnation it names only', async () => {
      const store = await make();
      const stored = subscription();
      await store.create(stored);

      expect(await store.update({ ...stored, subscriptionId: randomUUID(), batchSize: 7 })).toBe(false);
      expect(await store.update({ ...stored, batchSize: 7 })).toBe(true);
      expect((await store.get(stored.name))?.batchSize).toBe(7);
      expect(await store.delete({ ...stored, subscriptionId: randomUUID() })).toBe(false);
      expect(await store.delete(stored)).toBe(true);
      expect(await store.get(stored.name)).toBeUndefined();
      expect(await store.delete(stored)).toBe(false);
    });

    it('leases a partition to one owner until the lease expires', async () => {
      const store = await make();
      const s = subscription();
      await store.create(s);

      const a = await store.acquireLease(s, 0, 'run-a', NOW + 1_000, NOW);
      const b = await store.acquireLease(s, 0, 'run-b', NOW + 2_000, NOW + 1_000);
      const bLater = await store.acquireLease(s, 0, 'run-b', NOW + 3_000, NOW + 1_001);

      expect(a).toEqual({
        partition: 0,
        lease: { owner: 'run-a', until: NOW + 1_000 },
        retry: undefined,
        counters: NO_COUNTS,
        lastError: undefined,
        lastDeliveredAt: undefined,
      });
      expect(b).toBeUndefined();
      expect(bLater?.lease).toEqual({ owner: 'run-b', until: NOW + 3_000 });
    });

    it('lets the owner take its own lease again, and other partitions stay free', async () => {
      const store = await make();
      const s = subscription();
      await store.create(s);
      await store.acquireLease(s, 0, 'run-a', NOW + 1_000, NOW);

      expect((await store.acquireLease(s, 0, 'run-a', NOW + 5_000, NOW))?.lease?.until).toBe(NOW + 5_000);
      expect((await store.acquireLease(s, 1, 'run-b', NOW + 5_000, NOW))?.lease?.owner).toBe('run-b');
    });

    it('saves progress only while the owner holds the lease', async () => {
      const store = await make();
      const s = subscription();
      await store.create(s);
      await store.acquireLease(s, 0, 'run-a', NOW + 1_000, NOW);
      const retry = { start: 10, end: 20, attempts: 1, retryAt: NOW + 500 };

      expect(
        await store.saveProgress(s, 0, 'run-a', {
          retry,
          counters: { delivered: 5, invocations: 2, errors: 1 },
          lastError: { message: 'boom', at: NOW, offset: 10 },
          lastDeliveredAt: NOW - 1,
          leaseUntil: NOW + 2_000,
        }),
      ).toBe(true);
      expect(
        await store.saveProgress(s, 0, 'run-a', {
          retry: undefined,
          counters: { delivered: 3 },
          leaseUntil: NOW + 3_000,
        }),
      ).toBe(true);
      expect(
        await store.saveProgress(s, 0, 'run-b', { retry, counters: { delivered: 100 }, leaseUntil: NOW }),
      ).toBe(false);

      expect(await store.readStates(s)).toEqual([
        {
          partition: 0,
          lease: { owner: 'run-a', until: NOW + 3_000 },
          retry: undefined,
          counters: { ...NO_COUNTS, delivered: 8, invocations: 2, errors: 1 },
          lastError: { message: 'boom', at: NOW, offset: 10 },
          lastDeliveredAt: NOW - 1,
        },
      ]);
    });

    it('releases a lease for its owner only', async () => {
      const store = await make();
      const s = subscription();
      await store.create(s);
      await store.acquireLease(s, 0, 'run-a', NOW + 1_000, NOW);

      await store.releaseLease(s, 0, 'run-b');
      expect(await store.acquireLease(s, 0, 'run-b', NOW + 1_000, NOW)).toBeUndefined();
      await store.releaseLease(s, 0, 'run-a');

      expect((await store.acquireLease(s, 0, 'run-b', NOW + 1_000, NOW))?.lease?.owner).toBe('run-b');
      expect(
        await store.saveProgress(s, 0, 'run-a', { retry: undefined, counters: {}, leaseUntil: NOW }),
      ).toBe(false);
    });

    it('starts a new incarnation of the name without the delivery state of the old one', async () => {
      const store = await make();
      const old = subscription();
      await store.create(old);
      await store.acquireLease(old, 0, 'run-a', NOW + 1_000, NOW);
      await store.saveProgress(old, 0, 'run-a', {
        retry: undefined,
        counters: { delivered: 9 },
        leaseUntil: NOW + 1_000,
      });
      await store.releaseLease(old, 0, 'run-a');
      await store.delete(old);
      const renewed = subscription(old.name);
      await store.create(renewed);

      const state = await store.acquireLease(renewed, 0, 'run-b', NOW + 1_000, NOW);

      expect(state?.counters).toEqual(NO_COUNTS);
      expect(await store.readStates(renewed)).toHaveLength(1);
      expect(
        await store.saveProgress(old, 0, 'run-b', { retry: undefined, counters: {}, leaseUntil: NOW }),
      ).toBe(false);
    });
  });
}
