/**
 * Subscriptions: create, list, describe (with lag, errors, dead letters and the age of the oldest
 * undelivered record per partition), update and delete. Delivery itself is the dispatcher's
 * (`dispatcher.ts`); a subscription's position is its consumer group's committed offsets, so the
 * groups API shows it too.
 */
import { randomUUID } from 'node:crypto';
import type { GroupStore } from '../ports/group-store.js';
import type { PartitionLog } from '../ports/partition-log.js';
import {
  type DeliveryCounters,
  type DeliveryFailure,
  NO_COUNTS,
  type PartitionDeliveryState,
  type SubscriptionStore,
} from '../ports/subscription-store.js';
import type { TopicStore } from '../ports/topic-store.js';
import { type Clock, systemClock } from './clock.js';
import {
  ConflictError,
  GroupNotFoundError,
  InvalidRequestError,
  SubscriptionExistsError,
  SubscriptionNotFoundError,
  TopicNotFoundError,
} from './errors.js';
import type { GroupService, ResetTarget } from './group-service.js';
import { LIMITS } from './limits.js';
import type { LogService } from './log-service.js';
import {
  resolveSubscriptionConfig,
  SUBSCRIPTION_LIMITS,
  type Subscription,
  type SubscriptionInput,
  type SubscriptionTarget,
  validateSubscriptionName,
} from './subscription.js';
import type { Topic } from './topic.js';

/** Checks that a target can be invoked where Shoal runs (a module file on the local stack, an ARN in AWS). */
export type TargetCheck = (target: SubscriptionTarget) => Promise<void>;

/** A subscription's delivery in one partition, as the API shows it. */
export interface PartitionDelivery {
  readonly partition: number;
  /** Null when the group has no offset for the partition yet (the dispatcher sets it up). */
  readonly committedOffset: number | null;
  readonly highWatermark: number;
  /** Records not delivered yet: highWatermark - committedOffset. */
  readonly lag: number;
  /** Now minus the timestamp of the record at the committed offset; 0 when caught up. */
  readonly oldestUndeliveredAgeMs: number;
  readonly counters: DeliveryCounters;
  /** Failed attempts of the batch at the committed offset, and when it is retried (epoch ms). */
  readonly retry: { readonly attempts: number; readonly retryAt: number } | null;
  readonly lastError: DeliveryFailure | null;
  readonly lastDeliveredAt: number | null;
  /** A dispatcher run holds the partition now. */
  readonly delivering: boolean;
}

export interface SubscriptionDescription {
  readonly subscription: Subscription;
  /** Empty when the topic no longer exists. */
  readonly partitions: readonly PartitionDelivery[];
  readonly totals: DeliveryCounters & { readonly lag: number; readonly oldestUndeliveredAgeMs: number };
}

/** Partitions whose oldest undelivered record one describe looks up (one small read each). */
const AGE_LOOKUPS_MAX = 256;
const AGE_LOOKUP_CONCURRENCY = 8;

/** The subscriptions API's use cases, over the ports; delivery is the dispatcher's. */
export class SubscriptionService {
  constructor(
    private readonly subscriptions: SubscriptionStore,
    private readonly topics: TopicStore,
    private readonly partitionLog: PartitionLog,
    private readonly groupStore: GroupStore,
    private readonly groups: GroupService,
    private readonly log: LogService,
    private readonly checkTarget: TargetCheck,
    private readonly clock: Clock = systemClock,
  ) {}

  /**
   * Creates a subscription. Partitions its consumer group has no committed offset for start at
   * `startingPosition`; a group given by `consumerGroupId` keeps the offsets it has, as Kafka does.
   *
   * @throws InvalidRequestError, TopicNotFoundError, SubscriptionExistsError,
   *   ConflictError (the group serves another subscription), GroupNotEmptyError (it has live members)
   */
  async create(input: SubscriptionInput): Promise<Subscription> {
    const config = resolveSubscriptionConfig(input);
    await this.checkTarget(config.target);
    const topic = await this.requireTopic(config.topic);
    await this.checkDeadLetterTopic(config.onFailure?.topic);
    await this.checkOutputTopic(config.outputTopic);
    if (await this.subscriptions.get(config.name)) throw new SubscriptionExistsError(config.name);
    const all = await this.subscriptions.list(SUBSCRIPTION_LIMITS.subscriptionsListedMax);
    const sharing = all.find((other) => other.consumerGroupId === config.consumerGroupId);
    if (sharing) {
      throw new ConflictError(
        `Consumer group '${config.consumerGroupId}' already serves subscription '${sharing.name}'; each subscription needs a group of its own`,
      );
    }
    if (all.length >= SUBSCRIPTION_LIMITS.subscriptionsListedMax) {
      throw new ConflictError(
        `There are already ${all.length} subscriptions, the most one deployment serves`,
      );
    }
    await this.setStartingOffsets(config.consumerGroupId, topic, startingTarget(config));
    const subscription: Subscription = {
      ...config,
      subscriptionId: randomUUID(),
      consumerGroupIdGiven: input.consumerGroupId !== undefined,
      createdAt: this.clock.now(),
    };
    if (!(await this.subscriptions.create(subscription))) throw new SubscriptionExistsError(config.name);
    return subscription;
  }

  /**
   * Changes a subscription's settings, keeping its position (as Lambda's UpdateEventSourceMapping).
   * The topic and the consumer group cannot change; a new starting position has no effect.
   *
   * @throws SubscriptionNotFoundError, InvalidRequestError
   */
  async update(input: SubscriptionInput): Promise<Subscription> {
    const current = await this.get(input.name);
    const config = resolveSubscriptionConfig(input);
    if (config.topic !== current.topic) {
      throw new InvalidRequestError(
        `A subscription's topic cannot change (from '${current.topic}' to '${config.topic}'): create another subscription`,
        'topic',
      );
    }
    if (config.consumerGroupId !== current.consumerGroupId) {
      throw new InvalidRequestError(
        `A subscription's consumer group cannot change (from '${current.consumerGroupId}' to '${config.consumerGroupId}')`,
        'consumerGroupId',
      );
    }
    await this.checkTarget(config.target);
    await this.checkDeadLetterTopic(config.onFailure?.topic);
    await this.checkOutputTopic(config.outputTopic);
    const next: Subscription = {
      ...config,
      startingPosition: current.startingPosition,
      startingPositionTimestamp: current.startingPositionTimestamp,
      subscriptionId: current.subscriptionId,
      consumerGroupIdGiven: current.consumerGroupIdGiven,
      createdAt: current.createdAt,
    };
    if (!(await this.subscriptions.update(next))) throw new SubscriptionNotFoundError(input.name);
    return next;
  }

  /** @throws SubscriptionNotFoundError */
  async get(name: string): Promise<Subscription> {
    validateSubscriptionName(name);
    const subscription = await this.subscriptions.get(name);
    if (!subscription) throw new SubscriptionNotFoundError(name);
    return subscription;
  }

  list(): Promise<Subscription[]> {
    return this.subscriptions.list(SUBSCRIPTION_LIMITS.subscriptionsListedMax);
  }

  /** Settings and, per partition, position, lag, counters, the last error and the oldest undelivered record's age. */
  async describe(name: string): Promise<SubscriptionDescription> {
    const subscription = await this.get(name);
    const topic = await this.topics.get(subscription.topic);
    if (!topic)
      return { subscription, partitions: [], totals: { ...NO_COUNTS, lag: 0, oldestUndeliveredAgeMs: 0 } };
    const partitions = Array.from({ length: topic.partitionCount }, (_, partition) => partition);
    const [heads, committed, states] = await Promise.all([
      this.partitionLog.readHeads(topic, partitions),
      this.committedOffsets(subscription, topic),
      this.subscriptions.readStates(subscription),
    ]);
    const stateOf = new Map(states.map((state) => [state.partition, state]));
    const now = this.clock.now();
    const lagging = heads.filter((head) => {
      const offset = committed.get(head.partition);
      return offset !== undefined && offset < head.highWatermark;
    });
    const ages = await this.oldestAges(
      topic,
      lagging.slice(0, AGE_LOOKUPS_MAX).map((head) => head.partition),
      committed,
      now,
    );
    const rows: PartitionDelivery[] = heads.map((head) => {
      const offset = committed.get(head.partition);
      const state: PartitionDeliveryState | undefined = stateOf.get(head.partition);
      const retry = state?.retry && state.retry.start === offset ? state.retry : undefined;
      return {
        partition: head.partition,
        committedOffset: offset ?? null,
        highWatermark: head.highWatermark,
        lag: Math.max(0, head.highWatermark - (offset ?? head.logStartOffset)),
        oldestUndeliveredAgeMs: ages.get(head.partition) ?? 0,
        counters: state?.counters ?? NO_COUNTS,
        retry: retry ? { attempts: retry.attempts, retryAt: retry.retryAt } : null,
        lastError: state?.lastError ?? null,
        lastDeliveredAt: state?.lastDeliveredAt ?? null,
        delivering: state?.lease !== undefined && state.lease.until >= now,
      };
    });
    const sum = (field: keyof DeliveryCounters) =>
      rows.reduce((total, row) => total + row.counters[field], 0);
    return {
      subscription,
      partitions: rows,
      totals: {
        delivered: sum('delivered'),
        invocations: sum('invocations'),
        errors: sum('errors'),
        deadLettered: sum('deadLettered'),
        filtered: sum('filtered'),
        discarded: sum('discarded'),
        lag: rows.reduce((total, row) => total + row.lag, 0),
        oldestUndeliveredAgeMs: rows.reduce((oldest, row) => Math.max(oldest, row.oldestUndeliveredAgeMs), 0),
      },
    };
  }

  /**
   * Deletes the subscription and its delivery state; its consumer group too, unless the request
   * named the group (then the group and its offsets stay, as Kafka's do).
   *
   * @throws SubscriptionNotFoundError
   */
  async delete(name: string): Promise<void> {
    const subscription = await this.get(name);
    if (!(await this.subscriptions.delete(subscription))) throw new SubscriptionNotFoundError(name);
    if (!subscription.consumerGroupIdGiven) {
      try {
        await this.groups.delete(subscription.consumerGroupId);
      } catch (error) {
        if (!(error instanceof GroupNotFoundError)) throw error;
      }
    }
  }

  /** Sets the group's offsets for the topic's partitions that have none. */
  private async setStartingOffsets(group: string, topic: Topic, to: ResetTarget): Promise<void> {
    const committed = await this.committedOffsetsOf(group, topic);
    const missing = Array.from({ length: topic.partitionCount }, (_, partition) => partition).filter(
      (partition) => !committed.has(partition),
    );
    if (missing.length === 0) return;
    await this.groups.reset(group, { topic: topic.name, to, partitions: missing });
  }

  private committedOffsets(subscription: Subscription, topic: Topic): Promise<Map<number, number>> {
    return this.committedOffsetsOf(subscription.consumerGroupId, topic);
  }

  private async committedOffsetsOf(group: string, topic: Topic): Promise<Map<number, number>> {
    const snapshot = await this.groupStore.read(group);
    const record = snapshot.record;
    if (!record) return new Map();
    const offsets = await this.groupStore.readOffsets(group, LIMITS.groupOffsetsListedMax);
    return new Map(
      offsets
        .filter((offset) => offset.groupId === record.groupId && offset.topicId === topic.topicId)
        .map((offset) => [offset.partition, offset.offset]),
    );
  }

  private async oldestAges(
    topic: Topic,
    partitions: readonly number[],
    committed: ReadonlyMap<number, number>,
    now: number,
  ): Promise<Map<number, number>> {
    const ages = new Map<number, number>();
    let next = 0;
    const worker = async () => {
      while (next < partitions.length) {
        const partition = partitions[next++] as number;
        const offset = committed.get(partition);
        if (offset === undefined) continue;
        try {
          const answer = await this.log.fetch(topic.name, partition, offset, {
            recordsMax: 1,
            bytesMax: 1,
            waitMs: 0,
          });
          const record = answer.records[0];
          if (record) ages.set(partition, Math.max(0, now - record.timestamp));
        } catch {
          // Out of range or between tiers for a moment: the age stays unknown (0) in this answer.
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(AGE_LOOKUP_CONCURRENCY, partitions.length) }, worker));
    return ages;
  }

  private async requireTopic(name: string): Promise<Topic> {
    const topic = await this.topics.get(name);
    if (!topic) throw new TopicNotFoundError(name);
    return topic;
  }

  private async checkOutputTopic(name: string | undefined): Promise<void> {
    if (name === undefined) return;
    if (!(await this.topics.get(name))) {
      throw new InvalidRequestError(
        `outputTopic: the output topic '${name}' does not exist; create it first`,
        'outputTopic',
      );
    }
  }

  private async checkDeadLetterTopic(name: string | undefined): Promise<void> {
    if (name === undefined) return;
    if (!(await this.topics.get(name))) {
      throw new InvalidRequestError(
        `onFailure.topic: the dead-letter topic '${name}' does not exist; create it first`,
        'onFailure.topic',
      );
    }
  }
}

function startingTarget(
  config: Pick<Subscription, 'startingPosition' | 'startingPositionTimestamp'>,
): ResetTarget {
  switch (config.startingPosition) {
    case 'TRIM_HORIZON':
      return { kind: 'earliest' };
    case 'LATEST':
      return { kind: 'latest' };
    case 'AT_TIMESTAMP':
      return { kind: 'timestamp', timestamp: config.startingPositionTimestamp ?? 0 };
  }
}
