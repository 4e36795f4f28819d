/**
 * Dollars for one workload on Shoal and on the services teams would otherwise use: Kinesis Data
 * Streams (on-demand Standard and provisioned) and SQS standard queues, all at the us-east-1 list
 * prices in `prices.ts`, under the same assumptions:
 *
 * - `records` records of `recordBytes` each arrive at a steady `recordsPerSecond`; charges billed
 *   per hour (a Kinesis stream or shard) count the hours those records take to arrive;
 * - each record is consumed `consumers` times and kept `retentionDays` days;
 * - no free tiers, no data transfer (all in one Region), no Savings Plans.
 *
 * Shoal's figures come from measurement (`ShoalUsage`, filled in by the benchmark from the items it
 * read back); the comparison services' figures follow from their billing rules alone.
 */
import assert from 'node:assert/strict';
import { BILLING_RULES, DAYS_PER_MONTH, GIB, PRICES, type PriceTable } from './prices.js';

/** What is being paid for. */
export interface Workload {
  readonly records: number;
  readonly recordBytes: number;
  /** Steady arrival rate; decides how many hours hourly charges run for. */
  readonly recordsPerSecond: number;
  readonly retentionDays: number;
  /** How many times each record is read (by independent consumers). */
  readonly consumers: number;
}

/** The benchmark's standard workload: a million 1 KB records, consumed once, kept 7 days. */
export const MILLION_1KB_RECORDS: Workload = {
  records: 1_000_000,
  recordBytes: 1024,
  recordsPerSecond: 1_000_000 / 3600,
  retentionDays: 7,
  consumers: 1,
};

/** One Lambda function as billed: the memory deployed and the duration measured. */
export interface LambdaUse {
  readonly memoryMb: number;
  readonly architecture: 'arm64' | 'x86_64';
  /** Mean billed duration of one invocation (each rounded up to the millisecond). */
  readonly billedMs: number;
}

/** S3 requests and bytes of one produce or fetch request, as metered on the SDK clients. */
export interface S3RequestUse {
  /** PUT-class requests (PutObject, UploadPart, CreateMultipartUpload, ...). */
  readonly putRequests: number;
  /** GET-class requests (GetObject, ranged or not, HeadObject). */
  readonly getRequests: number;
  /** Bytes written to S3 objects. */
  readonly bytesPut: number;
  /** Object tags written. */
  readonly tags: number;
}

/** Shoal's resource use for one batch size, measured by the benchmark or read from the deployment. */
export interface ShoalUsage {
  readonly recordsPerProduceRequest: number;
  readonly recordsPerFetchRequest: number;
  /** Write units of one produce request: head, batch items and idempotency item, all doubled. */
  readonly writeUnitsPerProduceRequest: number;
  /** Read units of one produce request (topic, idempotency key and head reads). */
  readonly readUnitsPerProduceRequest: number;
  /** Read units of one fetch request (topic, head, and the Query pages of batches). */
  readonly readUnitsPerFetchRequest: number;
  /** Batch items (log-table rows) one produce request writes: each one is a stream record. */
  readonly batchItemsPerProduceRequest: number;
  /** Billed log-table storage per record (item sizes plus 100 bytes per item, spread over its records). */
  readonly storedBytesPerRecord: number;
  /** Days a batch stays in DynamoDB: the topic's `localRetentionMs` plus TTL's deletion delay. */
  readonly hotStoredDays: number;
  /** Billed storage of one idempotency item, and its days: the 24 h window plus TTL's delay. */
  readonly idempotencyItemBytes: number;
  readonly idempotencyStoredDays: number;
  /** Point-in-time recovery on the tables: billed on their size like storage. */
  readonly pitr: boolean;
  /** S3 segment bytes per record (the stored batch plus its share of frames and index). */
  readonly segmentBytesPerRecord: number;
  /** Segment size at which the archiver rolls (`segmentBytes`, 64 MiB by default). */
  readonly segmentBytes: number;
  /** Days a segment is billed: the retention, then as a noncurrent version until its expiry. */
  readonly segmentStoredDays: number;
  /** S3 use of one produce and one fetch request (payload objects), metered. */
  readonly s3PerProduce: S3RequestUse;
  readonly s3PerFetch: S3RequestUse;
  /** Days a payload object is billed: its retention class, then as a noncurrent version. */
  readonly payloadStoredDays: number;
  readonly produceLambda: LambdaUse;
  readonly fetchLambda: LambdaUse;
  /** Functions every append wakes through the log table's stream (the subscription dispatcher). */
  readonly streamLambda: LambdaUse & { readonly pollsPerSecond: number };
  /** The TTL rescue: invoked with the TTL deletions of batch items, `batchSize` at a time. */
  readonly rescueLambda: LambdaUse & { readonly batchSize: number };
  /** Bytes and events one invocation logs (platform lines, application logs, EMF), and the access log line. */
  readonly logBytesPerProduce: number;
  readonly logBytesPerFetch: number;
  readonly logEventsPerProduce: number;
  readonly logEventsPerFetch: number;
  readonly accessLogBytesPerRequest: number;
  readonly logRetentionDays: number;
  /** Distinct custom metrics (namespace, name, dimension values) the workload publishes. */
  readonly customMetrics: number;
  /** X-Ray sampling when tracing is on: a reservoir per second, then a fixed rate; null when off. */
  readonly tracing: { readonly reservoirPerSecond: number; readonly fixedRate: number } | null;
}

/** One line of a bill. */
export interface CostLine {
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly usd: number;
}

/** A system's bill for the workload. */
export interface SystemCost {
  readonly system: string;
  readonly totalUsd: number;
  readonly lines: readonly CostLine[];
  readonly notes: readonly string[];
}

function line(item: string, quantity: number, unit: string, unitUsd: number): CostLine {
  assert.ok(Number.isFinite(quantity) && quantity >= 0, `${item}: quantity ${quantity}`);
  return { item, quantity, unit, usd: quantity * unitUsd };
}

function bill(system: string, lines: CostLine[], notes: string[]): SystemCost {
  return { system, totalUsd: lines.reduce((sum, entry) => sum + entry.usd, 0), lines, notes };
}

function workloadHours(workload: Workload): number {
  return workload.records / workload.recordsPerSecond / 3600;
}

function checkWorkload(workload: Workload): void {
  for (const [name, value] of Object.entries(workload)) {
    if (!(Number.isFinite(value) && value > 0)) {
      throw new RangeError(`workload.${name} must be a positive number, got ${value}`);
    }
  }
}

function gbSeconds(lambda: LambdaUse, invocations: number): number {
  return (lambda.memoryMb / 1024) * ((invocations * lambda.billedMs) / 1000);
}

function gbSecondUsd(lambda: LambdaUse, prices: PriceTable): number {
  return lambda.architecture === 'arm64' ? prices.lambda.gbSecondArm.usd : prices.lambda.gbSecondX86.usd;
}

/**
 * Traces X-Ray records for `requests` spread evenly over `seconds` under a rule with a reservoir
 * per second and a fixed rate for the rest.
 *
 * @example sampledTraces(36_000, 3600, { reservoirPerSecond: 1, fixedRate: 0.05 }) // 3600 + 1620
 */
export function sampledTraces(
  requests: number,
  seconds: number,
  rule: { readonly reservoirPerSecond: number; readonly fixedRate: number },
): number {
  const reservoir = Math.min(requests, rule.reservoirPerSecond * seconds);
  return reservoir + rule.fixedRate * (requests - reservoir);
}

/** What Shoal is billed for in a workload: requests, compute, storage and the archiver's work. */
function shoalQuantities(workload: Workload, usage: ShoalUsage) {
  const produceRequests = Math.ceil(workload.records / usage.recordsPerProduceRequest);
  const fetchRequests = Math.ceil(workload.records / usage.recordsPerFetchRequest) * workload.consumers;
  const seconds = workloadHours(workload) * 3600;
  const batchItems = produceRequests * usage.batchItemsPerProduceRequest;
  const hotMonths = Math.min(workload.retentionDays, usage.hotStoredDays) / DAYS_PER_MONTH;
  const segmentTotalBytes = workload.records * usage.segmentBytesPerRecord;
  const segments = Math.ceil(segmentTotalBytes / usage.segmentBytes);
  const logGbMonths = ((workload.records * usage.storedBytesPerRecord) / GIB) * hotMonths;
  const idempotencyGbMonths =
    ((produceRequests * usage.idempotencyItemBytes) / GIB) * (usage.idempotencyStoredDays / DAYS_PER_MONTH);
  const payloadObjects = produceRequests * usage.s3PerProduce.putRequests;
  const logEvents = produceRequests * usage.logEventsPerProduce + fetchRequests * usage.logEventsPerFetch;
  const logBytes =
    produceRequests * usage.logBytesPerProduce +
    fetchRequests * usage.logBytesPerFetch +
    (produceRequests + fetchRequests) * usage.accessLogBytesPerRequest +
    (logEvents + produceRequests + fetchRequests) * BILLING_RULES.cloudWatchLogs.eventOverheadBytes;
  return {
    produceRequests,
    fetchRequests,
    requests: produceRequests + fetchRequests,
    streamInvocations: Math.min(produceRequests, usage.streamLambda.pollsPerSecond * seconds),
    rescueInvocations: Math.ceil(batchItems / usage.rescueLambda.batchSize),
    logGbMonths,
    idempotencyGbMonths,
    segmentGbMonths: (segmentTotalBytes / GIB) * (usage.segmentStoredDays / DAYS_PER_MONTH),
    segments,
    // The archiver reads every batch once (strongly consistent Query pages of 4 KB units), reads each
    // payload object once, and records each segment with a transaction of two small items.
    archiverReadUnits: Math.ceil(
      (workload.records * usage.storedBytesPerRecord) / BILLING_RULES.dynamodb.readUnitBytes,
    ),
    archiverWriteUnits: segments * 2 * BILLING_RULES.dynamodb.transactionMultiplier,
    payloadObjects,
    payloadGbMonths:
      ((produceRequests * usage.s3PerProduce.bytesPut) / GIB) * (usage.payloadStoredDays / DAYS_PER_MONTH),
    tagMonths:
      produceRequests * usage.s3PerProduce.tags * (usage.payloadStoredDays / DAYS_PER_MONTH) +
      segments * (usage.segmentStoredDays / DAYS_PER_MONTH),
    logGb: logBytes / GIB,
    traces:
      usage.tracing === null ? 0 : sampledTraces(produceRequests + fetchRequests, seconds, usage.tracing),
    metricMonths:
      usage.customMetrics * (Math.max(1, Math.ceil(workloadHours(workload))) / (DAYS_PER_MONTH * 24)),
  };
}

/** The assumptions behind Shoal's bill, shown beside it. */
function shoalNotes(usage: ShoalUsage): string[] {
  const { produceLambda: produce, fetchLambda: fetch } = usage;
  return [
    `${usage.recordsPerProduceRequest} records per produce request (with an Idempotency-Key), ` +
      `${usage.recordsPerFetchRequest} per fetch`,
    `Lambda ${produce.memoryMb} MB ${produce.architecture} as deployed; billed ${produce.billedMs.toFixed(1)} ms per produce ` +
      `and ${fetch.billedMs.toFixed(1)} ms per fetch, timed on the local stack`,
    `batches stay in DynamoDB ${usage.hotStoredDays} days (local retention plus TTL's deletion delay); ` +
      `segments are billed ${usage.segmentStoredDays} days and payload objects ${usage.payloadStoredDays} days ` +
      '(retention, then noncurrent versions)',
    `point-in-time recovery ${usage.pitr ? "on: billed on the tables' size" : 'off'}`,
    usage.tracing === null
      ? 'X-Ray tracing off'
      : `X-Ray: ${usage.tracing.reservoirPerSecond} trace/s then ${usage.tracing.fixedRate * 100}% of requests`,
    `every append wakes the stream consumer (at most ${usage.streamLambda.pollsPerSecond} polls/s, ` +
      `${usage.streamLambda.billedMs} ms assumed); TTL deletions invoke the rescue (${usage.rescueLambda.billedMs} ms assumed)`,
    'CloudWatch Logs storage counted uncompressed (AWS bills compressed bytes); no free tiers',
    'DynamoDB Streams reads by Lambda and TTL deletes are free',
  ];
}

function shoalComputeLines(q: ReturnType<typeof shoalQuantities>, usage: ShoalUsage, prices: PriceTable) {
  const { produceLambda, fetchLambda, streamLambda, rescueLambda } = usage;
  const invocations = q.requests + q.streamInvocations + q.rescueInvocations;
  return [
    line('API Gateway REST requests', q.requests, 'request', prices.apiGatewayRest.request.usd),
    line('Lambda invocations (API, stream, rescue)', invocations, 'invocation', prices.lambda.request.usd),
    line(
      `Lambda duration, produce (${produceLambda.memoryMb} MB)`,
      gbSeconds(produceLambda, q.produceRequests),
      'GB-second',
      gbSecondUsd(produceLambda, prices),
    ),
    line(
      `Lambda duration, fetch (${fetchLambda.memoryMb} MB)`,
      gbSeconds(fetchLambda, q.fetchRequests),
      'GB-second',
      gbSecondUsd(fetchLambda, prices),
    ),
    line(
      'Lambda duration, stream consumer and TTL rescue',
      gbSeconds(streamLambda, q.streamInvocations) + gbSeconds(rescueLambda, q.rescueInvocations),
      'GB-second',
      gbSecondUsd(streamLambda, prices),
    ),
  ];
}

function shoalDynamoDbLines(q: ReturnType<typeof shoalQuantities>, usage: ShoalUsage, prices: PriceTable) {
  const { readRequestUnit, writeRequestUnit, storageGbMonth } = prices.dynamodb;
  return [
    line(
      'DynamoDB writes (produce transactions)',
      q.produceRequests * usage.writeUnitsPerProduceRequest,
      'write request unit',
      writeRequestUnit.usd,
    ),
    line(
      'DynamoDB reads (produce and fetch)',
      q.produceRequests * usage.readUnitsPerProduceRequest + q.fetchRequests * usage.readUnitsPerFetchRequest,
      'read request unit',
      readRequestUnit.usd,
    ),
    line('DynamoDB reads (archiver)', q.archiverReadUnits, 'read request unit', readRequestUnit.usd),
    line('DynamoDB writes (archiver)', q.archiverWriteUnits, 'write request unit', writeRequestUnit.usd),
    line('DynamoDB storage, log items (hot tier)', q.logGbMonths, 'GB-month', storageGbMonth.usd),
    line('DynamoDB storage, idempotency keys', q.idempotencyGbMonths, 'GB-month', storageGbMonth.usd),
    line(
      'DynamoDB point-in-time recovery',
      usage.pitr ? q.logGbMonths + q.idempotencyGbMonths : 0,
      'GB-month',
      prices.dynamodbBackup.pitrGbMonth.usd,
    ),
  ];
}

function shoalS3Lines(q: ReturnType<typeof shoalQuantities>, usage: ShoalUsage, prices: PriceTable) {
  const putRequests =
    q.segments +
    q.produceRequests * usage.s3PerProduce.putRequests +
    q.fetchRequests * usage.s3PerFetch.putRequests;
  const getRequests =
    q.payloadObjects +
    q.produceRequests * usage.s3PerProduce.getRequests +
    q.fetchRequests * usage.s3PerFetch.getRequests;
  return [
    line(
      'S3 storage, segments (incl. noncurrent days)',
      q.segmentGbMonths,
      'GB-month',
      prices.s3.storageGbMonth.usd,
    ),
    line(
      'S3 storage, payload objects (incl. noncurrent days)',
      q.payloadGbMonths,
      'GB-month',
      prices.s3.storageGbMonth.usd,
    ),
    line('S3 PUT requests (segments, payloads)', putRequests, 'request', prices.s3.putRequest.usd),
    line('S3 GET requests (fetch, archiver)', getRequests, 'request', prices.s3.getRequest.usd),
    line('S3 object tags', q.tagMonths, 'tag-month', prices.s3Extras.tagMonth.usd),
  ];
}

function shoalObservabilityLines(
  q: ReturnType<typeof shoalQuantities>,
  usage: ShoalUsage,
  prices: PriceTable,
) {
  const { logIngestGb, logStorageGbMonth, customMetricMonth } = prices.cloudWatch;
  return [
    line('CloudWatch Logs ingestion (platform, EMF, access logs)', q.logGb, 'GB', logIngestGb.usd),
    line(
      'CloudWatch Logs storage',
      q.logGb * (usage.logRetentionDays / DAYS_PER_MONTH),
      'GB-month',
      logStorageGbMonth.usd,
    ),
    line('CloudWatch custom metrics (EMF)', q.metricMonths, 'metric-month', customMetricMonth.usd),
    line('X-Ray traces recorded', q.traces, 'trace', prices.xray.traceRecorded.usd),
  ];
}

/**
 * Shoal: API Gateway REST and Lambda for every produce and fetch request at the measured duration,
 * the stream consumer and the TTL rescue, DynamoDB units as measured, storage and point-in-time
 * recovery for the hot tier's days, S3 segments and payload objects (noncurrent days included) with
 * their requests, CloudWatch Logs, EMF metrics and X-Ray traces as deployed.
 *
 * @example shoalCost(MILLION_1KB_RECORDS, measuredUsage).totalUsd
 */
export function shoalCost(workload: Workload, usage: ShoalUsage, prices: PriceTable = PRICES): SystemCost {
  checkWorkload(workload);
  const q = shoalQuantities(workload, usage);
  return bill(
    'Shoal',
    [
      ...shoalComputeLines(q, usage, prices),
      ...shoalDynamoDbLines(q, usage, prices),
      ...shoalS3Lines(q, usage, prices),
      ...shoalObservabilityLines(q, usage, prices),
    ],
    shoalNotes(usage),
  );
}

/**
 * How a producer hands records to Kinesis: one Kinesis record per record (raw), or KPL-style,
 * `recordsPerKinesisRecord` records aggregated into one Kinesis record after compressing them to
 * `compressedBytesPerByte` of their size (the consumer decompresses and de-aggregates).
 */
export interface KinesisProducer {
  readonly label: string;
  readonly recordsPerKinesisRecord: number;
  readonly compressedBytesPerByte: number;
}

/** One Kinesis record per 1 KB record, uncompressed. */
export const RAW_PRODUCER: KinesisProducer = {
  label: '',
  recordsPerKinesisRecord: 1,
  compressedBytesPerByte: 1,
};

/** The Kinesis records a producer sends for a workload, and the bytes of each. */
export function kinesisRecordsOf(
  workload: Workload,
  producer: KinesisProducer,
): { count: number; bytes: number } {
  const { aggregatedRecordBytesMax, aggregationOverheadBytes } = BILLING_RULES.kinesisProducer;
  const aggregated = producer.recordsPerKinesisRecord > 1;
  const perRecordBytes =
    workload.recordBytes * producer.compressedBytesPerByte + (aggregated ? aggregationOverheadBytes : 0);
  const perKinesisRecord = Math.max(
    1,
    Math.min(producer.recordsPerKinesisRecord, Math.floor(aggregatedRecordBytesMax / perRecordBytes)),
  );
  return {
    count: Math.ceil(workload.records / perKinesisRecord),
    bytes: Math.ceil(perKinesisRecord * perRecordBytes),
  };
}

function kinesisName(base: string, producer: KinesisProducer): string {
  return producer.label === '' ? base : `${base} (${producer.label})`;
}

/**
 * Kinesis Data Streams, on-demand Standard: one stream billed per hour, ingest per GB with each
 * Kinesis record rounded up to 1 KB, retrieval per GB per consumer, and extended retention per
 * GB-month for the days beyond the first.
 */
export function kinesisOnDemandCost(
  workload: Workload,
  prices: PriceTable = PRICES,
  producer: KinesisProducer = RAW_PRODUCER,
): SystemCost {
  checkWorkload(workload);
  const { onDemandRecordRoundingBytes, includedRetentionHours } = BILLING_RULES.kinesis;
  const sent = kinesisRecordsOf(workload, producer);
  const ingestBytes =
    sent.count * Math.ceil(sent.bytes / onDemandRecordRoundingBytes) * onDemandRecordRoundingBytes;
  const storedBytes = sent.count * sent.bytes;
  const extraDays = Math.max(0, workload.retentionDays - includedRetentionHours / 24);
  const p = prices.kinesisOnDemand;
  return bill(
    kinesisName('Kinesis on-demand', producer),
    [
      line('stream-hours', workloadHours(workload), 'stream-hour', p.streamHour.usd),
      line('data ingested', ingestBytes / GIB, 'GB', p.ingestGb.usd),
      line('data retrieved', (storedBytes * workload.consumers) / GIB, 'GB', p.retrievalGb.usd),
      line(
        'extended retention (days 2 to 7)',
        (storedBytes / GIB) * (extraDays / DAYS_PER_MONTH),
        'GB-month',
        p.extendedRetentionGbMonth.usd,
      ),
    ],
    [
      'one stream; its hourly charge runs whether or not records arrive',
      `${sent.count} Kinesis records of ${sent.bytes} B`,
      'up to 2 shared-throughput consumers; more need enhanced fan-out (extra cost)',
    ],
  );
}

/**
 * Kinesis Data Streams, provisioned: as many shards as the ingest rate needs (1 MB/s or 1,000
 * Kinesis records/s each), each billed per hour plus extended retention per shard-hour, and PUT
 * payload units (25 KB chunks of each Kinesis record).
 */
export function kinesisProvisionedCost(
  workload: Workload,
  prices: PriceTable = PRICES,
  producer: KinesisProducer = RAW_PRODUCER,
): SystemCost {
  checkWorkload(workload);
  const rules = BILLING_RULES.kinesis;
  const sent = kinesisRecordsOf(workload, producer);
  const kinesisRecordsPerSecond = (sent.count / workload.records) * workload.recordsPerSecond;
  const shards = Math.max(
    1,
    Math.ceil((kinesisRecordsPerSecond * sent.bytes) / rules.shardIngestBytesPerSecondMax),
    Math.ceil(kinesisRecordsPerSecond / rules.shardIngestRecordsPerSecondMax),
  );
  const shardHours = shards * workloadHours(workload);
  const payloadUnits = sent.count * Math.ceil(sent.bytes / rules.putPayloadUnitBytes);
  const p = prices.kinesisProvisioned;
  const lines = [
    line(
      `shard-hours (${shards} shard${shards === 1 ? '' : 's'})`,
      shardHours,
      'shard-hour',
      p.shardHour.usd,
    ),
    line('PUT payload units', payloadUnits, 'payload unit', p.putPayloadUnit.usd),
  ];
  if (workload.retentionDays * 24 > rules.includedRetentionHours) {
    lines.push(line('extended retention', shardHours, 'shard-hour', p.extendedRetentionShardHour.usd));
  }
  return bill(kinesisName('Kinesis provisioned', producer), lines, [
    'shards sized for the average rate; peaks need more shards (or throttle)',
    `${sent.count} Kinesis records of ${sent.bytes} B`,
    'retrieval included; 5 reads/s per shard shared by all consumers',
  ]);
}

/**
 * SQS standard queue: SendMessageBatch, ReceiveMessage and DeleteMessageBatch of 10 messages each,
 * every 64 KB chunk of a request billed as one request. A message is gone once consumed and
 * deleted, so "kept 7 days" costs nothing but there is no replay; one queue per consumer.
 */
export function sqsCost(workload: Workload, prices: PriceTable = PRICES): SystemCost {
  checkWorkload(workload);
  const { requestChunkBytes, batchMessagesMax } = BILLING_RULES.sqs;
  const perBatch = Math.max(
    1,
    Math.min(batchMessagesMax, Math.floor(requestChunkBytes / workload.recordBytes)),
  );
  const chunksPerRecord = Math.ceil(workload.recordBytes / requestChunkBytes);
  const batches = Math.ceil(workload.records / perBatch) * chunksPerRecord;
  const price = prices.sqs.standardRequest.usd;
  return bill(
    'SQS standard',
    [
      line('SendMessageBatch requests', batches * workload.consumers, 'request', price),
      line('ReceiveMessage requests', batches * workload.consumers, 'request', price),
      line(
        'DeleteMessageBatch requests',
        Math.ceil(workload.records / batchMessagesMax) * workload.consumers,
        'request',
        price,
      ),
    ],
    [
      `${perBatch} messages per request; empty long-poll receives not counted`,
      'no replay, no ordering by key, at-least-once: a different product, priced for scale only',
    ],
  );
}

/** Every system's bill for one workload, Shoal first; Kinesis raw and with `kplProducer`. */
export function compareCosts(
  workload: Workload,
  usage: ShoalUsage,
  kplProducer: KinesisProducer,
  prices: PriceTable = PRICES,
): SystemCost[] {
  return [
    shoalCost(workload, usage, prices),
    kinesisOnDemandCost(workload, prices),
    kinesisOnDemandCost(workload, prices, kplProducer),
    kinesisProvisionedCost(workload, prices),
    kinesisProvisionedCost(workload, prices, kplProducer),
    sqsCost(workload, prices),
  ];
}

/** What a deployment runs and keeps while nobody produces or fetches (from `deployment.ts`). */
export interface IdleDeployment {
  readonly scheduled: readonly {
    readonly description: string;
    readonly invocationsPerMonth: number;
    readonly lambda: LambdaUse;
    readonly traced: boolean;
  }[];
  /** Bytes and log events one idle invocation logs (platform lines). */
  readonly logBytesPerInvocation: number;
  readonly logEventsPerInvocation: number;
  readonly alarms: number;
  readonly dashboards: number;
  /** X-Ray sampling of the scheduled invocations; null when tracing is off. */
  readonly tracing: { readonly reservoirPerSecond: number; readonly fixedRate: number } | null;
}

/**
 * What an idle deployment pays a month: its scheduled functions (invocations, duration, their logs
 * and traces), alarms and dashboards. Empty tables and an empty bucket cost nothing, nor does PITR
 * on them.
 */
export function idleMonthlyCost(idle: IdleDeployment, prices: PriceTable = PRICES): SystemCost {
  const seconds = DAYS_PER_MONTH * 24 * 3600;
  const invocations = idle.scheduled.reduce((sum, entry) => sum + entry.invocationsPerMonth, 0);
  const traced = idle.scheduled
    .filter((entry) => entry.traced)
    .reduce((sum, entry) => sum + entry.invocationsPerMonth, 0);
  const logGb =
    (invocations *
      (idle.logBytesPerInvocation +
        idle.logEventsPerInvocation * BILLING_RULES.cloudWatchLogs.eventOverheadBytes)) /
    GIB;
  const lines = [
    line('Lambda invocations (schedules)', invocations, 'invocation', prices.lambda.request.usd),
    ...idle.scheduled.map((entry) =>
      line(
        `Lambda duration, ${entry.description} (${entry.lambda.memoryMb} MB)`,
        gbSeconds(entry.lambda, entry.invocationsPerMonth),
        'GB-second',
        gbSecondUsd(entry.lambda, prices),
      ),
    ),
    line('CloudWatch Logs ingestion', logGb, 'GB', prices.cloudWatch.logIngestGb.usd),
    line(
      'X-Ray traces recorded',
      idle.tracing === null ? 0 : sampledTraces(traced, seconds, idle.tracing),
      'trace',
      prices.xray.traceRecorded.usd,
    ),
    line('CloudWatch alarms', idle.alarms, 'alarm-month', prices.cloudWatch.alarmMonth.usd),
    line('CloudWatch dashboards', idle.dashboards, 'dashboard-month', prices.cloudWatch.dashboardMonth.usd),
  ];
  return bill('Shoal, idle month', lines, [
    'no produce or fetch; scheduled functions run as deployed',
    'tables and bucket empty: no storage or point-in-time recovery charge',
    'free tiers not applied (3 dashboards and 10 alarms are free per account)',
  ]);
}
