/**
 * Produce load, two ways over the same records:
 *
 * - Shoal: `POST /v1/topics/{topic}/records` with an Idempotency-Key, one partition per producer;
 * - raw: the very storage calls Shoal's append makes, sent straight to the same DynamoDB and S3
 *   with the AWS SDK: for an append over `PAYLOAD_INLINE_BYTES_MAX` encoded bytes the PUT of its
 *   payload object, then the TransactWriteItems (conditional head update, batch items encoded and
 *   split as Shoal splits them, holding bytes or a payload range, idempotency item). Items and the
 *   object are built before the clock starts: the timed part is the storage calls.
 *
 * The ratio of the two p50 latencies is Shoal's overhead over the storage operation it performs:
 * HTTP, JSON parsing and validation, encoding and compression, and its reads (topic, partition
 * head) before the write.
 */
import { randomUUID } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { batchKey, headKey, idempotencyKey } from '../shared/adapters/dynamodb/keys.js';
import { PAYLOAD_INLINE_BYTES_MAX } from '../shared/adapters/dynamodb/partition-log.js';
import { LIMITS } from '../shared/domain/limits.js';
import { hashProduceRequest, serializePositions } from '../shared/domain/log-service.js';
import type { RecordInput } from '../shared/domain/record.js';
import { encodeBatch, encodedRecordBytes, splitIntoChunks } from '../shared/domain/record-codec.js';
import { payloadKey, payloadRetentionClassDays } from '../shared/domain/segment-keys.js';
import type { EventSizeClass } from '../test/support/events.js';
import type { ShoalClient } from './shoal-client.js';
import { type LatencySummary, MIB, summarizeLatencies } from './stats.js';
import { type EventPool, produceBody, takeFromPool } from './workload.js';

/** How long a load runs. */
export interface LoadLimits {
  /** Requests per producer sent before measuring (not recorded). */
  readonly warmupRequests: number;
  /** Measure at least this long... */
  readonly durationMs: number;
  /** ...and at least this many requests per producer... */
  readonly requestsMin: number;
  /** ...but stop after this long whatever the count. */
  readonly durationMsMax: number;
}

/** One request's outcome. */
export interface SendOutcome {
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly records: number;
  readonly logicalBytes: number;
}

/** What a load achieved. */
export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly records: number;
  readonly logicalBytes: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  readonly mibPerSecond: number;
  readonly latency: LatencySummary | undefined;
}

/**
 * Runs `producers` loops, each sending one request at a time with `send`, and measures the
 * requests that complete inside the measured window.
 */
export async function runLoad(
  producers: number,
  limits: LoadLimits,
  send: (producer: number) => Promise<SendOutcome>,
): Promise<LoadResult> {
  await Promise.all(
    Array.from({ length: producers }, async (_, producer) => {
      for (let i = 0; i < limits.warmupRequests; i++) await send(producer);
    }),
  );
  const latencies: number[] = [];
  let records = 0;
  let logicalBytes = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: producers }, async (_, producer) => {
      for (let sent = 0; ; sent++) {
        const elapsed = performance.now() - started;
        const enough = elapsed >= limits.durationMs && sent >= limits.requestsMin;
        if (enough || elapsed >= limits.durationMsMax) return;
        const outcome = await send(producer);
        if (!outcome.ok) {
          errors++;
          continue;
        }
        latencies.push(outcome.latencyMs);
        records += outcome.records;
        logicalBytes += outcome.logicalBytes;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    requests: latencies.length + errors,
    errors,
    records,
    logicalBytes,
    seconds,
    recordsPerSecond: records / seconds,
    mibPerSecond: logicalBytes / MIB / seconds,
    latency: latencies.length > 0 ? summarizeLatencies(latencies) : undefined,
  };
}

/** One cell of the produce matrix. */
export interface ProduceCell {
  readonly sizeClass: EventSizeClass;
  readonly producers: number;
  readonly batchRecords: number;
}

/**
 * A sender that produces through Shoal's HTTP API: producer `i` writes to partition `i` of `topic`,
 * every request with its own Idempotency-Key.
 */
export function shoalSender(
  client: ShoalClient,
  topic: string,
  pool: EventPool,
  batchRecords: number,
): (producer: number) => Promise<SendOutcome> {
  const cursors = new Map<number, number>();
  const path = `/v1/topics/${encodeURIComponent(topic)}/records`;
  return async (producer) => {
    const cursor = cursors.get(producer) ?? producer * batchRecords * 7;
    cursors.set(producer, cursor + batchRecords);
    const slice = takeFromPool(pool, cursor, batchRecords);
    const body = produceBody(slice.json, producer);
    const headers = { 'idempotency-key': `bench-${randomUUID()}` };
    const started = performance.now();
    const answer = await client.call('POST', path, { body, headers, timeoutMs: 60_000 });
    const latencyMs = performance.now() - started;
    return { ok: answer.status === 200, latencyMs, records: batchRecords, logicalBytes: slice.logicalBytes };
  };
}

/** Tables of the DynamoDB (and the bucket of S3) the raw baseline writes to. */
export interface RawTarget {
  readonly documents: DynamoDBDocumentClient;
  readonly logTableName: string;
  readonly metaTableName: string;
  /** Where payload objects go; without it every append keeps its bytes in its items. */
  readonly payloads?: { readonly s3: S3Client; readonly bucketName: string };
}

/**
 * A sender that performs Shoal's append transaction itself: producer `i` appends to partition `i`
 * of a fresh topic id, knowing its head (one writer per partition, as in the Shoal runs).
 */
export function rawSender(
  target: RawTarget,
  pool: EventPool,
  batchRecords: number,
): (producer: number) => Promise<SendOutcome> {
  const topicId = `raw${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const heads = new Map<number, { highWatermark: number; maxTimestamp: number }>();
  const cursors = new Map<number, number>();
  return async (producer) => {
    const cursor = cursors.get(producer) ?? producer * batchRecords * 7;
    cursors.set(producer, cursor + batchRecords);
    const slice = takeFromPool(pool, cursor, batchRecords);
    const head = heads.get(producer) ?? { highWatermark: 0, maxTimestamp: 0 };
    const built = buildAppendTransaction(
      target,
      topicId,
      producer,
      head,
      slice.records,
      `raw-${randomUUID()}`,
    );
    const started = performance.now();
    let ok = true;
    try {
      if (built.payload) await target.payloads?.s3.send(built.payload);
      await target.documents.send(built.command);
    } catch {
      ok = false;
    }
    const latencyMs = performance.now() - started;
    if (ok) heads.set(producer, built.nextHead);
    return { ok, latencyMs, records: batchRecords, logicalBytes: slice.logicalBytes };
  };
}

type Head = { readonly highWatermark: number; readonly maxTimestamp: number };

/**
 * The batch items' Puts of an append at `head`, with each record's position and the head after
 * them, and the PUT of the payload object when the batches are too large to keep in items.
 */
function batchPuts(
  target: RawTarget,
  topicId: string,
  partition: number,
  head: Head,
  records: readonly RecordInput[],
  now: number,
) {
  const chunks = splitIntoChunks(records, (record) => encodedRecordBytes(record), LIMITS.batchItemBytesMax);
  const encoded = chunks.map((chunk) => encodeBatch(chunk));
  const appendId = randomUUID();
  const totalBytes = encoded.reduce((sum, data) => sum + data.byteLength, 0);
  const payloads = target.payloads && totalBytes > PAYLOAD_INLINE_BYTES_MAX ? target.payloads : undefined;
  const classDays = payloadRetentionClassDays(LIMITS.localRetentionMsDefault);
  let objectPosition = 0;
  let nextOffset = head.highWatermark;
  let maxTimestamp = head.maxTimestamp;
  const positions: { partition: number; offset: number; timestamp: number }[] = [];
  const puts = chunks.map((chunk, index) => {
    const baseOffset = nextOffset;
    for (const record of chunk) {
      positions.push({ partition, offset: nextOffset++, timestamp: record.timestamp });
      maxTimestamp = Math.max(maxTimestamp, record.timestamp);
    }
    const data = encoded[index] as Uint8Array;
    const stored = payloads ? { ps: objectPosition, pn: data.byteLength, pc: classDays } : { d: data };
    objectPosition += data.byteLength;
    return {
      Put: {
        TableName: target.logTableName,
        Item: {
          ...batchKey(topicId, partition, nextOffset - 1),
          bo: baseOffset,
          mt: maxTimestamp,
          ...stored,
          a: appendId,
          x: Math.ceil((now + LIMITS.localRetentionMsDefault) / 1000),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  });
  const payload = payloads
    ? new PutObjectCommand({
        Bucket: payloads.bucketName,
        Key: payloadKey(topicId, classDays, appendId),
        Body: Buffer.concat(encoded),
        ContentLength: totalBytes,
        ContentType: 'application/octet-stream',
      })
    : undefined;
  return { puts, payload, positions, nextHead: { highWatermark: nextOffset, maxTimestamp } };
}

/** The partition head's Update from `head` to `nextHead`, conditional on no other append in between. */
function headUpdate(target: RawTarget, topicId: string, partition: number, head: Head, nextHead: Head) {
  return {
    Update: {
      TableName: target.metaTableName,
      Key: headKey(topicId, partition),
      UpdateExpression: 'SET hw = :next, mt = :mt',
      ConditionExpression:
        head.highWatermark === 0 ? 'attribute_not_exists(hw) OR hw = :expected' : 'hw = :expected',
      ExpressionAttributeValues: {
        ':next': nextHead.highWatermark,
        ':mt': nextHead.maxTimestamp,
        ':expected': head.highWatermark,
      },
    },
  };
}

/** The idempotency item's Put: the request's hash and the positions it was given. */
function idempotencyPut(
  target: RawTarget,
  topicId: string,
  partition: number,
  records: readonly RecordInput[],
  positions: readonly { partition: number; offset: number; timestamp: number }[],
  idempotencyKeyValue: string,
  now: number,
) {
  return {
    Put: {
      TableName: target.metaTableName,
      Item: {
        ...idempotencyKey(topicId, idempotencyKeyValue),
        h: hashProduceRequest(
          topicId,
          records.map((record) => ({ ...record, partition })),
        ),
        r: serializePositions(positions),
        xm: now + LIMITS.idempotencyWindowMs,
        x: Math.ceil((now + LIMITS.idempotencyWindowMs) / 1000),
      },
      ConditionExpression: 'attribute_not_exists(pk) OR xm < :now',
      ExpressionAttributeValues: { ':now': now },
    },
  };
}

/**
 * The storage calls of an append of `records` to `partition` at `head`, item for item as
 * `shared/adapters/dynamodb/partition-log.ts` builds them (same keys, attributes and conditions):
 * the payload object's PUT when there is one, then the TransactWriteItems.
 */
export function buildAppendTransaction(
  target: RawTarget,
  topicId: string,
  partition: number,
  head: { readonly highWatermark: number; readonly maxTimestamp: number },
  records: readonly RecordInput[],
  idempotencyKeyValue: string | undefined,
): {
  command: TransactWriteCommand;
  payload: PutObjectCommand | undefined;
  nextHead: { highWatermark: number; maxTimestamp: number };
} {
  const now = Date.now();
  const { puts, payload, positions, nextHead } = batchPuts(target, topicId, partition, head, records, now);
  const update = headUpdate(target, topicId, partition, head, nextHead);
  const idempotency =
    idempotencyKeyValue === undefined
      ? []
      : [idempotencyPut(target, topicId, partition, records, positions, idempotencyKeyValue, now)];
  return {
    command: new TransactWriteCommand({
      TransactItems: [update, ...puts, ...idempotency],
      ClientRequestToken: randomUUID(),
    }),
    payload,
    nextHead,
  };
}
