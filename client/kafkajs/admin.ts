/**
 * KafkaJS's admin over Shoal's API: topics, partitions, offsets and groups. Offsets are strings, as
 * in KafkaJS. What has no meaning in Shoal throws {@link KafkaJSNotImplemented} saying what to use
 * instead: ACLs (Shoal authorizes with IAM policies, docs/authorization.md), broker and topic
 * configs (`describeConfigs`/`alterConfigs`: use Shoal's `admin().alterTopic`), deleting records
 * below an offset (retention does that), partition reassignments (there are no brokers).
 *
 * - `createTopics`: `replicationFactor` is accepted and ignored (DynamoDB keeps three copies); the
 *   configs Shoal has are taken by Kafka's names (`retention.ms`, `retention.bytes`, `segment.ms`,
 *   `segment.bytes`, `local.retention.ms`), any other is a TypeError; `validateOnly` and
 *   `replicaAssignment` are clear errors. Resolves false when a topic existed, as KafkaJS does.
 * - `describeGroups`: members carry their ids; `clientId`, `clientHost`, `memberMetadata` and
 *   `memberAssignment` are empty (Shoal's own `admin().describeGroup` lists assignments).
 * - `fetchTopicMetadata`: one pseudo-broker (node 0) leads every partition.
 * - Events: `admin.connect` and `admin.disconnect`; the network ones are never emitted.
 */
import { ERROR_CODES, isApiError, type Shoal } from '../index.js';
import {
  asKafkaJS,
  KafkaJSDeleteGroupsError,
  type KafkaJSError,
  KafkaJSNotImplemented,
  toKafkaJSError,
} from './errors.js';
import { createLogger, Instrumentation, type InstrumentationEvent, type Logger } from './instrumentation.js';
import { describe, parseOffset } from './messages.js';
import type { PartitionMetadata } from './partitioners.js';

export interface ITopicConfig {
  topic: string;
  numPartitions?: number;
  replicationFactor?: number;
  replicaAssignment?: object[];
  configEntries?: { name: string; value: string }[];
}

export type ConsumerGroupState =
  | 'Unknown'
  | 'PreparingRebalance'
  | 'CompletingRebalance'
  | 'Stable'
  | 'Dead'
  | 'Empty';

export interface GroupDescription {
  groupId: string;
  members: {
    clientHost: string;
    clientId: string;
    memberId: string;
    memberAssignment: Buffer;
    memberMetadata: Buffer;
  }[];
  protocol: string;
  protocolType: string;
  state: ConsumerGroupState;
}

export const ADMIN_EVENTS = {
  CONNECT: 'admin.connect',
  DISCONNECT: 'admin.disconnect',
  REQUEST: 'admin.network.request',
  REQUEST_TIMEOUT: 'admin.network.request_timeout',
  REQUEST_QUEUE_SIZE: 'admin.network.request_queue_size',
} as const;

/** Kafka's topic config names to Shoal's. */
const TOPIC_CONFIGS: Readonly<Record<string, string>> = {
  'retention.ms': 'retentionMs',
  'retention.bytes': 'retentionBytes',
  'segment.ms': 'segmentMs',
  'segment.bytes': 'segmentBytes',
  'local.retention.ms': 'localRetentionMs',
};

/** KafkaJS creates topics with the broker's `num.partitions`, 1 by default. */
const DEFAULT_PARTITIONS = 1;

/** See the module comment. Create with `kafka.admin()`. */
export class Admin {
  readonly events = ADMIN_EVENTS;
  private readonly instrumentation = new Instrumentation(ADMIN_EVENTS, 'admin');

  constructor(
    private readonly shoal: Shoal,
    private readonly rootLogger: Logger = createLogger(),
  ) {}

  async connect(): Promise<void> {
    await asKafkaJS(() => this.shoal.api.health());
    this.instrumentation.emit(ADMIN_EVENTS.CONNECT, null);
  }

  async disconnect(): Promise<void> {
    this.instrumentation.emit(ADMIN_EVENTS.DISCONNECT, null);
  }

  async listTopics(): Promise<string[]> {
    return (await asKafkaJS(() => this.shoal.api.listTopics())).map((topic) => topic.name);
  }

  /** Creates topics; true when every one was created, false when one existed already. */
  async createTopics(options: {
    validateOnly?: boolean;
    waitForLeaders?: boolean;
    timeout?: number;
    topics: ITopicConfig[];
  }): Promise<boolean> {
    if (!Array.isArray(options?.topics) || options.topics.length === 0) {
      throw new TypeError('createTopics: topics must be a non-empty array of { topic, numPartitions? }');
    }
    if (options.validateOnly) {
      throw new KafkaJSNotImplemented(
        'createTopics: validateOnly is not supported; Shoal checks a topic when it creates it',
      );
    }
    const inputs = options.topics.map((config, index) =>
      toCreateTopic(config, `createTopics: topics[${index}]`),
    );
    let created = true;
    for (const input of inputs) {
      try {
        await this.shoal.api.createTopic(input);
      } catch (error) {
        if (isApiError(error, ERROR_CODES.topicExists)) created = false;
        else throw toKafkaJSError(error);
      }
    }
    return created;
  }

  async deleteTopics(options: { topics: string[]; timeout?: number }): Promise<void> {
    const topics = topicNames(options?.topics, 'deleteTopics: topics');
    for (const topic of topics) await asKafkaJS(() => this.shoal.api.deleteTopic(topic));
  }

  /** Grows topics to `count` partitions (never fewer). */
  async createPartitions(options: {
    validateOnly?: boolean;
    timeout?: number;
    topicPartitions: { topic: string; count: number; assignments?: number[][] }[];
  }): Promise<boolean> {
    if (!Array.isArray(options?.topicPartitions)) {
      throw new TypeError('createPartitions: topicPartitions must be an array of { topic, count }');
    }
    if (options.validateOnly)
      throw new KafkaJSNotImplemented('createPartitions: validateOnly is not supported');
    for (const [index, { topic, count }] of options.topicPartitions.entries()) {
      if (typeof topic !== 'string' || !Number.isSafeInteger(count) || count < 1) {
        throw new TypeError(
          `createPartitions: topicPartitions[${index}] must be { topic, count } with count from 1`,
        );
      }
      await asKafkaJS(() => this.shoal.api.updateTopic(topic, { partitions: count }));
    }
    return true;
  }

  async fetchTopicMetadata(options?: {
    topics: string[];
  }): Promise<{ topics: { name: string; partitions: PartitionMetadata[] }[] }> {
    const names =
      options?.topics === undefined
        ? await this.listTopics()
        : topicNames(options.topics, 'fetchTopicMetadata: topics');
    const topics = [];
    for (const name of names) {
      const description = await asKafkaJS(() => this.shoal.api.describeTopic(name));
      topics.push({
        name,
        partitions: description.partitions.map(({ partition }) => ({
          partitionErrorCode: 0,
          partitionId: partition,
          leader: 0,
          replicas: [0],
          isr: [0],
          offlineReplicas: [],
        })),
      });
    }
    return { topics };
  }

  /** Per partition: `low` the first readable offset, `high` and `offset` the high watermark. */
  async fetchTopicOffsets(
    topic: string,
  ): Promise<{ partition: number; offset: string; high: string; low: string }[]> {
    const [name] = topicNames([topic], 'fetchTopicOffsets: topic');
    const description = await asKafkaJS(() => this.shoal.api.describeTopic(name as string));
    return description.partitions.map(({ partition, logStartOffset, highWatermark }) => ({
      partition,
      offset: String(highWatermark),
      high: String(highWatermark),
      low: String(logStartOffset),
    }));
  }

  /** Per partition: the first offset at or after `timestamp` (the high watermark if none). */
  async fetchTopicOffsetsByTimestamp(
    topic: string,
    timestamp?: number,
  ): Promise<{ partition: number; offset: string }[]> {
    const [name] = topicNames([topic], 'fetchTopicOffsetsByTimestamp: topic');
    const at = timestamp ?? Date.now();
    const offsets = await asKafkaJS(() =>
      this.shoal.admin().fetchTopicOffsetsByTimestamp(name as string, at),
    );
    return offsets.map(({ partition, offset }) => ({ partition, offset: String(offset) }));
  }

  /** The group's committed offsets, '-1' for a partition it has none for. */
  async fetchOffsets(options: {
    groupId: string;
    topics?: string[];
    resolveOffsets?: boolean;
  }): Promise<
    { topic: string; partitions: { partition: number; offset: string; metadata: string | null }[] }[]
  > {
    const groupId = groupName(options?.groupId, 'fetchOffsets: groupId');
    if (options.resolveOffsets) {
      throw new KafkaJSNotImplemented(
        'fetchOffsets: resolveOffsets is not supported; use fetchTopicOffsets for the ends',
      );
    }
    let committed: {
      topic: string;
      partition: number;
      committedOffset: number | null;
      metadata: string | null;
    }[] = [];
    try {
      committed = (await this.shoal.api.describeGroup(groupId)).offsets;
    } catch (error) {
      if (!isApiError(error, ERROR_CODES.groupNotFound)) throw toKafkaJSError(error);
    }
    const topics =
      options.topics === undefined
        ? [...new Set(committed.map((o) => o.topic))]
        : topicNames(options.topics, 'fetchOffsets: topics');
    const result = [];
    for (const topic of topics) {
      const description = await asKafkaJS(() => this.shoal.api.describeTopic(topic));
      result.push({
        topic,
        partitions: description.partitions.map(({ partition }) => {
          const known = committed.find((o) => o.topic === topic && o.partition === partition);
          return {
            partition,
            offset:
              known?.committedOffset === null || known === undefined ? '-1' : String(known.committedOffset),
            metadata: known?.metadata ?? null,
          };
        }),
      });
    }
    return result;
  }

  /** Sets committed offsets of a group without live members. */
  async setOffsets(options: {
    groupId: string;
    topic: string;
    partitions: { partition: number; offset: string }[];
  }): Promise<void> {
    const groupId = groupName(options?.groupId, 'setOffsets: groupId');
    const [topic] = topicNames([options.topic], 'setOffsets: topic');
    if (!Array.isArray(options.partitions))
      throw new TypeError('setOffsets: partitions must be an array of { partition, offset }');
    for (const [index, { partition, offset }] of options.partitions.entries()) {
      const to = { offset: parseOffset(offset, `setOffsets: partitions[${index}].offset`) };
      await asKafkaJS(() =>
        this.shoal.api.resetOffsets(groupId, { topic: topic as string, to, partitions: [partition] }),
      );
    }
  }

  /** Moves a group's committed offsets of a topic to the latest (or earliest) offsets. */
  async resetOffsets(options: { groupId: string; topic: string; earliest: boolean }): Promise<void> {
    const groupId = groupName(options?.groupId, 'resetOffsets: groupId');
    const [topic] = topicNames([options.topic], 'resetOffsets: topic');
    await asKafkaJS(() =>
      this.shoal.api.resetOffsets(groupId, {
        topic: topic as string,
        to: options.earliest ? 'earliest' : 'latest',
      }),
    );
  }

  async listGroups(): Promise<{ groups: { groupId: string; protocolType: string }[] }> {
    const groups = await asKafkaJS(() => this.shoal.api.listGroups());
    return { groups: groups.map(({ group }) => ({ groupId: group, protocolType: 'consumer' })) };
  }

  async describeGroups(groupIds: string[]): Promise<{ groups: GroupDescription[] }> {
    if (!Array.isArray(groupIds))
      throw new TypeError(`describeGroups takes an array of group ids, got ${describe(groupIds)}`);
    const groups = [];
    for (const [index, groupId] of groupIds.entries()) {
      groups.push(await kafkaGroupDescription(this.shoal, groupName(groupId, `describeGroups: [${index}]`)));
    }
    return { groups };
  }

  /** Deletes groups without live members; rejects with KafkaJSDeleteGroupsError listing failures. */
  async deleteGroups(groupIds: string[]): Promise<{ groupId: string; errorCode: number }[]> {
    if (!Array.isArray(groupIds))
      throw new TypeError(`deleteGroups takes an array of group ids, got ${describe(groupIds)}`);
    const results: { groupId: string; errorCode: number; error?: KafkaJSError }[] = [];
    for (const [index, groupId] of groupIds.entries()) {
      const name = groupName(groupId, `deleteGroups: [${index}]`);
      try {
        await this.shoal.api.deleteGroup(name);
        results.push({ groupId: name, errorCode: 0 });
      } catch (error) {
        const kafkaError = toKafkaJSError(error) as KafkaJSError & { code?: number };
        results.push({ groupId: name, errorCode: kafkaError.code ?? -1, error: kafkaError });
      }
    }
    const failed = results.filter((result) => result.error !== undefined) as {
      groupId: string;
      errorCode: number;
      error: KafkaJSError;
    }[];
    if (failed.length > 0) throw new KafkaJSDeleteGroupsError('Error in DeleteGroups', failed);
    return results;
  }

  /** One pseudo-broker at the API's host. */
  async describeCluster(): Promise<{
    brokers: { nodeId: number; host: string; port: number }[];
    controller: number | null;
    clusterId: string;
  }> {
    const url = this.shoal.api.transport.baseUrl;
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    return { brokers: [{ nodeId: 0, host: url.hostname, port }], controller: 0, clusterId: url.host };
  }

  describeConfigs(_configs: unknown): Promise<never> {
    return notHere(
      "describeConfigs: Shoal has no broker configs; a topic's config is in Shoal's admin().describeTopic(topic).config",
    );
  }

  alterConfigs(_configs: unknown): Promise<never> {
    return notHere(
      "alterConfigs: change a topic's config with Shoal's admin().alterTopic(topic, { retentionMs, ... })",
    );
  }

  describeAcls(_options: unknown): Promise<never> {
    return notHere('describeAcls: Shoal authorizes with IAM policies (see docs/authorization.md), not ACLs');
  }

  createAcls(_options: unknown): Promise<never> {
    return notHere('createAcls: Shoal authorizes with IAM policies (see docs/authorization.md), not ACLs');
  }

  deleteAcls(_options: unknown): Promise<never> {
    return notHere('deleteAcls: Shoal authorizes with IAM policies (see docs/authorization.md), not ACLs');
  }

  deleteTopicRecords(_options: unknown): Promise<never> {
    return notHere(
      "deleteTopicRecords: Shoal removes records by the topic's retention (retentionMs, retentionBytes) only",
    );
  }

  alterPartitionReassignments(_request: unknown): Promise<never> {
    return notHere('alterPartitionReassignments: Shoal has no brokers to move partitions between');
  }

  listPartitionReassignments(_request: unknown): Promise<never> {
    return notHere('listPartitionReassignments: Shoal has no brokers to move partitions between');
  }

  logger(): Logger {
    return this.rootLogger.namespace('Admin');
  }

  // biome-ignore lint/suspicious/noExplicitAny: the listener type of KafkaJS's catch-all overload
  on(eventName: string, listener: (event: InstrumentationEvent<any>) => void): () => void {
    return this.instrumentation.on(eventName, listener);
  }
}

/** A group as KafkaJS describes it; a group Shoal does not know is `Dead` with no members. */
export async function kafkaGroupDescription(shoal: Shoal, groupId: string): Promise<GroupDescription> {
  try {
    const group = await shoal.api.describeGroup(groupId);
    return {
      groupId,
      members: group.members.map(({ memberId }) => ({
        memberId,
        clientId: '',
        clientHost: '',
        memberMetadata: Buffer.alloc(0),
        memberAssignment: Buffer.alloc(0),
      })),
      protocol: 'shoal',
      protocolType: 'consumer',
      state: group.state === 'Rebalancing' ? 'PreparingRebalance' : group.state,
    };
  } catch (error) {
    if (isApiError(error, ERROR_CODES.groupNotFound)) {
      return { groupId, members: [], protocol: '', protocolType: '', state: 'Dead' };
    }
    throw toKafkaJSError(error);
  }
}

function toCreateTopic(config: ITopicConfig, where: string) {
  if (
    typeof config !== 'object' ||
    config === null ||
    typeof config.topic !== 'string' ||
    config.topic === ''
  ) {
    throw new TypeError(`${where}.topic must be a topic name, got ${describe(config?.topic)}`);
  }
  if (config.replicaAssignment !== undefined && config.replicaAssignment.length > 0) {
    throw new KafkaJSNotImplemented(`${where}.replicaAssignment: Shoal has no brokers to place replicas on`);
  }
  const partitions =
    config.numPartitions === undefined || config.numPartitions === -1
      ? DEFAULT_PARTITIONS
      : config.numPartitions;
  if (!Number.isSafeInteger(partitions) || partitions < 1) {
    throw new TypeError(
      `${where}.numPartitions must be a whole number from 1 (or -1), got ${describe(config.numPartitions)}`,
    );
  }
  const settings: Record<string, number> = {};
  for (const [index, entry] of (config.configEntries ?? []).entries()) {
    const field = TOPIC_CONFIGS[entry?.name];
    const value = Number(entry?.value);
    if (field === undefined) {
      throw new TypeError(
        `${where}.configEntries[${index}]: '${entry?.name}' is not a Shoal topic config; use ${Object.keys(TOPIC_CONFIGS).join(', ')}`,
      );
    }
    if (!Number.isSafeInteger(value)) {
      throw new TypeError(
        `${where}.configEntries[${index}]: ${entry.name} must be a whole number, got ${describe(entry.value)}`,
      );
    }
    settings[field] = value;
  }
  return { name: config.topic, partitions, ...settings };
}

function topicNames(topics: unknown, where: string): string[] {
  if (!Array.isArray(topics) || !topics.every((topic) => typeof topic === 'string' && topic !== '')) {
    throw new TypeError(`${where} must be topic names, got ${describe(topics)}`);
  }
  return topics;
}

function groupName(groupId: unknown, where: string): string {
  if (typeof groupId !== 'string' || groupId === '') {
    throw new TypeError(`${where} must be a non-empty string, got ${describe(groupId)}`);
  }
  return groupId;
}

async function notHere(message: string): Promise<never> {
  throw new KafkaJSNotImplemented(message);
}
