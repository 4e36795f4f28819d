/**
 * One partition's delivery during one run, under the lease the run holds: reads from the group's
 * committed offset, invokes the function batch after batch, and commits past what is settled,
 * until the partition is caught up, must wait longer than a run may, or the run's time is up.
 *
 * The parts it drives: `batch-invocation.ts` builds the event and reads the answer, `delivery.ts`
 * decides what an outcome commits, retries or dead-letters, `dead-letter.ts` writes what is given
 * up, `delivery-progress.ts` saves counters and extends the lease.
 */
import type { FunctionInvoker } from '../ports/function-invoker.js';
import type { GroupStore } from '../ports/group-store.js';
import type {
  DeliveryCounters,
  DeliveryFailure,
  PartitionDeliveryState,
  SubscriptionStore,
} from '../ports/subscription-store.js';
import {
  type BatchEvent,
  buildBatchEvent,
  deliveryFailure,
  type InvokedBatch,
  NOTHING_INVOKED,
  readInvocation,
} from './batch-invocation.js';
import type { Clock } from './clock.js';
import { deadLetterRecords, givenUp, writeDeadLetters } from './dead-letter.js';
import { batchLimit, type RetryState, retryBackoffMs, type Settlement, settleBatch } from './delivery.js';
import { type GroupRef, readDeliveryGroup } from './delivery-group.js';
import { OutputRecordsError, outputRecordsOf } from './delivery-output.js';
import { DeliveryProgress, type MutableCounters } from './delivery-progress.js';
import {
  IdempotencyKeyReusedError,
  InvalidRequestError,
  LimitExceededError,
  OffsetOutOfRangeError,
  OffsetRegressionError,
  PartitionNotFoundError,
} from './errors.js';
import type { RecordFilter } from './event-filter.js';
import type { GroupService } from './group-service.js';
import { LIMITS } from './limits.js';
import type { LogService } from './log-service.js';
import type { TransactionTopicInput } from './produce-with-offsets.js';
import type { LogRecord, ProduceRecord } from './record.js';
import type { Subscription } from './subscription.js';
import type { Topic } from './topic.js';

/** An invocation starts only with its timeout plus this much left of the run (and of the lease). */
export const INVOCATION_MARGIN_MS = 1_000;

export interface DeliveryDependencies {
  readonly subscriptions: SubscriptionStore;
  readonly log: LogService;
  readonly groupStore: GroupStore;
  readonly invoker: FunctionInvoker;
  readonly clock: Clock;
  /** Appends and commits in one transaction, for subscriptions with an output topic. */
  readonly groups: Pick<GroupService, 'produceWithOffsets'>;
}

/** An invocation's outcome, and the records it returned for the output topic. */
interface InvokedWithOutputs {
  readonly invoked: InvokedBatch;
  readonly outputs: readonly ProduceRecord[];
}

/** The most attempts at one exactly-once transaction before the run gives the partition up. */
const OUTPUT_TRANSACTION_ATTEMPTS_MAX = 2;

export interface DeliverySettings {
  /** The event's `bootstrapServers`. */
  readonly bootstrapServers: string;
  readonly backoff: { readonly baseMs: number; readonly capMs: number };
  /** The longest a run waits in place for a retry or a batching window. */
  readonly waitMsMax: number;
  /** Records read ahead per fetch, beyond the batch size. */
  readonly readAheadMax: number;
}

/** A subscription as its partitions' deliveries share it during one run. */
export interface SubscriptionDelivery {
  readonly subscription: Subscription;
  readonly topic: Topic;
  readonly filter: RecordFilter;
  /** Re-read by a delivery that finds the generation moved; the others use the new one from then on. */
  group: GroupRef;
  /** What the run did, all partitions together. */
  readonly counters: MutableCounters;
}

/** A partition whose lease the run acquired. */
export interface LeaseGrant {
  /** The run holding the lease. */
  readonly owner: string;
  /** Epoch ms the run must end by. */
  readonly deadline: number;
  readonly partition: number;
  /** The partition's state as the lease was acquired. */
  readonly state: PartitionDeliveryState;
  /** The function's timeout. */
  readonly timeoutMs: number;
  readonly leaseMs: number;
}

/** One partition's delivery during one run: see the file comment. */
export class PartitionDeliveryRun {
  private committed = 0;
  private retry: RetryState | undefined;
  private buffer: LogRecord[] = [];
  private highWatermark = 0;
  private readonly progress: DeliveryProgress;
  private readonly partition: number;
  /** The batch whose batching window was already waited for. */
  private waitedAt = -1;
  /** Records not yet delivered when the delivery stopped. */
  lag = 0;
  /** Age of the oldest of them (by record timestamp); 0 when caught up. */
  oldestUndeliveredAgeMs = 0;

  constructor(
    private readonly deps: DeliveryDependencies,
    private readonly settings: DeliverySettings,
    private readonly run: SubscriptionDelivery,
    private readonly grant: LeaseGrant,
  ) {
    this.partition = grant.partition;
    this.retry = grant.state.retry;
    this.progress = new DeliveryProgress(
      deps.subscriptions,
      deps.clock,
      {
        subscription: run.subscription,
        partition: grant.partition,
        owner: grant.owner,
        leaseMs: grant.leaseMs,
      },
      grant.state,
    );
  }

  /** Delivers until caught up, blocked, or out of time; then saves what is unsaved and measures the lag. */
  async drain(): Promise<void> {
    const { clock } = this.deps;
    const { timeoutMs, deadline } = this.grant;
    this.committed = await this.readCommitted();
    for (;;) {
      if (clock.now() + timeoutMs + INVOCATION_MARGIN_MS > deadline) break;
      const retry = this.currentRetry();
      if (retry && retry.retryAt > clock.now()) {
        const wait = retry.retryAt - clock.now();
        if (wait > this.settings.waitMsMax || clock.now() + wait + timeoutMs > deadline) {
          break; // the schedule (or the next append) comes back for it
        }
        await clock.sleep(wait);
      }
      const limit = batchLimit(this.committed, this.run.subscription.batchSize, retry);
      if (!(await this.fill(limit))) break; // caught up
      if (!retry && (await this.waitForBatchingWindow(limit))) await this.fill(limit);
      const proceed = await this.deliverBatch(limit, retry);
      if (!proceed) break;
    }
    await this.progress.flush(undefined, this.currentRetry());
    this.measure();
  }

  /** Records an unexpected failure of this run's delivery (best effort), and measures the lag it leaves. */
  async recordFailure(error: unknown): Promise<void> {
    this.measure();
    const message = error instanceof Error ? error.message : String(error);
    this.count({ errors: 1 });
    await this.progress.flush(this.failure(message, this.committed), this.currentRetry());
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
    const want = Math.min(LIMITS.fetchRecordsMax, Math.max(limit, this.settings.readAheadMax));
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
    this.count({ discarded: skipped, errors: 1 });
    await this.progress.flush(failure, this.currentRetry());
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
    const wait = Math.min(closesAt - now, this.settings.waitMsMax);
    this.waitedAt = first.offset;
    if (wait <= 0 || now + wait + this.grant.timeoutMs > this.grant.deadline) return false;
    await clock.sleep(wait);
    return true;
  }

  /** Invokes the function with the next batch and settles it; false when delivery must stop for this run. */
  private async deliverBatch(limit: number, retry: RetryState | undefined): Promise<boolean> {
    const { clock } = this.deps;
    const { subscription, topic } = this.run;
    const batch = buildBatchEvent(this.buffer.slice(0, limit), {
      subscription,
      filter: this.run.filter,
      topic: topic.name,
      partition: this.partition,
      bootstrapServers: this.settings.bootstrapServers,
      now: clock.now(),
    });
    const last = batch.records.at(-1);
    if (!last) return false;
    const batchStart = this.committed;
    let invoked = NOTHING_INVOKED;
    let outputs: readonly ProduceRecord[] = [];
    if (batch.deliverable.length > 0) {
      const answer = await this.invoke(batch, batchStart);
      if (!answer) return false;
      ({ invoked, outputs } = answer);
    }
    const settle = (outcome: InvokedBatch['outcome']) =>
      settleBatch({
        batchStart,
        batchEnd: last.offset + 1,
        outcome,
        retry,
        policy: subscription,
        now: clock.now(),
        backoffMs: (attempts) => retryBackoffMs(attempts, this.settings.backoff, clock.random),
      });
    const settlement = settle(invoked.outcome);
    if (subscription.outputTopic !== undefined) {
      const written = await this.settleExactlyOnce(batch, settlement, invoked, outputs, batchStart);
      if (written !== 'rejected') return written;
      // The outputs cannot be appended (too many, a partition the topic lacks): the batch failed.
      const failedInvocation = this.rejectedOutputs(invoked, batchStart);
      const again = await this.settleExactlyOnce(
        batch,
        settle(failedInvocation.outcome),
        failedInvocation,
        [],
        batchStart,
      );
      if (again === 'rejected')
        throw new Error('The dead letters of the batch do not fit one transaction with its commit');
      return again;
    }
    const counts = { ...invoked.counts, ...(await this.giveUp(batch, settlement, invoked.failure)) };
    return this.advance(settlement, counts, invoked);
  }

  /**
   * Exactly once: appends the outputs and the dead letters of a settled batch and commits past it in
   * one transaction; a commit without either is a plain one. A batch whose commit is not written has
   * written nothing, so its retry (by this run or a later one) writes each output once.
   *
   * The transaction's Idempotency-Key names the position it starts from (in the group's generation):
   * a run that lost its lease and tries to deliver from a position another run already moved past
   * meets the key, replayed or reused, (or the commit's own regression check) and writes nothing.
   *
   * @returns whether delivery goes on, or 'rejected' when the outputs cannot be appended at all
   */
  private async settleExactlyOnce(
    batch: BatchEvent,
    settlement: Settlement,
    invoked: InvokedBatch,
    outputs: readonly ProduceRecord[],
    batchStart: number,
  ): Promise<boolean | 'rejected'> {
    const { subscription, topic } = this.run;
    const filtered = batch.records.filter(
      (record) => record.offset < settlement.commitTo && batch.filtered.has(record.offset),
    ).length;
    const given = givenUp(batch, settlement);
    const dlq = subscription.onFailure?.topic;
    const source = { subscription, topic: topic.name, partition: this.partition };
    const topics: TransactionTopicInput[] = [];
    if (outputs.length > 0 && subscription.outputTopic)
      topics.push({ topic: subscription.outputTopic, records: outputs });
    if (given.length > 0 && dlq)
      topics.push({ topic: dlq, records: deadLetterRecords(source, given, invoked.failure) });
    const counts: Partial<DeliveryCounters> = {
      ...invoked.counts,
      filtered,
      ...(given.length === 0 ? {} : dlq ? { deadLettered: given.length } : { discarded: given.length }),
    };
    if (topics.length === 0 || settlement.commitTo <= this.committed) {
      return this.advance(settlement, counts, invoked);
    }
    const written = await this.appendAndCommit(topics, settlement.commitTo, batchStart);
    if (written === 'moved') return true;
    if (written === 'rejected') return 'rejected';
    return this.advance(settlement, counts, invoked, true);
  }

  /** Appends `topics` and commits `offset` in one transaction; what became of it. */
  private async appendAndCommit(
    topics: readonly TransactionTopicInput[],
    offset: number,
    batchStart: number,
  ): Promise<'written' | 'moved' | 'rejected'> {
    const { subscription, topic } = this.run;
    // A reset of the group moves its generation: a replay from a position delivered before gets a key of its own.
    const { generation } = this.run.group;
    const idempotencyKey = `shoal-eos:${subscription.subscriptionId}:${this.partition}:${generation}:${batchStart}`;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.deps.groups.produceWithOffsets(
          subscription.consumerGroupId,
          { offsets: [{ topic: topic.name, partition: this.partition, offset }], topics },
          idempotencyKey,
        );
        // A replay: another run wrote from this position (the same request), and nothing was written now.
        if (result.duplicate) return this.continueFromStored();
        this.committed = offset;
        return 'written';
      } catch (error) {
        if (error instanceof IdempotencyKeyReusedError || error instanceof OffsetRegressionError) {
          // Another run delivered from this position (or a reset moved it).
          return this.continueFromStored();
        }
        if (
          error instanceof LimitExceededError ||
          error instanceof PartitionNotFoundError ||
          error instanceof InvalidRequestError
        ) {
          this.rejection = error.message;
          return 'rejected';
        }
        if (attempt >= OUTPUT_TRANSACTION_ATTEMPTS_MAX) throw error;
      }
    }
  }

  /** Drops what this run read and goes on from the offset stored for the group. */
  private async continueFromStored(): Promise<'moved'> {
    this.committed = await this.readCommitted();
    this.buffer = [];
    this.retry = undefined;
    return 'moved';
  }

  /** Why the last exactly-once transaction was refused. */
  private rejection = '';

  /** The invocation as a failure of the whole batch, because its outputs could not be appended. */
  private rejectedOutputs(invoked: InvokedBatch, batchStart: number): InvokedBatch {
    const message = `The function's records cannot be appended to the output topic: ${this.rejection}`;
    return {
      outcome: { kind: 'failure', progressTo: batchStart },
      failure: deliveryFailure(message, batchStart, this.deps.clock.now()),
      delivered: 0,
      counts: { invocations: invoked.counts.invocations ?? 0, errors: 1, delivered: 0 },
    };
  }

  /**
   * Invokes the function with the batch's event (extending the lease first if it would end
   * meanwhile), with the records it returned for the output topic; undefined when the lease was lost.
   */
  private async invoke(batch: BatchEvent, batchStart: number): Promise<InvokedWithOutputs | undefined> {
    const { clock, invoker } = this.deps;
    const { subscription, topic } = this.run;
    if (this.progress.leaseEndsWithin(this.grant.timeoutMs + INVOCATION_MARGIN_MS)) {
      if (!(await this.progress.save({}, undefined, this.currentRetry()))) return undefined;
    }
    const result = await invoker.invoke(subscription.target, batch.payload);
    const input = {
      reportBatchItemFailures: subscription.reportBatchItemFailures,
      topic: topic.name,
      partition: this.partition,
      batchStart,
    };
    const invoked = readInvocation(result, batch, input, clock.now());
    const { outcome } = invoked;
    const processedAny =
      outcome.kind === 'success' || (outcome.kind === 'failure' && outcome.progressTo > batchStart);
    if (subscription.outputTopic === undefined || result.kind !== 'returned' || !processedAny) {
      return { invoked, outputs: [] };
    }
    try {
      return { invoked, outputs: outputRecordsOf(result.answer) };
    } catch (error) {
      if (!(error instanceof OutputRecordsError)) throw error;
      const message = `Invalid records in the answer: ${error.message}`;
      return {
        invoked: {
          outcome: { kind: 'failure', progressTo: batchStart },
          failure: deliveryFailure(message, batchStart, clock.now()),
          delivered: 0,
          counts: { invocations: 1, errors: 1, delivered: 0 },
        },
        outputs: [],
      };
    }
  }

  /**
   * Counts the records the settled commit moves past without delivering: filtered ones, and those
   * given up on (dead-lettered, or discarded without a dead-letter topic).
   */
  private async giveUp(
    batch: BatchEvent,
    settlement: Settlement,
    failure: DeliveryFailure | undefined,
  ): Promise<Partial<DeliveryCounters>> {
    const { subscription, topic } = this.run;
    const filtered = batch.records.filter(
      (record) => record.offset < settlement.commitTo && batch.filtered.has(record.offset),
    ).length;
    const records = givenUp(batch, settlement);
    if (records.length === 0) return { filtered };
    if (!subscription.onFailure) return { filtered, discarded: records.length };
    const source = { subscription, topic: topic.name, partition: this.partition };
    return { filtered, deadLettered: await writeDeadLetters(this.deps.log, source, records, failure) };
  }

  /** Commits past the settled batch and counts it; false when delivery must stop for this run. */
  private async advance(
    settlement: Settlement,
    counts: Partial<DeliveryCounters>,
    invoked: InvokedBatch,
    committedAlready = false,
  ): Promise<boolean> {
    if (!committedAlready && settlement.commitTo > this.committed) {
      if (!(await this.commit(settlement.commitTo))) return false;
    }
    this.retry = settlement.retry;
    this.buffer = this.buffer.filter((record) => record.offset >= this.committed);
    this.count(counts, invoked.delivered > 0);
    if (this.progress.isDue(invoked.failure, this.currentRetry())) {
      if (!(await this.progress.flush(invoked.failure, this.currentRetry()))) return false;
    }
    return true;
  }

  /** The retry state that holds at the committed offset. */
  private currentRetry(): RetryState | undefined {
    return this.retry?.start === this.committed ? this.retry : undefined;
  }

  private count(counts: Partial<DeliveryCounters>, delivered = false): void {
    this.run.counters.add(counts);
    this.progress.count(counts, delivered);
  }

  private failure(message: string, offset: number): DeliveryFailure {
    return deliveryFailure(message, offset, this.deps.clock.now());
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
          await this.refreshGroup();
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

  /** Re-reads the group after its generation moved (a reset, a member that came and went). */
  private async refreshGroup(): Promise<void> {
    const { subscription } = this.run;
    const group = await readDeliveryGroup(this.deps.groupStore, this.deps.clock, subscription);
    if (!group)
      throw new Error(`Consumer group '${subscription.consumerGroupId}' was deleted during delivery`);
    this.run.group = group;
  }

  private measure(): void {
    this.lag = Math.max(0, this.highWatermark - this.committed);
    const oldest = this.buffer[0];
    this.oldestUndeliveredAgeMs =
      this.lag > 0 && oldest ? Math.max(0, this.deps.clock.now() - oldest.timestamp) : 0;
  }
}
