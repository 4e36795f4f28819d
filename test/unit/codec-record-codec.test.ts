/**
 * The batch encoding byte for byte (`record-codec.ts`): the layout of a known batch, each codec's
 * stored bytes, the size bounds at their limits, the refusals of bad input, and the place of a
 * value stored apart. The property tests of `record-codec.test.ts` prove round trips; these pin
 * what a round trip cannot see (the bytes at rest, which other readers and old items depend on).
 */
import { brotliCompressSync, constants, deflateRawSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/domain/limits.js';
import type { DataType, RecordInput } from '../../shared/domain/record.js';
import {
  BATCH_BODY_BYTES_MAX,
  type BatchCompression,
  CorruptBatchError,
  DEFAULT_BATCH_COMPRESSION,
  decodeBatch,
  decodeBatchAt,
  defaultBatchCompression,
  encodeBatch,
  encodedRecordBytes,
  LARGE_BATCH_BODY_BYTES_MIN,
  LARGE_BATCH_COMPRESSION,
  rawValueRange,
  splitIntoChunks,
} from '../../shared/domain/record-codec.js';
import { makeEventRecords, seededRandom } from '../support/events.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const NONE: BatchCompression = { codec: 'none', level: 0 };
const hex = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

/** A STRING key `k`, a JSON value, a header, then an older record with a BINARY value and no key. */
const KNOWN: RecordInput[] = [
  {
    key: { type: 'STRING', bytes: utf8('k') },
    value: { type: 'JSON', bytes: utf8('{}') },
    headers: [{ name: 'h', value: Uint8Array.of(1, 2) }],
    timestamp: 1000,
  },
  { key: null, value: { type: 'BINARY', bytes: Uint8Array.of(0xff) }, headers: [], timestamp: 999 },
];

/** KNOWN as stored, uncompressed (layout in `record-codec.ts`). */
// biome-ignore format: one row per field
const KNOWN_BATCH = Uint8Array.of(
  0x10, // version 1, codec 0 (none)
  0x02, // two records
  0xd0, 0x0f, // base timestamp 1000, zigzag 2000
  0x00, // record 0: timestamp delta 0
  0x02, 0x01, 0x6b, // key: STRING, 1 byte, "k"
  0x01, 0x02, 0x7b, 0x7d, // value: JSON, 2 bytes, "{}"
  0x01, 0x01, 0x68, 0x02, 0x01, 0x02, // one header: name "h", value 01 02
  0x01, // record 1: timestamp delta -1, zigzag 1
  0x00, // key: null
  0x03, 0x01, 0xff, // value: BINARY, 1 byte
  0x00, // no header
);

/** A body byte for byte after a format byte of version 1, uncompressed. */
const rawBatch = (...bytes: number[]) => Uint8Array.of(0x10, ...bytes);

/** `length` pseudo-random bytes: incompressible. */
function noise(length: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

/** One record with only a BINARY value of `length` bytes, at timestamp 0. */
const valueOnly = (value: Uint8Array): RecordInput => ({
  key: null,
  value: { type: 'BINARY', bytes: value },
  headers: [],
  timestamp: 0,
});

describe('batch layout', () => {
  it('writes a known batch byte for byte', () => {
    // Act
    const batch = encodeBatch(KNOWN, NONE);

    // Assess
    expect(hex(batch)).toBe(hex(KNOWN_BATCH));
  });

  it('reads a known batch: types, keys, values, headers, timestamps and offsets', () => {
    // Act
    const records = decodeBatch(KNOWN_BATCH, 40);

    // Assess
    expect(records).toEqual([
      {
        offset: 40,
        timestamp: 1000,
        key: { type: 'STRING', bytes: utf8('k') },
        value: { type: 'JSON', bytes: utf8('{}') },
        headers: [{ name: 'h', value: Uint8Array.of(1, 2) }],
      },
      {
        offset: 41,
        timestamp: 999,
        key: null,
        value: { type: 'BINARY', bytes: Uint8Array.of(0xff) },
        headers: [],
      },
    ]);
  });

  it('writes a length of 128 in two varint bytes', () => {
    // Act
    const batch = encodeBatch([valueOnly(new Uint8Array(128).fill(5))], NONE);

    // Assess: count, base, delta, null key, BINARY tag, then 128 as 0x80 0x01.
    expect(hex(batch.subarray(0, 8))).toBe('1001000000038001');
    expect(batch.byteLength).toBe(8 + 128 + 1);
    expect(decodeBatch(batch, 0)[0]?.value?.bytes).toEqual(new Uint8Array(128).fill(5));
  });

  it('writes an empty batch as a count of 0 and a base timestamp of 0', () => {
    // Act
    const batch = encodeBatch([], NONE);

    // Assess
    expect(hex(batch)).toBe('100000');
  });

  it('keeps several headers, with repeated names, in order', () => {
    // Prepare
    const record: RecordInput = {
      key: null,
      value: null,
      headers: [
        { name: 'b', value: utf8('1') },
        { name: 'a', value: utf8('2') },
        { name: 'b', value: utf8('3') },
      ],
      timestamp: 7,
    };

    // Act
    const [decoded] = decodeBatch(encodeBatch([record]), 0);

    // Assess
    expect(decoded?.headers).toEqual(record.headers);
  });
});

describe('compression at rest', () => {
  const records = makeEventRecords(seededRandom(8), 'typical', 5);
  const body = encodeBatch(records, NONE).subarray(1);

  it.each([
    ['deflate-raw', 1, 0x11, () => deflateRawSync(body, { level: 1 })],
    ['deflate-raw', 9, 0x11, () => deflateRawSync(body, { level: 9 })],
    ['gzip', 1, 0x12, () => gzipSync(body, { level: 1 })],
    ['gzip', 9, 0x12, () => gzipSync(body, { level: 9 })],
    ['brotli', 1, 0x13, () => brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } })],
    ['brotli', 9, 0x13, () => brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 9 } })],
  ] as const)('stores the body as %s at level %d writes it', (codec, level, format, compressed) => {
    // Act
    const batch = encodeBatch(records, { codec, level });

    // Assess
    expect(batch[0]).toBe(format);
    expect(hex(batch.subarray(1))).toBe(hex(compressed()));
    expect(decodeBatch(batch, 0)).toEqual(decodeBatch(encodeBatch(records, NONE), 0));
  });

  it('chooses the large-batch compression from LARGE_BATCH_BODY_BYTES_MIN bytes of body on', () => {
    // Act
    const below = defaultBatchCompression(LARGE_BATCH_BODY_BYTES_MIN - 1);
    const at = defaultBatchCompression(LARGE_BATCH_BODY_BYTES_MIN);

    // Assess
    expect(below).toEqual({ codec: 'brotli', level: 5 });
    expect(below).toBe(DEFAULT_BATCH_COMPRESSION);
    expect(at).toEqual({ codec: 'brotli', level: 1 });
    expect(at).toBe(LARGE_BATCH_COMPRESSION);
  });

  it.each([
    ['deflate-raw', 0x11, (zeros: Uint8Array) => deflateRawSync(zeros, { level: 1 })],
    ['gzip', 0x12, (zeros: Uint8Array) => gzipSync(zeros, { level: 1 })],
  ] as const)('fails when a %s body decompresses beyond BATCH_BODY_BYTES_MAX', (_, format, compress) => {
    // Prepare
    const bomb = compress(new Uint8Array(BATCH_BODY_BYTES_MAX + 1));
    const data = Uint8Array.of(format, ...bomb);

    // Act
    const act = () => decodeBatch(data, 0);

    // Assess
    expect(act).toThrow(CorruptBatchError);
    expect(act).toThrow(/does not decompress/);
  });

  it('fails when a gzip body is not gzip', () => {
    // Act
    const act = () => decodeBatch(Uint8Array.of(0x12, 1, 2, 3, 4), 0);

    // Assess
    expect(act).toThrow(CorruptBatchError);
  });
});

describe('encodeBatch bounds', () => {
  it('encodes a body of exactly BATCH_BODY_BYTES_MAX bytes', () => {
    // Prepare: 10 bytes around the value (count, base, delta, two tags, a 4-byte length, headers).
    const record = valueOnly(new Uint8Array(BATCH_BODY_BYTES_MAX - 10).fill(7));

    // Act
    const batch = encodeBatch([record], NONE);

    // Assess
    expect(batch.byteLength).toBe(1 + BATCH_BODY_BYTES_MAX);
    expect(decodeBatch(batch, 0)[0]?.value?.bytes.byteLength).toBe(BATCH_BODY_BYTES_MAX - 10);
  });

  it('fails when the body would exceed BATCH_BODY_BYTES_MAX bytes', () => {
    // Prepare
    const record = valueOnly(new Uint8Array(BATCH_BODY_BYTES_MAX - 9));

    // Act
    const act = () => encodeBatch([record], NONE);

    // Assess
    expect(act).toThrow(RangeError);
    expect(act).toThrow(
      `Batch body of ${BATCH_BODY_BYTES_MAX + 1} bytes exceeds ${BATCH_BODY_BYTES_MAX} bytes`,
    );
  });

  it('fails when a key or value has a type the format has no tag for', () => {
    // Prepare
    const record: RecordInput = {
      key: null,
      value: { type: 'XML' as DataType, bytes: utf8('<a/>') },
      headers: [],
      timestamp: 0,
    };

    // Act
    const act = () => encodeBatch([record], NONE);

    // Assess
    expect(act).toThrow(RangeError);
  });

  it('fails when a later record has a bad timestamp, whatever the first one', () => {
    // Prepare
    const records: RecordInput[] = [
      valueOnly(Uint8Array.of(1)),
      { ...valueOnly(Uint8Array.of(2)), timestamp: -5 },
    ];

    // Act
    const act = () => encodeBatch(records, NONE);

    // Assess
    expect(act).toThrow(RangeError);
  });
});

describe('decodeBatch refusals', () => {
  it.each([1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1, -1])(
    'fails when the base offset is %d',
    (baseOffset) => {
      // Act
      const act = () => decodeBatch(KNOWN_BATCH, baseOffset);

      // Assess
      expect(act).toThrow(RangeError);
    },
  );

  it('decodes at base offset 0 and at the largest safe integer', () => {
    // Act
    const [first] = decodeBatch(encodeBatch([valueOnly(Uint8Array.of(1))], NONE), 0);
    const [last] = decodeBatch(encodeBatch([valueOnly(Uint8Array.of(1))], NONE), Number.MAX_SAFE_INTEGER);

    // Assess
    expect(first?.offset).toBe(0);
    expect(last?.offset).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('fails when a record timestamp is before 1970', () => {
    // Prepare: base timestamp 0, delta -1.
    const data = rawBatch(1, 0, 1, 0, 0, 0);

    // Act
    const act = () => decodeBatch(data, 0);

    // Assess
    expect(act).toThrow(CorruptBatchError);
    expect(act).toThrow(/timestamp -1/);
  });

  it('fails when a varint runs over 8 bytes, even one of a small value', () => {
    // Prepare: a record count of 0 written in 9 bytes, then a base timestamp of 0.
    const data = rawBatch(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x00);

    // Act
    const act = () => decodeBatch(data, 0);

    // Assess
    expect(act).toThrow(CorruptBatchError);
  });

  it('reads a varint of 8 bytes', () => {
    // Prepare: a base timestamp of 1 written in 8 bytes, one record with no key, value or header.
    const data = rawBatch(1, 0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0, 0, 0, 0);

    // Act
    const records = decodeBatch(data, 0);

    // Assess
    expect(records).toEqual([{ offset: 0, timestamp: 1, key: null, value: null, headers: [] }]);
  });

  it('reads a record that ends with headers of an empty name and an empty value', () => {
    // Prepare: one record with no key or value and two headers of two bytes each, the last bytes.
    const data = rawBatch(1, 0, 0, 0, 0, 2, 0, 0, 0, 0);

    // Act
    const records = decodeBatch(data, 0);

    // Assess
    expect(records[0]?.headers).toEqual([
      { name: '', value: new Uint8Array(0) },
      { name: '', value: new Uint8Array(0) },
    ]);
  });

  it('fails when a header value runs past the end, and reads one that ends at the end', () => {
    // Prepare: one record with one header "a" whose value says 2 bytes.
    const cut = rawBatch(1, 0, 0, 0, 0, 1, 1, 0x61, 2, 9);
    const whole = rawBatch(1, 0, 0, 0, 0, 1, 1, 0x61, 2, 9, 8);

    // Act
    const act = () => decodeBatch(cut, 0);
    const [record] = decodeBatch(whole, 0);

    // Assess
    expect(act).toThrow(CorruptBatchError);
    expect(record?.headers).toEqual([{ name: 'a', value: Uint8Array.of(9, 8) }]);
  });

  it('fails when a value runs past the end, and reads one that ends where the record goes on', () => {
    // Prepare
    const cut = rawBatch(1, 0, 0, 0, 3, 5, 1, 2, 3);
    const whole = rawBatch(1, 0, 0, 0, 3, 3, 1, 2, 3, 0);

    // Act
    const act = () => decodeBatch(cut, 0);
    const [record] = decodeBatch(whole, 0);

    // Assess
    expect(act).toThrow(CorruptBatchError);
    expect(record?.value).toEqual({ type: 'BINARY', bytes: Uint8Array.of(1, 2, 3) });
  });

  it('fails with CorruptBatchError naming itself', () => {
    // Act
    let thrown: unknown;
    try {
      decodeBatch(new Uint8Array(0), 0);
    } catch (error) {
      thrown = error;
    }

    // Assess
    expect(thrown).toBeInstanceOf(CorruptBatchError);
    expect((thrown as Error).name).toBe('CorruptBatchError');
  });
});

describe('encodedRecordBytes of UTF-8 header names', () => {
  it.each([
    ['U+007F', '\u007f'],
    ['U+0080', '\u0080'],
    ['U+07FF', '\u07ff'],
    ['U+0800', '\u0800'],
    ['U+D7FF', '\ud7ff'],
    ['U+E000', '\ue000'],
    ['U+FFFF', '\uffff'],
    ['U+10000', '\ud800\udc00'],
    ['U+10FFFF', '\udbff\udfff'],
    ['a lone low surrogate', '\udc00'],
    ['a lone high surrogate at the end', 'x\udbff'],
    ['a high surrogate before a letter', '\ud800a'],
    ['a high surrogate before U+E000', '\ud800\ue000'],
    ['a high surrogate before U+DBFF', '\ud800\udbff'],
    ['U+0800 before a low surrogate', '\u0800\udc00'],
    ['two low surrogates', '\udc00\udfff'],
    ['mixed text', 'ключ-🔑-k'],
  ])('counts %s as TextEncoder encodes it', (_, name) => {
    // Prepare
    const nameBytes = new TextEncoder().encode(name).length;
    const record: RecordInput = {
      key: null,
      value: null,
      headers: [{ name, value: Uint8Array.of(1) }],
      timestamp: 5,
    };

    // Act
    const bytes = encodedRecordBytes(record, 5);
    const batch = encodeBatch([record], NONE);

    // Assess: delta, two null tags, header count, name length, name, value length, value.
    expect(bytes).toBe(4 + 1 + nameBytes + 2);
    expect(batch.byteLength).toBe(1 + 2 + bytes);
    expect(decodeBatch(batch, 0)[0]?.headers[0]?.name).toBe(new TextDecoder().decode(utf8(name)));
  });
});

describe('splitIntoChunks with a record count bound', () => {
  it('closes a chunk once it holds chunkRecordsMax records', () => {
    // Act
    const chunks = splitIntoChunks([1, 1, 1, 1, 1], (size) => size, 100, 2);

    // Assess
    expect(chunks).toEqual([[1, 1], [1, 1], [1]]);
  });

  it('closes a chunk at whichever bound comes first', () => {
    // Act
    const chunks = splitIntoChunks([40, 40, 40, 1, 1, 1, 1], (size) => size, 100, 3);

    // Assess
    expect(chunks).toEqual([
      [40, 40],
      [40, 1, 1],
      [1, 1],
    ]);
  });

  it('fills a chunk to exactly chunkBytesMax', () => {
    // Act
    const chunks = splitIntoChunks([60, 40, 1], (size) => size, 100);

    // Assess
    expect(chunks).toEqual([[60, 40], [1]]);
  });
});

describe('rawValueRange and decodeBatchAt at their bounds', () => {
  it('finds no range in an empty input, another format version or an empty batch', () => {
    // Act
    const ranges = [
      rawValueRange(new Uint8Array(0)),
      rawValueRange(Uint8Array.of(0x20, 1, 0, 0, 0, 3, 1, 7, 0)),
      rawValueRange(encodeBatch([], NONE)),
    ];

    // Assess
    expect(ranges).toEqual([undefined, undefined, undefined]);
  });

  it('finds no range in a compressed batch of one record, and marks no value apart in it', () => {
    // Prepare
    // Half noise, half zeros: compressed, and still over recordInlineBytesMax.
    const value = new Uint8Array(LIMITS.recordInlineBytesMax * 2);
    value.set(noise(LIMITS.recordInlineBytesMax, 6));
    const record = valueOnly(value);
    const compressed = encodeBatch([record], { codec: 'deflate-raw', level: 1 });
    const text = encodeBatch([{ ...record, value: { type: 'STRING', bytes: utf8('a'.repeat(5000)) } }], {
      codec: 'brotli',
      level: 1,
    });

    // Act
    const range = rawValueRange(text);
    const [decoded] = decodeBatchAt(compressed, 0, 'k', 0);

    // Assess
    expect(range).toBeUndefined();
    expect(compressed[0]).toBe(0x11);
    expect(compressed.byteLength).toBeGreaterThan(LIMITS.recordInlineBytesMax);
    expect(rawValueRange(compressed)).toBeUndefined();
    expect(decoded?.valueAt).toBeUndefined();
    expect(decoded?.value?.bytes.byteLength).toBe(LIMITS.recordInlineBytesMax * 2);
  });

  it('finds the range of a known record', () => {
    // Prepare: format, count, base, delta, STRING key "k", BINARY value of 3 bytes at 9..12.
    const batch = rawBatch(1, 0, 0, 2, 1, 0x6b, 3, 3, 9, 9, 9, 0);

    // Act
    const range = rawValueRange(batch);

    // Assess
    expect(range).toEqual({ start: 9, end: 12 });
  });

  it.each([
    ['in the base timestamp', 3],
    ['before the timestamp delta', 4],
    ['before the key tag', 5],
    ['in the key', 7],
    ['before the value tag', 8],
    ['before the value length', 9],
    ['in the value bytes', 11],
  ])('fails when a batch is cut %s', (_, length) => {
    // Prepare: the known record above with its base timestamp written in two bytes.
    const batch = rawBatch(1, 0x80, 0x00, 0, 2, 1, 0x6b, 3, 3, 9, 9, 9, 0).subarray(0, length);

    // Act
    const act = () => rawValueRange(batch);

    // Assess
    expect(act).toThrow(CorruptBatchError);
  });

  it('marks a value apart only in a batch over recordInlineBytesMax bytes', () => {
    // Prepare: 10 bytes around the value (format, count, base, delta, two tags, 3-byte length, headers).
    const at = encodeBatch([valueOnly(noise(LIMITS.recordInlineBytesMax - 10, 1))], NONE);
    const over = encodeBatch([valueOnly(noise(LIMITS.recordInlineBytesMax - 9, 2))], NONE);

    // Act
    const [inline] = decodeBatchAt(at, 0, 'segments/x', 0);
    const [apart] = decodeBatchAt(over, 0, 'segments/x', 1_000);

    // Assess
    expect(at.byteLength).toBe(LIMITS.recordInlineBytesMax);
    expect(inline?.valueAt).toBeUndefined();
    expect(apart?.valueAt).toEqual({
      objectKey: 'segments/x',
      start: 1_009,
      end: 1_000 + over.byteLength - 1,
    });
  });

  it('marks no value apart in a large batch of two records or with a null value', () => {
    // Prepare
    const half = LIMITS.recordInlineBytesMax / 2;
    const two = encodeBatch([valueOnly(noise(half, 3)), valueOnly(noise(half, 4))], NONE);
    const nullValue = encodeBatch(
      [
        {
          key: null,
          value: null,
          headers: [{ name: 'h', value: noise(LIMITS.recordInlineBytesMax, 5) }],
          timestamp: 0,
        },
      ],
      NONE,
    );

    // Act
    const fromTwo = decodeBatchAt(two, 0, 'k', 0);
    const fromNull = decodeBatchAt(nullValue, 0, 'k', 0);

    // Assess
    expect(two.byteLength).toBeGreaterThan(LIMITS.recordInlineBytesMax);
    expect(fromTwo.map((record) => record.valueAt)).toEqual([undefined, undefined]);
    expect(fromNull[0]?.valueAt).toBeUndefined();
  });
});

describe('decodeBatch refusals of foreign or malformed bytes', () => {
  it.each([
    ['the input is empty', new Uint8Array(0), /Empty batch/],
    ['the format version is 2', Uint8Array.of(0x20, 0, 0), /version 2 \(expected 1\)/],
    ['the format version is 0', Uint8Array.of(0x00, 0, 0), /version 0/],
    ['the codec is unknown', Uint8Array.of(0x1f, 0, 0), /Unknown batch codec 15/],
    [
      'the record count cannot fit in the bytes left',
      rawBatch(3, 0, 0, 0, 0, 0),
      /Record count 3 does not fit in 5 bytes/,
    ],
    ['a type tag is unknown', rawBatch(1, 0, 0, 9, 0, 0, 0), /Unknown key type tag 9/],
    ['a value type tag is unknown', rawBatch(1, 0, 0, 0, 4, 0, 0), /Unknown value type tag 4/],
    [
      'the header count cannot fit in the bytes left',
      rawBatch(1, 0, 0, 0, 0, 3, 0, 0, 0, 0),
      /Header count 3 does not fit in 4 bytes/,
    ],
    ['a header name is not UTF-8', rawBatch(1, 0, 0, 0, 0, 1, 1, 0xff, 0), /header name is not valid UTF-8/],
    ['bytes follow the last record', rawBatch(1, 0, 0, 0, 0, 0, 7, 7), /2 unexpected bytes/],
    ['a varint exceeds 2^53', rawBatch(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), /exceeds 2\^53/],
    [
      'a varint runs over 8 bytes',
      rawBatch(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
      /longer than 8/,
    ],
    ['the record count is cut off', rawBatch(0x81), /record count cut off/],
    ['a key is cut off', rawBatch(1, 0x80, 0x80, 0, 0), /key type cut off/],
    [
      'a timestamp is beyond year 9999',
      rawBatch(1, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0),
      /outside 0\.\.253402300799999/,
    ],
    [
      'the compressed body is not brotli',
      Uint8Array.of(0x13, 1, 2, 3, 4, 5),
      /does not decompress with brotli/,
    ],
    [
      'the deflate body is not deflate',
      Uint8Array.of(0x11, 0xff, 0xff, 0xff),
      /does not decompress with deflate-raw/,
    ],
  ])('fails when %s', (_, data, message) => {
    // Act
    const act = () => decodeBatch(data, 0);

    // Assess
    expect(act).toThrow(CorruptBatchError);
    expect(act).toThrow(message);
  });

  it('fails when a brotli body decompresses beyond BATCH_BODY_BYTES_MAX', () => {
    // Prepare
    const zeros = new Uint8Array(BATCH_BODY_BYTES_MAX + 1);
    const bomb = brotliCompressSync(zeros, { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } });

    // Act
    const act = () => decodeBatch(Uint8Array.of(0x13, ...bomb), 0);

    // Assess
    expect(act).toThrow(/does not decompress with brotli/);
  });

  it('fails when a raw or compressed batch is cut anywhere', () => {
    // Prepare
    const records = makeEventRecords(seededRandom(3), 'typical', 3);
    const raw = encodeBatch(records, NONE);
    const compressed = encodeBatch(records, { codec: 'brotli', level: 5 });

    for (const batch of [raw, compressed]) {
      for (let length = 0; length < batch.length; length++) {
        // Act
        const act = () => decodeBatch(batch.subarray(0, length), 0);

        // Assess
        expect(act, `cut to ${length} bytes`).toThrow(CorruptBatchError);
      }
    }
  });

  it('decodes a batch that starts inside a larger buffer, and copies its bytes out', () => {
    // Prepare
    const buffer = Buffer.concat([Buffer.of(9, 9, 9), Buffer.from(KNOWN_BATCH), Buffer.of(9)]);
    const view = buffer.subarray(3, 3 + KNOWN_BATCH.byteLength);

    // Act
    const records = decodeBatch(view, 0);
    buffer.fill(0);

    // Assess
    expect(records).toEqual(decodeBatch(KNOWN_BATCH, 0));
    expect(Buffer.isBuffer(records[0]?.key?.bytes)).toBe(false);
  });
});

describe('encodeBatch refusals of bad timestamps', () => {
  it.each([-1, 253_402_300_800_000, 1.5, Number.NaN])('fails when a timestamp is %d', (timestamp) => {
    // Act
    const act = () => encodeBatch([{ key: null, value: null, headers: [], timestamp }], NONE);

    // Assess
    expect(act).toThrow(RangeError);
    expect(act).toThrow(`must be an integer in 0..253402300799999, got ${timestamp}`);
  });

  it('encodes the first and the last millisecond it accepts', () => {
    // Prepare
    const records: RecordInput[] = [
      { key: null, value: null, headers: [], timestamp: 253_402_300_799_999 },
      { key: null, value: null, headers: [], timestamp: 0 },
    ];

    // Act
    const decoded = decodeBatch(encodeBatch(records, NONE), 0);

    // Assess
    expect(decoded.map((record) => record.timestamp)).toEqual([253_402_300_799_999, 0]);
  });
});

describe('encodedRecordBytes without a base timestamp', () => {
  it('counts the timestamp delta at its widest, 7 bytes', () => {
    // Prepare
    const record: RecordInput = {
      key: null,
      value: { type: 'STRING', bytes: utf8('ab') },
      headers: [],
      timestamp: 3,
    };

    // Act
    const unknownBase = encodedRecordBytes(record);
    const knownBase = encodedRecordBytes(record, 3);

    // Assess
    expect(unknownBase).toBe(7 + 1 + 1 + 1 + 2 + 1);
    expect(knownBase).toBe(1 + 1 + 1 + 1 + 2 + 1);
  });
});

describe('splitIntoChunks edges', () => {
  it('gives a first record larger than chunkBytesMax a chunk of its own, never an empty one', () => {
    // Act
    const chunks = splitIntoChunks([500, 10, 10], (size) => size, 100);

    // Assess
    expect(chunks).toEqual([[500], [10, 10]]);
  });

  it('returns no chunk for no records', () => {
    // Act
    const chunks = splitIntoChunks([], (size: number) => size, 100);

    // Assess
    expect(chunks).toEqual([]);
  });

  it('counts the bytes of a chunk from zero again after closing one', () => {
    // Act
    const chunks = splitIntoChunks([70, 70, 30, 10], (size) => size, 100);

    // Assess
    expect(chunks).toEqual([[70], [70, 30], [10]]);
  });
});

describe('compression choice', () => {
  it('stores the body raw when compression would not make it smaller', () => {
    // Prepare
    const record = valueOnly(noise(2_000, 5));

    // Act
    const stored = encodeBatch([record]);

    // Assess
    expect(stored).toEqual(encodeBatch([record], NONE));
  });

  it('compresses with DEFAULT_BATCH_COMPRESSION by default', () => {
    // Prepare
    const records = makeEventRecords(seededRandom(2), 'typical', 5);

    // Act
    const stored = encodeBatch(records);

    // Assess
    expect(hex(stored)).toBe(hex(encodeBatch(records, DEFAULT_BATCH_COMPRESSION)));
    expect(stored[0]).toBe(0x13);
  });
});
