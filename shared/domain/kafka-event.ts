/**
 * The event a subscribed function receives: exactly the self-managed Apache Kafka event that Lambda
 * sends, so a handler written for an MSK or Kafka trigger (with `@types/aws-lambda`'s
 * `SelfManagedKafkaEvent` or Powertools' `kafkaConsumer`) works unchanged; and the function's
 * answer, read as Lambda reads it for Kafka (`batchItemFailures`).
 *
 * ```json
 * { "eventSource": "SelfManagedKafka", "bootstrapServers": "...",
 *   "records": { "orders-0": [ { "topic": "orders", "partition": 0, "offset": 15,
 *     "timestamp": 1545084650987, "timestampType": "CREATE_TIME",
 *     "key": "cmVjb3JkS2V5", "value": "eyJrZXkiOiJ2YWx1ZSJ9",
 *     "headers": [ { "trace": [104, 105] } ] } ] } }
 * ```
 */
import type { LogRecord } from './record.js';

/**
 * One record of the event. As Lambda does, a null key or value is left out (a Kafka tombstone has
 * no `value`); `@types/aws-lambda` declares both as always present.
 */
export interface KafkaEventRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Epoch ms. */
  readonly timestamp: number;
  readonly timestampType: 'CREATE_TIME';
  /** Base64 of the key's bytes. */
  readonly key?: string;
  /** Base64 of the value's bytes. */
  readonly value?: string;
  /** One object per header, its name mapped to its bytes as Java's signed bytes (-128..127), as Lambda sends them. */
  readonly headers: Record<string, number[]>[];
}

/** Arrays are plain (not readonly) so that the event is assignable to `@types/aws-lambda`'s types. */
export interface KafkaEvent {
  readonly eventSource: 'SelfManagedKafka';
  /** Names the Shoal deployment the records come from. */
  readonly bootstrapServers: string;
  /** Keyed `"<topic>-<partition>"`. */
  readonly records: Readonly<Record<string, KafkaEventRecord[]>>;
}

/** The key of a partition's records in the event, and the partition part of a batch item failure. */
export const eventPartitionKey = (topic: string, partition: number) => `${topic}-${partition}`;

/** Bytes as Java's signed bytes, the way Lambda serializes Kafka header values. */
export function signedBytes(bytes: Uint8Array): number[] {
  return Array.from(bytes, (byte) => (byte > 127 ? byte - 256 : byte));
}

const base64 = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

export function toEventRecord(topic: string, partition: number, record: LogRecord): KafkaEventRecord {
  return {
    topic,
    partition,
    offset: record.offset,
    timestamp: record.timestamp,
    timestampType: 'CREATE_TIME',
    ...(record.key === null ? {} : { key: base64(record.key.bytes) }),
    ...(record.value === null ? {} : { value: base64(record.value.bytes) }),
    headers: record.headers.map((header) => ({ [header.name]: signedBytes(header.value) })),
  };
}

/** The event for one batch of one partition (Shoal delivers one partition per invocation). */
export function buildKafkaEvent(
  topic: string,
  partition: number,
  records: readonly LogRecord[],
  bootstrapServers: string,
): KafkaEvent {
  return {
    eventSource: 'SelfManagedKafka',
    bootstrapServers,
    records: {
      [eventPartitionKey(topic, partition)]: records.map((record) => toEventRecord(topic, partition, record)),
    },
  };
}

/** How the function's answer settles a batch. */
export type BatchAnswer =
  /** Every record is processed. */
  | { readonly kind: 'success' }
  /** Records before `failedOffset` are processed; it and the rest are to be retried. */
  | { readonly kind: 'partial'; readonly failedOffset: number }
  /** The answer names records in a way Lambda would reject: the whole batch failed. */
  | { readonly kind: 'invalid'; readonly reason: string };

/**
 * Reads a successful invocation's answer as Lambda does with ReportBatchItemFailures for Kafka.
 * A missing, null or empty `batchItemFailures` (or no answer at all) is a success. Each item names
 * a record by `itemIdentifier`, in the object form `{"partition": "orders-0", "offset": 15}` or
 * the string form `"orders-0-15"`; the batch is committed up to the lowest one. An identifier that
 * is empty, malformed, or names a record outside the batch fails the whole batch.
 *
 * @param offsets the offsets delivered in this batch (ascending).
 */
export function readBatchAnswer(
  answer: unknown,
  topic: string,
  partition: number,
  offsets: readonly number[],
): BatchAnswer {
  if (answer === null || typeof answer !== 'object' || Array.isArray(answer)) return { kind: 'success' };
  const failures = (answer as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return { kind: 'success' };
  if (!Array.isArray(failures)) return { kind: 'invalid', reason: 'batchItemFailures is not an array' };
  if (failures.length === 0) return { kind: 'success' };
  const expectedPartition = eventPartitionKey(topic, partition);
  const delivered = new Set(offsets);
  let lowest: number | undefined;
  for (const [index, failure] of failures.entries()) {
    const identifier = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    const parsed = parseItemIdentifier(identifier);
    if (parsed === undefined) {
      return {
        kind: 'invalid',
        reason: `batchItemFailures[${index}].itemIdentifier must be {"partition": "${expectedPartition}", "offset": <n>} or "${expectedPartition}-<n>", got ${JSON.stringify(identifier) ?? 'nothing'}`,
      };
    }
    if (parsed.partition !== expectedPartition || !delivered.has(parsed.offset)) {
      return {
        kind: 'invalid',
        reason: `batchItemFailures[${index}] names ${parsed.partition} offset ${parsed.offset}, which is not in this batch`,
      };
    }
    lowest = lowest === undefined ? parsed.offset : Math.min(lowest, parsed.offset);
  }
  return lowest === undefined ? { kind: 'success' } : { kind: 'partial', failedOffset: lowest };
}

/** `{"partition": "t-0", "offset": 15}` or `"t-0-15"` (topic names may contain '-': split from the end). */
function parseItemIdentifier(identifier: unknown): { partition: string; offset: number } | undefined {
  if (typeof identifier === 'string') {
    const match = /^(.+-\d+)-(\d+)$/.exec(identifier);
    if (!match) return undefined;
    return { partition: match[1] as string, offset: Number(match[2]) };
  }
  if (identifier === null || typeof identifier !== 'object') return undefined;
  const { partition, offset } = identifier as { partition?: unknown; offset?: unknown };
  const numeric = typeof offset === 'string' && /^\d+$/.test(offset) ? Number(offset) : offset;
  if (
    typeof partition !== 'string' ||
    typeof numeric !== 'number' ||
    !Number.isSafeInteger(numeric) ||
    numeric < 0
  ) {
    return undefined;
  }
  return { partition, offset: numeric };
}
