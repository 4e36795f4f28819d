/** The CLI's pure parts: lines to records, records to output. */
import { describe, expect, it } from 'vitest';
import {
  compileFormat,
  LineError,
  parseLine,
  recordJson,
  renderTable,
  textFormat,
} from '../../cli/format.js';
import type { ConsumedRecord } from '../../client/index.js';

const record: ConsumedRecord = {
  topic: 'orders',
  partition: 2,
  offset: 41,
  timestamp: '2026-11-21T10:00:00.000Z',
  key: { type: 'STRING', data: 'order-42' },
  value: { type: 'JSON', data: { total: 12 } },
  headers: [{ name: 'trace', value: Buffer.from('abc') }],
};

describe('parseLine', () => {
  it('splits key and value at the first separator', () => {
    expect(parseLine('a:b:c', { keySeparator: ':' })).toEqual({
      key: { type: 'STRING', data: 'a' },
      value: { type: 'STRING', data: 'b:c' },
    });
  });

  it('gives no key to a line without the separator', () => {
    expect(parseLine('no key here', { keySeparator: '\t' })).toEqual({
      value: { type: 'STRING', data: 'no key here' },
    });
  });

  it('reads JSON and base64 values', () => {
    expect(parseLine('{"n":1}', { valueFormat: 'json' }).value).toEqual({ type: 'JSON', data: { n: 1 } });
    expect(parseLine('AAE=', { valueFormat: 'binary' }).value).toEqual({ type: 'BINARY', data: 'AAE=' });
  });

  it('fails when a JSON value is not JSON', () => {
    expect(() => parseLine('k:{oops', { keySeparator: ':', valueFormat: 'json' })).toThrow(LineError);
  });
});

describe('output', () => {
  it('prints a JSON line with partition, offset, key and value', () => {
    expect(JSON.parse(recordJson(record))).toEqual({
      topic: 'orders',
      partition: 2,
      offset: 41,
      timestamp: '2026-11-21T10:00:00.000Z',
      key: 'order-42',
      value: { total: 12 },
      headers: [{ name: 'trace', value: 'abc' }],
    });
  });

  it('expands the kcat tokens and escapes of a format string', () => {
    const format = compileFormat('%t [%p] at offset %o: key %k (%K): %s (%S) %h %T 100%%\\n');
    expect(format(record).toString('utf8')).toBe(
      'orders [2] at offset 41: key order-42 (8): {"total":12} (12) trace=abc 1795255200000 100%\n',
    );
  });

  it('prints a null key as empty with length -1', () => {
    expect(compileFormat('[%k|%K]')({ ...record, key: null }).toString('utf8')).toBe('[|-1]');
  });

  it('prints the value, or key, separator and value', () => {
    expect(textFormat(undefined)(record).toString('utf8')).toBe('{"total":12}\n');
    expect(textFormat('=')(record).toString('utf8')).toBe('order-42={"total":12}\n');
  });

  it('aligns table columns', () => {
    expect(
      renderTable(
        ['A', 'LONGER'],
        [
          ['xyz', 1],
          ['q', null],
        ],
      ),
    ).toBe('A    LONGER\nxyz  1\nq    -\n');
  });
});
