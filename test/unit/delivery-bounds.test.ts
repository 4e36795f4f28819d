/**
 * Bounds of one partition's delivery on the in-memory ports: outputs over a record limit, a read
 * that tops the buffer up only when it holds less than a batch, a window counted from now for a
 * record stamped in the future, retention that overtakes records read but not yet delivered, a
 * topic created again between the run's start and its first read, and the time a commit carries.
 */
import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_HEADERS } from '../../shared/domain/dead-letter.js';
import { LIMITS } from '../../shared/domain/limits.js';
import { deliveryWorld, FN, START, stringRecord } from '../support/delivery-world.js';

describe('bounds of a delivery', () => {
  it('fails a batch whose outputs pass a record limit, and dead-letters it with the reason', async () => {
    const w = await deliveryWorld();
    await w.subscribe({ outputTopic: 'out', retryAttempts: 0, onFailure: { topic: 'dlq' } });
    await w.produce('a');
    w.invoker.register(FN, () => ({
      records: [
        {
          key: { type: 'STRING', data: 'k'.repeat(LIMITS.recordInlineBytesMax + 1) },
          value: { type: 'STRING', data: 'v' },
        },
      ],
    }));

    const report = await w.run();

    expect(report.failures).toEqual([]);
    expect(await w.texts('out')).toEqual([]);
    const [dead] = await w.records('dlq');
    const error = dead?.headers.find((h) => h.name === DEAD_LETTER_HEADERS.error);
    expect(new TextDecoder().decode(error?.value)).toMatch(
      /^The function's records cannot be appended to the output topic: Record 0 has \d+ bytes of key and headers/,
    );
    expect(await w.committed()).toBe(1);
  });

  it('reads again only when the buffer holds less than the next batch', async () => {
    const w = await deliveryWorld({ dispatcher: { readAheadMax: 4 } });
    await w.produce('a', 'b', 'c', 'd', 'e', 'f');
    await w.subscribe({ batchSize: 2 });
    w.invoker.register(FN, () => undefined);

    await w.run();

    expect(w.batches()).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    expect(w.fetches).toEqual([
      { offset: 0, recordsMax: 4 },
      { offset: 4, recordsMax: 4 },
      { offset: 6, recordsMax: 4 },
    ]);
  });

  it('counts the batching window of a record stamped in the future from now', async () => {
    const w = await deliveryWorld();
    await w.subscribe({ maxBatchingWindowMs: 1_000, batchSize: 10 });
    await w.log.produce('t', [{ ...stringRecord('later'), timestamp: START + 3_600_000 }]);
    w.invoker.register(FN, () => undefined);

    const report = await w.run();

    expect(w.sleeps).toEqual([1_000]);
    expect(w.batches()).toEqual([[0]]);
    expect(report.subscriptions[0]?.oldestUndeliveredAgeMs).toBe(0);
  });

  it('reports an age of 0, not below, for undelivered records stamped in the future', async () => {
    const w = await deliveryWorld();
    await w.subscribe();
    await w.log.produce('t', [{ ...stringRecord('later'), timestamp: START + 3_600_000 }]);

    const report = await w.run(10_000);

    expect(report.subscriptions[0]?.lag).toBe(1);
    expect(report.subscriptions[0]?.oldestUndeliveredAgeMs).toBe(0);
  });

  it('fails the run of a partition when retention overtakes records it read, and a later run moves on', async () => {
    const w = await deliveryWorld({ dispatcher: { readAheadMax: 3 } });
    await w.produce('a', 'b', 'c', 'd', 'e', 'f');
    await w.subscribe({ batchSize: 2 });
    const topic = await w.topics.get('t');
    if (!topic) throw new Error('created');
    let calls = 0;
    w.invoker.register(FN, () => {
      calls++;
      if (calls === 1) w.partitionLog.heads.upsert(topic.topicId, 0).lso = 5;
    });

    const failed = await w.run();
    const later = await w.run();

    expect(failed.failures.map((f) => (f.error as Error).name)).toEqual(['OffsetOutOfRangeError']);
    expect(later.failures).toEqual([]);
    expect(w.batches()).toEqual([[0, 1], [5]]);
    expect(later.subscriptions[0]?.counters).toMatchObject({ discarded: 3, delivered: 1 });
    expect(await w.committed()).toBe(6);
  });

  it('fails when the topic was created again between the run finding it and reading its offset', async () => {
    const w = await deliveryWorld();
    await w.produce('a');
    await w.subscribe();
    w.invoker.register(FN, () => undefined);
    const timeoutMs = w.invoker.timeoutMs.bind(w.invoker);
    w.invoker.timeoutMs = async (target) => {
      await w.topicService.delete('t');
      await w.topicService.create({ name: 't', partitions: 1 });
      await w.groups.reset('sub', { topic: 't', to: { kind: 'earliest' } });
      return timeoutMs(target);
    };

    const report = await w.run();

    expect(report.failures.map((f) => (f.error as Error).message)).toEqual([
      "Consumer group 'sub' lost its offset for t-0; the next run sets it up again",
    ]);
    expect(w.invoker.invocations).toEqual([]);
  });

  it('stamps a commit with the time it was made', async () => {
    const w = await deliveryWorld();
    await w.produce('a');
    await w.subscribe();
    w.invoker.register(FN, () => {
      w.manual.advance(700);
    });

    await w.run();

    expect(await w.memoryGroups.readOffset('sub', 't', 0)).toMatchObject({
      offset: 1,
      committedAt: START + 700,
      metadata: undefined,
    });
  });
});
