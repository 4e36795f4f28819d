/**
 * The transactional outbox, relayed: a service writes its state and an outbox item in one
 * DynamoDB transaction of its own table; the table's stream brings each new outbox item here, and
 * the relay appends it to a Shoal topic exactly once.
 *
 * Exactly once, whatever the retries: each stream record is appended by its own produce request
 * under the Idempotency-Key `outbox:<eventID>` (a stream record's eventID is unique and the same in
 * every delivery of it). Lambda retries a failed batch whole, from a reported record on, or bisected
 * into halves, so the records of a retry are grouped differently than the first time: a key per
 * batch would miss the records a retry groups anew, a key per record never does. The key is
 * remembered for 24 hours (`LIMITS.idempotencyWindowMs`), as long as a DynamoDB stream keeps its
 * records, so no retry of a stream record can outlive its key.
 *
 * ```
 * stream:  r1(A) r2(B) r3(A) r4(B)         one shard, in order
 * relay:   A: r1 → r3    B: r2 ✗ (r4 not tried: it would overtake r2)
 * answer:  batchItemFailures [r2]          Lambda retries from r2: r2 r3 r4
 * retry:   r3 replays its first answer (appended nothing), r2 and r4 are appended
 * ```
 *
 * Order: records with the same key are appended one after the other, in stream order, so they land
 * in one partition in the order their items were written; records of different keys go in
 * parallel. A DynamoDB stream keeps order per item key within a shard, and a shard holds one table
 * partition's items: the outbox items of one entity share the table's partition key.
 */
import assert from 'node:assert/strict';
import { IdempotencyKeyReusedError } from './errors.js';
import type { LogService } from './log-service.js';
import type { DataType, ProduceRecord, RecordHeader, TypedBytes } from './record.js';

/** A stream attribute value as Lambda's event carries it (binaries base64). */
export interface StreamAttribute {
  readonly S?: string;
  readonly N?: string;
  readonly B?: string;
  readonly BOOL?: boolean;
  readonly NULL?: boolean;
  readonly M?: { readonly [name: string]: StreamAttribute };
  readonly L?: readonly StreamAttribute[];
  readonly SS?: readonly string[];
  readonly NS?: readonly string[];
  readonly BS?: readonly string[];
}

/** The part of a DynamoDB stream record the relay reads. */
export interface OutboxStreamRecord {
  readonly eventID?: string;
  readonly eventName?: string;
  readonly dynamodb?: {
    readonly ApproximateCreationDateTime?: number;
    readonly NewImage?: { readonly [name: string]: StreamAttribute };
    readonly SequenceNumber?: string;
  };
}

/** Where an outbox item goes and what of it becomes the record. */
export interface OutboxMapping {
  /** The Shoal topic the events are appended to. */
  readonly topic: string;
  /**
   * The attribute holding the record key (S, N or B): the entity the event is about, so that its
   * events share a partition and keep their order.
   */
  readonly keyAttribute: string;
  /**
   * The attribute holding the record value: a map or list becomes JSON, a binary BINARY, a number
   * JSON, a string {@link stringValueType}. Items without it are not outbox items: the relay
   * passes over them (the service's own state, in a single-table design).
   */
  readonly valueAttribute: string;
  /** How a string value is typed in the topic: JSON text, or plain text. */
  readonly stringValueType: 'JSON' | 'STRING';
}

/** Record headers the relay adds: where the record came from. */
export const OUTBOX_HEADERS = {
  /** The stream record's eventID: unique per outbox item, for consumers that keep their own inbox. */
  eventId: 'shoal.outbox.event-id',
} as const;

/** How many produce requests a relay keeps in flight (entities relayed at once). */
export const OUTBOX_CONCURRENCY_MAX = 8;
/** The longest stream record eventID the relay accepts (DynamoDB's are 32 characters). */
const EVENT_ID_LENGTH_MAX = 128;

/** What one relay of a batch did. */
export interface OutboxRelayReport {
  /** Records appended now. */
  readonly appended: number;
  /** Records appended by an earlier attempt: their Idempotency-Key replayed the first answer. */
  readonly duplicates: number;
  /** Stream records that are not new outbox items (other items, updates, removals). */
  readonly skipped: number;
  /**
   * The sequence number of the first record not relayed, for Lambda to retry from (with every later
   * record); undefined when every record was relayed.
   */
  readonly retryFrom: string | undefined;
  /** Why records were not relayed, first failure first. */
  readonly errors: readonly OutboxRelayError[];
}

export interface OutboxRelayError {
  readonly sequenceNumber: string | undefined;
  readonly error: unknown;
}

/** Raised for a stream record that is an outbox item but cannot become a record. */
export class OutboxItemError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutboxItemError';
  }
}

/** One stream record as the relay appends it. */
export interface OutboxEvent {
  readonly idempotencyKey: string;
  /** Records of one entity are appended in stream order. */
  readonly entity: string;
  readonly record: ProduceRecord;
}

/**
 * The record an outbox item becomes; undefined for a stream record that is no new outbox item.
 * Deterministic: every delivery of the stream record gives the same request, so a retry matches the
 * first attempt's Idempotency-Key.
 *
 * @throws OutboxItemError for an outbox item without a usable key, or a stream record without id
 */
export function outboxEventOf(
  mapping: OutboxMapping,
  streamRecord: OutboxStreamRecord,
): OutboxEvent | undefined {
  const image = streamRecord.dynamodb?.NewImage;
  if (streamRecord.eventName !== 'INSERT' || !image) return undefined;
  const valueAttribute = image[mapping.valueAttribute];
  if (valueAttribute === undefined) return undefined;
  const eventId = streamRecord.eventID;
  if (!eventId || eventId.length > EVENT_ID_LENGTH_MAX) {
    throw new OutboxItemError(`A stream record without a usable eventID: ${JSON.stringify(eventId)}`);
  }
  const keyAttribute = image[mapping.keyAttribute];
  const key = keyAttribute === undefined ? undefined : keyOf(keyAttribute);
  if (!key) {
    throw new OutboxItemError(
      `Outbox item ${eventId} has no string, number or binary attribute ${mapping.keyAttribute} to key its event by`,
    );
  }
  const createdAtS = streamRecord.dynamodb?.ApproximateCreationDateTime;
  const headers: RecordHeader[] = [{ name: OUTBOX_HEADERS.eventId, value: Buffer.from(eventId, 'utf8') }];
  return {
    idempotencyKey: `outbox:${eventId}`,
    entity: `${key.type}:${Buffer.from(key.bytes).toString('base64')}`,
    record: {
      key,
      value: recordValueOf(valueAttribute, mapping.stringValueType),
      headers,
      // When the item was written (second precision): the same in every delivery.
      ...(typeof createdAtS === 'number' && createdAtS > 0
        ? { timestamp: Math.round(createdAtS * 1000) }
        : {}),
    },
  };
}

function keyOf(attribute: StreamAttribute): TypedBytes | undefined {
  if (typeof attribute.S === 'string') return typed('STRING', Buffer.from(attribute.S, 'utf8'));
  if (typeof attribute.N === 'string') return typed('STRING', Buffer.from(attribute.N, 'utf8'));
  if (typeof attribute.B === 'string') return typed('BINARY', Buffer.from(attribute.B, 'base64'));
  return undefined;
}

function recordValueOf(
  attribute: StreamAttribute,
  stringValueType: OutboxMapping['stringValueType'],
): TypedBytes | null {
  if (attribute.NULL === true) return null;
  if (typeof attribute.B === 'string') return typed('BINARY', Buffer.from(attribute.B, 'base64'));
  if (typeof attribute.S === 'string') {
    if (stringValueType === 'JSON' && !isJsonText(attribute.S)) {
      throw new OutboxItemError(
        'The outbox value is a string that is not JSON text (set the string value type to STRING)',
      );
    }
    return typed(stringValueType, Buffer.from(attribute.S, 'utf8'));
  }
  return typed('JSON', Buffer.from(jsonTextOf(attribute), 'utf8'));
}

function typed(type: DataType, bytes: Uint8Array): TypedBytes {
  return { type, bytes };
}

function isJsonText(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * An attribute as JSON text: numbers keep the digits DynamoDB stored (no rounding through a double),
 * binaries become base64 strings, sets arrays.
 */
export function jsonTextOf(attribute: StreamAttribute): string {
  if (typeof attribute.S === 'string') return JSON.stringify(attribute.S);
  if (typeof attribute.N === 'string') return jsonNumber(attribute.N);
  if (typeof attribute.B === 'string') return JSON.stringify(attribute.B);
  if (typeof attribute.BOOL === 'boolean') return String(attribute.BOOL);
  if (attribute.NULL === true) return 'null';
  if (attribute.M) {
    const members = Object.entries(attribute.M).map(
      ([name, value]) => `${JSON.stringify(name)}:${jsonTextOf(value)}`,
    );
    return `{${members.join(',')}}`;
  }
  if (attribute.L) return `[${attribute.L.map(jsonTextOf).join(',')}]`;
  if (attribute.SS) return JSON.stringify(attribute.SS);
  if (attribute.NS) return `[${attribute.NS.map(jsonNumber).join(',')}]`;
  if (attribute.BS) return JSON.stringify(attribute.BS);
  throw new OutboxItemError(`An attribute of a type the relay does not know: ${JSON.stringify(attribute)}`);
}

/** DynamoDB's number text as JSON's: the same digits, in a form JSON accepts (`.5` is `0.5`, `5.` is `5`). */
function jsonNumber(text: string): string {
  const match = /^(-?)0*(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!match) throw new OutboxItemError(`Not a number: ${text}`);
  const [, sign = '', whole = '', fraction = '', exponent] = match;
  const integer = whole === '' ? '0' : whole;
  return `${sign}${integer}${fraction === '' ? '' : `.${fraction}`}${exponent === undefined ? '' : `e${exponent}`}`;
}

/**
 * Relays a batch of stream records (one shard, in order) to the topic: one idempotent produce per
 * outbox item, the records of one entity one after the other, at most {@link OUTBOX_CONCURRENCY_MAX}
 * at once. An entity whose record fails stops there (a later one would overtake it); the others go
 * on, and the report names the first record that was not relayed.
 */
export async function relayOutbox(
  log: Pick<LogService, 'produce'>,
  mapping: OutboxMapping,
  records: readonly OutboxStreamRecord[],
): Promise<OutboxRelayReport> {
  const queues = new Map<string, { index: number; event: OutboxEvent }[]>();
  const failedAt: { index: number; error: unknown }[] = [];
  let skipped = 0;
  records.forEach((streamRecord, index) => {
    let event: OutboxEvent | undefined;
    try {
      event = outboxEventOf(mapping, streamRecord);
    } catch (error) {
      failedAt.push({ index, error });
      return;
    }
    if (!event) {
      skipped++;
      return;
    }
    const queue = queues.get(event.entity) ?? [];
    queue.push({ index, event });
    queues.set(event.entity, queue);
  });
  // Nothing at or after the first malformed record is needed: Lambda sends all of them again.
  const stopAt = Math.min(records.length, ...failedAt.map((failure) => failure.index));
  let appended = 0;
  let duplicates = 0;
  const entities = [...queues.values()];
  const relayEntity = async (queue: readonly { index: number; event: OutboxEvent }[]) => {
    for (const { index, event } of queue) {
      if (index >= stopAt) return;
      try {
        const result = await log.produce(mapping.topic, [event.record], event.idempotencyKey);
        if (result.duplicate) duplicates++;
        else appended++;
      } catch (error) {
        // The same eventID with another body: relayed before, under other settings. Once is enough.
        if (error instanceof IdempotencyKeyReusedError) {
          duplicates++;
          continue;
        }
        failedAt.push({ index, error });
        return;
      }
    }
  };
  let next = 0;
  const workers = Array.from({ length: Math.min(OUTBOX_CONCURRENCY_MAX, entities.length) }, async () => {
    while (next < entities.length) {
      const queue = entities[next++];
      assert.ok(queue);
      await relayEntity(queue);
    }
  });
  await Promise.all(workers);
  failedAt.sort((a, b) => a.index - b.index);
  const first = failedAt[0];
  return {
    appended,
    duplicates,
    skipped,
    retryFrom: first === undefined ? undefined : (records[first.index]?.dynamodb?.SequenceNumber ?? ''),
    errors: failedAt.map(({ index, error }) => ({
      sequenceNumber: records[index]?.dynamodb?.SequenceNumber,
      error,
    })),
  };
}
