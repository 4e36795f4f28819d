/**
 * The answers the README's limits table promises, status codes included: a list over its limit is
 * a 413 that names the limit, a produce touching more partitions than one transaction holds is a
 * 413 with or without an Idempotency-Key, a timestamp no record can hold is a 400, and a long poll
 * on a topic deleted during the wait is a 404 (40401), not an offset out of range.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/domain/limits.js';
import { type ApiClient, json } from '../support/http-client.js';
import { createTestRuntime, startApiClient } from '../support/local-aws.js';

let api: ApiClient;
let close: () => Promise<void>;
/** Reads of partition heads so far (a long poll reads its head every 100 ms while it waits). */
let headReads = 0;

/** Counts BatchGetItem calls, the reads of partition heads. */
function countHeadReads(client: DynamoDBClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'BatchGetItemCommand') headReads++;
      return next(args);
    },
    { step: 'initialize', name: 'countHeadReads' },
  );
}

beforeAll(async () => {
  const runtime = await createTestRuntime({ tablePrefix: 'limits', decorateDynamoDb: countHeadReads });
  ({ api, close } = await startApiClient(runtime));
});
afterAll(() => close());

async function createTopic(name: string, partitions: number): Promise<void> {
  expect((await api.post('/v1/topics', { name, partitions })).status).toBe(201);
}

async function highWatermarks(topic: string): Promise<number[]> {
  const described = await api.get(`/v1/topics/${topic}`);
  return described.body.partitions.map((partition: { highWatermark: number }) => partition.highWatermark);
}

describe('limits of a produce request', () => {
  it('fails when a request holds more records than the limit, with 413 naming it and nothing appended', async () => {
    // Prepare
    await createTopic('many-records', 1);
    const records = Array.from({ length: LIMITS.recordsPerRequestMax + 1 }, () => ({ value: json(1) }));

    // Act
    const answer = await api.post('/v1/topics/many-records/records', { records });

    // Assess
    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({
      status: 413,
      error_code: 413,
      limit: 'records',
      value: LIMITS.recordsPerRequestMax + 1,
      max: LIMITS.recordsPerRequestMax,
    });
    expect(await highWatermarks('many-records')).toEqual([0]);
  });

  it('fails when a record has more headers than the limit, with 413', async () => {
    // Prepare
    await createTopic('many-headers', 1);
    const headers = Array.from({ length: LIMITS.headersPerRecordMax + 1 }, (_, i) => ({
      name: `h${i}`,
      value: '',
    }));

    // Act
    const answer = await api.post('/v1/topics/many-headers/records', {
      records: [{ value: json(1), headers }],
    });

    // Assess
    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({ limit: 'records[0].headers', max: LIMITS.headersPerRecordMax });
    expect(await highWatermarks('many-headers')).toEqual([0]);
  });

  it.each([
    ['without', {}],
    ['with', { 'idempotency-key': 'fifty-partitions' }],
  ])(
    'fails when a request touches one partition more than the limit, %s an Idempotency-Key',
    async (_, headers) => {
      // Prepare
      const topic = `wide-${Object.keys(headers).length}`;
      const partitions = LIMITS.partitionsPerRequestMax + 1;
      await createTopic(topic, partitions);
      const records = Array.from({ length: partitions }, (_, partition) => ({
        partition,
        value: json(partition),
      }));

      // Act
      const answer = await api.post(`/v1/topics/${topic}/records`, { records }, headers);

      // Assess
      expect(answer.status).toBe(413);
      expect(answer.body).toMatchObject({
        limit: 'partitionsPerRequest',
        value: partitions,
        max: LIMITS.partitionsPerRequestMax,
      });
      expect(new Set(await highWatermarks(topic))).toEqual(new Set([0]));
    },
  );

  it('appends a request that touches exactly the limit of partitions, with an Idempotency-Key', async () => {
    // Prepare
    const partitions = LIMITS.partitionsPerRequestMax;
    await createTopic('widest', partitions);
    const records = Array.from({ length: partitions }, (_, partition) => ({
      partition,
      value: json(partition),
    }));

    // Act
    const answer = await api.post('/v1/topics/widest/records', { records }, { 'idempotency-key': 'widest' });

    // Assess
    expect(answer.status).toBe(200);
    expect(new Set(await highWatermarks('widest'))).toEqual(new Set([1]));
  });

  it.each([-1, '1969-12-31T23:59:59Z', '0000-01-01T00:00:00Z', 253_402_300_800_000])(
    'fails when a record timestamp is %s, with 400 naming the field',
    async (timestamp) => {
      // Prepare
      await createTopic(`time-${String(timestamp).replace(/[^0-9]/g, '')}`, 1);
      const topic = `time-${String(timestamp).replace(/[^0-9]/g, '')}`;

      // Act
      const answer = await api.post(`/v1/topics/${topic}/records`, {
        records: [{ value: json(1), timestamp }],
      });

      // Assess
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ field: 'records[0].timestamp' });
      expect(answer.body.detail).toMatch(/1970|9999/);
      expect(await highWatermarks(topic)).toEqual([0]);
    },
  );
});

describe('a long poll on a topic deleted during the wait', () => {
  // Deleted: 404. Deleted and created again: the poll goes on by name, as a Kafka consumer's fetch
  // does, on the new incarnation, where offset 1 is past the end: 416, and the consumer resets.
  it.each([
    ['deleted', false, { status: 404, error_code: 40401 }],
    ['deleted and created again', true, { status: 416, error_code: 416, highWatermark: 0 }],
  ])('answers when the topic is %s', async (_, recreate, expected) => {
    // Prepare
    const topic = recreate ? 'poll-recreated' : 'poll-deleted';
    await createTopic(topic, 1);
    expect((await api.post(`/v1/topics/${topic}/records`, { records: [{ value: json(1) }] })).status).toBe(
      200,
    );
    const readsBefore = headReads;
    const polling = api.get(`/v1/topics/${topic}/partitions/0/records?offset=1&waitMs=20000`);
    // The poll is waiting once it has read its head twice: the delete lands during the wait.
    while (headReads < readsBefore + 2) await new Promise((resolve) => setTimeout(resolve, 20));

    // Act
    expect((await api.delete(`/v1/topics/${topic}`)).status).toBe(204);
    if (recreate) await createTopic(topic, 1);
    const answer = await polling;

    // Assess
    expect(answer.status).toBe(expected.status);
    expect(answer.body).toMatchObject(expected);
  });
});
