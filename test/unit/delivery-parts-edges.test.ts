/**
 * Edges of the delivery parts alone: tombstones in a batch, the count of records a partly failed
 * batch delivered, the size of a dead-letter chunk counted by keys and headers too, the cause of
 * a missing dead-letter topic, a BINARY value that is a number, and progress whose save failed.
 */
import { describe, expect, it } from 'vitest';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemorySubscriptionStore } from '../../shared/adapters/memory/subscription-store.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import { type BatchEvent, buildBatchEvent, readInvocation } from '../../shared/domain/batch-invocation.js';
import { type GivenUp, writeDeadLetters } from '../../shared/domain/dead-letter.js';
import { settleBatch } from '../../shared/domain/delivery.js';
import { OutputRecordsError, outputRecordsOf } from '../../shared/domain/delivery-output.js';
import { DeliveryProgress } from '../../shared/domain/delivery-progress.js';
import { TopicNotFoundError } from '../../shared/domain/errors.js';
import { readBatchAnswer } from '../../shared/domain/kafka-event.js';
import { LogService } from '../../shared/domain/log-service.js';
import type { LogRecord } from '../../shared/domain/record.js';
import { resolveSubscriptionConfig, type Subscription } from '../../shared/domain/subscription.js';
import { TopicService } from '../../shared/domain/topic-service.js';
import { manualClock } from '../support/manual-clock.js';

const START = 1_800_000_000_000;

const subscription = (onFailure?: { topic: string }): Subscription => ({
  ...resolveSubscriptionConfig({
    name: 'sub',
    topic: 't',
    target: { functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:f' },
    ...(onFailure ? { onFailure } : {}),
  }),
  subscriptionId: 'sid',
  consumerGroupIdGiven: false,
  createdAt: START,
});

const record = (offset: number, over: Partial<LogRecord> = {}): LogRecord => ({
  offset,
  timestamp: START,
  key: null,
  value: { type: 'STRING', bytes: new TextEncoder().encode('v') },
  headers: [],
  ...over,
});

describe('a batch and its answer', () => {
  it('delivers a tombstone (a record without value) through the filters', () => {
    const batch = buildBatchEvent([record(0, { value: null })], {
      subscription: subscription(),
      filter: () => true,
      topic: 't',
      partition: 0,
      bootstrapServers: 'shoal.test',
      now: START,
    });

    expect(batch.deliverable.map((r) => r.offset)).toEqual([0]);
    expect(JSON.parse(batch.payload).records['t-0'][0]).not.toHaveProperty('value');
  });

  it('counts as delivered the records before the one a partial failure names', () => {
    const records = [record(5), record(6), record(7), record(8)];
    const batch: BatchEvent = {
      records,
      deliverable: records,
      expired: new Set(),
      filtered: new Set(),
      payload: '',
    };

    const invoked = readInvocation(
      { kind: 'returned', answer: { batchItemFailures: [{ itemIdentifier: 't-0-6' }] } },
      batch,
      { reportBatchItemFailures: true, topic: 't', partition: 0, batchStart: 5 },
      START,
    );

    expect(invoked.delivered).toBe(1);
    expect(invoked.counts).toEqual({ invocations: 1, errors: 1, delivered: 1 });
  });
});

describe('dead-letter chunks', () => {
  async function logWorld() {
    const clock = manualClock(START);
    const topics = new MemoryTopicStore();
    const partitionLog = new MemoryPartitionLog({ now: clock.now });
    const log = new LogService(topics, partitionLog, clock);
    await new TopicService(topics, partitionLog, clock).create({ name: 'dlq', partitions: 1 });
    const sizes: number[] = [];
    const recording = Object.create(log) as LogService;
    recording.produce = async (topic, records, key) => {
      sizes.push(records.length);
      return log.produce(topic, records, key);
    };
    return { log, recording, sizes };
  }
  const given = (records: LogRecord[]): GivenUp[] =>
    records.map((r) => ({ record: r, reason: 'retries-exhausted', attempts: 1 }));
  const big = () => new Uint8Array(300_000).fill(1);

  it('counts keys in the 1.5 MB of a chunk, for records without value too', async () => {
    const w = await logWorld();
    const records = [0, 1, 2, 3, 4, 5].map((offset) =>
      record(offset, { key: { type: 'BINARY', bytes: big() }, value: null }),
    );

    await writeDeadLetters(
      w.recording,
      { subscription: subscription({ topic: 'dlq' }), topic: 't', partition: 0 },
      given(records),
      undefined,
    );

    expect(w.sizes).toEqual([4, 2]);
  });

  it("counts headers' values in the 1.5 MB of a chunk", async () => {
    const w = await logWorld();
    const records = [0, 1, 2, 3, 4, 5].map((offset) =>
      record(offset, { headers: [{ name: 'blob', value: big() }] }),
    );

    await writeDeadLetters(
      w.recording,
      { subscription: subscription({ topic: 'dlq' }), topic: 't', partition: 0 },
      given(records),
      undefined,
    );

    expect(w.sizes).toEqual([4, 2]);
  });

  it('names the missing topic as the cause when the dead-letter topic does not exist', async () => {
    const w = await logWorld();

    const failure = await writeDeadLetters(
      w.recording,
      { subscription: subscription({ topic: 'gone' }), topic: 't', partition: 0 },
      given([record(0)]),
      undefined,
    ).catch((error: unknown) => error);

    expect((failure as Error).cause).toBeInstanceOf(TopicNotFoundError);
  });
});

describe('a BINARY value that is a number', () => {
  it('fails as not base64, with the error of bad records', () => {
    expect(() => outputRecordsOf({ records: [{ value: { type: 'BINARY', data: 1234 } }] })).toThrow(
      new OutputRecordsError('records[0].value.data must be base64'),
    );
  });
});

describe('progress whose save failed', () => {
  async function progressWorld() {
    const clock = manualClock(START);
    const store = new MemorySubscriptionStore();
    const sub = subscription();
    await store.create(sub);
    const state = await store.acquireLease(sub, 0, 'run-1', START + 1_000, START);
    if (!state) throw new Error('acquired');
    const progress = new DeliveryProgress(
      store,
      clock,
      { subscription: sub, partition: 0, owner: 'run-1', leaseMs: 5_000 },
      state,
    );
    return { clock, store, sub, progress };
  }

  it('keeps the counts unsaved, to save them with a later save', async () => {
    const w = await progressWorld();
    w.progress.count({ delivered: 2 }, true);
    w.clock.advance(2_000);
    await w.store.acquireLease(w.sub, 0, 'rival', START + 3_000, w.clock.now());
    const lost = await w.progress.flush(undefined, undefined);
    await w.store.releaseLease(w.sub, 0, 'rival');
    await w.store.acquireLease(w.sub, 0, 'run-1', w.clock.now() + 5_000, w.clock.now());

    const saved = await w.progress.flush(undefined, undefined);

    expect(lost).toBe(false);
    expect(saved).toBe(true);
    expect((await w.store.readStates(w.sub))[0]?.counters.delivered).toBe(2);
  });

  it('keeps the lease end, the retry and the time of the last save it knew', async () => {
    const w = await progressWorld();
    w.clock.advance(500);
    await w.store.acquireLease(w.sub, 0, 'rival', START + 60_000, START + 2_000);
    const retry = { start: 0, end: 1, attempts: 1, retryAt: START };

    const saved = await w.progress.save({}, undefined, retry);

    expect(saved).toBe(false);
    expect(w.progress.leaseEndsWithin(501)).toBe(true);
    expect(w.progress.isDue(undefined, retry)).toBe(true);
    expect(w.progress.isDue(undefined, undefined)).toBe(false);
  });
});

describe('settleBatch at its edges', () => {
  const settle = (
    outcome: Parameters<typeof settleBatch>[0]['outcome'],
    retryAttempts: number,
    attempts?: number,
  ) =>
    settleBatch({
      batchStart: 10,
      batchEnd: 20,
      outcome,
      retry: attempts === undefined ? undefined : { start: 10, end: 20, attempts, retryAt: 0 },
      policy: { bisectBatchOnError: false, retryAttempts },
      now: 1_000,
      backoffMs: (n) => n * 100,
    });

  it('retries a batch exactly retryAttempts times before it gives up', () => {
    expect(settle({ kind: 'failure', progressTo: 10 }, 2, 1).retry).toMatchObject({ attempts: 2 });
    expect(settle({ kind: 'failure', progressTo: 10 }, 2, 2)).toEqual({
      commitTo: 20,
      retry: undefined,
      deadLetter: { from: 10, to: 20, attempts: 3 },
      bisected: false,
    });
  });

  it('backs a throttled first attempt off as a first retry, counting nothing', () => {
    expect(settle({ kind: 'throttled' }, 2)).toEqual({
      commitTo: 10,
      retry: { start: 10, end: 20, attempts: 0, retryAt: 1_100 },
      deadLetter: undefined,
      bisected: false,
    });
  });
});

describe('readBatchAnswer: the identifiers it takes', () => {
  const reason = (itemIdentifier: unknown, offsets = [0, 1, 2]) => {
    const answer = readBatchAnswer({ batchItemFailures: [{ itemIdentifier }] }, 'orders', 10, offsets);
    return answer.kind === 'invalid' ? answer.reason : answer;
  };
  const malformed = (got: string) =>
    `batchItemFailures[0].itemIdentifier must be {"partition": "orders-10", "offset": <n>} or "orders-10-<n>", got ${got}`;

  it('reads partitions of more than one digit in the string form', () => {
    expect(reason('orders-10-1')).toEqual({ kind: 'partial', failedOffset: 1 });
  });

  it('takes offset 0, and an offset as decimal digits only', () => {
    expect(reason({ partition: 'orders-10', offset: 0 })).toEqual({ kind: 'partial', failedOffset: 0 });
    expect(reason({ partition: 'orders-10', offset: '2' })).toEqual({ kind: 'partial', failedOffset: 2 });
    expect(reason({ partition: 'orders-10', offset: ' 1' })).toBe(
      malformed('{"partition":"orders-10","offset":" 1"}'),
    );
    expect(reason({ partition: 'orders-10', offset: '1 ' })).toBe(
      malformed('{"partition":"orders-10","offset":"1 "}'),
    );
    expect(reason({ partition: 'orders-10', offset: [1] })).toBe(
      malformed('{"partition":"orders-10","offset":[1]}'),
    );
    expect(reason({ partition: 'orders-10', offset: null })).toBe(
      malformed('{"partition":"orders-10","offset":null}'),
    );
    expect(reason({ partition: 'orders-10', offset: -1 })).toBe(
      malformed('{"partition":"orders-10","offset":-1}'),
    );
    expect(reason({ partition: 'orders-10', offset: 1.5 })).toBe(
      malformed('{"partition":"orders-10","offset":1.5}'),
    );
    expect(reason({ partition: 10, offset: 1 })).toBe(malformed('{"partition":10,"offset":1}'));
  });

  it('names an item that is null', () => {
    const answer = readBatchAnswer({ batchItemFailures: [null] }, 'orders', 10, [0]);
    expect(answer).toEqual({ kind: 'invalid', reason: malformed('nothing') });
  });
});
