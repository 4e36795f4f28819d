/**
 * `outputRecordsOf` (delivery-output.ts): the records an exactly-once function returns, read as a
 * produce request's records (Kafka REST v3's typed data); anything else fails the batch with a
 * message naming the first bad field.
 */
import { describe, expect, it } from 'vitest';
import { OutputRecordsError, outputRecordsOf } from '../../shared/domain/delivery-output.js';
import { LIMITS } from '../../shared/domain/limits.js';

const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));

function failure(answer: unknown): string {
  try {
    outputRecordsOf(answer);
  } catch (error) {
    expect(error).toBeInstanceOf(OutputRecordsError);
    expect((error as Error).name).toBe('OutputRecordsError');
    return (error as Error).message;
  }
  throw new Error('expected an OutputRecordsError');
}

describe('outputRecordsOf', () => {
  it('reads typed keys, values, headers and partitions', () => {
    const records = outputRecordsOf({
      records: [
        {
          key: { type: 'STRING', data: 'o-1' },
          value: { type: 'JSON', data: { total: 42 } },
          headers: [{ name: 'trace', value: 'dGFn' }],
          partition: 0,
        },
        { value: { type: 'BINARY', data: 'AAEC' }, partition: 3 },
        { key: null, value: null, headers: null },
      ],
      batchItemFailures: [],
    });

    expect(records).toEqual([
      {
        key: { type: 'STRING', bytes: Buffer.from('o-1') },
        value: { type: 'JSON', bytes: Buffer.from('{"total":42}') },
        headers: [{ name: 'trace', value: Buffer.from('tag') }],
        partition: 0,
      },
      { key: null, value: { type: 'BINARY', bytes: Buffer.from([0, 1, 2]) }, headers: [], partition: 3 },
      { key: null, value: null, headers: [] },
    ]);
    expect(new Uint8Array(records[0]?.value?.bytes ?? [])).toEqual(bytes('{"total":42}'));
    expect('partition' in (records[2] ?? {})).toBe(false);
  });

  it('reads no records from an answer without them', () => {
    expect(outputRecordsOf(undefined)).toEqual([]);
    expect(outputRecordsOf(null)).toEqual([]);
    expect(outputRecordsOf('records')).toEqual([]);
    expect(outputRecordsOf({ batchItemFailures: [] })).toEqual([]);
    expect(outputRecordsOf({ records: [] })).toEqual([]);
  });

  it('keeps a JSON value as JSON text, falsy values too', () => {
    const [zero, no, text] = outputRecordsOf({
      records: [
        { value: { type: 'JSON', data: 0 } },
        { value: { type: 'JSON', data: false } },
        { value: { type: 'JSON', data: 'x' } },
      ],
    });
    expect(Buffer.from(zero?.value?.bytes ?? []).toString()).toBe('0');
    expect(Buffer.from(no?.value?.bytes ?? []).toString()).toBe('false');
    expect(Buffer.from(text?.value?.bytes ?? []).toString()).toBe('"x"');
  });

  it('takes as many records as one produce request, and fails when there are more', () => {
    const one = { value: { type: 'STRING', data: 'x' } };
    const most = Array.from({ length: LIMITS.recordsPerRequestMax }, () => one);

    expect(outputRecordsOf({ records: most })).toHaveLength(LIMITS.recordsPerRequestMax);
    expect(failure({ records: [...most, one] })).toBe(
      `records holds ${LIMITS.recordsPerRequestMax + 1} records; one batch outputs at most ${LIMITS.recordsPerRequestMax}`,
    );
  });

  it('fails when records is not an array', () => {
    expect(failure({ records: { value: 1 } })).toBe('records must be an array');
    expect(failure({ records: null })).toBe('records must be an array');
  });

  it('fails when a record is not an object', () => {
    const message = 'records[1] must be an object with value (and key, headers, partition)';
    expect(failure({ records: [{}, 'x'] })).toBe(message);
    expect(failure({ records: [{}, null] })).toBe(message);
    expect(failure({ records: [{}, [{ value: null }]] })).toBe(message);
  });

  it('fails when a record has a field records do not have', () => {
    expect(failure({ records: [{ value: null, timestamp: 1 }] })).toBe(
      'records[0].timestamp is not a field of a record',
    );
  });

  it('fails when the partition is not a partition number', () => {
    expect(failure({ records: [{ partition: -1 }] })).toBe(
      'records[0].partition must be a partition number, got -1',
    );
    expect(failure({ records: [{ partition: 1.5 }] })).toBe(
      'records[0].partition must be a partition number, got 1.5',
    );
    expect(failure({ records: [{ partition: '1' }] })).toBe(
      'records[0].partition must be a partition number, got "1"',
    );
    expect(outputRecordsOf({ records: [{ partition: 0 }] })[0]?.partition).toBe(0);
  });

  it('fails when a key or value is not typed data', () => {
    const message = (field: string) =>
      `records[0].${field} must be {"type": "JSON" | "STRING" | "BINARY", "data": ...}`;
    expect(failure({ records: [{ value: 'plain' }] })).toBe(message('value'));
    expect(failure({ records: [{ key: { type: 'AVRO', data: 'x' } }] })).toBe(message('key'));
    expect(failure({ records: [{ value: { data: 'x' } }] })).toBe(message('value'));
  });

  it('fails when typed data does not match its type', () => {
    expect(failure({ records: [{ value: { type: 'JSON' } }] })).toBe('records[0].value.data is missing');
    expect(failure({ records: [{ value: { type: 'STRING', data: 1 } }] })).toBe(
      'records[0].value.data must be a string',
    );
    expect(failure({ records: [{ key: { type: 'BINARY', data: 'not base64!' } }] })).toBe(
      'records[0].key.data must be base64',
    );
    expect(failure({ records: [{ key: { type: 'BINARY', data: 'AAE' } }] })).toBe(
      'records[0].key.data must be base64',
    );
    expect(failure({ records: [{ key: { type: 'BINARY', data: 7 } }] })).toBe(
      'records[0].key.data must be base64',
    );
    expect(failure({ records: [{ key: { type: 'BINARY', data: 'AA==AA==' } }] })).toBe(
      'records[0].key.data must be base64',
    );
  });

  it('takes base64 with padding and the whole alphabet', () => {
    const [record] = outputRecordsOf({
      records: [{ key: { type: 'BINARY', data: 'az09+/A=' }, value: { type: 'BINARY', data: '' } }],
    });
    expect(Buffer.from(record?.key?.bytes ?? []).toString('base64')).toBe('az09+/A=');
    expect(record?.value?.bytes.byteLength).toBe(0);
  });

  it('fails when headers are not an array of at most the headers a record may have', () => {
    const message = `records[0].headers must be an array of at most ${LIMITS.headersPerRecordMax} headers`;
    const header = { name: 'h', value: '' };
    const most = Array.from({ length: LIMITS.headersPerRecordMax }, () => header);

    expect(failure({ records: [{ headers: { h: '' } }] })).toBe(message);
    expect(failure({ records: [{ headers: [...most, header] }] })).toBe(message);
    expect(outputRecordsOf({ records: [{ headers: most }] })[0]?.headers).toHaveLength(
      LIMITS.headersPerRecordMax,
    );
  });

  it('fails when a header has no name, a name too long, or a value not base64', () => {
    const message = `records[0].headers[1].name must be 1 to ${LIMITS.headerNameLengthMax} characters`;
    const good = { name: 'a', value: '' };
    const longest = 'n'.repeat(LIMITS.headerNameLengthMax);

    expect(failure({ records: [{ headers: [good, { value: '' }] }] })).toBe(message);
    expect(failure({ records: [{ headers: [good, null] }] })).toBe(message);
    expect(failure({ records: [{ headers: [good, { name: '', value: '' }] }] })).toBe(message);
    expect(failure({ records: [{ headers: [good, { name: `${longest}n`, value: '' }] }] })).toBe(message);
    expect(failure({ records: [{ headers: [good, { name: 'b', value: 'x' }] }] })).toBe(
      'records[0].headers[1].value must be base64',
    );
    expect(
      outputRecordsOf({ records: [{ headers: [{ name: longest, value: '' }] }] })[0]?.headers[0]?.name,
    ).toBe(longest);
  });
});
