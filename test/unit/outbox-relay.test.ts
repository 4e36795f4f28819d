/**
 * The outbox relay's domain (`shared/domain/outbox-relay.ts`) over the in-memory log: what an outbox
 * item becomes, which stream records are not relayed, the order per entity, where a retry starts,
 * and the settings `ShoalOutbox` and `SHOAL_OUTBOX_RELAYS` give it.
 */
import { describe, expect, it } from 'vitest';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import { readLocalStackConfig, readOutboxConfig } from '../../shared/config.js';
import { LogService } from '../../shared/domain/log-service.js';
import {
  jsonTextOf,
  OutboxItemError,
  type OutboxMapping,
  type OutboxStreamRecord,
  outboxEventOf,
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

let sequence = 100;
/** An INSERT of an outbox item, as Lambda hands it over. */
function inserted(
  orderId: string | undefined,
  event: Record<string, unknown>,
  eventID = `e-${sequence}`,
): OutboxStreamRecord {
  sequence++;
  return {
    eventID,
    eventName: 'INSERT',
    dynamodb: {
      ApproximateCreationDateTime: 1_700_000_000,
      SequenceNumber: String(sequence).padStart(21, '0'),
      NewImage: {
        pk: { S: `ORDER#${orderId}` },
        ...(orderId === undefined ? {} : { orderId: { S: orderId } }),
        event: event as never,
      },
    },
  };
}

async function logWithTopic(partitionCount = 4) {
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
  const read = async () => {
    const all = [];
    for (let partition = 0; partition < partitionCount; partition++) {
      const page = await log.fetch('order-events', partition, 0, {
        recordsMax: 1000,
        bytesMax: 1_000_000,
        waitMs: 0,
      });
      all.push(...page.records);
    }
    return all.map((record) => ({
      key: Buffer.from(record.key?.bytes ?? []).toString(),
      value: JSON.parse(Buffer.from(record.value?.bytes ?? []).toString()),
    }));
  };
  return { log, read };
}

describe('outboxEventOf', () => {
  it('keys the record by the entity and keeps the numbers DynamoDB stored', () => {
    const event = outboxEventOf(
      MAPPING,
      inserted('o-1', { M: { total: { N: '12345678901234567890.10' }, paid: { BOOL: true } } }, 'abc'),
    );

    expect(event?.idempotencyKey).toBe('outbox:abc');
    expect(Buffer.from(event?.record.key?.bytes ?? []).toString()).toBe('o-1');
    expect(event?.record.value?.type).toBe('JSON');
    expect(Buffer.from(event?.record.value?.bytes ?? []).toString()).toBe(
      '{"total":12345678901234567890.10,"paid":true}',
    );
    expect(event?.record.timestamp).toBe(1_700_000_000_000);
    expect(event?.record.headers).toEqual([{ name: 'shoal.outbox.event-id', value: Buffer.from('abc') }]);
  });

  it('passes over items without the value attribute, updates and removals', () => {
    const state: OutboxStreamRecord = {
      eventID: 's',
      eventName: 'INSERT',
      dynamodb: { NewImage: { pk: { S: 'ORDER#1' } } },
    };
    const update = { ...inserted('o-1', { S: '{}' }), eventName: 'MODIFY' };

    expect(outboxEventOf(MAPPING, state)).toBeUndefined();
    expect(outboxEventOf(MAPPING, update)).toBeUndefined();
  });

  it('fails when an outbox item has no key, or a JSON string value that is not JSON', () => {
    expect(() => outboxEventOf(MAPPING, inserted(undefined, { S: '{}' }))).toThrow(OutboxItemError);
    expect(() => outboxEventOf(MAPPING, inserted('o-1', { S: 'not json' }))).toThrow(/not JSON text/);
  });

  it('writes JSON numbers in a form JSON accepts', () => {
    expect(jsonTextOf({ L: [{ N: '.5' }, { N: '-007' }, { N: '5.' }, { N: '1E+3' }] })).toBe(
      '[0.5,-7,5,1e+3]',
    );
  });
});

describe('relayOutbox', () => {
  it('appends each entity in stream order, and a repeat of the batch appends nothing', async () => {
    const { log, read } = await logWithTopic();
    const records = [1, 2, 3].flatMap((version) =>
      ['o-1', 'o-2'].map((orderId) =>
        inserted(orderId, { M: { orderId: { S: orderId }, version: { N: String(version) } } }),
      ),
    );

    const first = await relayOutbox(log, MAPPING, records);
    const again = await relayOutbox(log, MAPPING, records.slice(2));

    expect(first).toMatchObject({ appended: 6, duplicates: 0, retryFrom: undefined });
    expect(again).toMatchObject({ appended: 0, duplicates: 4, retryFrom: undefined });
    const events = await read();
    expect(events).toHaveLength(6);
    for (const orderId of ['o-1', 'o-2']) {
      expect(events.filter((event) => event.key === orderId).map((event) => event.value.version)).toEqual([
        1, 2, 3,
      ]);
    }
  });

  it('stops an entity at its malformed record and names the first record to retry from', async () => {
    const { log, read } = await logWithTopic();
    const records = [
      inserted('o-1', { S: '{"v":1}' }),
      inserted('o-2', { S: 'broken' }),
      inserted('o-1', { S: '{"v":2}' }),
    ];

    const report = await relayOutbox(log, MAPPING, records);

    expect(report.retryFrom).toBe(records[1]?.dynamodb?.SequenceNumber);
    // Records after the first failure are retried by Lambda anyway: not relayed now.
    expect(report.appended).toBe(1);
    expect(await read()).toEqual([{ key: 'o-1', value: { v: 1 } }]);
  });

  it('fails every record when the topic does not exist, from the first', async () => {
    const { log } = await logWithTopic();
    const records = [inserted('o-1', { S: '{}' })];

    const report = await relayOutbox(log, { ...MAPPING, topic: 'nowhere' }, records);

    expect(report.retryFrom).toBe(records[0]?.dynamodb?.SequenceNumber);
    expect(report.errors[0]?.error).toMatchObject({ name: 'TopicNotFoundError' });
  });
});

describe('relay settings', () => {
  const env = {
    SHOAL_OUTBOX_TOPIC: 'order-events',
    SHOAL_OUTBOX_KEY_ATTRIBUTE: 'orderId',
    SHOAL_OUTBOX_VALUE_ATTRIBUTE: 'event',
  };

  it('reads the mapping ShoalOutbox sets, JSON strings by default', () => {
    expect(readOutboxConfig(env)).toEqual(MAPPING);
  });

  it('fails naming the variable that is missing or malformed', () => {
    expect(() => readOutboxConfig({ ...env, SHOAL_OUTBOX_TOPIC: '' })).toThrow(
      'Missing environment variable SHOAL_OUTBOX_TOPIC',
    );
    expect(() => readOutboxConfig({ ...env, SHOAL_OUTBOX_STRING_VALUE_TYPE: 'XML' })).toThrow(
      'SHOAL_OUTBOX_STRING_VALUE_TYPE must be JSON or STRING, got "XML"',
    );
  });

  it('reads the local stack relays, and fails naming the bad entry', () => {
    const relay = {
      tableName: 'orders',
      topic: 'order-events',
      keyAttribute: 'orderId',
      valueAttribute: 'event',
    };

    expect(readLocalStackConfig({ SHOAL_OUTBOX_RELAYS: JSON.stringify([relay]) }).outboxRelays).toEqual([
      { ...relay, stringValueType: 'JSON' },
    ]);
    expect(readLocalStackConfig({}).outboxRelays).toEqual([]);
    expect(() =>
      readLocalStackConfig({ SHOAL_OUTBOX_RELAYS: JSON.stringify([{ ...relay, topic: 'a b' }]) }),
    ).toThrow('SHOAL_OUTBOX_RELAYS[0].topic must be a topic name');
    expect(() => readLocalStackConfig({ SHOAL_OUTBOX_RELAYS: '{' })).toThrow(
      'SHOAL_OUTBOX_RELAYS must be a JSON list',
    );
  });
});
