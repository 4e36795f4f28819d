/**
 * Topics: names as in Kafka, a partition count, and the configuration that governs retention.
 */
import { InvalidRequestError } from './errors.js';
import { LIMITS } from './limits.js';

/** Kafka's legal topic characters. */
export const TOPIC_NAME_PATTERN = /^[a-zA-Z0-9._-]+$/;

/** Topic configuration in Kafka's terms. */
export interface TopicConfig {
  /** How long records are kept, by append time; -1 keeps them forever. */
  readonly retentionMs: number;
}

/** A topic as stored. */
export interface Topic {
  readonly name: string;
  /**
   * A new id per incarnation (like Kafka's topic id), so a topic deleted and created again under
   * the same name never sees the old incarnation's batches.
   */
  readonly topicId: string;
  readonly partitionCount: number;
  readonly config: TopicConfig;
  /** Epoch milliseconds. */
  readonly createdAt: number;
}

/** A partition's position in its log. */
export interface PartitionState {
  readonly partition: number;
  /** The first readable offset. */
  readonly logStartOffset: number;
  /** The next offset to be written. */
  readonly highWatermark: number;
  /** Every offset below it lives in S3. */
  readonly archivedOffset: number;
}

/** Kafka's rules: 1..249 legal characters, not "." or "..". */
export function validateTopicName(name: string): void {
  if (name.length === 0 || name.length > LIMITS.topicNameLengthMax) {
    throw new InvalidRequestError(
      `Topic name must be 1 to ${LIMITS.topicNameLengthMax} characters, got ${name.length}`,
      'name',
    );
  }
  if (name === '.' || name === '..') {
    throw new InvalidRequestError(`Topic name cannot be '${name}'`, 'name');
  }
  if (!TOPIC_NAME_PATTERN.test(name)) {
    throw new InvalidRequestError(
      `Topic name '${name}' may contain only ASCII letters, digits, '.', '_' and '-'`,
      'name',
    );
  }
}

/** Partition state of a partition that has never been written. */
export function emptyPartitionState(partition: number): PartitionState {
  return { partition, logStartOffset: 0, highWatermark: 0, archivedOffset: 0 };
}
