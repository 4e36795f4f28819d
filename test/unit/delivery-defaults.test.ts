/**
 * The dispatcher's documented defaults (DispatcherOptions), the lease a run takes, and a topic
 * created again under its old name, on the in-memory ports.
 */
import { describe, expect, it } from 'vitest';
import type { DispatchTrigger } from '../../shared/domain/dispatcher.js';
import { deliveryWorld, FN, RUN_MS, START } from '../support/delivery-world.js';

/** A world whose dispatcher has every default (the helper's backoff taken out too). */
const defaults = () => deliveryWorld({ dispatcher: { backoff: undefined } });

describe('dispatcher defaults', () => {
  it('backs off 500 ms (jittered by half) before the first retry', async () => {
    const w = await defaults();
    await w.produce('a');
    await w.subscribe({ retryAttempts: 2 });
    let calls = 0;
    w.invoker.register(FN, () => {
      calls++;
      if (calls === 1) throw new Error('once');
    });

    await w.run();

    expect(w.sleeps).toEqual([375]);
  });

  it('caps the backoff at 30 s and waits that long in place', async () => {
    const w = await defaults();
    await w.produce('a');
    await w.subscribe({ retryAttempts: 20 });
    let calls = 0;
    w.invoker.register(FN, () => {
      calls++;
      if (calls <= 9) throw new Error('not yet');
    });

    await w.run();

    // 500 ms doubled each retry: 250 + 125, ..., then 32 s capped to 30 s: 15 s + 7.5 s.
    expect(w.sleeps).toEqual([375, 750, 1_500, 3_000, 6_000, 12_000, 22_500, 22_500, 22_500]);
  });

  it('waits 30 s at most for a batching window', async () => {
    const w = await defaults();
    await w.produce('a');
    await w.subscribe({ maxBatchingWindowMs: 60_000 });
    w.invoker.register(FN, () => undefined);

    await w.run();

    expect(w.sleeps).toEqual([30_000]);
  });

  it('reads 1,000 records ahead', async () => {
    const w = await defaults();
    await w.produce('a');
    await w.subscribe({ batchSize: 2 });
    w.invoker.register(FN, () => undefined);

    await w.run();

    expect(w.fetches[0]).toEqual({ offset: 0, recordsMax: 1_000 });
  });

  it('holds a lease for the function timeout plus 30 s', async () => {
    const w = await defaults();
    await w.produce('a');
    await w.subscribe();
    let lease: unknown;
    w.invoker.register(
      FN,
      async () => {
        lease = (await w.state())?.lease?.until;
      },
      5_000,
    );

    await w.run();

    expect(lease).toBe(START + 5_000 + 30_000);
  });

  it('trusts the set of subscribed topics for 10 s', async () => {
    const w = await defaults();
    await w.topicService.create({ name: 'other', partitions: 1 });
    await w.subscribe();
    w.invoker.register(FN, () => undefined);
    const other = await w.topics.get('other');
    if (!other) throw new Error('created');
    const appends: DispatchTrigger = {
      kind: 'appends',
      partitions: [{ topicId: other.topicId, partition: 0 }],
    };
    await w.run();
    await w.subscriptions.create({
      name: 'sub2',
      topic: 'other',
      target: { functionArn: FN },
      startingPosition: 'TRIM_HORIZON',
      maxBatchingWindowMs: 0,
    });
    await w.log.produce('other', [
      {
        key: null,
        value: { type: 'STRING', bytes: new TextEncoder().encode('o') },
        headers: [],
        partition: 0,
      },
    ]);

    w.manual.advance(9_999);
    const early = await w.dispatcher.run(appends, w.clock.now() + RUN_MS);
    w.manual.advance(1);
    const late = await w.dispatcher.run(appends, w.clock.now() + RUN_MS);

    expect(early.subscriptions).toEqual([]);
    expect(late.subscriptions.map((s) => s.subscription)).toEqual(['sub2']);
  });

  it('drains up to 16 partitions side by side', async () => {
    const w = await deliveryWorld({ partitions: 17 });
    await w.subscribe();
    await w.log.produce(
      't',
      Array.from({ length: 17 }, (_, partition) => ({
        key: null,
        value: { type: 'STRING' as const, bytes: new TextEncoder().encode('x') },
        headers: [],
        partition,
      })),
    );
    let running = 0;
    let most = 0;
    w.invoker.register(FN, async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setImmediate(resolve));
      running--;
    });

    const report = await w.run();

    expect(report.subscriptions[0]?.partitions).toBe(17);
    expect(most).toBe(16);
  });
});

describe('a topic created again under its old name', () => {
  it('is delivered from its first record: the offsets of the old topic count for nothing', async () => {
    const w = await deliveryWorld();
    await w.subscribe();
    w.invoker.register(FN, () => undefined);
    await w.produce('a', 'b', 'c');
    await w.run();
    await w.topicService.delete('t');
    await w.topicService.create({ name: 't', partitions: 1 });
    await w.produce('new');

    const report = await w.run();

    expect(report.failures).toEqual([]);
    expect(w.batches()).toEqual([[0, 1, 2], [0]]);
    expect(await w.committed()).toBe(1);
  });
});
