/** Lambda entry for `POST /v1/topics/{topic}/records` and `POST /v1/topics/{topic}/uploads`. */
import { InvalidRequestError } from '../shared/domain/errors.js';
import type { ProduceRecordInput } from '../shared/domain/record.js';
import { grantedBytesOf, isUploadReference } from '../shared/domain/record-uploads.js';
import { createHttpHandler, parseBody, parsePathParameter } from '../shared/http/http-handler.js';
import { type HttpHandler, lazyHandler } from '../shared/http/lambda-http.js';
import { isoTime, renderPosition, toProduceRecords } from '../shared/http/render.js';
import { IdempotencyKeyHeader, ProduceRequest, TopicName, UploadRequest } from '../shared/http/schemas.js';
import { countProduced, type RecordPayload } from '../shared/observability/record-metrics.js';
import { getDefaultRuntime, type Runtime } from '../shared/runtime.js';
import { servicesFor } from '../shared/services.js';

export function createHandler(runtime: Runtime): HttpHandler {
  const { log } = servicesFor(runtime);
  const { telemetry } = runtime;
  return createHttpHandler(
    'produce-records',
    {
      produceRecords: async (request) => {
        const topic = parsePathParameter(TopicName, request, 'topic');
        const rawKey = request.headers['idempotency-key'];
        let idempotencyKey: string | undefined;
        if (rawKey !== undefined) {
          const parsed = IdempotencyKeyHeader.safeParse(rawKey);
          if (!parsed.success) {
            throw new InvalidRequestError(
              `Idempotency-Key: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
              'Idempotency-Key',
            );
          }
          idempotencyKey = parsed.data;
        }
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

/** A record as the metrics count it: an uploaded value by the bytes it was granted for. */
function countedPayload(record: ProduceRecordInput): RecordPayload {
  const { value } = record;
  if (value === null || !isUploadReference(value)) return { ...record, value };
  return { ...record, value: { bytes: { byteLength: grantedBytesOf(value.uploadId) ?? 0 } } };
}

export const handler = lazyHandler(() => createHandler(getDefaultRuntime()));
