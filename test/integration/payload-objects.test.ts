/**
 * The write path of large appends: batches whose bytes go to one payload object in S3, with small
 * batch items in DynamoDB pointing into it. Against DynamoDB Local and the S3 server, with faults
 * injected on both (throttling, a timeout after a write that applied, an append that never commits).
 */
import { randomUUID } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHandler as createRescueHandler } from '../../functions/rescue-batches.js';
import { logPartitionKey } from '../../shared/adapters/dynamodb/keys.js';
import {
  DynamoDbPartitionLog,
  PAYLOAD_INLINE_BYTES_MAX,
} from '../../shared/adapters/dynamodb/partition-log.js';
import { DynamoDbSegmentManifest } from '../../shared/adapters/dynamodb/segment-manifest.js';
import { DynamoDbTopicStore } from '../../shared/adapters/dynamodb/topic-store.js';
import { S3SegmentObjects } from '../../shared/adapters/s3/segment-objects.js';
import { Archiver } from '../../shared/domain/archiver.js';
import { systemClock } from '../../shared/domain/clock.js';
import { LIMITS } from '../../shared/domain/limits.js';
import { LogService } from '../../shared/domain/log-service.js';
import {
  PAYLOAD_KEY_PREFIX,
  payloadClassPrefix,
  payloadKey,
  payloadRetentionClassDays,
} from '../../shared/domain/segment-keys.js';
import type { Topic } from '../../shared/domain/topic.js';
import type { Runtime } from '../../shared/runtime.js';
import { partitionLogFor, tieredStorageFor } from '../../shared/services.js';
import { makeEvent, seededRandom } from '../support/events.js';
import { createFaultInjector } from '../support/faults.js';
import { type ApiClient, json, str } from '../support/http-client.js';
import { createTestRuntime, startApiClient } from '../support/local-aws.js';
import { listObjects, rescuedObjects, segmentObjects, storedTopic } from '../support/tiered-storage.js';

const dynamodbFaults = createFaultInjector({ seed: 21 });
const s3Faults = createFaultInjector({ seed: 22 });
let runtime: Runtime;
let api: ApiClient;
let close: () => Promise<void>;
/** GetObject calls made by the service, and fetch pages read by the tests. */
let s3Gets = 0;
let fetchPages = 0;

beforeAll(async () => {
  runtime = await createTestRuntime({
    tablePrefix: 'payloads',
    decorateDynamoDb: dynamodbFaults.install,
    decorateS3: (client) => {
      s3Faults.install(client);
      client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'GetObjectCommand') s3Gets++;
          return next(args);
        },
        { step: 'initialize', name: 'countGets' },
      );
    },
  });
  ({ api, close } = await startApiClient(runtime));
});
afterAll(() => close());
beforeEach(() => {
  dynamodbFaults.reset();
  s3Faults.reset();
});

interface SentRecord {
  readonly partition: number;
  readonly key: ReturnType<typeof str>;
  readonly value: ReturnType<typeof json>;
  readonly headers: { name: string; value: string }[];
}

/** `count` typical (~1 KB) JSON events spread over `partitions`: far more than an item keeps inline. */
function events(count: number, seed: number, partitions = 1): SentRecord[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => ({
    partition: i % partitions,
    key: str(`key-${seed}-${i}`),
    value: json(makeEvent(random, 'typical')),
    headers: [{ name: 'trace', value: Buffer.from(`t-${seed}-${i}`).toString('base64') }],
  }));
}

async function createTopic(partitions: number, config: Record<string, unknown> = {}): Promise<string> {
  const name = `payloads-${randomUUID().slice(0, 8)}`;
  const answer = await api.post('/v1/topics', { name, partitions, ...config });
  expect(answer.status).toBe(201);
  return name;
}

async function produce(topic: string, records: readonly SentRecord[], idempotencyKey: string) {
  return api.post(`/v1/topics/${topic}/records`, { records }, { 'Idempotency-Key': idempotencyKey });
}

/** Every record of a partition from offset 0, as the API answers them. */
async function fetchAll(topic: string, partition: number): Promise<Record<string, unknown>[]> {
  const records: Record<string, unknown>[] = [];
  for (let offset = 0; ; ) {
    const page = await api.get(`/v1/topics/${topic}/partitions/${partition}/records?offset=${offset}`);
    fetchPages++;
    expect(page.status).toBe(200);
    records.push(...page.body.records);
    if (page.body.nextOffset >= page.body.highWatermark) return records;
    offset = page.body.nextOffset;
  }
}

/** What a fetch must return for the records sent to one partition, in order. */
function expectedOf(sent: readonly SentRecord[], partition: number) {
  return sent
    .filter((record) => record.partition === partition)
    .map((record) => ({ key: record.key, value: record.value, headers: record.headers }));
}

function comparable(records: readonly Record<string, unknown>[]) {
  return records.map(({ key, value, headers }) => ({ key, value, headers }));
}

/** The raw batch items of a partition, as DynamoDB holds them. */
async function batchItems(topic: Topic, partition: number): Promise<Record<string, unknown>[]> {
  const page = await runtime.documents.send(
    new QueryCommand({
      TableName: runtime.config.logTableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': logPartitionKey(topic.topicId, partition) },
      ConsistentRead: true,
    }),
  );
  return page.Items ?? [];
}

/** The payload objects of a topic, whatever their retention class. */
async function payloadObjectsOf(topic: Topic) {
  return (await listObjects(runtime, PAYLOAD_KEY_PREFIX)).filter((object) =>
    object.key.includes(`/${topic.topicId}/`),
  );
}

/** The key of the payload object a batch item points into. */
function payloadKeyOf(topic: Topic, item: Record<string, unknown>): string {
  return payloadKey(topic.topicId, Number(item.pc), String(item.a));
}

async function objectBytes(key: string): Promise<Uint8Array> {
  const answer = await runtime.s3.send(
    new GetObjectCommand({ Bucket: runtime.config.segmentBucketName, Key: key }),
  );
  return (await answer.Body?.transformToByteArray()) ?? new Uint8Array(0);
}

/** Where the lifecycle rule of the default local retention's class expires payload objects. */
/** The stream record of a TTL deletion of `item`, as Lambda delivers it (`image` overrides attributes). */
function ttlRemovalOf(item: Record<string, unknown>, image: Record<string, { S?: string; N?: string }> = {}) {
  const record: DynamoDBRecord = {
    eventName: 'REMOVE',
    userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
    dynamodb: {
      SequenceNumber: '1',
      OldImage: {
        pk: { S: String(item.pk) },
        a: { S: String(item.a) },
        ...Object.fromEntries(
          ['sk', 'bo', 'mt', 'x', 'ps', 'pn', 'pc'].map((name) => [name, { N: String(item[name]) }]),
        ),
        ...image,
      },
    },
  };
  return record;
}

const EXPIRING_PREFIX = payloadClassPrefix(payloadRetentionClassDays(LIMITS.localRetentionMsDefault));

describe('large appends', () => {
  it('keeps a small append in its item and writes a large one to one payload object its items point into', async () => {
    const name = await createTopic(3);
    const topic = await storedTopic(runtime, name);
    const small = events(1, 1);
    const large = events(120, 2, 3);

    expect((await produce(name, small, 'small')).status).toBe(200);
    const afterSmall = await payloadObjectsOf(topic);
    const first = await produce(name, large, 'large');
    const again = await produce(name, large, 'large');

    expect(first.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(afterSmall).toEqual([]);
    // The replayed request wrote an object too (its transaction was refused): nothing points to it.
    const objects = await payloadObjectsOf(topic);
    expect(objects).toHaveLength(2);
    const items = (await Promise.all([0, 1, 2].map((partition) => batchItems(topic, partition)))).flat();
    const pointedTo = objects.filter((object) =>
      items.some((item) => item.a && payloadKeyOf(topic, item) === object.key),
    );
    expect(pointedTo).toHaveLength(1);
    for (const object of objects) expect(object.key.startsWith(EXPIRING_PREFIX)).toBe(true);
    const [object] = pointedTo as [{ key: string; size: number }];
    expect(object.size).toBeGreaterThan(PAYLOAD_INLINE_BYTES_MAX);
    // Each item of the large append holds a range, not bytes; the ranges tile the object exactly.
    const referencing = items.filter((item) => payloadKeyOf(topic, item) === object.key);
    expect(referencing).toHaveLength(3);
    for (const item of referencing) expect(item.d).toBeUndefined();
    const ranges = referencing
      .map((item) => [Number(item.ps), Number(item.ps) + Number(item.pn)] as const)
      .sort(([a], [b]) => a - b);
    expect(ranges[0]?.[0]).toBe(0);
    for (const [i, [, end]] of ranges.entries()) expect(ranges[i + 1]?.[0] ?? object.size).toBe(end);
    expect(items.filter((item) => item.d !== undefined)).toHaveLength(1);
    for (const partition of [0, 1, 2]) {
      expect(comparable(await fetchAll(name, partition))).toEqual(
        expectedOf(partition === 0 ? [...small, ...large] : large, partition),
      );
    }
  });

  it('splits an append too large for one item into batches of one payload object, read back with one GET', async () => {
    const name = await createTopic(1);
    const topic = await storedTopic(runtime, name);
    // Incompressible values: 700 records of ~1.3 KB encode to more than two items' worth (380 KB each).
    const random = seededRandom(12);
    const records: SentRecord[] = Array.from({ length: 700 }, (_, i) => ({
      partition: 0,
      key: str(`key-${i}`),
      value: json({
        i,
        noise: Buffer.from(Array.from({ length: 960 }, () => Math.floor(random() * 256))).toString('base64'),
      }),
      headers: [],
    }));

    const answer = await produce(name, records, 'split');
    const before = { gets: s3Gets, pages: fetchPages };
    const fetched = await fetchAll(name, 0);

    expect(answer.status).toBe(200);
    const items = await batchItems(topic, 0);
    expect(items.length).toBeGreaterThanOrEqual(3);
    expect(new Set(items.map((item) => payloadKeyOf(topic, item))).size).toBe(1);
    expect(comparable(fetched)).toEqual(expectedOf(records, 0));
    // Every fetch page reads the batches it needs from the one object with one ranged GET.
    expect(s3Gets - before.gets).toBe(fetchPages - before.pages);
  });

  it('answers 429 or 503 when S3 throttles or times out the payload write, shows nothing, and appends once on retry', async () => {
    const name = await createTopic(1);
    const topic = await storedTopic(runtime, name);
    const records = events(60, 3);

    s3Faults.add({ commands: ['PutObject'], fault: 'slowDown', times: 1 });
    const throttled = await produce(name, records, 'retried');
    s3Faults.add({ commands: ['PutObject'], fault: 'timeoutAfterWrite', times: 1 });
    const timedOut = await produce(name, records, 'retried');
    const written = await payloadObjectsOf(topic);
    const seenBeforeRetry = await fetchAll(name, 0);
    const retried = await produce(name, records, 'retried');

    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('1');
    expect(timedOut.status).toBe(503);
    expect(timedOut.body.title).toBeDefined();
    // The timed-out write did land: an object nothing points to, under a prefix that expires.
    expect(written).toHaveLength(1);
    expect((written[0] as { key: string }).key.startsWith(EXPIRING_PREFIX)).toBe(true);
    expect(seenBeforeRetry).toEqual([]);
    expect(retried.status).toBe(200);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
    expect(comparable(await fetchAll(name, 0))).toEqual(expectedOf(records, 0));
    expect(await payloadObjectsOf(topic)).toHaveLength(2);
    expect((await batchItems(topic, 0)).map((item) => payloadKeyOf(topic, item))).toEqual([
      expect.not.stringMatching((written[0] as { key: string }).key),
    ]);
  });

  it('leaves the object of an append whose transaction never commits invisible and under a prefix that expires', async () => {
    const name = await createTopic(1);
    const topic = await storedTopic(runtime, name);
    const records = events(60, 4);

    // The payload write succeeds; DynamoDB then refuses the transaction (after the SDK's retries).
    dynamodbFaults.add({ commands: ['TransactWriteItems'], fault: 'throttle', times: 1 });
    const refused = await produce(name, records, 'refused');

    expect(refused.status).toBe(429);
    const objects = await payloadObjectsOf(topic);
    expect(objects).toHaveLength(1);
    expect((objects[0] as { key: string }).key.startsWith(EXPIRING_PREFIX)).toBe(true);
    expect(await batchItems(topic, 0)).toEqual([]);
    expect((await api.get(`/v1/topics/${name}`)).body.partitions[0].highWatermark).toBe(0);
    expect(await fetchAll(name, 0)).toEqual([]);
  });

  it('stores the records once when the transaction times out after it applied', async () => {
    const name = await createTopic(2);
    const topic = await storedTopic(runtime, name);
    const records = events(80, 5, 2);

    dynamodbFaults.add({ commands: ['TransactWriteItems'], fault: 'timeoutAfterWrite', times: 1 });
    const answer = await produce(name, records, 'timed-out');

    expect(answer.status).toBe(200);
    expect(dynamodbFaults.count('timeoutAfterWrite')).toBe(1);
    for (const partition of [0, 1]) {
      expect(comparable(await fetchAll(name, partition))).toEqual(expectedOf(records, partition));
    }
    expect(await payloadObjectsOf(topic)).toHaveLength(1);
  });

  it('reads batches written in the old layout, bytes in the item, next to batches in payload objects', async () => {
    const name = await createTopic(1);
    const topic = await storedTopic(runtime, name);
    const topicStore = new DynamoDbTopicStore(runtime.documents, runtime.config.metaTableName);
    // The adapter as it was before payload objects: every batch's bytes in its item.
    const before = new LogService(
      topicStore,
      new DynamoDbPartitionLog(runtime.documents, {
        logTableName: runtime.config.logTableName,
        metaTableName: runtime.config.metaTableName,
      }),
      systemClock,
      tieredStorageFor(runtime).reader,
    );
    const old = events(60, 6);
    const current = events(60, 7);

    await before.produce(
      name,
      old.map((record) => ({
        partition: 0,
        key: { type: 'STRING', bytes: new Uint8Array(Buffer.from(record.key.data)) },
        value: { type: 'JSON', bytes: new Uint8Array(Buffer.from(JSON.stringify(record.value.data))) },
        headers: record.headers.map((header) => ({
          name: header.name,
          value: new Uint8Array(Buffer.from(header.value, 'base64')),
        })),
      })),
    );
    expect((await produce(name, current, 'current')).status).toBe(200);

    const items = await batchItems(topic, 0);
    expect(items.map((item) => (item.d === undefined ? 'payload' : 'inline'))).toEqual(['inline', 'payload']);
    expect(comparable(await fetchAll(name, 0))).toEqual(expectedOf([...old, ...current], 0));
  });

  it('archives batches from their payload objects into segments, and reads them back from S3', async () => {
    const name = await createTopic(1, { segmentMs: 1000 });
    const topic = await storedTopic(runtime, name);
    const records = [...events(50, 8), ...events(50, 9)];
    expect((await produce(name, records.slice(0, 50), 'one')).status).toBe(200);
    expect((await produce(name, records.slice(50), 'two')).status).toBe(200);

    const archiver = new Archiver(
      new DynamoDbTopicStore(runtime.documents, runtime.config.metaTableName),
      partitionLogFor(runtime),
      new DynamoDbSegmentManifest(runtime.documents, { metaTableName: runtime.config.metaTableName }),
      new S3SegmentObjects(runtime.s3, runtime.config.segmentBucketName),
      { ...systemClock, now: () => Date.now() + 60_000 },
    );
    const report = await archiver.run();

    expect(report.errors).toEqual([]);
    expect((await segmentObjects(runtime, topic, 0)).length).toBeGreaterThan(0);
    const head = (await api.get(`/v1/topics/${name}`)).body.partitions[0];
    expect(head.archivedOffset).toBe(100);
    expect(comparable(await fetchAll(name, 0))).toEqual(expectedOf(records, 0));
  });

  it('counts a removed batch whose payload object is gone as missing, and does not retry it forever', async () => {
    const name = await createTopic(1);
    const topic = await storedTopic(runtime, name);
    expect((await produce(name, events(60, 11), 'gone')).status).toBe(200);
    const [item] = (await batchItems(topic, 0)) as [Record<string, unknown>];
    // An append id whose object was never written (or expired long ago).
    const removal = ttlRemovalOf(item, { a: { S: randomUUID() } });

    const answer = await createRescueHandler(runtime)({ Records: [removal] });

    expect(answer.batchItemFailures).toEqual([]);
    expect(await rescuedObjects(runtime, topic, 0)).toEqual([]);
  });

  it('rescues a payload batch that TTL deleted before it was archived, from its payload object', async () => {
    const name = await createTopic(1);
    const topic = await storedTopic(runtime, name);
    expect((await produce(name, events(60, 10), 'rescued')).status).toBe(200);
    const [item] = (await batchItems(topic, 0)) as [Record<string, unknown>];
    const removal = ttlRemovalOf(item);

    const answer = await createRescueHandler(runtime)({ Records: [removal] });

    expect(answer.batchItemFailures).toEqual([]);
    const rescued = await rescuedObjects(runtime, topic, 0);
    expect(rescued).toHaveLength(1);
    const payload = await objectBytes(payloadKeyOf(topic, item));
    const start = Number(item.ps);
    expect(await objectBytes((rescued[0] as { key: string }).key)).toEqual(
      payload.subarray(start, start + Number(item.pn)),
    );
  });
});
