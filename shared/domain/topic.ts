/**
 * Topics: names as in Kafka, a partition count, and the configuration that governs retention.
 */
import { InvalidRequestError, PartitionNotFoundError } from './errors.js';
import { LIMITS } from './limits.js';

/** Kafka's legal topic characters. */
export const TOPIC_NAME_PATTERN = /^[a-zA-Z0-9._-]+$/;

/**
 * Topic configuration in Kafka's terms. DynamoDB is the hot tier (Kafka's local log), S3 segments
 * hold the rest (Kafka's remote tier).
 */
export interface TopicConfig {
  /** How long records are kept, by append time; -1 keeps them forever (Kafka's `retention.ms`). */
  readonly retentionMs: number;
  /**
   * Bound on a partition's archived bytes; the oldest segments go first. -1 sets no bound (Kafka's
   * `retention.bytes`).
   */
  readonly retentionBytes: number;
  /** A run of batches rolls into a segment once its first batch is this old (Kafka's `segment.ms`). */
  readonly segmentMs: number;
  /** A segment rolls before it grows past this many stored bytes (Kafka's `segment.bytes`). */
  readonly segmentBytes: number;
  /**
   * How long a batch stays in DynamoDB after it is appended (its TTL; Kafka's
   * `local.retention.ms`). At most `retentionMs`. Records older than this are read from S3.
   */
  readonly localRetentionMs: number;
}

/** The configuration fields a request may set; absent ones keep their current or default value. */
export type TopicConfigInput = Partial<TopicConfig>;

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

/**
 * Validates a configuration change against the current configuration (or the defaults, for a new
 * topic) and returns the resulting configuration.
 *
 * `localRetentionMs` never exceeds `retentionMs`: given explicitly above it, the change is refused;
 * left out, it follows a shorter `retentionMs` down (Kafka refuses `local.retention.ms` above
 * `retention.ms`; its default, -2, means "the same as retention.ms").
 *
 * @throws InvalidRequestError naming the first field out of bounds.
 * @example
 * resolveTopicConfig({ retentionMs: 3_600_000 }); // the defaults, with one hour of retention
 */
export function resolveTopicConfig(input: TopicConfigInput, current?: TopicConfig): TopicConfig {
  const retentionMs = checkBounded(
    'retentionMs',
    input.retentionMs ?? current?.retentionMs ?? LIMITS.retentionMsDefault,
    LIMITS.retentionMsMin,
    LIMITS.retentionMsMax,
    'ms',
  );
  const retentionBytes = checkBounded(
    'retentionBytes',
    input.retentionBytes ?? current?.retentionBytes ?? -1,
    LIMITS.retentionBytesMin,
    LIMITS.retentionBytesMax,
    'bytes',
  );
  const segmentMs = checkInRange(
    'segmentMs',
    input.segmentMs ?? current?.segmentMs ?? LIMITS.segmentMsDefault,
    LIMITS.segmentMsMin,
    LIMITS.segmentMsMax,
  );
  const segmentBytes = checkInRange(
    'segmentBytes',
    input.segmentBytes ?? current?.segmentBytes ?? LIMITS.segmentBytesDefault,
    LIMITS.segmentBytesMin,
    LIMITS.segmentBytesMax,
  );
  const retentionCap = retentionMs === -1 ? Number.POSITIVE_INFINITY : retentionMs;
  let localRetentionMs: number;
  if (input.localRetentionMs !== undefined) {
    localRetentionMs = checkInRange(
      'localRetentionMs',
      input.localRetentionMs,
      LIMITS.localRetentionMsMin,
      LIMITS.localRetentionMsMax,
    );
    if (localRetentionMs > retentionCap) {
      throw new InvalidRequestError(
        `localRetentionMs (${localRetentionMs}) cannot exceed retentionMs (${retentionMs}): a batch never stays in DynamoDB longer than the topic keeps it`,
        'localRetentionMs',
      );
    }
  } else {
    localRetentionMs = Math.min(current?.localRetentionMs ?? LIMITS.localRetentionMsDefault, retentionCap);
  }
  return { retentionMs, retentionBytes, segmentMs, segmentBytes, localRetentionMs };
}

/** The configuration of a topic stored before a field existed: the defaults fill the gaps. */
export function withConfigDefaults(stored: TopicConfigInput & { readonly retentionMs: number }): TopicConfig {
  const retentionCap = stored.retentionMs === -1 ? Number.POSITIVE_INFINITY : stored.retentionMs;
  return {
    retentionMs: stored.retentionMs,
    retentionBytes: stored.retentionBytes ?? -1,
    segmentMs: stored.segmentMs ?? LIMITS.segmentMsDefault,
    segmentBytes: stored.segmentBytes ?? LIMITS.segmentBytesDefault,
    localRetentionMs: stored.localRetentionMs ?? Math.min(LIMITS.localRetentionMsDefault, retentionCap),
  };
}

function checkInRange(field: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidRequestError(
      `${field} must be a whole number from ${min} to ${max}, got ${value}`,
      field,
    );
  }
  return value;
}

/** Like {@link checkInRange}, but -1 (no bound) is also accepted. */
function checkBounded(field: string, value: number, min: number, max: number, unit: string): number {
  if (value === -1) return value;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidRequestError(
      `${field} must be -1 (${unit === 'ms' ? 'forever' : 'no bound'}) or a whole number of ${unit} from ${min} to ${max}, got ${value}`,
      field,
    );
  }
  return value;
}

/** @throws PartitionNotFoundError unless `partition` is one of the topic's partitions. */
export function requirePartition(topic: Topic, partition: number): void {
  if (!Number.isInteger(partition) || partition < 0 || partition >= topic.partitionCount) {
    throw new PartitionNotFoundError(topic.name, partition, topic.partitionCount);
  }
}
