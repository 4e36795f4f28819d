/**
 * What one produce and one fetch invocation use, measured by calling the very Lambda handlers
 * (`functions/produce-records.ts`, `functions/fetch-records.ts`) in this process against the local
 * stack's DynamoDB Local and S3 server, with the telemetry they have in Lambda (EMF on stdout):
 *
 * - billed duration: the handler's wall time, rounded up to the millisecond as Lambda bills it
 *   (this machine's CPU, DynamoDB Local's latency; no cold starts);
 * - DynamoDB read units (metered) and S3 requests, bytes and tags (metered on the same clients);
 * - what the handler writes to stdout (application logs at the deployed level, EMF documents), and
 *   the custom metrics in those documents.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { ShoalConfig } from '../shared/config.js';
import type { HttpHandler } from '../shared/http/lambda-http.js';
import { powertoolsTelemetry } from '../shared/observability/powertools-telemetry.js';
import { createRuntime } from '../shared/runtime.js';
import type { S3RequestUse } from './cost-model.js';
import {
  type CapacityMeter,
  createCapacityMeter,
  createS3Meter,
  type MeteredS3Operation,
  type S3Meter,
} from './metering.js';
import type { ShoalClient } from './shoal-client.js';
import { type EventPool, produceBody, takeFromPool } from './workload.js';

/** Means over the invocations of one kind. */
export interface InvocationMeans {
  readonly invocations: number;
  readonly billedMs: number;
  readonly logBytes: number;
  readonly logEvents: number;
  readonly readUnits: number;
  readonly s3: S3RequestUse;
  /** Retention classes the payload objects were tagged with. */
  readonly retentionClassDays: readonly number[];
}

/** One batch size's produce and fetch invocations. */
export interface InvocationUsage {
  readonly batchRecords: number;
  readonly produce: InvocationMeans;
  readonly fetch: InvocationMeans & { readonly recordsPerRequest: number };
  /** Distinct custom metrics (namespace, name and dimension values) the invocations published. */
  readonly customMetrics: number;
}

/** S3 operations billed as PUT (with COPY, POST and LIST) and as GET; DELETE and abort are free. */
const S3_PUT_CLASS = new Set([
  'PutObject',
  'UploadPart',
  'CreateMultipartUpload',
  'CompleteMultipartUpload',
  'CopyObject',
  'ListObjectsV2',
  'PutObjectTagging',
]);
const S3_GET_CLASS = new Set(['GetObject', 'HeadObject', 'GetObjectTagging']);

/** An S3 meter's snapshot as billable requests, bytes and tags. */
export function s3RequestUse(snapshot: Record<string, MeteredS3Operation>): S3RequestUse {
  let putRequests = 0;
  let getRequests = 0;
  let bytesPut = 0;
  let tags = 0;
  for (const [operation, entry] of Object.entries(snapshot)) {
    if (S3_PUT_CLASS.has(operation)) putRequests += entry.calls;
    else if (S3_GET_CLASS.has(operation)) getRequests += entry.calls;
    bytesPut += entry.bytesSent;
    tags += entry.tags;
  }
  return { putRequests, getRequests, bytesPut, tags };
}

/** The metric keys of one EMF document (a stdout line), or none when the line is not one. */
export function emfMetricKeys(line: string): string[] {
  let document: unknown;
  try {
    document = JSON.parse(line);
  } catch {
    return [];
  }
  const aws = (document as { _aws?: { CloudWatchMetrics?: unknown } } | null)?._aws;
  const directives = aws?.CloudWatchMetrics;
  if (!Array.isArray(directives)) return [];
  const values = document as Record<string, unknown>;
  return directives.flatMap(
    (directive: { Namespace?: string; Dimensions?: string[][]; Metrics?: { Name?: string }[] }) =>
      (directive.Metrics ?? []).flatMap((metric) =>
        (directive.Dimensions ?? [[]]).map((set) =>
          [directive.Namespace, metric.Name, ...set.map((name) => `${name}=${String(values[name])}`)].join(
            '|',
          ),
        ),
      ),
  );
}

/**
 * The lines Lambda itself logs for one invocation in its text format (START, END and REPORT, with
 * the XRAY line when tracing is active), with representative values.
 */
export function platformLogLines(memoryMb: number, traced: boolean): { bytes: number; events: number } {
  const id = randomUUID();
  const report =
    `REPORT RequestId: ${id}\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: ${memoryMb} MB\tMax Memory Used: 123 MB\t` +
    (traced
      ? '\nXRAY TraceId: 1-5e1b4151-43a974f3ffd6ca4b3d6fdb46\tSegmentId: 6b5d40d1dfd76b82\tSampled: true\t'
      : '');
  const lines = [`START RequestId: ${id} Version: $LATEST`, `END RequestId: ${id}`, report];
  return { bytes: lines.reduce((sum, text) => sum + Buffer.byteLength(text) + 1, 0), events: lines.length };
}

/**
 * The access log line API Gateway writes for one request, from the stage's format with
 * representative values for its `$context` variables.
 */
export function accessLogLineBytes(format: string | undefined): number {
  if (format === undefined) return 0;
  const samples: Record<string, string> = {
    requestId: randomUUID(),
    extendedRequestId: 'QWdPdEexoAMEbXw=',
    requestTimeEpoch: String(Date.now()),
    httpMethod: 'POST',
    resourcePath: '/v1/topics/{topic}/records',
    path: '/prod/v1/topics/orders/records',
    protocol: 'HTTP/1.1',
    status: '200',
    responseLength: '1234',
    responseLatency: '25',
    integrationStatus: '200',
    integrationLatency: '23',
    'identity.sourceIp': '203.0.113.10',
    'identity.userAgent': 'shoal-client/1.0 node/22',
    'identity.userArn': 'arn:aws:iam::123456789012:user/producer',
    xrayTraceId: 'Root=1-5e1b4151-43a974f3ffd6ca4b3d6fdb46',
  };
  const line = format.replace(/\$context\.([A-Za-z.]+)/g, (_, name: string) => samples[name] ?? '-');
  return Buffer.byteLength(line) + 1;
}

/** Runs `work` with stdout captured (and not shown); returns its result and the captured lines. */
export async function captureStdout<T>(work: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  try {
    const result = await work();
    return {
      result,
      lines: chunks
        .join('')
        .split('\n')
        .filter((line) => line !== ''),
    };
  } finally {
    process.stdout.write = write;
  }
}

interface Meters {
  readonly capacity: CapacityMeter;
  readonly s3: S3Meter;
}

interface Sample {
  readonly ms: number;
  readonly lines: string[];
  readonly readUnits: number;
  readonly s3: Record<string, MeteredS3Operation>;
  readonly body: string;
}

/** One invocation, timed, metered and with its stdout. */
async function invoke(meters: Meters, handler: HttpHandler, event: APIGatewayProxyEvent): Promise<Sample> {
  meters.capacity.reset();
  meters.s3.reset();
  meters.capacity.enabled = true;
  meters.s3.enabled = true;
  try {
    const { result, lines } = await captureStdout(async () => {
      const started = performance.now();
      const answer = await handler(event);
      return { answer, ms: performance.now() - started };
    });
    if (result.answer.statusCode !== 200) {
      throw new Error(
        `${event.httpMethod} ${event.path} answered ${result.answer.statusCode}: ${result.answer.body}`,
      );
    }
    return {
      ms: result.ms,
      lines,
      readUnits: meters.capacity.total() - meters.capacity.total('TransactWriteItems'),
      s3: meters.s3.snapshot(),
      body: result.answer.body,
    };
  } finally {
    meters.capacity.enabled = false;
    meters.s3.enabled = false;
  }
}

function means(samples: readonly Sample[]): InvocationMeans {
  const n = samples.length;
  const mean = (value: (sample: Sample) => number) =>
    samples.reduce((sum, sample) => sum + value(sample), 0) / n;
  const s3 = samples.map((sample) => s3RequestUse(sample.s3));
  return {
    invocations: n,
    billedMs: mean((sample) => Math.ceil(sample.ms)),
    logBytes: mean((sample) => sample.lines.reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0)),
    logEvents: mean((sample) => sample.lines.length),
    readUnits: mean((sample) => sample.readUnits),
    s3: {
      putRequests: s3.reduce((sum, use) => sum + use.putRequests, 0) / n,
      getRequests: s3.reduce((sum, use) => sum + use.getRequests, 0) / n,
      bytesPut: s3.reduce((sum, use) => sum + use.bytesPut, 0) / n,
      tags: s3.reduce((sum, use) => sum + use.tags, 0) / n,
    },
    retentionClassDays: [
      ...new Set(
        samples.flatMap((sample) => Object.values(sample.s3).flatMap((entry) => entry.retentionClassDays)),
      ),
    ],
  };
}

function proxyEvent(
  method: string,
  resource: string,
  pathParameters: Record<string, string>,
  options: { body?: string; headers?: Record<string, string>; query?: Record<string, string> },
): APIGatewayProxyEvent {
  const path = resource.replace(/\{(\w+)\}/g, (_, name: string) =>
    encodeURIComponent(pathParameters[name] ?? ''),
  );
  return {
    resource,
    path,
    httpMethod: method,
    headers: { 'content-type': 'application/json', ...options.headers },
    multiValueHeaders: {},
    queryStringParameters: options.query ?? null,
    multiValueQueryStringParameters: null,
    pathParameters,
    stageVariables: null,
    body: options.body ?? null,
    isBase64Encoded: false,
    requestContext: { requestId: randomUUID(), httpMethod: method, path, stage: 'bench' },
  } as unknown as APIGatewayProxyEvent;
}

/**
 * For each batch size: `requestsFor(batch)` produce invocations of typical events into a fresh
 * one-partition topic, then fetch invocations (`maxRecords` 1000) reading them all back.
 */
export async function measureInvocations(
  config: ShoalConfig,
  client: ShoalClient,
  pool: EventPool,
  batchSizes: readonly number[],
  requestsFor: (batchRecords: number) => number,
  onProgress: (line: string) => void,
): Promise<InvocationUsage[]> {
  const meters = { capacity: createCapacityMeter(), s3: createS3Meter() };
  const runtime = createRuntime(config, {
    decorateDynamoDb: meters.capacity.install,
    decorateS3: meters.s3.install,
    telemetry: powertoolsTelemetry(),
  });
  // Imported here, not at the top: their module-scope loggers then take the level the benchmark set
  // (SILENT, for the checker's injected faults). On success the handlers log nothing at INFO, the
  // deployed level: they log only failures.
  const produce = (await import('../functions/produce-records.js')).createHandler(runtime);
  const fetch = (await import('../functions/fetch-records.js')).createHandler(runtime);
  const rows: InvocationUsage[] = [];
  try {
    let cursor = 0;
    for (const batchRecords of batchSizes) {
      const topic = `bench-invoke-${batchRecords}-${randomUUID().slice(0, 8)}`;
      await client.createTopic(topic, 1);
      const requests = requestsFor(batchRecords);
      onProgress(`${requests} produce invocations of ${batchRecords} records`);
      const produced: Sample[] = [];
      for (let request = 0; request < requests; request++) {
        const slice = takeFromPool(pool, cursor, batchRecords);
        cursor += batchRecords;
        const event = proxyEvent(
          'POST',
          '/v1/topics/{topic}/records',
          { topic },
          {
            body: produceBody(slice.json, 0),
            headers: { 'idempotency-key': `bench-${randomUUID()}` },
          },
        );
        produced.push(await invoke(meters, produce, event));
      }
      onProgress(`fetch invocations over ${requests * batchRecords} records`);
      const fetched = await fetchAll(meters, fetch, topic, requests * batchRecords);
      const metricKeys = new Set(
        [...produced, ...fetched].flatMap((sample) => sample.lines.flatMap(emfMetricKeys)),
      );
      rows.push({
        batchRecords,
        produce: means(produced),
        fetch: { ...means(fetched), recordsPerRequest: (requests * batchRecords) / fetched.length },
        customMetrics: metricKeys.size,
      });
    }
  } finally {
    runtime.dynamodb.destroy();
    runtime.s3.destroy();
  }
  return rows;
}

/** Fetch invocations from offset 0 until `records` were read. */
async function fetchAll(
  meters: Meters,
  handler: HttpHandler,
  topic: string,
  records: number,
): Promise<Sample[]> {
  const samples: Sample[] = [];
  let offset = 0;
  const fetchesMax = records + 10;
  while (offset < records && samples.length < fetchesMax) {
    const event = proxyEvent(
      'GET',
      '/v1/topics/{topic}/partitions/{partition}/records',
      { topic, partition: '0' },
      {
        query: { offset: String(offset), maxRecords: '1000' },
      },
    );
    const sample = await invoke(meters, handler, event);
    samples.push(sample);
    const answer = JSON.parse(sample.body) as { nextOffset?: number; records: unknown[] };
    offset = answer.nextOffset ?? offset + answer.records.length;
  }
  return samples;
}
