/**
 * `npm run bench:cold-start [-- --runs 5] [-- --out file]`: what a cold start of each function
 * costs, on the local stack. Each function is bundled as the CDK app bundles it (esbuild, minified
 * ESM, source maps; `SHOAL_BUNDLING`), then started in fresh Node.js processes that import the
 * bundle and handle one typical event against DynamoDB Local and the S3 server, the way Lambda's
 * first invocation of a new execution environment does:
 *
 * - bundle bytes, and the share of zod, the S3 client and the rest of the AWS SDK in it;
 * - import ms (module evaluation: Lambda's INIT phase), the CPU ms the process spent on it (user
 *   and system, all threads: steadier than wall time on a busy machine), and first-event ms
 *   (clients built, first requests), the median of `runs` processes, as deployed (no
 *   `--enable-source-maps`: a logged error's stack is mapped when it is logged,
 *   `shared/observability/source-maps.ts`) and with that flag, as deployed before.
 *
 * This machine is not Lambda (Node 20 here, Node 22 there; no network latency to DynamoDB), so the
 * figures compare functions and settings with each other rather than predict Lambda's INIT time.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { SourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build, type Metafile } from 'esbuild';
import {
  ESBUILD_TARGET,
  FUNCTIONS_DIR,
  PROJECT_ROOT,
  SHOAL_ESBUILD_OPTIONS,
} from '../infra/shoal-function.js';
import { startLocalStack } from '../local/stack.js';
import { ENV } from '../shared/config.js';
import { percentile } from './stats.js';

/** A function and the event its first invocation handles. */
interface ColdStartCase {
  readonly name: string;
  /** Builds the event from the names the setup created. */
  readonly event: (names: { topic: string; group: string }) => unknown;
  /** Settings the function reads besides the tables and bucket (`infra/` sets them in AWS). */
  readonly env?: (names: { topic: string; group: string }) => Record<string, string>;
}

export interface ColdStartRow {
  readonly name: string;
  readonly bundleBytes: number;
  /** Bytes of the bundle's output that come from each group of inputs. */
  readonly shares: { readonly zod: number; readonly s3Client: number; readonly otherAwsSdk: number };
  /** Medians over the runs, ms: as deployed, and with `--enable-source-maps`. */
  readonly deployed: ColdStartTimes;
  readonly enableSourceMaps: ColdStartTimes;
}

export interface ColdStartTimes {
  readonly importMs: number;
  /** User and system CPU time of the process during the import. */
  readonly importCpuMs: number;
  readonly firstEventMs: number;
  /**
   * The first stack mapped after the event (`shared/observability/source-maps.ts`, as a logged or
   * thrown error is): reading and parsing the bundle's map. Paid by the first error, not the start.
   */
  readonly firstMappedStackMs: number;
  /** What the first event answered (status code, or `ok` for background functions). */
  readonly outcome: string;
}

const RUNS_DEFAULT = 5;
const RUNS_MAX = 25;
/** One child's import and first event; a child past it is killed and the run fails. */
const CHILD_TIMEOUT_MS = 60_000;

const apiEvent = (method: string, resource: string, path: string, body?: unknown) => ({
  resource,
  path,
  httpMethod: method,
  headers: { 'content-type': 'application/json' },
  multiValueHeaders: {},
  queryStringParameters: null,
  multiValueQueryStringParameters: null,
  pathParameters: Object.fromEntries(
    [...resource.matchAll(/\{(\w+)\}/g)].map((match, index) => [match[1], path.split('/')[3 + index * 2]]),
  ),
  stageVariables: null,
  body: body === undefined ? null : JSON.stringify(body),
  isBase64Encoded: false,
  requestContext: { requestId: randomUUID(), httpMethod: method, path, stage: 'bench' },
});

const CASES: readonly ColdStartCase[] = [
  {
    name: 'produce-records',
    event: ({ topic }) =>
      apiEvent('POST', '/v1/topics/{topic}/records', `/v1/topics/${topic}/records`, {
        records: [{ key: { type: 'STRING', data: 'k' }, value: { type: 'JSON', data: { n: 1 } } }],
      }),
  },
  {
    name: 'fetch-records',
    event: ({ topic }) => ({
      ...apiEvent(
        'GET',
        '/v1/topics/{topic}/partitions/{partition}/records',
        `/v1/topics/${topic}/partitions/0/records`,
      ),
      queryStringParameters: { offset: '0' },
    }),
  },
  {
    name: 'manage-topics',
    event: ({ topic }) => apiEvent('GET', '/v1/topics/{topic}', `/v1/topics/${topic}`),
  },
  {
    name: 'manage-groups',
    event: ({ group }) => apiEvent('GET', '/v1/groups/{group}', `/v1/groups/${group}`),
  },
  { name: 'manage-subscriptions', event: () => apiEvent('GET', '/v1/subscriptions', '/v1/subscriptions') },
  { name: 'archive-segments', event: () => ({}) },
  { name: 'measure-lag', event: () => ({}) },
  { name: 'reap-topics', event: () => ({}) },
  { name: 'dispatch-subscriptions', event: () => ({}) },
  {
    name: 'watch-topics',
    // A new connection: the function answers it without a message to post.
    event: () => ({ requestContext: { connectionId: 'cold', eventType: 'CONNECT' } }),
    env: () => ({ [ENV.watchEndpoint]: 'http://127.0.0.1:9' }),
  },
  { name: 'rescue-batches', event: () => ({ Records: [] }) },
  {
    name: 'relay-outbox',
    event: () => ({ Records: [] }),
    env: ({ topic }) => ({
      [ENV.outboxTopic]: topic,
      [ENV.outboxKeyAttribute]: 'id',
      [ENV.outboxValueAttribute]: 'body',
    }),
  },
  {
    name: 'authorize-token',
    // No bearer token: refused before any key is looked up, as a request without one is.
    event: () => ({
      type: 'REQUEST',
      methodArn: 'arn:aws:execute-api:eu-west-1:1:a/prod/GET/v1/topics',
      headers: {},
    }),
    env: () => ({
      [ENV.jwtAlgorithms]: 'RS256',
      [ENV.jwtIssuer]: 'https://issuer.example',
      [ENV.jwtAudience]: 'shoal',
      [ENV.jwtJwks]: '{"keys":[]}',
    }),
  },
];

/** The child: imports the bundle, handles the event; prints the times. */
const CHILD = `
const { performance } = await import('node:perf_hooks');
const started = performance.now();
const cpuStarted = process.cpuUsage();
const module = await import(process.env.COLD_BUNDLE_URL);
const imported = performance.now();
const cpu = process.cpuUsage(cpuStarted);
const context = { awsRequestId: 'cold', functionName: 'cold', getRemainingTimeInMillis: () => 60000 };
let outcome;
try {
  const answer = await module.handler(JSON.parse(process.env.COLD_EVENT), context);
  outcome = answer && typeof answer === 'object' && 'statusCode' in answer
    ? String(answer.statusCode) + (answer.statusCode >= 400 ? ' ' + String(answer.body).slice(0, 300) : '')
    : 'ok';
} catch (error) {
  outcome = 'threw ' + String(error?.message).slice(0, 300);
}
const handled = performance.now();
const { sourceMappedStack } = await import(process.env.COLD_MAPPER_URL);
const mapping = performance.now();
const mappedStack = sourceMappedStack('Error: cold\\n    at handler (' + process.env.COLD_BUNDLE_URL + ':' + process.env.COLD_FRAME + ')');
const mapped = performance.now();
process.stdout.write(JSON.stringify({
  importMs: imported - started, importCpuMs: (cpu.user + cpu.system) / 1000, firstEventMs: handled - imported,
  firstMappedStackMs: mappedStack.includes('index.mjs') ? -1 : mapped - mapping, outcome,
}));
`;

/** A `line:column` of the bundle that its map maps to a source: a frame the child maps. */
async function mappedPositionIn(file: string): Promise<string> {
  const map = new SourceMap(JSON.parse(await readFile(`${file}.map`, 'utf8')));
  for (let line = 1; line <= 50; line++) {
    if ('fileName' in map.findOrigin(line, 20)) return `${line}:20`;
  }
  throw new Error(`no mapped position in the first lines of ${file}`);
}

/** The stack mapper the functions bundle, on its own, for timing its first use. */
async function bundleMapper(outDir: string): Promise<string> {
  const file = join(outDir, 'source-maps.mjs');
  await build({
    entryPoints: [join(PROJECT_ROOT, 'shared/observability/source-maps.ts')],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: ESBUILD_TARGET,
    logLevel: 'silent',
  });
  return file;
}

async function bundle(
  name: string,
  outDir: string,
): Promise<{ file: string; bytes: number; metafile: Metafile }> {
  const file = join(outDir, name, 'index.mjs');
  const result = await build({
    ...SHOAL_ESBUILD_OPTIONS,
    entryPoints: [join(FUNCTIONS_DIR, `${name}.ts`)],
    outfile: file,
    metafile: true,
    logLevel: 'silent',
  });
  const output =
    result.metafile.outputs[Object.keys(result.metafile.outputs).find((key) => key.endsWith('.mjs')) ?? ''];
  return { file, bytes: output?.bytes ?? 0, metafile: result.metafile };
}

function sharesOf(metafile: Metafile): ColdStartRow['shares'] {
  const shares = { zod: 0, s3Client: 0, otherAwsSdk: 0 };
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      if (input.includes('node_modules/zod/')) shares.zod += bytesInOutput;
      else if (/node_modules\/@aws-sdk\/(client-s3|s3-request-presigner)\//.test(input))
        shares.s3Client += bytesInOutput;
      else if (/node_modules\/@(aws-sdk|smithy|aws-crypto)\//.test(input))
        shares.otherAwsSdk += bytesInOutput;
    }
  }
  return shares;
}

function runChild(env: NodeJS.ProcessEnv, sourceMaps: boolean): Promise<ColdStartTimes> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...(sourceMaps ? ['--enable-source-maps'] : []), '--input-type=module', '-e', CHILD],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const pid = child.pid;
    if (pid === undefined || pid <= 0) {
      reject(new Error('The cold-start child did not start'));
      return;
    }
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      // The handlers' logs (Powertools, EMF) go to stdout too: the times are the last line's JSON.
      const last = stdout.slice(stdout.lastIndexOf('{"importMs"'));
      if (code !== 0 || !last.startsWith('{')) {
        reject(new Error(`cold start child exited ${code}: ${stderr.slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(last) as ColdStartTimes);
    });
  });
}

const median = (values: readonly number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    0.5,
  );

function medianTimes(samples: readonly ColdStartTimes[]): ColdStartTimes {
  return {
    importMs: median(samples.map((sample) => sample.importMs)),
    importCpuMs: median(samples.map((sample) => sample.importCpuMs)),
    firstEventMs: median(samples.map((sample) => sample.firstEventMs)),
    firstMappedStackMs: median(samples.map((sample) => sample.firstMappedStackMs)),
    outcome: [...new Set(samples.map((sample) => sample.outcome))].join('/'),
  };
}

/** Bundles and cold-starts every function `runs` times each way; prints a running count. */
export async function measureColdStarts(
  runs: number,
  onProgress: (line: string) => void = () => {},
  only: readonly string[] = [],
): Promise<ColdStartRow[]> {
  const cases = only.length === 0 ? CASES : CASES.filter((testCase) => only.includes(testCase.name));
  const scratch = await mkdtemp(join(tmpdir(), 'shoal-cold-'));
  const stack = await startLocalStack({ dataDir: join(scratch, 'data'), port: 0, persistent: false });
  try {
    const names = { topic: `cold-${randomUUID().slice(0, 8)}`, group: `cold-${randomUUID().slice(0, 8)}` };
    const created = await fetch(`${stack.url}/v1/topics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: names.topic, partitions: 1 }),
    });
    if (created.status !== 201) throw new Error(`creating ${names.topic} answered ${created.status}`);
    const { config } = stack;
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      AWS_REGION: config.region,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'WARN',
      [ENV.logTableName]: config.logTableName,
      [ENV.metaTableName]: config.metaTableName,
      [ENV.segmentBucketName]: config.segmentBucketName,
      [ENV.dynamodbEndpoint]: config.dynamodbEndpoint,
      [ENV.s3Endpoint]: config.s3Endpoint,
    };
    const rows: ColdStartRow[] = [];
    for (const [index, testCase] of cases.entries()) {
      const built = await bundle(testCase.name, join(scratch, 'bundles'));
      const mapper = await bundleMapper(join(scratch, 'bundles'));
      const childEnv = {
        ...env,
        ...testCase.env?.(names),
        COLD_BUNDLE_URL: `file://${built.file}`,
        COLD_MAPPER_URL: `file://${mapper}`,
        COLD_FRAME: await mappedPositionIn(built.file),
        COLD_EVENT: JSON.stringify(testCase.event(names)),
      };
      const withMaps: ColdStartTimes[] = [];
      const withoutMaps: ColdStartTimes[] = [];
      for (let run = 0; run < runs; run++) {
        withMaps.push(await runChild(childEnv, true));
        withoutMaps.push(await runChild(childEnv, false));
      }
      const row: ColdStartRow = {
        name: testCase.name,
        bundleBytes: built.bytes,
        shares: sharesOf(built.metafile),
        deployed: medianTimes(withoutMaps),
        enableSourceMaps: medianTimes(withMaps),
      };
      rows.push(row);
      onProgress(
        `[${index + 1}/${cases.length}] ${row.name}: ${kib(row.bundleBytes)} KiB, import ${row.deployed.importMs.toFixed(0)} ms, first event ${row.deployed.firstEventMs.toFixed(0)} ms`,
      );
    }
    return rows;
  } finally {
    await stack.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

const kib = (bytes: number) => (bytes / 1024).toFixed(0);
const percent = (part: number, whole: number) => `${whole === 0 ? 0 : Math.round((100 * part) / whole)}%`;

/** A first answer in a table cell: the status, or what was thrown. */
const answerOf = (outcome: string) =>
  outcome.startsWith('threw ') ? outcome.split(' ', 2).join(' ') : outcome.split(' ', 1)[0];

/** The table BENCHMARKS.md quotes. */
export function coldStartTable(rows: readonly ColdStartRow[]): string {
  const lines = [
    '| function | bundle KiB | zod | S3 client | rest of AWS SDK | import ms | import CPU ms | first event ms | import ms, --enable-source-maps | import CPU ms, --enable-source-maps | first mapped stack ms | first answer |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.name} | ${kib(row.bundleBytes)} | ${percent(row.shares.zod, row.bundleBytes)} | ${percent(row.shares.s3Client, row.bundleBytes)} | ${percent(row.shares.otherAwsSdk, row.bundleBytes)} | ${row.deployed.importMs.toFixed(0)} | ${row.deployed.importCpuMs.toFixed(0)} | ${row.deployed.firstEventMs.toFixed(0)} | ${row.enableSourceMaps.importMs.toFixed(0)} | ${row.enableSourceMaps.importCpuMs.toFixed(0)} | ${row.deployed.firstMappedStackMs.toFixed(0)} | ${answerOf(row.deployed.outcome)} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: String(RUNS_DEFAULT) },
      out: { type: 'string' },
      only: { type: 'string', multiple: true, default: [] },
    },
  });
  const runs = Number(values.runs);
  if (!(Number.isInteger(runs) && runs >= 1 && runs <= RUNS_MAX)) {
    throw new Error(`--runs must be a whole number from 1 to ${RUNS_MAX}, got ${values.runs}`);
  }
  console.log(
    `Cold starts: ${CASES.length} functions, ${runs} fresh processes each, with and without source maps`,
  );
  const rows = await measureColdStarts(runs, (line) => console.log(line), values.only);
  console.log(`\n${coldStartTable(rows)}`);
  if (values.out) {
    await writeFile(
      values.out,
      `${JSON.stringify({ measuredAt: new Date().toISOString(), node: process.version, runs, rows }, null, 2)}\n`,
    );
    console.log(`\nwrote ${values.out}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
