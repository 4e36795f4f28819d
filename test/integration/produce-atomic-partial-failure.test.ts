/**
 * One produce request is atomic even when its write fails part-way. SDK middleware adds to the
 * append transaction of a request across three partitions one more item whose condition cannot
 * hold, in the transaction that carries the last partition's batch: DynamoDB Local evaluates the
 * items and cancels them all. Whether the request's batches went inline or to a payload object in
 * S3 first, no partition's head, batches or records change, and the request fails as retryable;
 * the same request later appends at the offsets it would have had.
 */
import type {
  HandlerExecutionContext,
  InitializeHandler,
  InitializeHandlerArguments,
  MetadataBearer,
} from '@smithy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logPartitionKey } from '../../shared/adapters/dynamodb/keys.js';
import { RetryableError } from '../../shared/domain/errors.js';
import type { ProduceRecordInput } from '../../shared/domain/log-service.js';
import { PAYLOAD_KEY_PREFIX } from '../../shared/domain/segment-keys.js';
import type { Runtime } from '../../shared/runtime.js';
import { type Services, servicesFor } from '../../shared/services.js';
import type { ClientWithMiddleware } from '../support/faults.js';
import { type ApiClient, apiClient } from '../support/http-client.js';
import { createTestRuntime, startTestApi } from '../support/local-aws.js';
import { manualClock } from '../support/manual-clock.js';
import { hotItemCount, listObjects, storedTopic } from '../support/tiered-storage.js';

const PARTITIONS = 3;

/** The log partition key whose batch put gets a transaction refused; none when undefined. */
let refuseWith: string | undefined;
let refused = 0;

/** Adds an item that cannot hold to a transaction that puts a batch under `refuseWith`. */
function installPartialFailure(client: ClientWithMiddleware): void {
  const middleware =
    (next: InitializeHandler<object, MetadataBearer>, context: HandlerExecutionContext) =>
    async (args: InitializeHandlerArguments<object>) => {
      const input = args.input as { TransactItems?: Record<string, unknown>[] };
      const puts = (input.TransactItems ?? []).map(
        (item) => (item as { Put?: { TableName?: string; Item?: { pk?: unknown } } }).Put,
      );
      const target = puts.find((put) => refuseWith !== undefined && put?.Item?.pk === refuseWith);
      if (!context.commandName?.startsWith('TransactWriteItems') || target === undefined) return next(args);
      refused++;
      const impossible = {
        ConditionCheck: {
          TableName: target.TableName,
          Key: { pk: `${refuseWith}#absent`, sk: -1 },
          ConditionExpression: 'attribute_exists(pk)',
        },
      };
      return next({
        ...args,
        input: { ...input, TransactItems: [...(input.TransactItems ?? []), impossible] },
      });
    };
  client.middlewareStack.add(middleware, { step: 'initialize', priority: 'high', name: 'partialFailure' });
}

let runtime: Runtime;
let api: ApiClient;
/** Services whose retries do not wait: the refused request gives up at once. */
let services: Services;
let close: () => Promise<void>;

beforeAll(async () => {
  runtime = await createTestRuntime({ tablePrefix: 'atomic', decorateDynamoDb: installPartialFailure });
  const server = await startTestApi(runtime);
  api = apiClient(server.url);
  close = server.close;
  services = servicesFor({ ...runtime, clock: manualClock() });
});
afterAll(() => close());

/** `perPartition` records in each partition, `bytes` of incompressible text each. */
function request(perPartition: number, bytes: number): ProduceRecordInput[] {
  return Array.from({ length: PARTITIONS * perPartition }, (_, index) => ({
    key: null,
    value: { type: 'STRING', bytes: Buffer.from(randomText(bytes, index)) },
    headers: [],
    partition: index % PARTITIONS,
  }));
}

function randomText(length: number, seed: number): string {
  let state = seed + 1;
  let text = '';
  while (text.length < length) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    text += state.toString(36);
  }
  return text.slice(0, length);
}

async function partitionsOf(topic: string) {
  const described = await api.get(`/v1/topics/${topic}`);
  return described.body.partitions.map((p: { highWatermark: number }) => p.highWatermark) as number[];
}

async function valuesOf(topic: string, partition: number): Promise<string[]> {
  const page = await api.get(`/v1/topics/${topic}/partitions/${partition}/records?offset=0&maxRecords=1000`);
  expect(page.status).toBe(200);
  return page.body.records.map((record: { value: { data: string } }) => record.value.data);
}

describe.each([
  ['inline batches', 'atomic-inline', 20],
  ['a payload object written first', 'atomic-payload', 2_000],
])('a request across partitions refused part-way, with %s', (_, name, bytes) => {
  it('changes no partition and later appends at the same offsets', async () => {
    await services.topics.create({ name, partitions: PARTITIONS });
    await services.log.produce(name, request(1, 10), 'before');
    const topic = await storedTopic(runtime, name);
    const before = await Promise.all([0, 1, 2].map((p) => valuesOf(name, p)));
    const payloadsBefore = (await listObjects(runtime, PAYLOAD_KEY_PREFIX)).length;
    refuseWith = logPartitionKey(topic.topicId, PARTITIONS - 1);
    refused = 0;

    const failed = await services.log.produce(name, request(2, bytes), 'refused').catch((error) => error);

    refuseWith = undefined;
    expect(failed).toBeInstanceOf(RetryableError);
    expect(refused).toBeGreaterThan(0);
    expect(await partitionsOf(name)).toEqual([1, 1, 1]);
    expect(await Promise.all([0, 1, 2].map((p) => valuesOf(name, p)))).toEqual(before);
    expect(await Promise.all([0, 1, 2].map((p) => hotItemCount(runtime, topic, p)))).toEqual([1, 1, 1]);
    const payloadsAfter = (await listObjects(runtime, PAYLOAD_KEY_PREFIX)).length;
    expect(payloadsAfter > payloadsBefore).toBe(bytes > 1_000);

    const retried = await services.log.produce(name, request(2, bytes), 'refused');
    expect(retried.records.map((record) => record.offset)).toEqual([1, 1, 1, 2, 2, 2]);
    expect(await partitionsOf(name)).toEqual([3, 3, 3]);
  });
});
