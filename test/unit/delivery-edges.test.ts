/**
 * Edges of one partition's delivery on the in-memory ports: how far it reads ahead, a lease lost
 * before an invocation, a group that vanished under a commit, when records count as last
 * delivered, and a retry that a reset or a rival's exactly-once write makes moot.
 */
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/domain/limits.js';
import { deliveryWorld, eventRecords, FN, START, text } from '../support/delivery-world.js';

describe('reading ahead', () => {
  it('reads ahead of the batch size, and the records read are delivered without reading again', async () => {
    const w = await deliveryWorld({ dispatcher: { readAheadMax: 5 } });
    await w.produce('a', 'b', 'c', 'd', 'e', 'f');
    await w.subscribe({ batchSize: 2 });
    w.invoker.register(FN, () => undefined);

    await w.run();

    expect(w.batches()).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    // 5 records at 0; [4] is buffered, so the read at 5 asks for what tops it up to 5; then the end.
    expect(w.fetches).toEqual([
      { offset: 0, recordsMax: 5 },
      { offset: 5, recordsMax: 4 },
      { offset: 6, recordsMax: 5 },
    ]);
  });

  it('reads at least a batch, and no more than one fetch may return', async () => {
    const small = await deliveryWorld({ dispatcher: { readAheadMax: 1 } });
    await small.produce('a', 'b', 'c');
    await small.subscribe({ batchSize: 3 });
    small.invoker.register(FN, () => undefined);
    const large = await deliveryWorld({ dispatcher: { readAheadMax: 50_000 } });
    await large.produce('a');
    await large.subscribe({ batchSize: 3 });
    large.invoker.register(FN, () => undefined);

    await small.run();
    await large.run();

    expect(small.fetches[0]).toEqual({ offset: 0, recordsMax: 3 });
    expect(large.fetches[0]).toEqual({ offset: 0, recordsMax: LIMITS.fetchRecordsMax });
  });
});

describe('the lease', () => {
  it('invokes nothing more once the lease cannot be extended before an invocation', async () => {
    const w = await deliveryWorld({ dispatcher: { leaseMarginMs: 500 } });
    await w.produce('a', 'b');
    await w.subscribe({ batchSize: 1 });
    w.invoker.register(FN, () => undefined);
    const save = w.subscriptionStore.saveProgress.bind(w.subscriptionStore);
    let saves = 0;
    w.subscriptionStore.saveProgress = async (...args) => {
      saves++;
      return saves === 1 ? save(...args) : false;
    };

    const report = await w.run();

    expect(w.batches()).toEqual([[0]]);
    expect(await w.committed()).toBe(1);
    expect(report.subscriptions[0]?.lag).toBe(1);
  });
});

describe('a group that vanished', () => {
  it('fails when the group lost its offset during a commit', async () => {
    const w = await deliveryWorld();
    await w.produce('a');
    await w.subscribe();
    w.invoker.register(FN, () => undefined);
    w.groupStore.answers.push({ outcome: { kind: 'conflict' } });
    w.groupStore.beforeCommit = async () => {
      w.groupStore.beforeCommit = undefined;
      const group = (await w.memoryGroups.read('sub')).record;
      if (group) await w.memoryGroups.delete('sub', group.groupId, group.generation);
    };

    const report = await w.run();

    expect(report.failures.map((f) => (f.error as Error).message)).toEqual([
      "Consumer group 'sub' lost its offset for t-0; the next run sets it up again",
    ]);
  });

  it('fails when the offset stored is of another incarnation of the group', async () => {
    const w = await deliveryWorld();
    await w.produce('a');
    await w.subscribe();
    w.invoker.register(FN, () => undefined);
    w.groupStore.answers.push({ outcome: { kind: 'conflict' } });
    w.groupStore.beforeCommit = async () => {
      w.groupStore.beforeCommit = undefined;
      const group = (await w.memoryGroups.read('sub')).record;
      if (group) await w.memoryGroups.delete('sub', group.groupId, group.generation);
      await w.groups.reset('sub', { topic: 't', to: { kind: 'earliest' } });
    };

    const report = await w.run();

    expect(report.failures.map((f) => (f.error as Error).message)).toEqual([
      "Consumer group 'sub' lost its offset for t-0; the next run sets it up again",
    ]);
  });
});

describe('when records count as delivered', () => {
  it('dates the last delivery by the last batch the function processed, not by a failed one', async () => {
    const w = await deliveryWorld();
    await w.produce('a', 'poison');
    await w.subscribe({ batchSize: 1, retryAttempts: 0 });
    w.invoker.register(FN, (event) => {
      w.manual.advance(100);
      if (eventRecords(event).some((record) => text(record) === 'poison')) throw new Error('bad');
    });

    await w.run();

    const state = await w.state();
    expect(state?.lastDeliveredAt).toBe(START + 100);
    expect(state?.counters).toMatchObject({ delivered: 1, discarded: 1 });
  });

  it('counts nothing delivered for a batch whose records were all filtered out', async () => {
    const w = await deliveryWorld();
    await w.produce('{"kind":"drop"}');
    await w.subscribe({ filters: ['{"value":{"kind":["keep"]}}'] });
    w.invoker.register(FN, () => undefined);

    const report = await w.run();

    expect(w.invoker.invocations).toEqual([]);
    expect((await w.state())?.lastDeliveredAt).toBeUndefined();
    expect(report.subscriptions[0]?.counters).toMatchObject({ filtered: 1, delivered: 0, invocations: 0 });
    expect(await w.committed()).toBe(1);
  });
});

describe('retries made moot', () => {
  it('drops the retry of a batch a reset moved past', async () => {
    const w = await deliveryWorld({ dispatcher: { waitMsMax: 10 } });
    await w.produce('a', 'b', 'c');
    await w.subscribe({ retryAttempts: 5 });
    w.invoker.register(FN, () => {
      throw new Error('down');
    });
    await w.run();
    const retried = (await w.state())?.retry;
    await w.groups.reset('sub', { topic: 't', to: { kind: 'offset', offset: 2 } });
    w.invoker.register(FN, () => undefined);

    await w.run();

    expect(retried).toMatchObject({ start: 0, end: 3, attempts: 1 });
    expect(w.batches()).toEqual([[0, 1, 2], [2]]);
    expect((await w.state())?.retry).toBeUndefined();
    expect(await w.committed()).toBe(3);
  });

  it('drops its retry when a rival run delivered the batch exactly once meanwhile', async () => {
    const w = await deliveryWorld();
    await w.subscribe({ outputTopic: 'out', reportBatchItemFailures: true, retryAttempts: 5 });
    await w.produce('a', 'b');
    let calls = 0;
    w.invoker.register(FN, async (event) => {
      calls++;
      const records = eventRecords(event);
      if (calls === 2) {
        // The retry of [1] outlives the lease; a rival run delivers [1] meanwhile.
        w.manual.advance(60_000);
        await w.run();
      }
      const failing = calls === 1 ? [{ itemIdentifier: 't-0-1' }] : [];
      const done = calls === 1 ? records.filter((r) => r.offset < 1) : records;
      return {
        records: done.map((r) => ({ value: { type: 'STRING', data: `${text(r)}${calls}` } })),
        batchItemFailures: failing,
      };
    });

    const report = await w.run();

    expect(report.failures).toEqual([]);
    expect(w.batches()).toEqual([[0, 1], [1], [1]]);
    expect(await w.texts('out')).toEqual(['a1', 'b3']);
    expect(await w.committed()).toBe(2);
    expect((await w.state())?.retry).toBeUndefined();
  });
});
