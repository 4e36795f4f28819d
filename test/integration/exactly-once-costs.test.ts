/**
 * What exactly once costs in DynamoDB write units: the transaction of an exactly-once subscription's
 * batch against the commit of an at-least-once one, and the produce of one outbox event, counted by
 * AWS's rule from the transactions the clients sent (every item of a transaction 2 write units per
 * KB; the items here are under 1 KB). DynamoDB Local's ReturnConsumedCapacity reports 2 units per
 * table of a transaction whatever its items, so it is not used. The figures asserted are the ones
 * `docs/delivery-semantics.md` publishes.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHandler as createRelay } from '../../functions/relay-outbox.js';
import { followStream } from '../../local/background.js';
import { type LocalDispatcher, startLocalDispatcher } from '../../local/dispatcher.js';
import type { LogService } from '../../shared/domain/log-service.js';
import { createRuntime, type Runtime } from '../../shared/runtime.js';
import { servicesFor } from '../../shared/services.js';
import { type ApiClient, apiClient } from '../support/http-client.js';
import { createTestRuntime, startTestApi } from '../support/local-aws.js';
import { createTopic, eventually, readPartition, subscribe } from '../support/subscriptions.js';

/** Write units of the transactions the metered clients ran, since the last reset. */
const transactions = { writeUnits: 0, calls: 0 };

function meterTransactions(client: DynamoDBClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'TransactWriteItemsCommand') return next(args);
      const result = await next(args);
      const items = (args.input as { TransactItems: unknown[] }).TransactItems;
      const largest = Math.max(...items.map((item) => JSON.stringify(item).length));
      // Bytes of the request's JSON bound each item's size: the rule below holds only under 1 KB.
      expect(largest).toBeLessThan(1024);
      transactions.writeUnits += 2 * items.length;
      transactions.calls++;
      return result;
    },
    { step: 'initialize', name: 'meterTransactions' },
  );
}

let runtime: Runtime;
let api: ApiClient;
let dispatcher: LocalDispatcher;
let producer: LogService;
let close: () => Promise<void>;

beforeAll(async () => {
  runtime = await createTestRuntime({ tablePrefix: 'eos-costs', decorateDynamoDb: meterTransactions });
  const server = await startTestApi(runtime);
  producer = servicesFor(createRuntime(runtime.config)).log;
  dispatcher = startLocalDispatcher(runtime, {
    sweepIntervalMs: 250,
    dispatcher: { backoff: { baseMs: 20, capMs: 200 }, waitMsMax: 2_000 },
  });
  const follower = followStream(
    runtime,
    runtime.config.logTableName,
    async (event) => {
      await dispatcher.consume(event);
      return undefined;
    },
    { filter: dispatcher.filter, idlePollMs: 50 },
  );
  api = apiClient(server.url);
  close = async () => {
    await follower.stop();
    await dispatcher.stop();
    await server.close();
  };
}, 60_000);
afterAll(() => close());

const record = (n: number) => ({
  key: { type: 'STRING' as const, bytes: Buffer.from(`k-${n}`) },
  value: { type: 'JSON' as const, bytes: Buffer.from(JSON.stringify({ n })) },
  headers: [],
});

/** The write units of the dispatcher's transactions for one batch of one small record. */
async function batchCost(name: string, outputTopic: string | undefined): Promise<number> {
  await createTopic(api, `${name}-in`);
  if (outputTopic) await createTopic(api, outputTopic);
  await subscribe(api, {
    name,
    topic: `${name}-in`,
    startingPosition: 'TRIM_HORIZON',
    target: { module: 'test/fixtures/subscribers/transform.ts', handler: 'handler' },
    maxBatchingWindowMs: 0,
    ...(outputTopic ? { outputTopic } : {}),
  });
  await dispatcher.idle();
  transactions.writeUnits = 0;
  await producer.produce(`${name}-in`, [record(1)]);
  await eventually(async () => {
    const group = await api.get(`/v1/groups/${name}`);
    return group.body.offsets?.[0]?.committedOffset === 1;
  }, 'the batch committed');
  await dispatcher.idle();
  return transactions.writeUnits;
}

it('an exactly-once batch costs 10 write units, an at-least-once commit 4', async () => {
  const atLeastOnce = await batchCost('costs-alo', undefined);
  const exactlyOnce = await batchCost('costs-eos', 'costs-eos-out');

  expect(atLeastOnce).toBe(4);
  expect(exactlyOnce).toBe(10);
  expect(await readPartition(api, 'costs-eos-out')).toHaveLength(1);
});

it('an outbox event costs one produce with its key: 6 write units', async () => {
  await createTopic(api, 'costs-outbox');
  const relay = createRelay(runtime, {
    topic: 'costs-outbox',
    keyAttribute: 'orderId',
    valueAttribute: 'event',
    stringValueType: 'JSON',
  });
  transactions.writeUnits = 0;
  transactions.calls = 0;

  const answer = await relay({
    Records: [
      {
        eventID: 'cost-1',
        eventName: 'INSERT',
        dynamodb: {
          SequenceNumber: '1',
          NewImage: { orderId: { S: 'o-1' }, event: { M: { type: { S: 'placed' } } } },
        },
      },
    ],
  });

  expect(answer).toEqual({ batchItemFailures: [] });
  expect(transactions).toEqual({ writeUnits: 6, calls: 1 });
});
