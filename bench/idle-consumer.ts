/**
 * Issue 13's consumer figures on the local stack: what one idle group member costs a month (one
 * member, a 12-partition topic, the client's default settings, nothing produced), counted from the
 * requests, WebSocket messages, handler milliseconds and DynamoDB units it causes and priced at list
 * prices; and its wake-up latency, from a produce while it is idle to its handler.
 *
 * DynamoDB units are metered over a window with the consumer and over an equal window without it
 * (the local dispatcher's sweeps run in both), and the difference is the consumer's.
 */
import { Shoal } from '../client/index.js';
import type { LocalTraffic } from '../local/stack.js';
import type { CapacityMeter } from './metering.js';
import { DAYS_PER_MONTH, GIB, PRICES } from './prices.js';
import type { ShoalClient } from './shoal-client.js';
import { type LatencySummary, round, summarizeLatencies } from './stats.js';

/** The deployed memory of the watch function (`infra/shoal-watch.ts`). */
export const WATCH_MEMORY_MB = 256;
/** Lambda's START, END and REPORT lines per invocation; the watch function logs nothing else when all goes well. */
const PLATFORM_LOG_BYTES_PER_INVOCATION = 350;
/** One line of the watch stage's JSON access log (`infra/shoal-watch.ts`) per message received. */
const ACCESS_LOG_BYTES_PER_MESSAGE = 250;
const MINUTES_PER_MONTH = DAYS_PER_MONTH * 24 * 60;
const READ_OPERATIONS = new Set(['GetItem', 'Query', 'BatchGetItem', 'Scan', 'TransactGetItems']);
const PARTITIONS = 12;
/** A partition's long poll (the client's maxWaitMs, 2 s) ends before the next record is sent to it. */
const WAKE_GAP_MS = 2_600;

export interface IdleConsumerSettings {
  /** How long the idle consumer is counted: a whole number of minutes holds whole watch renewals. */
  readonly windowMs: number;
  /** How long the background (the local dispatcher's sweeps) is metered without the consumer. */
  readonly backgroundMs: number;
  readonly wakeSamples: number;
}

/** One priced line of the idle month. */
export interface IdleCostLine {
  readonly item: string;
  readonly perMonth: number;
  readonly usd: number;
}

export interface IdleConsumerResult {
  readonly windowMs: number;
  /** What the consumer caused per minute while idle. */
  readonly perMinute: {
    readonly httpRequests: number;
    readonly messagesIn: number;
    readonly messagesOut: number;
    readonly readUnits: number;
    readonly writeUnits: number;
  };
  readonly watchBilledMsPerMessage: number;
  readonly monthlyUsd: number;
  readonly lines: readonly IdleCostLine[];
  readonly wakeUp: LatencySummary;
  /**
   * A busy consumer's end-to-end latency (a record every {@link BUSY_GAP_MS} ms, produce to
   * handler) with the watch and without it (`watch: false`, long polls only), measured one after
   * the other in the same run: the watch must leave busy consumers as fast as they were.
   */
  readonly busy: { readonly watching: LatencySummary; readonly longPolling: LatencySummary };
}

/** The gap between records of the busy measurement, and how many it takes (after a warm-up). */
const BUSY_GAP_MS = 50;
const BUSY_WARM_UP = 10;
const BUSY_SAMPLES = 60;

/** Read and write units metered so far. */
function units(meter: CapacityMeter): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const [operation, { capacityUnits }] of Object.entries(meter.snapshot())) {
    if (READ_OPERATIONS.has(operation)) read += capacityUnits;
    else write += capacityUnits;
  }
  return { read, write };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Metered units over `ms`, with whatever runs meanwhile. */
async function meterWindow(meter: CapacityMeter, ms: number): Promise<{ read: number; write: number }> {
  meter.reset();
  meter.enabled = true;
  await sleep(ms);
  meter.enabled = false;
  return units(meter);
}

/** Prices a month of what the consumer did per minute (`billedMs`: the watch function's per message). */
export function priceMonth(perMinute: IdleConsumerResult['perMinute'], billedMs: number): IdleCostLine[] {
  const month = (perMinuteValue: number) => perMinuteValue * MINUTES_PER_MONTH;
  const invocations = month(perMinute.httpRequests + perMinute.messagesIn);
  const gbSeconds = (month(perMinute.messagesIn) * billedMs * WATCH_MEMORY_MB) / 1024 / 1000;
  const line = (item: string, perMonth: number, unitUsd: number): IdleCostLine => ({
    item,
    perMonth: round(perMonth, perMonth < 10 ? 4 : 0),
    usd: perMonth * unitUsd,
  });
  return [
    line('API Gateway REST requests', month(perMinute.httpRequests), PRICES.apiGatewayRest.request.usd),
    line(
      'API Gateway WebSocket messages (in and out)',
      month(perMinute.messagesIn + perMinute.messagesOut),
      PRICES.apiGatewayWebSocket.message.usd,
    ),
    line(
      'API Gateway WebSocket connection minutes',
      MINUTES_PER_MONTH,
      PRICES.apiGatewayWebSocket.connectionMinute.usd,
    ),
    line('Lambda invocations', invocations, PRICES.lambda.request.usd),
    line(
      `Lambda GB-s (watch function, ${WATCH_MEMORY_MB} MB arm64)`,
      gbSeconds,
      PRICES.lambda.gbSecondArm.usd,
    ),
    line('DynamoDB read units', month(perMinute.readUnits), PRICES.dynamodb.readRequestUnit.usd),
    line('DynamoDB write units', month(perMinute.writeUnits), PRICES.dynamodb.writeRequestUnit.usd),
    line(
      'CloudWatch Logs ingested (GB)',
      (invocations * PLATFORM_LOG_BYTES_PER_INVOCATION +
        month(perMinute.messagesIn) * ACCESS_LOG_BYTES_PER_MESSAGE) /
        GIB,
      PRICES.cloudWatch.logIngestGb.usd,
    ),
  ];
}

/** Counts what the running consumer causes over `windowMs`, less the background of `background`. */
async function countIdle(
  traffic: LocalTraffic,
  meter: CapacityMeter,
  windowMs: number,
  background: { read: number; write: number },
): Promise<{ perMinute: IdleConsumerResult['perMinute']; billedMs: number }> {
  const before = { ...traffic };
  const measured = await meterWindow(meter, windowMs);
  const after = { ...traffic };
  const minutes = windowMs / 60_000;
  const messages = after.messagesIn - before.messagesIn;
  return {
    perMinute: {
      httpRequests: round((after.httpRequests - before.httpRequests) / minutes, 2),
      messagesIn: round(messages / minutes, 2),
      messagesOut: round((after.messagesOut - before.messagesOut) / minutes, 2),
      readUnits: round(Math.max(0, measured.read - background.read) / minutes, 2),
      writeUnits: round(Math.max(0, measured.write - background.write) / minutes, 2),
    },
    billedMs: messages > 0 ? (after.handlerMs - before.handlerMs) / messages : 0,
  };
}

/** Sends `samples` records one at a time, each to a partition that has been idle, and waits for each. */
async function measureWakeUps(
  client: ShoalClient,
  topic: string,
  samples: number,
  sentAt: Map<number, number>,
  latencies: number[],
): Promise<void> {
  for (let sample = 0; sample < samples; sample++) {
    const partition = sample % PARTITIONS;
    const received = latencies.length;
    sentAt.set(partition, performance.now());
    await client.expect(200, 'POST', `/v1/topics/${encodeURIComponent(topic)}/records`, {
      body: JSON.stringify({ records: [{ partition, value: { type: 'STRING', data: `wake ${sample}` } }] }),
    });
    const deadline = Date.now() + 70_000;
    while (latencies.length === received && Date.now() < deadline) await sleep(10);
    await sleep(WAKE_GAP_MS);
  }
}

/** A Shoal client consumer of a fresh topic, fed a record every {@link BUSY_GAP_MS} ms. */
async function measureBusy(url: string, client: ShoalClient, watch: boolean): Promise<LatencySummary> {
  const topic = `busy-${watch ? 'watch' : 'poll'}-${Date.now().toString(36)}`;
  await client.createTopic(topic, PARTITIONS);
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const consumer = new Shoal({ url }).consumer({ groupId: `${topic}-readers`, watch });
  await consumer.subscribe({ topics: [topic] });
  await consumer.run({
    eachRecord: async ({ record }) => {
      const id = record.value?.type === 'STRING' ? record.value.data : undefined;
      const at = id === undefined ? undefined : sentAt.get(id);
      if (at !== undefined && Number(id) >= BUSY_WARM_UP) latencies.push(performance.now() - at);
    },
  });
  try {
    for (let sample = 0; sample < BUSY_WARM_UP + BUSY_SAMPLES; sample++) {
      const id = String(sample);
      sentAt.set(id, performance.now());
      await client.expect(200, 'POST', `/v1/topics/${encodeURIComponent(topic)}/records`, {
        body: JSON.stringify({
          records: [{ partition: sample % PARTITIONS, value: { type: 'STRING', data: id } }],
        }),
      });
      await sleep(BUSY_GAP_MS);
    }
    const deadline = Date.now() + 30_000;
    while (latencies.length < BUSY_SAMPLES && Date.now() < deadline) await sleep(10);
    return summarizeLatencies(latencies);
  } finally {
    await consumer.disconnect();
  }
}

/**
 * Runs the idle consumer on the local stack at `url` and measures it; `traffic` and `meter` are the
 * stack's counters.
 */
export async function runIdleConsumer(
  url: string,
  client: ShoalClient,
  traffic: LocalTraffic,
  meter: CapacityMeter,
  settings: IdleConsumerSettings,
): Promise<IdleConsumerResult> {
  const topic = `idle-${Date.now().toString(36)}`;
  await client.createTopic(topic, PARTITIONS);
  const sampled = await meterWindow(meter, settings.backgroundMs);
  const scale = settings.windowMs / settings.backgroundMs;
  const background = { read: sampled.read * scale, write: sampled.write * scale };

  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  const consumer = new Shoal({ url }).consumer({ groupId: `${topic}-readers` });
  await consumer.subscribe({ topics: [topic] });
  await consumer.run({
    eachRecord: async ({ partition }) => {
      const at = sentAt.get(partition);
      if (at !== undefined) latencies.push(performance.now() - at);
    },
  });
  try {
    // Every partition's first long poll comes back empty; then they wait for news.
    await sleep(8_000);
    const { perMinute, billedMs } = await countIdle(traffic, meter, settings.windowMs, background);
    await measureWakeUps(client, topic, settings.wakeSamples, sentAt, latencies);
    const lines = priceMonth(perMinute, billedMs);
    const busy = {
      watching: await measureBusy(url, client, true),
      longPolling: await measureBusy(url, client, false),
    };
    return {
      windowMs: settings.windowMs,
      perMinute,
      watchBilledMsPerMessage: round(billedMs, 1),
      monthlyUsd: round(
        lines.reduce((sum, entry) => sum + entry.usd, 0),
        4,
      ),
      lines: lines.map((entry) => ({ ...entry, usd: round(entry.usd, 4) })),
      wakeUp: summarizeLatencies(latencies),
      busy,
    };
  } finally {
    await consumer.disconnect();
  }
}
