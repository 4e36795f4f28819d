/**
 * The subscriptions API on the local stack: create, list, describe, delete; a 400 naming the field
 * for each option out of bounds; consumer groups; and the visibility of failures (timeouts, old
 * records dead-lettered, the oldest undelivered record's age).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEAD_LETTER_HEADERS } from '../../shared/domain/dead-letter.js';
import { invocationsOf } from '../fixtures/subscribers/journal.js';
import { json } from '../support/http-client.js';
import {
  createTopic,
  describeSubscription,
  eventually,
  headerText,
  produce,
  readPartition,
  SUBSCRIBERS,
  type SubscriptionStack,
  startSubscriptionStack,
  subscribe,
} from '../support/subscriptions.js';

let stack: SubscriptionStack;

beforeAll(async () => {
  stack = await startSubscriptionStack('subs-api');
  await createTopic(stack.api, 'events', 2);
  await createTopic(stack.api, 'events-dlq');
});
afterAll(() => stack.close());

const recording = { module: SUBSCRIBERS.recording };

describe('POST /v1/subscriptions', () => {
  it('creates a subscription with Lambda’s defaults and its own consumer group', async () => {
    // Act
    const created = await subscribe(stack.api, { name: 'defaults', topic: 'events', target: recording });

    // Assess
    expect(created).toMatchObject({
      name: 'defaults',
      topic: 'events',
      target: { module: SUBSCRIBERS.recording, handler: 'handler', timeoutMs: 3000 },
      state: 'Enabled',
      startingPosition: 'LATEST',
      startingPositionTimestamp: null,
      batchSize: 100,
      maxBatchingWindowMs: 500,
      retryAttempts: 10,
      maxRecordAgeMs: -1,
      bisectBatchOnError: false,
      reportBatchItemFailures: false,
      onFailure: null,
      filters: [],
      consumerGroupId: 'defaults',
    });
    const group = await stack.api.get('/v1/groups/defaults');
    expect(group.status).toBe(200);
    expect(group.body.offsets.map((offset: any) => offset.committedOffset)).toEqual([0, 0]);
    const listed = await stack.api.get('/v1/subscriptions');
    expect(listed.body.subscriptions.map((subscription: any) => subscription.name)).toContain('defaults');
  });

  it.each([
    [{ batchSize: 0 }, 'batchSize'],
    [{ batchSize: 10_001 }, 'batchSize'],
    [{ maxBatchingWindowMs: 300_001 }, 'maxBatchingWindowMs'],
    [{ retryAttempts: -2 }, 'retryAttempts'],
    [{ retryAttempts: 10_001 }, 'retryAttempts'],
    [{ maxRecordAgeMs: 59_999 }, 'maxRecordAgeMs'],
    [{ maxRecordAgeMs: 604_800_001 }, 'maxRecordAgeMs'],
    [{ startingPosition: 'EARLIEST' }, 'startingPosition'],
    [{ startingPosition: 'AT_TIMESTAMP' }, 'startingPositionTimestamp'],
    [{ startingPositionTimestamp: 1_700_000_000_000 }, 'startingPositionTimestamp'],
    [{ filters: [{ pattern: '{"key": ["a"]}' }] }, 'filters[0].pattern'],
    [{ filters: [{ pattern: '{"value": {"a": [{"wildcard": "*"}]}}' }] }, 'filters[0].pattern'],
    [{ filters: [{ pattern: 'not json' }] }, 'filters[0].pattern'],
    [{ target: { functionArn: 'my-function' } }, 'target.functionArn'],
    [
      {
        target: {
          module: SUBSCRIBERS.recording,
          functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f',
        },
      },
      'target',
    ],
    [{ target: { module: 'test/fixtures/subscribers/missing.ts' } }, 'target.module'],
    [{ target: { module: SUBSCRIBERS.recording, timeoutMs: 900_001 } }, 'target.timeoutMs'],
    [{ onFailure: { topic: 'events' } }, 'onFailure.topic'],
    [{ onFailure: { topic: 'no-such-dlq' } }, 'onFailure.topic'],
    [{ consumerGroupId: 'has space' }, 'consumerGroupId'],
    [{ name: 'bad/name' }, 'name'],
    [{ parallelizationFactor: 2 }, 'body'],
  ])('fails with 400 naming the field when given %j', async (change, field) => {
    // Act
    const answer = await stack.api.post('/v1/subscriptions', {
      name: 'invalid',
      topic: 'events',
      target: recording,
      ...change,
    });

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toBe('application/problem+json');
    expect(answer.body.field).toBe(field);
    expect(answer.body.detail).toMatch(field === 'body' ? /parallelizationFactor/ : /./);
  });

  it('fails with 413 naming the list when given more filters than the limit', async () => {
    // Act
    const answer = await stack.api.post('/v1/subscriptions', {
      name: 'invalid',
      topic: 'events',
      target: recording,
      filters: Array.from({ length: 6 }, () => ({ pattern: '{"value": ["a"]}' })),
    });

    // Assess
    expect(answer.status).toBe(413);
    expect(answer.headers.get('content-type')).toBe('application/problem+json');
    expect(answer.body).toMatchObject({ limit: 'filters', value: 6, max: 5 });
  });

  it('fails with 404 when the topic does not exist', async () => {
    const answer = await stack.api.post('/v1/subscriptions', {
      name: 'orphan',
      topic: 'nope',
      target: recording,
    });
    expect(answer.status).toBe(404);
    expect(answer.body.error_code).toBe(40401);
  });

  it('fails with 409 when the name is taken or the group serves another subscription', async () => {
    // Prepare
    await subscribe(stack.api, { name: 'taken', topic: 'events', target: recording });

    // Act
    const again = await stack.api.post('/v1/subscriptions', {
      name: 'taken',
      topic: 'events',
      target: recording,
    });
    const sharing = await stack.api.post('/v1/subscriptions', {
      name: 'sharing',
      topic: 'events',
      target: recording,
      consumerGroupId: 'taken',
    });

    // Assess
    expect(again.status).toBe(409);
    expect(again.body.error_code).toBe(40915);
    expect(sharing.status).toBe(409);
    expect(sharing.body.detail).toContain("already serves subscription 'taken'");
  });
});

describe('DELETE /v1/subscriptions/{name}', () => {
  it('deletes the subscription and the group named after it, but keeps a group the request named', async () => {
    // Prepare
    await subscribe(stack.api, { name: 'short-lived', topic: 'events', target: recording });
    await subscribe(stack.api, {
      name: 'named-group',
      topic: 'events',
      target: recording,
      consumerGroupId: 'kept',
    });

    // Act
    const deleted = await stack.api.delete('/v1/subscriptions/short-lived');
    const deletedNamed = await stack.api.delete('/v1/subscriptions/named-group');

    // Assess
    expect(deleted.status).toBe(204);
    expect(deletedNamed.status).toBe(204);
    expect((await stack.api.get('/v1/subscriptions/short-lived')).status).toBe(404);
    expect((await stack.api.get('/v1/subscriptions/short-lived')).body.error_code).toBe(40405);
    expect((await stack.api.get('/v1/groups/short-lived')).status).toBe(404);
    expect((await stack.api.get('/v1/groups/kept')).status).toBe(200);
    expect((await stack.api.delete('/v1/subscriptions/short-lived')).status).toBe(404);
  });
});

describe('GET /v1/subscriptions/{name}', () => {
  it('shows a timed-out invocation as an error and its retry, then the delivery', async () => {
    // Prepare
    await createTopic(stack.api, 'slow-topic');
    await subscribe(stack.api, {
      name: 'slow-sub',
      topic: 'slow-topic',
      target: { module: SUBSCRIBERS.slow, timeoutMs: 300 },
      maxBatchingWindowMs: 0,
    });

    // Act
    await produce(stack.api, 'slow-topic', [{ value: json({ n: 1 }) }]);

    // Assess
    const description = await eventually(async () => {
      const described = await describeSubscription(stack.api, 'slow-sub');
      return described.totals.delivered === 1 && described;
    }, 'the delivery after the timeout');
    expect(description.totals).toMatchObject({
      errors: 1,
      invocations: 2,
      lag: 0,
      oldestUndeliveredAgeMs: 0,
    });
    expect(description.partitions[0].lastError.message).toMatch(
      /^Sandbox\.Timedout: Task timed out after 0\.30 seconds/,
    );
    expect(invocationsOf('slow-topic')).toHaveLength(2);
  });

  it('dead-letters records older than maxRecordAgeMs without delivering them', async () => {
    // Prepare
    await createTopic(stack.api, 'aging');
    await subscribe(stack.api, {
      name: 'aging-sub',
      topic: 'aging',
      target: recording,
      maxBatchingWindowMs: 0,
      maxRecordAgeMs: 60_000,
      onFailure: { topic: 'events-dlq' },
    });

    // Act
    await produce(stack.api, 'aging', [
      { value: json({ stale: true }), timestamp: Date.now() - 120_000 },
      { value: json({ stale: false }) },
    ]);

    // Assess
    const [letter] = await eventually(async () => {
      const records = await readPartition(stack.api, 'events-dlq');
      const mine = records.filter(
        (record) => headerText(record, DEAD_LETTER_HEADERS.subscription) === 'aging-sub',
      );
      return mine.length > 0 && mine;
    }, 'the stale record in the dead-letter topic');
    expect(letter.value).toEqual(json({ stale: true }));
    expect(headerText(letter, DEAD_LETTER_HEADERS.reason)).toBe('record-age-exceeded');
    await eventually(() => invocationsOf('aging').length > 0, 'the fresh record');
    expect(
      invocationsOf('aging').flatMap((invocation) => invocation.records.map((record) => record.offset)),
    ).toEqual([1]);
  });

  it('reports the lag and the age of the oldest undelivered record of a disabled subscription', async () => {
    // Prepare
    await createTopic(stack.api, 'paused');
    await subscribe(stack.api, {
      name: 'paused-sub',
      topic: 'paused',
      target: recording,
      startingPosition: 'TRIM_HORIZON',
      enabled: false,
    });

    // Act
    await produce(stack.api, 'paused', [
      { value: json({ n: 1 }), timestamp: Date.now() - 30_000 },
      { value: json({ n: 2 }) },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 600)); // a sweep and the stream come and go

    // Assess
    const description = await describeSubscription(stack.api, 'paused-sub');
    expect(description.state).toBe('Disabled');
    expect(description.totals.lag).toBe(2);
    expect(description.partitions[0]).toMatchObject({
      committedOffset: 0,
      highWatermark: 2,
      lag: 2,
      invocations: 0,
    });
    expect(description.totals.oldestUndeliveredAgeMs).toBeGreaterThanOrEqual(30_000);
    expect(invocationsOf('paused')).toHaveLength(0);
  });
});
