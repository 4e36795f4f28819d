/**
 * KafkaJS's producer over Shoal's ({@link ShoalProducer}): `connect`, `send`, `sendBatch`,
 * `disconnect`. Every send is idempotent and durable (acks=all), whatever `acks` asks.
 *
 * - `acks`, `timeout`, `compression`: accepted and ignored. Shoal acknowledges only after DynamoDB
 *   wrote the records to three availability zones (as acks=-1), and compresses at rest itself.
 * - `createPartitioner`: Shoal's partitioner is Kafka's (KafkaJS's `DefaultPartitioner`); a custom
 *   partitioner is called as KafkaJS calls it, and its answer sets the message's partition.
 * - `allowAutoTopicCreation` (default true, as a Kafka broker's `auto.create.topics.enable`): a send
 *   to a topic that does not exist creates it with one partition (the broker's `num.partitions`).
 * - `transaction()`: a {@link Transaction} whose sends and `sendOffsets` are written by `commit()` in
 *   one request, all or nothing, fenced by the consuming member's generation (exactly once; see
 *   `transaction.ts`). `transactionalId` is not needed: the group's generation fences zombies.
 * - Events: `producer.connect` and `producer.disconnect`; the network ones (`request`,
 *   `request_timeout`, `request_queue_size`) are never emitted (there are no broker connections).
 */
import {
  ERROR_CODES,
  isApiError,
  type Shoal,
  type Producer as ShoalProducer,
  type ProducerRecord as ShoalRecord,
} from '../index.js';
import { asKafkaJS, KafkaJSError } from './errors.js';
import { createLogger, Instrumentation, type InstrumentationEvent, type Logger } from './instrumentation.js';
import { describe, type Message, toShoalRecord } from './messages.js';
import { DefaultPartitioner, type ICustomPartitioner, type PartitionMetadata } from './partitioners.js';
import type { ProducerBatch, ProducerRecord, RecordMetadata } from './producer-types.js';
import { GroupMemberships, Transaction } from './transaction.js';

export interface ProducerConfig {
  createPartitioner?: ICustomPartitioner;
  retry?: unknown;
  metadataMaxAge?: number;
  allowAutoTopicCreation?: boolean;
  idempotent?: boolean;
  transactionalId?: string;
  transactionTimeout?: number;
  maxInFlightRequests?: number;
}

export type { ProducerBatch, ProducerRecord, RecordMetadata, TopicMessages } from './producer-types.js';

export const PRODUCER_EVENTS = {
  CONNECT: 'producer.connect',
  DISCONNECT: 'producer.disconnect',
  REQUEST: 'producer.network.request',
  REQUEST_TIMEOUT: 'producer.network.request_timeout',
  REQUEST_QUEUE_SIZE: 'producer.network.request_queue_size',
} as const;

/** See the module comment. Create with `kafka.producer()`. */
export class Producer {
  readonly events = PRODUCER_EVENTS;
  private readonly instrumentation = new Instrumentation(PRODUCER_EVENTS, 'producer');
  private producer: ShoalProducer | undefined;
  private readonly partitioner: ReturnType<ICustomPartitioner> | undefined;
  private readonly autoCreate: boolean;

  constructor(
    private readonly shoal: Shoal,
    private readonly rootLogger: Logger = createLogger(),
    config: ProducerConfig = {},
    /** The consumers' memberships, for `sendOffsets` (shared by the `Kafka` instance). */
    private readonly memberships: GroupMemberships = new GroupMemberships(),
  ) {
    if (config.createPartitioner !== undefined && typeof config.createPartitioner !== 'function') {
      throw new TypeError(`createPartitioner must be a function, got ${describe(config.createPartitioner)}`);
    }
    this.autoCreate = config.allowAutoTopicCreation ?? true;
    // Shoal's own partitioner is KafkaJS's default: leave routing to it (it needs no metadata call).
    this.partitioner =
      config.createPartitioner === undefined || config.createPartitioner === DefaultPartitioner
        ? undefined
        : config.createPartitioner();
  }

  /** Checks that the API answers, then accepts sends. */
  async connect(): Promise<void> {
    await asKafkaJS(() => this.shoal.api.health());
    this.producer ??= this.shoal.producer();
    this.instrumentation.emit(PRODUCER_EVENTS.CONNECT, null);
  }

  /** Waits for every send in flight, then refuses more. */
  async disconnect(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    if (producer) await asKafkaJS(() => producer.close());
    this.instrumentation.emit(PRODUCER_EVENTS.DISCONNECT, null);
  }

  isIdempotent(): boolean {
    return true;
  }

  /** Sends messages to one topic; resolves with one entry per partition written. */
  async send(record: ProducerRecord): Promise<RecordMetadata[]> {
    if (typeof record !== 'object' || record === null) {
      throw new TypeError(`send takes { topic, messages }, got ${describe(record)}`);
    }
    return this.sendBatch({ topicMessages: [{ topic: record.topic, messages: record.messages }] }, 'send');
  }

  /** Sends messages to several topics; resolves with one entry per topic and partition written. */
  async sendBatch(batch: ProducerBatch, caller = 'sendBatch'): Promise<RecordMetadata[]> {
    const producer = this.requireConnected();
    const sends = await this.layOut(batch, caller);
    const written = await asKafkaJS(() =>
      Promise.all(sends.map(({ topic, records }) => this.sendAutoCreating(producer, topic, records))),
    );
    return summarize(written.flat());
  }

  /** A transaction: see `transaction.ts`. */
  async transaction(): Promise<Transaction> {
    const producer = this.requireConnected();
    return new Transaction(
      this.shoal,
      {
        records: (batch, caller) => this.layOut(batch, caller),
        sendRecords: async (topic, records) => {
          await asKafkaJS(() => this.sendAutoCreating(producer, topic, records));
        },
      },
      this.memberships,
    );
  }

  private requireConnected(): ShoalProducer {
    const producer = this.producer;
    if (!producer) throw new KafkaJSError('The producer is disconnected', { retriable: false });
    return producer;
  }

  /** The batch's messages as Shoal's records per topic, checked and routed. */
  private async layOut(
    batch: ProducerBatch,
    caller: string,
  ): Promise<{ topic: string; records: ShoalRecord[] }[]> {
    if (typeof batch !== 'object' || batch === null || !Array.isArray(batch.topicMessages ?? [])) {
      throw new TypeError(`${caller}: topicMessages must be an array of { topic, messages }`);
    }
    const sends: { topic: string; records: ShoalRecord[] }[] = [];
    for (const [index, entry] of (batch.topicMessages ?? []).entries()) {
      const where = caller === 'send' ? 'send' : `${caller}: topicMessages[${index}]`;
      if (typeof entry?.topic !== 'string' || entry.topic === '') {
        throw new TypeError(`${where}: topic must be a topic name, got ${describe(entry?.topic)}`);
      }
      if (!Array.isArray(entry.messages)) {
        throw new TypeError(
          `${where}: messages must be an array of messages, got ${describe(entry.messages)}`,
        );
      }
      const records = entry.messages.map((message, i) => toShoalRecord(message, `${where}: messages[${i}]`));
      sends.push({ topic: entry.topic, records: await this.route(entry.topic, entry.messages, records) });
    }
    return sends;
  }

  private async sendAutoCreating(producer: ShoalProducer, topic: string, records: ShoalRecord[]) {
    try {
      return await producer.send({ topic, records });
    } catch (error) {
      if (!this.autoCreate || !isApiError(error, ERROR_CODES.topicNotFound)) throw error;
      await createTopicIfMissing(this.shoal, topic);
      return producer.send({ topic, records });
    }
  }

  logger(): Logger {
    return this.rootLogger.namespace('Producer');
  }

  // biome-ignore lint/suspicious/noExplicitAny: the listener type of KafkaJS's catch-all overload
  on(eventName: string, listener: (event: InstrumentationEvent<any>) => void): () => void {
    return this.instrumentation.on(eventName, listener);
  }

  /** Sets partitions chosen by a custom partitioner on messages that name none. */
  private async route(topic: string, messages: Message[], records: ShoalRecord[]): Promise<ShoalRecord[]> {
    const partitioner = this.partitioner;
    if (!partitioner || records.every((record) => record.partition !== undefined)) return records;
    const description = await asKafkaJS(() => this.shoal.api.describeTopic(topic));
    const partitionMetadata: PartitionMetadata[] = description.partitions.map(({ partition }) => ({
      partitionErrorCode: 0,
      partitionId: partition,
      leader: 0,
      replicas: [0],
      isr: [0],
    }));
    return records.map((record, index) =>
      record.partition !== undefined
        ? record
        : {
            ...record,
            partition: partitioner({ topic, partitionMetadata, message: messages[index] as Message }),
          },
    );
  }
}

/** Per topic and partition: the first offset written, as KafkaJS's `baseOffset`. */
function summarize(
  written: readonly { topic: string; partition: number; offset: number }[],
): RecordMetadata[] {
  const first = new Map<string, { topic: string; partition: number; offset: number }>();
  for (const entry of written) {
    const key = `${entry.topic}\u0000${entry.partition}`;
    const seen = first.get(key);
    if (!seen || entry.offset < seen.offset) first.set(key, entry);
  }
  return [...first.values()].map(({ topic, partition, offset }) => ({
    topicName: topic,
    partition,
    errorCode: 0,
    baseOffset: String(offset),
    offset: String(offset),
    // Shoal uses the request's CreateTime (or the append time); the log start is in fetchTopicOffsets.
    logAppendTime: '-1',
    logStartOffset: '-1',
  }));
}

/** Kafka's `num.partitions` default, for topics created on first use. */
const AUTO_CREATED_PARTITIONS = 1;

/** Creates `topic` with one partition unless it exists (another client may create it meanwhile). */
export async function createTopicIfMissing(shoal: Shoal, topic: string): Promise<void> {
  try {
    await shoal.api.createTopic({ name: topic, partitions: AUTO_CREATED_PARTITIONS });
  } catch (error) {
    if (!isApiError(error, ERROR_CODES.topicExists)) throw error;
  }
}
