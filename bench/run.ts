/**
 * `npm run bench [-- --quick] [-- --out file]`: measures Shoal on this machine and writes
 * `bench/results.json` plus a short table. See BENCHMARKS.md for what each figure means.
 *
 * Starts its own local stack (DynamoDB Local in memory, S3 in a temp folder) unless `SHOAL_URL`
 * points at a running one; then the raw baseline and storage accounting also need the stack's
 * tables (`SHOAL_LOG_TABLE`, `SHOAL_META_TABLE`, and `SHOAL_DYNAMODB_ENDPOINT` for a local one),
 * and are reported as not measured without them.
 */
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type LocalTraffic, startLocalStack } from '../local/stack.js';
import { DynamoDbTopicStore } from '../shared/adapters/dynamodb/topic-store.js';
import { readConfig, type ShoalConfig } from '../shared/config.js';
import { createRuntime, type Runtime } from '../shared/runtime.js';
import { tieredStorageFor } from '../shared/services.js';
import type { EventSizeClass } from '../test/support/events.js';
import { measureAtRest } from './at-rest.js';
import { type AtRestBill, atRestMonthlyCost } from './at-rest-cost.js';
import type { AtRestUsage } from './at-rest-shape.js';
import { type ColdStartRow, coldStartTable, measureColdStarts } from './cold-start.js';
import { type CheckReport, runConsistencyCheck } from './consistency/checker.js';
import {
  type ExactlyOnceReport,
  renderExactlyOnceReport,
  runExactlyOncePipeline,
} from './consistency/exactly-once.js';
import { createCheckFaults } from './consistency/faults.js';
import { startCheckTarget } from './consistency/target.js';
import { type ConsoleLoadResult, consoleGoal, consoleLines, measureConsoleLoad } from './console.js';
import {
  type EndToEndResult,
  type FetchThroughput,
  fillPartition,
  measureEndToEnd,
  measureFetch,
} from './consume.js';
import {
  type CostEvidence,
  costNotes,
  idleDeploymentOf,
  kplProducerOf,
  shoalUsageOf,
} from './cost-inputs.js';
import {
  compareCosts,
  idleMonthlyCost,
  MILLION_1KB_RECORDS,
  type ShoalUsage,
  type SystemCost,
} from './cost-model.js';
import { type DeployedSettings, synthesizeDeployment } from './deployment.js';
import { type InvocationUsage, measureInvocations } from './handler-usage.js';
import { type IdleConsumerResult, runIdleConsumer } from './idle-consumer.js';
import { type CapacityMeter, createCapacityMeter } from './metering.js';
import { PRICE_REGION, PRICES_CHECKED_ON } from './prices.js';
import { type LoadLimits, type LoadResult, rawSender, runLoad, shoalSender } from './produce.js';
import { bar, costTable, formatNumber, formatUsd, Progress, renderTable } from './report.js';
import { ShoalClient } from './shoal-client.js';
import { round } from './stats.js';
import { measureStorage, type StorageRow } from './storage.js';
import { createEventPool, type EventPool } from './workload.js';

/** One goal of issue 6 and where the run stands. */
export interface Goal {
  readonly name: string;
  readonly value: number | null;
  readonly unit: string;
  readonly target: number;
  readonly met: boolean;
  readonly note?: string;
}

/** One cell of the produce matrix, Shoal next to the raw transaction. */
export interface ProduceRow {
  readonly sizeClass: EventSizeClass;
  readonly producers: number;
  readonly batchRecords: number;
  readonly shoal: LoadResult;
  readonly raw: LoadResult | null;
  /** Shoal p50 / raw p50. */
  readonly p50Ratio: number | null;
}

interface Settings {
  readonly quick: boolean;
  readonly batchSizes: readonly number[];
  readonly producerCounts: readonly number[];
  readonly sizeClasses: readonly EventSizeClass[];
  readonly load: LoadLimits;
  readonly poolSize: number;
  readonly fetchRecords: number;
  readonly fetchPasses: number;
  readonly fetchConsumers: readonly number[];
  readonly fetchMaxRecords: number;
  readonly endToEndRecords: number;
  /** How long the idle consumer is counted (and the background without it). */
  readonly idleWindowMs: number;
  /** How long the background without the idle consumer is metered (scaled to the window). */
  readonly idleBackgroundMs: number;
  /** Records sent to the idle consumer, one at a time, for its wake-up latency. */
  readonly wakeSamples: number;
  readonly storageRequests: (batchRecords: number) => number;
  /** Produce invocations timed per batch size: enough records for whole 1,000-record fetches. */
  readonly invocationRequests: (batchRecords: number) => number;
  readonly checkRecords: number;
}

function settingsFor(quick: boolean): Settings {
  return {
    quick,
    batchSizes: [1, 10, 100, 1000],
    producerCounts: [1, 8],
    sizeClasses: ['small', 'typical'],
    load: quick
      ? { warmupRequests: 1, durationMs: 700, requestsMin: 2, durationMsMax: 5_000 }
      : { warmupRequests: 3, durationMs: 6_000, requestsMin: 20, durationMsMax: 60_000 },
    poolSize: quick ? 4_000 : 10_000,
    fetchRecords: quick ? 4_000 : 30_000,
    fetchPasses: quick ? 2 : 3,
    fetchConsumers: [1, 4],
    fetchMaxRecords: 1000,
    endToEndRecords: quick ? 30 : 200,
    idleWindowMs: quick ? 60_000 : 180_000,
    idleBackgroundMs: quick ? 20_000 : 60_000,
    wakeSamples: quick ? 12 : 40,
    storageRequests: (batch) => Math.max(quick ? 3 : 5, Math.ceil((quick ? 100 : 400) / batch)),
    invocationRequests: (batch) => Math.max(quick ? 3 : 10, Math.ceil((quick ? 2_000 : 5_000) / batch)),
    checkRecords: quick ? 200 : 1_000,
  };
}

/** What the benchmark runs against. */
interface Target {
  readonly url: string;
  readonly description: string;
  /** Direct access to the same tables, for the raw baseline and storage accounting. */
  readonly tables: { readonly config: ShoalConfig; readonly runtime: Runtime } | undefined;
  readonly meter: CapacityMeter | undefined;
  /** Endpoints of the local parts, when the benchmark started them. */
  readonly local: { readonly dynamodbEndpoint: string; readonly s3Endpoint: string } | undefined;
  /**
   * Moves partition 0 of a topic to S3 segments now, when the benchmark runs the archiver itself;
   * undefined when the target's own archiver does it on its schedule.
   */
  readonly archive: ((topic: string) => Promise<{ objectBytes: number }>) | undefined;
  /** The local stack's request and WebSocket counters, when the benchmark started it. */
  readonly traffic: LocalTraffic | undefined;
  stop(): Promise<void>;
}

/** The issue's goal for write units per MiB of logical payload, at 100 records per request. */
const WRITE_UNITS_PER_MIB_MAX = 100;

/** Archive passes one cold-fetch preparation may take before giving up. */
const ARCHIVE_PASSES_MAX = 50;
/** How long to wait for a target's own archiver to move a partition to S3. */
const ARCHIVE_WAIT_MS_MAX = 120_000;

async function startTarget(shoalUrl: string | undefined): Promise<Target> {
  if (shoalUrl !== undefined) {
    let tables: Target['tables'];
    try {
      const config = readConfig(process.env);
      tables = { config, runtime: createRuntime(config) };
    } catch {
      tables = undefined;
    }
    return {
      url: shoalUrl.replace(/\/+$/, ''),
      description: `SHOAL_URL ${shoalUrl}`,
      tables,
      meter: undefined,
      local: undefined,
      archive: undefined,
      traffic: undefined,
      stop: async () => tables?.runtime.dynamodb.destroy(),
    };
  }
  const meter = createCapacityMeter();
  const stack = await startLocalStack({
    dataDir: tmpdir(),
    port: 0,
    persistent: false,
    runtimeOptions: { decorateDynamoDb: meter.install },
    // No archiver on a timer: it would scan every partition in the middle of the measurements.
    // The cold-fetch section archives its one partition itself, with the archiver's own code.
    archiveIntervalMs: 0,
  });
  const runtime = createRuntime(stack.config);
  const tiers = tieredStorageFor(runtime);
  const topics = new DynamoDbTopicStore(runtime.documents, stack.config.metaTableName);
  const { dynamodbEndpoint, s3Endpoint } = stack.config;
  return {
    url: stack.url,
    description: 'own local stack (DynamoDB Local in memory, s3rver in a temp folder)',
    tables: { config: stack.config, runtime },
    meter,
    traffic: stack.traffic,
    local:
      dynamodbEndpoint !== undefined && s3Endpoint !== undefined
        ? { dynamodbEndpoint, s3Endpoint }
        : undefined,
    archive: async (name) => {
      const topic = await topics.get(name);
      if (topic === undefined) throw new Error(`Topic ${name} does not exist`);
      let objectBytes = 0;
      for (let pass = 0; pass < ARCHIVE_PASSES_MAX; pass++) {
        const report = await tiers.archiver.archivePartition(topic, 0);
        objectBytes += report.objectBytes;
        if (report.segments === 0) break;
      }
      return { objectBytes };
    },
    stop: async () => {
      runtime.dynamodb.destroy();
      runtime.s3.destroy();
      await stack.stop();
    },
  };
}

async function runProduceMatrix(
  settings: Settings,
  client: ShoalClient,
  target: Target,
  pools: Record<EventSizeClass, EventPool>,
  progress: Progress,
): Promise<ProduceRow[]> {
  const rows: ProduceRow[] = [];
  const runTag = Date.now().toString(36);
  for (const sizeClass of settings.sizeClasses) {
    for (const producers of settings.producerCounts) {
      for (const batchRecords of settings.batchSizes) {
        const cell = `${sizeClass} ×${producers} batch ${batchRecords}`;
        const topic = `bench-${runTag}-${sizeClass}-${producers}-${batchRecords}`;
        await client.createTopic(topic, Math.max(...settings.producerCounts));
        progress.update(`${cell}: Shoal`);
        const pool = pools[sizeClass];
        const shoal = await runLoad(producers, settings.load, shoalSender(client, topic, pool, batchRecords));
        let raw: LoadResult | null = null;
        if (target.tables !== undefined) {
          progress.update(`${cell}: raw storage calls`);
          const { config, runtime } = target.tables;
          raw = await runLoad(
            producers,
            settings.load,
            rawSender(
              {
                documents: runtime.documents,
                logTableName: config.logTableName,
                metaTableName: config.metaTableName,
                payloads: { s3: runtime.s3, bucketName: config.segmentBucketName },
              },
              pool,
              batchRecords,
            ),
          );
        }
        const shoalP50 = shoal.latency?.p50Ms;
        const rawP50 = raw?.latency?.p50Ms;
        rows.push({
          sizeClass,
          producers,
          batchRecords,
          shoal,
          raw,
          p50Ratio: shoalP50 !== undefined && rawP50 !== undefined && rawP50 > 0 ? shoalP50 / rawP50 : null,
        });
      }
    }
  }
  return rows;
}

/** Cold fetch: the same records read back from S3 segments, or why that was not measured. */
type ColdFetch =
  | {
      readonly measured: true;
      readonly throughput: FetchThroughput[];
      readonly archivedOffset: number;
      /** Bytes uploaded to S3 per logical byte (segments: batches, frames, index); when archived here. */
      readonly segmentBytesPerLogicalByte: number | undefined;
    }
  | { readonly measured: false; readonly note: string };

interface FetchSection {
  readonly hot: FetchThroughput[];
  readonly recordsInPartition: number;
  readonly readUnitsPerFetchMetered: number | undefined;
  readonly cold: ColdFetch;
}

/**
 * Fills a partition of a topic whose segments roll after a second with the same records as the hot
 * partition, has it archived (by the benchmark's archiver, or by the target's own on its schedule)
 * and reads it back from S3 like the hot one.
 */
async function runColdFetch(
  settings: Settings,
  client: ShoalClient,
  target: Target,
  pool: EventPool,
  progress: Progress,
): Promise<ColdFetch> {
  const topic = `bench-cold-${Date.now().toString(36)}`;
  await client.createTopic(topic, 1, { segmentMs: 1_000 });
  progress.update(`filling a partition with ${settings.fetchRecords} typical records for S3`);
  const filled = await fillPartition(client, topic, 0, pool, settings.fetchRecords, 100);
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  progress.update('archiving it to S3 segments');
  const deadline = Date.now() + ARCHIVE_WAIT_MS_MAX;
  let archivedOffset = 0;
  let objectBytes: number | undefined;
  for (;;) {
    if (target.archive !== undefined) objectBytes = (await target.archive(topic)).objectBytes;
    const description = await client.describeTopic(topic);
    archivedOffset = description.partitions[0]?.archivedOffset ?? 0;
    if (archivedOffset >= filled.records) break;
    // One archiver run may leave the newest batches for the next (a segment rolls on age): run again.
    if (Date.now() > deadline) {
      return {
        measured: false,
        note: `only ${archivedOffset} of ${filled.records} records reached S3 segments, so cold fetch was not measured`,
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  const throughput: FetchThroughput[] = [];
  for (const consumers of settings.fetchConsumers) {
    progress.update(`${consumers} consumer(s) reading ${filled.records} records from S3`);
    throughput.push(
      await measureFetch(client, filled, consumers, settings.fetchPasses, settings.fetchMaxRecords),
    );
  }
  return {
    measured: true,
    throughput,
    archivedOffset,
    segmentBytesPerLogicalByte: objectBytes === undefined ? undefined : objectBytes / filled.logicalBytes,
  };
}

async function runFetch(
  settings: Settings,
  client: ShoalClient,
  target: Target,
  pool: EventPool,
  progress: Progress,
): Promise<FetchSection> {
  const topic = `bench-fetch-${Date.now().toString(36)}`;
  await client.createTopic(topic, 1);
  progress.update(`filling a partition with ${settings.fetchRecords} typical records`);
  const filled = await fillPartition(client, topic, 0, pool, settings.fetchRecords, 100);
  let readUnitsPerFetchMetered: number | undefined;
  if (target.meter !== undefined) {
    // One metered pass, untimed, for the read units a fetch takes.
    progress.update('metering read units');
    target.meter.reset();
    target.meter.enabled = true;
    try {
      const pass = await measureFetch(client, filled, 1, 1, settings.fetchMaxRecords);
      readUnitsPerFetchMetered = target.meter.total() / (filled.records / pass.recordsPerRequest);
    } finally {
      target.meter.enabled = false;
    }
  }
  const hot: FetchThroughput[] = [];
  for (const consumers of settings.fetchConsumers) {
    progress.update(`${consumers} consumer(s) reading ${filled.records} records`);
    hot.push(await measureFetch(client, filled, consumers, settings.fetchPasses, settings.fetchMaxRecords));
  }
  return {
    hot,
    recordsInPartition: filled.records,
    readUnitsPerFetchMetered,
    cold: await runColdFetch(settings, client, target, pool, progress),
  };
}

/** The goal list of issue 6. */
function goals(
  produce: readonly ProduceRow[],
  storage: readonly StorageRow[] | null,
  fetch: FetchSection,
  check: CheckReport | null,
  cost: BenchResults['cost'],
): Goal[] {
  const ratios = produce.filter((row) => row.p50Ratio !== null);
  const worst = ratios.reduce<ProduceRow | undefined>(
    (max, row) => (max === undefined || (row.p50Ratio ?? 0) > (max.p50Ratio ?? 0) ? row : max),
    undefined,
  );
  const byBatch = [...new Set(ratios.map((row) => row.batchRecords))]
    .map((batch) => {
      const values = ratios.filter((row) => row.batchRecords === batch).map((row) => row.p50Ratio ?? 0);
      return `${batch}: ${Math.max(...values).toFixed(2)}x`;
    })
    .join(', ');
  const storageRow = storage?.find((row) => row.batchRecords === 100);
  const hotOne = fetch.hot.find((row) => row.consumers === 1);
  const coldOne = fetch.cold.measured ? fetch.cold.throughput.find((row) => row.consumers === 1) : undefined;
  const coldRatio =
    hotOne !== undefined && coldOne !== undefined ? coldOne.mibPerSecond / hotOne.mibPerSecond : undefined;
  const checkTotal =
    check === null ? null : Object.values(check.counts).reduce((sum, value) => sum + value, 0);
  return [
    {
      name: 'produce p50 within 1.5x of the raw storage calls (payload PUT when Shoal makes one, then the transaction) at every batch size',
      value: worst?.p50Ratio === undefined || worst.p50Ratio === null ? null : round(worst.p50Ratio, 2),
      unit: 'x raw p50 (worst cell)',
      target: 1.5,
      met: worst !== undefined && (worst.p50Ratio ?? Infinity) <= 1.5 && ratios.length === produce.length,
      note:
        worst === undefined
          ? 'raw baseline not measured (no direct access to the tables)'
          : `worst: ${worst.sizeClass} ×${worst.producers} batch ${worst.batchRecords}; worst per batch size: ${byBatch}`,
    },
    {
      name: "at most 100 DynamoDB write units per MB of the benchmark's JSON events",
      value: storageRow === undefined ? null : round(storageRow.writeUnitsPerMib, 0),
      unit: 'write units per MiB (typical events, 100 per request, with Idempotency-Key)',
      target: WRITE_UNITS_PER_MIB_MAX,
      met: storageRow !== undefined && storageRow.writeUnitsPerMib <= WRITE_UNITS_PER_MIB_MAX,
      note:
        storageRow === undefined
          ? 'storage not measured (no direct access to the tables)'
          : `by batch size: ${(storage ?? []).map((row) => `${row.batchRecords}: ${row.writeUnitsPerMib.toFixed(0)}`).join(', ')}`,
    },
    {
      name: 'cold fetch (S3 segments) at least half the MB/s of hot fetch',
      value: coldRatio === undefined ? null : round(coldRatio, 2),
      unit: 'cold MiB/s ÷ hot MiB/s (one consumer, the same records)',
      target: 0.5,
      met: coldRatio !== undefined && coldRatio >= 0.5,
      note: fetch.cold.measured
        ? `cold ${coldOne?.mibPerSecond.toFixed(2)} MiB/s, hot ${hotOne?.mibPerSecond.toFixed(2)} MiB/s`
        : fetch.cold.note,
    },
    {
      name: 'zero anomalies in every consistency checker column, under faults',
      value: checkTotal,
      unit: 'anomalies (sum of all columns)',
      target: 0,
      met: checkTotal === 0,
      ...(check === null ? { note: 'checker not run' } : {}),
    },
    ...costGoals(cost),
  ];
}

/** Goals on dollars per million records, and on what an idle deployment pays. */
function costGoals(cost: BenchResults['cost']): Goal[] {
  const at = (batch: number) => cost?.byBatch.find((entry) => entry.batchRecords === batch);
  const cheapest = (batch: number, prefix: string) => {
    const systems = at(batch)?.systems.filter((system) => system.system.startsWith(prefix)) ?? [];
    return systems.reduce<SystemCost | undefined>(
      (min, system) => (min === undefined || system.totalUsd < min.totalUsd ? system : min),
      undefined,
    );
  };
  const versus = (batch: number, prefix: string, name: string): Goal => {
    const shoal = at(batch)?.systems[0];
    const kinesis = cheapest(batch, prefix);
    return {
      name,
      value: shoal === undefined ? null : round(shoal.totalUsd, 4),
      unit: '$ per million 1 KB records (produced, consumed once, kept 7 days)',
      target: kinesis === undefined ? 0 : round(kinesis.totalUsd, 4),
      met: shoal !== undefined && kinesis !== undefined && shoal.totalUsd < kinesis.totalUsd,
      note:
        kinesis === undefined
          ? 'cost not computed (storage or invocations not measured)'
          : `target: the cheaper ${prefix} variant, ${kinesis.system}`,
    };
  };
  return [
    versus(100, 'Kinesis on-demand', 'cost at 100 records per request below Kinesis on-demand'),
    versus(1000, 'Kinesis provisioned', 'cost at 1,000 records per request below provisioned Kinesis'),
    atRestGoal(cost?.atRest ?? null),
    {
      name: 'zero cost at rest',
      value: cost === null ? null : round(cost.idle.totalUsd, 2),
      unit: '$ per month of an idle deployment (no produce, no fetch)',
      target: 0,
      met: cost !== null && cost.idle.totalUsd === 0,
      note:
        cost === null
          ? 'cost not computed'
          : cost.idle.lines
              .filter((entry) => entry.usd > 0.005)
              .map((entry) => `${entry.item} $${entry.usd.toFixed(2)}`)
              .join(', '),
    },
  ];
}

/** Issue 13's targets: an idle member's month, its wake-up latency, and busy consumers as fast as before. */
const IDLE_CONSUMER_USD_MAX = 1;
const WAKE_UP_P50_MS_MAX = 1_000;
const WAKE_UP_P99_MS_MAX = 3_000;
/**
 * A busy client consumer with the watch may be this much slower, end to end, than one that only
 * long polls (as every consumer did before the watch), measured in the same run: 25% for noise.
 */
const BUSY_RATIO_MAX = 1.25;

function idleConsumerGoals(
  idle: IdleConsumerResult | null,
  endToEnd: EndToEndResult,
  fetch: FetchSection,
): Goal[] {
  const missing = 'not measured (needs the local stack, which counts requests and messages at its server)';
  const hot = fetch.hot.find((row) => row.consumers === 1);
  const busy = `busy fetch ${hot === undefined ? '?' : hot.mibPerSecond.toFixed(2)} MiB/s (one consumer)`;
  const latencyGoal = (name: string, value: number | undefined, target: number, note: string): Goal => ({
    name,
    value: value === undefined ? null : round(value, 0),
    unit: 'ms',
    target,
    met: value !== undefined && value <= target,
    note,
  });
  return [
    {
      name: 'an idle consumer group member (12 partitions, default settings) costs at most $1 a month',
      value: idle === null ? null : round(idle.monthlyUsd, 3),
      unit: '$ per month, all AWS charges',
      target: IDLE_CONSUMER_USD_MAX,
      met: idle !== null && idle.monthlyUsd <= IDLE_CONSUMER_USD_MAX,
      note:
        idle === null
          ? missing
          : `per minute: ${idle.perMinute.httpRequests} HTTP requests, ${idle.perMinute.messagesIn} messages in, ` +
            `${idle.perMinute.messagesOut} out, ${idle.perMinute.readUnits} RRU, ${idle.perMinute.writeUnits} WRU; ` +
            idle.lines.map((entry) => `${entry.item} $${entry.usd.toFixed(3)}`).join(', '),
    },
    latencyGoal(
      'wake-up latency p50: a record produced while the consumer is idle reaches its handler',
      idle?.wakeUp.p50Ms,
      WAKE_UP_P50_MS_MAX,
      idle === null ? missing : `${idle.wakeUp.count} records; ${busy}`,
    ),
    latencyGoal(
      'wake-up latency p99',
      idle?.wakeUp.p99Ms,
      WAKE_UP_P99_MS_MAX,
      idle === null ? missing : `max ${round(idle.wakeUp.maxMs, 0)} ms`,
    ),
    busyGoal('p50', idle, endToEnd),
    busyGoal('p99', idle, endToEnd),
  ];
}

/** A busy consumer with the watch against one that only long polls, same run, at one percentile. */
function busyGoal(
  percentile: 'p50' | 'p99',
  idle: IdleConsumerResult | null,
  endToEnd: EndToEndResult,
): Goal {
  const key = percentile === 'p50' ? 'p50Ms' : 'p99Ms';
  const watching = idle?.busy.watching[key];
  const longPolling = idle?.busy.longPolling[key];
  const ratio = watching === undefined || longPolling === undefined ? undefined : watching / longPolling;
  return {
    name: `busy consumer end-to-end ${percentile} with the watch within ${BUSY_RATIO_MAX}x of long polling alone (as before the watch)`,
    value: ratio === undefined ? null : round(ratio, 2),
    unit: 'x (Shoal client consumer, a record every 50 ms, same run)',
    target: BUSY_RATIO_MAX,
    met: ratio !== undefined && ratio <= BUSY_RATIO_MAX,
    note:
      idle === null
        ? 'not measured (needs the local stack)'
        : `with the watch ${round(watching ?? 0, 0)} ms, long polling only ${round(longPolling ?? 0, 0)} ms; ` +
          `the bench's own HTTP long poll: p50 ${round(endToEnd.latency.p50Ms, 0)} ms, p99 ${round(endToEnd.latency.p99Ms, 0)} ms`,
  };
}

/** The issue's deployment at rest: at most this many dollars a month beyond storage. */
const AT_REST_USD_MAX = 5;

function atRestGoal(bill: AtRestBill | null): Goal {
  return {
    name: 'deployment at rest (100 topics × 12 partitions, 20 groups, 10 subscriptions) at most $5 a month beyond storage',
    value: bill === null ? null : round(bill.totalUsd, 2),
    unit: '$ per month: schedules, metrics, alarms, dashboards, logs, traces, stream polling',
    target: AT_REST_USD_MAX,
    met: bill !== null && bill.totalUsd <= AT_REST_USD_MAX,
    note:
      bill === null
        ? 'not measured (needs the local parts)'
        : Object.entries(bill.byComponent)
            .map(([component, usd]) => `${component} $${usd.toFixed(2)}`)
            .join(', '),
  };
}

/** Prints the run's tables to stdout: produce, fetch, storage, cost, consistency and goals. */
function printReport(results: BenchResults): void {
  const out: string[] = [
    ...headerLines(results),
    ...produceLines(results.produce),
    ...fetchLines(results),
    ...(results.storage === null ? [] : storageLines(results.storage)),
    ...costLines(results),
    ...(results.consistency === null ? [] : consistencyLines(results.consistency)),
    ...(results.exactlyOnce === null ? [] : ['', renderExactlyOnceReport(results.exactlyOnce)]),
    ...(results.coldStarts === null
      ? []
      : ['', 'cold starts (medians of fresh processes)', coldStartTable(results.coldStarts)]),
    ...consoleLines(results.console),
    goalsTable(results.goals),
  ];
  console.log(out.join('\n'));
}

function headerLines(results: BenchResults): string[] {
  return [
    `Shoal benchmark (${results.mode}), ${results.machine.cpus} × ${results.machine.cpuModel}, ` +
      `Node ${results.machine.node}, load average ${results.machine.loadAverageStart} → ${results.machine.loadAverageEnd}, ` +
      results.target,
    '',
  ];
}

function produceLines(produce: readonly ProduceRow[]): string[] {
  const maxBySize = new Map<string, number>();
  for (const row of produce) {
    maxBySize.set(row.sizeClass, Math.max(maxBySize.get(row.sizeClass) ?? 0, row.shoal.recordsPerSecond));
  }
  return [
    renderTable(
      ['produce', 'prod', 'batch', 'records/s', '', 'MiB/s', 'p50 ms', 'p99 ms', 'raw p50', 'ratio'],
      produce.map((row) => [
        row.sizeClass,
        String(row.producers),
        String(row.batchRecords),
        formatNumber(row.shoal.recordsPerSecond),
        bar(row.shoal.recordsPerSecond, maxBySize.get(row.sizeClass) ?? 0, 16).padEnd(16),
        formatNumber(row.shoal.mibPerSecond),
        formatNumber(row.shoal.latency?.p50Ms),
        formatNumber(row.shoal.latency?.p99Ms),
        formatNumber(row.raw?.latency?.p50Ms),
        row.p50Ratio === null ? '—' : `${row.p50Ratio.toFixed(2)}x`,
      ]),
      ['left', 'right', 'right', 'right', 'left'],
    ),
    '',
  ];
}

function fetchRows(tier: string, rows: readonly FetchThroughput[]): string[][] {
  return rows.map((row) => [
    `${tier}, ${row.consumers} consumer${row.consumers === 1 ? '' : 's'}`,
    formatNumber(row.recordsPerSecond),
    formatNumber(row.mibPerSecond),
    formatNumber(row.recordsPerRequest),
  ]);
}

function fetchLines(results: BenchResults): string[] {
  const { cold } = results.fetch;
  return [
    renderTable(
      ['fetch', 'records/s', 'MiB/s', 'records/request'],
      [
        ...fetchRows('hot (DynamoDB)', results.fetch.hot),
        ...(cold.measured ? fetchRows('cold (S3)', cold.throughput) : []),
      ],
    ),
    ...(cold.measured ? [] : [`cold fetch: ${cold.note}`]),
    `end-to-end (long poll, waitMs ${results.endToEnd.waitMs}): p50 ${formatNumber(results.endToEnd.latency.p50Ms)} ms, ` +
      `p99 ${formatNumber(results.endToEnd.latency.p99Ms)} ms over ${results.endToEnd.records} records`,
    ...(results.idleConsumer === null
      ? []
      : [
          `idle consumer (12 partitions, default settings): $${results.idleConsumer.monthlyUsd.toFixed(3)} a month; ` +
            `wake-up p50 ${formatNumber(results.idleConsumer.wakeUp.p50Ms)} ms, p99 ${formatNumber(results.idleConsumer.wakeUp.p99Ms)} ms`,
          `busy client consumer, produce to handler: with the watch p50 ${formatNumber(results.idleConsumer.busy.watching.p50Ms)} ms, ` +
            `p99 ${formatNumber(results.idleConsumer.busy.watching.p99Ms)} ms; long polling only p50 ` +
            `${formatNumber(results.idleConsumer.busy.longPolling.p50Ms)} ms, p99 ${formatNumber(results.idleConsumer.busy.longPolling.p99Ms)} ms`,
        ]),
    '',
  ];
}

function storageLines(storage: readonly StorageRow[]): string[] {
  return [
    renderTable(
      [
        'storage (typical)',
        'stored/logical',
        'billed/logical',
        'WU/MiB',
        'WU/MiB no key',
        'MiB/s per partition',
      ],
      storage.map((row) => [
        `batch ${row.batchRecords}`,
        formatNumber(row.storedBytesPerLogicalByte),
        formatNumber(row.billedStoredBytesPerLogicalByte),
        formatNumber(row.writeUnitsPerMib),
        formatNumber(row.writeUnitsPerMibWithoutIdempotencyKey),
        formatNumber(row.partitionCeilingMibPerSecond),
      ]),
    ),
    '',
  ];
}

function costLines(results: BenchResults): string[] {
  const cost = results.cost;
  if (cost === null) return [];
  const worstRatio = (batch: number) => {
    const ratios = results.produce.filter((row) => row.batchRecords === batch && row.p50Ratio !== null);
    return ratios.length === 0 ? undefined : Math.max(...ratios.map((row) => row.p50Ratio ?? 0));
  };
  const systems =
    cost.byBatch[0]?.systems.map((system) => system.system.replace(/ \(KPL.*\)$/, ' KPL')) ?? [];
  const at100 = cost.byBatch.find((entry) => entry.batchRecords === 100) ?? cost.byBatch[0];
  return [
    costTable(
      systems,
      cost.byBatch.map((entry) => ({
        batchRecords: entry.batchRecords,
        usd: entry.systems.map((system) => system.totalUsd),
        writeUnitsPerMib: results.storage?.find((row) => row.batchRecords === entry.batchRecords)
          ?.writeUnitsPerMib,
        p50Ratio: worstRatio(entry.batchRecords),
      })),
    ),
    `($ per million 1 KB records produced, consumed once, kept 7 days at ~278 records/s; ${PRICE_REGION} list prices checked ${PRICES_CHECKED_ON}; ` +
      'KPL: the same batch aggregated into one Kinesis record, compressed as Shoal compresses it)',
    '',
    ...(at100 === undefined
      ? []
      : billLines(`Shoal at ${at100.batchRecords} records/request`, at100.systems[0], at100.notes)),
    ...billLines('idle deployment, per month', cost.idle, []),
    ...atRestLines(cost.atRest),
  ];
}

/** The deployment at rest: its lines, then the month by component. */
function atRestLines(bill: AtRestBill | null): string[] {
  if (bill === null) return [];
  return [
    renderTable(
      ['deployment at rest, per month', 'component', 'quantity', 'unit', '$'],
      [
        ...bill.lines
          .filter((entry) => entry.usd > 0)
          .map((entry) => [
            entry.item,
            entry.component,
            formatNumber(entry.quantity),
            entry.unit,
            formatUsd(entry.usd),
          ]),
        ...Object.entries(bill.byComponent).map(([component, usd]) => [
          `  ${component}`,
          '',
          '',
          '',
          formatUsd(usd),
        ]),
        ['total', '', '', '', formatUsd(bill.totalUsd)],
      ],
    ),
    ...bill.notes.map((note) => `  - ${note}`),
    '',
  ];
}

function billLines(title: string, bill: SystemCost | undefined, notes: readonly string[]): string[] {
  if (bill === undefined) return [];
  return [
    renderTable(
      [title, 'quantity', 'unit', '$'],
      [
        ...bill.lines
          .filter((entry) => entry.usd > 0)
          .map((entry) => [entry.item, formatNumber(entry.quantity), entry.unit, formatUsd(entry.usd)]),
        ['total', '', '', formatUsd(bill.totalUsd)],
      ],
    ),
    ...notes.map((note) => `  - ${note}`),
    '',
  ];
}

function consistencyLines(consistency: NonNullable<BenchResults['consistency']>): string[] {
  const counts = Object.entries(consistency.counts)
    .map(([name, value]) => `${name} ${value}`)
    .join(', ');
  return [
    `consistency check (${consistency.stats.acknowledgedRecords} of ${consistency.stats.requestedRecords} ` +
      `records acknowledged under faults, group caught up: ${consistency.stats.consumersCaughtUp ? 'yes' : 'NO'}): ${counts}`,
    '',
  ];
}

function goalsTable(goals: readonly Goal[]): string {
  return renderTable(
    ['goal', 'value', 'target', 'met'],
    goals.map((goal) => [
      goal.name,
      goal.value === null ? 'not measured' : formatNumber(goal.value),
      String(goal.target),
      goal.met ? 'yes' : 'NO',
    ]),
    ['left', 'right', 'right', 'left'],
  );
}

/** Everything written to results.json. */
export interface BenchResults {
  readonly schemaVersion: 1;
  readonly mode: 'quick' | 'full';
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationSeconds: number;
  readonly target: string;
  readonly machine: {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    node: string;
    platform: string;
    /** 1-minute load averages when the run started and ended: other work on the machine skews every figure. */
    loadAverageStart: number;
    loadAverageEnd: number;
  };
  readonly events: Record<EventSizeClass, { meanLogicalBytes: number; poolSize: number }>;
  readonly produce: ProduceRow[];
  readonly fetch: FetchSection;
  readonly endToEnd: EndToEndResult;
  readonly idleConsumer: IdleConsumerResult | null;
  readonly storage: StorageRow[] | null;
  readonly cost: {
    readonly workload: typeof MILLION_1KB_RECORDS;
    /** How the CDK app deploys, read from its synthesized templates. */
    readonly deployment: DeployedSettings;
    /** The produce and fetch handlers invoked and metered at each batch size. */
    readonly invocations: InvocationUsage[];
    /** Every system's bill at each batch size, Shoal first, with Shoal's usage and assumptions. */
    readonly byBatch: {
      readonly batchRecords: number;
      readonly usage: ShoalUsage;
      readonly notes: string[];
      readonly systems: SystemCost[];
    }[];
    /** What a deployment pays in a month without traffic. */
    readonly idle: SystemCost;
    /** The issue's deployment at rest (100 topics of 12 partitions, 20 groups, 10 subscriptions), by component. */
    readonly atRest: AtRestBill | null;
    readonly pricesCheckedOn: string;
    readonly region: string;
  } | null;
  readonly consistency: Pick<CheckReport, 'counts' | 'clean' | 'stats' | 'faultsInjected'> | null;
  /** Issue 14: the exactly-once pipeline (topic A to B with offsets, under the same faults). */
  readonly exactlyOnce: ExactlyOnceReport | null;
  /** Issue 18: each function's bundle bytes, import and first-event ms (medians of fresh processes). */
  readonly coldStarts: ColdStartRow[] | null;
  /** Issue 15: the web console's page loads (100 topics, a partition of 100,000 records); null when not measured. */
  readonly console: ConsoleLoadResult | null;
  readonly goals: Goal[];
}

/** What the benchmark measured, before it is assembled into results.json. */
interface Measured {
  readonly pools: { readonly small: EventPool; readonly typical: EventPool };
  readonly produce: ProduceRow[];
  readonly fetch: FetchSection;
  readonly endToEnd: EndToEndResult;
  /** Issue 13: an idle group member's month and its wake-up latency; null without the local stack. */
  readonly idleConsumer: IdleConsumerResult | null;
  readonly storage: StorageRow[] | null;
  readonly invocations: InvocationUsage[] | null;
  /** The scheduled functions of a deployment at rest, measured on tables of their own; null without local parts. */
  readonly atRest: AtRestUsage | null;
  readonly deployment: DeployedSettings;
  readonly check: CheckReport;
  readonly exactlyOnce: ExactlyOnceReport;
  /** Issue 18: each function's bundle and cold start; null without the local parts. */
  readonly coldStarts: ColdStartRow[] | null;
  /** The console's page loads, on the local stack with Chromium installed; null otherwise. */
  readonly console: ConsoleLoadResult | null;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log('Usage: npm run bench [-- --quick] [-- --out path/to/results.json]');
    return;
  }
  const settings = settingsFor(values.quick);
  const outPath = values.out ?? fileURLToPath(new URL('./results.json', import.meta.url));
  const startedAt = new Date();
  const loadAverageStart = loadavg()[0] ?? 0;
  // Injected faults in the checker make handlers log errors; every failure is counted instead.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const progress = new Progress(process.stderr);
  progress.begin('starting', process.env.SHOAL_URL ?? 'local stack');
  const target = await startTarget(process.env.SHOAL_URL || undefined);
  try {
    const measured = await measureAll(settings, target, progress);
    const results = assembleResults(settings, target, measured, startedAt, loadAverageStart);
    await writeFile(outPath, `${JSON.stringify(results, null, 2)}\n`);
    progress.finish();
    printReport(results);
    console.log(`\nresults: ${outPath} (${results.durationSeconds} s)`);
  } finally {
    progress.finish();
    await target.stop();
  }
}

/** Every section of the benchmark, one after the other, against `target`. */
async function measureAll(settings: Settings, target: Target, progress: Progress): Promise<Measured> {
  const client = new ShoalClient(target.url);
  progress.begin('generating events');
  const pools = {
    small: createEventPool('small', settings.poolSize, 1),
    typical: createEventPool('typical', settings.poolSize, 2),
  };

  progress.begin('produce');
  const produce = await runProduceMatrix(settings, client, target, pools, progress);

  progress.begin('fetch');
  const fetch = await runFetch(settings, client, target, pools.typical, progress);

  progress.begin('end-to-end');
  const e2eTopic = `bench-e2e-${Date.now().toString(36)}`;
  await client.createTopic(e2eTopic, 1);
  const endToEnd = await measureEndToEnd(client, e2eTopic, pools.small, settings.endToEndRecords, 50, 5_000);
  const idleConsumer = await runIdle(settings, client, target, progress);

  const storage = await runStorage(settings, client, target, pools.typical, progress);
  const invocations = await runInvocations(settings, client, target, pools.typical, progress);
  progress.begin('reading the CDK app (synth without bundling)');
  const deployment = synthesizeDeployment();
  const { check, exactlyOnce } = await runCheck(settings, target, progress);
  const atRest = await runAtRest(target, progress);
  // The console's page loads on the local stack (a deployed API would need the page to sign).
  progress.begin('console page load');
  const consolePages = target.traffic === undefined ? null : await measureConsoleLoad(target.url);
  // Cold starts on a local stack of their own; only where the local parts run here.
  progress.begin('cold starts');
  const coldStarts =
    target.traffic === undefined
      ? null
      : await measureColdStarts(settings.quick ? 1 : 3, (line) => progress.update(line));
  return {
    pools,
    produce,
    fetch,
    endToEnd,
    idleConsumer,
    storage,
    invocations,
    deployment,
    atRest,
    check,
    exactlyOnce,
    console: consolePages,
    coldStarts,
  };
}

/** The idle consumer of issue 13, when the benchmark runs the local stack (it counts at its server). */
async function runIdle(
  settings: Settings,
  client: ShoalClient,
  target: Target,
  progress: Progress,
): Promise<IdleConsumerResult | null> {
  if (target.traffic === undefined || target.meter === undefined) return null;
  progress.begin('idle consumer');
  return runIdleConsumer(target.url, client, target.traffic, target.meter, {
    windowMs: settings.idleWindowMs,
    backgroundMs: settings.idleBackgroundMs,
    wakeSamples: settings.wakeSamples,
  });
}

/** Storage accounting, when the benchmark reaches the tables directly; null otherwise. */
async function runStorage(
  settings: Settings,
  client: ShoalClient,
  target: Target,
  pool: EventPool,
  progress: Progress,
): Promise<StorageRow[] | null> {
  if (target.tables === undefined) return null;
  progress.begin('storage');
  const { config, runtime } = target.tables;
  return measureStorage(
    client,
    {
      dynamodb: runtime.dynamodb,
      logTableName: config.logTableName,
      metaTableName: config.metaTableName,
    },
    pool,
    settings.batchSizes,
    settings.storageRequests,
    target.meter,
  );
}

/** The produce and fetch handlers invoked directly, timed and metered, when the tables are reachable. */
async function runInvocations(
  settings: Settings,
  client: ShoalClient,
  target: Target,
  pool: EventPool,
  progress: Progress,
): Promise<InvocationUsage[] | null> {
  if (target.tables === undefined) return null;
  progress.begin('handler invocations');
  return measureInvocations(
    target.tables.config,
    client,
    pool,
    settings.batchSizes,
    settings.invocationRequests,
    (line) => progress.update(line),
  );
}

/** The deployment at rest, on tables of its own beside the benchmark's, when the benchmark runs the local parts. */
async function runAtRest(target: Target, progress: Progress): Promise<AtRestUsage | null> {
  if (target.local === undefined) return null;
  progress.begin('deployment at rest');
  return measureAtRest(target.local, (line) => progress.update(line));
}

/**
 * The consistency check under faults, on an API of its own, then the exactly-once pipeline on the
 * same API with as many input records and the same faults.
 */
async function runCheck(
  settings: Settings,
  target: Target,
  progress: Progress,
): Promise<{ check: CheckReport; exactlyOnce: ExactlyOnceReport }> {
  progress.begin('consistency check');
  const faults = createCheckFaults(1);
  const checkTarget = await startCheckTarget(faults, target.local);
  try {
    const check = await runConsistencyCheck(checkTarget.url, {
      records: settings.checkRecords,
      faults,
      archive: () => checkTarget.archive(),
      onProgress: (line) => progress.update(line),
    });
    progress.begin('exactly-once pipeline');
    const exactlyOnce = await runExactlyOncePipeline(checkTarget.url, {
      records: settings.checkRecords,
      crashes: 4,
      faults,
      onProgress: (line) => progress.update(line),
    });
    return { check, exactlyOnce };
  } finally {
    await checkTarget.stop();
  }
}

/** The machine the benchmark ran on, with its load at the start and now. */
function machine(loadAverageStart: number): BenchResults['machine'] {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverageStart: round(loadAverageStart, 2),
    loadAverageEnd: round(loadavg()[0] ?? 0, 2),
  };
}

/** The cost section: Shoal's usage at each batch size, priced next to the other systems. */
function costSection(measured: Measured): BenchResults['cost'] {
  const { storage, invocations, deployment, fetch } = measured;
  if (storage === null || invocations === null) return null;
  const segmentBytesPerLogicalByte = fetch.cold.measured ? fetch.cold.segmentBytesPerLogicalByte : undefined;
  const byBatch = storage.flatMap((row) => {
    const invoked = invocations.find((entry) => entry.batchRecords === row.batchRecords);
    if (invoked === undefined) return [];
    const evidence: CostEvidence = {
      storage: row,
      invocations: invoked,
      deployment,
      segmentBytesPerLogicalByte,
      meanRecordBytes: measured.pools.typical.meanLogicalBytes,
      recordBytes: MILLION_1KB_RECORDS.recordBytes,
      retentionDays: MILLION_1KB_RECORDS.retentionDays,
    };
    const usage = shoalUsageOf(evidence);
    return [
      {
        batchRecords: row.batchRecords,
        usage,
        notes: costNotes(evidence, usage),
        systems: compareCosts(MILLION_1KB_RECORDS, usage, kplProducerOf(row)),
      },
    ];
  });
  return {
    workload: MILLION_1KB_RECORDS,
    deployment,
    invocations,
    byBatch,
    idle: idleMonthlyCost(idleDeploymentOf(deployment)),
    atRest: measured.atRest === null ? null : atRestMonthlyCost(deployment, measured.atRest),
    pricesCheckedOn: PRICES_CHECKED_ON,
    region: PRICE_REGION,
  };
}

/** Everything measured, in the shape of results.json. */
function assembleResults(
  settings: Settings,
  target: Target,
  measured: Measured,
  startedAt: Date,
  loadAverageStart: number,
): BenchResults {
  const { pools, produce, fetch, endToEnd, idleConsumer, storage, check, exactlyOnce } = measured;
  const cost = costSection(measured);
  const finishedAt = new Date();
  return {
    schemaVersion: 1,
    mode: settings.quick ? 'quick' : 'full',
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSeconds: round((finishedAt.getTime() - startedAt.getTime()) / 1000, 1),
    target: target.description,
    machine: machine(loadAverageStart),
    events: {
      small: { meanLogicalBytes: round(pools.small.meanLogicalBytes, 1), poolSize: settings.poolSize },
      typical: { meanLogicalBytes: round(pools.typical.meanLogicalBytes, 1), poolSize: settings.poolSize },
    },
    produce,
    fetch,
    endToEnd,
    idleConsumer,
    storage,
    cost,
    consistency: {
      counts: check.counts,
      clean: check.clean,
      stats: check.stats,
      faultsInjected: check.faultsInjected,
    },
    exactlyOnce,
    coldStarts: measured.coldStarts,
    console: measured.console,
    goals: [
      ...goals(produce, storage, fetch, check, cost),
      ...idleConsumerGoals(idleConsumer, endToEnd, fetch),
      exactlyOnceGoal(exactlyOnce),
      consoleGoal(measured.console),
    ],
  };
}

/** Issue 14: every input record in the output topic exactly once, in order, offsets at the end. */
function exactlyOnceGoal(report: ExactlyOnceReport): Goal {
  const anomalies = Object.values(report.counts).reduce((sum, count) => sum + count, 0);
  return {
    name: 'exactly-once pipeline: every input once in the output, in order per key, offsets at the high watermarks, under faults',
    value: anomalies,
    unit: 'anomalies (sum of all columns)',
    target: 0,
    met: report.clean,
    note: `${report.stats.inputRecords} records, ${report.stats.transactions} transactions, ${report.stats.fenced} fenced, ${report.stats.crashes} crashes, caught up: ${report.stats.caughtUp ? 'yes' : 'NO'}`,
  };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
