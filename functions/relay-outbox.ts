/**
 * Lambda entry of the outbox relay (`ShoalOutbox`), invoked by the stream of the user's own table
 * (in AWS through an event source mapping with ReportBatchItemFailures and bisect on error; on the
 * local stack by a stream follower). Each new outbox item is appended to the topic once, under the
 * Idempotency-Key of its stream record (`shared/domain/outbox-relay.ts`).
 *
 * Partial failures are reported with `batchItemFailures`: Lambda retries from the first record not
 * relayed, and the records after it that were relayed replay their first answer.
 */
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { DynamoDbTopicStore } from '../shared/adapters/dynamodb/topic-store.js';
import { readOutboxConfig } from '../shared/config.js';
import { LogService } from '../shared/domain/log-service.js';
import { type OutboxMapping, type OutboxStreamRecord, relayOutbox } from '../shared/domain/outbox-relay.js';
import { createLogger } from '../shared/observability/logger.js';
import { backgroundEntry, type Runtime } from '../shared/runtime.js';
import { partitionLogFor } from '../shared/services.js';

const logger = createLogger();

export type RelayHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;

/** The relay for one mapping; the Lambda entry reads it from the environment `ShoalOutbox` sets. */
export function createHandler(runtime: Runtime, mapping: OutboxMapping = readOutboxConfig()): RelayHandler {
  const log = new LogService(
    new DynamoDbTopicStore(runtime.documents, runtime.config.metaTableName),
    partitionLogFor(runtime),
    runtime.clock,
  );
  return async (event) => {
    const records = (Array.isArray(event?.Records) ? event.Records : []) as readonly OutboxStreamRecord[];
    const report = await relayOutbox(log, mapping, records);
    const summary = {
      topic: mapping.topic,
      records: records.length,
      appended: report.appended,
      duplicates: report.duplicates,
      skipped: report.skipped,
    };
    if (report.retryFrom === undefined) {
      // Replays are the point of the keys, yet worth a line: a retry or a restart happened.
      if (report.duplicates > 0)
        logger.info('Outbox records relayed before were not appended again', summary);
      return { batchItemFailures: [] };
    }
    for (const failure of report.errors) {
      logger.error('An outbox record was not relayed; the stream retries from the first one', {
        ...summary,
        sequenceNumber: failure.sequenceNumber,
        error: failure.error as Error,
      });
    }
    return { batchItemFailures: [{ itemIdentifier: report.retryFrom }] };
  };
}

export const handler: RelayHandler = backgroundEntry((runtime) => createHandler(runtime));
