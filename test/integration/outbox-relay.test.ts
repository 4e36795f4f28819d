/**
 * The outbox relay against DynamoDB Local: a service table whose transactions write an order and
 * its outbox item, its real stream, and the relay's handler (`functions/relay-outbox.ts`) appending
 * to a topic. Retries as Lambda makes them (the same batch again after a crash, a batch bisected,
 * a batch resumed from the first failed record) append nothing twice.
 */
import { randomBytes } from 'node:crypto';
import {
  CreateTableCommand,
  DeleteTableCommand,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/relay-outbox.js';
import { followStream } from '../../local/background.js';
import { startOutboxRelays } from '../../local/outbox-relay.js';
import { OUTBOX_HEADERS, type OutboxMapping } from '../../shared/domain/outbox-relay.js';
import type { LogRecord } from '../../shared/domain/record.js';
import type { Runtime } from '../../shared/runtime.js';
import { type Services, servicesFor } from '../../shared/services.js';
import { createFaultInjector } from '../support/faults.js';
import { createTestRuntime } from '../support/local-aws.js';
import { eventually } from '../support/subscriptions.js';

const faults = createFaultInjector({ seed: 14 });
let runtime: Runtime;
let services: Services;
const tables: string[] = [];

beforeAll(async () => {
  runtime = await createTestRuntime({ tablePrefix: 'outbox', decorateDynamoDb: faults.install });
  services = servicesFor(runtime);
}, 60_000);
afterAll(async () => {
  for (const table of tables) await runtime.dynamodb.send(new DeleteTableCommand({ TableName: table }));
});

/** The service's own table, with a stream of new images. */
async function createOrdersTable(): Promise<string> {
  const tableName = `orders-${randomBytes(4).toString('hex')}`;
  await createOrdersTableNamed(tableName);
  return tableName;
}

/** One transaction of the order service: the order's new state and its outbox event. */
async function writeOrderEvent(tableName: string, orderId: string, version: number, status: string) {
  const items: TransactWriteItem[] = [
    {
      Put: {
        TableName: tableName,
        Item: {
          pk: { S: `ORDER#${orderId}` },
          sk: { S: 'STATE' },
          status: { S: status },
          version: { N: String(version) },
        },
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
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
  ];
  await runtime.dynamodb.send(new TransactWriteItemsCommand({ TransactItems: items }));
}

/** Every stream record of the table (`count` of them), as Lambda would hand them over. */
async function streamRecordsOf(tableName: string, count: number): Promise<DynamoDBRecord[]> {
  const records: DynamoDBRecord[] = [];
  const follower = followStream(
    runtime,
    tableName,
    async (event) => {
      records.push(...event.Records);
      return { batchItemFailures: [] };
    },
    { idlePollMs: 50, batchSize: 1000 },
  );
  try {
    await eventually(() => records.length >= count, `${count} stream records`);
  } finally {
    await follower.stop();
  }
  return records;
}

async function createTopic(name: string, partitions: number): Promise<void> {
  await services.topics.create({ name, partitions });
}

async function readTopic(topic: string, partitions: number): Promise<LogRecord[][]> {
  const all: LogRecord[][] = [];
  for (let partition = 0; partition < partitions; partition++) {
    const page = await services.log.fetch(topic, partition, 0, {
      recordsMax: 1000,
      bytesMax: 1_000_000,
      waitMs: 0,
    });
    all.push([...page.records]);
  }
  return all;
}

const text = (bytes: Uint8Array | undefined) => Buffer.from(bytes ?? []).toString('utf8');

/** Each record's event as JSON, by partition. */
function eventsOf(
  partitions: readonly LogRecord[][],
): { key: string; event: Record<string, unknown>; eventId: string }[] {
  return partitions.flat().map((record) => ({
    key: text(record.key?.bytes),
    event: JSON.parse(text(record.value?.bytes)) as Record<string, unknown>,
    eventId: text(record.headers.find((header) => header.name === OUTBOX_HEADERS.eventId)?.value),
  }));
}

/** Three orders, three events each, written one transaction at a time. */
async function writeThreeOrders(tableName: string): Promise<void> {
  for (const [version, status] of ['placed', 'paid', 'shipped'].entries()) {
    for (const orderId of ['o-1', 'o-2', 'o-3'])
      await writeOrderEvent(tableName, orderId, version + 1, status);
  }
}

const mappingFor = (topic: string): OutboxMapping => ({
  topic,
  keyAttribute: 'orderId',
  valueAttribute: 'event',
  stringValueType: 'JSON',
});

describe('outbox relay', () => {
  it('appends each outbox item once, keyed by its order, in the order the transactions wrote them', async () => {
    // Prepare
    const tableName = await createOrdersTable();
    await createTopic('outbox-orders-a', 3);
    await writeThreeOrders(tableName);
    const records = await streamRecordsOf(tableName, 18);
    const relay = createHandler(runtime, mappingFor('outbox-orders-a'));

    // Act
    const answer = await relay({ Records: records });

    // Assess
    expect(answer).toEqual({ batchItemFailures: [] });
    const events = eventsOf(await readTopic('outbox-orders-a', 3));
    expect(events).toHaveLength(9);
    for (const orderId of ['o-1', 'o-2', 'o-3']) {
      const ofOrder = events.filter((event) => event.key === orderId);
      expect(ofOrder.map((event) => event.event)).toEqual([
        { type: 'placed', orderId, version: 1 },
        { type: 'paid', orderId, version: 2 },
        { type: 'shipped', orderId, version: 3 },
      ]);
    }
    const outboxIds = records
      .filter((record) => record.dynamodb?.NewImage?.event)
      .map((record) => record.eventID);
    expect(events.map((event) => event.eventId).sort()).toEqual([...outboxIds].sort());
  });

  it('appends nothing twice when a crashed batch is retried whole, bisected, and from a failed record', async () => {
    // Prepare
    const tableName = await createOrdersTable();
    await createTopic('outbox-orders-b', 2);
    await writeThreeOrders(tableName);
    const records = await streamRecordsOf(tableName, 18);
    const relay = createHandler(runtime, mappingFor('outbox-orders-b'));
    // The first run appends, then its answer is lost (the function timed out): Lambda retries.
    faults.add({ commands: ['TransactWriteItems'], fault: 'timeoutAfterWrite', times: 3 });
    await relay({ Records: records.slice(0, 10) });

    // Act: the same batch again, then bisected, then the rest from a record that failed.
    await relay({ Records: records.slice(0, 10) });
    await relay({ Records: records.slice(0, 5) });
    await relay({ Records: records.slice(5, 10) });
    faults.add({ commands: ['TransactWriteItems'], fault: 'throttle', times: 40 });
    const throttled = await relay({ Records: records.slice(4) });
    const failedAt = throttled.batchItemFailures[0]?.itemIdentifier;
    const resumeAt = records.findIndex((record) => record.dynamodb?.SequenceNumber === failedAt);
    faults.reset();
    const resumed = await relay({ Records: records.slice(resumeAt) });

    // Assess
    expect(failedAt).toBeDefined();
    expect(resumeAt).toBeGreaterThanOrEqual(4);
    expect(resumed).toEqual({ batchItemFailures: [] });
    const events = eventsOf(await readTopic('outbox-orders-b', 2));
    expect(events).toHaveLength(9);
    expect(new Set(events.map((event) => event.eventId)).size).toBe(9);
    for (const orderId of ['o-1', 'o-2', 'o-3']) {
      expect(events.filter((event) => event.key === orderId).map((event) => event.event.version)).toEqual([
        1, 2, 3,
      ]);
    }
  });

  it('fails a record whose outbox item has no key, and relays the records before it', async () => {
    // Prepare
    const tableName = await createOrdersTable();
    await createTopic('outbox-orders-c', 1);
    await writeOrderEvent(tableName, 'o-1', 1, 'placed');
    await runtime.dynamodb.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          {
            Put: {
              TableName: tableName,
              Item: { pk: { S: 'ORDER#o-9' }, sk: { S: 'OUTBOX#1' }, event: { S: '{}' } },
            },
          },
        ],
      }),
    );
    const records = await streamRecordsOf(tableName, 3);
    const relay = createHandler(runtime, mappingFor('outbox-orders-c'));

    // Act
    const answer = await relay({ Records: records });

    // Assess
    expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: records[2]?.dynamodb?.SequenceNumber }] });
    expect(eventsOf(await readTopic('outbox-orders-c', 1)).map((event) => event.key)).toEqual(['o-1']);
  });

  it('runs on the local stack: follows a table created after it started, and resumes without duplicates', async () => {
    // Prepare
    await createTopic('outbox-orders-d', 2);
    const tableName = `orders-${randomBytes(4).toString('hex')}`;
    const relays = startOutboxRelays(runtime, [{ tableName, ...mappingFor('outbox-orders-d') }], {
      idlePollMs: 50,
    });
    try {
      // Act
      await createOrdersTableNamed(tableName);
      await writeThreeOrders(tableName);
      await eventually(async () => eventsOf(await readTopic('outbox-orders-d', 2)).length >= 9, '9 events');
    } finally {
      await relays.stop();
    }
    // A restarted stack follows the stream from its start again.
    const restarted = startOutboxRelays(runtime, [{ tableName, ...mappingFor('outbox-orders-d') }], {
      idlePollMs: 50,
    });
    try {
      await writeOrderEvent(tableName, 'o-4', 1, 'placed');
      await eventually(async () => eventsOf(await readTopic('outbox-orders-d', 2)).length >= 10, '10 events');
    } finally {
      await restarted.stop();
    }

    // Assess
    const events = eventsOf(await readTopic('outbox-orders-d', 2));
    expect(events).toHaveLength(10);
    expect(new Set(events.map((event) => event.eventId)).size).toBe(10);
  });
});

async function createOrdersTableNamed(tableName: string): Promise<void> {
  await runtime.dynamodb.send(
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
  tables.push(tableName);
}
