#!/usr/bin/env node
/**
 * The transactional outbox against a running Shoal (`npm start`): an order service writes each
 * order's state and its outbox event in one DynamoDB transaction of its own table, the stack's
 * outbox relay appends every event to a topic exactly once, and a consumer reads them.
 *
 *   SHOAL_OUTBOX_RELAYS='[{"tableName":"example-orders","topic":"example-order-events","keyAttribute":"orderId","valueAttribute":"event"}]' npm start
 *   node examples/outbox-orders.mjs
 *
 * Environment: SHOAL_URL and DYNAMODB_ENDPOINT (default: read from .shoal/endpoints.json, which
 * `npm start` writes), TABLE (default example-orders), TOPIC (default example-order-events), GROUP
 * (default example-shipping), ORDERS (default 10).
 *
 * It prints one JSON line at the end: the orders placed and paid, the events the consumer saw for
 * them, how many of those it saw more than once (0), and whether each order's events came in order.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';

const endpoints = (() => {
  try {
    return JSON.parse(readFileSync(new URL('../.shoal/endpoints.json', import.meta.url), 'utf8'));
  } catch {
    return {};
  }
})();
const baseUrl = process.env.SHOAL_URL ?? endpoints.api ?? 'http://127.0.0.1:8092';
const dynamodbEndpoint = process.env.DYNAMODB_ENDPOINT ?? endpoints.dynamodb;
if (!dynamodbEndpoint) throw new Error('Set DYNAMODB_ENDPOINT, or start the stack with npm start');
const tableName = process.env.TABLE ?? 'example-orders';
const topic = process.env.TOPIC ?? 'example-order-events';
const group = process.env.GROUP ?? 'example-shipping';
const orderCount = Number(process.env.ORDERS ?? 10);
const waitMsMax = 30_000;

const dynamodb = new DynamoDBClient({
  endpoint: dynamodbEndpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'shoal', secretAccessKey: 'shoal-local' },
});

/** JSON over HTTP; throws on any status but the expected ones. */
async function call(method, path, body, expected = [200]) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!expected.includes(response.status))
    throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}

// 1. The topic, and the service's table: one partition key per order, so a stream shard holds all
//    of one order's items in the order they were written; a stream of new images for the relay.
await call('POST', '/v1/topics', { name: topic, partitions: 3 }, [201, 409]);
try {
  await dynamodb.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
    }),
  );
} catch (error) {
  if (error.name !== 'ResourceInUseException') throw error;
}
while (
  (await dynamodb.send(new DescribeTableCommand({ TableName: tableName }))).Table?.TableStatus !== 'ACTIVE'
) {
  await new Promise((resolve) => setTimeout(resolve, 200));
}

// 2. The order service: the order's new state and its outbox event in one transaction, so there
//    is never a state without its event, nor an event without its state.
async function recordOrderEvent(orderId, version, status) {
  await dynamodb.send(
    new TransactWriteItemsCommand({
      TransactItems: [
        {
          Put: {
            TableName: tableName,
            Item: {
              pk: { S: `ORDER#${orderId}` },
              sk: { S: 'STATE' },
              status: { S: status },
              version: { N: String(version) },
            },
            // The state moves one version at a time: a lost race fails the whole transaction.
            ConditionExpression: version === 1 ? 'attribute_not_exists(pk)' : 'version = :previous',
            ...(version === 1
              ? {}
              : { ExpressionAttributeValues: { ':previous': { N: String(version - 1) } } }),
          },
        },
        {
          Put: {
            TableName: tableName,
            Item: {
              pk: { S: `ORDER#${orderId}` },
              sk: { S: `OUTBOX#${String(version).padStart(6, '0')}` },
              orderId: { S: orderId },
              event: { M: { type: { S: status }, orderId: { S: orderId }, version: { N: String(version) } } },
            },
          },
        },
      ],
    }),
  );
}

const run = randomBytes(3).toString('hex');
const orderIds = Array.from({ length: orderCount }, (_, index) => `${run}-${index}`);
for (const orderId of orderIds) await recordOrderEvent(orderId, 1, 'placed');
for (const orderId of orderIds) await recordOrderEvent(orderId, 2, 'paid');

// 3. The consumer: reads every partition from its group's committed offsets, keeps this run's
//    events, and commits what it read (a standalone consumer: the group has no live members).
const described = await call('GET', `/v1/groups/${group}`, undefined, [200, 404]);
const partitionCount = (await call('GET', `/v1/topics/${topic}`)).partitions.length;
const positions = Array.from(
  { length: partitionCount },
  (_, partition) =>
    described?.offsets?.find((entry) => entry.topic === topic && entry.partition === partition)
      ?.committedOffset ?? 0,
);
const seen = new Map(); // event id → times seen
const byOrder = new Map(); // order id → versions in the order they came
const deadline = Date.now() + waitMsMax;
let eventsOfRun = 0;
while (eventsOfRun < 2 * orderCount && Date.now() < deadline) {
  for (let partition = 0; partition < partitionCount; partition++) {
    const page = await call(
      'GET',
      `/v1/topics/${topic}/partitions/${partition}/records?offset=${positions[partition]}&maxRecords=500&waitMs=200`,
    );
    for (const record of page.records) {
      const event = record.value.data;
      if (!String(event.orderId).startsWith(`${run}-`)) continue;
      const idHeader = record.headers.find((header) => header.name === 'shoal.outbox.event-id');
      const eventId = Buffer.from(idHeader?.value ?? '', 'base64').toString('utf8');
      seen.set(eventId, (seen.get(eventId) ?? 0) + 1);
      byOrder.set(event.orderId, [...(byOrder.get(event.orderId) ?? []), event.version]);
      eventsOfRun++;
    }
    positions[partition] = page.nextOffset;
  }
}
await call('POST', `/v1/groups/${group}/offsets`, {
  offsets: positions.map((offset, partition) => ({ topic, partition, offset })),
});

const inOrder = orderIds.every((orderId) => JSON.stringify(byOrder.get(orderId)) === JSON.stringify([1, 2]));
console.log(
  JSON.stringify({
    run,
    ordersPlaced: orderCount,
    ordersPaid: orderCount,
    events: eventsOfRun,
    duplicates: [...seen.values()].filter((times) => times > 1).length,
    inOrder,
  }),
);
dynamodb.destroy();
if (eventsOfRun !== 2 * orderCount || !inOrder) process.exitCode = 1;
