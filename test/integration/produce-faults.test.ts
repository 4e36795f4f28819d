import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFaultInjector, type FaultInjector } from '../support/faults.js';
import { type ApiClient, apiClient, json, str } from '../support/http-client.js';
import { createTestRuntime, startTestApi } from '../support/local-aws.js';

let api: ApiClient;
let faults: FaultInjector;
let close: () => Promise<void>;
let topicCount = 0;

beforeAll(async () => {
  faults = createFaultInjector({ seed: 7 });
  const server = await startTestApi(await createTestRuntime({ decorateDynamoDb: faults.install }));
  api = apiClient(server.url);
  close = server.close;
});
afterAll(() => close());
beforeEach(() => faults.reset());

async function newTopic(partitions = 1): Promise<string> {
  const name = `faults-${++topicCount}`;
  expect((await api.post('/v1/topics', { name, partitions })).status).toBe(201);
  return name;
}

async function readAll(topic: string, partition = 0) {
  const page = await api.get(`/v1/topics/${topic}/partitions/${partition}/records?offset=0&maxRecords=10000`);
  return page.body.records as { offset: number; value: { data: unknown } }[];
}

describe('produce under injected DynamoDB faults', () => {
  it('appends once when the transaction times out after it was applied (no Idempotency-Key)', async () => {
    const topic = await newTopic();
    const rule = faults.add({ commands: ['TransactWriteItems'], fault: 'timeoutAfterWrite', times: 1 });

    const answer = await api.post(`/v1/topics/${topic}/records`, { records: [{ value: json('once') }] });

    expect(rule.injected).toBe(1);
    expect(answer.status).toBe(200);
    expect(answer.body.records[0].offset).toBe(0);
    expect((await readAll(topic)).map((r) => r.value.data)).toEqual(['once']);
  });

  // The SDK fills TransactWriteItems' ClientRequestToken and reuses it on its own retries, so DynamoDB
  // (Local too) answers the retry of an applied transaction with success instead of applying it again.
  it('appends once when the SDK retries a transaction that had applied before timing out', async () => {
    const topic = await newTopic();
    const rule = faults.add({
      commands: ['TransactWriteItems'],
      fault: 'timeoutAfterWrite',
      times: 1,
      layer: 'attempt',
    });

    const answer = await api.post(`/v1/topics/${topic}/records`, {
      records: [{ value: json('a') }, { value: json('b') }],
    });

    expect(rule.injected).toBe(1);
    expect(answer.status).toBe(200);
    expect(answer.body.records.map((r: { offset: number }) => r.offset)).toEqual([0, 1]);
    expect((await readAll(topic)).map((r) => r.value.data)).toEqual(['a', 'b']);
  });

  it('retries transaction conflicts and succeeds', async () => {
    const topic = await newTopic();
    const rule = faults.add({ commands: ['TransactWriteItems'], fault: 'conflict', times: 3 });

    const answer = await api.post(`/v1/topics/${topic}/records`, { records: [{ value: json(1) }] });

    expect(rule.injected).toBe(3);
    expect(answer.status).toBe(200);
    expect(await readAll(topic)).toHaveLength(1);
  });

  it('fails when conflicts never stop: 503 with Retry-After and nothing appended', async () => {
    const topic = await newTopic();
    faults.add({ commands: ['TransactWriteItems'], fault: 'conflict' });

    const answer = await api.post(`/v1/topics/${topic}/records`, { records: [{ value: json(1) }] });
    faults.reset();

    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBe('1');
    expect(answer.headers.get('content-type')).toBe('application/problem+json');
    expect(await readAll(topic)).toHaveLength(0);
  });

  it('fails when DynamoDB throttles: 429 with Retry-After and nothing appended', async () => {
    const topic = await newTopic();
    faults.add({ commands: ['TransactWriteItems'], fault: 'throttle' });

    const answer = await api.post(`/v1/topics/${topic}/records`, { records: [{ value: json(1) }] });
    faults.reset();

    expect(answer.status).toBe(429);
    expect(answer.headers.get('retry-after')).toBe('1');
    expect(await readAll(topic)).toHaveLength(0);
  });

  it('leaves no duplicate when producers retry with the same Idempotency-Key through throttling, conflicts and timeouts', async () => {
    const topic = await newTopic(3);
    const rules = (['call', 'attempt'] as const).flatMap((layer) => [
      faults.add({ commands: ['TransactWriteItems'], fault: 'timeoutAfterWrite', probability: 0.15, layer }),
      faults.add({ commands: ['TransactWriteItems'], fault: 'conflict', probability: 0.15, layer }),
      faults.add({ commands: ['TransactWriteItems'], fault: 'throttle', probability: 0.1, layer }),
    ]);
    const producers = 4;
    const requestsPerProducer = 15;
    const acknowledged = new Map<string, { partition: number; offset: number }>();

    await Promise.all(
      Array.from({ length: producers }, async (_, producer) => {
        for (let request = 0; request < requestsPerProducer; request++) {
          const records = [0, 1, 2].map((i) => ({
            key: str(`key-${(producer + i) % 5}`),
            value: json({ id: `${producer}-${request}-${i}` }),
          }));
          for (let attempt = 0; ; attempt++) {
            expect(attempt).toBeLessThan(40);
            // A timeout seen by the client is simulated too: every other 200 is treated as lost once.
            const answer = await api.post(
              `/v1/topics/${topic}/records`,
              { records },
              {
                'Idempotency-Key': `${producer}-${request}`,
              },
            );
            if (answer.status === 200 && (attempt > 0 || request % 2 === 1)) {
              answer.body.records.forEach((position: { partition: number; offset: number }, i: number) => {
                acknowledged.set(`${producer}-${request}-${i}`, {
                  partition: position.partition,
                  offset: position.offset,
                });
              });
              break;
            }
            expect([200, 429, 503]).toContain(answer.status);
          }
        }
      }),
    );
    faults.reset();

    for (const rule of rules) expect(rule.injected, `${rule.fault} on ${rule.layer}`).toBeGreaterThan(0);
    const stored = new Map<string, { partition: number; offset: number }>();
    for (let partition = 0; partition < 3; partition++) {
      const records = await readAll(topic, partition);
      expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => i));
      for (const record of records) {
        const id = (record.value.data as { id: string }).id;
        expect(stored.has(id), `duplicate ${id}`).toBe(false);
        stored.set(id, { partition, offset: record.offset });
      }
    }
    expect(stored).toEqual(acknowledged);
    expect(stored.size).toBe(producers * requestsPerProducer * 3);
  }, 120_000);
});

describe('reads under injected DynamoDB throttling', () => {
  // The produce function reads a topic item only when its topic cache has no fresh copy (the first
  // produce of the topic here): that case writes nothing before the throttled request.
  it.each([
    ['a fetch (Query)', ['Query'], 'get', 1],
    ['a produce (the heads BatchGetItem)', ['BatchGetItem'], 'post', 1],
    ['a produce (the topic GetItem, on a cache miss)', ['GetItem'], 'post', 0],
  ] as const)(
    'fails when %s is throttled: 429 with Retry-After, not a 5xx',
    async (_, commands, method, before) => {
      const topic = await newTopic();
      if (before > 0) await api.post(`/v1/topics/${topic}/records`, { records: [{ value: json(1) }] });
      faults.add({ commands: [...commands], fault: 'throttle' });

      const answer =
        method === 'get'
          ? await api.get(`/v1/topics/${topic}/partitions/0/records?offset=0`)
          : await api.post(`/v1/topics/${topic}/records`, { records: [{ value: json(2) }] });
      faults.reset();

      expect(answer.status).toBe(429);
      expect(answer.headers.get('retry-after')).toBe('1');
      expect(answer.headers.get('content-type')).toBe('application/problem+json');
      expect(await readAll(topic)).toHaveLength(before);
    },
  );
});
