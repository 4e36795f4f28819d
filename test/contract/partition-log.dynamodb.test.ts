import { beforeAll } from 'vitest';
import { DynamoDbPartitionLog } from '../../shared/adapters/dynamodb/partition-log.js';
import type { Runtime } from '../../shared/runtime.js';
import { createTestRuntime } from '../support/local-aws.js';
import { manualClock } from '../support/manual-clock.js';
import { partitionLogContract } from './partition-log.contract.js';

let runtime: Runtime;

beforeAll(async () => {
  runtime = await createTestRuntime({ tablePrefix: 'contract-log' });
});

partitionLogContract('DynamoDB', async () => {
  const clock = manualClock();
  const log = new DynamoDbPartitionLog(runtime.documents, {
    logTableName: runtime.config.logTableName,
    metaTableName: runtime.config.metaTableName,
    now: clock.now,
  });
  return { log, clock };
});
