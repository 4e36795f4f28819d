/**
 * resolveSubscriptionConfig (subscription.ts): the defaults a request leaves to Shoal, each
 * numeric bound at its limit and one past it, the -1 values that mean "forever" and "no limit",
 * and the rules that tie fields together (the dead-letter and output topics, the starting position
 * and its timestamp, the consumer group, a module's timeout), each refusal naming its field.
 */
import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../shared/domain/errors.js';
import {
  isModuleTarget,
  resolveSubscriptionConfig,
  SUBSCRIPTION_LIMITS,
  type SubscriptionInput,
  validateSubscriptionName,
} from '../../shared/domain/subscription.js';

const FN = 'arn:aws:lambda:eu-west-1:123456789012:function:consumer';

const input = (extra: Partial<SubscriptionInput> = {}): SubscriptionInput => ({
  name: 'billing',
  topic: 'orders',
  target: { functionArn: FN },
  ...extra,
});

/** The error resolveSubscriptionConfig throws for `request`, or a failure when it throws none. */
function refusal(request: SubscriptionInput): InvalidRequestError {
  try {
    resolveSubscriptionConfig(request);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRequestError);
    return error as InvalidRequestError;
  }
  throw new Error('expected a refusal');
}

describe('resolveSubscriptionConfig defaults', () => {
  it("applies Lambda's Kafka defaults to a request that names only the name, topic and target", () => {
    const config = resolveSubscriptionConfig(input());

    expect(config).toEqual({
      name: 'billing',
      topic: 'orders',
      target: { functionArn: FN },
      startingPosition: 'LATEST',
      startingPositionTimestamp: undefined,
      batchSize: 100,
      maxBatchingWindowMs: 500,
      retryAttempts: 10,
      maxRecordAgeMs: -1,
      bisectBatchOnError: false,
      reportBatchItemFailures: false,
      onFailure: undefined,
      outputTopic: undefined,
      filters: [],
      enabled: true,
      consumerGroupId: 'billing',
    });
  });

  it('keeps every option the request gives', () => {
    const filters = ['{"value": {"kind": ["paid"]}}'];

    const config = resolveSubscriptionConfig(
      input({
        startingPosition: 'AT_TIMESTAMP',
        startingPositionTimestamp: 1_700_000_000_000,
        batchSize: 7,
        maxBatchingWindowMs: 0,
        retryAttempts: -1,
        maxRecordAgeMs: 60_000,
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        onFailure: { topic: 'orders-dlq' },
        outputTopic: 'invoices',
        filters,
        enabled: false,
        consumerGroupId: 'billing-v2',
      }),
    );

    expect(config).toEqual({
      name: 'billing',
      topic: 'orders',
      target: { functionArn: FN },
      startingPosition: 'AT_TIMESTAMP',
      startingPositionTimestamp: 1_700_000_000_000,
      batchSize: 7,
      maxBatchingWindowMs: 0,
      retryAttempts: -1,
      maxRecordAgeMs: 60_000,
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      onFailure: { topic: 'orders-dlq' },
      outputTopic: 'invoices',
      filters,
      enabled: false,
      consumerGroupId: 'billing-v2',
    });
    expect(config.filters).not.toBe(filters);
  });
});

describe('resolveSubscriptionConfig bounds', () => {
  it.each([
    ['batchSize', 1, 10_000],
    ['maxBatchingWindowMs', 0, 300_000],
    ['retryAttempts', 0, 10_000],
    ['maxRecordAgeMs', 60_000, 604_800_000],
  ] as const)('takes %s from %d to %d', (field, min, max) => {
    expect(resolveSubscriptionConfig(input({ [field]: min }))[field]).toBe(min);
    expect(resolveSubscriptionConfig(input({ [field]: max }))[field]).toBe(max);
  });

  it.each([
    ['batchSize', 0],
    ['batchSize', 10_001],
    ['batchSize', 2.5],
    ['maxBatchingWindowMs', -1],
    ['maxBatchingWindowMs', 300_001],
    ['retryAttempts', -2],
    ['retryAttempts', 10_001],
    ['retryAttempts', 0.5],
    ['maxRecordAgeMs', 59_999],
    ['maxRecordAgeMs', 604_800_001],
    ['maxRecordAgeMs', 0],
  ] as const)('fails when %s is %d, naming the field and the range', (field, value) => {
    const error = refusal(input({ [field]: value }));

    expect(error.field).toBe(field);
    expect(error.message).toContain(`${field} must be`);
    expect(error.message).toContain(`got ${value}`);
  });

  it('names -1 as the other value retryAttempts and maxRecordAgeMs take', () => {
    expect(refusal(input({ retryAttempts: -2 })).message).toBe(
      'retryAttempts must be -1 (forever) or a whole number from 0 to 10000, got -2',
    );
    expect(refusal(input({ maxRecordAgeMs: 1 })).message).toBe(
      'maxRecordAgeMs must be -1 (no limit) or a whole number from 60000 to 604800000, got 1',
    );
    expect(refusal(input({ batchSize: 0 })).message).toBe(
      'batchSize must be a whole number from 1 to 10000, got 0',
    );
  });

  it('publishes the limits it checks', () => {
    expect(SUBSCRIPTION_LIMITS).toMatchObject({
      batchSizeMin: 1,
      batchSizeMax: 10_000,
      maxBatchingWindowMsMax: 300_000,
      retryAttemptsMax: 10_000,
      maxRecordAgeMsMin: 60_000,
      maxRecordAgeMsMax: 604_800_000,
      functionTimeoutMsMax: 900_000,
    });
  });
});

describe('resolveSubscriptionConfig rules between fields', () => {
  it('fails when the dead-letter topic is the subscribed topic', () => {
    const error = refusal(input({ onFailure: { topic: 'orders' } }));

    expect(error.field).toBe('onFailure.topic');
    expect(error.message).toContain("'orders'");
  });

  it('fails when the output topic is the subscribed topic or the dead-letter topic', () => {
    expect(refusal(input({ outputTopic: 'orders' })).field).toBe('outputTopic');
    expect(refusal(input({ onFailure: { topic: 'dlq' }, outputTopic: 'dlq' })).field).toBe('outputTopic');
    expect(
      resolveSubscriptionConfig(input({ onFailure: { topic: 'dlq' }, outputTopic: 'out' })),
    ).toMatchObject({ onFailure: { topic: 'dlq' }, outputTopic: 'out' });
  });

  it('takes an output topic without a dead-letter topic', () => {
    expect(resolveSubscriptionConfig(input({ outputTopic: 'out' })).outputTopic).toBe('out');
  });

  it('fails when AT_TIMESTAMP comes without a timestamp, or a timestamp without AT_TIMESTAMP', () => {
    const missing = refusal(input({ startingPosition: 'AT_TIMESTAMP' }));
    const stray = refusal(input({ startingPosition: 'TRIM_HORIZON', startingPositionTimestamp: 5 }));
    const strayByDefault = refusal(input({ startingPositionTimestamp: 5 }));

    expect(missing.field).toBe('startingPositionTimestamp');
    expect(stray.field).toBe('startingPositionTimestamp');
    expect(stray.message).toContain('not TRIM_HORIZON');
    expect(strayByDefault.message).toContain('not LATEST');
  });

  it('takes AT_TIMESTAMP with a timestamp of 0, the epoch', () => {
    expect(
      resolveSubscriptionConfig(input({ startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: 0 })),
    ).toMatchObject({ startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: 0 });
  });

  it('fails when a filter pattern is malformed, naming the filter', () => {
    const error = refusal(input({ filters: ['{"value": ["ok"]}', '{"key": ["a"]}'] }));

    expect(error.field).toBe('filters[1].pattern');
  });

  it('fails when the consumer group named is not a group name, naming consumerGroupId', () => {
    const error = refusal(input({ consumerGroupId: 'no spaces' }));

    expect(error.field).toBe('consumerGroupId');
    expect(error.message).toContain("'no spaces'");
  });

  it("takes a module's timeout from 1 ms to Lambda's 900 s, and nothing outside", () => {
    const module = (timeoutMs: number) =>
      input({ target: { module: 'handler.js', handler: 'main', timeoutMs } });

    expect(resolveSubscriptionConfig(module(1)).target).toEqual({
      module: 'handler.js',
      handler: 'main',
      timeoutMs: 1,
    });
    expect(resolveSubscriptionConfig(module(900_000)).target).toMatchObject({ timeoutMs: 900_000 });
    expect(refusal(module(0)).field).toBe('target.timeoutMs');
    expect(refusal(module(900_001)).field).toBe('target.timeoutMs');
  });

  it('tells a module target from a function target', () => {
    expect(isModuleTarget({ module: 'm.js', handler: 'h', timeoutMs: 3_000 })).toBe(true);
    expect(isModuleTarget({ functionArn: FN })).toBe(false);
  });
});

describe('validateSubscriptionName', () => {
  it.each([['a'], ['A-z_0.9'], ['x'.repeat(249)]])('takes %s', (name) => {
    expect(() => validateSubscriptionName(name)).not.toThrow();
  });

  it.each([[''], ['x'.repeat(250)], ['with space'], ['slash/name'], ['ünïcode']])(
    'fails for %j, naming the field',
    (name) => {
      const fail = () => validateSubscriptionName(name);

      expect(fail).toThrow(InvalidRequestError);
      expect(fail).toThrow(/Subscription name must be 1 to 249/);
      expect(refusal(input({ name })).field).toBe('name');
    },
  );
});
