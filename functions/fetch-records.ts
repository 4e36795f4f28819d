/** Lambda entry for reading records and looking up offsets by time. */
import { Logger } from '@aws-lambda-powertools/logger';
import { LIMITS } from '../shared/domain/limits.js';
import { createHttpHandler, parseParameters, parsePathParameter } from '../shared/http/http-handler.js';
import { type HttpHandler, lazyHandler } from '../shared/http/lambda-http.js';
import { renderFetchResult } from '../shared/http/render.js';
import { FetchQuery, OffsetsQuery, PartitionParam, TopicName } from '../shared/http/schemas.js';
import { countFetched } from '../shared/observability/record-metrics.js';
import { getDefaultRuntime, type Runtime } from '../shared/runtime.js';
import { servicesFor } from '../shared/services.js';

const logger = new Logger({ serviceName: 'shoal' });

export function createHandler(runtime: Runtime): HttpHandler {
  const { log } = servicesFor(runtime);
  const { telemetry } = runtime;
  return createHttpHandler(
    'fetch-records',
    {
      fetchRecords: async (request) => {
        const topic = parsePathParameter(TopicName, request, 'topic');
        const partition = parsePathParameter(PartitionParam, request, 'partition');
        const query = parseParameters(FetchQuery, request.query);
        const result = await log.fetch(topic, partition, query.offset, {
          recordsMax: query.maxRecords ?? LIMITS.fetchRecordsDefault,
          bytesMax: query.maxBytes ?? LIMITS.fetchBytesDefault,
          waitMs: query.waitMs ?? 0,
        });
        const rendered = renderFetchResult(result, (offset, field) =>
          logger.error('stored JSON is not valid JSON text: rendered as BINARY', {
            topic,
            partition,
            offset,
            field,
          }),
        );
        countFetched(telemetry, result.topic, rendered.records);
        return { status: 200, body: rendered.body };
      },
      offsetForTimestamp: async (request) => {
        const topic = parsePathParameter(TopicName, request, 'topic');
        const partition = parsePathParameter(PartitionParam, request, 'partition');
        const { timestamp } = parseParameters(OffsetsQuery, request.query);
        return { status: 200, body: { offset: await log.offsetForTimestamp(topic, partition, timestamp) } };
      },
    },
    { telemetry },
  );
}

export const handler = lazyHandler(() => createHandler(getDefaultRuntime()));
