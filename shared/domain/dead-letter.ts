/**
 * Records a subscription gives up on: which ones (past the maximum record age, or retried too
 * often), and how they reach the dead-letter topic, with headers saying why and where they came
 * from. Written in chunks, each under an idempotency key of its offsets, so a run that dies half
 * way and a later one write each record once.
 */
import type { DeliveryFailure } from '../ports/subscription-store.js';
import type { BatchEvent } from './batch-invocation.js';
import type { Settlement } from './delivery.js';
import { TopicNotFoundError } from './errors.js';
import type { LogService, ProduceRecord } from './log-service.js';
import type { LogRecord, RecordHeader } from './record.js';
import { splitIntoChunks } from './record-codec.js';
import type { Subscription } from './subscription.js';

/** Dead-letter headers: why a record was given up, and where it came from. */
export const DEAD_LETTER_HEADERS = {
  reason: 'shoal.dlq.reason',
  subscription: 'shoal.dlq.subscription',
  topic: 'shoal.dlq.topic',
  partition: 'shoal.dlq.partition',
  offset: 'shoal.dlq.offset',
  timestamp: 'shoal.dlq.timestamp',
  attempts: 'shoal.dlq.attempts',
  error: 'shoal.dlq.error',
} as const;

export type DeadLetterReason = 'retries-exhausted' | 'record-age-exceeded';

/** A record given up on. */
export interface GivenUp {
  readonly record: LogRecord;
  readonly reason: DeadLetterReason;
  readonly attempts: number;
}

/** Records of one dead-letter produce request: few enough to touch few partitions, small enough for one transaction. */
const DEAD_LETTER_CHUNK_RECORDS = 40;
const DEAD_LETTER_CHUNK_BYTES = 1_500_000;

/**
 * What the commit of a settled batch moves past without delivering: expired records, and the
 * failed range once retries ran out (filtered records there are not the function's failure).
 */
export function givenUp(batch: BatchEvent, settlement: Settlement): GivenUp[] {
  const records: GivenUp[] = [];
  for (const record of batch.records) {
    if (record.offset >= settlement.commitTo) break;
    if (batch.expired.has(record.offset))
      records.push({ record, reason: 'record-age-exceeded', attempts: 0 });
    else if (
      settlement.deadLetter &&
      record.offset >= settlement.deadLetter.from &&
      !batch.filtered.has(record.offset)
    ) {
      records.push({ record, reason: 'retries-exhausted', attempts: settlement.deadLetter.attempts });
    }
  }
  return records;
}

/** Where the given-up records came from. */
export interface DeadLetterSource {
  readonly subscription: Subscription;
  readonly topic: string;
  readonly partition: number;
}

/**
 * Writes records to the subscription's dead-letter topic, idempotently per chunk; the number
 * written (0 without a dead-letter topic).
 *
 * @throws Error when the dead-letter topic does not exist
 */
export async function writeDeadLetters(
  log: LogService,
  source: DeadLetterSource,
  records: readonly GivenUp[],
  failure: DeliveryFailure | undefined,
): Promise<number> {
  const { subscription, partition } = source;
  const dlq = subscription.onFailure?.topic;
  if (!dlq) return 0;
  let written = 0;
  for (const chunk of chunkRecords(records.map((given) => deadLetterRecord(source, given, failure)))) {
    const firstOffset = records[written]?.record.offset ?? 0;
    const lastOffset = records[written + chunk.length - 1]?.record.offset ?? firstOffset;
    const idempotencyKey = `shoal-dlq:${subscription.subscriptionId}:${partition}:${firstOffset}-${lastOffset}`;
    try {
      await log.produce(dlq, chunk, idempotencyKey);
    } catch (error) {
      if (error instanceof TopicNotFoundError) {
        throw new Error(`The dead-letter topic '${dlq}' does not exist: create it, and delivery resumes`, {
          cause: error,
        });
      }
      // The key is taken by an earlier write of these records (with another error text): written.
      if (!(error instanceof Error && error.name === 'IdempotencyKeyReusedError')) throw error;
    }
    written += chunk.length;
  }
  return written;
}

/**
 * The records as written to the dead-letter topic, for an exactly-once subscription that writes
 * them in the transaction of its commit instead of by {@link writeDeadLetters}.
 */
export function deadLetterRecords(
  source: DeadLetterSource,
  records: readonly GivenUp[],
  failure: DeliveryFailure | undefined,
): ProduceRecord[] {
  return records.map((given) => deadLetterRecord(source, given, failure));
}

/** The record as written to the dead-letter topic: its own headers, then the dead-letter ones. */
function deadLetterRecord(
  source: DeadLetterSource,
  { record, reason, attempts }: GivenUp,
  failure: DeliveryFailure | undefined,
): ProduceRecord {
  const text = (value: string) => Buffer.from(value, 'utf8');
  const headers: RecordHeader[] = [
    ...record.headers,
    { name: DEAD_LETTER_HEADERS.reason, value: text(reason) },
    { name: DEAD_LETTER_HEADERS.subscription, value: text(source.subscription.name) },
    { name: DEAD_LETTER_HEADERS.topic, value: text(source.topic) },
    { name: DEAD_LETTER_HEADERS.partition, value: text(String(source.partition)) },
    { name: DEAD_LETTER_HEADERS.offset, value: text(String(record.offset)) },
    { name: DEAD_LETTER_HEADERS.timestamp, value: text(String(record.timestamp)) },
    { name: DEAD_LETTER_HEADERS.attempts, value: text(String(attempts)) },
    ...(reason === 'retries-exhausted' && failure
      ? [{ name: DEAD_LETTER_HEADERS.error, value: text(failure.message) }]
      : []),
  ];
  return { key: record.key, value: record.value, headers, timestamp: record.timestamp };
}

/** Splits dead-letter records into produce requests that fit one transaction comfortably. */
function chunkRecords(records: readonly ProduceRecord[]): ProduceRecord[][] {
  const sizeOf = (record: ProduceRecord) =>
    (record.key?.bytes.byteLength ?? 0) +
    (record.value?.bytes.byteLength ?? 0) +
    record.headers.reduce((sum, header) => sum + header.name.length + header.value.byteLength, 0);
  return splitIntoChunks(records, sizeOf, DEAD_LETTER_CHUNK_BYTES, DEAD_LETTER_CHUNK_RECORDS);
}
