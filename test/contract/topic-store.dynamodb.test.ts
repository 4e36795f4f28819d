import { beforeAll } from 'vitest';
import { DynamoDbTopicStore } from '../../shared/adapters/dynamodb/topic-store.js';
import type { Runtime } from '../../shared/runtime.js';
import { createTestRuntime } from '../support/local-aws.js';
import { topicStoreContract } from './topic-store.contract.js';

let runtime: Runtime;

beforeAll(async () => {
  runtime = await createTestRuntime({ tablePrefix: 'contract-topics' });
});

topicStoreContract(
  'DynamoDB',
  async () => new DynamoDbTopicStore(runtime.documents, runtime.config.metaTableName),
);
