/**
 * relayOutbox (outbox-relay.ts) over the in-memory log, with a wrapper that refuses the produce of
 * chosen entities: a failing entity stops at its record while the others go on, the report names
 * the first record not relayed (whatever order failures happen in), and a retry from there, as
 * Lambda sends it, appends exactly the records that are missing, each once and in stream order.
 */
import { describe, expect, it } from 'vitest';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import { RetryableError } from '../../shared/domain/errors.js';
import { LogService } from '../../shared/domain/log-service.js';
import {
  OUTBOX_CONCURRENCY_MAX,
  OutboxItemError,
  type OutboxMapping,
  type OutboxStreamRecord,
  relayOutbox,
} from '../../shared/domain/outbox-relay.js';
import { withConfigDefaults } from '../../shared/domain/topic.js';
import { manualClock } from '../support/manual-clock.js';

const T0 = 1_700_000_000_000;
const MAPPING: OutboxMapping = {
  topic: 'order-events',
  keyAttribute: 'orderId',
  valueAttribute: 'event',
  stringValueType: 'JSON',
};

/** Stream records in order, sequence numbers 1, 2, 3...; `value` is the event's JSON text. */
function stream(items: readonly { orderId: string; value: string; id?: string }[]): OutboxStreamRecord[] {
  return items.map(({ orderId, value, id }, index) => ({
    eventID: id ?? `ev-${index + 1}`,
    eventName: 'INSERT',
    dynamodb: {
      ApproximateCreationDateTime: T0 / 1000,
      SequenceNumber: String(index + 1),
      NewImage: { orderId: { S: orderId }, event: { S: value } },
    },
  }));
}

async function world(partitionCount = 2) {
  const clock = manualClock(T0);
  const topics = new MemoryTopicStore();
  await topics.create({
    name: 'order-events',
    topicId: 'topic-1',
    partitionCount,
    config: withConfigDefaults({ retentionMs: 7 * 86_400_000 }),
    createdAt: T0,
  });
  const log = new LogService(topics, new MemoryPartitionLog({ now: clock.now }), clock);
  /** Order ids whose produce fails (as a throttled write would), until taken out of the set. */
  const failing = new Set<string>();
  /** Keys of the produce requests made, in the order they were made. */
  const produced: string[] = [];
  const relayLog: Pick<LogService, 'produce'> = {
    produce: async (topic, inputs, idempotencyKey) => {
      const orderId = Buffer.from(inputs[0]?.key?.bytes ?? []).toString();
      produced.push(orderId);
      if (failing.has(orderId)) throw new RetryableError(`write of ${orderId} throttled`, 'throttled', 1);
      return log.produce(topic, inputs, idempotencyKey);
    },
  };
  /** Every record of the topic as `orderId=value`, per key in log order. */
  const read = async () => {
    const all: { key: string; value: string; offset: number; partition: number }[] = [];
    for (let partition = 0; partition < partitionCount; partition++) {
      const page = await log.fetch('order-events', partition, 0, {
        recordsMax: 1000,
        bytesMax: 1_000_000,
        waitMs: 0,
      });
      for (const record of page.records) {
        all.push({
          key: Buffer.from(record.key?.bytes ?? []).toString(),
          value: Buffer.from(record.value?.bytes ?? []).toString(),
          offset: record.offset,
          partition,
        });
      }
    }
    return all;
  };
  const valuesOf = async (orderId: string) =>
    (await read()).filter((record) => record.key === orderId).map((record) => record.value);
  return { log, relayLog, failing, produced, read, valuesOf };
}

describe('relayOutbox: a failing entity', () => {
  it('stops at its failed record while the other entities go on, and names it to retry from', async () => {
    const w = await world();
    // r1(A) r2(B) r3(A) r4(B): B's write fails.
    const records = stream([
      { orderId: 'A', value: '1' },
      { orderId: 'B', value: '1' },
      { orderId: 'A', value: '2' },
      { orderId: 'B', value: '2' },
    ]);
    w.failing.add('B');

    const report = await relayOutbox(w.relayLog, MAPPING, records);

    expect(report).toMatchObject({ appended: 2, duplicates: 0, skipped: 0, retryFrom: '2' });
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]?.sequenceNumber).toBe('2');
    expect(report.errors[0]?.error).toBeInstanceOf(RetryableError);
    // r4 is not tried: it would overtake r2.
    expect(w.produced.filter((orderId) => orderId === 'B')).toEqual(['B']);
    expect(await w.valuesOf('A')).toEqual(['1', '2']);
    expect(await w.valuesOf('B')).toEqual([]);
  });

  it('appends exactly the missing records when Lambda retries from the record named', async () => {
    const w = await world();
    const records = stream([
      { orderId: 'A', value: '1' },
      { orderId: 'B', value: '1' },
      { orderId: 'A', value: '2' },
      { orderId: 'B', value: '2' },
    ]);
    w.failing.add('B');
    const first = await relayOutbox(w.relayLog, MAPPING, records);
    w.failing.clear();

    const from = records.findIndex((record) => record.dynamodb?.SequenceNumber === first.retryFrom);
    const retry = await relayOutbox(w.relayLog, MAPPING, records.slice(from));

    expect(retry).toEqual({ appended: 2, duplicates: 1, skipped: 0, retryFrom: undefined, errors: [] });
    expect(await w.valuesOf('A')).toEqual(['1', '2']);
    expect(await w.valuesOf('B')).toEqual(['1', '2']);
    expect(await w.read()).toHaveLength(4);
  });

  it('names the earliest record not relayed, though a later malformed record failed first', async () => {
    const w = await world();
    const records = stream([
      { orderId: 'A', value: '1' },
      { orderId: 'B', value: '1' },
      { orderId: 'C', value: 'not json' },
      { orderId: 'B', value: '2' },
    ]);
    w.failing.add('A');

    const report = await relayOutbox(w.relayLog, MAPPING, records);

    expect(report.retryFrom).toBe('1');
    expect(report.errors.map((error) => error.sequenceNumber)).toEqual(['1', '3']);
    expect(report.errors[1]?.error).toBeInstanceOf(OutboxItemError);
    // Before the malformed record: B's first is appended; from it on, nothing (Lambda resends it all).
    expect(report.appended).toBe(1);
    expect(await w.valuesOf('B')).toEqual(['1']);
  });

  it('reports a failed record without a sequence number as a retry from the empty string', async () => {
    const w = await world();
    const [record] = stream([{ orderId: 'A', value: '1' }]);
    const withoutSequence: OutboxStreamRecord = {
      ...record,
      dynamodb: { NewImage: record?.dynamodb?.NewImage },
    };
    w.failing.add('A');

    const report = await relayOutbox(w.relayLog, MAPPING, [withoutSequence]);

    expect(report.retryFrom).toBe('');
    expect(report.errors).toEqual([{ sequenceNumber: undefined, error: expect.any(RetryableError) }]);
  });
});

describe('relayOutbox: what it counts', () => {
  it('counts stream records that are no outbox items as skipped, and relays the others', async () => {
    const w = await world();
    const [item] = stream([{ orderId: 'A', value: '{"v":1}' }]);
    const state: OutboxStreamRecord = {
      eventID: 'state',
      eventName: 'INSERT',
      dynamodb: { SequenceNumber: '9', NewImage: { orderId: { S: 'A' } } },
    };
    const removal: OutboxStreamRecord = { ...state, eventID: 'gone', eventName: 'REMOVE' };

    const report = await relayOutbox(w.relayLog, MAPPING, [state, item as OutboxStreamRecord, removal]);

    expect(report).toEqual({ appended: 1, duplicates: 0, skipped: 2, retryFrom: undefined, errors: [] });
  });

  it('takes an eventID relayed before with another body as a duplicate, and goes on with the entity', async () => {
    const w = await world();
    await relayOutbox(w.relayLog, MAPPING, stream([{ orderId: 'A', value: '1', id: 'same' }]));

    const report = await relayOutbox(
      w.relayLog,
      MAPPING,
      stream([
        { orderId: 'A', value: '2', id: 'same' },
        { orderId: 'A', value: '3', id: 'next' },
      ]),
    );

    expect(report).toMatchObject({ appended: 1, duplicates: 1, retryFrom: undefined, errors: [] });
    expect(await w.valuesOf('A')).toEqual(['1', '3']);
  });

  it('relays more entities than it keeps in flight, each in stream order', async () => {
    const w = await world(3);
    const entities = Array.from({ length: OUTBOX_CONCURRENCY_MAX * 2 + 1 }, (_, index) => `o-${index}`);
    const records = stream(
      [1, 2, 3].flatMap((version) => entities.map((orderId) => ({ orderId, value: String(version) }))),
    );

    const report = await relayOutbox(w.relayLog, MAPPING, records);

    expect(report).toMatchObject({ appended: records.length, retryFrom: undefined });
    for (const orderId of entities) expect(await w.valuesOf(orderId)).toEqual(['1', '2', '3']);
  });

  it('relays an empty batch as nothing to do', async () => {
    const w = await world();

    const report = await relayOutbox(w.relayLog, MAPPING, []);

    expect(report).toEqual({ appended: 0, duplicates: 0, skipped: 0, retryFrom: undefined, errors: [] });
    expect(w.produced).toEqual([]);
  });
});
