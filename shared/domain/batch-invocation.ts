/**
 * One batch's invocation, both ways: the event a function receives (records past the subscription's
 * maximum age and records no filter matches left out, the batch halved until the event fits one
 * invocation), and what the function's answer means for the batch. Pure: the partition delivery
 * invokes and writes.
 */
import type { InvocationResult } from '../ports/function-invoker.js';
import type { DeliveryCounters, DeliveryFailure } from '../ports/subscription-store.js';
import type { BatchOutcome } from './delivery.js';
import { filterInputOf, type RecordFilter } from './event-filter.js';
import { buildKafkaEvent, readBatchAnswer } from './kafka-event.js';
import type { LogRecord } from './record.js';
import { SUBSCRIPTION_LIMITS, type Subscription } from './subscription.js';

/** Error text kept in the delivery state and dead-letter headers. */
const ERROR_TEXT_MAX = 1_000;

/** A failure of the delivery at `offset`, its text cut to what is kept. */
export function deliveryFailure(message: string, offset: number, at: number): DeliveryFailure {
  return { message: message.slice(0, ERROR_TEXT_MAX), at, offset };
}

/** The records one invocation covers, and the event that carries them. */
export interface BatchEvent {
  /** Every record the batch covers: the commit moves past them all once it is settled. */
  readonly records: readonly LogRecord[];
  /** The records in the event. */
  readonly deliverable: readonly LogRecord[];
  /** Offsets older than the subscription's maximum record age: given up, never delivered. */
  readonly expired: ReadonlySet<number>;
  /** Offsets no filter matches: committed without delivery. */
  readonly filtered: ReadonlySet<number>;
  /** The event's JSON text. */
  readonly payload: string;
}

export interface BatchEventInput {
  readonly subscription: Subscription;
  readonly filter: RecordFilter;
  readonly topic: string;
  readonly partition: number;
  readonly bootstrapServers: string;
  readonly now: number;
}

/**
 * The event for the first of `candidates` (at least one record whenever there is one): halves the
 * batch while the event is larger than an invocation takes.
 */
export function buildBatchEvent(candidates: readonly LogRecord[], input: BatchEventInput): BatchEvent {
  const { subscription, now } = input;
  let records = candidates;
  for (;;) {
    const expired = new Set<number>();
    const filtered = new Set<number>();
    for (const record of records) {
      if (subscription.maxRecordAgeMs !== -1 && now - record.timestamp > subscription.maxRecordAgeMs) {
        expired.add(record.offset);
      } else if (!input.filter(filterInputOf(record.value?.bytes ?? null))) {
        filtered.add(record.offset);
      }
    }
    const deliverable = records.filter(
      (record) => !expired.has(record.offset) && !filtered.has(record.offset),
    );
    const payload = JSON.stringify(
      buildKafkaEvent(input.topic, input.partition, deliverable, input.bootstrapServers),
    );
    if (Buffer.byteLength(payload) <= SUBSCRIPTION_LIMITS.eventBytesMax) {
      return { records, deliverable, expired, filtered, payload };
    }
    if (records.length <= 1) {
      // One record whose value alone passes the invocation limit: delivered without it.
      const event = buildKafkaEvent(
        input.topic,
        input.partition,
        deliverable.map(withoutValue),
        input.bootstrapServers,
      );
      return { records, deliverable, expired, filtered, payload: JSON.stringify(event) };
    }
    records = records.slice(0, Math.ceil(records.length / 2)); // too big for one invocation: deliver fewer
  }
}

/**
 * The header that marks a record delivered without its value, because the event could not hold it
 * (a value of up to 10 MiB is 13.3 MiB in base64; an invocation takes 6 MB). Its value is the value's
 * byte count as decimal text; the function reads the value from the API by the record's topic,
 * partition and offset (a fetch answers it by reference, a presigned URL).
 */
export const VALUE_OMITTED_HEADER = 'shoal-value-omitted-bytes';

function withoutValue(record: LogRecord): LogRecord {
  if (record.value === null) return record;
  const bytes = new TextEncoder().encode(String(record.value.bytes.byteLength));
  return {
    ...record,
    value: null,
    headers: [...record.headers, { name: VALUE_OMITTED_HEADER, value: bytes }],
  };
}

/** What an invocation of a batch came to. */
export interface InvokedBatch {
  readonly outcome: BatchOutcome;
  readonly failure: DeliveryFailure | undefined;
  /** Records the function processed. */
  readonly delivered: number;
  readonly counts: Partial<DeliveryCounters>;
}

/** A batch with nothing to deliver (every record filtered or expired): nothing was invoked. */
export const NOTHING_INVOKED: InvokedBatch = {
  outcome: { kind: 'success' },
  failure: undefined,
  delivered: 0,
  counts: {},
};

/** Reads the function's answer for `batch`, whose first offset is `batchStart`; `settledAt` dates a failure. */
export function readInvocation(
  result: InvocationResult,
  batch: BatchEvent,
  input: {
    readonly reportBatchItemFailures: boolean;
    readonly topic: string;
    readonly partition: number;
    readonly batchStart: number;
  },
  settledAt: number,
): InvokedBatch {
  const { batchStart } = input;
  const failed = (outcome: BatchOutcome, message: string, offset: number, delivered = 0): InvokedBatch => ({
    outcome,
    failure: deliveryFailure(message, offset, settledAt),
    delivered,
    counts: { invocations: 1, errors: 1, delivered },
  });
  switch (result.kind) {
    case 'returned': {
      const { deliverable } = batch;
      const answer = input.reportBatchItemFailures
        ? readBatchAnswer(
            result.answer,
            input.topic,
            input.partition,
            deliverable.map((record) => record.offset),
          )
        : ({ kind: 'success' } as const);
      if (answer.kind === 'success') {
        const delivered = deliverable.length;
        return {
          outcome: { kind: 'success' },
          failure: undefined,
          delivered,
          counts: { invocations: 1, delivered },
        };
      }
      if (answer.kind === 'partial') {
        return failed(
          { kind: 'failure', progressTo: answer.failedOffset },
          `The function reported offset ${answer.failedOffset} as failed`,
          answer.failedOffset,
          deliverable.filter((record) => record.offset < answer.failedOffset).length,
        );
      }
      return failed(
        { kind: 'failure', progressTo: batchStart },
        `Invalid batchItemFailures: ${answer.reason}`,
        batchStart,
      );
    }
    case 'function-error':
      return failed(
        { kind: 'failure', progressTo: batchStart },
        `${result.errorType}: ${result.errorMessage}`,
        batchStart,
      );
    case 'unavailable':
      return failed({ kind: 'throttled' }, `The function could not be invoked: ${result.reason}`, batchStart);
  }
}
