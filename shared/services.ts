/**
 * Wires adapters into domain services for one runtime. Handlers call `servicesFor(runtime)` once
 * per process.
 */
import { DynamoDbGroupStore } from './adapters/dynamodb/group-store.js';
import { DynamoDbPartitionLog } from './adapters/dynamodb/partition-log.js';
import { DynamoDbTopicStore } from './adapters/dynamodb/topic-store.js';
import { GroupService } from './domain/group-service.js';
import { type Clock, LogService, systemClock } from './domain/log-service.js';
import { TopicService } from './domain/topic-service.js';
import type { Runtime } from './runtime.js';

export interface Services {
  readonly topics: TopicService;
  readonly log: LogService;
  readonly groups: GroupService;
}

/** Options for tests. */
export interface ServicesOptions {
  /** The consumer groups' clock (session deadlines), e.g. a manual one in tests of session timeouts. @default systemClock */
  readonly groupClock?: Clock;
}

export function servicesFor(runtime: Runtime, options: ServicesOptions = {}): Services {
  const { config, documents } = runtime;
  const topicStore = new DynamoDbTopicStore(documents, config.metaTableName);
  const partitionLog = new DynamoDbPartitionLog(documents, {
    logTableName: config.logTableName,
    metaTableName: config.metaTableName,
  });
  const log = new LogService(topicStore, partitionLog);
  return {
    topics: new TopicService(topicStore, partitionLog),
    log,
    groups: new GroupService(
      new DynamoDbGroupStore(documents, config.metaTableName),
      topicStore,
      partitionLog,
      log,
      options.groupClock ?? systemClock,
    ),
  };
}
