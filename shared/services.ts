/**
 * Wires adapters into domain services for one runtime. Handlers call `servicesFor(runtime)` once
 * per process.
 */
import { DynamoDbPartitionLog } from './adapters/dynamodb/partition-log.js';
import { DynamoDbTopicStore } from './adapters/dynamodb/topic-store.js';
import { LogService } from './domain/log-service.js';
import { TopicService } from './domain/topic-service.js';
import type { Runtime } from './runtime.js';

export interface Services {
  readonly topics: TopicService;
  readonly log: LogService;
}

export function servicesFor(runtime: Runtime): Services {
  const { config, documents } = runtime;
  const topicStore = new DynamoDbTopicStore(documents, config.metaTableName);
  const partitionLog = new DynamoDbPartitionLog(documents, {
    logTableName: config.logTableName,
    metaTableName: config.metaTableName,
  });
  return {
    topics: new TopicService(topicStore, partitionLog),
    log: new LogService(topicStore, partitionLog),
  };
}
