/**
 * Records up to 10 MiB: written through the produce API as far as its body allows, beyond that
 * through an upload the client PUTs straight to S3 and a produce appends by reference; read back by
 * reference (a presigned URL and a byte range) where a fetch answer could not hold them, from the hot
 * tier and from segments. Against DynamoDB Local and the S3 server, with faults injected on both.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Shoal } from '../../client/index.js';
import { LIMITS } from '../../shared/domain/limits.js';
import {
  PAYLOAD_KEY_PREFIX,
  payloadClassDaysOf,
  RETENTION_CLASS_DAYS,
  uploadKey,
} from '../../shared/domain/segment-keys.js';
import type { Runtime } from '../../shared/runtime.js';
import { tieredStorageFor } from '../../shared/services.js';
import { createFaultInjector } from '../support/faults.js';
import { type ApiClient, apiClient, bin, str } from '../support/http-client.js';
import { createTestRuntime, startTestApi, type TestApi } from '../support/local-aws.js';
import { listObjects, storedTopic } from '../support/tiered-storage.js';

const dynamodbFaults = createFaultInjector({ seed: 31 });
const s3Faults = createFaultInjector({ seed: 32 });
let runtime: Runtime;
let server: TestApi;
let api: ApiClient;

beforeAll(async () => {
  runtime = await createTestRuntime({
    tablePrefix: 'large-records',
    decorateDynamoDb: dynamodbFaults.install,
    decorateS3: s3Faults.install,
  });
  server = await startTestApi(runtime);
  api = apiClient(server.url);
});
afterAll(() => server?.close());
beforeEach(() => {
  dynamodbFaults.reset();
  s3Faults.reset();
});

/** The largest value a record without key or headers may hold: 10 MiB less its framing. */
const VALUE_BYTES_MAX = LIMITS.recordBytesMax - 32;

async function createTopic(config: Record<string, unknown> = {}): Promise<string> {
  const name = `large-${randomUUID().slice(0, 8)}`;
  const answer = await api.post('/v1/topics', { name, partitions: 1, ...config });
  expect(answer.status).toBe(201);
  return name;
}

/** Asks for an upload and PUTs `bytes` to its presigned URL; the upload id. */
async function upload(topic: string, bytes: Uint8Array): Promise<string> {
  const grant = await api.post(`/v1/topics/${topic}/uploads`, { bytes: bytes.byteLength });
  expect(grant.status).toBe(201);
  expect(grant.body).toMatchObject({ method: 'PUT', bytes: bytes.byteLength });
  const put = await fetch(grant.body.url, { method: 'PUT', headers: grant.body.headers, body: bytes });
  expect(put.status).toBe(200);
  return grant.body.uploadId;
}

const produce = (topic: string, records: unknown[], idempotencyKey?: string) =>
  api.post(
    `/v1/topics/${topic}/records`,
    { records },
    idempotencyKey === undefined ? {} : { 'Idempotency-Key': idempotencyKey },
  );

const highWatermark = async (topic: string): Promise<number> =>
  (await api.get(`/v1/topics/${topic}`)).body.partitions[0].highWatermark;

/** The record at `offset` as the API answers it (one record). */
async function fetchOne(topic: string, offset: number, query = '') {
  const answer = await api.get(
    `/v1/topics/${topic}/partitions/0/records?offset=${offset}&maxRecords=1${query}`,
  );
  expect(answer.status).toBe(200);
  expect(answer.body.records).toHaveLength(1);
  return answer.body.records[0];
}

/** Follows a value given by reference: a GET of its byte range. */
async function readReference(value: { url: string; range: string; bytes: number }): Promise<Buffer> {
  const answer = await fetch(value.url, { headers: { range: value.range } });
  expect(answer.status).toBe(206);
  const bytes = Buffer.from(await answer.arrayBuffer());
  expect(bytes.byteLength).toBe(value.bytes);
  return bytes;
}

describe('records up to 10 MiB', () => {
  it('appends a 10 MiB value through an upload and answers it by reference, byte for byte', async () => {
    const topic = await createTopic();
    const value = randomBytes(VALUE_BYTES_MAX);
    const uploadId = await upload(topic, value);

    const produced = await produce(topic, [{ key: str('big'), value: { type: 'BINARY', uploadId } }]);
    const fetched = await fetchOne(topic, 0);

    expect(produced.status).toBe(200);
    expect(produced.body.records[0].offset).toBe(0);
    expect(fetched.key).toEqual(str('big'));
    expect(fetched.value).toMatchObject({ type: 'BINARY', bytes: value.byteLength });
    expect(fetched.value.data).toBeUndefined();
    expect((await readReference(fetched.value)).equals(value)).toBe(true);
  });

  it('appends a 4 MB record through the produce API and answers it by reference, being over maxBytes', async () => {
    const topic = await createTopic();
    const text = 'x'.repeat(4_000_000);

    const produced = await produce(topic, [{ value: str('small') }, { value: str(text) }]);
    const page = await api.get(
      `/v1/topics/${topic}/partitions/0/records?offset=0&maxBytes=${LIMITS.fetchBytesMax}`,
    );
    const next = await fetchOne(topic, 1, `&maxBytes=${LIMITS.fetchBytesMax}`);

    expect(produced.status).toBe(200);
    // Past the first record maxBytes holds: the large one starts the next answer.
    expect(page.body.records.map((record: { value: unknown }) => record.value)).toEqual([str('small')]);
    expect(page.body.nextOffset).toBe(1);
    expect(next.value).toMatchObject({ type: 'STRING', bytes: text.length });
    expect((await readReference(next.value)).toString('utf8')).toBe(text);
  });

  it('answers a record stored apart inline when it is within maxBytes and the answer holds it', async () => {
    const topic = await createTopic();
    const text = 'y'.repeat(2_000_000);

    expect((await produce(topic, [{ value: str(text) }])).status).toBe(200);
    const inline = await fetchOne(topic, 0, `&maxBytes=${LIMITS.fetchBytesMax}`);
    const referenced = await fetchOne(topic, 0);

    expect(inline.value).toEqual(str(text));
    expect(referenced.value).toMatchObject({ type: 'STRING', bytes: text.length });
  });

  it('lets the client producer upload a value too large for a request, and its consumer follow the reference', async () => {
    const topic = await createTopic();
    const document = { items: Array.from({ length: 200_000 }, (_, i) => ({ i, name: `item-${i}` })) };
    const value = randomBytes(8 * 1024 * 1024);
    const shoal = new Shoal({ url: server.url });
    const producer = shoal.producer({ lingerMs: 0 });

    await producer.send({
      topic,
      records: [
        { key: 'doc', value: { type: 'JSON', data: document } },
        { key: 'blob', value },
        { key: 'small', value: 'small' },
      ],
    });
    await producer.close();
    const consumer = shoal.consumer({ groupId: `large-${randomUUID().slice(0, 8)}`, watch: false });
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const seen: { key: string | null; value: unknown }[] = [];
    await consumer.run({
      eachRecord: async ({ record }) => {
        seen.push({ key: record.key?.type === 'STRING' ? record.key.data : null, value: record.value });
      },
    });
    for (let waited = 0; seen.length < 3 && waited < 20_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await consumer.disconnect();

    expect(Buffer.byteLength(JSON.stringify(document))).toBeGreaterThan(LIMITS.requestBodyBytesMax);
    expect(seen.map((record) => record.key)).toEqual(['doc', 'blob', 'small']);
    expect(seen[0]?.value).toEqual({ type: 'JSON', data: document });
    expect(seen[1]?.value).toEqual({ type: 'BINARY', data: value.toString('base64') });
  });

  it('answers a large value by reference from its segment after archiving', async () => {
    const topic = await createTopic({ segmentMs: 1000 });
    const value = randomBytes(6 * 1024 * 1024);
    const uploadId = await upload(topic, value);
    expect((await produce(topic, [{ value: str('before') }])).status).toBe(200);
    expect((await produce(topic, [{ value: { type: 'BINARY', uploadId } }])).status).toBe(200);
    expect((await produce(topic, [{ value: str('after') }])).status).toBe(200);

    const later = { ...runtime.clock, now: () => Date.now() + 60_000 };
    const report = await tieredStorageFor({ ...runtime, clock: later }).archiver.run();
    const described = (await api.get(`/v1/topics/${topic}`)).body.partitions[0];
    const fetched = await fetchOne(topic, 1);

    expect(report.errors).toEqual([]);
    expect(described.archivedOffset).toBe(3);
    expect(new URL(fetched.value.url).pathname).toContain('/segments/');
    expect((await readReference(fetched.value)).equals(value)).toBe(true);
    expect((await fetchOne(topic, 2)).value).toEqual(str('after'));
  });

  it('appends an upload-referenced produce once when it is retried with its Idempotency-Key', async () => {
    const topic = await createTopic();
    const uploadId = await upload(topic, randomBytes(500_000));
    const records = [{ value: { type: 'BINARY', uploadId } }, { value: str('next') }];

    const first = await produce(topic, records, 'upload-once');
    const retried = await produce(topic, records, 'upload-once');
    const other = await produce(topic, [{ value: { type: 'STRING', uploadId } }], 'upload-once');

    expect(first.status).toBe(200);
    expect(retried.status).toBe(200);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(retried.body.records).toEqual(first.body.records);
    expect(other.status).toBe(422);
    expect(await highWatermark(topic)).toBe(2);
  });
});

describe('the guarantees with records stored apart among small ones', () => {
  it('appends one request mixing small records, an inline 500 KB one and an upload over two partitions atomically, dense and byte for byte', async () => {
    const name = `large-${randomUUID().slice(0, 8)}`;
    expect((await api.post('/v1/topics', { name, partitions: 2 })).status).toBe(201);
    const uploaded = randomBytes(3_000_000);
    const uploadId = await upload(name, uploaded);
    const inline = randomBytes(500_000);
    const records = [
      { partition: 0, value: str('a') },
      { partition: 1, value: bin(inline) },
      { partition: 0, value: { type: 'BINARY', uploadId }, headers: [{ name: 'h', value: 'AQ==' }] },
      { partition: 1, value: str('b') },
      { partition: 0, value: str('c') },
    ];

    const produced = await produce(name, records, 'mixed');
    const replayed = await produce(name, records, 'mixed');

    expect(produced.status).toBe(200);
    expect(
      produced.body.records.map((r: { partition: number; offset: number }) => [r.partition, r.offset]),
    ).toEqual([
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
      [0, 2],
    ]);
    expect(replayed.body.records).toEqual(produced.body.records);
    expect(
      (await api.get(`/v1/topics/${name}`)).body.partitions.map(
        (p: { highWatermark: number }) => p.highWatermark,
      ),
    ).toEqual([3, 2]);
    // maxBytes=1: each answer holds its first record whole.
    expect((await fetchOne(name, 0, '&maxBytes=1')).value).toEqual(str('a'));
    const big = await fetchOne(name, 1, '&maxBytes=1');
    expect(big.headers).toEqual([{ name: 'h', value: 'AQ==' }]);
    expect((await readReference(big.value)).equals(uploaded)).toBe(true);
    expect((await fetchOne(name, 2, '&maxBytes=1')).value).toEqual(str('c'));
    const second = await api.get(
      `/v1/topics/${name}/partitions/1/records?offset=0&maxBytes=${LIMITS.fetchBytesMax}`,
    );
    expect(Buffer.from(second.body.records[0].value.data, 'base64').equals(inline)).toBe(true);
    expect(second.body.records[1].value).toEqual(str('b'));
  });
});

describe('uploads after their produce', () => {
  it('replays a retry by its Idempotency-Key after the upload is gone, without reading it', async () => {
    const topic = await createTopic();
    const { topicId } = await storedTopic(runtime, topic);
    const uploadId = await upload(topic, randomBytes(600_000));
    const records = [{ value: { type: 'BINARY', uploadId } }];
    const first = await produce(topic, records, 'gone-later');

    // The lifecycle rule deletes uploads a day after they were made.
    await runtime.s3.send(
      new DeleteObjectCommand({
        Bucket: runtime.config.segmentBucketName,
        Key: uploadKey(topicId, uploadId),
      }),
    );
    const retried = await produce(topic, records, 'gone-later');
    const unkeyed = await produce(topic, records);

    expect(first.status).toBe(200);
    expect(retried.status).toBe(200);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(unkeyed.status).toBe(400);
    expect(unkeyed.body.field).toBe('records[0].value.uploadId');
    expect(await highWatermark(topic)).toBe(1);
  });
});

describe('faults on the upload path', () => {
  it('answers 429 when S3 throttles the read of the upload, appends nothing, and appends on retry', async () => {
    const topic = await createTopic();
    const value = randomBytes(1_000_000);
    const uploadId = await upload(topic, value);
    const records = [{ value: { type: 'BINARY', uploadId } }];

    s3Faults.add({ commands: ['GetObject'], fault: 'slowDown', times: 1 });
    const throttled = await produce(topic, records, 'throttled-read');
    const before = await highWatermark(topic);
    const retried = await produce(topic, records, 'throttled-read');

    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('1');
    expect(before).toBe(0);
    expect(retried.status).toBe(200);
    expect((await readReference((await fetchOne(topic, 0, '&maxBytes=1')).value)).equals(value)).toBe(true);
  });

  it('answers 429 or 503 when the payload write is throttled or times out, and shows nothing', async () => {
    const topic = await createTopic();
    const uploadId = await upload(topic, randomBytes(1_000_000));
    const records = [{ value: { type: 'BINARY', uploadId } }];

    s3Faults.add({ commands: ['PutObject'], fault: 'slowDown', times: 1 });
    const throttled = await produce(topic, records, 'payload-write');
    s3Faults.add({ commands: ['PutObject'], fault: 'timeoutAfterWrite', times: 1 });
    const timedOut = await produce(topic, records, 'payload-write');

    expect(throttled.status).toBe(429);
    expect(timedOut.status).toBe(503);
    expect(await highWatermark(topic)).toBe(0);
    expect((await produce(topic, records, 'payload-write')).status).toBe(200);
    expect(await highWatermark(topic)).toBe(1);
  });

  it('appends once when the transaction times out after DynamoDB applied it', async () => {
    const topic = await createTopic();
    const value = randomBytes(2_000_000);
    const uploadId = await upload(topic, value);

    dynamodbFaults.add({ commands: ['TransactWriteItems'], fault: 'timeoutAfterWrite', times: 1 });
    const answer = await produce(topic, [{ value: { type: 'BINARY', uploadId } }]);

    expect(answer.status).toBe(200);
    expect(dynamodbFaults.count('timeoutAfterWrite')).toBe(1);
    expect(await highWatermark(topic)).toBe(1);
    expect((await readReference((await fetchOne(topic, 0, '&maxBytes=1')).value)).equals(value)).toBe(true);
  });

  it('leaves nothing visible when the commit never comes after the payload write, and the object under a prefix that expires', async () => {
    const name = await createTopic();
    const topic = await storedTopic(runtime, name);
    const uploadId = await upload(name, randomBytes(1_000_000));

    // The payload object is written; DynamoDB then refuses the transaction, as after a crash.
    dynamodbFaults.add({ commands: ['TransactWriteItems'], fault: 'throttle', times: 1 });
    const refused = await produce(name, [{ value: { type: 'BINARY', uploadId } }]);
    const objects = (await listObjects(runtime, PAYLOAD_KEY_PREFIX)).filter((object) =>
      object.key.includes(`/${topic.topicId}/`),
    );

    expect(refused.status).toBe(429);
    expect(await highWatermark(name)).toBe(0);
    expect(objects).toHaveLength(1);
    // Every payload class is a prefix with a lifecycle rule (infra test): the orphan expires.
    expect(RETENTION_CLASS_DAYS).toContain(payloadClassDaysOf((objects[0] as { key: string }).key));
  });
});

describe('bad input on the upload path: a 4xx and nothing changed', () => {
  it('fails when an upload asks for more than 10 MiB, with 413 naming uploadBytes', async () => {
    const topic = await createTopic();

    const answer = await api.post(`/v1/topics/${topic}/uploads`, { bytes: LIMITS.uploadBytesMax + 1 });

    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({ limit: 'uploadBytes', max: LIMITS.uploadBytesMax });
  });

  it('fails when the record with its upload is over 10 MiB, with 413 naming recordBytes', async () => {
    const topic = await createTopic();
    const uploadId = await upload(topic, randomBytes(LIMITS.uploadBytesMax));

    const answer = await produce(topic, [{ key: str('k'), value: { type: 'BINARY', uploadId } }]);

    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({ limit: 'recordBytes', max: LIMITS.recordBytesMax });
    expect(await highWatermark(topic)).toBe(0);
  });

  it('fails when a key with headers is over recordInlineBytesMax, with 413: only a value may be larger', async () => {
    const topic = await createTopic();

    const answer = await produce(topic, [
      { key: str('k'.repeat(LIMITS.recordInlineBytesMax)), value: str('v') },
    ]);

    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({
      limit: 'recordKeyAndHeadersBytes',
      max: LIMITS.recordInlineBytesMax,
    });
    expect(await highWatermark(topic)).toBe(0);
  });

  it('fails when a produce names an upload that does not exist, with 400 naming the field', async () => {
    const topic = await createTopic();

    const unknown = await produce(topic, [
      { value: str('a') },
      { value: { type: 'BINARY', uploadId: `${'0'.repeat(32)}-10` } },
    ]);
    const malformed = await produce(topic, [{ value: { type: 'BINARY', uploadId: '../segments/x' } }]);

    expect(unknown.status).toBe(400);
    expect(unknown.body.field).toBe('records[1].value.uploadId');
    expect(malformed.status).toBe(400);
    expect(await highWatermark(topic)).toBe(0);
  });

  it('fails when an upload holds more than it was granted for, with 413', async () => {
    const topic = await createTopic();
    const { topicId } = await storedTopic(runtime, topic);
    const grant = await api.post(`/v1/topics/${topic}/uploads`, { bytes: 100 });
    // Written past the signed length (S3 itself refuses such a PUT of the presigned URL).
    await runtime.s3.send(
      new PutObjectCommand({
        Bucket: runtime.config.segmentBucketName,
        Key: uploadKey(topicId, grant.body.uploadId),
        Body: randomBytes(101),
      }),
    );

    const answer = await produce(topic, [{ value: { type: 'BINARY', uploadId: grant.body.uploadId } }]);

    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({ limit: 'uploadBytes', value: 101, max: 100 });
    expect(await highWatermark(topic)).toBe(0);
  });

  it('fails when a JSON upload is not JSON or a STRING upload not UTF-8, with 400', async () => {
    const topic = await createTopic();
    const notJson = await upload(topic, Buffer.from('{"open": ['));
    const notUtf8 = await upload(topic, Buffer.from([0x61, 0xff, 0x62]));

    const json = await produce(topic, [{ value: { type: 'JSON', uploadId: notJson } }]);
    const text = await produce(topic, [{ value: { type: 'STRING', uploadId: notUtf8 } }]);
    const binary = await produce(topic, [{ value: bin(Buffer.from('ok')) }]);

    expect(json.status).toBe(400);
    expect(json.body.field).toBe('records[0].value');
    expect(text.status).toBe(400);
    expect(binary.status).toBe(200);
    expect(await highWatermark(topic)).toBe(1);
  });
});
