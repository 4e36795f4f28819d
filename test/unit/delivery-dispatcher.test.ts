/**
 * The dispatcher's runs (`dispatcher.ts`) on the in-memory ports: which partitions a trigger
 * wakes, partitions drained side by side up to the concurrency, partitions the group has no
 * offset for, leases held by another run, the memo of subscribed topics that ends runs for other
 * topics at once, failures reported per subscription and partition, and the run's report.
 */
import { describe, expect, it } from 'vitest';
import type { DispatchTrigger } from '../../shared/domain/dispatcher.js';
import { deliveryWorld, eventRecords, FN, RUN_MS, START } from '../support/delivery-world.js';

/** The partition of each invocation, in invocation order. */
const invokedPartitions = (w: Awaited<ReturnType<typeof deliveryWorld>>) =>
  w.invoker.invocations.map((invocation) => eventRecords(invocation.event)[0]?.partition);

async function threePartitions(options: Parameters<typeof deliveryWorld>[0] = {}) {
  const w = await deliveryWorld({ partitions: 3, ...options });
  await w.subscribe({ batchSize: 1 });
  for (const partition of [0, 1, 2]) {
    await w.log.produce(
      't',
      ['a', 'b'].map((value) => ({
        key: null,
        value: { type: 'STRING' as const, bytes: new TextEncoder().encode(value) },
        headers: [],
        partition,
      })),
    );
  }
  w.invoker.register(FN, () => undefined);
  const topic = await w.topics.get('t');
  if (!topic) throw new Error('created');
  const appends = (...partitions: number[]): DispatchTrigger => ({
    kind: 'appends',
    partitions: partitions.map((partition) => ({ topicId: topic.topicId, partition })),
  });
  return { ...w, topic, appends };
}

describe('which partitions a run delivers', () => {
  it('delivers every partition with records on a sweep, side by side', async () => {
    const w = await threePartitions();

    const report = await w.run();

    expect(invokedPartitions(w)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(report.subscriptions).toEqual([
      {
        subscription: 'sub',
        topic: 't',
        counters: { delivered: 6, invocations: 6, errors: 0, deadLettered: 0, filtered: 0, discarded: 0 },
        partitions: 3,
        lag: 0,
        oldestUndeliveredAgeMs: 0,
      },
    ]);
  });

  it('drains one partition after the other with a concurrency of 1', async () => {
    const w = await threePartitions({ dispatcher: { concurrency: 1 } });

    await w.run();

    expect(invokedPartitions(w)).toEqual([0, 0, 1, 1, 2, 2]);
  });

  it('drains two partitions at a time with a concurrency of 2', async () => {
    const w = await threePartitions({ dispatcher: { concurrency: 2 } });

    await w.run();

    expect(invokedPartitions(w)).toEqual([0, 1, 0, 1, 2, 2]);
  });

  it('delivers only the partitions appended to, once each, and none the topic does not have', async () => {
    const w = await threePartitions();

    const report = await w.dispatcher.run(w.appends(2, 7, 0, 2), w.clock.now() + RUN_MS);

    expect(invokedPartitions(w)).toEqual([0, 2, 0, 2]);
    expect(report.subscriptions[0]?.partitions).toBe(2);
  });

  it('ignores appends to partitions of another topic', async () => {
    const w = await threePartitions();
    await w.topicService.create({ name: 'other', partitions: 3 });
    const other = await w.topics.get('other');
    if (!other) throw new Error('created');

    const report = await w.dispatcher.run(
      { kind: 'appends', partitions: [{ topicId: other.topicId, partition: 1 }] },
      w.clock.now() + RUN_MS,
    );

    expect(report.subscriptions).toEqual([]);
    expect(w.invoker.invocations).toEqual([]);
  });

  it('leaves out caught-up partitions and subscriptions with nothing to deliver', async () => {
    const w = await threePartitions();
    await w.run();
    await w.log.produce('t', [
      {
        key: null,
        value: { type: 'STRING', bytes: new TextEncoder().encode('c') },
        headers: [],
        partition: 1,
      },
    ]);

    const report = await w.run();
    const idle = await w.run();

    expect(report.subscriptions[0]?.partitions).toBe(1);
    expect(invokedPartitions(w).slice(6)).toEqual([1]);
    expect(idle.subscriptions).toEqual([]);
  });

  it('delivers a partition the group has no offset for from its earliest record', async () => {
    const w = await deliveryWorld();
    await w.subscribe({ startingPosition: 'LATEST' });
    w.invoker.register(FN, () => undefined);
    await w.topicService.update('t', { partitions: 2 });
    await w.log.produce('t', [
      {
        key: null,
        value: { type: 'STRING', bytes: new TextEncoder().encode('x') },
        headers: [],
        partition: 1,
      },
      {
        key: null,
        value: { type: 'STRING', bytes: new TextEncoder().encode('y') },
        headers: [],
        partition: 1,
      },
    ]);

    const report = await w.run();

    expect(invokedPartitions(w)).toEqual([1]);
    expect(w.batches()).toEqual([[0, 1]]);
    expect(report.subscriptions[0]?.partitions).toBe(1);
    expect(await w.committed(1)).toBe(2);
  });

  it('sets the group up again when it was deleted by hand, from the earliest records', async () => {
    const w = await deliveryWorld();
    await w.produce('a');
    await w.subscribe({ startingPosition: 'LATEST' });
    w.invoker.register(FN, () => undefined);
    const group = (await w.memoryGroups.read('sub')).record;
    if (!group) throw new Error('created with the subscription');
    await w.memoryGroups.delete('sub', group.groupId, group.generation);

    await w.run();

    expect(w.batches()).toEqual([[0]]);
    expect(await w.committed()).toBe(1);
  });

  it('delivers nothing for a subscription whose topic was deleted', async () => {
    const w = await deliveryWorld();
    await w.produce('a');
    await w.subscribe();
    w.invoker.register(FN, () => undefined);
    await w.topicService.delete('t');

    const report = await w.run();

    expect(report).toEqual({ subscriptions: [], failures: [], durationMs: 0 });
    expect(w.invoker.invocations).toEqual([]);
  });

  it('skips a partition another run holds the lease of, and delivers it once the lease is released', async () => {
    const w = await deliveryWorld();
    await w.produce('a');
    const subscription = await w.subscribe();
    w.invoker.register(FN, () => undefined);
    await w.subscriptionStore.acquireLease(subscription, 0, 'rival', START + 60_000, START);

    const held = await w.run();
    await w.subscriptionStore.releaseLease(subscription, 0, 'rival');
    const released = await w.run();

    expect(held.subscriptions[0]?.partitions).toBe(0);
    expect(released.subscriptions[0]?.partitions).toBe(1);
    expect(w.batches()).toEqual([[0]]);
  });
});

describe('failures of a run', () => {
  it('reports a subscription whose group has a live member, and delivers the others', async () => {
    const w = await deliveryWorld();
    await w.produce('a');
    await w.subscribe();
    await w.subscriptions.create({
      name: 'other',
      topic: 't',
      target: { functionArn: FN },
      startingPosition: 'TRIM_HORIZON',
      maxBatchingWindowMs: 0,
    });
    await w.groups.join('sub', { topics: ['t'], sessionTimeoutMs: 60_000 });
    w.invoker.register(FN, () => undefined);

    const report = await w.run();

    expect(report.failures).toEqual([
      {
        subscription: 'sub',
        error: new Error(
          "Consumer group 'sub' has 1 live member(s): the subscription delivers only while its group has none",
        ),
      },
    ]);
    expect(report.subscriptions.map((s) => s.subscription)).toEqual(['other']);
    expect(w.batches()).toEqual([[0]]);
  });

  it('reports a partition whose function timeout cannot be read, and delivers nothing there', async () => {
    const w = await deliveryWorld();
    await w.produce('a');
    await w.subscribe();
    w.invoker.register(FN, () => undefined);
    w.invoker.timeoutMs = async () => {
      throw new Error('GetFunctionConfiguration failed');
    };

    const report = await w.run();

    expect(report.failures).toEqual([
      { subscription: 'sub', partition: 0, error: new Error('GetFunctionConfiguration failed') },
    ]);
    expect(w.invoker.invocations).toEqual([]);
    expect(report.subscriptions[0]?.partitions).toBe(0);
  });

  it('reports the lag a failed delivery leaves, and releases its lease so the next run takes it at once', async () => {
    const w = await deliveryWorld();
    await w.produce('a');
    await w.subscribe();
    let calls = 0;
    w.invoker.register(FN, async () => {
      calls++;
      if (calls === 1) await w.groups.join('sub', { topics: ['t'], sessionTimeoutMs: 1_000 });
    });

    const failed = await w.run();
    w.manual.advance(1_001); // the member's session ends
    const later = await w.run();

    expect(failed.failures).toHaveLength(1);
    expect(failed.subscriptions[0]?.lag).toBe(1);
    expect(later.failures).toEqual([]);
    expect(later.subscriptions[0]?.partitions).toBe(1);
    expect(await w.committed()).toBe(1);
  });

  it('does not set a group up again for a subscription deleted since the run listed it', async () => {
    const w = await deliveryWorld();
    await w.produce('a');
    const subscription = await w.subscribe();
    w.invoker.register(FN, () => undefined);
    const group = (await w.memoryGroups.read('sub')).record;
    if (!group) throw new Error('created with the subscription');
    await w.memoryGroups.delete('sub', group.groupId, group.generation);
    const get = w.subscriptionStore.get.bind(w.subscriptionStore);
    w.subscriptionStore.get = async (name) => {
      const found = await get(name);
      return found && { ...found, subscriptionId: `${subscription.subscriptionId}-again` };
    };

    const report = await w.run();

    expect(report.subscriptions).toEqual([]);
    expect(report.failures).toEqual([]);
    expect((await w.memoryGroups.read('sub')).record).toBeUndefined();
  });
});

describe('the memo of subscribed topics', () => {
  async function twoTopics(options: Parameters<typeof deliveryWorld>[0] = {}) {
    const w = await deliveryWorld(options);
    await w.topicService.create({ name: 'other', partitions: 1 });
    await w.subscribe();
    w.invoker.register(FN, () => undefined);
    const other = await w.topics.get('other');
    if (!other) throw new Error('created');
    const appendsToOther: DispatchTrigger = {
      kind: 'appends',
      partitions: [{ topicId: other.topicId, partition: 0 }],
    };
    const subscribeOther = () =>
      w.subscriptions.create({
        name: 'sub2',
        topic: 'other',
        target: { functionArn: FN },
        startingPosition: 'TRIM_HORIZON',
        maxBatchingWindowMs: 0,
      });
    const produceOther = () =>
      w.log.produce('other', [
        {
          key: null,
          value: { type: 'STRING', bytes: new TextEncoder().encode('o') },
          headers: [],
          partition: 0,
        },
      ]);
    return { ...w, appendsToOther, subscribeOther, produceOther };
  }

  it('ends a run for appends to a topic without subscriptions at once, until the memo is old', async () => {
    const w = await twoTopics({ dispatcher: { subscribedTopicsCacheMs: 5_000 } });
    await w.run();
    await w.subscribeOther();
    await w.produceOther();

    const early = await w.dispatcher.run(w.appendsToOther, w.clock.now() + RUN_MS);
    w.manual.advance(4_999);
    const stillEarly = await w.dispatcher.run(w.appendsToOther, w.clock.now() + RUN_MS);
    w.manual.advance(1);
    const late = await w.dispatcher.run(w.appendsToOther, w.clock.now() + RUN_MS);

    expect(early.subscriptions).toEqual([]);
    expect(stillEarly.subscriptions).toEqual([]);
    expect(late.subscriptions.map((s) => s.subscription)).toEqual(['sub2']);
    expect(w.batches()).toEqual([[0]]);
  });

  it('reads the subscriptions on every run with a memo of 0', async () => {
    const w = await twoTopics({ dispatcher: { subscribedTopicsCacheMs: 0 } });
    await w.run();
    await w.subscribeOther();
    await w.produceOther();

    const report = await w.dispatcher.run(w.appendsToOther, w.clock.now() + RUN_MS);

    expect(report.subscriptions.map((s) => s.subscription)).toEqual(['sub2']);
  });

  it('keeps no memo from a run that failed to read a subscription', async () => {
    const w = await twoTopics();
    await w.groups.join('sub', { topics: ['t'], sessionTimeoutMs: 60_000 });
    const failed = await w.run();
    await w.subscribeOther();
    await w.produceOther();

    const report = await w.dispatcher.run(w.appendsToOther, w.clock.now() + RUN_MS);

    expect(failed.failures).toHaveLength(1);
    expect(report.subscriptions.map((s) => s.subscription)).toEqual(['sub2']);
  });

  it('runs for appends to a subscribed topic among others', async () => {
    const w = await twoTopics();
    await w.produce('a');
    await w.run();
    await w.produce('b');
    const t = await w.topics.get('t');
    if (!t) throw new Error('created');

    const report = await w.dispatcher.run(
      {
        kind: 'appends',
        partitions: [...w.appendsToOther.partitions, { topicId: t.topicId, partition: 0 }],
      },
      w.clock.now() + RUN_MS,
    );

    expect(report.subscriptions.map((s) => s.subscription)).toEqual(['sub']);
    expect(w.batches()).toEqual([[0], [1]]);
  });
});

describe('the report', () => {
  it('adds up the lag of the partitions it leaves and keeps the oldest age', async () => {
    const w = await threePartitions({ dispatcher: { waitMsMax: 10 } });
    w.invoker.register(FN, (event) => {
      if (eventRecords(event)[0]?.partition !== 1) throw new Error('down');
    });
    w.manual.advance(3_000);

    const report = await w.run();

    expect(report.subscriptions[0]?.lag).toBe(4);
    expect(report.subscriptions[0]?.oldestUndeliveredAgeMs).toBe(3_000);
    expect(report.subscriptions[0]?.counters).toMatchObject({ delivered: 2, errors: 2, invocations: 4 });
  });

  it('measures its duration on the clock', async () => {
    const w = await deliveryWorld();
    await w.produce('a', 'b');
    await w.subscribe({ batchSize: 1 });
    w.invoker.register(FN, () => {
      w.manual.advance(250);
    });

    const report = await w.run();

    expect(report.durationMs).toBe(500);
  });
});
