/**
 * Compile-time check (part of `npm run typecheck`, never run) that Shoal's KafkaJS entry fits
 * KafkaJS's own type declarations, from the `kafkajs` dev dependency: each Shoal part is assignable
 * to the KafkaJS type it stands in for, and what KafkaJS programs pass in (configs, records,
 * handlers typed with KafkaJS's payloads) is accepted by Shoal's.
 *
 * Implemented with Shoal's meaning: every member picked below. Present only as a clear error
 * (KafkaJSNotImplemented, saying what to use instead), so that the whole KafkaJS type is still
 * satisfied: the admin's
 * `describeConfigs`/`alterConfigs` (no broker configs; topic config through Shoal's admin),
 * `createAcls`/`describeAcls`/`deleteAcls` (IAM policies instead of ACLs), `deleteTopicRecords`
 * (retention only), `alterPartitionReassignments`/`listPartitionReassignments` (no brokers).
 * Left out of the module: `PartitionAssigners` and `AssignerProtocol` (the server assigns
 * partitions), `CompressionCodecs` (Shoal compresses at rest itself), the network-level error
 * classes (`KafkaJSBrokerNotFound`, `KafkaJSSASLAuthenticationError`, ...) that nothing here throws.
 */
import type * as KafkaJS from 'kafkajs';
import type {
  Admin,
  Consumer,
  ConsumerRunConfig,
  Kafka,
  KafkaConfig,
  Message,
  Producer,
  ProducerBatch,
  ProducerRecord,
} from '../../client/kafkajs/index.js';

type Assert<T extends true> = T;
type Extends<A, B> = [A] extends [B] ? true : false;

type ProducerImplemented = Pick<
  KafkaJS.Producer,
  | 'connect'
  | 'disconnect'
  | 'send'
  | 'sendBatch'
  | 'transaction'
  | 'isIdempotent'
  | 'events'
  | 'on'
  | 'logger'
>;
type ConsumerImplemented = Pick<
  KafkaJS.Consumer,
  | 'connect'
  | 'disconnect'
  | 'subscribe'
  | 'stop'
  | 'run'
  | 'commitOffsets'
  | 'seek'
  | 'describeGroup'
  | 'pause'
  | 'paused'
  | 'resume'
  | 'on'
  | 'logger'
  | 'events'
>;
type AdminImplemented = Pick<
  KafkaJS.Admin,
  | 'connect'
  | 'disconnect'
  | 'listTopics'
  | 'createTopics'
  | 'deleteTopics'
  | 'createPartitions'
  | 'fetchTopicMetadata'
  | 'fetchOffsets'
  | 'fetchTopicOffsets'
  | 'fetchTopicOffsetsByTimestamp'
  | 'describeCluster'
  | 'setOffsets'
  | 'resetOffsets'
  | 'listGroups'
  | 'deleteGroups'
  | 'describeGroups'
  | 'logger'
  | 'on'
  | 'events'
>;

export type Checks = [
  // Shoal's parts stand in for KafkaJS's.
  Assert<Extends<Producer, ProducerImplemented>>,
  Assert<Extends<Consumer, ConsumerImplemented>>,
  Assert<Extends<Admin, AdminImplemented>>,
  Assert<Extends<Kafka, Pick<KafkaJS.Kafka, 'producer' | 'consumer' | 'admin' | 'logger'>>>,
  // With the clear-error members, the whole KafkaJS types too.
  Assert<Extends<Producer, KafkaJS.Producer>>,
  Assert<Extends<Consumer, KafkaJS.Consumer>>,
  Assert<Extends<Admin, KafkaJS.Admin>>,
  // What KafkaJS programs pass in is accepted, handlers typed with KafkaJS's payloads included.
  Assert<Extends<KafkaJS.KafkaConfig, KafkaConfig>>,
  Assert<Extends<KafkaJS.Message, Message>>,
  Assert<Extends<KafkaJS.ProducerRecord, ProducerRecord>>,
  Assert<Extends<KafkaJS.ProducerBatch, ProducerBatch>>,
  Assert<Extends<KafkaJS.ConsumerRunConfig, ConsumerRunConfig>>,
];
