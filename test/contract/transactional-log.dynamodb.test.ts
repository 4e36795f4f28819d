import { beforeAll } from 'vitest';
import { DynamoDbGroupStore } from '../../shared/adapters/dynamodb/group-store.js';
import { DynamoDbPartitionLog } from '../../shared/adapters/dynamodb/partition-log.js';
import type { Runtime } from '../../shared/runtime.js';
import { createTestRuntime } from '../support/local-aws.js';
import { manualClock } from '../support/manual-clock.js';
import { transactionalLogContract } from './transactional-log.contract.js';

let runtime: Runtime;

beforeAll(async () => {
  runtime = await createTestRuntime({ tablePrefix: 'contract-transactions' });
});

transactionalLogContract('DynamoDB', async () => {
  const clock = manualClock();
  const log = new DynamoDbPartitionLog(runtime.documents, {
    logTableName: runtime.config.logTableName,
    metaTableName: runtime.config.metaTableName,
    now: clock.now,
  });
  const groups = new DynamoDbGroupStore(runtime.documents, runtime.config.metaTableName);
  return { transactional: log, log, groups, clock };
});
