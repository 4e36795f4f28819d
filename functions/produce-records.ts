/** Lambda entry for `POST /v1/topics/{topic}/records`. */
import { InvalidRequestError } from '../shared/domain/errors.js';
import { createHttpHandler, parseBody, parsePathParameter } from '../shared/http/http-handler.js';
import { type HttpHandler, lazyHandler } from '../shared/http/lambda-http.js';
import { renderPosition, toProduceRecords } from '../shared/http/render.js';
import { IdempotencyKeyHeader, ProduceRequest, TopicName } from '../shared/http/schemas.js';
import { countProduced } from '../shared/observability/record-metrics.js';
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
        if (!result.duplicate) countProduced(telemetry, result.topic, records);
        return {
          status: 200,
          body: { topic: result.topic, records: result.records.map(renderPosition) },
          ...(result.duplicate ? { headers: { 'idempotent-replayed': 'true' } } : {}),
        };
      },
    },
    { telemetry },
  );
}

export const handler = lazyHandler(() => createHandler(getDefaultRuntime()));
