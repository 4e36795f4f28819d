/**
 * One partition's delivery during a run (`partition-delivery.ts`) on the in-memory ports with a
 * manual clock: the batching window, records deleted by retention before delivery, commits that
 * meet a rebalance, a reset, a conflict or a timeout, the lease and the run's deadline, retries
 * left to a later run, and the lag a run reports when it leaves a partition.
 */
import { describe, expect, it } from 'vitest';
import { deliveryWorld, eventRecords, FN, START, text } from '../support/delivery-world.js';

describe('the batching window', () => {
  it('waits for the window after the oldest record before invoking, and delivers what arrived meanwhile', async () => {
    const w = await deliveryWorld();
    await w.subscribe({ maxBatchingWindowMs: 1_000, batchSize: 10 });
    await w.produce('a', 'b');
    w.invoker.register(FN, () => undefined);
    w.hooks.onSleep = async () => {
      w.hooks.onSleep = undefined;
      await w.produce('c');
    };

    await w.run();

    expect(w.sleeps).toEqual([1_000]);
    expect(w.batches()).toEqual([[0, 1, 2]]);
    expect(w.invoker.invocations).toHaveLength(1);
  });

  it('waits only what is left of the window of a record that waited before the run', async () => {
    const w = await deliveryWorld();
    await w.subscribe({ maxBatchingWindowMs: 1_000, batchSize: 10 });
    await w.produce('a');
    w.manual.advance(600);
    w.invoker.register(FN, () => undefined);

    await w.run();

    expect(w.sleeps).toEqual([400]);
    expect(w.batches()).toEqual([[0]]);
  });

  it('waits no longer than a run may wait in place', async () => {
    const w = await deliveryWorld({ dispatcher: { waitMsMax: 2_000 } });
    await w.subscribe({ maxBatchingWindowMs: 60_000, batchSize: 10 });
    await w.produce('a');
    w.invoker.register(FN, () => undefined);

    await w.run();

    expect(w.sleeps).toEqual([2_000]);
    expect(w.batches()).toEqual([[0]]);
  });

  it('does not wait for a full batch, nor for a window that closed', async () => {
    const w = await deliveryWorld();
    await w.subscribe({ maxBatchingWindowMs: 1_000, batchSize: 2 });
    await w.produce('a', 'b', 'c');
    w.invoker.register(FN, () => undefined);

    await w.run();

    // [0, 1] is full; the window of 2 is waited for once.
    expect(w.sleeps).toEqual([1_000]);
    expect(w.batches()).toEqual([[0, 1], [2]]);
    w.manual.advance(5_000);
    await w.produce('d');
    w.manual.advance(1_000);
    await w.run();
    expect(w.sleeps).toEqual([1_000]);
    expect(w.batches()).toEqual([[0, 1], [2], [3]]);
  });

  it('does not wait for a window that would end after the run must stop', async () => {
    const w = await deliveryWorld();
    await w.subscribe({ maxBatchingWindowMs: 5_000, batchSize: 10 });
    await w.produce('a');
    w.invoker.register(FN, () => undefined); // a timeout of 3 s

    await w.run(7_000);

    expect(w.sleeps).toEqual([]);
    expect(w.batches()).toEqual([[0]]);
  });

  it('does not wait for a window before a retry', async () => {
    const w = await deliveryWorld();
    await w.subscribe({ maxBatchingWindowMs: 1_000, batchSize: 10, retryAttempts: 3 });
    await w.produce('a');
    let calls = 0;
    w.invoker.register(FN, () => {
      calls++;
      if (calls === 1) throw new Error('once');
    });

    await w.run();

    // The window, then the backoff (100 ms jittered by half: 75) before the retry, and no window again.
    expect(w.sleeps).toEqual([1_000, 75]);
    expect(w.batches()).toEqual([[0], [0]]);
  });
});

describe('records deleted by retention before delivery', () => {
  it('moves to the log start, counts the records lost and records why', async () => {
    const w = await deliveryWorld();
    await w.produce('a', 'b', 'c', 'd', 'e');
    await w.subscribe();
    const topic = await w.topics.get('t');
    if (!topic) throw new Error('created');
    w.partitionLog.heads.upsert(topic.topicId, 0).lso = 3;
    w.invoker.register(FN, () => undefined);

    const report = await w.run();

    expect(w.batches()).toEqual([[3, 4]]);
    expect(await w.committed()).toBe(5);
    expect(report.subscriptions[0]?.counters).toEqual({
      delivered: 2,
      invocations: 1,
      errors: 1,
      deadLettered: 0,
      filtered: 0,
      discarded: 3,
    });
    const state = await w.state();
    expect(state?.lastError).toEqual({
      message: 'Retention deleted 3 record(s) at offsets 0 to 2 before they were delivered',
      offset: 0,
      at: START,
    });
    expect(state?.counters).toMatchObject({ discarded: 3, errors: 1, delivered: 2 });
  });

  it('drops the retry of records retention deleted', async () => {
    const w = await deliveryWorld({ dispatcher: { waitMsMax: 10 } });
    await w.produce('a', 'b', 'c');
    await w.subscribe({ retryAttempts: 5 });
    let calls = 0;
    w.invoker.register(FN, () => {
      calls++;
      if (calls === 1) throw new Error('once');
    });
    await w.run();
    const retried = (await w.state())?.retry;
    const topic = await w.topics.get('t');
    if (!topic) throw new Error('created');
    w.partitionLog.heads.upsert(topic.topicId, 0).lso = 2;
    w.manual.advance(1_000);

    await w.run();

    expect(retried).toMatchObject({ start: 0, end: 3, attempts: 1 });
    expect(w.batches()).toEqual([[0, 1, 2], [2]]);
    expect((await w.state())?.retry).toBeUndefined();
    expect(await w.committed()).toBe(3);
  });
});

describe('commits that meet another writer', () => {
  it('goes on from where a reset moved the offset during an invocation', async () => {
    const w = await deliveryWorld();
    await w.produce('a', 'b', 'c', 'd', 'e', 'f');
    await w.subscribe({ batchSize: 2 });
    let calls = 0;
    w.invoker.register(FN, async () => {
      calls++;
      if (calls === 1) await w.groups.reset('sub', { topic: 't', to: { kind: 'offset', offset: 4 } });
    });

    const report = await w.run();

    // The reset moved the generation: the commit is fenced, re-reads the group, then finds the
    // offset moved past its batch and goes on from there.
    expect(w.groupStore.commits).toEqual(['generation-changed', 'regressed', 'committed']);
    expect(w.batches()).toEqual([
      [0, 1],
      [4, 5],
    ]);
    expect(await w.committed()).toBe(6);
    expect(report.failures).toEqual([]);
  });

  it('commits again in the new generation after a consumer came and went during an invocation', async () => {
    const w = await deliveryWorld();
    await w.produce('a', 'b');
    await w.subscribe();
    let calls = 0;
    w.invoker.register(FN, async () => {
      calls++;
      if (calls === 1) {
        const member = await w.groups.join('sub', { topics: ['t'], sessionTimeoutMs: 10_000 });
        await w.groups.leave('sub', member.memberId);
      }
    });

    const report = await w.run();

    expect(w.groupStore.commits).toEqual(['generation-changed', 'committed']);
    expect(report.failures).toEqual([]);
    expect(w.batches()).toEqual([[0, 1]]);
    expect(await w.committed()).toBe(2);
  });

  it('fails the run of the partition when a consumer joined the group during an invocation, keeping the offset', async () => {
    const w = await deliveryWorld();
    await w.produce('a', 'b');
    await w.subscribe();
    let calls = 0;
    w.invoker.register(FN, async () => {
      calls++;
      if (calls === 1) await w.groups.join('sub', { topics: ['t'], sessionTimeoutMs: 10_000 });
    });

    const report = await w.run();

    expect(report.failures).toEqual([
      {
        subscription: 'sub',
        partition: 0,
        error: new Error(
          "Consumer group 'sub' has 1 live member(s): the subscription delivers only while its group has none",
        ),
      },
    ]);
    expect(await w.committed()).toBe(0);
    const state = await w.state();
    expect(state?.lastError?.message).toContain('live member');
    expect(state?.counters.errors).toBe(1);
    expect(state?.lease).toBeUndefined();
  });

  it('fails when the group was deleted during delivery', async () => {
    const w = await deliveryWorld();
    await w.produce('a');
    await w.subscribe();
    w.groupStore.answers.push({ outcome: { kind: 'generation-changed' } });
    w.groupStore.beforeCommit = async () => {
      w.groupStore.beforeCommit = undefined;
      const group = (await w.memoryGroups.read('sub')).record;
      if (group) await w.memoryGroups.delete('sub', group.groupId, group.generation);
    };
    w.invoker.register(FN, () => undefined);

    const report = await w.run();

    expect(report.failures.map((f) => (f.error as Error).message)).toEqual([
      "Consumer group 'sub' was deleted during delivery",
    ]);
  });

  it('retries a commit that met a conflict, after a pause', async () => {
    const w = await deliveryWorld();
    await w.produce('a');
    await w.subscribe();
    w.groupStore.answers.push({ outcome: { kind: 'conflict' } });
    w.invoker.register(FN, () => undefined);

    await w.run();

    expect(w.groupStore.commits).toEqual(['conflict', 'committed']);
    expect(w.sleeps).toEqual([10]);
    expect(await w.committed()).toBe(1);
  });

  it('takes a commit whose answer was lost as written once the stored offset shows it', async () => {
    const w = await deliveryWorld();
    await w.produce('a', 'b');
    await w.subscribe({ batchSize: 1 });
    w.groupStore.answers.push({ outcome: { kind: 'unknown' }, apply: true });
    w.invoker.register(FN, () => undefined);

    await w.run();

    expect(w.groupStore.commits).toEqual(['unknown', 'committed']);
    expect(w.sleeps).toEqual([]);
    expect(w.batches()).toEqual([[0], [1]]);
    expect(await w.committed()).toBe(2);
  });

  it('stops delivering the partition after four commits that did not land, to redeliver later', async () => {
    const w = await deliveryWorld();
    await w.produce('a');
    await w.subscribe();
    for (let i = 0; i < 4; i++) w.groupStore.answers.push({ outcome: { kind: 'unknown' } });
    w.invoker.register(FN, () => undefined);

    const stopped = await w.run();
    const later = await w.run();

    expect(w.sleeps).toEqual([10, 20, 30, 40]);
    expect(stopped.subscriptions[0]?.lag).toBe(1);
    expect(stopped.subscriptions[0]?.counters.delivered).toBe(0);
    expect(stopped.failures).toEqual([]);
    expect(later.subscriptions[0]?.counters.delivered).toBe(1);
    expect(w.batches()).toEqual([[0], [0]]);
    expect(await w.committed()).toBe(1);
  });
});

describe('the lease and the deadline', () => {
  it('extends the lease before an invocation that could outlast it', async () => {
    const w = await deliveryWorld({ dispatcher: { leaseMarginMs: 500 } });
    await w.produce('a', 'b');
    await w.subscribe({ batchSize: 1 });
    w.invoker.register(FN, () => {
      w.manual.advance(2_000);
    });

    await w.run();

    expect(w.batches()).toEqual([[0], [1]]);
    expect(await w.committed()).toBe(2);
  });

  it('stops without invoking when another run took the lease that ran out', async () => {
    const w = await deliveryWorld({ dispatcher: { leaseMarginMs: 500 } });
    await w.produce('a', 'b');
    await w.subscribe({ batchSize: 1 });
    const subscription = await w.subscriptionStore.get('sub');
    if (!subscription) throw new Error('created');
    w.invoker.register(FN, async () => {
      w.manual.advance(4_000);
      await w.subscriptionStore.acquireLease(subscription, 0, 'rival', w.clock.now() + 60_000, w.clock.now());
    });

    const report = await w.run();

    expect(w.batches()).toEqual([[0]]);
    expect(await w.committed()).toBe(1);
    expect(report.subscriptions[0]?.lag).toBe(1);
    expect((await w.state())?.lease?.owner).toBe('rival');
  });

  it('starts no invocation that could run past the deadline, and reports the lag it leaves', async () => {
    const w = await deliveryWorld();
    await w.produce('a', 'b', 'c');
    await w.subscribe({ batchSize: 1 });
    w.invoker.register(FN, () => {
      w.manual.advance(1_000);
    });

    // Timeout 3 s plus the margin of 1 s: room to start two invocations of 1 s in 5.5 s.
    const report = await w.run(5_500);

    expect(w.batches()).toEqual([[0], [1]]);
    expect(report.subscriptions[0]?.lag).toBe(1);
    expect(report.subscriptions[0]?.oldestUndeliveredAgeMs).toBe(2_000);
    expect(report.durationMs).toBe(2_000);
  });

  it('delivers nothing when the run has less time left than the function may take', async () => {
    const w = await deliveryWorld();
    await w.produce('a');
    await w.subscribe();
    w.invoker.register(FN, () => undefined);

    const report = await w.run(3_999);

    expect(w.batches()).toEqual([]);
    expect(report.subscriptions[0]?.partitions).toBe(0);
    expect((await w.state())?.lease).toBeUndefined();
  });

  it('runs exactly up to the deadline: an invocation that ends at it still starts', async () => {
    const w = await deliveryWorld();
    await w.produce('a');
    await w.subscribe();
    w.invoker.register(FN, () => undefined);

    await w.run(3_999);
    const before = w.batches().length;
    await w.run(4_000);

    expect(before).toBe(0);
    expect(w.batches()).toEqual([[0]]);
  });
});

describe('retries left to a later run', () => {
  it('leaves a retry whose backoff is longer than a run waits to a later run, saving when', async () => {
    const w = await deliveryWorld({ dispatcher: { waitMsMax: 50 } });
    await w.produce('a', 'b');
    await w.subscribe({ retryAttempts: 5 });
    let calls = 0;
    w.invoker.register(FN, () => {
      calls++;
      if (calls === 1) throw new Error('once');
    });

    const first = await w.run();
    const saved = (await w.state())?.retry;
    const early = await w.run();
    w.manual.advance(75);
    await w.run();

    expect(saved).toEqual({ start: 0, end: 2, attempts: 1, retryAt: START + 75 });
    expect(first.subscriptions[0]?.lag).toBe(2);
    expect(early.subscriptions[0]?.counters.invocations).toBe(0);
    expect(w.sleeps).toEqual([]);
    expect(w.batches()).toEqual([
      [0, 1],
      [0, 1],
    ]);
    expect(await w.committed()).toBe(2);
    expect((await w.state())?.retry).toBeUndefined();
  });

  it('leaves a retry to a later run when waiting for it would pass the deadline', async () => {
    const w = await deliveryWorld({ dispatcher: { backoff: { baseMs: 2_000, capMs: 2_000 } } });
    await w.produce('a');
    await w.subscribe({ retryAttempts: 5 });
    let calls = 0;
    w.invoker.register(FN, () => {
      calls++;
      if (calls === 1) throw new Error('once');
    });

    // The retry is due after 1.5 s; the function may take 3 s; the run has 4.2 s.
    await w.run(4_200);

    expect(w.sleeps).toEqual([]);
    expect(w.batches()).toEqual([[0]]);
    expect((await w.state())?.retry).toMatchObject({ attempts: 1, retryAt: START + 1_500 });
  });

  it('retries a throttled function from the same record after a backoff', async () => {
    const w = await deliveryWorld({ dispatcher: { waitMsMax: 50 } });
    await w.produce('a');
    await w.subscribe();

    const report = await w.run();

    expect(report.subscriptions[0]?.counters).toMatchObject({ invocations: 1, errors: 1, delivered: 0 });
    expect((await w.state())?.retry).toEqual({ start: 0, end: 1, attempts: 0, retryAt: START + 75 });
    expect((await w.state())?.lastError?.message).toMatch(/^The function could not be invoked: /);
  });
});

describe('what a run leaves', () => {
  it('saves the counters and when records were last delivered', async () => {
    const w = await deliveryWorld();
    await w.produce('a', 'b', 'c');
    await w.subscribe({ batchSize: 2 });
    w.invoker.register(FN, () => {
      w.manual.advance(100);
    });

    await w.run();

    const state = await w.state();
    expect(state?.counters).toEqual({
      delivered: 3,
      invocations: 2,
      errors: 0,
      deadLettered: 0,
      filtered: 0,
      discarded: 0,
    });
    expect(state?.lastDeliveredAt).toBe(START + 200);
    expect(state?.lease).toBeUndefined();
  });

  it('reports the age of the oldest record left undelivered', async () => {
    const w = await deliveryWorld({ dispatcher: { waitMsMax: 10 } });
    await w.produce('a');
    w.manual.advance(5_000);
    await w.produce('b');
    w.manual.advance(1_000);
    await w.subscribe();
    w.invoker.register(FN, () => {
      throw new Error('down');
    });

    const report = await w.run();

    expect(report.subscriptions[0]?.lag).toBe(2);
    expect(report.subscriptions[0]?.oldestUndeliveredAgeMs).toBe(6_000);
  });

  it('counts a failure of its own and records it, then a later run delivers', async () => {
    const w = await deliveryWorld();
    await w.produce('poison');
    await w.topicService.create({ name: 'gone', partitions: 1 });
    await w.subscribe({ retryAttempts: 0, onFailure: { topic: 'gone' } });
    await w.topicService.delete('gone');
    w.invoker.register(FN, (event) => {
      if (eventRecords(event).some((r) => text(r) === 'poison')) throw new Error('bad');
    });

    const report = await w.run();

    expect(report.failures.map((f) => [f.subscription, f.partition, (f.error as Error).message])).toEqual([
      ['sub', 0, "The dead-letter topic 'gone' does not exist: create it, and delivery resumes"],
    ]);
    const state = await w.state();
    expect(state?.lastError?.message).toBe(
      "The dead-letter topic 'gone' does not exist: create it, and delivery resumes",
    );
    expect(state?.counters.errors).toBe(1);
    expect(state?.lease).toBeUndefined();
    expect(await w.committed()).toBe(0);
    await w.topicService.create({ name: 'gone', partitions: 1 });
    const later = await w.run();
    expect(later.failures).toEqual([]);
    expect(await w.texts('gone')).toEqual(['poison']);
    expect(await w.committed()).toBe(1);
  });
});
