/**
 * Reading: hot-tier fetch throughput (a consumer reading a partition from offset 0 to its end) and
 * end-to-end latency (a long-polling consumer waiting for records a producer sends one at a time).
 */
import type { FetchAnswer, ProduceAnswer, ShoalClient } from './shoal-client.js';
import { type LatencySummary, MIB, summarizeLatencies } from './stats.js';
import { type EventPool, produceBody, takeFromPool } from './workload.js';

/** Records a partition holds for fetching, and their logical bytes. */
export interface FilledPartition {
  readonly topic: string;
  readonly partition: number;
  readonly records: number;
  readonly logicalBytes: number;
}

/** Produces `records` records from `pool` into one partition, `batchRecords` per request. */
export async function fillPartition(
  client: ShoalClient,
  topic: string,
  partition: number,
  pool: EventPool,
  records: number,
  batchRecords: number,
): Promise<FilledPartition> {
  let logicalBytes = 0;
  for (let sent = 0; sent < records; sent += batchRecords) {
    const slice = takeFromPool(pool, sent, Math.min(batchRecords, records - sent));
    await client.expect<ProduceAnswer>(200, 'POST', `/v1/topics/${encodeURIComponent(topic)}/records`, {
      body: produceBody(slice.json, partition),
      timeoutMs: 60_000,
    });
    logicalBytes += slice.logicalBytes;
  }
  return { topic, partition, records, logicalBytes };
}

/** One pass of reading a whole partition. */
export interface FetchPass {
  readonly requests: number;
  readonly records: number;
  readonly seconds: number;
}

/** Reads the partition from offset 0 to `filled.records`, with default `maxBytes`. */
export async function readWholePartition(
  client: ShoalClient,
  filled: FilledPartition,
  maxRecords: number,
): Promise<FetchPass> {
  const started = performance.now();
  let offset = 0;
  let requests = 0;
  while (offset < filled.records) {
    const answer = await client.fetchRecords(filled.topic, filled.partition, offset, { maxRecords }, 60_000);
    requests++;
    if (answer.status !== 200)
      throw new Error(`fetch at ${offset}: ${answer.status} ${answer.text.slice(0, 200)}`);
    const body = JSON.parse(answer.text) as FetchAnswer;
    if (body.nextOffset <= offset) throw new Error(`fetch at ${offset} made no progress`);
    offset = body.nextOffset;
  }
  return { requests, records: offset, seconds: (performance.now() - started) / 1000 };
}

/** Hot fetch throughput with `consumers` readers of the same partition. */
export interface FetchThroughput {
  readonly consumers: number;
  readonly recordsPerSecond: number;
  readonly mibPerSecond: number;
  readonly recordsPerRequest: number;
  readonly passes: number;
}

/**
 * Runs `passes` rounds in which `consumers` read the whole partition concurrently and reports the
 * median round (aggregate over consumers).
 */
export async function measureFetch(
  client: ShoalClient,
  filled: FilledPartition,
  consumers: number,
  passes: number,
  maxRecords: number,
): Promise<FetchThroughput> {
  const rounds: { seconds: number; requests: number }[] = [];
  for (let pass = 0; pass < passes; pass++) {
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: consumers }, () => readWholePartition(client, filled, maxRecords)),
    );
    rounds.push({
      seconds: (performance.now() - started) / 1000,
      requests: results.reduce((sum, result) => sum + result.requests, 0),
    });
  }
  const median = [...rounds].sort((a, b) => a.seconds - b.seconds)[Math.floor(rounds.length / 2)] as {
    seconds: number;
    requests: number;
  };
  return {
    consumers,
    recordsPerSecond: (filled.records * consumers) / median.seconds,
    mibPerSecond: (filled.logicalBytes * consumers) / MIB / median.seconds,
    recordsPerRequest: (filled.records * consumers) / median.requests,
    passes,
  };
}

/** End-to-end latency: from just before a produce request until a long-polling consumer has the record. */
export interface EndToEndResult {
  readonly records: number;
  readonly intervalMs: number;
  readonly waitMs: number;
  readonly latency: LatencySummary;
}

/**
 * A consumer long-polls the partition (`waitMs`) while a producer sends one record every
 * `intervalMs`; each record's latency is the time from just before its produce request to the
 * moment the consumer's fetch returned it.
 */
export async function measureEndToEnd(
  client: ShoalClient,
  topic: string,
  pool: EventPool,
  records: number,
  intervalMs: number,
  waitMs: number,
): Promise<EndToEndResult> {
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let offset = 0;
  let producing = true;
  const consumer = (async () => {
    while (latencies.length < records) {
      const answer = await client.fetchRecords(
        topic,
        0,
        offset,
        { waitMs, maxRecords: 100 },
        waitMs + 30_000,
      );
      const receivedAt = performance.now();
      if (answer.status !== 200) throw new Error(`long poll at ${offset}: ${answer.status}`);
      const body = JSON.parse(answer.text) as FetchAnswer;
      for (const record of body.records) {
        const sequence = (record.value?.data as { benchSequence?: number } | undefined)?.benchSequence;
        const sent = sequence === undefined ? undefined : sentAt.get(sequence);
        if (sent !== undefined) latencies.push(receivedAt - sent);
      }
      offset = body.nextOffset;
      if (!producing && body.records.length === 0 && latencies.length < records) {
        throw new Error(`end-to-end: ${records - latencies.length} records never arrived`);
      }
    }
  })();
  for (let sequence = 0; sequence < records; sequence++) {
    const slice = takeFromPool(pool, sequence, 1);
    const value = JSON.parse(slice.json[0] as string) as { value: { data: Record<string, unknown> } };
    value.value.data.benchSequence = sequence;
    const body = produceBody([JSON.stringify(value)], 0);
    sentAt.set(sequence, performance.now());
    await client.expect(200, 'POST', `/v1/topics/${encodeURIComponent(topic)}/records`, { body });
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  producing = false;
  await consumer;
  return { records, intervalMs, waitMs, latency: summarizeLatencies(latencies) };
}
