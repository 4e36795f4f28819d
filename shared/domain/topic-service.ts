/**
 * Creating, describing, changing and deleting topics.
 */
import { randomUUID } from 'node:crypto';
import type { PartitionLog } from '../ports/partition-log.js';
import type { TopicStore } from '../ports/topic-store.js';
import { type Clock, systemClock } from './clock.js';
import { ConflictError, InvalidRequestError, TopicExistsError, TopicNotFoundError } from './errors.js';
import { LIMITS } from './limits.js';
import {
  type PartitionState,
  resolveTopicConfig,
  type Topic,
  type TopicConfig,
  type TopicConfigInput,
  validateTopicName,
} from './topic.js';

export interface CreateTopicInput extends TopicConfigInput {
  readonly name: string;
  readonly partitions: number;
}

export interface UpdateTopicInput extends TopicConfigInput {
  /** A larger partition count; partitions are never removed (keys would move). */
  readonly partitions?: number;
}

/** A topic with the position of each of its partitions. */
export interface TopicDescription {
  readonly topic: Topic;
  /** Each partition's offsets, and the stored bytes of its S3 segments (what `retentionBytes` counts). */
  readonly partitions: readonly (PartitionState & { readonly archivedBytes: number })[];
}

/** Attempts at an update that races another update of the same topic. */
const UPDATE_ATTEMPTS_MAX = 5;

export class TopicService {
  constructor(
    private readonly topics: TopicStore,
    private readonly log: PartitionLog,
    private readonly clock: Clock = systemClock,
  ) {}

  /** @throws InvalidRequestError, TopicExistsError */
  async create(input: CreateTopicInput): Promise<TopicDescription> {
    validateTopicName(input.name);
    validatePartitionCount(input.partitions);
    const config = resolveTopicConfig(configInput(input));
    const topic: Topic = {
      name: input.name,
      topicId: randomUUID(),
      partitionCount: input.partitions,
      config,
      createdAt: this.clock.now(),
    };
    if (!(await this.topics.create(topic))) throw new TopicExistsError(input.name);
    return this.describeTopic(topic);
  }

  list(): Promise<Topic[]> {
    return this.topics.list(LIMITS.topicsListedMax);
  }

  /** @throws TopicNotFoundError */
  async describe(name: string): Promise<TopicDescription> {
    return this.describeTopic(await this.require(name));
  }

  /**
   * Adds partitions or changes the configuration. Fewer partitions is refused, as in Kafka.
   * @throws TopicNotFoundError, InvalidRequestError, ConflictError
   */
  async update(name: string, input: UpdateTopicInput): Promise<TopicDescription> {
    if (input.partitions !== undefined) validatePartitionCount(input.partitions);
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS_MAX; attempt++) {
      const topic = await this.require(name);
      const partitionCount = input.partitions ?? topic.partitionCount;
      if (partitionCount < topic.partitionCount) {
        throw new InvalidRequestError(
          `Topic '${name}' has ${topic.partitionCount} partitions; the count can only grow (asked for ${partitionCount})`,
          'partitions',
        );
      }
      const config: TopicConfig = resolveTopicConfig(configInput(input), topic.config);
      if (await this.topics.update(topic, { partitionCount, config })) {
        return this.describeTopic({ ...topic, partitionCount, config });
      }
    }
    throw new ConflictError(`Topic '${name}' kept changing while it was being updated; try again`);
  }

  /**
   * Deletes the topic; its records become unreachable at once, and the reaper removes what they
   * stored (`topic-reaper.ts`). @throws TopicNotFoundError
   */
  async delete(name: string): Promise<void> {
    const deletedAtMs = this.clock.now();
    const topic = await this.topics.delete(name, deletedAtMs);
    if (!topic) throw new TopicNotFoundError(name);
    await this.log.closePartitions(topic, deletedAtMs);
  }

  private async describeTopic(topic: Topic): Promise<TopicDescription> {
    const partitions = Array.from({ length: topic.partitionCount }, (_, partition) => partition);
    const heads = await this.log.readHeads(topic, partitions);
    return {
      topic,
      partitions: heads.map(
        ({ partition, logStartOffset, highWatermark, archivedOffset, archivedBytes }) => ({
          partition,
          logStartOffset,
          highWatermark,
          archivedOffset,
          archivedBytes,
        }),
      ),
    };
  }

  private async require(name: string): Promise<Topic> {
    const topic = await this.topics.get(name);
    if (!topic) throw new TopicNotFoundError(name);
    return topic;
  }
}

function validatePartitionCount(partitions: number): void {
  if (
    !Number.isInteger(partitions) ||
    partitions < LIMITS.partitionsMin ||
    partitions > LIMITS.partitionsMax
  ) {
    throw new InvalidRequestError(
      `partitions must be a whole number from ${LIMITS.partitionsMin} to ${LIMITS.partitionsMax}, got ${partitions}`,
      'partitions',
    );
  }
}

/** The configuration fields of a request, without the ones it left out. */
function configInput(input: TopicConfigInput): TopicConfigInput {
  const fields: (keyof TopicConfig)[] = [
    'retentionMs',
    'retentionBytes',
    'segmentMs',
    'segmentBytes',
    'localRetentionMs',
  ];
  return Object.fromEntries(
    fields.filter((field) => input[field] !== undefined).map((field) => [field, input[field]]),
  );
}
