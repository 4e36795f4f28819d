/**
 * KafkaJS's consumer over Shoal's: `subscribe`, `run({ eachMessage | eachBatch })`, `commitOffsets`,
 * `seek`, `pause`/`resume`, `stop`, `disconnect`, `describeGroup` and the events programs listen to.
 * The group's membership, assignment, heartbeats and commits are Shoal's (see client/consumer.ts);
 * offsets are strings and keys, values and header values Buffers, as KafkaJS gives them.
 *
 * Where it differs, on purpose and documented:
 * - `autoCommitThreshold` is ignored: offsets are committed after every batch (or every
 *   `autoCommitInterval`), which is never later than the threshold would.
 * - `partitionAssigners`, `rackId`, `readUncommitted`, `minBytes`, `maxInFlightRequests`,
 *   `rebalanceTimeout` are ignored: Shoal assigns partitions on the server (sticky and balanced),
 *   and has no racks or transactions.
 * - `allowAutoTopicCreation` (default true): `run` creates subscribed topics that do not exist,
 *   with one partition, as a Kafka broker with its default settings.
 * - A handler that keeps failing crashes the consumer after its retries (`consumer.crash` with
 *   `restart: false`); KafkaJS would restart it. Call `run` again to restart.
 * - Events emitted: `connect`, `disconnect`, `stop`, `crash`, `group_join` (every assignment),
 *   `rebalancing` (partitions revoked), `commit_offsets` (explicit commits), and
 *   `start_batch_process`/`end_batch_process` around `eachBatch`. Never emitted: `heartbeat`,
 *   `fetch_start`, `fetch`, `received_unsubscribed_topics` and the network events.
 */
import type { Shoal, Consumer as ShoalConsumer, TopicPartition } from '../index.js';
import { type GroupDescription, kafkaGroupDescription } from './admin.js';
import { asKafkaJS, KafkaJSNonRetriableError, toKafkaJSError } from './errors.js';
import { createLogger, Instrumentation, type InstrumentationEvent, type Logger } from './instrumentation.js';
import { describe, type KafkaMessage, parseOffset, toKafkaMessage } from './messages.js';
import { createTopicIfMissing } from './producer.js';
import type { GroupMemberships } from './transaction.js';

export interface ConsumerConfig {
  groupId: string;
  partitionAssigners?: unknown[];
  metadataMaxAge?: number;
  sessionTimeout?: number;
  rebalanceTimeout?: number;
  heartbeatInterval?: number;
  maxBytesPerPartition?: number;
  minBytes?: number;
  maxBytes?: number;
  maxWaitTimeInMs?: number;
  retry?: unknown;
  allowAutoTopicCreation?: boolean;
  maxInFlightRequests?: number;
  readUncommitted?: boolean;
  rackId?: string;
}

export type TopicPartitions = { topic: string; partitions: number[] };
export type TopicPartitionOffset = { topic: string; partition: number; offset: string };
export type TopicPartitionOffsetAndMetadata = TopicPartitionOffset & { metadata?: string | null };
export interface PartitionOffset {
  partition: number;
  offset: string;
}
export interface TopicOffsets {
  topic: string;
  partitions: PartitionOffset[];
}
export interface Offsets {
  topics: TopicOffsets[];
}

export interface Batch {
  topic: string;
  partition: number;
  highWatermark: string;
  messages: KafkaMessage[];
  isEmpty(): boolean;
  firstOffset(): string | null;
  lastOffset(): string;
  offsetLag(): string;
  offsetLagLow(): string;
}

export interface EachMessagePayload {
  topic: string;
  partition: number;
  message: KafkaMessage;
  heartbeat(): Promise<void>;
  pause(): () => void;
}

export interface EachBatchPayload {
  batch: Batch;
  resolveOffset(offset: string): void;
  heartbeat(): Promise<void>;
  pause(): () => void;
  commitOffsetsIfNecessary(offsets?: Offsets): Promise<void>;
  uncommittedOffsets(): { topics: TopicOffsets[] };
  isRunning(): boolean;
  isStale(): boolean;
}

export interface ConsumerRunConfig {
  autoCommit?: boolean;
  autoCommitInterval?: number | null;
  autoCommitThreshold?: number | null;
  eachBatchAutoResolve?: boolean;
  partitionsConsumedConcurrently?: number;
  eachBatch?: (payload: EachBatchPayload) => Promise<void>;
  eachMessage?: (payload: EachMessagePayload) => Promise<void>;
}

export type ConsumerSubscribeTopics = { topics: (string | RegExp)[]; fromBeginning?: boolean };
export type ConsumerSubscribeTopic = { topic: string | RegExp; fromBeginning?: boolean };

export const CONSUMER_EVENTS = {
  HEARTBEAT: 'consumer.heartbeat',
  COMMIT_OFFSETS: 'consumer.commit_offsets',
  GROUP_JOIN: 'consumer.group_join',
  FETCH_START: 'consumer.fetch_start',
  FETCH: 'consumer.fetch',
  START_BATCH_PROCESS: 'consumer.start_batch_process',
  END_BATCH_PROCESS: 'consumer.end_batch_process',
  CONNECT: 'consumer.connect',
  DISCONNECT: 'consumer.disconnect',
  STOP: 'consumer.stop',
  CRASH: 'consumer.crash',
  REBALANCING: 'consumer.rebalancing',
  RECEIVED_UNSUBSCRIBED_TOPICS: 'consumer.received_unsubscribed_topics',
  REQUEST: 'consumer.network.request',
  REQUEST_TIMEOUT: 'consumer.network.request_timeout',
  REQUEST_QUEUE_SIZE: 'consumer.network.request_queue_size',
} as const;

/** Shoal's bounds on the options KafkaJS names differently. */
const MAX_WAIT_MS_MAX = 20_000;
const MAX_BYTES_MAX = 3 * 1024 * 1024;

/** See the module comment. Create with `kafka.consumer({ groupId })`. */
export class Consumer {
  readonly events = CONSUMER_EVENTS;
  private readonly instrumentation = new Instrumentation(CONSUMER_EVENTS, 'consumer');
  private readonly groupId: string;
  private readonly topics = new Set<string>();
  private fromBeginning = false;
  private readonly pausedTopics: { topic: string; partitions?: number[] }[] = [];
  private consumer: ShoalConsumer | undefined;
  private connected = false;

  constructor(
    private readonly shoal: Shoal,
    private readonly rootLogger: Logger = createLogger(),
    private readonly config: ConsumerConfig,
    memberships?: GroupMemberships,
  ) {
    if (typeof config !== 'object' || config === null) {
      throw new TypeError(`consumer({ groupId }): give the options, got ${describe(config)}`);
    }
    if (typeof config.groupId !== 'string' || config.groupId === '') {
      throw new TypeError(`consumer: groupId must be a non-empty string, got ${describe(config.groupId)}`);
    }
    for (const field of ['sessionTimeout', 'heartbeatInterval', 'maxWaitTimeInMs', 'maxBytes'] as const) {
      const value = config[field];
      if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
        throw new TypeError(
          `consumer: ${field} must be a whole number of ${field === 'maxBytes' ? 'bytes' : 'milliseconds'}, got ${describe(value)}`,
        );
      }
    }
    this.groupId = config.groupId;
    memberships?.register(this.groupId, () => this.consumer?.membershipInfo());
  }

  /** Checks that the API answers. */
  async connect(): Promise<void> {
    await asKafkaJS(() => this.shoal.api.health());
    this.connected = true;
    this.instrumentation.emit(CONSUMER_EVENTS.CONNECT, null);
  }

  /** Adds topics (names, or patterns matched against the topics that exist now). Before `run`. */
  async subscribe(subscription: ConsumerSubscribeTopics | ConsumerSubscribeTopic): Promise<void> {
    if (this.consumer) {
      throw new KafkaJSNonRetriableError('Cannot subscribe to topic while consumer is running');
    }
    const given =
      typeof subscription === 'object' && subscription !== null
        ? 'topics' in subscription && subscription.topics !== undefined
          ? subscription.topics
          : 'topic' in subscription && subscription.topic !== undefined
            ? [subscription.topic]
            : undefined
        : undefined;
    if (!Array.isArray(given) || given.length === 0) {
      throw new TypeError('subscribe: give topics (an array of names or RegExps) or topic');
    }
    let existing: string[] | undefined;
    for (const [index, topic] of given.entries()) {
      if (typeof topic === 'string' && topic !== '') {
        this.topics.add(topic);
      } else if (topic instanceof RegExp) {
        existing ??= (await asKafkaJS(() => this.shoal.api.listTopics())).map((summary) => summary.name);
        for (const name of existing) if (topic.test(name)) this.topics.add(name);
      } else {
        throw new TypeError(
          `subscribe: topics[${index}] must be a topic name or a RegExp, got ${describe(topic)}`,
        );
      }
    }
    if (subscription.fromBeginning !== undefined && typeof subscription.fromBeginning !== 'boolean') {
      throw new TypeError(
        `subscribe: fromBeginning must be a boolean, got ${describe(subscription.fromBeginning)}`,
      );
    }
    this.fromBeginning = this.fromBeginning || subscription.fromBeginning === true;
  }

  /** Joins the group and starts the handler; resolves once joined. */
  async run(config: ConsumerRunConfig = {}): Promise<void> {
    if (this.consumer) throw new KafkaJSNonRetriableError('The consumer is already running');
    if (typeof config !== 'object' || config === null || !config.eachBatch === !config.eachMessage) {
      throw new TypeError('run: give exactly one of eachMessage and eachBatch, a function');
    }
    for (const field of ['eachBatch', 'eachMessage'] as const) {
      if (config[field] !== undefined && typeof config[field] !== 'function') {
        throw new TypeError(`run: ${field} must be a function, got ${describe(config[field])}`);
      }
    }
    if (this.topics.size === 0) throw new TypeError('run: subscribe to at least one topic first');
    if (!this.connected) await this.connect();
    if (this.config.allowAutoTopicCreation ?? true) {
      const existing = new Set(
        (await asKafkaJS(() => this.shoal.api.listTopics())).map((topic) => topic.name),
      );
      for (const topic of this.topics) {
        if (!existing.has(topic)) await asKafkaJS(() => createTopicIfMissing(this.shoal, topic));
      }
    }
    const consumer = this.createConsumer(config);
    this.consumer = consumer;
    await consumer.subscribe({ topics: [...this.topics], fromBeginning: this.fromBeginning });
    if (this.pausedTopics.length > 0) consumer.pause(this.pausedTopics.splice(0));
    const { eachBatch, eachMessage } = config;
    try {
      await asKafkaJS(() =>
        consumer.run(
          eachMessage
            ? {
                eachRecord: ({ topic, partition, record, heartbeat, pause }) =>
                  eachMessage({ topic, partition, message: toKafkaMessage(record), heartbeat, pause }),
              }
            : {
                eachBatchAutoResolve: config.eachBatchAutoResolve ?? true,
                eachBatch: (payload) => this.eachBatch(eachBatch as NonNullable<typeof eachBatch>, payload),
              },
        ),
      );
    } catch (error) {
      this.consumer = undefined;
      throw error;
    }
    consumer.whenStopped().catch(() => undefined);
  }

  /** Stops consuming and leaves the group (after committing what was processed); `run` may follow. */
  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    if (consumer) await asKafkaJS(() => consumer.disconnect());
    this.instrumentation.emit(CONSUMER_EVENTS.STOP, null);
  }

  async disconnect(): Promise<void> {
    await this.stop();
    this.connected = false;
    this.instrumentation.emit(CONSUMER_EVENTS.DISCONNECT, null);
  }

  /** Commits the given next offsets to read (while running). */
  async commitOffsets(topicPartitions: TopicPartitionOffsetAndMetadata[]): Promise<void> {
    const consumer = this.running('commitOffsets');
    if (!Array.isArray(topicPartitions)) {
      throw new TypeError(
        `commitOffsets takes an array of { topic, partition, offset }, got ${describe(topicPartitions)}`,
      );
    }
    const offsets = topicPartitions.map((entry, index) => toOffset(entry, `commitOffsets: [${index}]`));
    await asKafkaJS(() => consumer.commit(offsets));
    this.instrumentation.emit(CONSUMER_EVENTS.COMMIT_OFFSETS, {
      groupId: this.groupId,
      memberId: consumer.membershipInfo()?.memberId ?? '',
      groupGenerationId: consumer.membershipInfo()?.generation ?? -1,
      topics: byTopic(offsets),
    });
  }

  /** The next fetch of the partition starts at `offset` (while running). */
  seek(topicPartitionOffset: TopicPartitionOffset): void {
    const consumer = this.running('seek');
    consumer.seek(toOffset(topicPartitionOffset, 'seek'));
  }

  pause(topics: { topic: string; partitions?: number[] }[]): void {
    const targets = toTargets(topics, 'pause');
    if (this.consumer) this.consumer.pause(targets);
    else this.pausedTopics.push(...targets);
  }

  resume(topics: { topic: string; partitions?: number[] }[]): void {
    const targets = toTargets(topics, 'resume');
    if (this.consumer) this.consumer.resume(targets);
    else {
      const names = new Set(targets.map((target) => target.topic));
      const kept = this.pausedTopics.filter((target) => !names.has(target.topic));
      this.pausedTopics.splice(0, this.pausedTopics.length, ...kept);
    }
  }

  paused(): TopicPartitions[] {
    const paused = this.consumer?.pausedPartitions() ?? [];
    const topics = new Map<string, number[]>();
    for (const { topic, partition } of paused) topics.set(topic, [...(topics.get(topic) ?? []), partition]);
    return [...topics].map(([topic, partitions]) => ({ topic, partitions }));
  }

  async describeGroup(): Promise<GroupDescription> {
    return kafkaGroupDescription(this.shoal, this.groupId);
  }

  logger(): Logger {
    return this.rootLogger.namespace('Consumer');
  }

  // biome-ignore lint/suspicious/noExplicitAny: the listener type of KafkaJS's catch-all overload
  on(eventName: string, listener: (event: InstrumentationEvent<any>) => void): () => void {
    return this.instrumentation.on(eventName, listener);
  }

  private running(operation: string): ShoalConsumer {
    if (!this.consumer) {
      throw new KafkaJSNonRetriableError(
        `${operation}: Consumer group was not initialized, consumer#run must be called first`,
      );
    }
    return this.consumer;
  }

  private createConsumer(run: ConsumerRunConfig): ShoalConsumer {
    const config = this.config;
    const logger = this.logger();
    return this.shoal.consumer({
      groupId: this.groupId,
      ...(config.sessionTimeout === undefined ? {} : { sessionTimeoutMs: config.sessionTimeout }),
      ...(config.heartbeatInterval === undefined ? {} : { heartbeatIntervalMs: config.heartbeatInterval }),
      ...(config.maxWaitTimeInMs === undefined
        ? {}
        : { maxWaitMs: Math.min(config.maxWaitTimeInMs, MAX_WAIT_MS_MAX) }),
      ...(config.maxBytesPerPartition === undefined
        ? {}
        : { maxBytes: Math.max(1, Math.min(config.maxBytesPerPartition, MAX_BYTES_MAX)) }),
      autoCommit: run.autoCommit ?? true,
      ...(run.autoCommitInterval === undefined || run.autoCommitInterval === null
        ? {}
        : { autoCommitIntervalMs: run.autoCommitInterval }),
      partitionsConsumedConcurrently: run.partitionsConsumedConcurrently ?? 1,
      onPartitionsAssigned: () => this.emitGroupJoin(),
      onPartitionsRevoked: () => {
        const membership = this.consumer?.membershipInfo();
        this.instrumentation.emit(CONSUMER_EVENTS.REBALANCING, {
          groupId: this.groupId,
          memberId: membership?.memberId ?? '',
        });
      },
      onCrash: (error) => {
        const kafkaError = toKafkaJSError(error) as Error;
        logger.error(`Crash: ${kafkaError.name}: ${kafkaError.message}`, { groupId: this.groupId });
        this.consumer = undefined;
        this.instrumentation.emit(CONSUMER_EVENTS.CRASH, {
          error: kafkaError,
          groupId: this.groupId,
          restart: false,
        });
      },
    });
  }

  private emitGroupJoin(): void {
    const consumer = this.consumer;
    if (!consumer) return;
    const membership = consumer.membershipInfo();
    const memberAssignment: Record<string, number[]> = {};
    for (const { topic, partition } of consumer.assignment()) {
      memberAssignment[topic] = [...(memberAssignment[topic] ?? []), partition];
    }
    this.instrumentation.emit(CONSUMER_EVENTS.GROUP_JOIN, {
      duration: 0,
      groupId: this.groupId,
      isLeader: false,
      leaderId: '',
      groupProtocol: 'shoal',
      memberId: membership?.memberId ?? '',
      memberAssignment,
    });
  }

  private async eachBatch(
    handler: (payload: EachBatchPayload) => Promise<void>,
    payload: Parameters<NonNullable<Parameters<ShoalConsumer['run']>[0]['eachBatch']>>[0],
  ): Promise<void> {
    const { batch } = payload;
    const messages = batch.records.map(toKafkaMessage);
    const first = batch.firstOffset();
    const summary = {
      topic: batch.topic,
      partition: batch.partition,
      highWatermark: String(batch.highWatermark),
      offsetLag: String(batch.offsetLag()),
      offsetLagLow: String(first === null ? 0 : Math.max(0, batch.highWatermark - 1 - first)),
      batchSize: messages.length,
      firstOffset: String(first ?? ''),
      lastOffset: String(batch.lastOffset()),
    };
    const startedAt = Date.now();
    this.instrumentation.emit(CONSUMER_EVENTS.START_BATCH_PROCESS, summary);
    await handler({
      batch: {
        topic: batch.topic,
        partition: batch.partition,
        highWatermark: summary.highWatermark,
        messages,
        isEmpty: () => messages.length === 0,
        firstOffset: () => (first === null ? null : String(first)),
        lastOffset: () => summary.lastOffset,
        offsetLag: () => summary.offsetLag,
        offsetLagLow: () => summary.offsetLagLow,
      },
      resolveOffset: (offset) => payload.resolveOffset(parseOffset(offset, 'resolveOffset: offset')),
      heartbeat: payload.heartbeat,
      pause: payload.pause,
      commitOffsetsIfNecessary: async (offsets) => {
        if (offsets === undefined) return payload.commitOffsetsIfNecessary();
        const list = (offsets.topics ?? []).flatMap(({ topic, partitions }) =>
          partitions.map(({ partition, offset }) => ({ topic, partition, offset })),
        );
        await this.commitOffsets(list);
      },
      uncommittedOffsets: () => ({ topics: byTopic(this.consumer?.uncommittedOffsets() ?? []) }),
      isRunning: payload.isRunning,
      isStale: payload.isStale,
    });
    this.instrumentation.emit(CONSUMER_EVENTS.END_BATCH_PROCESS, {
      ...summary,
      duration: Date.now() - startedAt,
    });
  }
}

function toOffset(entry: unknown, where: string): { topic: string; partition: number; offset: number } {
  if (typeof entry !== 'object' || entry === null) {
    throw new TypeError(`${where} must be { topic, partition, offset }, got ${describe(entry)}`);
  }
  const { topic, partition, offset } = entry as Record<string, unknown>;
  if (typeof topic !== 'string' || topic === '') {
    throw new TypeError(`${where}: topic must be a topic name, got ${describe(topic)}`);
  }
  if (typeof partition !== 'number' || !Number.isSafeInteger(partition) || partition < 0) {
    throw new TypeError(`${where}: partition must be a whole number from 0, got ${describe(partition)}`);
  }
  return { topic, partition, offset: parseOffset(offset, `${where}: offset`) };
}

function toTargets(topics: unknown, operation: string): { topic: string; partitions?: number[] }[] {
  if (!Array.isArray(topics)) {
    throw new TypeError(`${operation} takes an array of { topic, partitions? }, got ${describe(topics)}`);
  }
  return topics.map((target, index) => {
    const { topic, partitions } = (target ?? {}) as { topic?: unknown; partitions?: unknown };
    if (typeof topic !== 'string' || topic === '') {
      throw new TypeError(`${operation}: [${index}].topic must be a topic name, got ${describe(topic)}`);
    }
    if (partitions === undefined) return { topic };
    if (!Array.isArray(partitions) || !partitions.every((p) => Number.isSafeInteger(p) && p >= 0)) {
      throw new TypeError(`${operation}: [${index}].partitions must be an array of partition numbers`);
    }
    return { topic, partitions: partitions as number[] };
  });
}

function byTopic(offsets: readonly (TopicPartition & { offset: number })[]): TopicOffsets[] {
  const topics = new Map<string, PartitionOffset[]>();
  for (const { topic, partition, offset } of offsets) {
    topics.set(topic, [...(topics.get(topic) ?? []), { partition, offset: String(offset) }]);
  }
  return [...topics].map(([topic, partitions]) => ({ topic, partitions }));
}
