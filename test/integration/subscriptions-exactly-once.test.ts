/**
 * Exactly-once pipelines (issue 14, part 3): a subscription with an output topic appends what the
 * function returns in one transaction with the commit of the input batch (and its dead letters).
 * Against DynamoDB Local, with the transaction failing or timing out after it applied, a retried,
 * bisected or failed batch produces each output exactly once.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { followStream } from '../../local/background.js';
import { type LocalDispatcher, startLocalDispatcher } from '../../local/dispatcher.js';
import type { LogService } from '../../shared/domain/log-service.js';
import { createRuntime } from '../../shared/runtime.js';
import { servicesFor } from '../../shared/services.js';
import { invocationsOf } from '../fixtures/subscribers/journal.js';
import { createFaultInjector } from '../support/faults.js';
import { type ApiClient, apiClient, json } from '../support/http-client.js';
import { createTestRuntime, startTestApi } from '../support/local-aws.js';
import {
  createTopic,
  eventually,
  headerText,
  produce,
  readPartition,
  subscribe,
} from '../support/subscriptions.js';

const TRANSFORM = 'test/fixtures/subscribers/transform.ts';
const faults = createFaultInjector({ seed: 3 });
let api: ApiClient;
let dispatcher: LocalDispatcher;
let close: () => Promise<void>;
/** Appends through clients without faults, so the faults meet only the dispatcher's transactions. */
let cleanProducer: LogService;

beforeAll(async () => {
  const runtime = await createTestRuntime({ tablePrefix: 'eos', decorateDynamoDb: faults.install });
  const server = await startTestApi(runtime);
  cleanProducer = servicesFor(createRuntime(runtime.config)).log;
  dispatcher = startLocalDispatcher(runtime, {
    sweepIntervalMs: 250,
    dispatcher: { backoff: { baseMs: 20, capMs: 200 }, waitMsMax: 2_000 },
    onError: () => undefined,
  });
  const follower = followStream(
    runtime,
    runtime.config.logTableName,
    async (event) => {
      await dispatcher.consume(event);
      return undefined;
    },
    { filter: dispatcher.filter, idlePollMs: 50 },
  );
  api = apiClient(server.url);
  close = async () => {
    await follower.stop();
    await dispatcher.stop();
    await server.close();
  };
}, 60_000);
afterAll(() => close());
beforeEach(() => faults.reset());

/** The `from` offsets of the output records, sorted. */
async function outputSources(topic: string): Promise<number[]> {
  const records = await readPartition(api, topic);
  return records.map((record) => (record.value.data as { from: number }).from).sort((a, b) => a - b);
}

/** Records `{"n": first}` to `{"n": first + count - 1}`, keyed, as the domain takes them. */
const records = (first: number, count: number) =>
  Array.from({ length: count }, (_, index) => ({
    key: { type: 'STRING' as const, bytes: Buffer.from(`k-${first + index}`) },
    value: { type: 'JSON' as const, bytes: Buffer.from(JSON.stringify({ n: first + index })) },
    headers: [],
  }));

const numbered = (count: number, extra: (n: number) => Record<string, unknown> = () => ({})) =>
  Array.from({ length: count }, (_, n) => ({
    key: { type: 'STRING', data: `k-${n}` },
    value: json({ n, ...extra(n) }),
  }));

describe('a subscription with an output topic', () => {
  it('appends each output once when the transaction fails and the batch is invoked again', async () => {
    // Prepare: the dispatcher's first two transactions are throttled (nothing written, the run gives
    // the partition up), a later one times out after it applied. Records come from a producer
    // without faults.
    await createTopic(api, 'eos-in-a');
    await createTopic(api, 'eos-out-a');
    await subscribe(api, {
      name: 'eos-a',
      topic: 'eos-in-a',
      outputTopic: 'eos-out-a',
      startingPosition: 'TRIM_HORIZON',
      target: { module: TRANSFORM, handler: 'handler' },
      maxBatchingWindowMs: 0,
    });
    await dispatcher.idle();
    faults.add({ commands: ['TransactWriteItems'], fault: 'throttle', times: 2 });

    // Act
    await cleanProducer.produce('eos-in-a', records(0, 10));
    await eventually(async () => (await outputSources('eos-out-a')).length >= 10, '10 outputs');
    faults.add({ commands: ['TransactWriteItems'], fault: 'timeoutAfterWrite', times: 1 });
    await cleanProducer.produce('eos-in-a', records(10, 5));
    await eventually(async () => (await outputSources('eos-out-a')).length >= 15, '15 outputs');
    await dispatcher.idle();

    // Assess: the first batch was invoked again after the failed transactions, yet output once.
    const invocations = invocationsOf('eos-in-a').filter((invocation) => invocation.records[0]?.offset === 0);
    expect(invocations.length).toBeGreaterThan(1);
    expect(faults.count('throttle')).toBe(2);
    expect(faults.count('timeoutAfterWrite')).toBe(1);
    expect(await outputSources('eos-out-a')).toEqual(Array.from({ length: 15 }, (_, n) => n));
    const group = await api.get('/v1/groups/eos-a');
    expect(group.body.offsets).toEqual([expect.objectContaining({ topic: 'eos-in-a', committedOffset: 15 })]);
  });

  it('with a poison record bisected out: outputs of the others once, the poison dead-lettered once', async () => {
    // Prepare
    await createTopic(api, 'eos-in-b');
    await createTopic(api, 'eos-out-b');
    await createTopic(api, 'eos-dlq-b');
    await produce(
      api,
      'eos-in-b',
      numbered(12, (n) => (n === 7 ? { poison: true } : {})),
    );

    // Act
    await subscribe(api, {
      name: 'eos-b',
      topic: 'eos-in-b',
      outputTopic: 'eos-out-b',
      startingPosition: 'TRIM_HORIZON',
      target: { module: TRANSFORM, handler: 'handler' },
      maxBatchingWindowMs: 0,
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      retryAttempts: 2,
      onFailure: { topic: 'eos-dlq-b' },
    });
    await eventually(async () => (await readPartition(api, 'eos-dlq-b')).length >= 1, 'the dead letter');
    await eventually(async () => (await outputSources('eos-out-b')).length >= 11, '11 outputs');
    await dispatcher.idle();

    // Assess
    expect(await outputSources('eos-out-b')).toEqual([0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11]);
    const deadLetters = await readPartition(api, 'eos-dlq-b');
    expect(deadLetters).toHaveLength(1);
    expect(headerText(deadLetters[0], 'shoal.dlq.offset')).toBe('7');
  });

  it('fails a batch whose answer holds records that are not records, and outputs nothing for it', async () => {
    // Prepare
    await createTopic(api, 'eos-in-c');
    await createTopic(api, 'eos-out-c');
    await produce(api, 'eos-in-c', numbered(2));

    // Act
    await subscribe(api, {
      name: 'eos-c',
      topic: 'eos-in-c',
      outputTopic: 'eos-out-c',
      startingPosition: 'TRIM_HORIZON',
      target: { module: TRANSFORM, handler: 'malformed' },
      maxBatchingWindowMs: 0,
      retryAttempts: 1,
    });
    await eventually(async () => {
      const group = await api.get('/v1/groups/eos-c');
      return group.body.offsets?.[0]?.committedOffset === 2;
    }, 'the batch given up');

    // Assess
    expect(await readPartition(api, 'eos-out-c')).toEqual([]);
    const subscription = await api.get('/v1/subscriptions/eos-c');
    expect(JSON.stringify(subscription.body)).toContain('Invalid records in the answer');
  });
});

describe('bad output topics', () => {
  it('fails with 400 when the output topic is the subscribed topic, and creates nothing', async () => {
    await createTopic(api, 'eos-in-d');

    const answer = await api.post('/v1/subscriptions', {
      name: 'eos-d',
      topic: 'eos-in-d',
      outputTopic: 'eos-in-d',
      target: { module: TRANSFORM, handler: 'handler' },
    });

    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toContain('application/problem+json');
    expect(answer.body).toMatchObject({ field: 'outputTopic' });
    expect((await api.get('/v1/subscriptions/eos-d')).status).toBe(404);
    expect((await api.get('/v1/groups/eos-d')).status).toBe(404);
  });

  it('fails with 400 when the output topic is the dead-letter topic, or does not exist', async () => {
    await createTopic(api, 'eos-in-e');
    await createTopic(api, 'eos-dlq-e');
    const request = (outputTopic: string) =>
      api.post('/v1/subscriptions', {
        name: 'eos-e',
        topic: 'eos-in-e',
        outputTopic,
        onFailure: { topic: 'eos-dlq-e' },
        target: { module: TRANSFORM, handler: 'handler' },
      });

    const same = await request('eos-dlq-e');
    const missing = await request('eos-nowhere');

    expect(same.status).toBe(400);
    expect(same.body.detail).toContain('must differ from the dead-letter topic');
    expect(missing.status).toBe(400);
    expect(missing.body.detail).toContain("the output topic 'eos-nowhere' does not exist");
    expect((await api.get('/v1/subscriptions/eos-e')).status).toBe(404);
  });
});
