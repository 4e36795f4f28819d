/**
 * Where the produce handler's CPU goes: calls the `produce-records` Lambda handler in process
 * against the local stack (DynamoDB Local and the S3 server) with the benchmark's typical events
 * (`bench/workload.ts`: the same bodies, an Idempotency-Key on every request), profiles each batch
 * size on its own with the V8 CPU profiler, and prints the functions and the source files with the
 * most self time.
 *
 *   node --import tsx scripts/profile-produce.ts [--sizes 1,10,100,1000] [--records 2000] [--out dir]
 *   node --import tsx scripts/profile-produce.ts --summarize some.cpuprofile
 *
 * `--out` keeps each size's `.cpuprofile` (open it in Chrome DevTools or VS Code); `--summarize`
 * prints the same tables for any profile, such as one from `node --cpu-prof`. DynamoDB Local runs
 * in its own Java process, so its time shows here as `(idle)`: the handler waiting for storage.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { createEventPool, produceBody, takeFromPool } from '../bench/workload.js';
import { createHandler } from '../functions/produce-records.js';
import { startLocalStack } from '../local/stack.js';
import { servicesFor } from '../shared/services.js';

/** A V8 CPU profile as `Profiler.stop` and `--cpu-prof` give it (the parts read here). */
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly children?: readonly number[];
}

/** Self time of one function or one file, in milliseconds. */
interface SelfTime {
  readonly name: string;
  readonly ms: number;
}

const TOP_FUNCTIONS = 15;
const TOP_FILES = 12;
/** Requests before profiling a size: JIT warm-up, connections opened. */
const WARMUP_REQUESTS_MIN = 3;
/** Requests profiled per size, however many records that makes. */
const REQUESTS_MIN = 10;
const TOPIC = 'profile';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '1,10,100,1000' },
      records: { type: 'string', default: '2000' },
      out: { type: 'string' },
      summarize: { type: 'string' },
    },
  });
  if (values.summarize) {
    const profile = JSON.parse(await readFile(values.summarize, 'utf8')) as CpuProfile;
    printSummary(values.summarize, profile);
    return;
  }
  const sizes = values.sizes.split(',').map(Number);
  const recordsPerSize = Number(values.records);
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const scratch = await mkdtemp(join(tmpdir(), 'shoal-profile-'));
  const stack = await startLocalStack({
    dataDir: scratch,
    port: 0,
    persistent: false,
    archiveIntervalMs: 0,
    dispatchSweepIntervalMs: 0,
  });
  const session = new Session();
  session.connect();
  try {
    await servicesFor(stack.runtime).topics.create({ name: TOPIC, partitions: 1 });
    const handler = createHandler(stack.runtime);
    const pool = createEventPool('typical', 2_000, 42);
    let sent = 0;
    /** The next `count` requests of `batch` records, built before any clock or profiler starts. */
    const nextEvents = (count: number, batch: number): APIGatewayProxyEvent[] =>
      Array.from({ length: count }, () => {
        const body = produceBody(takeFromPool(pool, sent, batch).json, 0);
        sent += batch;
        return produceEvent(body, `profile-${sent}`);
      });
    const send = async (event: APIGatewayProxyEvent): Promise<number> => {
      const started = performance.now();
      const result = await handler(event, LAMBDA_CONTEXT);
      if (result.statusCode !== 200) throw new Error(`produce answered ${result.statusCode}: ${result.body}`);
      return performance.now() - started;
    };
    if (values.out) await mkdir(values.out, { recursive: true });
    for (const batch of sizes) {
      const requests = Math.max(REQUESTS_MIN, Math.ceil(recordsPerSize / batch));
      for (const event of nextEvents(WARMUP_REQUESTS_MIN, batch)) await send(event);
      const events = nextEvents(requests, batch);
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 100 });
      await session.post('Profiler.start');
      const cpuStart = process.cpuUsage();
      const latenciesMs: number[] = [];
      for (const event of events) latenciesMs.push(await send(event));
      const cpu = process.cpuUsage(cpuStart);
      const { profile } = await session.post('Profiler.stop');
      await session.post('Profiler.disable');
      if (values.out) {
        await writeFile(join(values.out, `produce-${batch}.cpuprofile`), JSON.stringify(profile));
      }
      const cpuMsPerRequest = (cpu.user + cpu.system) / 1_000 / requests;
      printSummary(
        `${batch} records per request: ${requests} requests, p50 ${median(latenciesMs).toFixed(2)} ms, ` +
          `process CPU ${cpuMsPerRequest.toFixed(2)} ms per request`,
        profile as CpuProfile,
        requests,
      );
    }
  } finally {
    session.disconnect();
    await stack.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * The API Gateway event of `POST /v1/topics/{topic}/records`, as API Gateway and the local HTTP
 * server build it: the body base64-encoded (the REST API treats every media type as binary).
 */
function produceEvent(body: string, idempotencyKey: string): APIGatewayProxyEvent {
  const headers = { 'content-type': 'application/json', 'idempotency-key': idempotencyKey };
  return {
    resource: '/v1/topics/{topic}/records',
    path: `/v1/topics/${TOPIC}/records`,
    httpMethod: 'POST',
    headers,
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { topic: TOPIC },
    stageVariables: null,
    body: Buffer.from(body, 'utf8').toString('base64'),
    isBase64Encoded: true,
    requestContext: {
      requestId: idempotencyKey,
    } as APIGatewayProxyEvent['requestContext'],
  };
}

const LAMBDA_CONTEXT = undefined as unknown as Context;

/** Prints the functions and files with the most self time, in ms per request. */
function printSummary(title: string, profile: CpuProfile, requests = 1): void {
  const { functions, files, totalMs } = selfTimes(profile);
  const perRequest = (ms: number) => (ms / requests).toFixed(requests === 1 ? 1 : 3).padStart(9);
  const share = (ms: number) => `${((100 * ms) / totalMs).toFixed(1).padStart(5)}%`;
  console.log(`\n${title}`);
  console.log(`  self time per request (ms), of ${perRequest(totalMs).trim()} ms sampled`);
  console.log('  functions:');
  for (const entry of functions.slice(0, TOP_FUNCTIONS)) {
    console.log(`  ${perRequest(entry.ms)} ${share(entry.ms)}  ${entry.name}`);
  }
  console.log('  files:');
  for (const entry of files.slice(0, TOP_FILES)) {
    console.log(`  ${perRequest(entry.ms)} ${share(entry.ms)}  ${entry.name}`);
  }
}

/**
 * Self time per function and per file. Sample i covers the time until sample i + 1
 * (`timeDeltas[i + 1]`); functions are told apart by name, file and line.
 */
function selfTimes(profile: CpuProfile): { functions: SelfTime[]; files: SelfTime[]; totalMs: number } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const functionMs = new Map<string, number>();
  const fileMs = new Map<string, number>();
  let totalMs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i] as number);
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1_000;
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = shortFile(url);
    const name = `${functionName || '(anonymous)'}${file ? ` ${file}:${lineNumber + 1}` : ''}`;
    functionMs.set(name, (functionMs.get(name) ?? 0) + ms);
    const fileName = file || functionName;
    fileMs.set(fileName, (fileMs.get(fileName) ?? 0) + ms);
    totalMs += ms;
  }
  const sorted = (map: Map<string, number>) =>
    [...map].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms);
  return { functions: sorted(functionMs), files: sorted(fileMs), totalMs };
}

/** A script URL shortened to the package or the repository path: `zod/v4/core/schemas.js`. */
function shortFile(url: string): string {
  if (url === '') return '';
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) return path.slice(modules + '/node_modules/'.length);
  const repository = path.indexOf(`${process.cwd()}/`);
  return repository >= 0 ? path.slice(repository + process.cwd().length + 1) : path;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

await main();
