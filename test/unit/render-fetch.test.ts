import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FetchResult } from '../../shared/domain/log-service.js';
import type { LogRecord, TypedBytes } from '../../shared/domain/record.js';
import { spanAt } from '../../shared/http/json-span.js';
import { renderFetchResult } from '../../shared/http/render.js';
import { FetchResponseSchema } from '../../shared/http/schemas.js';

const utf8 = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));
const jsonBytes = (text: string): TypedBytes => ({ type: 'JSON', bytes: utf8(text) });

function result(records: LogRecord[]): FetchResult {
  return {
    topic: 'orders',
    partition: 2,
    records,
    nextOffset: (records.at(-1)?.offset ?? 6) + 1,
    highWatermark: 9,
    logStartOffset: 0,
  };
}

function record(offset: number, key: TypedBytes | null, value: TypedBytes | null): LogRecord {
  return { offset, timestamp: 1_700_000_000_000 + offset, key, value, headers: [] };
}

describe('renderFetchResult', () => {
  it('renders what the OpenAPI schema describes, with JSON spliced in as the stored text', () => {
    // Prepare
    const value = '{ "id": 12345678901234567890123, "big": 1e400 }';
    const fetched = result([
      {
        ...record(7, { type: 'STRING', bytes: utf8('clé "q"\n') }, jsonBytes(value)),
        headers: [{ name: 'trace\u2028"', value: new Uint8Array([0, 255]) }],
      },
      record(8, { type: 'BINARY', bytes: new Uint8Array([1, 2, 3]) }, null),
    ]);

    // Act
    const text = renderFetchResult(fetched).text;

    // Assess
    const body = JSON.parse(text);
    expect(FetchResponseSchema.safeParse(body).success).toBe(true);
    const span = spanAt(text, ['records', 0, 'value', 'data']);
    expect(span && text.slice(span.start, span.end)).toBe(value);
    expect(body).toEqual({
      topic: 'orders',
      partition: 2,
      records: [
        {
          offset: 7,
          timestamp: '2023-11-14T22:13:20.007Z',
          key: { type: 'STRING', data: 'clé "q"\n' },
          value: { type: 'JSON', data: JSON.parse(value) },
          headers: [{ name: 'trace\u2028"', value: 'AP8=' }],
        },
        {
          offset: 8,
          timestamp: '2023-11-14T22:13:20.008Z',
          key: { type: 'BINARY', data: 'AQID' },
          value: null,
          headers: [],
        },
      ],
      nextOffset: 9,
      highWatermark: 9,
      logStartOffset: 0,
    });
  });

  it('renders the same answer as serializing parsed values, for JSON that round-trips', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 }), (values) => {
        // Prepare
        const records = values.map((value, i) => record(i, null, jsonBytes(JSON.stringify(value))));

        // Act
        const text = renderFetchResult(result(records)).text;

        // Assess
        expect(JSON.parse(text).records.map((r: { value: { data: unknown } }) => r.value.data)).toEqual(
          values.map((value) => JSON.parse(JSON.stringify(value))),
        );
      }),
    );
  });

  it('renders stored JSON that is not JSON text as BINARY with its bytes, and says so', () => {
    // Prepare
    const broken = [jsonBytes('{"a":'), { type: 'JSON' as const, bytes: new Uint8Array([0x31, 0xff]) }];
    const heard: unknown[] = [];

    // Act
    const text = renderFetchResult(result([record(3, broken[0] ?? null, broken[1] ?? null)]), (...args) =>
      heard.push(args),
    ).text;

    // Assess
    const [rendered] = JSON.parse(text).records;
    expect(rendered.key).toEqual({ type: 'BINARY', data: Buffer.from('{"a":').toString('base64') });
    expect(rendered.value).toEqual({ type: 'BINARY', data: Buffer.from([0x31, 0xff]).toString('base64') });
    expect(heard).toEqual([
      [3, 'key'],
      [3, 'value'],
    ]);
  });
});
