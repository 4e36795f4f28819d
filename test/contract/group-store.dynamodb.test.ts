import { beforeAll } from 'vitest';
import { DynamoDbGroupStore } from '../../shared/adapters/dynamodb/group-store.js';
import type { Runtime } from '../../shared/runtime.js';
import { createTestRuntime } from '../support/local-aws.js';
import { groupStoreContract } from './group-store.contract.js';

let runtime: Runtime;

beforeAll(async () => {
  runtime = await createTestRuntime({ tablePrefix: 'contract-groups' });
});

groupStoreContract(
  'DynamoDB',
  async () => new DynamoDbGroupStore(runtime.documents, runtime.config.metaTableName),
);
