/**
 * A whole deployment at rest, measured: {@link AT_REST_SHAPE} (100 topics of 12 partitions, each
 * holding an archived record, 20 consumer groups caught up on 5 topics each, 10 subscriptions caught
 * up), nothing produced and nobody polling. The scheduled functions' very handlers run against fresh
 * tables on the local stack's DynamoDB Local and S3 server, as their schedules would run them:
 *
 * - billed duration: each run's wall time, rounded up to the millisecond (this machine, DynamoDB
 *   Local; warm runs: a schedule of minutes keeps its function warm);
 * - DynamoDB read and write units, metered on the handlers' client;
 * - what each run writes to stdout (logs, EMF documents) and the custom metrics in it.
 *
 * `at-rest-cost.ts` prices these with the deployment's schedules, alarms and dashboards.
 * `npx tsx bench/at-rest.ts` measures and prints the bill on its own (a local stack of its own).
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import type { ShoalConfig } from '../shared/config.js';
import { type Clock, systemClock } from '../shared/domain/clock.js';
import { powertoolsTelemetry } from '../shared/observability/powertools-telemetry.js';
import type { FunctionInvoker } from '../shared/ports/function-invoker.js';
import { createRuntime, type Runtime } from '../shared/runtime.js';
import { tieredStorageFor } from '../shared/services.js';
import { AT_REST_SHAPE, type AtRestUsage, type ScheduledRunUsage } from './at-rest-shape.js';
import { captureStdout, emfMetricKeys } from './handler-usage.js';
import { createCapacityMeter } from './metering.js';
import { ShoalClient } from './shoal-client.js';

/** Runs measured per function after one unmeasured warm-up run. */
const RUNS_MEASURED = 3;
/**
 * Runs of the archiver measured, a simulated minute apart: it reads an idle partition again within
 * 15 minutes, so its mean over 15 runs is what a month of runs a minute apart reads.
 */
const ARCHIVER_RUNS_MEASURED = 15;
const SCHEDULE_MS = 60_000;
const HOUR_MS = 3_600_000;
/** Archiver passes the seeding may take to archive every partition. */
const ARCHIVE_PASSES_MAX = 10;
/** The subscribed module (never invoked at rest: nothing is pending). */
const SUBSCRIBER = 'bench/subscriber/counting.ts';

/** An invoker for a deployment at rest: a run that tried to deliver would fail the measurement. */
const NOTHING_TO_DELIVER: FunctionInvoker = {
  timeoutMs: async () => 3_000,
  invoke: async () => {
    throw new Error('A deployment at rest has nothing to deliver');
  },
};

/** The deployment: topics with one record per partition, archived; groups and subscriptions caught up. */
async function seed(client: ShoalClient, runtime: Runtime): Promise<void> {
  const { topics, partitionsPerTopic, groups, topicsPerGroup, subscriptions } = AT_REST_SHAPE;
  const post = async (path: string, body: unknown) => {
    const answer = await client.call('POST', path, { body: JSON.stringify(body) });
    if (answer.status >= 300) throw new Error(`POST ${path}: ${answer.status} ${answer.text}`);
  };
  const topicName = (index: number) => `rest-${String(index).padStart(3, '0')}`;
  for (let index = 0; index < topics; index++) {
    await post('/v1/topics', { name: topicName(index), partitions: partitionsPerTopic });
    await post(`/v1/topics/${topicName(index)}/records`, {
      records: Array.from({ length: partitionsPerTopic }, (_, partition) => ({
        partition,
        value: { type: 'JSON', data: { partition } },
      })),
    });
  }
  // Two hours on, every partition's only segment is due (segmentMs 1 h): one archiver pass rolls all.
  const later: Clock = { ...runtime.clock, now: () => Date.now() + 2 * HOUR_MS };
  const { archiver } = tieredStorageFor({ ...runtime, clock: later });
  for (let pass = 0; ; pass++) {
    const report = await archiver.run();
    if (report.skippedPartitions === 0 && report.errors.length === 0) break;
    // A pass starts no partition after a minute: on a loaded machine one pass may not reach them all.
    if (pass >= ARCHIVE_PASSES_MAX) throw new Error('The at-rest deployment could not be archived');
  }
  for (let group = 0; group < groups; group++) {
    const offsets = Array.from({ length: topicsPerGroup }, (_, t) =>
      Array.from({ length: partitionsPerTopic }, (_, partition) => ({
        topic: topicName((group * topicsPerGroup + t) % topics),
        partition,
        offset: 1,
      })),
    ).flat();
    await post(`/v1/groups/rest-group-${group}/offsets`, { offsets });
  }
  for (let index = 0; index < subscriptions; index++) {
    await post('/v1/subscriptions', {
      name: `rest-subscription-${index}`,
      topic: topicName(index * Math.floor(topics / subscriptions)),
      target: { module: SUBSCRIBER },
    });
  }
}

/**
 * Times and meters `run` over `runs` runs after a warm-up, moving the runtime's clock on by a
 * schedule's interval before each one.
 */
async function measureRuns(
  meter: ReturnType<typeof createCapacityMeter>,
  runtime: Runtime,
  clock: { aheadMs: number },
  run: () => Promise<unknown>,
  runs = RUNS_MEASURED,
): Promise<ScheduledRunUsage> {
  await captureStdout(async () => {
    await run();
    runtime.telemetry.flush();
  });
  const samples: { ms: number; readUnits: number; writeUnits: number; lines: string[] }[] = [];
  for (let index = 0; index < runs; index++) {
    clock.aheadMs += SCHEDULE_MS;
    meter.reset();
    meter.enabled = true;
    try {
      const { result: ms, lines } = await captureStdout(async () => {
        const started = performance.now();
        await run();
        // What `backgroundEntry` does after every run in Lambda: SDK retry metrics, if any.
        runtime.telemetry.flush();
        return performance.now() - started;
      });
      const snapshot = meter.snapshot();
      const writes = ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems'];
      const writeUnits = writes.reduce(
        (sum, operation) => sum + (snapshot[operation]?.capacityUnits ?? 0),
        0,
      );
      samples.push({ ms, readUnits: meter.total() - writeUnits, writeUnits, lines });
    } finally {
      meter.enabled = false;
    }
  }
  const mean = (value: (sample: (typeof samples)[number]) => number) =>
    samples.reduce((sum, sample) => sum + value(sample), 0) / samples.length;
  return {
    runs: samples.length,
    billedMs: mean((sample) => Math.ceil(sample.ms)),
    readUnits: mean((sample) => sample.readUnits),
    writeUnits: mean((sample) => sample.writeUnits),
    logBytes: mean((sample) => sample.lines.reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0)),
    logEvents: mean((sample) => sample.lines.length),
    metricKeys: [...new Set(samples.flatMap((sample) => sample.lines.flatMap(emfMetricKeys)))].sort(),
  };
}

/**
 * Measures the scheduled functions of a deployment at rest, on fresh tables and a fresh bucket at
 * the given local endpoints.
 */
export async function measureAtRest(
  endpoints: { readonly dynamodbEndpoint: string; readonly s3Endpoint: string },
  onProgress: (line: string) => void = () => {},
): Promise<AtRestUsage> {
  const id = randomBytes(4).toString('hex');
  const config: ShoalConfig = {
    logTableName: `rest-${id}-log`,
    metaTableName: `rest-${id}-meta`,
    segmentBucketName: `rest-${id}-segments`,
    region: 'us-east-1',
    dynamodbEndpoint: endpoints.dynamodbEndpoint,
    s3Endpoint: endpoints.s3Endpoint,
  };
  const { provision } = await import('../local/provision.js');
  const { createLocalHttpServer } = await import('../local/http-server.js');
  const { loadHandlers } = await import('../local/stack.js');
  await provision(config);
  const plain = createRuntime(config);
  const meter = createCapacityMeter();
  const ahead = { aheadMs: 0 };
  const metered = createRuntime(config, {
    decorateDynamoDb: meter.install,
    telemetry: powertoolsTelemetry(),
    clock: { ...systemClock, now: () => Date.now() + ahead.aheadMs },
  });
  const server = createLocalHttpServer((await loadHandlers(plain)).handlers);
  try {
    const port = await listen(server);
    onProgress('seeding 100 topics × 12 partitions, 20 groups, 10 subscriptions');
    await seed(new ShoalClient(`http://127.0.0.1:${port}`), plain);
    const archive = (await import('../functions/archive-segments.js')).createHandler(metered);
    const dispatch = (await import('../functions/dispatch-subscriptions.js')).createHandler(metered, {
      invoker: NOTHING_TO_DELIVER,
    });
    const lag = (await import('../functions/measure-lag.js')).createHandler(metered);
    const context = { getRemainingTimeInMillis: () => 60_000 };
    onProgress('archiver runs');
    const archiver = await measureRuns(meter, metered, ahead, () => archive({}), ARCHIVER_RUNS_MEASURED);
    onProgress('dispatcher sweeps');
    const dispatcher = await measureRuns(meter, metered, ahead, () => dispatch({}, { ...context }));
    onProgress('lag monitor samples');
    const monitor = await measureRuns(meter, metered, ahead, () => lag({}, context));
    return {
      shape: AT_REST_SHAPE,
      functions: {
        'archive-segments': archiver,
        'dispatch-subscriptions': dispatcher,
        'measure-lag': monitor,
      },
    };
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    for (const runtime of [plain, metered]) {
      runtime.dynamodb.destroy();
      runtime.s3.destroy();
    }
  }
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('The seeding API has no port'));
      else resolve(address.port);
    });
  });
}

/** `npx tsx bench/at-rest.ts`: a local stack of its own, the measurement, and the bill. */
async function main(): Promise<void> {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'INFO';
  const { startLocalStack } = await import('../local/stack.js');
  const { synthesizeDeployment } = await import('./deployment.js');
  const { atRestMonthlyCost } = await import('./at-rest-cost.js');
  const stack = await startLocalStack({
    dataDir: tmpdir(),
    port: 0,
    persistent: false,
    archiveIntervalMs: 0,
  });
  try {
    const { dynamodbEndpoint, s3Endpoint } = stack.config;
    if (dynamodbEndpoint === undefined || s3Endpoint === undefined) throw new Error('No local endpoints');
    const usage = await measureAtRest({ dynamodbEndpoint, s3Endpoint }, (line) => console.error(line));
    const bill = atRestMonthlyCost(synthesizeDeployment(), usage);
    console.log(JSON.stringify({ usage, bill }, null, 2));
  } finally {
    await stack.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
