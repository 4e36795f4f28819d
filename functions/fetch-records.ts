/** Lambda entry for reading records and looking up offsets by time. */
import { LIMITS } from '../shared/domain/limits.js';
import type { LogRecord } from '../shared/domain/record.js';
import { createHttpHandler, parseParameters, parsePathParameter } from '../shared/http/http-handler.js';
import { type HttpHandler, lazyHandler } from '../shared/http/lambda-http.js';
import { renderFetchResult } from '../shared/http/render.js';
import { FetchQuery, OffsetsQuery, PartitionParam, TopicName } from '../shared/http/schemas.js';
import { createLogger } from '../shared/observability/logger.js';
import { countFetched } from '../shared/observability/record-metrics.js';
import type { PresignedObjects } from '../shared/ports/record-uploads.js';
import { getDefaultRuntime, type Runtime } from '../shared/runtime.js';
import { servicesFor } from '../shared/services.js';

const logger = createLogger();

export function createHandler(runtime: Runtime): HttpHandler {
  const { log, presigned } = servicesFor(runtime);
  const { telemetry } = runtime;
  return createHttpHandler(
    'fetch-records',
    {
      fetchRecords: async (request) => {
        const topic = parsePathParameter(TopicName, request, 'topic');
        const partition = parsePathParameter(PartitionParam, request, 'partition');
        const query = parseParameters(FetchQuery, request.query);
        const bytesMax = query.maxBytes ?? LIMITS.fetchBytesDefault;
        const result = await log.fetch(topic, partition, query.offset, {
          recordsMax: query.maxRecords ?? LIMITS.fetchRecordsDefault,
          bytesMax,
          waitMs: query.waitMs ?? 0,
        });
        const rendered = renderFetchResult(
          result,
          (offset, field) =>
            logger.error('stored JSON is not valid JSON text: rendered as BINARY', {
              topic,
              partition,
              offset,
              field,
            }),
          LIMITS.responseBodyJsonBytesMax,
          { urls: await valueUrls(presigned, result.records), bytesMax },
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

/**
 * A presigned GET of each value stored apart (records over `recordInlineBytesMax`), by offset: the
 * answer refers to those that it cannot hold. Signing is local computation, no request.
 */
async function valueUrls(
  presigned: PresignedObjects,
  records: readonly LogRecord[],
): Promise<Map<number, string>> {
  const urls = new Map<number, string>();
  for (const record of records) {
    if (record.valueAt === undefined) continue;
    urls.set(
      record.offset,
      await presigned.presignGet(record.valueAt.objectKey, LIMITS.presignedUrlExpiresMs),
    );
  }
  return urls;
}

export const handler = lazyHandler(() => createHandler(getDefaultRuntime()));
