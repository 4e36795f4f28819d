import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/domain/limits.js';
import { partitionForKey } from '../../shared/domain/partitioner.js';
import { type ApiClient, bin, json, str } from '../support/http-client.js';
import { createTestRuntime, startApiClient } from '../support/local-aws.js';

let api: ApiClient;
let close: () => Promise<void>;

beforeAll(async () => {
  const runtime = await createTestRuntime();
  ({ api, close } = await startApiClient(runtime));
});
afterAll(() => close());

async function createTopic(name: string, partitions: number) {
  const answer = await api.post('/v1/topics', { name, partitions });
  expect(answer.status).toBe(201);
}

async function fetchAll(topic: string, partition: number, from = 0) {
  const records: any[] = [];
  let offset = from;
  for (;;) {
    const page = await api.get(
      `/v1/topics/${topic}/partitions/${partition}/records?offset=${offset}&maxRecords=1000`,
    );
    expect(page.status).toBe(200);
    records.push(...page.body.records);
    if (page.body.nextOffset >= page.body.highWatermark) return records;
    offset = page.body.nextOffset;
  }
}

describe('produce and fetch', () => {
  it('round-trips typed keys, values, headers and timestamps', async () => {
    await createTopic('typed', 1);
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    const records = [
      { key: str('k'), value: json({ nested: [1, 'two', null], ok: true }), timestamp: 1_700_000_000_000 },
      { key: bin(bytes), value: str('héllo ✓'), headers: [{ name: 'trace', value: 'AQID' }] },
      { value: bin(new Uint8Array()), timestamp: '2024-05-06T07:08:09.010+02:00' },
      { key: json(42), value: null },
    ];

    const produced = await api.post('/v1/topics/typed/records', { records });
    const fetched = await api.get('/v1/topics/typed/partitions/0/records?offset=0');

    expect(produced.status).toBe(200);
    expect(produced.body.records.map((r: { offset: number }) => r.offset)).toEqual([0, 1, 2, 3]);
    expect(produced.body.records[0].timestamp).toBe('2023-11-14T22:13:20.000Z');
    expect(fetched.body).toMatchObject({
      topic: 'typed',
      partition: 0,
      nextOffset: 4,
      highWatermark: 4,
      logStartOffset: 0,
    });
    const got = fetched.body.records;
    expect(got[0]).toMatchObject({
      offset: 0,
      key: str('k'),
      value: json({ nested: [1, 'two', null], ok: true }),
    });
    expect(got[1]).toMatchObject({
      key: bin(bytes),
      value: str('héllo ✓'),
      headers: [{ name: 'trace', value: 'AQID' }],
    });
    expect(got[2]).toMatchObject({
      key: null,
      value: { type: 'BINARY', data: '' },
      timestamp: '2024-05-06T05:08:09.010Z',
    });
    expect(got[3]).toMatchObject({ key: json(42), value: null });
  });

  it("puts keyed records in the partition Kafka's murmur2 partitioner picks, in order", async () => {
    await createTopic('keyed', 6);
    const keys = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace'];
    const records = keys.flatMap((key) => [1, 2, 3].map((n) => ({ key: str(key), value: json({ key, n }) })));

    const produced = await api.post('/v1/topics/keyed/records', { records });

    for (const [index, position] of produced.body.records.entries()) {
      const key = keys[Math.floor(index / 3)] as string;
      expect(position.partition).toBe(partitionForKey(Buffer.from(key, 'utf8'), 6));
    }
    for (const key of keys) {
      const partition = partitionForKey(Buffer.from(key, 'utf8'), 6);
      const values = (await fetchAll('keyed', partition))
        .filter((r) => r.key.data === key)
        .map((r) => r.value.data.n);
      expect(values).toEqual([1, 2, 3]);
    }
  });

  it('spreads keyless records over every partition across requests', async () => {
    await createTopic('keyless', 4);
    for (let request = 0; request < 40; request++) {
      await api.post('/v1/topics/keyless/records', { records: [{ value: json({ request }) }] });
    }

    const described = await api.get('/v1/topics/keyless');

    const counts = described.body.partitions.map((p: { highWatermark: number }) => p.highWatermark);
    expect(counts.reduce((a: number, b: number) => a + b, 0)).toBe(40);
    for (const count of counts) expect(count).toBeGreaterThan(0);
  });

  it('fails when one record names a partition that does not exist, appending none of the request', async () => {
    await createTopic('atomic', 2);

    const answer = await api.post('/v1/topics/atomic/records', {
      records: [
        { value: json(1), partition: 0 },
        { value: json(2), partition: 9 },
      ],
    });

    expect(answer.status).toBe(404);
    expect(answer.body.error_code).toBe(40402);
    expect((await api.get('/v1/topics/atomic')).body.partitions[0].highWatermark).toBe(0);
  });

  it('appends one request spanning several partitions atomically with consecutive offsets per partition', async () => {
    await createTopic('span', 3);
    await api.post('/v1/topics/span/records', { records: [{ value: json('x'), partition: 1 }] });

    const answer = await api.post('/v1/topics/span/records', {
      records: [0, 1, 2, 0, 1, 2].map((partition, i) => ({ value: json(i), partition })),
    });

    expect(
      answer.body.records.map((r: { partition: number; offset: number }) => [r.partition, r.offset]),
    ).toEqual([
      [0, 0],
      [1, 1],
      [2, 0],
      [0, 1],
      [1, 2],
      [2, 1],
    ]);
  });

  it('splits a large request into several items and reads it back exactly', async () => {
    await createTopic('large', 1);
    // Incompressible values: 1,500 × 1 KB is several 380 KB items in one transaction.
    const values = Array.from({ length: 1500 }, () => randomBytes(1024));

    const answer = await api.post('/v1/topics/large/records', {
      records: values.map((value) => ({ value: bin(value) })),
    });
    const records = await fetchAll('large', 0);

    expect(answer.status).toBe(200);
    expect(records.map((r) => r.offset)).toEqual(values.map((_, i) => i));
    expect(records.map((r) => r.value.data)).toEqual(values.map((v) => v.toString('base64')));
  });

  it('fails when the body is over requestBodyBytesMax, with 413 naming the limit', async () => {
    await createTopic('big-body', 1);
    const body = JSON.stringify({ records: [{ value: str('x'.repeat(LIMITS.requestBodyBytesMax)) }] });

    const answer = await api.raw('POST', '/v1/topics/big-body/records', body);

    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({ limit: 'requestBodyBytes', max: LIMITS.requestBodyBytesMax });
    expect((await api.get('/v1/topics/big-body')).body.partitions[0].highWatermark).toBe(0);
  });

  it.each([
    [{ records: [] }, 'records'],
    [{ records: [{ value: { type: 'XML', data: '<a/>' } }] }, 'records[0].value.type'],
    [{ records: [{ value: { type: 'BINARY', data: '%%%' } }] }, 'records[0].value.data'],
    [{ records: [{ value: json(1), partition: -1 }] }, 'records[0].partition'],
    [{ records: [{ value: json(1), timestamp: 'yesterday' }] }, 'records[0].timestamp'],
    [{ records: [{ value: json(1), headers: [{ name: 'h', value: '!' }] }] }, 'records[0].headers[0].value'],
    [{ records: [{}] }, 'records[0]'],
    [{ rec: [] }, 'records'],
  ])('fails when producing %j: 400 naming %s', async (body, field) => {
    await api.post('/v1/topics', { name: 'invalid-produce', partitions: 1 });

    const answer = await api.post('/v1/topics/invalid-produce/records', body);

    expect(answer.status).toBe(400);
    expect(answer.body.field).toBe(field);
    expect((await api.get('/v1/topics/invalid-produce')).body.partitions[0].highWatermark).toBe(0);
  });

  it('fails when producing to a topic that does not exist', async () => {
    const answer = await api.post('/v1/topics/missing/records', { records: [{ value: json(1) }] });

    expect(answer.status).toBe(404);
    expect(answer.body.error_code).toBe(40401);
  });
});

describe('idempotent produce', () => {
  it('returns the first answer for a retry with the same Idempotency-Key and appends nothing', async () => {
    await createTopic('idem', 2);
    const body = {
      records: [
        { key: str('a'), value: json(1) },
        { key: str('b'), value: json(2) },
      ],
    };

    const first = await api.post('/v1/topics/idem/records', body, { 'Idempotency-Key': 'req-1' });
    const retry = await api.post('/v1/topics/idem/records', body, { 'Idempotency-Key': 'req-1' });

    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    const total = (await api.get('/v1/topics/idem')).body.partitions.reduce(
      (sum: number, p: { highWatermark: number }) => sum + p.highWatermark,
      0,
    );
    expect(total).toBe(2);
  });

  it('fails when the same Idempotency-Key comes with a different body: 422', async () => {
    await createTopic('idem-conflict', 1);
    await api.post(
      '/v1/topics/idem-conflict/records',
      { records: [{ value: json(1) }] },
      { 'Idempotency-Key': 'k' },
    );

    const answer = await api.post(
      '/v1/topics/idem-conflict/records',
      { records: [{ value: json(2) }] },
      {
        'Idempotency-Key': 'k',
      },
    );

    expect(answer.status).toBe(422);
    expect((await api.get('/v1/topics/idem-conflict')).body.partitions[0].highWatermark).toBe(1);
  });

  it('fails when the Idempotency-Key is malformed', async () => {
    await createTopic('idem-bad', 1);

    const answer = await api.post(
      '/v1/topics/idem-bad/records',
      { records: [{ value: json(1) }] },
      {
        'Idempotency-Key': 'x'.repeat(300),
      },
    );

    expect(answer.status).toBe(400);
    expect(answer.body.field).toBe('Idempotency-Key');
  });
});

describe('fetch', () => {
  it('honours maxRecords and maxBytes but always returns at least one record', async () => {
    await createTopic('limits', 1);
    await api.post('/v1/topics/limits/records', {
      records: Array.from({ length: 20 }, (_, i) => ({ value: str(`${i}`.padStart(100, '0')) })),
    });

    const byCount = await api.get('/v1/topics/limits/partitions/0/records?offset=3&maxRecords=5');
    const byBytes = await api.get('/v1/topics/limits/partitions/0/records?offset=0&maxBytes=250');
    const tiny = await api.get('/v1/topics/limits/partitions/0/records?offset=7&maxBytes=1');

    expect(byCount.body.records.map((r: { offset: number }) => r.offset)).toEqual([3, 4, 5, 6, 7]);
    expect(byCount.body.nextOffset).toBe(8);
    expect(byBytes.body.records).toHaveLength(2);
    expect(tiny.body.records.map((r: { offset: number }) => r.offset)).toEqual([7]);
  });

  it('answers 416 with logStartOffset and highWatermark past the end, and an empty page at the end', async () => {
    await createTopic('range', 1);
    await api.post('/v1/topics/range/records', { records: [{ value: json(1) }, { value: json(2) }] });

    const atEnd = await api.get('/v1/topics/range/partitions/0/records?offset=2');
    const past = await api.get('/v1/topics/range/partitions/0/records?offset=3');

    expect(atEnd.body).toMatchObject({ records: [], nextOffset: 2, highWatermark: 2 });
    expect(past.status).toBe(416);
    expect(past.body).toMatchObject({ logStartOffset: 0, highWatermark: 2, offset: 3 });
  });

  it.each([
    ['', 'offset'],
    ['offset=-1', 'offset'],
    ['offset=abc', 'offset'],
    ['offset=0&maxRecords=0', 'maxRecords'],
    ['offset=0&maxRecords=100000', 'maxRecords'],
    ['offset=0&waitMs=60000', 'waitMs'],
    ['offset=0&bogus=1', 'body'],
  ])('fails when the query is %s: 400 naming %s', async (query, field) => {
    await api.post('/v1/topics', { name: 'bad-query', partitions: 1 });

    const answer = await api.get(`/v1/topics/bad-query/partitions/0/records?${query}`);

    expect(answer.status).toBe(400);
    expect(answer.body.field).toBe(field);
  });

  it('fails for a partition that does not exist: 404 40402', async () => {
    await createTopic('two', 2);

    const answer = await api.get('/v1/topics/two/partitions/2/records?offset=0');

    expect(answer.status).toBe(404);
    expect(answer.body.error_code).toBe(40402);
  });

  it('long-polls: a fetch at the end returns the records produced while it waits', async () => {
    await createTopic('poll', 1);

    const pending = api.get('/v1/topics/poll/partitions/0/records?offset=0&waitMs=10000');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await api.post('/v1/topics/poll/records', { records: [{ value: json('late') }] });
    const answer = await pending;

    expect(answer.body.records.map((r: { value: unknown }) => r.value)).toEqual([json('late')]);
  });

  it('finds the earliest offset at or after a timestamp, even with timestamps out of order', async () => {
    await createTopic('times', 1);
    const timestamps = [1000, 5000, 3000, 7000, 6000, 9000];
    for (const timestamp of timestamps) {
      await api.post('/v1/topics/times/records', { records: [{ value: json(timestamp), timestamp }] });
    }
    const lookup = async (timestamp: number | string) =>
      (await api.get(`/v1/topics/times/partitions/0/offsets?timestamp=${timestamp}`)).body.offset;

    expect(await lookup(0)).toBe(0);
    expect(await lookup(1000)).toBe(0);
    expect(await lookup(2000)).toBe(1);
    expect(await lookup(5500)).toBe(3);
    expect(await lookup(6500)).toBe(3);
    expect(await lookup(8000)).toBe(5);
    expect(await lookup(10_000)).toBe(6);
    expect(await lookup('1970-01-01T00:00:04Z')).toBe(1);
  });
});
