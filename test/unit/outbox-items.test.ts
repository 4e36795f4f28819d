/**
 * What a DynamoDB stream record becomes in the outbox relay (outbox-relay.ts, `outboxEventOf` and
 * `jsonTextOf`): which records are not outbox items, the eventID and key an item must have, each
 * attribute type as a key and as a value, the numbers DynamoDB stored written as JSON accepts them,
 * and the item's write time as the record timestamp. Pure code: no log needed.
 */
import { describe, expect, it } from 'vitest';
import {
  jsonTextOf,
  OutboxItemError,
  type OutboxMapping,
  type OutboxStreamRecord,
  outboxEventOf,
  type StreamAttribute,
} from '../../shared/domain/outbox-relay.js';

const MAPPING: OutboxMapping = {
  topic: 'order-events',
  keyAttribute: 'orderId',
  valueAttribute: 'event',
  stringValueType: 'JSON',
};

function item(
  image: Record<string, StreamAttribute>,
  extra: { eventID?: string; createdAtS?: number } = {},
): OutboxStreamRecord {
  return {
    eventID: 'eventID' in extra ? extra.eventID : 'ev-1',
    eventName: 'INSERT',
    dynamodb: {
      ...(extra.createdAtS === undefined ? {} : { ApproximateCreationDateTime: extra.createdAtS }),
      SequenceNumber: '000000000000000000101',
      NewImage: image,
    },
  };
}

const text = (bytes: Uint8Array | undefined) => Buffer.from(bytes ?? []).toString('utf8');

describe('outboxEventOf: which stream records are outbox items', () => {
  it('passes over a record without a new image, and a removal', () => {
    expect(outboxEventOf(MAPPING, { eventID: 'a', eventName: 'INSERT' })).toBeUndefined();
    expect(outboxEventOf(MAPPING, { eventID: 'a', eventName: 'INSERT', dynamodb: {} })).toBeUndefined();
    expect(
      outboxEventOf(MAPPING, { ...item({ orderId: { S: 'o' }, event: { S: '{}' } }), eventName: 'REMOVE' }),
    ).toBeUndefined();
  });

  it('fails when an outbox item has no eventID, an empty one or one over 128 characters', () => {
    const image = { orderId: { S: 'o' }, event: { S: '{}' } };

    expect(() => outboxEventOf(MAPPING, item(image, { eventID: undefined }))).toThrow(OutboxItemError);
    expect(() => outboxEventOf(MAPPING, item(image, { eventID: '' }))).toThrow(/usable eventID: ""/);
    expect(() => outboxEventOf(MAPPING, item(image, { eventID: 'e'.repeat(129) }))).toThrow(OutboxItemError);
    expect(outboxEventOf(MAPPING, item(image, { eventID: 'e'.repeat(128) }))?.idempotencyKey).toBe(
      `outbox:${'e'.repeat(128)}`,
    );
  });

  it('fails when the key attribute is a type that cannot key a record, naming it', () => {
    const fail = () => outboxEventOf(MAPPING, item({ orderId: { BOOL: true }, event: { S: '{}' } }));

    expect(fail).toThrow(OutboxItemError);
    expect(fail).toThrow(/attribute orderId/);
    expect(new OutboxItemError('x').name).toBe('OutboxItemError');
  });
});

describe('outboxEventOf: the record', () => {
  it('keys by a string, a number (its digits) or a binary (its bytes)', () => {
    const byString = outboxEventOf(MAPPING, item({ orderId: { S: 'o-1' }, event: { S: '{}' } }));
    const byNumber = outboxEventOf(MAPPING, item({ orderId: { N: '42' }, event: { S: '{}' } }));
    const byBinary = outboxEventOf(
      MAPPING,
      item({ orderId: { B: Buffer.from([1, 2, 255]).toString('base64') }, event: { S: '{}' } }),
    );

    expect(byString?.record.key).toEqual({ type: 'STRING', bytes: Buffer.from('o-1') });
    expect(byNumber?.record.key).toEqual({ type: 'STRING', bytes: Buffer.from('42') });
    expect(byBinary?.record.key).toEqual({ type: 'BINARY', bytes: Buffer.from([1, 2, 255]) });
  });

  it('names the entity by the key type and bytes, so a string and a binary of the same bytes differ', () => {
    const asString = outboxEventOf(MAPPING, item({ orderId: { S: 'ab' }, event: { S: '{}' } }));
    const asBinary = outboxEventOf(
      MAPPING,
      item({ orderId: { B: Buffer.from('ab').toString('base64') }, event: { S: '{}' } }),
    );
    const again = outboxEventOf(
      MAPPING,
      item({ orderId: { S: 'ab' }, event: { S: '[1]' } }, { eventID: 'ev-2' }),
    );

    expect(asString?.entity).not.toBe(asBinary?.entity);
    expect(asString?.entity).toBe(again?.entity);
    expect(asString?.entity).not.toBe(
      outboxEventOf(MAPPING, item({ orderId: { S: 'ac' }, event: { S: '{}' } }))?.entity,
    );
  });

  it('types a string value as the mapping says: JSON text, or any text as STRING', () => {
    const json = outboxEventOf(MAPPING, item({ orderId: { S: 'o' }, event: { S: '{"a":1}' } }));
    const plain = outboxEventOf(
      { ...MAPPING, stringValueType: 'STRING' },
      item({ orderId: { S: 'o' }, event: { S: 'not json' } }),
    );

    expect(json?.record.value).toEqual({ type: 'JSON', bytes: Buffer.from('{"a":1}') });
    expect(plain?.record.value).toEqual({ type: 'STRING', bytes: Buffer.from('not json') });
  });

  it('takes a binary value as its bytes, a NULL value as a null record value, a number as JSON', () => {
    const value = (event: StreamAttribute) =>
      outboxEventOf(MAPPING, item({ orderId: { S: 'o' }, event }))?.record.value;

    expect(value({ B: Buffer.from([0, 9]).toString('base64') })).toEqual({
      type: 'BINARY',
      bytes: Buffer.from([0, 9]),
    });
    expect(value({ NULL: true })).toBeNull();
    expect(value({ N: '7.50' })).toEqual({ type: 'JSON', bytes: Buffer.from('7.50') });
  });

  it('stamps the record with the item’s write time in ms, and with nothing when the stream gives none', () => {
    const image = { orderId: { S: 'o' }, event: { S: '{}' } };

    expect(outboxEventOf(MAPPING, item(image, { createdAtS: 1_700_000_000.1234 }))?.record.timestamp).toBe(
      1_700_000_000_123,
    );
    expect(outboxEventOf(MAPPING, item(image))?.record).not.toHaveProperty('timestamp');
    expect(outboxEventOf(MAPPING, item(image, { createdAtS: 0 }))?.record).not.toHaveProperty('timestamp');
  });

  it('carries the eventID in a header, and gives the same request at every delivery', () => {
    const record = item(
      { orderId: { S: 'o' }, event: { M: { n: { N: '1' } } } },
      { createdAtS: 1_700_000_000 },
    );

    const first = outboxEventOf(MAPPING, record);
    const again = outboxEventOf(MAPPING, structuredClone(record));

    expect(first?.record.headers).toEqual([{ name: 'shoal.outbox.event-id', value: Buffer.from('ev-1') }]);
    expect(again).toEqual(first);
    expect(text(first?.record.value?.bytes)).toBe('{"n":1}');
  });
});

describe('jsonTextOf', () => {
  it('writes each attribute type as JSON', () => {
    const attribute: StreamAttribute = {
      M: {
        s: { S: 'say "hi"' },
        n: { N: '-1.5e-3' },
        b: { B: 'AAk=' },
        t: { BOOL: true },
        f: { BOOL: false },
        z: { NULL: true },
        l: { L: [{ N: '1' }, { S: 'x' }, { L: [] }] },
        ss: { SS: ['a', 'b'] },
        ns: { NS: ['1', '.5', '10.'] },
        bs: { BS: ['AA=='] },
        m: { M: {} },
      },
    };

    const json = jsonTextOf(attribute);

    expect(json).toBe(
      '{"s":"say \\"hi\\"","n":-1.5e-3,"b":"AAk=","t":true,"f":false,"z":null,"l":[1,"x",[]],"ss":["a","b"],"ns":[1,0.5,10],"bs":["AA=="],"m":{}}',
    );
    expect(JSON.parse(json)).toMatchObject({ n: -0.0015, ns: [1, 0.5, 10], f: false });
  });

  it('keeps the digits DynamoDB stored, trailing zeros and all', () => {
    expect(jsonTextOf({ N: '1.50' })).toBe('1.50');
    expect(jsonTextOf({ N: '0' })).toBe('0');
    expect(jsonTextOf({ N: '-0.0' })).toBe('-0.0');
    expect(jsonTextOf({ N: '00.25' })).toBe('0.25');
    expect(jsonTextOf({ N: ' 12 ' })).toBe('12');
    expect(jsonTextOf({ N: '2e10' })).toBe('2e10');
    expect(jsonTextOf({ N: '-.5' })).toBe('-0.5');
  });

  it('fails for a number DynamoDB would not store, and for an attribute of no known type', () => {
    expect(() => jsonTextOf({ N: '12abc' })).toThrow(/Not a number: 12abc/);
    expect(() => jsonTextOf({ N: '1e' })).toThrow(OutboxItemError);
    expect(() => jsonTextOf({ NULL: false })).toThrow(/does not know/);
    expect(() => jsonTextOf({})).toThrow(OutboxItemError);
  });
});
