/**
 * The cost model's inputs, assembled from what the benchmark measured (storage rows, invoked
 * handlers, the cold-fetch segments) and from how the CDK app deploys (`deployment.ts`). Every
 * figure that is assumed rather than measured or read is named here, with the reason.
 */
import { LIMITS } from '../shared/domain/limits.js';
import type { IdleDeployment, KinesisProducer, LambdaUse, ShoalUsage } from './cost-model.js';
import type { DeployedFunction, DeployedSettings } from './deployment.js';
import { accessLogLineBytes, type InvocationUsage, platformLogLines } from './handler-usage.js';
import { billedStorageBytes } from './item-size.js';
import { BILLING_RULES } from './prices.js';
import type { StorageRow } from './storage.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Billed duration assumed for the functions the benchmark does not invoke: the stream consumer
 * woken by appends (no subscriptions), the TTL rescue, and each idle scheduled run.
 */
export const BACKGROUND_BILLED_MS_ASSUMED = 100;

/** What the bench measured for one batch size, and the deployment it is priced for. */
export interface CostEvidence {
  readonly storage: StorageRow;
  readonly invocations: InvocationUsage;
  readonly deployment: DeployedSettings;
  /** S3 segment bytes per logical byte, measured on the cold-fetch partition; undefined when not. */
  readonly segmentBytesPerLogicalByte: number | undefined;
  /** Mean logical bytes of the typical events the figures were measured on. */
  readonly meanRecordBytes: number;
  readonly recordBytes: number;
  readonly retentionDays: number;
}

function lambdaUse(fn: DeployedFunction, billedMs: number): LambdaUse {
  return { memoryMb: fn.memoryMb, architecture: fn.architecture, billedMs };
}

/** X-Ray sampling of API requests: the stage's rule (the functions follow it), else X-Ray's default. */
function tracingOf(deployment: DeployedSettings): ShoalUsage['tracing'] {
  if (!deployment.apiTracing && !deployment.produce.tracingActive) return null;
  return deployment.apiSampling ?? lambdaOwnSampling();
}

/**
 * How Lambda samples an invocation that comes with no tracing header (a schedule, a stream): its
 * own fixed rule, the first request each second and 5% of the rest; sampling rules do not apply.
 */
function lambdaOwnSampling(): NonNullable<ShoalUsage['tracing']> {
  const { defaultReservoirPerSecond, defaultFixedRate } = BILLING_RULES.xray;
  return { reservoirPerSecond: defaultReservoirPerSecond, fixedRate: defaultFixedRate };
}

/** Shoal's usage at one batch size, scaled from the measured events' mean size to `recordBytes`. */
export function shoalUsageOf(evidence: CostEvidence): ShoalUsage {
  const { storage: row, invocations, deployment } = evidence;
  const scale = evidence.recordBytes / evidence.meanRecordBytes;
  const ttlDelayDays = BILLING_RULES.dynamodbTtl.deletionDelayDays;
  const noncurrentDays = deployment.segmentBucketVersioned ? (deployment.noncurrentVersionDays ?? 0) : 0;
  const payloadNoncurrentDays = deployment.segmentBucketVersioned
    ? (deployment.payloadNoncurrentVersionDays ?? 0)
    : 0;
  const payloadClassDays = Math.max(0, ...invocations.produce.retentionClassDays);
  const stream =
    deployment.streamFunctions.find((entry) => entry.batchSize !== 100) ?? deployment.streamFunctions[0];
  const rescue =
    deployment.streamFunctions.find((entry) => entry.batchSize === 100) ?? deployment.streamFunctions[0];
  const platform = platformLogLines(deployment.produce.memoryMb, deployment.produce.tracingActive);
  const segmentBytesPerLogicalByte = evidence.segmentBytesPerLogicalByte ?? row.storedBytesPerLogicalByte;
  return {
    recordsPerProduceRequest: row.batchRecords,
    recordsPerFetchRequest: invocations.fetch.recordsPerRequest,
    writeUnitsPerProduceRequest:
      (row.logTableWriteUnits * scale + row.headWriteUnits + row.idempotencyWriteUnits) / row.requests,
    readUnitsPerProduceRequest: invocations.produce.readUnits,
    readUnitsPerFetchRequest: invocations.fetch.readUnits * scale,
    batchItemsPerProduceRequest: row.batchItems / row.requests,
    storedBytesPerRecord: row.billedStoredBytesPerLogicalByte * evidence.recordBytes,
    hotStoredDays: LIMITS.localRetentionMsDefault / DAY_MS + ttlDelayDays,
    idempotencyItemBytes: billedStorageBytes(row.idempotencyItemBytes),
    idempotencyStoredDays: LIMITS.idempotencyWindowMs / DAY_MS + ttlDelayDays,
    pitr: deployment.pitrTables === deployment.tables,
    segmentBytesPerRecord: segmentBytesPerLogicalByte * evidence.recordBytes,
    segmentBytes: LIMITS.segmentBytesDefault,
    segmentStoredDays: evidence.retentionDays + noncurrentDays,
    s3PerProduce: { ...invocations.produce.s3, bytesPut: invocations.produce.s3.bytesPut * scale },
    s3PerFetch: invocations.fetch.s3,
    payloadStoredDays: payloadClassDays === 0 ? 0 : payloadClassDays + payloadNoncurrentDays,
    produceLambda: lambdaUse(deployment.produce, invocations.produce.billedMs),
    fetchLambda: lambdaUse(deployment.fetch, invocations.fetch.billedMs),
    streamLambda: {
      ...lambdaUse(
        stream?.function ?? deployment.produce,
        stream === undefined ? 0 : BACKGROUND_BILLED_MS_ASSUMED,
      ),
      pollsPerSecond: stream === undefined ? 0 : BILLING_RULES.lambda.streamPollsPerSecond,
    },
    rescueLambda: {
      ...lambdaUse(
        rescue?.function ?? deployment.produce,
        rescue === undefined ? 0 : BACKGROUND_BILLED_MS_ASSUMED,
      ),
      batchSize: rescue?.batchSize ?? 100,
    },
    logBytesPerProduce: invocations.produce.logBytes + platform.bytes,
    logBytesPerFetch: invocations.fetch.logBytes + platform.bytes,
    logEventsPerProduce: invocations.produce.logEvents + platform.events,
    logEventsPerFetch: invocations.fetch.logEvents + platform.events,
    accessLogBytesPerRequest: accessLogLineBytes(deployment.accessLogFormat),
    logRetentionDays: deployment.produce.logRetentionDays,
    customMetrics: invocations.customMetrics,
    tracing: tracingOf(deployment),
  };
}

/**
 * A KPL-style producer for the same batch: the batch's records aggregated into one Kinesis record,
 * compressed as much as Shoal compresses the same events at that batch size.
 */
export function kplProducerOf(row: StorageRow): KinesisProducer {
  return {
    label: `KPL, ${row.batchRecords} per record, compressed ×${row.storedBytesPerLogicalByte.toFixed(2)}`,
    recordsPerKinesisRecord: row.batchRecords,
    compressedBytesPerByte: Math.min(1, row.storedBytesPerLogicalByte),
  };
}

/** What the deployment runs while idle: its schedules, alarms and dashboards. */
export function idleDeploymentOf(deployment: DeployedSettings): IdleDeployment {
  const platform = platformLogLines(deployment.produce.memoryMb, deployment.produce.tracingActive);
  return {
    scheduled: deployment.scheduled.map((entry) => ({
      description: entry.description,
      invocationsPerMonth: entry.invocationsPerMonth,
      lambda: lambdaUse(entry.function, BACKGROUND_BILLED_MS_ASSUMED),
      traced: entry.function.tracingActive,
    })),
    logBytesPerInvocation: platform.bytes,
    logEventsPerInvocation: platform.events,
    alarms: deployment.alarms,
    dashboards: deployment.dashboards,
    tracing: lambdaOwnSampling(),
  };
}

/** The assumptions and readings behind the bill, for results.json and the report. */
export function costNotes(evidence: CostEvidence, usage: ShoalUsage): string[] {
  const { deployment } = evidence;
  return [
    `measured on typical events (mean ${evidence.meanRecordBytes.toFixed(0)} B), byte-proportional figures scaled to ${evidence.recordBytes} B`,
    `Lambda memory and architecture read from the synthesized CDK app: produce ${deployment.produce.memoryMb} MB, fetch ${deployment.fetch.memoryMb} MB, ${deployment.produce.architecture}`,
    `billed duration: handler wall time on this machine against DynamoDB Local (${usage.produceLambda.billedMs.toFixed(1)} ms per produce, ${usage.fetchLambda.billedMs.toFixed(1)} ms per fetch); no cold starts`,
    `tracing: API stage ${deployment.apiTracing ? 'on' : 'off'}, functions ${deployment.produce.tracingActive ? 'active' : 'off'} (following the stage's decision), ${
      deployment.apiSampling === undefined
        ? "X-Ray's default rule: 1/s then 5%"
        : `the stage's sampling rule: ${deployment.apiSampling.reservoirPerSecond}/s then ${deployment.apiSampling.fixedRate * 100}%`
    }`,
    `logs: level ${deployment.produce.logLevel} (deployed), ${usage.logBytesPerProduce.toFixed(0)} B per produce and ${usage.logBytesPerFetch.toFixed(0)} B per fetch (stdout measured plus Lambda's START/END/REPORT lines), access log ${usage.accessLogBytesPerRequest} B per request, kept ${usage.logRetentionDays} days`,
    `${usage.customMetrics} custom metrics (EMF) measured`,
    `point-in-time recovery on ${deployment.pitrTables} of ${deployment.tables} tables; TTL deletes ${BILLING_RULES.dynamodbTtl.deletionDelayDays} days after expiry (AWS: "typically within two days")`,
    `segment bucket ${deployment.segmentBucketVersioned ? 'versioned' : 'not versioned'}, noncurrent versions expire after ${deployment.noncurrentVersionDays ?? 'never'} days`,
    `S3 requests metered on the SDK client: ${usage.s3PerProduce.putRequests.toFixed(2)} PUT and ${usage.s3PerProduce.getRequests.toFixed(2)} GET per produce, ${usage.s3PerFetch.getRequests.toFixed(2)} GET per fetch`,
    evidence.segmentBytesPerLogicalByte === undefined
      ? 'S3 segment bytes assumed equal to the batch items'
      : 'S3 segment bytes measured on the cold-fetch partition',
    `stream consumer, TTL rescue and idle scheduled runs: ${BACKGROUND_BILLED_MS_ASSUMED} ms billed each (assumed, not measured)`,
  ];
}
