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
 * This module finds the work and holds the leases; `partition-delivery.ts` delivers one leased
 * partition, and `delivery.ts` decides what an outcome commits, retries or dead-letters.
 */
import { randomUUID } from 'node:crypto';
import type { PartitionLog } from '../ports/partition-log.js';
import type { DeliveryCounters } from '../ports/subscription-store.js';
import type { TopicStore } from '../ports/topic-store.js';
import { type GroupRef, readDeliveryGroup } from './delivery-group.js';
import { MutableCounters } from './delivery-progress.js';
import { compileFilters } from './event-filter.js';
import type { GroupService } from './group-service.js';
import { LIMITS } from './limits.js';
import {
  type DeliveryDependencies,
  type DeliverySettings,
  INVOCATION_MARGIN_MS,
  PartitionDeliveryRun,
  type SubscriptionDelivery,
} from './partition-delivery.js';
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
   * later run (the next append or the schedule). At least the backoff's cap, so that retries never
   * wait for the schedule. @default 30000
   */
  readonly waitMsMax?: number;
  /**
   * How long a run triggered by appends trusts the set of topics with enabled subscriptions that
   * an earlier run of this process read: appends to other topics end the run at once, with no
   * read. A subscription created meanwhile is delivered by the next sweep or the first append
   * after that long. 0 reads the subscriptions on every run. @default 10000
   */
  readonly subscribedTopicsCacheMs?: number;
  /** Records read ahead per fetch, beyond the batch size. @default 1000 */
  readonly readAheadMax?: number;
}

export interface DispatcherDependencies extends DeliveryDependencies {
  readonly topics: TopicStore;
  readonly partitionLog: PartitionLog;
  readonly groups: GroupService;
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

/** A subscription's share of a run: its deliveries' shared state, and what goes in the report. */
interface SubscriptionRun extends SubscriptionDelivery {
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
  private readonly leaseMarginMs: number;
  private readonly settings: DeliverySettings;
  private readonly subscribedTopicsCacheMs: number;
  /** The topics (by id) with enabled subscriptions at the last run that read them all. */
  private subscribedTopics: { readonly at: number; readonly topicIds: ReadonlySet<string> } | undefined;

  constructor(
    private readonly deps: DispatcherDependencies,
    options: DispatcherOptions,
  ) {
    this.concurrency = options.concurrency ?? 16;
    this.leaseMarginMs = options.leaseMarginMs ?? 30_000;
    this.settings = {
      bootstrapServers: options.bootstrapServers,
      backoff: options.backoff ?? { baseMs: 500, capMs: 30_000 },
      waitMsMax: options.waitMsMax ?? 30_000,
      readAheadMax: options.readAheadMax ?? 1_000,
    };
    this.subscribedTopicsCacheMs = options.subscribedTopicsCacheMs ?? 10_000;
  }

  /**
   * One run: delivers what is pending for the trigger, stopping before `deadline` (epoch ms) with
   * room for the longest invocation it starts. Failures of single partitions are reported, not thrown.
   */
  async run(trigger: DispatchTrigger, deadline: number): Promise<DispatchReport> {
    const { clock } = this.deps;
    const started = clock.now();
    if (this.nothingSubscribed(trigger, started)) return { subscriptions: [], failures: [], durationMs: 0 };
    const context: RunContext = { owner: randomUUID(), deadline, failures: [] };
    const subscriptions = (
      await this.deps.subscriptions.list(SUBSCRIPTION_LIMITS.subscriptionsListedMax)
    ).filter((subscription) => subscription.enabled);
    const runs: SubscriptionRun[] = [];
    const tasks: (() => Promise<void>)[] = [];
    const topics = new Map<string, Promise<Topic | undefined>>();
    const topicIds = new Set<string>();
    for (const subscription of subscriptions) {
      try {
        if (!topics.has(subscription.topic))
          topics.set(subscription.topic, this.deps.topics.get(subscription.topic));
        const topic = await topics.get(subscription.topic);
        if (!topic) continue; // deleted: nothing to deliver until a topic of that name exists again
        topicIds.add(topic.topicId);
        const partitions = this.triggeredPartitions(trigger, topic);
        if (partitions.length === 0) continue;
        const pending = await this.pendingPartitions(subscription, topic, partitions, trigger.kind);
        if (!pending || pending.partitions.length === 0) continue;
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
    // Only a complete picture may end later runs early.
    if (context.failures.length === 0) this.subscribedTopics = { at: started, topicIds };
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

  /**
   * Whether a run for appends may end at once: a recent run found no enabled subscription on any
   * topic the appends touched. (The mapping wakes the dispatcher on every append, subscribed or not.)
   */
  private nothingSubscribed(trigger: DispatchTrigger, now: number): boolean {
    const known = this.subscribedTopics;
    if (trigger.kind !== 'appends' || !known || now - known.at >= this.subscribedTopicsCacheMs) return false;
    return trigger.partitions.every(({ topicId }) => !known.topicIds.has(topicId));
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
   * Undefined when the subscription was deleted since the run listed it: its group is gone with it
   * and must not be set up again.
   */
  private async pendingPartitions(
    subscription: Subscription,
    topic: Topic,
    partitions: readonly number[],
    trigger: DispatchTrigger['kind'],
  ): Promise<{ group: GroupRef; partitions: number[] } | undefined> {
    let group = await this.readGroup(subscription);
    let committed = group
      ? await this.committedOffsets(subscription, topic, group)
      : new Map<number, number>();
    const missing = partitions.filter((partition) => !committed.has(partition));
    if (!group || missing.length > 0) {
      // A run lists subscriptions at its start; a delete meanwhile removes the group, which a
      // reset would create again. (A delete between this read and the reset still can: the next
      // sweep finds no subscription and leaves that group alone.)
      const current = await this.deps.subscriptions.get(subscription.name);
      if (current?.subscriptionId !== subscription.subscriptionId) return undefined;
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
    // A sweep looks for what is long overdue: an eventually consistent head (half the read units)
    // serves it; a run woken by appends must see them.
    const heads = await this.deps.partitionLog.readHeads(
      topic,
      partitions,
      trigger === 'sweep' ? 'eventual' : 'strong',
    );
    return {
      group,
      partitions: heads
        .filter((head) => (committed.get(head.partition) ?? 0) < head.highWatermark)
        .map((head) => head.partition),
    };
  }

  private readGroup(subscription: Subscription): Promise<GroupRef | undefined> {
    return readDeliveryGroup(this.deps.groupStore, this.deps.clock, subscription);
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
    const grant = { owner: context.owner, deadline: context.deadline, partition, state, timeoutMs, leaseMs };
    const delivery = new PartitionDeliveryRun(this.deps, this.settings, run, grant);
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
