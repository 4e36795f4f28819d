/**
 * Two dispatchers at once (as concurrent Lambda invocations woken by the stream and the schedule
 * would be) deliver each partition one batch at a time, in order and without repeats, while
 * different partitions are delivered in parallel.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type LocalDispatcher, startLocalDispatcher } from '../../local/dispatcher.js';
import { gauge } from '../fixtures/subscribers/concurrency.js';
import { deliveredOffsets } from '../fixtures/subscribers/journal.js';
import { json } from '../support/http-client.js';
import {
  createTopic,
  eventually,
  produce,
  type SubscriptionStack,
  startSubscriptionStack,
  subscribe,
} from '../support/subscriptions.js';

let stack: SubscriptionStack;
let second: LocalDispatcher;

beforeAll(async () => {
  stack = await startSubscriptionStack('leases', { sweepIntervalMs: 100 });
  second = startLocalDispatcher(stack.runtime, {
    sweepIntervalMs: 70,
    dispatcher: { backoff: { baseMs: 20, capMs: 200 }, waitMsMax: 2_000 },
  });
});
afterAll(async () => {
  await second.stop();
  await stack.close();
});

it('delivers each partition one batch at a time, in order, and partitions in parallel', async () => {
  // Prepare
  const partitions = 4;
  const perPartition = 60;
  await createTopic(stack.api, 'contended', partitions);
  await subscribe(stack.api, {
    name: 'contended-sub',
    topic: 'contended',
    target: { module: 'test/fixtures/subscribers/concurrency.ts' },
    startingPosition: 'TRIM_HORIZON',
    batchSize: 5,
    maxBatchingWindowMs: 0,
  });

  // Act
  for (let round = 0; round < 3; round++) {
    await produce(
      stack.api,
      'contended',
      Array.from({ length: partitions * (perPartition / 3) }, (_, i) => ({
        partition: i % partitions,
        value: json({ round, i }),
      })),
    );
  }

  // Assess
  await eventually(
    () =>
      Array.from({ length: partitions }, (_, p) => deliveredOffsets('contended', p).length).every(
        (count) => count >= perPartition,
      ),
    'every record delivered',
    40_000,
  );
  for (let partition = 0; partition < partitions; partition++) {
    expect(deliveredOffsets('contended', partition)).toEqual(
      Array.from({ length: perPartition }, (_, i) => i),
    );
  }
  expect(gauge().maxPerPartition).toBe(1);
  expect(gauge().maxTotal).toBeGreaterThan(1);
});
