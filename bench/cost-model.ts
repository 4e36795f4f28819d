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

/** Shoal's resource use per request, measured by the benchmark (or assumed where stated). */
export interface ShoalUsage {
  readonly recordsPerProduceRequest: number;
  readonly recordsPerFetchRequest: number;
  /** Write units of one produce request: head, batch items and idempotency item, all doubled. */
  readonly writeUnitsPerProduceRequest: number;
  /** Read units of one produce request (topic, idempotency key and head reads). */
  readonly readUnitsPerProduceRequest: number;
  /** Read units of one fetch request (topic, head, and the Query pages of batches). */
  readonly readUnitsPerFetchRequest: number;
  /** Billed log-table storage per record (item sizes plus 100 bytes per item, spread over its records). */
  readonly storedBytesPerRecord: number;
  /**
   * Days a batch stays in DynamoDB: the topic's `localRetentionMs` (24 h by default) plus TTL's
   * deletion delay. The archiver copies it to S3 long before.
   */
  readonly hotStoredDays: number;
  /** S3 segment bytes per record (the stored batch plus its share of frames and index). */
  readonly segmentBytesPerRecord: number;
  /** Segment size at which the archiver rolls (`segmentBytes`, 64 MiB by default). */
  readonly segmentBytes: number;
  /** Billed storage of one idempotency item. */
  readonly idempotencyItemBytes: number;
  /** How long an idempotency item stays stored: the 24 h window plus TTL's deletion delay. */
  readonly idempotencyStoredDays: number;
  readonly lambdaMemoryMb: number;
  readonly lambdaArchitecture: 'arm64' | 'x86_64';
  /** Assumed billed Lambda duration of one produce and one fetch invocation in AWS. */
  readonly produceDurationMs: number;
  readonly fetchDurationMs: number;
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

/** What Shoal is billed for in a workload: requests, compute, storage and the archiver's work. */
function shoalQuantities(workload: Workload, usage: ShoalUsage) {
  const produceRequests = Math.ceil(workload.records / usage.recordsPerProduceRequest);
  const fetchRequests = Math.ceil(workload.records / usage.recordsPerFetchRequest) * workload.consumers;
  const lambdaGbSeconds =
    (usage.lambdaMemoryMb / 1024) *
    ((produceRequests * usage.produceDurationMs + fetchRequests * usage.fetchDurationMs) / 1000);
  const hotMonths = Math.min(workload.retentionDays, usage.hotStoredDays) / DAYS_PER_MONTH;
  const segmentTotalBytes = workload.records * usage.segmentBytesPerRecord;
  const segments = Math.ceil(segmentTotalBytes / usage.segmentBytes);
  return {
    produceRequests,
    fetchRequests,
    requests: produceRequests + fetchRequests,
    lambdaGbSeconds,
    logGbMonths: ((workload.records * usage.storedBytesPerRecord) / GIB) * hotMonths,
    segmentGbMonths: (segmentTotalBytes / GIB) * (workload.retentionDays / DAYS_PER_MONTH),
    segments,
    // The archiver reads every batch once (strongly consistent Query pages of 4 KB units) and records
    // each segment with a transaction of two small items (manifest entry, partition head).
    archiverReadUnits: Math.ceil(
      (workload.records * usage.storedBytesPerRecord) / BILLING_RULES.dynamodb.readUnitBytes,
    ),
    archiverWriteUnits: segments * 2 * BILLING_RULES.dynamodb.transactionMultiplier,
    idempotencyGbMonths:
      ((produceRequests * usage.idempotencyItemBytes) / GIB) * (usage.idempotencyStoredDays / DAYS_PER_MONTH),
  };
}

/** The assumptions behind Shoal's bill, shown beside it. */
function shoalNotes(usage: ShoalUsage): string[] {
  return [
    `${usage.recordsPerProduceRequest} records per produce request (with an Idempotency-Key), ` +
      `${usage.recordsPerFetchRequest} per fetch`,
    `Lambda ${usage.lambdaMemoryMb} MB ${usage.lambdaArchitecture}, assumed ${usage.produceDurationMs} ms per produce ` +
      `and ${usage.fetchDurationMs} ms per fetch (not measurable locally)`,
    `batches stay in DynamoDB ${usage.hotStoredDays} days (local retention plus TTL's deletion delay), ` +
      'in S3 segments for the whole retention; consumers read from the hot tier',
    'the archiver schedule and the TTL rescue add a few Lambda invocations per hour (not counted)',
    'DynamoDB Streams: $0 (read only by Lambda triggers, which are free); TTL deletes are free',
    'no standing charges but the archiver on its schedule: next to nothing at zero traffic',
  ];
}

/**
 * Shoal: API Gateway REST + Lambda for every produce and fetch request, DynamoDB write and read
 * units as measured, DynamoDB storage for the hot tier's days, S3 segments for the whole retention
 * (with the archiver's reads, its manifest writes and the uploads). DynamoDB Streams reads cost
 * nothing: only Lambda reads the stream.
 *
 * @example shoalCost(MILLION_1KB_RECORDS, measuredUsage).totalUsd
 */
export function shoalCost(workload: Workload, usage: ShoalUsage, prices: PriceTable = PRICES): SystemCost {
  checkWorkload(workload);
  const q = shoalQuantities(workload, usage);
  const gbSecond =
    usage.lambdaArchitecture === 'arm64' ? prices.lambda.gbSecondArm.usd : prices.lambda.gbSecondX86.usd;
  const { readRequestUnit, writeRequestUnit, storageGbMonth } = prices.dynamodb;
  const lines = [
    line('API Gateway REST requests', q.requests, 'request', prices.apiGatewayRest.request.usd),
    line('Lambda invocations', q.requests, 'invocation', prices.lambda.request.usd),
    line(`Lambda duration (${usage.lambdaArchitecture})`, q.lambdaGbSeconds, 'GB-second', gbSecond),
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
    line('S3 storage, segments', q.segmentGbMonths, 'GB-month', prices.s3.storageGbMonth.usd),
    line('S3 PUT requests, segments', q.segments, 'request', prices.s3.putRequest.usd),
    line('DynamoDB storage, idempotency keys', q.idempotencyGbMonths, 'GB-month', storageGbMonth.usd),
  ];
  return bill('Shoal', lines, shoalNotes(usage));
}

/**
 * Kinesis Data Streams, on-demand Standard: one stream billed per hour, ingest per GB with each
 * record rounded up to 1 KB, retrieval per GB per consumer, and extended retention per GB-month for
 * the days beyond the first.
 */
export function kinesisOnDemandCost(workload: Workload, prices: PriceTable = PRICES): SystemCost {
  checkWorkload(workload);
  const { onDemandRecordRoundingBytes, includedRetentionHours } = BILLING_RULES.kinesis;
  const ingestBytes =
    workload.records *
    Math.ceil(workload.recordBytes / onDemandRecordRoundingBytes) *
    onDemandRecordRoundingBytes;
  const retrievedBytes = workload.records * workload.recordBytes * workload.consumers;
  const extraDays = Math.max(0, workload.retentionDays - includedRetentionHours / 24);
  const storedGbMonths = ((workload.records * workload.recordBytes) / GIB) * (extraDays / DAYS_PER_MONTH);
  const p = prices.kinesisOnDemand;
  return bill(
    'Kinesis on-demand',
    [
      line('stream-hours', workloadHours(workload), 'stream-hour', p.streamHour.usd),
      line('data ingested', ingestBytes / GIB, 'GB', p.ingestGb.usd),
      line('data retrieved', retrievedBytes / GIB, 'GB', p.retrievalGb.usd),
      line('extended retention (days 2 to 7)', storedGbMonths, 'GB-month', p.extendedRetentionGbMonth.usd),
    ],
    [
      'one stream; its hourly charge runs whether or not records arrive',
      'up to 2 shared-throughput consumers; more need enhanced fan-out (extra cost)',
    ],
  );
}

/**
 * Kinesis Data Streams, provisioned: as many shards as the ingest rate needs (1 MB/s or 1,000
 * records/s each), each billed per hour plus extended retention per shard-hour, and PUT payload units
 * (25 KB chunks of each record).
 */
export function kinesisProvisionedCost(workload: Workload, prices: PriceTable = PRICES): SystemCost {
  checkWorkload(workload);
  const rules = BILLING_RULES.kinesis;
  const shards = Math.max(
    1,
    Math.ceil((workload.recordsPerSecond * workload.recordBytes) / rules.shardIngestBytesPerSecondMax),
    Math.ceil(workload.recordsPerSecond / rules.shardIngestRecordsPerSecondMax),
  );
  const shardHours = shards * workloadHours(workload);
  const payloadUnits = workload.records * Math.ceil(workload.recordBytes / rules.putPayloadUnitBytes);
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
  return bill('Kinesis provisioned', lines, [
    'shards sized for the average rate; peaks need more shards (or throttle)',
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

/** Every system's bill for one workload, Shoal first. */
export function compareCosts(
  workload: Workload,
  usage: ShoalUsage,
  prices: PriceTable = PRICES,
): SystemCost[] {
  return [
    shoalCost(workload, usage, prices),
    kinesisOnDemandCost(workload, prices),
    kinesisProvisionedCost(workload, prices),
    sqsCost(workload, prices),
  ];
}
