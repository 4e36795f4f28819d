/**
 * Lambda entry for `POST /v1/topics/{topic}/records`, `POST /v1/topics/{topic}/uploads` and
 * `POST /v1/groups/{group}/transactions` (records and a group's offsets in one transaction): the
 * function that holds the write grants of the log.
 */
import { InvalidRequestError } from '../shared/domain/errors.js';
import type { ProduceRecordInput } from '../shared/domain/record.js';
import { grantedBytesOf, isUploadReference } from '../shared/domain/record-uploads.js';
import {
  createHttpHandler,
  type HttpRequest,
  parseBody,
  parsePathParameter,
} from '../shared/http/http-handler.js';
import { spanAt } from '../shared/http/json-span.js';
import { type HttpHandler, lazyHandler } from '../shared/http/lambda-http.js';
import { isoTime, renderPosition, toProduceRecords } from '../shared/http/render.js';
import {
  GroupName,
  IdempotencyKeyHeader,
  ProduceRequest,
  TopicName,
  TransactionRequest,
  UploadRequest,
} from '../shared/http/schemas.js';
import { countProduced, type RecordPayload } from '../shared/observability/record-metrics.js';
import { getDefaultRuntime, type Runtime } from '../shared/runtime.js';
import { servicesFor } from '../shared/services.js';

export function createHandler(runtime: Runtime): HttpHandler {
  const { log, groups } = servicesFor(runtime);
  const { telemetry } = runtime;
  return createHttpHandler(
    'produce-records',
    {
      produceRecords: async (request) => {
        const topic = parsePathParameter(TopicName, request, 'topic');
        const idempotencyKey = idempotencyKeyOf(request);
        const body = parseBody(ProduceRequest, request);
        // parseBody refused a missing body; JSON values are stored as their text in it.
        const records = toProduceRecords(body, request.body ?? '');
        const result = await log.produce(topic, records, idempotencyKey);
        if (!result.duplicate) countProduced(telemetry, result.topic, records.map(countedPayload));
        return {
          status: 200,
          body: { topic: result.topic, records: result.records.map(renderPosition) },
          ...(result.duplicate ? { headers: { 'idempotent-replayed': 'true' } } : {}),
        };
      },
      produceTransaction: async (request) => {
        const group = parsePathParameter(GroupName, request, 'group');
        const idempotencyKey = idempotencyKeyOf(request);
        const body = parseBody(TransactionRequest, request);
        const text = request.body ?? '';
        // Each topic's JSON keys and values are stored as the text sent, like a produce's.
        const topics = body.topics.map((entry, index) => {
          const span = spanAt(text, ['topics', index]);
          return {
            topic: entry.topic,
            records: toProduceRecords(entry, span ? text.slice(span.start, span.end) : ''),
          };
        });
        const result = await groups.produceWithOffsets(
          group,
          { memberId: body.memberId, generation: body.generation, topics, offsets: body.offsets },
          idempotencyKey,
        );
        if (!result.duplicate) {
          for (const entry of topics)
            countProduced(telemetry, entry.topic, entry.records.map(countedPayload));
        }
        return {
          status: 200,
          body: {
            group: result.group,
            generation: result.generation,
            topics: result.topics.map((entry) => ({
              topic: entry.topic,
              records: entry.records.map(renderPosition),
            })),
            offsets: result.offsets,
          },
          ...(result.duplicate ? { headers: { 'idempotent-replayed': 'true' } } : {}),
        };
      },
      createUpload: async (request) => {
        const topic = parsePathParameter(TopicName, request, 'topic');
        const { bytes } = parseBody(UploadRequest, request);
        const grant = await log.createUpload(topic, bytes);
        return { status: 201, body: { ...grant, expiresAt: isoTime(grant.expiresAt) } };
      },
    },
    { telemetry },
  );
}

/** The request's Idempotency-Key header, checked; undefined without one. @throws InvalidRequestError */
function idempotencyKeyOf(request: HttpRequest): string | undefined {
  const rawKey = request.headers['idempotency-key'];
  if (rawKey === undefined) return undefined;
  const parsed = IdempotencyKeyHeader.safeParse(rawKey);
  if (!parsed.success) {
    throw new InvalidRequestError(
      `Idempotency-Key: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
      'Idempotency-Key',
    );
  }
  return parsed.data;
}

/** A record as the metrics count it: an uploaded value by the bytes it was granted for. */
function countedPayload(record: ProduceRecordInput): RecordPayload {
  const { value } = record;
  if (value === null || !isUploadReference(value)) return { ...record, value };
  return { ...record, value: { bytes: { byteLength: grantedBytesOf(value.uploadId) ?? 0 } } };
}

export const handler = lazyHandler(() => createHandler(getDefaultRuntime()));
