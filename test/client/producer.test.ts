/**
 * The producer against the real handlers on DynamoDB Local: routing like the server, batching by
 * linger and size, idempotent retries, and a process killed mid-stream and restarted.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsumedRecord, dataText, Shoal, string } from '../../client/index.js';
import { createTestRuntime, startTestApi, type TestApi } from '../support/local-aws.js';

let api: TestApi;
let shoal: Shoal;
let topicCount = 0;

beforeAll(async () => {
  api = await startTestApi(await createTestRuntime({ tablePrefix: 'client-producer' }));
  shoal = new Shoal({ url: api.url });
});
afterAll(() => api?.close());

async function newTopic(partitions: number): Promise<string> {
  const name = `producer-${++topicCount}`;
  await shoal.admin().createTopic({ name, partitions });
  return name;
}

/** Every record of a topic, partition by partition. */
async function readAll(topic: string): Promise<ConsumedRecord[]> {
  const description = await shoal.admin().describeTopic(topic);
  const records: ConsumedRecord[] = [];
  for (const { partition, highWatermark } of description.partitions) {
    let offset = 0;
    while (offset < highWatermark) {
      const answer = await shoal.api.fetch(topic, partition, { offset, maxRecords: 1000 });
      for (const record of answer.records) {
        records.push({ ...record, topic, partition, headers: [] });
      }
      offset = answer.nextOffset;
    }
  }
  return records;
}

/** A fetch that counts produce requests and remembers their idempotency keys. */
function countingFetch(): { fetch: typeof fetch; produceKeys: string[] } {
  const produceKeys: string[] = [];
  return {
    produceKeys,
    fetch: (input, init) => {
      if (init?.method === 'POST' && String(input).endsWith('/records')) {
        produceKeys.push(new Headers(init.headers).get('idempotency-key') ?? '');
      }
      return fetch(input, init);
    },
  };
}

describe('producer', () => {
  it('routes keyed records to the partition the server picks for them', async () => {
    // Prepare
    const topic = await newTopic(7);
    const keys = Array.from({ length: 40 }, (_, i) => `customer-${i}`);
    const byServer = await shoal.api.produce(topic, {
      records: keys.map((key) => ({
        key: { type: 'STRING', data: key },
        value: { type: 'STRING', data: 'x' },
      })),
    });
    const producer = shoal.producer();

    // Act
    const byClient = await producer.send({ topic, records: keys.map((key) => ({ key, value: 'y' })) });
    await producer.close();

    // Assess
    expect(byClient.map((position) => position.partition)).toEqual(
      byServer.records.map((position) => position.partition),
    );
  });

  it('packs the sends made within the linger time into few requests', async () => {
    // Prepare
    const topic = await newTopic(3);
    const counting = countingFetch();
    // A linger far longer than queuing 60 sends takes even on a loaded machine: the test is about
    // packing, not about how short a linger can be.
    const producer = new Shoal({ url: api.url, fetch: counting.fetch }).producer({ lingerMs: 2_000 });

    // Act
    const sends = Array.from({ length: 60 }, (_, i) =>
      producer.send({ topic, records: [{ key: `k${i % 3}`, value: `v${i}` }] }),
    );
    const positions = (await Promise.all(sends)).flat();
    await producer.close();

    // Assess: one request for the 60 records (3 partitions in it), each acknowledged once.
    expect(counting.produceKeys.length).toBe(1);
    expect(positions).toHaveLength(60);
    expect(await readAll(topic)).toHaveLength(60);
  });

  it('takes the open batches of the other partitions into the request a lingered batch starts', async () => {
    // Prepare: partition 0's batch opens 150 ms before those of partitions 1 and 2.
    const topic = await newTopic(3);
    const counting = countingFetch();
    const producer = new Shoal({ url: api.url, fetch: counting.fetch }).producer({ lingerMs: 500 });

    // Act
    const first = producer.send({ topic, records: [{ partition: 0, value: 'early' }] });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const later = [1, 2].map((partition) =>
      producer.send({ topic, records: [{ partition, value: 'late' }] }),
    );
    await Promise.all([first, ...later]);
    await producer.close();

    // Assess: partition 0's linger sends all three batches, not one now and two 150 ms later.
    expect(counting.produceKeys).toHaveLength(1);
    expect(await readAll(topic)).toHaveLength(3);
  });

  it('sends a full batch at once, without waiting for the linger time', async () => {
    // Prepare: about 110 bytes a record, so a batch is full after about 18 records.
    const topic = await newTopic(1);
    // The longest linger, twice the test's timeout: a producer that waited for it fails the test.
    const producer = shoal.producer({ lingerMs: 60_000, batchBytesMax: 2_000 });

    // Act
    const sends = Array.from({ length: 50 }, (_, i) =>
      producer.send({ topic, records: [{ value: `value-${i}-${'x'.repeat(80)}` }] }),
    );
    const [first] = await (sends[0] as Promise<{ offset: number }[]>);

    // Assess: the first record went with a full batch (before close flushed); the rest go on flush.
    expect(first?.offset).toBe(0);
    await producer.close();
    const offsets = (await Promise.all(sends)).flat().map((position) => position.offset);
    expect(offsets).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('keeps the order of records within a partition across many requests', async () => {
    // Prepare
    const topic = await newTopic(2);
    const producer = shoal.producer({ lingerMs: 0, requestRecordsMax: 7, inFlightRequestsMax: 4 });

    // Act
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        producer.send({ topic, records: [{ key: `k${i % 2}`, value: `${i}` }] }),
      ),
    );
    await producer.close();

    // Assess
    const records = await readAll(topic);
    for (const partition of [0, 1]) {
      const values = records.filter((r) => r.partition === partition).map((r) => Number(dataText(r.value)));
      expect(values).toEqual([...values].sort((a, b) => a - b));
    }
    expect(records).toHaveLength(100);
  });

  it('retries with the same Idempotency-Key when an answer is lost, and appends once', async () => {
    // Prepare: the first produce reaches the server, but its answer never comes back.
    const topic = await newTopic(2);
    const keys: string[] = [];
    let lost = 0;
    const losingFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (init?.method === 'POST' && String(input).endsWith('/records')) {
        keys.push(new Headers(init.headers).get('idempotency-key') ?? '');
        if (lost++ === 0) throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } });
      }
      return response;
    };
    const producer = new Shoal({
      url: api.url,
      fetch: losingFetch,
      retry: { backoffInitialMs: 10 },
    }).producer();

    // Act
    const positions = await producer.send({
      topic,
      records: Array.from({ length: 10 }, (_, i) => ({ value: string(`v${i}`) })),
    });
    await producer.close();

    // Assess
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
    expect(await readAll(topic)).toHaveLength(10);
    expect(positions).toHaveLength(10);
  });

  it('waits as long as Retry-After says on a 429, then succeeds', async () => {
    // Prepare
    const topic = await newTopic(1);
    let throttled = false;
    const throttlingFetch: typeof fetch = async (input, init) => {
      if (!throttled && init?.method === 'POST') {
        throttled = true;
        return new Response(JSON.stringify({ title: 'Too many requests', status: 429, error_code: 429 }), {
          status: 429,
          headers: { 'retry-after': '1', 'content-type': 'application/problem+json' },
        });
      }
      return fetch(input, init);
    };
    const producer = new Shoal({ url: api.url, fetch: throttlingFetch }).producer();
    const startedAt = Date.now();

    // Act
    await producer.send({ topic, records: [{ value: 'after the wait' }] });
    await producer.close();

    // Assess
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1_000);
    expect(await readAll(topic)).toHaveLength(1);
  });

  it('fails when the topic does not exist, with the API error', async () => {
    const producer = shoal.producer();
    await expect(producer.send({ topic: 'no-such-topic', records: [{ value: 'x' }] })).rejects.toMatchObject({
      name: 'ShoalApiError',
      errorCode: 40401,
    });
    await producer.close();
  });

  it('duplicates nothing when a producer process is killed mid-stream and started again', async () => {
    // Prepare
    const topic = await newTopic(3);
    const total = 600;
    const args = [api.url, topic, String(total), '20', 'orders-load'];

    // Act: kill the first run after a few acknowledgements, then run the same load to the end.
    const first = startChild(args);
    await waitForLine(first, /^acked \d+$/, 3);
    first.kill('SIGKILL');
    await once(first, 'exit');
    const second = startChild(args);
    const [code] = (await once(second, 'exit')) as [number];

    // Assess: every record exactly once, and in order within each key.
    expect(code).toBe(0);
    const records = await readAll(topic);
    const values = records.map((record) => dataText(record.value));
    expect(values).toHaveLength(total);
    expect(new Set(values).size).toBe(total);
    for (let key = 0; key < 7; key++) {
      const ofKey = records
        .filter((record) => dataText(record.key) === `key-${key}`)
        .map((record) => Number(dataText(record.value)?.slice('record-'.length)));
      expect(ofKey).toEqual([...ofKey].sort((a, b) => a - b));
    }
  }, 60_000);
});

const CHILD = fileURLToPath(new URL('./fixtures/produce-child.ts', import.meta.url));

/** One Node process with tsx's loader (tsx's CLI would run the producer in a grandchild that a kill misses). */
function startChild(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/** Resolves once `count` lines of the child's stdout matched `pattern`. */
function waitForLine(child: ChildProcess, pattern: RegExp, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) if (pattern.test(line) && ++seen === count) resolve();
    });
    child.once('exit', (code) => reject(new Error(`The child exited (${code}) before ${count} lines`)));
  });
}
