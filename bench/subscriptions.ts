/**
 * `npx tsx bench/subscriptions.ts [--quick]`: the event source's figures on the local stack.
 * - produce-to-invocation latency: single records produced one at a time, from just before the
 *   produce request to the subscribed handler's call (p50, p99), with no batching window and with
 *   Lambda's default of 500 ms;
 * - delivered records/s for batch sizes 1, 100 and 1000: a backlog in one partition, from the first
 *   invocation to the last.
 * The handler is a module in this process (`bench/subscriber/counting.ts`) that only notes arrivals,
 * so the figures are the dispatcher's and DynamoDB Local's, not a function's.
 */
import { parseArgs } from 'node:util';
import { startLocalStack } from '../local/stack.js';
import { arrivals } from './subscriber/counting.js';

const SUBSCRIBER = 'bench/subscriber/counting.ts';

interface Api {
  post(path: string, body: unknown): Promise<{ status: number; body: unknown }>;
}

function api(url: string): Api {
  return {
    post: async (path, body) => {
      const response = await fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await response.text();
      const parsed: unknown = text === '' ? undefined : JSON.parse(text);
      if (response.status >= 300) throw new Error(`${path}: ${response.status} ${text}`);
      return { status: response.status, body: parsed };
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function waitFor(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(20);
  }
}

const value = (i: number) => ({
  type: 'JSON',
  data: { i, customer: `c-${i % 97}`, amount: i * 3.5, note: 'x'.repeat(40) },
});

async function measureLatency(client: Api, topic: string, windowMs: number, count: number) {
  await client.post('/v1/topics', { name: topic, partitions: 1 });
  await client.post('/v1/subscriptions', {
    name: `${topic}-sub`,
    topic,
    target: { module: SUBSCRIBER },
    maxBatchingWindowMs: windowMs,
  });
  const sentAt = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const started = Date.now();
    const answer = await client.post(`/v1/topics/${topic}/records`, { records: [{ value: value(i) }] });
    const [position] = (answer.body as { records: { offset: number }[] }).records;
    if (position) sentAt.set(position.offset, started);
    await sleep(25 + Math.random() * 25);
  }
  await waitFor(() => arrivals(topic).length >= count, `${topic} delivered`, 60_000);
  const latencies = arrivals(topic)
    .map((arrival) => arrival.at - (sentAt.get(arrival.offset) ?? Number.NaN))
    .sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), samples: latencies.length };
}

async function measureThroughput(client: Api, topic: string, batchSize: number, count: number) {
  await client.post('/v1/topics', { name: topic, partitions: 1 });
  const perRequest = 1_000;
  for (let sent = 0; sent < count; sent += perRequest) {
    const records = Array.from({ length: Math.min(perRequest, count - sent) }, (_, i) => ({
      value: value(sent + i),
    }));
    await client.post(`/v1/topics/${topic}/records`, { records });
  }
  await client.post('/v1/subscriptions', {
    name: `${topic}-sub`,
    topic,
    target: { module: SUBSCRIBER },
    startingPosition: 'TRIM_HORIZON',
    batchSize,
    maxBatchingWindowMs: 0,
  });
  await waitFor(() => arrivals(topic).length >= count, `${topic} delivered`, 600_000);
  const seen = arrivals(topic);
  const first = seen[0]?.at ?? 0;
  const last = seen.at(-1)?.at ?? 0;
  const invocations = new Set(seen.map((arrival) => arrival.at)).size;
  return {
    recordsPerSecond: Math.round((count / Math.max(1, last - first)) * 1000),
    seconds: (last - first) / 1000,
    invocations,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
  const quick = values.quick ?? false;
  const stack = await startLocalStack({
    dataDir: '.shoal-bench-unused',
    port: 0,
    persistent: false,
    archiveIntervalMs: 0,
    dispatchSweepIntervalMs: 1_000,
  });
  try {
    const client = api(stack.url);
    const samples = quick ? 40 : 200;
    const noWindow = await measureLatency(client, 'latency-0ms', 0, samples);
    console.log(
      `latency, maxBatchingWindowMs 0: p50 ${noWindow.p50} ms, p99 ${noWindow.p99} ms (${noWindow.samples} records)`,
    );
    const defaultWindow = await measureLatency(client, 'latency-500ms', 500, samples);
    console.log(
      `latency, maxBatchingWindowMs 500: p50 ${defaultWindow.p50} ms, p99 ${defaultWindow.p99} ms (${defaultWindow.samples} records)`,
    );
    for (const [batchSize, count] of [
      [1, quick ? 300 : 2_000],
      [100, quick ? 5_000 : 30_000],
      [1000, quick ? 10_000 : 60_000],
    ] as const) {
      const result = await measureThroughput(client, `throughput-${batchSize}`, batchSize, count);
      console.log(
        `batchSize ${batchSize}: ${result.recordsPerSecond} records/s (${count} records in ${result.seconds} s, ${result.invocations} invocations)`,
      );
    }
  } finally {
    await stack.stop();
  }
}

await main();
