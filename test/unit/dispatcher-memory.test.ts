/**
 * The dispatcher (Shoal's event source mapping) on the in-memory ports with a manual clock: in
 * order and at least once, batch by batch, committing past what the function processed; retries
 * with backoff, partial batch failures, bisection and dead letters; filters; which runs deliver at
 * all (disabled subscriptions, appends to other topics). The same behaviours run against DynamoDB
 * Local in test/integration/subscriptions-*.test.ts; here each takes milliseconds.
 */
import { describe, expect, it } from 'vitest';
import { MemoryFunctionInvoker } from '../../shared/adapters/memory/function-invoker.js';
import { MemoryGroupStore } from '../../shared/adapters/memory/group-store.js';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemorySubscriptionStore } from '../../shared/adapters/memory/subscription-store.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import type { Clock } from '../../shared/domain/clock.js';
import { DEAD_LETTER_HEADERS } from '../../shared/domain/dead-letter.js';
import { Dispatcher, type DispatcherOptions } from '../../shared/domain/dispatcher.js';
import { GroupService } from '../../shared/domain/group-service.js';
import { LogService } from '../../shared/domain/log-service.js';
import type { SubscriptionInput } from '../../shared/domain/subscription.js';
import { SubscriptionService } from '../../shared/domain/subscription-service.js';
import { TopicService } from '../../shared/domain/topic-service.js';
import { manualClock } from '../support/manual-clock.js';

const START = 1_800_000_000_000;
const FN = 'arn:aws:lambda:eu-west-1:123456789012:function:consumer';
/** A run's deadline far enough away for every test's waits. */
const RUN_MS = 600_000;

interface KafkaEventRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly value?: string;
  readonly headers: Record<string, number[]>[];
}

async function world(options: Partial<DispatcherOptions> = {}) {
  const manual = manualClock(START);
  // Sleeps pass manual time, so that retry backoffs and batching windows end at once.
  const clock: Clock = {
    now: manual.now,
    random: () => 0.5,
    sleep: async (ms) => {
      manual.advance(ms);
    },
  };
  const topics = new MemoryTopicStore();
  const partitionLog = new MemoryPartitionLog({ now: clock.now });
  const groupStore = new MemoryGroupStore();
  const subscriptionsStore = new MemorySubscriptionStore();
  const invoker = new MemoryFunctionInvoker();
  const log = new LogService(topics, partitionLog, clock);
  const groups = new GroupService(groupStore, topics, partitionLog, log, clock);
  const topicService = new TopicService(topics, partitionLog, clock);
  const subscriptions = new SubscriptionService(
    subscriptionsStore,
    topics,
    partitionLog,
    groupStore,
    groups,
    log,
    async () => {},
    clock,
  );
  const dispatcher = new Dispatcher(
    {
      subscriptions: subscriptionsStore,
      topics,
      partitionLog,
      log,
      groupStore,
      groups,
      invoker,
      clock,
    },
    { bootstrapServers: 'shoal.test', backoff: { baseMs: 100, capMs: 1_000 }, ...options },
  );
  await topicService.create({ name: 't', partitions: 1 });
  const produce = (...texts: string[]) =>
    log.produce(
      't',
      texts.map((text) => ({
        key: null,
        value: { type: 'STRING' as const, bytes: new TextEncoder().encode(text) },
        headers: [],
        partition: 0,
      })),
    );
  const subscribe = (input: Partial<SubscriptionInput> = {}) =>
    subscriptions.create({
      name: 'sub',
      topic: 't',
      target: { functionArn: FN },
      startingPosition: 'TRIM_HORIZON',
      maxBatchingWindowMs: 0,
      ...input,
    });
  const run = () => dispatcher.run({ kind: 'sweep' }, clock.now() + RUN_MS);
  /** The offsets of each invocation's records, in invocation order. */
  const batches = () =>
    invoker.invocations.map((invocation) => eventRecords(invocation.event).map((record) => record.offset));
  return {
    clock,
    manual,
    topics,
    log,
    groups,
    topicService,
    subscriptions,
    dispatcher,
    invoker,
    produce,
    subscribe,
    run,
    batches,
  };
}

function eventRecords(event: unknown): KafkaEventRecord[] {
  return Object.values((event as { records: Record<string, KafkaEventRecord[]> }).records).flat();
}

const text = (record: KafkaEventRecord) =>
  record.value === undefined ? undefined : Buffer.from(record.value, 'base64').toString('utf8');

describe('Dispatcher delivery', () => {
  it('delivers every record in order, batch by batch, and commits past them', async () => {
    const w = await world();
    await w.produce('a', 'b', 'c', 'd', 'e');
    await w.subscribe({ batchSize: 2 });
    const seen: string[] = [];
    w.invoker.register(FN, (event) => {
      for (const record of eventRecords(event)) seen.push(text(record) ?? '');
    });

    const report = await w.run();

    expect(w.batches()).toEqual([[0, 1], [2, 3], [4]]);
    expect(seen).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(report.failures).toEqual([]);
    expect(report.subscriptions).toEqual([
      expect.objectContaining({ subscription: 'sub', topic: 't', partitions: 1, lag: 0 }),
    ]);
    expect(report.subscriptions[0]?.counters).toMatchObject({ invocations: 3, delivered: 5, errors: 0 });
    const described = await w.subscriptions.describe('sub');
    expect(described.partitions[0]).toMatchObject({ partition: 0, committedOffset: 5, lag: 0 });
    expect(described.totals).toMatchObject({ delivered: 5, invocations: 3, lag: 0 });
  });

  it('sends the event Lambda sends for a Kafka source: topic, partition, offset, value, bootstrap servers', async () => {
    const w = await world();
    await w.produce('hello');
    await w.subscribe();
    w.invoker.register(FN, () => undefined);

    await w.run();

    const [invocation] = w.invoker.invocations;
    expect(invocation?.event).toMatchObject({
      eventSource: 'SelfManagedKafka',
      bootstrapServers: 'shoal.test',
      records: {
        't-0': [expect.objectContaining({ topic: 't', partition: 0, offset: 0, timestamp: START })],
      },
    });
    expect(text(eventRecords(invocation?.event)[0] as KafkaEventRecord)).toBe('hello');
  });

  it('delivers only what came after the subscription for LATEST, and nothing twice across runs', async () => {
    const w = await world();
    await w.produce('old');
    await w.subscribe({ startingPosition: 'LATEST' });
    w.invoker.register(FN, () => undefined);
    await w.produce('new-1');

    await w.run();
    await w.produce('new-2');
    await w.run();
    const idle = await w.run();

    expect(w.batches()).toEqual([[1], [2]]);
    expect(idle.subscriptions).toEqual([]);
  });

  it('delivers nothing for a disabled subscription, and resumes where it stopped once enabled', async () => {
    const w = await world();
    await w.produce('a');
    await w.subscribe({ enabled: false });
    w.invoker.register(FN, () => undefined);

    const disabled = await w.run();
    await w.subscriptions.update({
      name: 'sub',
      topic: 't',
      target: { functionArn: FN },
      enabled: true,
      maxBatchingWindowMs: 0,
    });
    await w.run();

    expect(disabled.subscriptions).toEqual([]);
    expect(w.batches()).toEqual([[0]]);
  });

  it('ends a run for appends to a topic nobody subscribes at once', async () => {
    const w = await world();
    await w.topicService.create({ name: 'other', partitions: 1 });
    await w.produce('a');
    await w.subscribe();
    w.invoker.register(FN, () => undefined);
    await w.run();
    const other = await w.topics.get('other');
    const t = await w.topics.get('t');
    if (!other || !t) throw new Error('created above');
    await w.produce('b');

    const elsewhere = await w.dispatcher.run(
      { kind: 'appends', partitions: [{ topicId: other.topicId, partition: 0 }] },
      w.clock.now() + RUN_MS,
    );
    const here = await w.dispatcher.run(
      { kind: 'appends', partitions: [{ topicId: t.topicId, partition: 0 }] },
      w.clock.now() + RUN_MS,
    );

    expect(elsewhere).toEqual({ subscriptions: [], failures: [], durationMs: 0 });
    expect(here.subscriptions.map((s) => s.subscription)).toEqual(['sub']);
    expect(w.batches()).toEqual([[0], [1]]);
  });

  it('skips records the filters leave out, and commits past them', async () => {
    const w = await world();
    await w.produce('{"kind":"keep","n":1}', '{"kind":"drop"}', '{"kind":"keep","n":2}');
    await w.subscribe({ filters: ['{"value":{"kind":["keep"]}}'] });
    w.invoker.register(FN, () => undefined);

    const report = await w.run();

    expect(w.batches()).toEqual([[0, 2]]);
    expect(report.subscriptions[0]?.counters).toMatchObject({ delivered: 2, filtered: 1 });
    expect((await w.subscriptions.describe('sub')).partitions[0]).toMatchObject({ committedOffset: 3 });
  });
});

describe('Dispatcher failures', () => {
  it('retries a failing batch from its start, with backoff, until the function takes it', async () => {
    const w = await world();
    await w.produce('a', 'b');
    await w.subscribe({ retryAttempts: 5 });
    let calls = 0;
    const at: number[] = [];
    w.invoker.register(FN, () => {
      at.push(w.clock.now());
      calls++;
      if (calls <= 2) throw new TypeError('not yet');
    });

    const report = await w.run();

    expect(w.batches()).toEqual([
      [0, 1],
      [0, 1],
      [0, 1],
    ]);
    expect(at[1]).toBeGreaterThan(at[0] ?? Number.POSITIVE_INFINITY);
    expect(report.subscriptions[0]?.counters).toMatchObject({ invocations: 3, errors: 2, delivered: 2 });
    expect((await w.subscriptions.describe('sub')).partitions[0]).toMatchObject({ committedOffset: 2 });
  });

  it('dead-letters a batch after retryAttempts retries, with headers that say why, and moves on', async () => {
    const w = await world();
    await w.topicService.create({ name: 'dlq', partitions: 1 });
    await w.produce('poison', 'fine');
    await w.subscribe({ batchSize: 1, retryAttempts: 2, onFailure: { topic: 'dlq' } });
    w.invoker.register(FN, (event) => {
      if (eventRecords(event).some((record) => text(record) === 'poison')) throw new RangeError('bad record');
    });

    const report = await w.run();

    expect(w.batches()).toEqual([[0], [0], [0], [1]]);
    expect(report.subscriptions[0]?.counters).toMatchObject({ deadLettered: 1, delivered: 1, errors: 3 });
    const dead = await w.log.fetch('dlq', 0, 0, { recordsMax: 10, bytesMax: 1_000_000, waitMs: 0 });
    expect(dead.records).toHaveLength(1);
    const headers = Object.fromEntries(
      (dead.records[0]?.headers ?? []).map((h) => [h.name, new TextDecoder().decode(h.value)]),
    );
    expect(new TextDecoder().decode(dead.records[0]?.value?.bytes)).toBe('poison');
    expect(headers[DEAD_LETTER_HEADERS.reason]).toBe('retries-exhausted');
    expect(headers[DEAD_LETTER_HEADERS.topic]).toBe('t');
    expect(headers[DEAD_LETTER_HEADERS.offset]).toBe('0');
    expect((await w.subscriptions.describe('sub')).partitions[0]).toMatchObject({ committedOffset: 2 });
  });

  it('redelivers from the first record a partial batch failure names', async () => {
    const w = await world();
    await w.produce('a', 'b', 'c');
    await w.subscribe({ reportBatchItemFailures: true });
    let calls = 0;
    w.invoker.register(FN, () => {
      calls++;
      return calls === 1 ? { batchItemFailures: [{ itemIdentifier: 't-0-1' }] } : { batchItemFailures: [] };
    });

    const report = await w.run();

    expect(w.batches()).toEqual([
      [0, 1, 2],
      [1, 2],
    ]);
    expect(report.subscriptions[0]?.counters).toMatchObject({ delivered: 3, errors: 1 });
  });

  it('halves a failing batch with bisectBatchOnError until the bad record is alone, then discards it', async () => {
    const w = await world();
    await w.produce('a', 'b', 'bad', 'd');
    await w.subscribe({ bisectBatchOnError: true, retryAttempts: 0 });
    w.invoker.register(FN, (event) => {
      if (eventRecords(event).some((record) => text(record) === 'bad')) throw new Error('bad');
    });

    const report = await w.run();

    expect(w.batches()).toEqual([[0, 1, 2, 3], [0, 1], [2, 3], [2], [3]]);
    expect(report.subscriptions[0]?.counters).toEqual({
      delivered: 3,
      invocations: 5,
      errors: 3,
      deadLettered: 0,
      filtered: 0,
      discarded: 1,
    });
  });

  it('keeps the offset where it was while the function cannot be invoked', async () => {
    const w = await world();
    await w.produce('a');
    await w.subscribe();

    const report = await w.dispatcher.run({ kind: 'sweep' }, w.clock.now() + 10_000);

    expect(report.subscriptions[0]?.counters).toMatchObject({ delivered: 0 });
    expect(report.subscriptions[0]?.lag).toBe(1);
    const described = await w.subscriptions.describe('sub');
    expect(described.partitions[0]).toMatchObject({ committedOffset: 0, lag: 1 });
  });
});
