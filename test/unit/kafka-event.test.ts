import type { MSKRecord, SelfManagedKafkaEvent, SelfManagedKafkaRecord } from 'aws-lambda';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  buildKafkaEvent,
  type KafkaEvent,
  type KafkaEventRecord,
  readBatchAnswer,
  signedBytes,
} from '../../shared/domain/kafka-event.js';
import type { LogRecord } from '../../shared/domain/record.js';

const bytes = (text: string) => Buffer.from(text, 'utf8');

const records: LogRecord[] = [
  {
    offset: 15,
    timestamp: 1545084650987,
    key: { type: 'STRING', bytes: bytes('recordKey') },
    value: { type: 'JSON', bytes: bytes('{"key":"value"}') },
    headers: [{ name: 'headerKey', value: bytes('headerValue') }],
  },
  { offset: 16, timestamp: 1545084650988, key: null, value: null, headers: [] },
];

/** What the event looks like with key and value present, the case `@types/aws-lambda` models. */
type WithKeyAndValue<T> = Omit<T, 'key' | 'value'> & { key: string; value: string };

describe('buildKafkaEvent', () => {
  it("builds Lambda's self-managed Kafka event, keyed <topic>-<partition>", () => {
    const event = buildKafkaEvent('mytopic', 0, records, 'shoal://us-east-1/log');
    expect(event).toEqual({
      eventSource: 'SelfManagedKafka',
      bootstrapServers: 'shoal://us-east-1/log',
      records: {
        'mytopic-0': [
          {
            topic: 'mytopic',
            partition: 0,
            offset: 15,
            timestamp: 1545084650987,
            timestampType: 'CREATE_TIME',
            key: 'cmVjb3JkS2V5',
            value: 'eyJrZXkiOiJ2YWx1ZSJ9',
            headers: [{ headerKey: [104, 101, 97, 100, 101, 114, 86, 97, 108, 117, 101] }],
          },
          // Lambda leaves out a null key and a null value.
          {
            topic: 'mytopic',
            partition: 0,
            offset: 16,
            timestamp: 1545084650988,
            timestampType: 'CREATE_TIME',
            headers: [],
          },
        ],
      },
    });
  });

  it('is what @types/aws-lambda declares, at compile time', () => {
    expectTypeOf<KafkaEvent['eventSource']>().toEqualTypeOf<SelfManagedKafkaEvent['eventSource']>();
    expectTypeOf<KafkaEvent['bootstrapServers']>().toEqualTypeOf<SelfManagedKafkaEvent['bootstrapServers']>();
    expectTypeOf<WithKeyAndValue<KafkaEventRecord>>().toExtend<SelfManagedKafkaRecord>();
    expectTypeOf<WithKeyAndValue<KafkaEventRecord>>().toExtend<MSKRecord>();
    expectTypeOf<
      Omit<KafkaEvent, 'records'> & { records: Record<string, WithKeyAndValue<KafkaEventRecord>[]> }
    >().toExtend<SelfManagedKafkaEvent>();
  });

  it("writes header bytes as Java's signed bytes, as Lambda does", () => {
    expect(signedBytes(Uint8Array.from([0, 127, 128, 195, 255]))).toEqual([0, 127, -128, -61, -1]);
    expect(Buffer.from(signedBytes(bytes('zürich')))).toEqual(bytes('zürich'));
  });
});

describe('readBatchAnswer', () => {
  const offsets = [10, 11, 12, 13];
  const read = (answer: unknown) => readBatchAnswer(answer, 'orders-eu', 3, offsets);

  it.each([undefined, null, 'ok', 42, {}, { batchItemFailures: null }, { batchItemFailures: [] }])(
    'reads %j as a success',
    (answer) => {
      expect(read(answer)).toEqual({ kind: 'success' });
    },
  );

  it('commits up to the lowest failure, in the object form', () => {
    const answer = {
      batchItemFailures: [
        { itemIdentifier: { partition: 'orders-eu-3', offset: 12 } },
        { itemIdentifier: { partition: 'orders-eu-3', offset: 11 } },
      ],
    };
    expect(read(answer)).toEqual({ kind: 'partial', failedOffset: 11 });
  });

  it('commits up to the lowest failure, in the string form (topic names with dashes)', () => {
    expect(read({ batchItemFailures: [{ itemIdentifier: 'orders-eu-3-13' }] })).toEqual({
      kind: 'partial',
      failedOffset: 13,
    });
  });

  it('accepts an offset given as a string in the object form', () => {
    expect(
      read({ batchItemFailures: [{ itemIdentifier: { partition: 'orders-eu-3', offset: '10' } }] }),
    ).toEqual({
      kind: 'partial',
      failedOffset: 10,
    });
  });

  it.each([
    ['an empty identifier', { batchItemFailures: [{ itemIdentifier: '' }] }],
    ['a null identifier', { batchItemFailures: [{ itemIdentifier: null }] }],
    ['a wrong key name', { batchItemFailures: [{ itemId: 'orders-eu-3-10' }] }],
    ['another partition', { batchItemFailures: [{ itemIdentifier: 'orders-eu-2-10' }] }],
    [
      'an offset outside the batch',
      { batchItemFailures: [{ itemIdentifier: { partition: 'orders-eu-3', offset: 9 } }] },
    ],
    [
      'a negative offset',
      { batchItemFailures: [{ itemIdentifier: { partition: 'orders-eu-3', offset: -1 } }] },
    ],
    ['not an array', { batchItemFailures: 'orders-eu-3-10' }],
  ])('fails the whole batch for %s', (_name, answer) => {
    expect(read(answer).kind).toBe('invalid');
  });
});
