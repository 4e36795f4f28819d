/**
 * KafkaJS's `Partitioners`. Shoal places keyed records with Kafka's own partitioner (murmur2 of the
 * key bytes, as Java's client and KafkaJS's `DefaultPartitioner`), so `DefaultPartitioner` changes
 * nothing. `LegacyPartitioner` (KafkaJS 1.x's placement) is not available: a key would land where
 * no other Shoal client puts it. Custom partitioners are called as KafkaJS calls them.
 */
import type { Message } from './messages.js';

export interface PartitionMetadata {
  partitionErrorCode: number;
  partitionId: number;
  leader: number;
  replicas: number[];
  isr: number[];
  offlineReplicas?: number[];
}

export interface PartitionerArgs {
  topic: string;
  partitionMetadata: PartitionMetadata[];
  message: Message;
}

export type ICustomPartitioner = () => (args: PartitionerArgs) => number;

/** Kafka's partitioner: what Shoal does anyway (the producer leaves routing to Shoal). */
export const DefaultPartitioner: ICustomPartitioner = () => () => {
  throw new Error('DefaultPartitioner is applied by Shoal itself and never called');
};

const LegacyPartitioner: ICustomPartitioner = () => {
  throw new TypeError(
    "Partitioners.LegacyPartitioner is not available: Shoal places keys with Kafka's partitioner " +
      '(Partitioners.DefaultPartitioner), so every client puts a key in the same partition',
  );
};

export const Partitioners: {
  DefaultPartitioner: ICustomPartitioner;
  LegacyPartitioner: ICustomPartitioner;
  /** @deprecated the name KafkaJS 1.x gave DefaultPartitioner */
  JavaCompatiblePartitioner: ICustomPartitioner;
} = {
  DefaultPartitioner,
  LegacyPartitioner,
  JavaCompatiblePartitioner: DefaultPartitioner,
};
