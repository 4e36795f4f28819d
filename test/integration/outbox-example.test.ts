/**
 * Runs the outbox example (`node examples/outbox-orders.mjs`) as a user would, against a local stack
 * started with an outbox relay, so the documented code cannot rot: an order service's transactions,
 * the stack's relay, and a consumer that sees each event once.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../local/stack.js';
import { apiClient } from '../support/http-client.js';

const run = promisify(execFile);
const EXAMPLE = fileURLToPath(new URL('../../examples/outbox-orders.mjs', import.meta.url));
const RELAY = {
  tableName: 'example-orders',
  topic: 'example-order-events',
  keyAttribute: 'orderId',
  valueAttribute: 'event',
};

let stack: LocalStack;
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'shoal-outbox-example-'));
  stack = await startLocalStack({
    dataDir: scratch,
    port: 0,
    persistent: false,
    archiveIntervalMs: 0,
    dispatchSweepIntervalMs: 0,
    outboxRelays: [{ ...RELAY, stringValueType: 'JSON' }],
  });
}, 90_000);
afterAll(async () => {
  await stack?.stop();
  await rm(scratch, { recursive: true, force: true });
});

async function runExample(orders: number) {
  const { stdout } = await run(process.execPath, [EXAMPLE], {
    env: {
      ...process.env,
      SHOAL_URL: stack.url,
      DYNAMODB_ENDPOINT: stack.config.dynamodbEndpoint,
      ORDERS: String(orders),
    },
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
}

it('relays each order event once, in order per order, to a consumer that sees each once', async () => {
  const first = await runExample(8);

  expect(first).toMatchObject({ ordersPlaced: 8, ordersPaid: 8, events: 16, duplicates: 0, inOrder: true });
}, 90_000);

it('a second run adds only its own events: the topic holds every event of both runs once', async () => {
  const second = await runExample(5);

  expect(second).toMatchObject({ events: 10, duplicates: 0, inOrder: true });
  const topic = await apiClient(stack.url).get('/v1/topics/example-order-events');
  const total = topic.body.partitions.reduce(
    (sum: number, partition: { highWatermark: number; logStartOffset: number }) =>
      sum + partition.highWatermark - partition.logStartOffset,
    0,
  );
  expect(total).toBe(26);
}, 90_000);
