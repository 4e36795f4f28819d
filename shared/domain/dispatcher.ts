/**
 * Delivers topics to subscribed functions: the event source mapping of Shoal. One run (a Lambda
 * invocation woken by the log table's stream or by a schedule; a background task on the local
 * stack) finds the partitions whose subscriptions lag behind, and drains each under a lease, batch
 * after batch, until it is caught up, must wait longer than a run may, or the run's time is up.
 *
 * Per subscription and partition:
 * - at most one batch in flight: a run delivers a partition only while it holds the partition's
 *   lease (a conditional write), and a lease outlives the function's timeout, so a run that dies
 *   mid-invocation blocks the partition no longer than that invocation could have run;
 * - in order and at least once: a batch starts at the group's committed offset, and the offset
 *   moves past a record only after the function processed it (or it was filtered out, or
 *   dead-lettered);
 * - partitions are drained in parallel, up to `concurrency` at a time per run.
 *
 * What an outcome commits, retries or dead-letters is decided by `settleBatch` (`delivery.ts`).
 */
import { randomUUID } from 'node:crypto';
import type { FunctionInvoker, InvocationResult } from '../ports/function-invoker.js';
import type { GroupStore } from '../ports/group-store.js';
import type { PartitionLog } from '../ports/partition-log.js';
import type {
  DeliveryCounters,
  DeliveryFailure,
  PartitionDeliveryState,
  SubscriptionStore,
} from '../ports/subscription-store.js';
import type { TopicStore } from '../ports/topic-store.js';
import type { Clock } from './clock.js';
import { type BatchOutcome, batchLimit, type RetryState, retryBackoffMs, settleBatch } from './delivery.js';
import { OffsetOutOfRangeError, TopicNotFoundError } from './errors.js';
import { compileFilters, filterInputOf, type RecordFilter } from './event-filter.js';
import type { GroupService } from './group-service.js';
import { buildKafkaEvent, readBatchAnswer } from './kafka-event.js';
import { LIMITS } from './limits.js';
import type { LogService, ProduceRecord } from './log-service.js';
import type { LogRecord, RecordHeader } from './record.js';
import { SUBSCRIPTION_LIMITS, type Subscription } from './subscription.js';
import type { Topic } from './topic.js';

/** What wakes a run. */
export type DispatchTrigger =
  /** Every partition of every enabled subscription that lags (the schedule). */
  | { readonly kind: 'sweep' }
  /** Batches were appended to these partitions (the log table's stream). */
  | { readonly kind: 'appends'; readonly partitions: readonly { topicId: string; partition: number }[] };

export interface DispatcherOptions {
  /** The event's `bootstrapServers`: names the Shoal deployment the records come from. */
  readonly bootstrapServers: string;
  /** Partitions one run drains at once. @default 16 */
  readonly concurrency?: number;
  /** Backoff between retries of a failing batch. @default { baseMs: 500, capMs: 30000 } */
  readonly backoff?: { readonly baseMs: number; readonly capMs: number };
  /** A lease outlives the function's timeout by this much. @default 30000 */
  readonly leaseMarginMs?: number;
  /**
   * The longest a run waits in place for a retry or a batching window; a longer wait is left to a
   * later run (the next append or the schedule). @default 10000
   */
  readonly waitMsMax?: number;
  /** Records read ahead per fetch, beyond the batch size. @default 1000 */
  readonly readAheadMax?: number;
}

export interface DispatcherDependencies {
  readonly subscriptions: SubscriptionStore;
  readonly topics: TopicStore;
  readonly partitionLog: PartitionLog;
  readonly log: LogService;
  readonly groupStore: GroupStore;
  readonly groups: GroupService;
  readonly invoker: FunctionInvoker;
  readonly clock: Clock;
}

/** One subscription's share of a run. */
export interface SubscriptionRunReport {
  readonly subscription: string;
  readonly topic: string;
  /** What this run did. */
  readonly counters: DeliveryCounters;
  /** Partitions this run delivered (held the lease of). */
  readonly partitions: number;
  /** Records not yet delivered in those partitions when the run left them. */
  readonly lag: number;
  /** Age of the oldest record not yet delivered in those partitions (by record timestamp); 0 when caught up. */
  readonly oldestUndeliveredAgeMs: number;
}

export interface DispatchReport {
  readonly subscriptions: readonly SubscriptionRunReport[];
  /** Failures that stopped a partition's delivery for this run (retried by a later run). */
  readonly failures: readonly { subscription: string; partition?: number; error: unknown }[];
  readonly durationMs: number;
}

/** The consumer group as commits need it. */
interface GroupRef {
  readonly groupId: string;
  readonly generation: number;
}

/** Dead-letter headers: why a record was given up, and where it came from. */
export const DEAD_LETTER_HEADERS = {
  reason: 'shoal.dlq.reason',
  subscription: 'shoal.dlq.subscription',
  topic: 'shoal.dlq.topic',
  partition: 'shoal.dlq.partition',
  offset: 'shoal.dlq.offset',
  timestamp: 'shoal.dlq.timestamp',
  attempts: 'shoal.dlq.attempts',
  error: 'shoal.dlq.error',
} as const;

export type DeadLetterReason = 'retries-exhausted' | 'record-age-exceeded';

/** Records of one dead-letter produce request: few enough to touch few partitions, small enough for one transaction. */
const DEAD_LETTER_CHUNK_RECORDS = 40;
const DEAD_LETTER_CHUNK_BYTES = 1_500_000;
/** Error text kept in the delivery state and dead-letter headers. */
const ERROR_TEXT_MAX = 1_000;
/**
 * Counters of successful batches are saved at most this often (with the lease's extension); a
 * failure or a change of the retry state is saved at once. A run that dies loses at most this much
 * counting, never position: that is the group's committed offset, written for every batch.
 */
const SAVE_INTERVAL_MS = 1_000;
/** An invocation starts only with its timeout plus this much left of the run (and of the lease). */
const INVOCATION_MARGIN_MS = 1_000;

class MutableCounters {
  delivered = 0;
  invocations = 0;
  errors = 0;
  deadLettered = 0;
  filtered = 0;
  discarded = 0;

  add(counts: Partial<DeliveryCounters>): void {
    this.delivered += counts.delivered ?? 0;
    this.invocations += counts.invocations ?? 0;
    this.errors += counts.errors ?? 0;
    this.deadLettered += counts.deadLettered ?? 0;
    this.filtered += counts.filtered ?? 0;
    this.discarded += counts.discarded ?? 0;
  }

  snapshot(): DeliveryCounters {
    return { ...this };
  }
}

interface SubscriptionRun {
  readonly subscription: Subscription;
  readonly topic: Topic;
  readonly filter: RecordFilter;
  group: GroupRef;
  readonly counters: MutableCounters;
  partitions: number;
  lag: number;
  oldestUndeliveredAgeMs: number;
}

interface RunContext {
  readonly owner: string;
  readonly deadline: number;
  readonly failures: { subscription: string; partition?: number; error: unknown }[];
}

/** Runs of the event source: see the file comment. */
export class Dispatcher {
  private readonly concurrency: number;
  private readonly backoff: { readonly baseMs: number; readonly capMs: number };
  private readonly leaseMarginMs: number;
  private readonly waitMsMax: number;
  private readonly readAheadMax: number;

  constructor(
    private readonly deps: DispatcherDependencies,
    private readonly options: DispatcherOptions,
  ) {
    this.concurrency = options.concurrency ?? 16;
    this.backoff = options.backoff ?? { baseMs: 500, capMs: 30_000 };
    this.leaseMarginMs = options.leaseMarginMs ?? 30_000;
    this.waitMsMax = options.waitMsMax ?? 10_000;
    this.readAheadMax = options.readAheadMax ?? 1_000;
  }

  /**
   * One run: delivers what is pending for the trigger, stopping before `deadline` (epoch ms) with
   * room for the longest invocation it starts. Failures of single partitions are reported, not thrown.
   */
  async run(trigger: DispatchTrigger, deadline: number): Promise<DispatchReport> {
    const { clock } = this.deps;
    const started = clock.now();
    const context: RunContext = { owner: randomUUID(), deadline, failures: [] };
    const subscriptions = (
      await this.deps.subscriptions.list(SUBSCRIPTION_LIMITS.subscriptionsListedMax)
    ).filter((subscription) => subscription.enabled);
    const runs: SubscriptionRun[] = [];
    const tasks: (() => Promise<void>)[] = [];
    const topics = new Map<string, Promise<Topic | undefined>>();
    for (const subscription of subscriptions) {
      try {
        if (!topics.has(subscription.topic))
          topics.set(subscription.topic, this.deps.topics.get(subscription.topic));
        const topic = await topics.get(subscription.topic);
        if (!topic) continue; // deleted: nothing to deliver until a topic of that name exists again
        const partitions = this.triggeredPartitions(trigger, topic);
        if (partitions.length === 0) continue;
        const pending = await this.pendingPartitions(subscription, topic, partitions);
        if (pending.partitions.length === 0) continue;
        const run: SubscriptionRun = {
          subscription,
          topic,
          filter: compileFilters(subscription.filters),
          group: pending.group,
          counters: new MutableCounters(),
          partitions: 0,
          lag: 0,
          oldestUndeliveredAgeMs: 0,
        };
        runs.push(run);
        for (const partition of pending.partitions) tasks.push(() => this.drain(context, run, partition));
      } catch (error) {
        context.failures.push({ subscription: subscription.name, error });
      }
    }
    await runBounded(tasks, this.concurrency);
    return {
      subscriptions: runs.map((run) => ({
        subscription: run.subscription.name,
        topic: run.topic.name,
        counters: run.counters.snapshot(),
        partitions: run.partitions,
        lag: run.lag,
        oldestUndeliveredAgeMs: run.oldestUndeliveredAgeMs,
      })),
      failures: context.failures,
      durationMs: clock.now() - started,
    };
  }

  private triggeredPartitions(trigger: DispatchTrigger, topic: Topic): number[] {
    if (trigger.kind === 'sweep')
      return Array.from({ length: topic.partitionCount }, (_, partition) => partition);
    const touched = new Set<number>();
    for (const { topicId, partition } of trigger.partitions) {
      if (topicId === topic.topicId && partition < topic.partitionCount) touched.add(partition);
    }
    return [...touched].sort((a, b) => a - b);
  }

  /**
   * The partitions with records past the committed offset, from two cheap reads (the heads and the
   * group's offsets), so an idle subscription costs no write. Partitions the group has no offset
   * for (added to the topic later, or the group deleted by hand) start at their earliest record.
   */
  private async pendingPartitions(
    subscription: Subscription,
    topic: Topic,
    partitions: readonly number[],
  ): Promise<{ group: GroupRef; partitions: number[] }> {
    let group = await this.readGroup(subscription);
    let committed = group
      ? await this.committedOffsets(subscription, topic, group)
      : new Map<number, number>();
    const missing = partitions.filter((partition) => !committed.has(partition));
    if (!group || missing.length > 0) {
      await this.deps.groups.reset(subscription.consumerGroupId, {
        topic: topic.name,
        to: { kind: 'earliest' },
        partitions: missing,
      });
      group = await this.readGroup(subscription);
      if (!group)
        throw new Error(`Consumer group '${subscription.consumerGroupId}' vanished while it was set up`);
      committed = await this.committedOffsets(subscription, topic, group);
    }
    const heads = await this.deps.partitionLog.readHeads(topic, partitions);
    return {
      group,
      partitions: heads
        .filter((head) => (committed.get(head.partition) ?? 0) < head.highWatermark)
        .map((head) => head.partition),
    };
  }

  private async readGroup(subscription: Subscription): Promise<GroupRef | undefined> {
    const snapshot = await this.deps.groupStore.read(subscription.consumerGroupId);
    const record = snapshot.record;
    if (!record) return undefined;
    const now = this.deps.clock.now();
    const live = snapshot.members.filter(
      (member) =>
        member.groupId === record.groupId && member.memberId in record.assignments && member.deadline >= now,
    );
    if (live.length > 0) {
      throw new Error(
        `Consumer group '${subscription.consumerGroupId}' has ${live.length} live member(s): the subscription delivers only while its group has none`,
      );
    }
    return { groupId: record.groupId, generation: record.generation };
  }

  private async committedOffsets(
    subscription: Subscription,
    topic: Topic,
    group: GroupRef,
  ): Promise<Map<number, number>> {
    const offsets = await this.deps.groupStore.readOffsets(
      subscription.consumerGroupId,
      LIMITS.groupOffsetsListedMax,
    );
    return new Map(
      offsets
        .filter((offset) => offset.groupId === group.groupId && offset.topicId === topic.topicId)
        .map((offset) => [offset.partition, offset.offset]),
    );
  }

  /** Delivers one partition under its lease until caught up, blocked, or out of time. */
  private async drain(context: RunContext, run: SubscriptionRun, partition: number): Promise<void> {
    const { subscriptions, clock, invoker } = this.deps;
    const { subscription } = run;
    let timeoutMs: number;
    try {
      timeoutMs = await invoker.timeoutMs(subscription.target);
    } catch (error) {
      context.failures.push({ subscription: subscription.name, partition, error });
      return;
    }
    const leaseMs = timeoutMs + this.leaseMarginMs;
    if (clock.now() + timeoutMs + INVOCATION_MARGIN_MS > context.deadline) return; // a later run has the time
    const state = await subscriptions.acquireLease(
      subscription,
      partition,
      context.owner,
      clock.now() + leaseMs,
      clock.now(),
    );
    if (!state) return; // another run delivers it now
    run.partitions++;
    const delivery = new PartitionDelivery(this, context, run, partition, state, timeoutMs, leaseMs);
    try {
      await delivery.drain();
    } catch (error) {
      context.failures.push({ subscription: subscription.name, partition, error });
      await delivery.recordFailure(error).catch(() => undefined);
    } finally {
      run.lag += delivery.lag;
      run.oldestUndeliveredAgeMs = Math.max(run.oldestUndeliveredAgeMs, delivery.oldestUndeliveredAgeMs);
      await subscriptions.releaseLease(subscription, partition, context.owner).catch(() => undefined);
    }
  }

  /** @internal used by PartitionDelivery */
  get dependencies(): DispatcherDependencies {
    return this.deps;
  }

  /** @internal */
  get settings() {
    return {
      bootstrapServers: this.options.bootstrapServers,
      backoff: this.backoff,
      waitMsMax: this.waitMsMax,
      readAheadMax: this.readAheadMax,
    };
  }

  /** @internal re-reads the group after its generation moved (a reset, a member that came and went). */
  async refreshGroup(run: SubscriptionRun): Promise<void> {
    const group = await this.readGroup(run.subscription);
    if (!group)
      throw new Error(`Consumer group '${run.subscription.consumerGroupId}' was deleted during delivery`);
    run.group = group;
  }
}

/** One partition's delivery during one run, under the lease. */
class PartitionDelivery {
  private committed = 0;
  private retry: RetryState | undefined;
  private buffer: LogRecord[] = [];
  private highWatermark = 0;
  private leaseUntil: number;
  /** Counters of batches not saved yet, and the retry state as last saved. */
  private readonly unsaved = new MutableCounters();
  private unsavedDeliveredAt: number | undefined;
  private savedRetry: RetryState | undefined;
  private savedAt: number;
  /** The batch whose batching window was already waited for. */
  private waitedAt = -1;
  lag = 0;
  oldestUndeliveredAgeMs = 0;

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly context: RunContext,
    private readonly run: SubscriptionRun,
    private readonly partition: number,
    state: PartitionDeliveryState,
    private readonly timeoutMs: number,
    private readonly leaseMs: number,
  ) {
    this.retry = state.retry;
    this.savedRetry = state.retry;
    this.leaseUntil = state.lease?.until ?? 0;
    this.savedAt = this.dispatcher.dependencies.clock.now();
  }

  private get deps() {
    return this.dispatcher.dependencies;
  }

  async drain(): Promise<void> {
    const { clock } = this.deps;
    const { subscription } = this.run;
    this.committed = await this.readCommitted();
    for (;;) {
      if (clock.now() + this.timeoutMs + INVOCATION_MARGIN_MS > this.context.deadline) break;
      const retry = this.retry?.start === this.committed ? this.retry : undefined;
      if (retry && retry.retryAt > clock.now()) {
        const wait = retry.retryAt - clock.now();
        if (
          wait > this.dispatcher.settings.waitMsMax ||
          clock.now() + wait + this.timeoutMs > this.context.deadline
        ) {
          break; // the schedule (or the next append) comes back for it
        }
        await clock.sleep(wait);
      }
      const limit = batchLimit(this.committed, subscription.batchSize, retry);
      if (!(await this.fill(limit))) break; // caught up
      if (!retry && (await this.waitForBatchingWindow(limit))) await this.fill(limit);
      const proceed = await this.deliverBatch(limit, retry);
      if (!proceed) break;
    }
    await this.flush(undefined);
    this.measure();
  }

  /** Reads the committed offset; a partition set up meanwhile by another path starts at its earliest record. */
  private async readCommitted(): Promise<number> {
    const { subscription, topic } = this.run;
    const offset = await this.deps.groupStore.readOffset(
      subscription.consumerGroupId,
      topic.name,
      this.partition,
    );
    if (offset && offset.groupId === this.run.group.groupId && offset.topicId === topic.topicId)
      return offset.offset;
    throw new Error(
      `Consumer group '${subscription.consumerGroupId}' lost its offset for ${topic.name}-${this.partition}; the next run sets it up again`,
    );
  }

  /** Tops the buffer up to at least `limit` records (reading ahead); false when there is nothing to deliver. */
  private async fill(limit: number): Promise<boolean> {
    if (this.buffer.length >= limit) return true;
    const { topic } = this.run;
    const last = this.buffer.at(-1);
    const from = last ? last.offset + 1 : this.committed;
    const want = Math.min(LIMITS.fetchRecordsMax, Math.max(limit, this.dispatcher.settings.readAheadMax));
    let answer: Awaited<ReturnType<LogService['fetch']>>;
    try {
      answer = await this.deps.log.fetch(topic.name, this.partition, from, {
        recordsMax: Math.max(1, want - this.buffer.length),
        bytesMax: LIMITS.fetchBytesMax,
        waitMs: 0,
      });
    } catch (error) {
      if (error instanceof OffsetOutOfRangeError && this.buffer.length === 0 && from < error.logStartOffset) {
        await this.skipRetained(error.logStartOffset);
        return this.fill(limit);
      }
      throw error;
    }
    this.highWatermark = answer.highWatermark;
    this.buffer.push(...answer.records);
    return this.buffer.length > 0;
  }

  /**
   * Retention deleted records before they were delivered: the position moves to the log's start,
   * as Kafka's `auto.offset.reset=earliest` does, and the loss is recorded.
   */
  private async skipRetained(logStartOffset: number): Promise<void> {
    const skipped = logStartOffset - this.committed;
    const failure = this.failure(
      `Retention deleted ${skipped} record(s) at offsets ${this.committed} to ${logStartOffset - 1} before they were delivered`,
      this.committed,
    );
    await this.commit(logStartOffset);
    this.retry = undefined;
    this.unsaved.add({ discarded: skipped, errors: 1 });
    this.run.counters.add({ discarded: skipped, errors: 1 });
    await this.flush(failure);
  }

  /**
   * Waits for a batch to fill, as Lambda's MaximumBatchingWindowInSeconds: until the window after
   * the oldest buffered record ends (bounded by what a run may wait). True when it waited.
   */
  private async waitForBatchingWindow(limit: number): Promise<boolean> {
    const { clock } = this.deps;
    const window = this.run.subscription.maxBatchingWindowMs;
    const first = this.buffer[0];
    if (window === 0 || !first || this.buffer.length >= limit || this.waitedAt === first.offset) return false;
    const now = clock.now();
    const closesAt = Math.min(first.timestamp, now) + window;
    const wait = Math.min(closesAt - now, this.dispatcher.settings.waitMsMax);
    this.waitedAt = first.offset;
    if (wait <= 0 || now + wait + this.timeoutMs > this.context.deadline) return false;
    await clock.sleep(wait);
    return true;
  }

  /** Invokes the function with the next batch and settles it; false when delivery must stop for this run. */
  private async deliverBatch(limit: number, retry: RetryState | undefined): Promise<boolean> {
    const { clock, invoker } = this.deps;
    const { subscription, topic } = this.run;
    let batch = this.buffer.slice(0, limit);
    let payload: string;
    let deliverable: LogRecord[];
    const now = clock.now();
    const expired = new Set<number>();
    const filtered = new Set<number>();
    for (;;) {
      expired.clear();
      filtered.clear();
      for (const record of batch) {
        if (subscription.maxRecordAgeMs !== -1 && now - record.timestamp > subscription.maxRecordAgeMs) {
          expired.add(record.offset);
        } else if (!this.run.filter(filterInputOf(record.value?.bytes ?? null))) {
          filtered.add(record.offset);
        }
      }
      deliverable = batch.filter((record) => !expired.has(record.offset) && !filtered.has(record.offset));
      payload = JSON.stringify(
        buildKafkaEvent(topic.name, this.partition, deliverable, this.dispatcher.settings.bootstrapServers),
      );
      if (Buffer.byteLength(payload) <= SUBSCRIPTION_LIMITS.eventBytesMax || batch.length === 1) break;
      batch = batch.slice(0, Math.ceil(batch.length / 2)); // too big for one invocation: deliver fewer
    }
    const first = batch[0];
    const last = batch.at(-1);
    if (!first || !last) return false;
    const batchStart = this.committed;
    const batchEnd = last.offset + 1;

    let outcome: BatchOutcome = { kind: 'success' };
    let failure: DeliveryFailure | undefined;
    let delivered = 0;
    const counts: Partial<Record<keyof DeliveryCounters, number>> = {};
    if (deliverable.length > 0) {
      if (this.leaseUntil - clock.now() < this.timeoutMs + INVOCATION_MARGIN_MS) {
        if (!(await this.save({}, undefined))) return false;
      }
      const result: InvocationResult = await invoker.invoke(subscription.target, payload);
      counts.invocations = 1;
      const settledAt = clock.now();
      switch (result.kind) {
        case 'returned': {
          const answer = subscription.reportBatchItemFailures
            ? readBatchAnswer(
                result.answer,
                topic.name,
                this.partition,
                deliverable.map((record) => record.offset),
              )
            : ({ kind: 'success' } as const);
          if (answer.kind === 'success') {
            delivered = deliverable.length;
          } else if (answer.kind === 'partial') {
            outcome = { kind: 'failure', progressTo: answer.failedOffset };
            delivered = deliverable.filter((record) => record.offset < answer.failedOffset).length;
            failure = this.failure(
              `The function reported offset ${answer.failedOffset} as failed`,
              answer.failedOffset,
              settledAt,
            );
          } else {
            outcome = { kind: 'failure', progressTo: batchStart };
            failure = this.failure(`Invalid batchItemFailures: ${answer.reason}`, batchStart, settledAt);
          }
          break;
        }
        case 'function-error':
          outcome = { kind: 'failure', progressTo: batchStart };
          failure = this.failure(`${result.errorType}: ${result.errorMessage}`, batchStart, settledAt);
          break;
        case 'unavailable':
          outcome = { kind: 'throttled' };
          failure = this.failure(
            `The function could not be invoked: ${result.reason}`,
            batchStart,
            settledAt,
          );
          break;
      }
      if (failure) counts.errors = 1;
      counts.delivered = delivered;
    }

    const settlement = settleBatch({
      batchStart,
      batchEnd,
      outcome,
      retry,
      policy: subscription,
      now: clock.now(),
      backoffMs: (attempts) => retryBackoffMs(attempts, this.dispatcher.settings.backoff, clock.random),
    });

    // Dead-letter (or discard) what the commit moves past without delivering: expired records, and
    // the failed range once retries ran out.
    const giveUp: { record: LogRecord; reason: DeadLetterReason; attempts: number }[] = [];
    for (const record of batch) {
      if (record.offset >= settlement.commitTo) break;
      if (expired.has(record.offset)) giveUp.push({ record, reason: 'record-age-exceeded', attempts: 0 });
      else if (
        settlement.deadLetter &&
        record.offset >= settlement.deadLetter.from &&
        !filtered.has(record.offset)
      ) {
        giveUp.push({ record, reason: 'retries-exhausted', attempts: settlement.deadLetter.attempts });
      }
    }
    counts.filtered = batch.filter(
      (record) => record.offset < settlement.commitTo && filtered.has(record.offset),
    ).length;
    if (giveUp.length > 0) {
      if (subscription.onFailure) {
        counts.deadLettered = await this.deadLetter(giveUp, failure);
      } else {
        counts.discarded = giveUp.length;
      }
    }

    if (settlement.commitTo > this.committed) {
      if (!(await this.commit(settlement.commitTo))) return false;
    }
    this.retry = settlement.retry;
    this.buffer = this.buffer.filter((record) => record.offset >= this.committed);
    this.run.counters.add(counts);
    this.unsaved.add(counts);
    if (delivered > 0) this.unsavedDeliveredAt = clock.now();
    const retryChanged = !sameRetry(this.currentRetry(), this.savedRetry);
    if (failure || retryChanged || clock.now() - this.savedAt >= SAVE_INTERVAL_MS) {
      if (!(await this.flush(failure))) return false;
    }
    return true;
  }

  /** The retry state that holds at the committed offset. */
  private currentRetry(): RetryState | undefined {
    return this.retry?.start === this.committed ? this.retry : undefined;
  }

  /** Saves the unsaved counters (and a failure) with the retry state; false when the lease was lost. */
  private async flush(failure: DeliveryFailure | undefined): Promise<boolean> {
    const counts = this.unsaved.snapshot();
    const saved = await this.save(counts, failure, this.unsavedDeliveredAt);
    if (saved) {
      this.unsaved.add(negated(counts));
      this.unsavedDeliveredAt = undefined;
    }
    return saved;
  }

  private failure(message: string, offset: number, at = this.deps.clock.now()): DeliveryFailure {
    return { message: message.slice(0, ERROR_TEXT_MAX), at, offset };
  }

  /** Writes records to the dead-letter topic, idempotently per chunk; the number written. */
  private async deadLetter(
    records: readonly { record: LogRecord; reason: DeadLetterReason; attempts: number }[],
    failure: DeliveryFailure | undefined,
  ): Promise<number> {
    const { subscription, topic } = this.run;
    const dlq = subscription.onFailure?.topic;
    if (!dlq) return 0;
    const text = (value: string) => Buffer.from(value, 'utf8');
    const toProduce = records.map(({ record, reason, attempts }): ProduceRecord => {
      const headers: RecordHeader[] = [
        ...record.headers,
        { name: DEAD_LETTER_HEADERS.reason, value: text(reason) },
        { name: DEAD_LETTER_HEADERS.subscription, value: text(subscription.name) },
        { name: DEAD_LETTER_HEADERS.topic, value: text(topic.name) },
        { name: DEAD_LETTER_HEADERS.partition, value: text(String(this.partition)) },
        { name: DEAD_LETTER_HEADERS.offset, value: text(String(record.offset)) },
        { name: DEAD_LETTER_HEADERS.timestamp, value: text(String(record.timestamp)) },
        { name: DEAD_LETTER_HEADERS.attempts, value: text(String(attempts)) },
        ...(reason === 'retries-exhausted' && failure
          ? [{ name: DEAD_LETTER_HEADERS.error, value: text(failure.message) }]
          : []),
      ];
      return { key: record.key, value: record.value, headers, timestamp: record.timestamp };
    });
    let written = 0;
    for (const chunk of chunkRecords(toProduce)) {
      const firstOffset = records[written]?.record.offset ?? 0;
      const lastOffset = records[written + chunk.length - 1]?.record.offset ?? firstOffset;
      const idempotencyKey = `shoal-dlq:${subscription.subscriptionId}:${this.partition}:${firstOffset}-${lastOffset}`;
      try {
        await this.deps.log.produce(dlq, chunk, idempotencyKey);
      } catch (error) {
        if (error instanceof TopicNotFoundError) {
          throw new Error(`The dead-letter topic '${dlq}' does not exist: create it, and delivery resumes`, {
            cause: error,
          });
        }
        // The key is taken by an earlier write of these records (with another error text): written.
        if (!(error instanceof Error && error.name === 'IdempotencyKeyReusedError')) throw error;
      }
      written += chunk.length;
    }
    return written;
  }

  /** Commits `offset` for the subscription's group; false when delivery must stop (the group changed hands). */
  private async commit(offset: number): Promise<boolean> {
    const { groupStore, clock } = this.deps;
    const { subscription, topic } = this.run;
    for (let attempt = 1; attempt <= 4; attempt++) {
      const now = clock.now();
      const outcome = await groupStore.commit({
        group: subscription.consumerGroupId,
        groupId: this.run.group.groupId,
        generation: this.run.group.generation,
        member: undefined,
        offsets: [
          {
            topic: topic.name,
            partition: this.partition,
            offset,
            metadata: undefined,
            topicId: topic.topicId,
            committedAt: now,
          },
        ],
        now,
      });
      switch (outcome.kind) {
        case 'committed':
          this.committed = offset;
          return true;
        case 'regressed':
          // Someone reset the group past this batch: continue from there.
          this.committed = await this.readCommitted();
          this.buffer = [];
          this.retry = undefined;
          return true;
        case 'generation-changed':
          await this.dispatcher.refreshGroup(this.run);
          break;
        default: {
          // A conflict, or an outcome not known (a timeout): see what is stored, then try again.
          const stored = await this.readCommitted();
          if (stored >= offset) {
            this.committed = stored;
            return true;
          }
          await clock.sleep(10 * attempt);
        }
      }
    }
    return false;
  }

  /** Saves progress and extends the lease; false when the lease was lost. */
  private async save(
    counts: Partial<DeliveryCounters>,
    failure: DeliveryFailure | undefined,
    deliveredAt?: number,
  ): Promise<boolean> {
    const until = this.deps.clock.now() + this.leaseMs;
    const retry = this.currentRetry();
    const saved = await this.deps.subscriptions.saveProgress(
      this.run.subscription,
      this.partition,
      this.context.owner,
      {
        retry,
        counters: counts,
        leaseUntil: until,
        ...(failure ? { lastError: failure } : {}),
        ...(deliveredAt === undefined ? {} : { lastDeliveredAt: deliveredAt }),
      },
    );
    if (saved) {
      this.leaseUntil = until;
      this.savedRetry = retry;
      this.savedAt = this.deps.clock.now();
    }
    return saved;
  }

  /** Records an unexpected failure of this run's delivery (best effort). */
  async recordFailure(error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    this.unsaved.add({ errors: 1 });
    this.run.counters.add({ errors: 1 });
    await this.flush(this.failure(message, this.committed));
  }

  private measure(): void {
    this.lag = Math.max(0, this.highWatermark - this.committed);
    const oldest = this.buffer[0];
    this.oldestUndeliveredAgeMs =
      this.lag > 0 && oldest ? Math.max(0, this.deps.clock.now() - oldest.timestamp) : 0;
  }
}

function sameRetry(a: RetryState | undefined, b: RetryState | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.start === b.start && a.end === b.end && a.attempts === b.attempts && a.retryAt === b.retryAt;
}

function negated(counts: DeliveryCounters): DeliveryCounters {
  return {
    delivered: -counts.delivered,
    invocations: -counts.invocations,
    errors: -counts.errors,
    deadLettered: -counts.deadLettered,
    filtered: -counts.filtered,
    discarded: -counts.discarded,
  };
}

/** Splits dead-letter records into produce requests that fit one transaction comfortably. */
function chunkRecords(records: readonly ProduceRecord[]): ProduceRecord[][] {
  const chunks: ProduceRecord[][] = [];
  let current: ProduceRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size =
      (record.key?.bytes.byteLength ?? 0) +
      (record.value?.bytes.byteLength ?? 0) +
      record.headers.reduce((sum, header) => sum + header.name.length + header.value.byteLength, 0);
    if (
      current.length > 0 &&
      (current.length >= DEAD_LETTER_CHUNK_RECORDS || bytes + size > DEAD_LETTER_CHUNK_BYTES)
    ) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Runs tasks with at most `limit` at a time. */
async function runBounded(tasks: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next++];
      if (task) await task();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}
