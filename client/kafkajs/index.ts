/**
 * KafkaJS's API over Shoal: programs written for KafkaJS run against a Shoal log with only the
 * import changed. `brokers` is the Shoal API's URL. It is an adapter over Shoal's own client
 * (`shoal`), not a second client: batching, idempotency keys, retries, groups and commits are
 * Shoal's.
 *
 * @example
 * import { Kafka } from 'shoal/kafkajs'; // was: from 'kafkajs'
 *
 * const kafka = new Kafka({ clientId: 'my-app', brokers: ['http://127.0.0.1:8092'] });
 * const producer = kafka.producer();
 * await producer.connect();
 * await producer.send({ topic: 'test-topic', messages: [{ value: 'Hello KafkaJS user!' }] });
 *
 * Kafka options: `ssl` is ignored (an https URL is TLS), `sasl` with mechanism `aws` signs requests
 * with those IAM credentials and any other mechanism is a clear error (Shoal authenticates with
 * IAM), `retry.retries`/`maxRetryTime`/`initialRetryTime` bound the client's retries,
 * `requestTimeout` each request, `logLevel`/`logCreator` the logger; `clientId`, `connectionTimeout`,
 * `authenticationTimeout`, `reauthenticationThreshold`, `enforceRequestTimeout` and
 * `socketFactory` have no meaning over HTTPS and are ignored.
 */
import { Shoal, type ShoalOptions } from '../index.js';
import { Admin } from './admin.js';
import { Consumer, type ConsumerConfig } from './consumer.js';
import { createLogger, type Logger, type logCreator, logLevel } from './instrumentation.js';
import { describe } from './messages.js';
import { Producer, type ProducerConfig } from './producer.js';
import { GroupMemberships } from './transaction.js';

export interface RetryOptions {
  maxRetryTime?: number;
  initialRetryTime?: number;
  factor?: number;
  multiplier?: number;
  retries?: number;
  restartOnFailure?: (e: Error) => Promise<boolean>;
}

export interface KafkaConfig {
  /** The Shoal API's URL, e.g. `['https://abc123.execute-api.eu-west-1.amazonaws.com/prod']`. */
  brokers: string[] | (() => string[] | Promise<string[]>);
  ssl?: unknown;
  sasl?: { mechanism: string; [key: string]: unknown };
  clientId?: string;
  connectionTimeout?: number;
  authenticationTimeout?: number;
  reauthenticationThreshold?: number;
  requestTimeout?: number;
  enforceRequestTimeout?: boolean;
  retry?: RetryOptions;
  socketFactory?: unknown;
  logLevel?: logLevel;
  logCreator?: logCreator;
}

/** The entry point, as KafkaJS's `Kafka`: one per application and Shoal API. */
export class Kafka {
  private readonly shoal: Shoal;
  private readonly rootLogger: Logger;
  /** Each group's consumer, so a producer's transaction is fenced by its generation. */
  private readonly memberships = new GroupMemberships();

  constructor(config: KafkaConfig) {
    if (typeof config !== 'object' || config === null) {
      throw new TypeError(`new Kafka({ brokers }): give the options, got ${describe(config)}`);
    }
    this.rootLogger = createLogger(config.logLevel ?? logLevel.INFO, config.logCreator);
    this.shoal = new Shoal(shoalOptions(config));
  }

  producer(config: ProducerConfig = {}): Producer {
    return new Producer(this.shoal, this.rootLogger, config, this.memberships);
  }

  consumer(config: ConsumerConfig): Consumer {
    return new Consumer(this.shoal, this.rootLogger, config, this.memberships);
  }

  admin(_config: { retry?: RetryOptions } = {}): Admin {
    return new Admin(this.shoal, this.rootLogger);
  }

  logger(): Logger {
    return this.rootLogger;
  }
}

/** KafkaJS's `Kafka` options as Shoal's client options; a bad field is a TypeError naming it. */
function shoalOptions(config: KafkaConfig): ShoalOptions {
  const { brokers } = config;
  if (typeof brokers === 'function') {
    throw new TypeError(
      'brokers: give the Shoal URL as an array, e.g. [process.env.SHOAL_URL]; a function is not supported',
    );
  }
  if (!Array.isArray(brokers) || brokers.length === 0 || typeof brokers[0] !== 'string') {
    throw new TypeError(`brokers must be an array holding the Shoal API's URL, got ${describe(brokers)}`);
  }
  const url = brokers[0];
  if (!/^https?:\/\//i.test(url)) {
    throw new TypeError(
      `brokers[0] must be the Shoal API's http(s) URL, e.g. 'http://127.0.0.1:8092', got '${url}' (Shoal has no Kafka brokers)`,
    );
  }
  if (new Set(brokers).size > 1) {
    throw new TypeError(`brokers: one Shoal API URL, got ${brokers.length} different ones`);
  }
  const options: { -readonly [K in keyof ShoalOptions]: ShoalOptions[K] } = { url };
  const sasl = config.sasl;
  if (sasl !== undefined) {
    if (sasl?.mechanism !== 'aws') {
      throw new TypeError(
        `sasl: mechanism '${String(sasl?.mechanism)}' is not available; Shoal authenticates with IAM (mechanism 'aws' with accessKeyId and secretAccessKey, or no sasl for the default AWS credentials)`,
      );
    }
    const { accessKeyId, secretAccessKey, sessionToken } = sasl as Record<string, unknown>;
    if (typeof accessKeyId !== 'string' || typeof secretAccessKey !== 'string') {
      throw new TypeError("sasl: mechanism 'aws' needs accessKeyId and secretAccessKey strings");
    }
    options.auth = {
      type: 'iam',
      credentials: {
        accessKeyId,
        secretAccessKey,
        ...(typeof sessionToken === 'string' ? { sessionToken } : {}),
      },
    };
  }
  const retry = config.retry;
  if (retry !== undefined) {
    options.retry = {
      ...(retry.retries === undefined ? {} : { retriesMax: retry.retries }),
      ...(retry.maxRetryTime === undefined ? {} : { retryTimeMaxMs: retry.maxRetryTime }),
      ...(retry.initialRetryTime === undefined ? {} : { backoffInitialMs: retry.initialRetryTime }),
    };
  }
  if (config.requestTimeout !== undefined) options.requestTimeoutMs = config.requestTimeout;
  return options;
}

export { Admin, type GroupDescription, type ITopicConfig } from './admin.js';
export type {
  Batch,
  ConsumerConfig,
  ConsumerRunConfig,
  ConsumerSubscribeTopic,
  ConsumerSubscribeTopics,
  EachBatchPayload,
  EachMessagePayload,
  Offsets,
  TopicOffsets,
  TopicPartitionOffset,
  TopicPartitionOffsetAndMetadata,
  TopicPartitions,
} from './consumer.js';
export { Consumer } from './consumer.js';
export {
  KafkaJSAggregateError,
  KafkaJSConnectionError,
  KafkaJSDeleteGroupsError,
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSNotImplemented,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSOffsetOutOfRange,
  KafkaJSProtocolError,
  KafkaJSTimeout,
} from './errors.js';
export {
  type InstrumentationEvent,
  type LogEntry,
  type Logger,
  type logCreator,
  logLevel,
} from './instrumentation.js';
export type { IHeaders, KafkaMessage, Message } from './messages.js';
export {
  type ICustomPartitioner,
  type PartitionerArgs,
  Partitioners,
  type PartitionMetadata,
} from './partitioners.js';
export type {
  ProducerBatch,
  ProducerConfig,
  ProducerRecord,
  RecordMetadata,
  TopicMessages,
} from './producer.js';
export { Producer } from './producer.js';

/** KafkaJS's compression codecs. Shoal compresses every batch at rest itself: the choice is ignored. */
export enum CompressionTypes {
  None = 0,
  GZIP = 1,
  Snappy = 2,
  LZ4 = 3,
  ZSTD = 4,
}
