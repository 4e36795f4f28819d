/**
 * The Shoal client: a producer, consumers and an admin over the HTTP API v1, shaped like KafkaJS.
 *
 * @example
 * import { json, Shoal } from './client/index.js';
 *
 * const shoal = new Shoal({ url: 'http://127.0.0.1:8092' }); // a deployed API: its https URL (IAM-signed)
 * await shoal.admin().createTopic({ name: 'orders', partitions: 6 });
 *
 * const producer = shoal.producer();
 * await producer.send({ topic: 'orders', records: [{ key: 'order-42', value: json({ total: 12 }) }] });
 * await producer.close();
 *
 * const consumer = shoal.consumer({ groupId: 'billing' });
 * await consumer.subscribe({ topics: ['orders'], fromBeginning: true });
 * await consumer.run({ eachRecord: async ({ record }) => console.log(record.offset, record.value) });
 */
import { Admin } from './admin.js';
import { ShoalApi } from './api.js';
import { Consumer, type ConsumerOptions } from './consumer.js';
import { TopicMetadata } from './metadata.js';
import { Producer, type ProducerOptions } from './producer.js';
import { Transport, type TransportOptions } from './transport.js';

/** Options of a {@link Shoal} client: where the API is and how to reach it. */
export interface ShoalOptions extends TransportOptions {}

/** Entry point: one per application and API, shared by its producers, consumers and admin. */
export class Shoal {
  /** Typed calls to every route, for what the producer and consumer do not cover. */
  readonly api: ShoalApi;
  private readonly metadata: TopicMetadata;

  constructor(options: ShoalOptions = {}) {
    this.api = new ShoalApi(new Transport(options));
    this.metadata = new TopicMetadata(this.api, 300_000);
  }

  /** A batching, idempotent producer. */
  producer(options: ProducerOptions = {}): Producer {
    const metadata =
      options.metadataMaxAgeMs === undefined
        ? this.metadata
        : new TopicMetadata(this.api, options.metadataMaxAgeMs);
    return new Producer(this.api, metadata, options);
  }

  /** A consumer: `subscribe` in a group (give `groupId`), or `assign` partitions standalone. */
  consumer(options: ConsumerOptions = {}): Consumer {
    return new Consumer(this.api, options);
  }

  admin(): Admin {
    return new Admin(this.api);
  }
}

export { Admin, type GroupLag, type ResetTo } from './admin.js';
export type {
  CommitAnswer,
  CreateSubscriptionInput,
  CreateTopicInput,
  FetchAnswer,
  FetchInput,
  GroupDescription,
  GroupSummary,
  MemberAssignment,
  ProduceAnswer,
  Subscription,
  SubscriptionDescription,
  TopicDescription,
  TopicSummary,
  TypedDataValue,
  UpdateTopicInput,
} from './api.js';
export { ShoalApi } from './api.js';
export type { AuthOptions } from './auth.js';
export type {
  Batch,
  ConsumerOptions,
  EachBatchPayload,
  EachRecordPayload,
  RunOptions,
  StartFrom,
  TopicPartition,
  TopicPartitionOffset,
} from './consumer.js';
export { Consumer } from './consumer.js';
export {
  ERROR_CODES,
  isApiError,
  ShoalApiError,
  ShoalClientStateError,
  ShoalConnectionError,
} from './errors.js';
export type { ProducerOptions, ProducerSend, RecordMetadata } from './producer.js';
export { Producer } from './producer.js';
export {
  binary,
  type ConsumedRecord,
  dataBytes,
  dataText,
  json,
  type ProducerRecord,
  type RecordData,
  type RecordHeaders,
  string,
  toWireRecord,
} from './records.js';
export { DEFAULT_URL, type RetryOptions, type TransportOptions } from './transport.js';
