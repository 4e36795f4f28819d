import {
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RetryableError } from '../../shared/domain/errors.js';
import type { Runtime } from '../../shared/runtime.js';
import { createFaultInjector, type FaultInjector } from '../support/faults.js';
import { createTestRuntime } from '../support/local-aws.js';

let faults: FaultInjector;
let runtime: Runtime;
let itemNumber = 0;

beforeAll(async () => {
  faults = createFaultInjector({ seed: 42 });
  runtime = await createTestRuntime({ tablePrefix: 'faults', decorateDynamoDb: faults.install });
});
beforeEach(() => faults.reset());

/** A fresh meta-table key per call, so tests never see each other's items. */
function freshKey(): { pk: string; sk: string } {
  itemNumber++;
  return { pk: `item-${itemNumber}`, sk: 'v' };
}

const put = (key: { pk: string; sk: string }, value = 1) =>
  runtime.documents.send(
    new PutCommand({ TableName: runtime.config.metaTableName, Item: { ...key, value } }),
  );

const read = async (key: { pk: string; sk: string }) =>
  (
    await runtime.documents.send(
      new GetCommand({ TableName: runtime.config.metaTableName, Key: key, ConsistentRead: true }),
    )
  ).Item;

/** Two puts in one transaction, the first conditional on the item being absent. */
const transaction = (first: { pk: string; sk: string }, second: { pk: string; sk: string }) =>
  runtime.documents.send(
    new TransactWriteCommand({
      TransactItems: [
        {
          Put: {
            TableName: runtime.config.metaTableName,
            Item: { ...first, value: 1 },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        { Put: { TableName: runtime.config.metaTableName, Item: { ...second, value: 2 } } },
      ],
    }),
  );

async function caught(action: () => Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await action();
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected the action to fail');
}

describe('fault injection against DynamoDB Local', () => {
  it('throttles the next N matching calls with the SDK-shaped error, writing nothing', async () => {
    const key = freshKey();
    faults.add({ commands: ['PutItem'], fault: 'throttle', times: 2 });

    const first = await caught(() => put(key));
    const second = await caught(() => put(key));
    const itemAfterThrottles = await read(key);
    await put(key);

    // The runtime's client translates throttling once for every adapter; the SDK's error is the cause.
    expect(first).toBeInstanceOf(RetryableError);
    expect(first).toMatchObject({ reason: 'throttled' });
    expect(first.cause).toBeInstanceOf(ProvisionedThroughputExceededException);
    expect(first.cause).toMatchObject({
      name: 'ProvisionedThroughputExceededException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400, attempts: 1 },
    });
    expect((first.cause as Record<string, unknown>).$retryable).toBeUndefined();
    expect((second.cause as Error).name).toBe('ProvisionedThroughputExceededException');
    expect(itemAfterThrottles).toBeUndefined();
    expect(await read(key)).toMatchObject({ value: 1 });
    expect(faults.count('throttle')).toBe(2);
  });

  it('throttles beneath the SDK retries on the attempt layer, which the SDK retries through', async () => {
    const key = freshKey();
    const rule = faults.add({ commands: ['PutItemCommand'], fault: 'throttle', times: 2, layer: 'attempt' });

    const output = await put(key);

    expect(output.$metadata.attempts).toBe(3);
    expect(rule.injected).toBe(2);
    expect(await read(key)).toMatchObject({ value: 1 });
  });

  it('cancels a transaction with TransactionConflict shaped like a real cancellation, writing nothing', async () => {
    const [first, second, taken] = [freshKey(), freshKey(), freshKey()];
    await put(taken);
    const real = await caught(() => transaction(taken, freshKey()));
    faults.add({ commands: ['TransactWriteItems'], fault: 'conflict', times: 1 });

    const injected = await caught(() => transaction(first, second));

    expect(injected).toBeInstanceOf(TransactionCanceledException);
    expect(injected.CancellationReasons).toEqual([
      { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' },
      { Code: 'None' },
    ]);
    expect(injected.message).toMatch(/^Transaction cancelled.*\[TransactionConflict, None\]$/);
    expect(Object.keys(injected).sort()).toEqual(Object.keys(real).sort());
    expect(injected).toMatchObject({
      name: real.name,
      $fault: real.$fault,
      $metadata: { httpStatusCode: 400 },
    });
    expect([await read(first), await read(second)]).toEqual([undefined, undefined]);
    await transaction(first, second);
    expect(await read(second)).toMatchObject({ value: 2 });
  });

  it('applies the write and then throws a TimeoutError, so the caller cannot tell it succeeded', async () => {
    const [first, second] = [freshKey(), freshKey()];
    faults.add({ commands: ['TransactWriteItems'], fault: 'timeoutAfterWrite', times: 1 });

    const error = await caught(() => transaction(first, second));

    expect(error.name).toBe('TimeoutError');
    expect(await read(first)).toMatchObject({ value: 1 });
    expect(await read(second)).toMatchObject({ value: 2 });
    expect(faults.count('timeoutAfterWrite')).toBe(1);
  });

  it('leaves commands that no rule names alone', async () => {
    const key = freshKey();
    faults.add({ commands: ['TransactWriteItems'], fault: 'throttle' });

    await put(key);

    expect(await read(key)).toMatchObject({ value: 1 });
    expect(faults.count()).toBe(0);
  });

  it('injects with a probability, repeatably for the same seed', async () => {
    const pattern = async (injector: FaultInjector) => {
      const seeded = await createTestRuntime({
        tablePrefix: 'faults-seeded',
        decorateDynamoDb: injector.install,
      });
      injector.add({ commands: ['GetItem'], fault: 'throttle', probability: 0.3 });
      const outcomes: boolean[] = [];
      for (let i = 0; i < 100; i++) {
        const failed = await seeded.documents
          .send(new GetCommand({ TableName: seeded.config.metaTableName, Key: { pk: 'p', sk: 's' } }))
          .then(
            () => false,
            () => true,
          );
        outcomes.push(failed);
      }
      return outcomes;
    };

    const once = await pattern(createFaultInjector({ seed: 7 }));
    const again = await pattern(createFaultInjector({ seed: 7 }));
    const otherSeed = await pattern(createFaultInjector({ seed: 8 }));

    const failures = once.filter(Boolean).length;
    expect(again).toEqual(once);
    expect(otherSeed).not.toEqual(once);
    expect(failures).toBeGreaterThan(15);
    expect(failures).toBeLessThan(45);
  });
});
