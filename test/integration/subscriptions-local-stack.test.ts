/**
 * `npm start`'s stack delivers to subscriptions: the dispatcher shares the stream follower with the
 * TTL rescue, and an append reaches the subscribed module handler without waiting for a sweep.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../local/stack.js';
import { deliveredOffsets } from '../fixtures/subscribers/journal.js';
import { type ApiClient, apiClient, json } from '../support/http-client.js';
import { createTopic, eventually, produce, SUBSCRIBERS, subscribe } from '../support/subscriptions.js';

let stack: LocalStack;
let api: ApiClient;

beforeAll(async () => {
  // A sweep an hour apart: only the stream can wake the dispatcher within the test.
  stack = await startLocalStack({
    dataDir: '.shoal-unused',
    port: 0,
    persistent: false,
    archiveIntervalMs: 60_000,
    dispatchSweepIntervalMs: 3_600_000,
  });
  api = apiClient(stack.url);
}, 90_000);
afterAll(() => stack?.stop());

it('delivers an append to a subscribed module handler through the shared stream follower', async () => {
  // Prepare
  await createTopic(api, 'local-orders', 2);
  await subscribe(api, {
    name: 'local-orders-sub',
    topic: 'local-orders',
    target: { module: SUBSCRIBERS.recording },
    maxBatchingWindowMs: 0,
  });

  // Act
  await produce(api, 'local-orders', [
    { partition: 0, value: json({ n: 0 }) },
    { partition: 1, value: json({ n: 1 }) },
  ]);

  // Assess
  await eventually(
    () =>
      deliveredOffsets('local-orders', 0).length === 1 && deliveredOffsets('local-orders', 1).length === 1,
    'both records delivered',
  );
  expect(deliveredOffsets('local-orders', 0)).toEqual([0]);
  expect(deliveredOffsets('local-orders', 1)).toEqual([0]);
});
