/**
 * KafkaJS's producer types (records, batches, the metadata of a send), apart from `producer.ts` so
 * that the transaction (`transaction.ts`) and the producer both use them without importing each
 * other.
 */
import type { Message } from './messages.js';

export interface ProducerRecord {
  topic: string;
  messages: Message[];
  acks?: number;
  timeout?: number;
  compression?: number;
}

export interface TopicMessages {
  topic: string;
  messages: Message[];
}

export interface ProducerBatch {
  acks?: number;
  timeout?: number;
  compression?: number;
  topicMessages?: TopicMessages[];
}

/** One entry per partition written, as KafkaJS answers. */
export interface RecordMetadata {
  topicName: string;
  partition: number;
  errorCode: number;
  offset?: string;
  timestamp?: string;
  baseOffset?: string;
  logAppendTime?: string;
  logStartOffset?: string;
}
