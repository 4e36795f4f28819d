import { beforeAll } from 'vitest';
import { DynamoDbSubscriptionStore } from '../../shared/adapters/dynamodb/subscription-store.js';
import type { Runtime } from '../../shared/runtime.js';
import { createTestRuntime } from '../support/local-aws.js';
import { subscriptionStoreContract } from './subscription-store.contract.js';

let runtime: Runtime;

beforeAll(async () => {
  runtime = await createTestRuntime({ tablePrefix: 'contract-subscriptions' });
});

subscriptionStoreContract(
  'DynamoDB',
  async () => new DynamoDbSubscriptionStore(runtime.documents, runtime.config.metaTableName),
);
