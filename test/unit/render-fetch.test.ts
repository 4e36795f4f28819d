import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/domain/limits.js';
import type { FetchResult } from '../../shared/domain/log-service.js';
import type { LogRecord, TypedBytes } from '../../shared/domain/record.js';
import { spanAt } from '../../shared/http/json-span.js';
import { jsonStringBytes } from '../../shared/http/payload-size.js';
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
    const text = renderFetchResult(fetched).body.text;

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
        const text = renderFetchResult(result(records)).body.text;

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
    ).body.text;

    // Assess
    const [rendered] = JSON.parse(text).records;
    expect(rendered.key).toEqual({ type: 'BINARY', data: Buffer.from('{"a":').toString('base64') });
    expect(rendered.value).toEqual({ type: 'BINARY', data: Buffer.from([0x31, 0xff]).toString('base64') });
    expect(heard).toEqual([
      [3, 'key'],
      [3, 'value'],
    ]);
  });

  it('stops before the answer passes jsonBytesMax as a JSON string, with nextOffset at the first record left out', () => {
    // Prepare
    const value = { type: 'STRING' as const, bytes: utf8('"\u0001'.repeat(1_000)) };
    const records = [0, 1, 2, 3].map((offset) => record(offset, null, value));
    const whole = renderFetchResult(result(records)).body.text;
    const jsonBytesMax = Math.floor(jsonStringBytes(whole) * 0.6);

    // Act
    const rendered = renderFetchResult(result(records), undefined, jsonBytesMax);

    // Assess
    expect(jsonStringBytes(rendered.body.text)).toBeLessThanOrEqual(jsonBytesMax);
    expect(rendered.records.map((r) => r.offset)).toEqual([0, 1]);
    expect(JSON.parse(rendered.body.text)).toMatchObject({ nextOffset: 2, highWatermark: 9 });
  });

  it('holds the first record even when it alone passes jsonBytesMax', () => {
    const records = [record(5, null, jsonBytes('"a long value"')), record(6, null, null)];

    const rendered = renderFetchResult(result(records), undefined, 10);

    expect(rendered.records.map((r) => r.offset)).toEqual([5]);
    expect(JSON.parse(rendered.body.text).nextOffset).toBe(6);
  });

  it('keeps one record of recordInlineBytesMax bytes of the worst content within responseBodyJsonBytesMax', () => {
    // Prepare: control characters take 6 bytes in the answer and 7 in the proxy result.
    const nameLength = LIMITS.headerNameLengthMax;
    const headers = Array.from({ length: LIMITS.headersPerRecordMax }, () => ({
      name: '\u0001'.repeat(nameLength),
      value: new Uint8Array(0),
    }));
    const valueBytes = LIMITS.recordInlineBytesMax - LIMITS.headersPerRecordMax * nameLength;
    const worst: LogRecord = {
      ...record(Number.MAX_SAFE_INTEGER - 1, null, {
        type: 'STRING',
        bytes: new Uint8Array(valueBytes).fill(1),
      }),
      timestamp: 253_402_300_799_999,
      headers,
    };

    // Act
    const rendered = renderFetchResult(result([worst]));

    // Assess
    expect(rendered.records).toHaveLength(1);
    expect(jsonStringBytes(rendered.body.text)).toBeLessThanOrEqual(LIMITS.responseBodyJsonBytesMax / 2);
  });
});

describe('renderFetchResult and values stored apart', () => {
  const URL_OF = 'https://bucket.example/payloads/15d/t/a?X-Amz-Signature=abc';
  const apart = (offset: number, valueBytes: number): LogRecord => ({
    ...record(offset, null, { type: 'STRING', bytes: new Uint8Array(valueBytes).fill(0x61) }),
    valueAt: { objectKey: 'payloads/15d/t/a', start: 100, end: 100 + valueBytes },
  });
  const references = (bytesMax: number) => ({ urls: new Map([[4, URL_OF]]), bytesMax });

  it('answers a value stored apart by reference when the record is over maxBytes', () => {
    const text = renderFetchResult(result([apart(4, 500_000)]), undefined, undefined, references(400_000))
      .body.text;

    const body = JSON.parse(text);
    expect(FetchResponseSchema.safeParse(body).success).toBe(true);
    expect(body.records[0].value).toEqual({
      type: 'STRING',
      url: URL_OF,
      range: 'bytes=100-500099',
      bytes: 500_000,
    });
  });

  it('answers it by reference when its rendering does not fit the answer, and inline when it does', () => {
    const byReference = renderFetchResult(result([apart(4, 500_000)]), undefined, 100_000, references(1e9));
    const inline = renderFetchResult(result([apart(4, 500_000)]), undefined, undefined, references(1e9));

    expect(JSON.parse(byReference.body.text).records[0].value.url).toBe(URL_OF);
    expect(JSON.parse(inline.body.text).records[0].value).toEqual({
      type: 'STRING',
      data: 'a'.repeat(500_000),
    });
  });

  it('renders a value without a presigned URL inline, whatever its size', () => {
    const text = renderFetchResult(result([apart(5, 500_000)]), undefined, undefined, references(1)).body
      .text;

    expect(JSON.parse(text).records[0].value.data).toHaveLength(500_000);
  });
});
