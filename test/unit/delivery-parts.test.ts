/**
 * The parts a partition's delivery drives, each alone: which records a settled batch gives up and
 * how they reach the dead-letter topic (dead-letter.ts), the event and the reading of an
 * invocation's outcome (batch-invocation.ts, kafka-event.ts), the saved progress and the lease
 * (delivery-progress.ts), and the group the dispatcher commits as (delivery-group.ts). On the
 * in-memory ports where a port is needed.
 */
import { describe, expect, it } from 'vitest';
import { MemoryGroupStore } from '../../shared/adapters/memory/group-store.js';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemorySubscriptionStore } from '../../shared/adapters/memory/subscription-store.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import {
  type BatchEvent,
  buildBatchEvent,
  deliveryFailure,
  NOTHING_INVOKED,
  readInvocation,
} from '../../shared/domain/batch-invocation.js';
import {
  DEAD_LETTER_HEADERS,
  deadLetterRecords,
  type GivenUp,
  givenUp,
  writeDeadLetters,
} from '../../shared/domain/dead-letter.js';
import type { Settlement } from '../../shared/domain/delivery.js';
import { readDeliveryGroup } from '../../shared/domain/delivery-group.js';
import { DeliveryProgress, MutableCounters } from '../../shared/domain/delivery-progress.js';
import { GroupService } from '../../shared/domain/group-service.js';
import { readBatchAnswer } from '../../shared/domain/kafka-event.js';
import { LogService } from '../../shared/domain/log-service.js';
import type { LogRecord } from '../../shared/domain/record.js';
import {
  resolveSubscriptionConfig,
  type Subscription,
  type SubscriptionInput,
} from '../../shared/domain/subscription.js';
import { TopicService } from '../../shared/domain/topic-service.js';
import { manualClock } from '../support/manual-clock.js';

const START = 1_800_000_000_000;

const record = (offset: number, text = `r${offset}`, timestamp = START): LogRecord => ({
  offset,
  timestamp,
  key: { type: 'STRING', bytes: new TextEncoder().encode(`k${offset}`) },
  value: { type: 'STRING', bytes: new TextEncoder().encode(text) },
  headers: [{ name: 'own', value: new TextEncoder().encode('h') }],
});

const settlement = (partial: Partial<Settlement>): Settlement => ({
  commitTo: 0,
  retry: undefined,
  deadLetter: undefined,
  bisected: false,
  ...partial,
});

const batchOf = (records: LogRecord[], expired: number[] = [], filtered: number[] = []): BatchEvent => ({
  records,
  deliverable: records.filter((r) => !expired.includes(r.offset) && !filtered.includes(r.offset)),
  expired: new Set(expired),
  filtered: new Set(filtered),
  payload: '{}',
});

function subscription(input: Partial<SubscriptionInput> = {}): Subscription {
  return {
    ...resolveSubscriptionConfig({
      name: 'sub',
      topic: 't',
      target: { functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:f' },
      ...input,
    }),
    subscriptionId: 'sid',
    consumerGroupIdGiven: false,
    createdAt: START,
  };
}

const headers = (produced: { headers: readonly { name: string; value: Uint8Array }[] }) =>
  Object.fromEntries(produced.headers.map((h) => [h.name, new TextDecoder().decode(h.value)]));

describe('givenUp', () => {
  it('gives up expired records and, once retries ran out, the failed range except filtered records', () => {
    const batch = batchOf([record(10), record(11), record(12), record(13), record(14)], [10], [13]);

    const given = givenUp(batch, settlement({ commitTo: 15, deadLetter: { from: 12, to: 15, attempts: 3 } }));

    expect(given.map((g) => [g.record.offset, g.reason, g.attempts])).toEqual([
      [10, 'record-age-exceeded', 0],
      [12, 'retries-exhausted', 3],
      [14, 'retries-exhausted', 3],
    ]);
  });

  it('gives up nothing the commit does not move past', () => {
    const batch = batchOf([record(10), record(11), record(12)], [11, 12]);

    expect(givenUp(batch, settlement({ commitTo: 11 })).map((g) => g.record.offset)).toEqual([]);
    expect(givenUp(batch, settlement({ commitTo: 12 })).map((g) => g.record.offset)).toEqual([11]);
  });

  it('gives up nothing of a successful batch but its expired records', () => {
    const batch = batchOf([record(10), record(11)], [11]);

    expect(givenUp(batch, settlement({ commitTo: 12 })).map((g) => g.reason)).toEqual([
      'record-age-exceeded',
    ]);
  });
});

describe('dead-letter records', () => {
  const source = { subscription: subscription({ onFailure: { topic: 'dlq' } }), topic: 't', partition: 2 };
  const failure = deliveryFailure('TypeError: boom', 10, START);

  it("keeps the record's key, value, timestamp and headers, and adds why and where it came from", () => {
    const given: GivenUp[] = [
      { record: record(10, 'v', START - 5), reason: 'retries-exhausted', attempts: 4 },
    ];

    const [dead] = deadLetterRecords(source, given, failure);

    expect(dead?.key).toEqual(given[0]?.record.key);
    expect(dead?.value).toEqual(given[0]?.record.value);
    expect(dead?.timestamp).toBe(START - 5);
    expect(dead?.headers.map((h) => h.name)).toEqual([
      'own',
      DEAD_LETTER_HEADERS.reason,
      DEAD_LETTER_HEADERS.subscription,
      DEAD_LETTER_HEADERS.topic,
      DEAD_LETTER_HEADERS.partition,
      DEAD_LETTER_HEADERS.offset,
      DEAD_LETTER_HEADERS.timestamp,
      DEAD_LETTER_HEADERS.attempts,
      DEAD_LETTER_HEADERS.error,
    ]);
    expect(headers(dead ?? { headers: [] })).toEqual({
      own: 'h',
      'shoal.dlq.reason': 'retries-exhausted',
      'shoal.dlq.subscription': 'sub',
      'shoal.dlq.topic': 't',
      'shoal.dlq.partition': '2',
      'shoal.dlq.offset': '10',
      'shoal.dlq.timestamp': String(START - 5),
      'shoal.dlq.attempts': '4',
      'shoal.dlq.error': 'TypeError: boom',
    });
  });

  it('names no error for an expired record, nor without a failure', () => {
    const expired = deadLetterRecords(
      source,
      [{ record: record(1), reason: 'record-age-exceeded', attempts: 0 }],
      failure,
    );
    const unexplained = deadLetterRecords(
      source,
      [{ record: record(1), reason: 'retries-exhausted', attempts: 1 }],
      undefined,
    );

    expect(headers(expired[0] ?? { headers: [] })[DEAD_LETTER_HEADERS.error]).toBeUndefined();
    expect(headers(unexplained[0] ?? { headers: [] })[DEAD_LETTER_HEADERS.error]).toBeUndefined();
  });
});

describe('writeDeadLetters', () => {
  async function logWorld() {
    const clock = manualClock(START);
    const topics = new MemoryTopicStore();
    const partitionLog = new MemoryPartitionLog({ now: clock.now });
    const log = new LogService(topics, partitionLog, clock);
    await new TopicService(topics, partitionLog, clock).create({ name: 'dlq', partitions: 1 });
    const produced: { count: number; key: string | undefined }[] = [];
    const recording = Object.create(log) as LogService;
    recording.produce = async (topic, records, key) => {
      produced.push({ count: records.length, key });
      return log.produce(topic, records, key);
    };
    const offsets = async () =>
      (await log.fetch('dlq', 0, 0, { recordsMax: 1_000, bytesMax: 50_000_000, waitMs: 0 })).records.map(
        (r) => new TextDecoder().decode(r.value?.bytes),
      );
    return { log, recording, produced, offsets };
  }
  const given = (from: number, count: number, bytes = 1): GivenUp[] =>
    Array.from({ length: count }, (_, i) => ({
      record: { ...record(from + i), value: { type: 'BINARY' as const, bytes: new Uint8Array(bytes) } },
      reason: 'retries-exhausted' as const,
      attempts: 1,
    }));

  it('writes in chunks of at most 40 records, each under a key of its offsets', async () => {
    const w = await logWorld();
    const source = { subscription: subscription({ onFailure: { topic: 'dlq' } }), topic: 't', partition: 3 };

    const written = await writeDeadLetters(w.recording, source, given(100, 90), undefined);

    expect(written).toBe(90);
    expect(w.produced).toEqual([
      { count: 40, key: 'shoal-dlq:sid:3:100-139' },
      { count: 40, key: 'shoal-dlq:sid:3:140-179' },
      { count: 10, key: 'shoal-dlq:sid:3:180-189' },
    ]);
    expect(await w.offsets()).toHaveLength(90);
  });

  it('splits chunks that would pass 1.5 MB', async () => {
    const w = await logWorld();
    const source = { subscription: subscription({ onFailure: { topic: 'dlq' } }), topic: 't', partition: 0 };

    await writeDeadLetters(w.recording, source, given(0, 4, 600_000), undefined);

    expect(w.produced.map((p) => p.count)).toEqual([2, 2]);
  });

  it('writes each record once when a chunk is written again', async () => {
    const w = await logWorld();
    const source = { subscription: subscription({ onFailure: { topic: 'dlq' } }), topic: 't', partition: 0 };
    const records = given(0, 2);
    await writeDeadLetters(w.recording, source, records, deliveryFailure('first', 0, START));

    const again = await writeDeadLetters(
      w.recording,
      source,
      records,
      deliveryFailure('another text', 0, START),
    );

    expect(again).toBe(2);
    expect(await w.offsets()).toHaveLength(2);
  });

  it('writes nothing without a dead-letter topic', async () => {
    const w = await logWorld();

    const written = await writeDeadLetters(
      w.recording,
      { subscription: subscription(), topic: 't', partition: 0 },
      given(0, 2),
      undefined,
    );

    expect(written).toBe(0);
    expect(w.produced).toEqual([]);
  });

  it('fails when the dead-letter topic does not exist, saying so', async () => {
    const w = await logWorld();
    const source = {
      subscription: subscription({ onFailure: { topic: 'missing' } }),
      topic: 't',
      partition: 0,
    };

    await expect(writeDeadLetters(w.recording, source, given(0, 1), undefined)).rejects.toThrow(
      "The dead-letter topic 'missing' does not exist: create it, and delivery resumes",
    );
  });

  it('passes other failures on', async () => {
    const w = await logWorld();
    w.recording.produce = async () => {
      throw new Error('throttled');
    };
    const source = { subscription: subscription({ onFailure: { topic: 'dlq' } }), topic: 't', partition: 0 };

    await expect(writeDeadLetters(w.recording, source, given(0, 1), undefined)).rejects.toThrow('throttled');
  });
});

describe('buildBatchEvent', () => {
  const input = (over: Partial<Parameters<typeof buildBatchEvent>[1]> = {}) => ({
    subscription: subscription({ maxRecordAgeMs: 60_000 }),
    filter: () => true,
    topic: 't',
    partition: 1,
    bootstrapServers: 'shoal.test',
    now: START,
    ...over,
  });

  it('leaves out records older than the maximum age, and those no filter matches', () => {
    const records = [
      record(0, 'old', START - 60_001),
      record(1, 'edge', START - 60_000),
      record(2, 'drop'),
      record(3),
    ];

    const batch = buildBatchEvent(
      records,
      input({ filter: (value) => !JSON.stringify(value).includes('drop') }),
    );

    expect([...batch.expired]).toEqual([0]);
    expect([...batch.filtered]).toEqual([2]);
    expect(batch.deliverable.map((r) => r.offset)).toEqual([1, 3]);
    expect(batch.records).toBe(records);
    const event = JSON.parse(batch.payload);
    expect(event.bootstrapServers).toBe('shoal.test');
    expect(event.records['t-1'].map((r: { offset: number }) => r.offset)).toEqual([1, 3]);
  });

  it('keeps every record without a maximum age', () => {
    const batch = buildBatchEvent([record(0, 'ancient', 0)], input({ subscription: subscription() }));

    expect([...batch.expired]).toEqual([]);
    expect(batch.deliverable).toHaveLength(1);
  });
});

describe('readInvocation', () => {
  const batch = batchOf([record(5), record(6), record(7)], [], [6]);
  const read = (result: Parameters<typeof readInvocation>[0], reportBatchItemFailures = true) =>
    readInvocation(
      result,
      batch,
      { reportBatchItemFailures, topic: 't', partition: 0, batchStart: 5 },
      START,
    );

  it('counts every deliverable record of a success as delivered', () => {
    expect(read({ kind: 'returned', answer: undefined })).toEqual({
      outcome: { kind: 'success' },
      failure: undefined,
      delivered: 2,
      counts: { invocations: 1, delivered: 2 },
    });
  });

  it('ignores batchItemFailures unless the subscription reports them', () => {
    expect(
      read({ kind: 'returned', answer: { batchItemFailures: [{ itemIdentifier: 't-0-7' }] } }, false).outcome,
    ).toEqual({
      kind: 'success',
    });
  });

  it('reads a partial failure up to the lowest failed record', () => {
    expect(read({ kind: 'returned', answer: { batchItemFailures: [{ itemIdentifier: 't-0-7' }] } })).toEqual({
      outcome: { kind: 'failure', progressTo: 7 },
      failure: { message: 'The function reported offset 7 as failed', offset: 7, at: START },
      delivered: 1,
      counts: { invocations: 1, errors: 1, delivered: 1 },
    });
  });

  it('fails the whole batch for invalid batchItemFailures', () => {
    expect(read({ kind: 'returned', answer: { batchItemFailures: 'all' } })).toEqual({
      outcome: { kind: 'failure', progressTo: 5 },
      failure: {
        message: 'Invalid batchItemFailures: batchItemFailures is not an array',
        offset: 5,
        at: START,
      },
      delivered: 0,
      counts: { invocations: 1, errors: 1, delivered: 0 },
    });
  });

  it('fails the whole batch for a function error, naming it', () => {
    expect(
      read({ kind: 'function-error', errorType: 'TypeError', errorMessage: 'x is undefined' }),
    ).toMatchObject({
      outcome: { kind: 'failure', progressTo: 5 },
      failure: { message: 'TypeError: x is undefined', offset: 5 },
    });
  });

  it('reads an unavailable function as throttled', () => {
    expect(read({ kind: 'unavailable', reason: 'TooManyRequestsException' })).toMatchObject({
      outcome: { kind: 'throttled' },
      failure: { message: 'The function could not be invoked: TooManyRequestsException', offset: 5 },
      counts: { invocations: 1, errors: 1, delivered: 0 },
    });
  });

  it('cuts a long error text to 1,000 characters', () => {
    expect(deliveryFailure('x'.repeat(1_001), 1, 2).message).toHaveLength(1_000);
    expect(deliveryFailure('x'.repeat(1_000), 1, 2).message).toHaveLength(1_000);
  });

  it('has nothing invoked for a batch with nothing to deliver', () => {
    expect(NOTHING_INVOKED).toEqual({
      outcome: { kind: 'success' },
      failure: undefined,
      delivered: 0,
      counts: {},
    });
  });
});

describe('readBatchAnswer, the reasons it gives', () => {
  const read = (answer: unknown) => readBatchAnswer(answer, 'orders', 0, [1, 2]);

  it('names the item that is not an identifier, and what it should be', () => {
    expect(read({ batchItemFailures: [{ itemIdentifier: 'orders-0-1' }, { itemIdentifier: 7 }] })).toEqual({
      kind: 'invalid',
      reason:
        'batchItemFailures[1].itemIdentifier must be {"partition": "orders-0", "offset": <n>} or "orders-0-<n>", got 7',
    });
    expect(read({ batchItemFailures: [{}] })).toEqual({
      kind: 'invalid',
      reason:
        'batchItemFailures[0].itemIdentifier must be {"partition": "orders-0", "offset": <n>} or "orders-0-<n>", got nothing',
    });
  });

  it('names an item outside the batch', () => {
    expect(read({ batchItemFailures: [{ itemIdentifier: { partition: 'orders-0', offset: 3 } }] })).toEqual({
      kind: 'invalid',
      reason: 'batchItemFailures[0] names orders-0 offset 3, which is not in this batch',
    });
    expect(read({ batchItemFailures: [{ itemIdentifier: 'orders-1-1' }] })).toEqual({
      kind: 'invalid',
      reason: 'batchItemFailures[0] names orders-1 offset 1, which is not in this batch',
    });
  });

  it('reads an array answer as a success, as Lambda does', () => {
    expect(read([{ itemIdentifier: 'orders-0-1' }])).toEqual({ kind: 'success' });
  });

  it('fails object identifiers with a partition that is not text or an offset that is not a whole number', () => {
    for (const itemIdentifier of [
      { partition: 0, offset: 1 },
      { partition: 'orders-0', offset: 1.5 },
      { partition: 'orders-0', offset: '1x' },
      { partition: 'orders-0', offset: 2 ** 53 },
      { partition: 'orders-0' },
      'orders-0-',
      'orders-0-1x',
      'x-orders-0-1',
    ]) {
      expect(read({ batchItemFailures: [{ itemIdentifier }] }).kind).toBe('invalid');
    }
    expect(read({ batchItemFailures: [{ itemIdentifier: { partition: 'orders-0', offset: 2 } }] })).toEqual({
      kind: 'partial',
      failedOffset: 2,
    });
  });

  it('takes the lowest of several failures, whatever their order', () => {
    expect(
      read({
        batchItemFailures: [
          { itemIdentifier: 'orders-0-2' },
          { itemIdentifier: 'orders-0-1' },
          { itemIdentifier: 'orders-0-2' },
        ],
      }),
    ).toEqual({
      kind: 'partial',
      failedOffset: 1,
    });
  });
});

describe('DeliveryProgress', () => {
  async function progressWorld(leaseUntil = START + 10_000) {
    const clock = manualClock(START);
    const store = new MemorySubscriptionStore();
    const sub = subscription();
    await store.create(sub);
    const state = await store.acquireLease(sub, 0, 'run-1', leaseUntil, START);
    if (!state) throw new Error('acquired');
    const progress = new DeliveryProgress(
      store,
      clock,
      { subscription: sub, partition: 0, owner: 'run-1', leaseMs: 5_000 },
      state,
    );
    const saved = async () => (await store.readStates(sub))[0];
    return { clock, store, sub, progress, saved };
  }

  it('knows when the lease ends within a time', async () => {
    const w = await progressWorld(START + 4_000);

    expect(w.progress.leaseEndsWithin(4_001)).toBe(true);
    expect(w.progress.leaseEndsWithin(4_000)).toBe(false);
  });

  it('extends the lease by its length with every save, from now', async () => {
    const w = await progressWorld(START + 4_000);
    w.clock.advance(1_000);

    expect(await w.progress.save({}, undefined, undefined)).toBe(true);

    expect((await w.saved())?.lease).toEqual({ owner: 'run-1', until: START + 6_000 });
    expect(w.progress.leaseEndsWithin(5_000)).toBe(false);
    expect(w.progress.leaseEndsWithin(5_001)).toBe(true);
  });

  it('is due at a failure, a changed retry, or a second after the last save', async () => {
    const w = await progressWorld();
    const retry = { start: 0, end: 5, attempts: 1, retryAt: START + 100 };

    expect(w.progress.isDue(undefined, undefined)).toBe(false);
    expect(w.progress.isDue(deliveryFailure('x', 0, START), undefined)).toBe(true);
    expect(w.progress.isDue(undefined, retry)).toBe(true);
    await w.progress.save({}, undefined, retry);
    expect(w.progress.isDue(undefined, { ...retry })).toBe(false);
    for (const changed of [{ start: 1 }, { end: 6 }, { attempts: 2 }, { retryAt: START + 101 }]) {
      expect(w.progress.isDue(undefined, { ...retry, ...changed })).toBe(true);
    }
    expect(w.progress.isDue(undefined, undefined)).toBe(true);
    w.clock.advance(999);
    expect(w.progress.isDue(undefined, retry)).toBe(false);
    w.clock.advance(1);
    expect(w.progress.isDue(undefined, retry)).toBe(true);
  });

  it('saves the counts once: a flush after a flush adds nothing', async () => {
    const w = await progressWorld();
    w.progress.count({ delivered: 3, invocations: 1 }, true);
    w.clock.advance(10);
    w.progress.count({ errors: 1, deadLettered: 2, filtered: 4, discarded: 5 });

    await w.progress.flush(undefined, undefined);
    await w.progress.flush(undefined, undefined);

    const saved = await w.saved();
    expect(saved?.counters).toEqual({
      delivered: 3,
      invocations: 1,
      errors: 1,
      deadLettered: 2,
      filtered: 4,
      discarded: 5,
    });
    expect(saved?.lastDeliveredAt).toBe(START);
  });

  it('keeps the counts and reports the lease lost when another run holds it', async () => {
    const w = await progressWorld(START + 1_000);
    w.progress.count({ delivered: 2 }, true);
    w.clock.advance(2_000);
    await w.store.acquireLease(w.sub, 0, 'run-2', START + 60_000, w.clock.now());

    const flushed = await w.progress.flush(deliveryFailure('x', 0, START), undefined);

    expect(flushed).toBe(false);
    expect((await w.saved())?.counters.delivered).toBe(0);
    expect((await w.saved())?.lastError).toBeUndefined();
  });

  it('records a failure with its save', async () => {
    const w = await progressWorld();

    await w.progress.flush(deliveryFailure('boom', 3, START), undefined);

    expect((await w.saved())?.lastError).toEqual({ message: 'boom', offset: 3, at: START });
    expect((await w.saved())?.lastDeliveredAt).toBeUndefined();
  });

  it('adds counters up, missing ones as 0', () => {
    const counters = new MutableCounters();
    counters.add({ delivered: 1 });
    counters.add({ delivered: 2, invocations: 3, errors: 4, deadLettered: 5, filtered: 6, discarded: 7 });

    expect(counters.snapshot()).toEqual({
      delivered: 3,
      invocations: 3,
      errors: 4,
      deadLettered: 5,
      filtered: 6,
      discarded: 7,
    });
  });
});

describe('readDeliveryGroup', () => {
  async function groupWorld() {
    const clock = manualClock(START);
    const topics = new MemoryTopicStore();
    const partitionLog = new MemoryPartitionLog({ now: clock.now });
    const groups = new MemoryGroupStore();
    const log = new LogService(topics, partitionLog, clock);
    await new TopicService(topics, partitionLog, clock).create({ name: 't', partitions: 1 });
    const service = new GroupService(groups, topics, partitionLog, log, clock);
    return { clock, groups, service };
  }

  it('reads nothing for a group that does not exist', async () => {
    const w = await groupWorld();

    expect(await readDeliveryGroup(w.groups, w.clock, subscription())).toBeUndefined();
  });

  it('reads the group incarnation and generation of a group without members', async () => {
    const w = await groupWorld();
    await w.service.reset('sub', { topic: 't', to: { kind: 'earliest' } });
    const record = (await w.groups.read('sub')).record;

    expect(await readDeliveryGroup(w.groups, w.clock, subscription())).toEqual({
      groupId: record?.groupId,
      generation: record?.generation,
    });
  });

  it('fails while the group has a live member, and reads it once the member is gone', async () => {
    const w = await groupWorld();
    await w.service.join('sub', { topics: ['t'], sessionTimeoutMs: 1_000 });

    await expect(readDeliveryGroup(w.groups, w.clock, subscription())).rejects.toThrow(
      "Consumer group 'sub' has 1 live member(s): the subscription delivers only while its group has none",
    );
    w.clock.advance(1_001);
    expect(await readDeliveryGroup(w.groups, w.clock, subscription())).toMatchObject({
      generation: expect.any(Number),
    });
  });
});
