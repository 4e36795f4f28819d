/**
 * The dispatcher on the in-memory ports for the delivery tests (`test/unit/delivery-*.test.ts`):
 * a manual clock whose sleeps pass manual time (and are remembered), a group store and a
 * transactional log with hooks to answer a chosen outcome at a chosen moment (a rival run, a
 * rebalance, a timeout), topics `t` (input), `out` (output) and `dlq`, and readers of what was
 * delivered and written.
 */
import { MemoryFunctionInvoker } from '../../shared/adapters/memory/function-invoker.js';
import { MemoryGroupStore } from '../../shared/adapters/memory/group-store.js';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemorySubscriptionStore } from '../../shared/adapters/memory/subscription-store.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import { MemoryTransactionalLog } from '../../shared/adapters/memory/transactional-log.js';
import type { Clock } from '../../shared/domain/clock.js';
import { Dispatcher, type DispatcherOptions } from '../../shared/domain/dispatcher.js';
import { GroupService } from '../../shared/domain/group-service.js';
import { LogService } from '../../shared/domain/log-service.js';
import type { ProduceRecordInput } from '../../shared/domain/record.js';
import type { SubscriptionInput } from '../../shared/domain/subscription.js';
import { SubscriptionService } from '../../shared/domain/subscription-service.js';
import { TopicService } from '../../shared/domain/topic-service.js';
import type { CommitOutcome, GroupStore, OffsetCommit } from '../../shared/ports/group-store.js';
import type {
  AppendWithCommitOutcome,
  AppendWithCommitRequest,
  IdempotencyRecord,
  TransactionalLog,
} from '../../shared/ports/partition-log.js';
import { manualClock } from './manual-clock.js';

export const START = 1_800_000_000_000;
export const FN = 'arn:aws:lambda:eu-west-1:123456789012:function:consumer';
/** A run's deadline far enough away for every test's waits. */
export const RUN_MS = 600_000;

/** The memory group store, with commits answered as a test chooses (before or instead of applying). */
export class HookedGroupStore {
  /** Runs before each commit (a rival, a rebalance). */
  beforeCommit: ((commit: OffsetCommit) => Promise<void>) | undefined;
  /** Answered instead of the next commits, in order, which are not applied (unless `apply`). */
  readonly answers: { outcome: CommitOutcome; apply?: boolean }[] = [];
  readonly commits: CommitOutcome['kind'][] = [];

  constructor(readonly inner: MemoryGroupStore) {}

  /** The store as the port: every method the inner one's, `commit` hooked. */
  asPort(): GroupStore {
    const inner = this.inner;
    return {
      read: (group) => inner.read(group),
      writeMembership: (change) => inner.writeMembership(change),
      heartbeat: (group, liveness, now) => inner.heartbeat(group, liveness, now),
      commit: (commit) => this.commit(commit),
      readOffset: (group, topic, partition) => inner.readOffset(group, topic, partition),
      readOffsets: (group, limit) => inner.readOffsets(group, limit),
      resetOffsets: (group, groupId, generation, offsets) =>
        inner.resetOffsets(group, groupId, generation, offsets),
      list: (limit) => inner.list(limit),
      delete: (group, groupId, generation) => inner.delete(group, groupId, generation),
    };
  }

  private async commit(commit: OffsetCommit): Promise<CommitOutcome> {
    await this.beforeCommit?.(commit);
    const forced = this.answers.shift();
    if (forced) {
      if (forced.apply) await this.inner.commit(commit);
      this.commits.push(forced.outcome.kind);
      return forced.outcome;
    }
    const outcome = await this.inner.commit(commit);
    this.commits.push(outcome.kind);
    return outcome;
  }
}

/** The in-memory transactional log, with a hook before each transaction and answers chosen by a test. */
export class HookedTransactionalLog implements TransactionalLog {
  before: ((request: AppendWithCommitRequest) => Promise<void>) | undefined;
  /** Answered instead of the next transactions, in order, which are not applied. */
  readonly answers: AppendWithCommitOutcome[] = [];
  readonly requests: AppendWithCommitRequest[] = [];

  constructor(private readonly inner: MemoryTransactionalLog) {}

  async appendWithCommit(request: AppendWithCommitRequest): Promise<AppendWithCommitOutcome> {
    await this.before?.(request);
    this.requests.push(request);
    return this.answers.shift() ?? this.inner.appendWithCommit(request);
  }

  readCommitIdempotency(groupId: string, key: string, now: number): Promise<IdempotencyRecord | undefined> {
    return this.inner.readCommitIdempotency(groupId, key, now);
  }
}

export interface KafkaEventRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly value?: string;
  readonly headers: Record<string, number[]>[];
}

export function eventRecords(event: unknown): KafkaEventRecord[] {
  return Object.values((event as { records: Record<string, KafkaEventRecord[]> }).records).flat();
}

export const text = (record: KafkaEventRecord) =>
  record.value === undefined ? undefined : Buffer.from(record.value, 'base64').toString('utf8');

export const stringRecord = (value: string, partition = 0): ProduceRecordInput => ({
  key: null,
  value: { type: 'STRING', bytes: new TextEncoder().encode(value) },
  headers: [],
  partition,
});

export interface WorldOptions {
  readonly dispatcher?: Partial<DispatcherOptions>;
  /** Partitions of `t`. @default 1 */
  readonly partitions?: number;
}

export async function deliveryWorld(options: WorldOptions = {}) {
  const manual = manualClock(START);
  const sleeps: number[] = [];
  /** Runs during each sleep, after the time passed: what happens meanwhile (an append, a rival). */
  const hooks: { onSleep: ((ms: number) => Promise<void>) | undefined } = { onSleep: undefined };
  // Sleeps pass manual time, so that retry backoffs and batching windows end at once.
  const clock: Clock = {
    now: manual.now,
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
      manual.advance(ms);
      await hooks.onSleep?.(ms);
    },
  };
  const topics = new MemoryTopicStore();
  const partitionLog = new MemoryPartitionLog({ now: clock.now });
  const memoryGroups = new MemoryGroupStore();
  const groupStore = new HookedGroupStore(memoryGroups);
  const transactional = new HookedTransactionalLog(
    new MemoryTransactionalLog({ log: partitionLog, groups: memoryGroups, now: clock.now }),
  );
  const subscriptionStore = new MemorySubscriptionStore();
  const invoker = new MemoryFunctionInvoker();
  const log = new LogService(topics, partitionLog, clock);
  const groups = new GroupService(groupStore.asPort(), topics, partitionLog, log, clock, transactional);
  const topicService = new TopicService(topics, partitionLog, clock);
  const subscriptions = new SubscriptionService(
    subscriptionStore,
    topics,
    partitionLog,
    groupStore.asPort(),
    groups,
    log,
    async () => {},
    clock,
  );
  /** Each fetch the dispatcher made: where from, and how many records it asked for. */
  const fetches: { offset: number; recordsMax: number }[] = [];
  const fetchingLog = Object.create(log) as LogService;
  fetchingLog.fetch = (topic, partition, offset, limits) => {
    fetches.push({ offset, recordsMax: limits.recordsMax });
    return log.fetch(topic, partition, offset, limits);
  };
  const dispatcher = new Dispatcher(
    {
      subscriptions: subscriptionStore,
      topics,
      partitionLog,
      log: fetchingLog,
      groupStore: groupStore.asPort(),
      groups,
      invoker,
      clock,
    },
    { bootstrapServers: 'shoal.test', backoff: { baseMs: 100, capMs: 1_000 }, ...options.dispatcher },
  );
  await topicService.create({ name: 't', partitions: options.partitions ?? 1 });
  await topicService.create({ name: 'out', partitions: 1 });
  await topicService.create({ name: 'dlq', partitions: 1 });
  const produce = (...texts: string[]) =>
    log.produce(
      't',
      texts.map((value) => stringRecord(value)),
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
  const run = (ms = RUN_MS) => dispatcher.run({ kind: 'sweep' }, clock.now() + ms);
  /** The offsets of each invocation's records, in invocation order. */
  const batches = () =>
    invoker.invocations.map((invocation) => eventRecords(invocation.event).map((record) => record.offset));
  /** The values of a topic's partition as text, in offset order. */
  const texts = async (topic: string, partition = 0) => {
    const fetched = await log.fetch(topic, partition, 0, {
      recordsMax: 1_000,
      bytesMax: 10_000_000,
      waitMs: 0,
    });
    return fetched.records.map((record) => new TextDecoder().decode(record.value?.bytes));
  };
  /** The records of a topic's partition, in offset order. */
  const records = async (topic: string, partition = 0) =>
    (await log.fetch(topic, partition, 0, { recordsMax: 1_000, bytesMax: 10_000_000, waitMs: 0 })).records;
  /** The subscription group's committed offset of `t`'s partition. */
  const committed = async (partition = 0) => (await memoryGroups.readOffset('sub', 't', partition))?.offset;
  /** The partition's delivery state as the subscription store keeps it. */
  const state = async (partition = 0) => {
    const subscription = await subscriptionStore.get('sub');
    if (!subscription) throw new Error('no subscription');
    return (await subscriptionStore.readStates(subscription)).find((s) => s.partition === partition);
  };
  return {
    clock,
    manual,
    sleeps,
    hooks,
    fetches,
    topics,
    partitionLog,
    memoryGroups,
    groupStore,
    transactional,
    subscriptionStore,
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
    texts,
    records,
    committed,
    state,
  };
}

export type DeliveryWorld = Awaited<ReturnType<typeof deliveryWorld>>;
