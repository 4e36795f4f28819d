/**
 * Wires the watch of topics (`shared/domain/topic-watch.ts`) for one runtime: the watch API's
 * function and the notifier that the dispatcher runs on the log table's stream. The notifier rides
 * on the dispatcher's event source mapping rather than a third one: a DynamoDB stream shard serves
 * about two readers at once, and the TTL rescue and the dispatcher are those two.
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { ApiGatewayConnectionPoster } from './adapters/apigateway/connection-poster.js';
import { parseLogPartitionKey } from './adapters/dynamodb/keys.js';
import { DynamoDbWatchStore } from './adapters/dynamodb/watch-store.js';
import type { CoreRuntime } from './core-runtime.js';
import { type AppendMark, type NotifyReport, TopicWatchService } from './domain/topic-watch.js';
import type { ConnectionPoster } from './ports/topic-watch.js';
import { servicesFor } from './services.js';

/** The poster of the deployed watch API (from the config's endpoint); undefined without one. */
export function watchPosterFor(runtime: CoreRuntime): ConnectionPoster | undefined {
  const endpoint = runtime.config.watchEndpoint;
  if (endpoint === undefined) return undefined;
  return new ApiGatewayConnectionPoster(
    new ApiGatewayManagementApiClient({ region: runtime.config.region, endpoint }),
  );
}

export function watchServiceFor(runtime: CoreRuntime): TopicWatchService {
  return new TopicWatchService(
    servicesFor(runtime).topics,
    new DynamoDbWatchStore(runtime.documents, runtime.config.metaTableName),
    runtime.clock,
  );
}

/**
 * The appends a stream event reports: each inserted batch item's partition, and its last offset
 * plus one as the high watermark it made (the sort key of a batch item is its last offset).
 */
export function appendMarksOf(event: unknown): AppendMark[] {
  const records = (event as Partial<DynamoDBStreamEvent> | null)?.Records;
  if (!Array.isArray(records)) return [];
  const marks: AppendMark[] = [];
  for (const record of records) {
    if (record?.eventName !== 'INSERT') continue;
    const pk = record.dynamodb?.Keys?.pk?.S;
    const lastOffset = Number(record.dynamodb?.Keys?.sk?.N);
    const partition = typeof pk === 'string' ? parseLogPartitionKey(pk) : undefined;
    if (partition && Number.isSafeInteger(lastOffset))
      marks.push({ ...partition, highWatermark: lastOffset + 1 });
  }
  return marks;
}

/** Notifies the watchers of a stream event's appends; a no-op without a poster or appends. */
export type WatchNotifier = (event: unknown) => Promise<NotifyReport | undefined>;

export function watchNotifierFor(runtime: CoreRuntime, poster = watchPosterFor(runtime)): WatchNotifier {
  if (poster === undefined) return async () => undefined;
  const watches = watchServiceFor(runtime);
  return async (event) => {
    const marks = appendMarksOf(event);
    return marks.length === 0 ? undefined : watches.notify(marks, poster);
  };
}
