/**
 * What the dispatcher does for appends to topics without subscriptions: the stream wakes it for
 * every append, subscribed or not, and such a run ends without a read once an earlier run of the
 * process has seen which topics have subscriptions.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbTopicStore } from '../../shared/adapters/dynamodb/topic-store.js';
import type { Dispatcher } from '../../shared/domain/dispatcher.js';
import type { Runtime } from '../../shared/runtime.js';
import { subscriptionServicesFor } from '../../shared/subscription-services.js';
import type { ApiClient } from '../support/http-client.js';
import { createTestRuntime, startApiClient } from '../support/local-aws.js';
import { createTopic, SUBSCRIBERS, subscribe } from '../support/subscriptions.js';

const calls = { count: 0 };
let runtime: Runtime;
let api: ApiClient;
let close: () => Promise<void>;

function countCalls(client: DynamoDBClient): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      calls.count++;
      return next(args);
    },
    { step: 'initialize', name: 'countCalls' },
  );
}

beforeAll(async () => {
  runtime = await createTestRuntime({ tablePrefix: 'subs-idle', decorateDynamoDb: countCalls });
  ({ api, close } = await startApiClient(runtime));
  await createTopic(api, 'subscribed');
  await createTopic(api, 'unsubscribed');
  await subscribe(api, { name: 'watcher', topic: 'subscribed', target: { module: SUBSCRIBERS.recording } });
});
afterAll(() => close());

async function topicIdOf(name: string): Promise<string> {
  const topic = await new DynamoDbTopicStore(runtime.documents, runtime.config.metaTableName).get(name);
  if (!topic) throw new Error(`no topic ${name}`);
  return topic.topicId;
}

/** DynamoDB calls one run makes. */
async function callsOf(dispatcher: Dispatcher, topic: string): Promise<number> {
  const topicId = await topicIdOf(topic);
  const before = calls.count;
  await dispatcher.run({ kind: 'appends', partitions: [{ topicId, partition: 0 }] }, Date.now() + 10_000);
  return calls.count - before;
}

describe('the dispatcher woken by appends', () => {
  it('makes no DynamoDB call for a topic without subscriptions once a run has seen them', async () => {
    const { dispatcher } = subscriptionServicesFor(runtime);
    await dispatcher.run({ kind: 'sweep' }, Date.now() + 10_000);

    const unsubscribed = await callsOf(dispatcher, 'unsubscribed');
    const subscribed = await callsOf(dispatcher, 'subscribed');

    expect(unsubscribed).toBe(0);
    expect(subscribed).toBeGreaterThan(0);
  });

  it('reads the subscriptions again when what it saw is older than its cache time', async () => {
    const { dispatcher } = subscriptionServicesFor(runtime, { dispatcher: { subscribedTopicsCacheMs: 0 } });
    await dispatcher.run({ kind: 'sweep' }, Date.now() + 10_000);

    expect(await callsOf(dispatcher, 'unsubscribed')).toBeGreaterThan(0);
  });
});
