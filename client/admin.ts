/**
 * Administration of topics and consumer groups, as KafkaJS's `admin()` and Kafka's
 * `kafka-topics` / `kafka-consumer-groups` tools.
 */
import type {
  CommitAnswer,
  CreateSubscriptionInput,
  CreateTopicInput,
  GroupDescription,
  GroupSummary,
  ResetOffsetsInput,
  ShoalApi,
  Subscription,
  SubscriptionDescription,
  TopicDescription,
  TopicSummary,
  UpdateTopicInput,
} from './api.js';

/** A group's lag: per partition and in total. */
export interface GroupLag {
  readonly group: string;
  readonly state: GroupDescription['state'];
  /** Sum over partitions with a committed offset. */
  readonly totalLag: number;
  /** Partitions without a committed offset (their lag is unknown). */
  readonly uncommittedPartitions: number;
  readonly partitions: GroupDescription['offsets'];
}

/** Where a reset moves committed offsets. */
export type ResetTo = ResetOffsetsInput['to'];

/** See the module comment. Create with `shoal.admin()`. */
export class Admin {
  constructor(private readonly api: ShoalApi) {}

  /**
   * Creates a topic; config fields left out take the defaults (retention, segment size and age...).
   *
   * @example await admin.createTopic({ name: 'orders', partitions: 6, retentionMs: 7 * 86_400_000 })
   * @throws ShoalApiError 409 when the topic exists
   */
  createTopic(input: CreateTopicInput): Promise<TopicDescription> {
    return this.api.createTopic(input);
  }

  listTopics(): Promise<TopicSummary[]> {
    return this.api.listTopics();
  }

  /** Partitions with logStartOffset, highWatermark and archivedOffset, and the config. @throws ShoalApiError 40401 */
  describeTopic(topic: string): Promise<TopicDescription> {
    return this.api.describeTopic(topic);
  }

  /** More partitions (never fewer) or other config values. */
  alterTopic(topic: string, change: UpdateTopicInput): Promise<TopicDescription> {
    return this.api.updateTopic(topic, change);
  }

  deleteTopic(topic: string): Promise<void> {
    return this.api.deleteTopic(topic);
  }

  /** Each partition's first readable offset and high watermark (KafkaJS's `fetchTopicOffsets`). */
  async fetchTopicOffsets(
    topic: string,
  ): Promise<{ partition: number; logStartOffset: number; highWatermark: number }[]> {
    const description = await this.api.describeTopic(topic);
    return description.partitions.map(({ partition, logStartOffset, highWatermark }) => ({
      partition,
      logStartOffset,
      highWatermark,
    }));
  }

  /** Each partition's earliest offset at or after `timestamp` (its high watermark if none). */
  async fetchTopicOffsetsByTimestamp(
    topic: string,
    timestamp: number | string | Date,
  ): Promise<{ partition: number; offset: number }[]> {
    const at = timestamp instanceof Date ? timestamp.getTime() : timestamp;
    const description = await this.api.describeTopic(topic);
    return Promise.all(
      description.partitions.map(async ({ partition }) => ({
        partition,
        offset: await this.api.offsetForTimestamp(topic, partition, at),
      })),
    );
  }

  listGroups(): Promise<GroupSummary[]> {
    return this.api.listGroups();
  }

  /** State, generation, members with assignments, committed offsets and lag. @throws ShoalApiError 40404 */
  describeGroup(group: string): Promise<GroupDescription> {
    return this.api.describeGroup(group);
  }

  /** The group's lag per partition and in total. */
  async groupLag(group: string): Promise<GroupLag> {
    const description = await this.api.describeGroup(group);
    return {
      group,
      state: description.state,
      totalLag: description.offsets.reduce((sum, offset) => sum + (offset.lag ?? 0), 0),
      uncommittedPartitions: description.offsets.filter((offset) => offset.committedOffset === null).length,
      partitions: description.offsets,
    };
  }

  /**
   * Moves a topic's committed offsets (backwards too) while the group has no live members: to the
   * earliest or latest offset, the first at or after a timestamp, or an offset (clamped).
   *
   * @example await admin.resetOffsets({ groupId: 'billing', topic: 'orders', to: 'earliest' })
   * @throws ShoalApiError 40913 while the group has live members
   */
  resetOffsets(input: {
    groupId: string;
    topic: string;
    to: ResetTo;
    partitions?: number[];
  }): Promise<CommitAnswer> {
    return this.api.resetOffsets(input.groupId, {
      topic: input.topic,
      to: input.to,
      ...(input.partitions ? { partitions: input.partitions } : {}),
    });
  }

  /** Deletes a group without live members, with its committed offsets. */
  deleteGroup(group: string): Promise<void> {
    return this.api.deleteGroup(group);
  }

  /**
   * Subscribes a Lambda function to a topic, as an event source mapping: it receives batches in the
   * Kafka event shape, at least once, in order per partition, with bounded retries and an optional
   * dead-letter topic.
   *
   * @example await admin.createSubscription({ name: 'billing', topic: 'orders', target: { functionArn } })
   */
  createSubscription(input: CreateSubscriptionInput): Promise<Subscription> {
    return this.api.createSubscription(input);
  }

  listSubscriptions(): Promise<Subscription[]> {
    return this.api.listSubscriptions();
  }

  describeSubscription(name: string): Promise<SubscriptionDescription> {
    return this.api.describeSubscription(name);
  }

  deleteSubscription(name: string): Promise<void> {
    return this.api.deleteSubscription(name);
  }
}
