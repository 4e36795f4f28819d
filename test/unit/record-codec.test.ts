import { brotliCompressSync, constants } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/domain/limits.js';
import type { LogRecord, RecordInput, TypedBytes } from '../../shared/domain/record.js';
import {
  BATCH_BODY_BYTES_MAX,
  BATCH_HEADER_BYTES_MAX,
  type BatchCompression,
  CorruptBatchError,
  DEFAULT_BATCH_COMPRESSION,
  decodeBatch,
  decodeBatchAt,
  encodeBatch,
  encodedRecordBytes,
  LARGE_BATCH_BODY_BYTES_MIN,
  LARGE_BATCH_COMPRESSION,
  rawValueRange,
  splitIntoChunks,
  TIMESTAMP_DELTA_BYTES_MAX,
  TIMESTAMP_MS_MAX,
} from '../../shared/domain/record-codec.js';
import { makeEventRecords, seededRandom } from '../support/events.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const NONE: BatchCompression = { codec: 'none', level: 0 };
const COMPRESSIONS: BatchCompression[] = [
  NONE,
  { codec: 'deflate-raw', level: 6 },
  { codec: 'gzip', level: 6 },
  { codec: 'brotli', level: 1 },
  { codec: 'brotli', level: 5 },
];

/** `length` uniformly random bytes from a seed (a plain loop: `Uint8Array.from` with a map is slow). */
function randomBytes(length: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

const bytesArb = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
  // Large arrays filled from a seed: fast-check builds (and shrinks) typed arrays element by element.
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 20_000, max: 70_000 }), fc.integer())
      .map(([length, seed]) => randomBytes(length, seed)),
  },
);
const typedArb: fc.Arbitrary<TypedBytes | null> = fc.oneof(
  fc.constant(null),
  fc.record({ type: fc.constant('JSON' as const), bytes: fc.json().map(utf8) }),
  fc.record({ type: fc.constant('STRING' as const), bytes: fc.string({ unit: 'grapheme' }).map(utf8) }),
  fc.record({ type: fc.constant('BINARY' as const), bytes: bytesArb }),
);
const recordArb: fc.Arbitrary<RecordInput> = fc.record({
  key: typedArb,
  value: typedArb,
  headers: fc.array(fc.record({ name: fc.string({ unit: 'grapheme' }), value: bytesArb }), { maxLength: 4 }),
  timestamp: fc.integer({ min: 0, max: TIMESTAMP_MS_MAX }),
});
const recordsArb = fc.array(recordArb, { maxLength: 20 });

/** Byte length of an unsigned LEB128 varint, written independently of the codec. */
function varintLength(value: number): number {
  return value < 2 ** 7 ? 1 : 1 + varintLength(Math.floor(value / 2 ** 7));
}

function withOffsets(records: readonly RecordInput[], baseOffset: number) {
  return records.map((record, index) => comparable({ ...record, offset: baseOffset + index }));
}

/**
 * The record with every byte array as hex: vitest compares large typed arrays element by element
 * (a quarter of a second for 70 KB), strings in microseconds.
 */
function comparable(record: LogRecord) {
  const hex = (bytes: Uint8Array) => {
    expect(bytes).toBeInstanceOf(Uint8Array);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  };
  const typed = (value: TypedBytes | null) => value && { type: value.type, hex: hex(value.bytes) };
  return {
    offset: record.offset,
    timestamp: record.timestamp,
    key: typed(record.key),
    value: typed(record.value),
    headers: record.headers.map((header) => ({ name: header.name, hex: hex(header.value) })),
  };
}

function rawBatch(...bytes: number[]): Uint8Array {
  return Uint8Array.from([0x10, ...bytes]);
}

describe('encodeBatch and decodeBatch', () => {
  it('round-trip any records with every codec', () => {
    fc.assert(
      fc.property(
        recordsArb,
        fc.integer({ min: 0, max: 2 ** 50 }),
        fc.constantFrom(...COMPRESSIONS),
        (records, baseOffset, compression) => {
          // Act
          const decoded = decodeBatch(encodeBatch(records, compression), baseOffset);

          // Assess
          expect(decoded.map(comparable)).toEqual(withOffsets(records, baseOffset));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('round-trip extreme timestamps, empty and 1 MiB values and unicode header names', () => {
    // Prepare
    const big = randomBytes(1024 * 1024, 11);
    const records: RecordInput[] = [
      { key: null, value: null, headers: [], timestamp: TIMESTAMP_MS_MAX },
      {
        key: { type: 'BINARY', bytes: new Uint8Array(0) },
        value: { type: 'BINARY', bytes: big },
        headers: [],
        timestamp: 0,
      },
      {
        key: { type: 'STRING', bytes: utf8('ключ 🔑') },
        value: { type: 'JSON', bytes: utf8('{"emoji":"🐟","n":1}') },
        headers: [{ name: 'трассировка-🧭', value: new Uint8Array(0) }],
        timestamp: 1_767_225_600_000,
      },
    ];

    // Act
    const decoded = decodeBatch(encodeBatch(records), 41);

    // Assess
    expect(decoded.map(comparable)).toEqual(withOffsets(records, 41));
  });

  it('round-trips an empty batch', () => {
    // Act
    const decoded = decodeBatch(encodeBatch([]), 0);

    // Assess
    expect(decoded).toEqual([]);
  });

  it('returns bytes that do not alias the stored batch', () => {
    // Prepare
    const batch = encodeBatch(
      [{ key: null, value: { type: 'BINARY', bytes: Uint8Array.of(1, 2, 3) }, headers: [], timestamp: 5 }],
      NONE,
    );

    // Act
    const [record] = decodeBatch(batch, 0);
    batch.fill(0);

    // Assess
    expect(record?.value?.bytes).toEqual(Uint8Array.of(1, 2, 3));
  });

  it('returns plain byte arrays that do not alias a Buffer given to it', () => {
    // Prepare
    const records: RecordInput[] = [
      { key: null, value: { type: 'STRING', bytes: utf8('v') }, headers: [], timestamp: 5 },
    ];
    const batch = Buffer.from(encodeBatch(records, NONE));

    // Act
    const [record] = decodeBatch(batch, 0);
    batch.fill(0);

    // Assess
    expect(Buffer.isBuffer(record?.value?.bytes)).toBe(false);
    expect(record?.value?.bytes).toEqual(utf8('v'));
  });

  it('writes format version 1 in the high nibble of the first byte', () => {
    // Act
    const batch = encodeBatch([]);

    // Assess
    expect((batch[0] as number) >> 4).toBe(1);
  });

  it('compresses realistic JSON events with brotli to under a third of the raw body', () => {
    // Prepare
    const records = makeEventRecords(seededRandom(1), 'typical', 100);

    // Act
    const raw = encodeBatch(records, NONE);
    const stored = encodeBatch(records);

    // Assess
    expect((stored[0] as number) & 0x0f).toBe(3);
    expect(stored.length).toBeLessThan(raw.length / 3);
  });

  it('compresses a body below LARGE_BATCH_BODY_BYTES_MIN with DEFAULT_BATCH_COMPRESSION', () => {
    // Prepare
    const records = makeEventRecords(seededRandom(2), 'typical', 20);

    // Act
    const stored = encodeBatch(records);

    // Assess
    expect(encodeBatch(records, NONE).length).toBeLessThan(LARGE_BATCH_BODY_BYTES_MIN);
    expect(stored).toEqual(encodeBatch(records, DEFAULT_BATCH_COMPRESSION));
  });

  it('compresses a body from LARGE_BATCH_BODY_BYTES_MIN on with LARGE_BATCH_COMPRESSION', () => {
    // Prepare
    const records = makeEventRecords(seededRandom(2), 'typical', 100);

    // Act
    const stored = encodeBatch(records);

    // Assess
    expect(encodeBatch(records, NONE).length).toBeGreaterThanOrEqual(LARGE_BATCH_BODY_BYTES_MIN);
    expect(stored).toEqual(encodeBatch(records, LARGE_BATCH_COMPRESSION));
    expect(decodeBatch(stored, 7).map(comparable)).toEqual(withOffsets(records, 7));
  });

  it('stores the body raw when compression would not make it smaller', () => {
    // Prepare
    const noise = randomBytes(2_000, 5);
    const records: RecordInput[] = [
      { key: null, value: { type: 'BINARY', bytes: noise }, headers: [], timestamp: 1 },
    ];

    // Act
    const stored = encodeBatch(records);

    // Assess
    expect((stored[0] as number) & 0x0f).toBe(0);
    expect(stored).toEqual(encodeBatch(records, NONE));
  });

  it('encodes a lone surrogate in a header name as U+FFFD, like TextEncoder', () => {
    // Prepare
    const record: RecordInput = {
      key: null,
      value: null,
      headers: [{ name: 'a\uD800b', value: new Uint8Array(0) }],
      timestamp: 0,
    };

    // Act
    const [decoded] = decodeBatch(encodeBatch([record], NONE), 0);

    // Assess
    expect(decoded?.headers[0]?.name).toBe('a\uFFFDb');
  });

  it.each([-1, TIMESTAMP_MS_MAX + 1, 1.5, Number.NaN])('fails when a timestamp is %d', (timestamp) => {
    // Prepare
    const records: RecordInput[] = [{ key: null, value: null, headers: [], timestamp }];

    // Act
    const act = () => encodeBatch(records);

    // Assess
    expect(act).toThrow(RangeError);
  });

  it('fails when the base offset is negative', () => {
    // Act
    const act = () => decodeBatch(encodeBatch([]), -1);

    // Assess
    expect(act).toThrow(RangeError);
  });
});

describe('decodeBatch on bad input', () => {
  const valid = encodeBatch(makeEventRecords(seededRandom(3), 'small', 5), NONE);
  const validCompressed = encodeBatch(makeEventRecords(seededRandom(3), 'typical', 5));

  it.each([
    ['the input is empty', new Uint8Array(0)],
    ['the format version is unknown', Uint8Array.of(0x20, 0, 0)],
    ['the codec is unknown', Uint8Array.of(0x1f, 0, 0)],
    ['a length runs past the end', rawBatch(1, 0, 0, 3, 100, 1, 2)],
    ['a type tag is unknown', rawBatch(1, 0, 0, 9, 0, 0, 0)],
    ['the record count cannot fit in the bytes left', rawBatch(0xe8, 0x07, 0, 0, 0, 0, 0)],
    ['a varint is longer than 8 bytes', rawBatch(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)],
    ['a varint exceeds 2^53', rawBatch(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)],
    ['a header name is not UTF-8', rawBatch(1, 0, 0, 0, 0, 1, 1, 0xff, 0)],
    ['the header count cannot fit in the bytes left', rawBatch(1, 0, 0, 0, 0, 100, 0, 0)],
    [
      'a timestamp is beyond year 9999',
      rawBatch(1, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0),
    ],
    ['bytes follow the last record', Uint8Array.of(...valid, 0)],
    ['the compressed body is not brotli', Uint8Array.of(0x13, 1, 2, 3, 4, 5)],
    ['the deflate body is not deflate', Uint8Array.of(0x11, 0xff, 0xff, 0xff)],
  ])('fails when %s', (_, data) => {
    // Act
    const act = () => decodeBatch(data, 0);

    // Assess
    expect(act).toThrow(CorruptBatchError);
  });

  it('fails when a raw batch is truncated anywhere', () => {
    for (let length = 0; length < valid.length; length++) {
      // Act
      const act = () => decodeBatch(valid.subarray(0, length), 0);

      // Assess
      expect(act, `truncated to ${length} bytes`).toThrow(CorruptBatchError);
    }
  });

  it('fails when a compressed batch is truncated anywhere', () => {
    expect((validCompressed[0] as number) & 0x0f).toBe(3);
    for (let length = 0; length < validCompressed.length; length++) {
      // Act
      const act = () => decodeBatch(validCompressed.subarray(0, length), 0);

      // Assess
      expect(act, `truncated to ${length} bytes`).toThrow(CorruptBatchError);
    }
  });

  it('fails when the body decompresses beyond BATCH_BODY_BYTES_MAX', () => {
    // Prepare
    const zeros = new Uint8Array(BATCH_BODY_BYTES_MAX + 1);
    const bomb = brotliCompressSync(zeros, { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } });
    const data = Uint8Array.of(0x13, ...bomb);

    // Act
    const act = () => decodeBatch(data, 0);

    // Assess
    expect(act).toThrow(CorruptBatchError);
  });

  it('fails with CorruptBatchError, named so, and never another error on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.uint8Array({ maxLength: 64 }), (codec, body) => {
        // Prepare
        const data = Uint8Array.of(0x10 | codec, ...body);

        // Act
        let thrown: unknown;
        try {
          decodeBatch(data, 0);
        } catch (error) {
          thrown = error;
        }

        // Assess
        if (thrown !== undefined) {
          expect(thrown).toBeInstanceOf(CorruptBatchError);
          expect((thrown as Error).name).toBe('CorruptBatchError');
        }
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('encodedRecordBytes', () => {
  it('is the exact size each record takes in an uncompressed batch', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 20 }), (records) => {
        // Prepare
        const baseTimestamp = (records[0] as RecordInput).timestamp;
        const headerBytes = 1 + varintLength(records.length) + varintLength(2 * baseTimestamp);

        // Act
        const sizes = records.map((record) => encodedRecordBytes(record, baseTimestamp));

        // Assess
        const total = sizes.reduce((sum, size) => sum + size, headerBytes);
        expect(encodeBatch(records, NONE).length).toBe(total);
      }),
      { numRuns: 200 },
    );
  });

  it('bounds the stored batch size when no base timestamp is given, whatever the compression', () => {
    fc.assert(
      fc.property(recordsArb, fc.constantFrom(...COMPRESSIONS), (records, compression) => {
        // Act
        const bound = records.reduce(
          (sum, record) => sum + encodedRecordBytes(record),
          1 + BATCH_HEADER_BYTES_MAX,
        );

        // Assess
        expect(encodeBatch(records, compression).length).toBeLessThanOrEqual(bound);
      }),
      { numRuns: 200 },
    );
  });

  it('counts the widest timestamp delta as TIMESTAMP_DELTA_BYTES_MAX', () => {
    // Prepare
    const record: RecordInput = { key: null, value: null, headers: [], timestamp: 0 };

    // Act
    const widest = encodedRecordBytes(record, TIMESTAMP_MS_MAX);
    const unknownBase = encodedRecordBytes(record);

    // Assess
    expect(widest).toBe(unknownBase);
    expect(unknownBase).toBe(TIMESTAMP_DELTA_BYTES_MAX + 3);
  });
});

describe('splitIntoChunks', () => {
  const sizesArb = fc.array(fc.integer({ min: 0, max: 1_000 }), { maxLength: 100 });
  const chunkBytesArb = fc.integer({ min: 1, max: 3_000 });
  const sum = (sizes: readonly number[]) => sizes.reduce((total, size) => total + size, 0);

  it('keeps every record, in order', () => {
    fc.assert(
      fc.property(sizesArb, chunkBytesArb, (sizes, chunkBytesMax) => {
        // Act
        const chunks = splitIntoChunks(sizes, (size) => size, chunkBytesMax);

        // Assess
        expect(chunks.flat()).toEqual(sizes);
      }),
    );
  });

  it('never produces an empty chunk', () => {
    fc.assert(
      fc.property(sizesArb, chunkBytesArb, (sizes, chunkBytesMax) => {
        // Act
        const chunks = splitIntoChunks(sizes, (size) => size, chunkBytesMax);

        // Assess
        for (const chunk of chunks) expect(chunk.length).toBeGreaterThan(0);
      }),
    );
  });

  it('keeps chunks within chunkBytesMax unless a single record is larger', () => {
    fc.assert(
      fc.property(sizesArb, chunkBytesArb, (sizes, chunkBytesMax) => {
        // Act
        const chunks = splitIntoChunks(sizes, (size) => size, chunkBytesMax);

        // Assess
        for (const chunk of chunks) {
          if (chunk.length > 1) expect(sum(chunk)).toBeLessThanOrEqual(chunkBytesMax);
        }
      }),
    );
  });

  it('closes a chunk only when the next record does not fit', () => {
    fc.assert(
      fc.property(sizesArb, chunkBytesArb, (sizes, chunkBytesMax) => {
        // Act
        const chunks = splitIntoChunks(sizes, (size) => size, chunkBytesMax);

        // Assess
        for (let i = 0; i + 1 < chunks.length; i++) {
          const nextFirst = (chunks[i + 1] as number[])[0] as number;
          expect(sum(chunks[i] as number[]) + nextFirst).toBeGreaterThan(chunkBytesMax);
        }
      }),
    );
  });

  it('gives a record larger than chunkBytesMax a chunk of its own', () => {
    // Act
    const chunks = splitIntoChunks([10, 500, 10, 10], (size) => size, 100);

    // Assess
    expect(chunks).toEqual([[10], [500], [10, 10]]);
  });

  it('returns no chunk for no records', () => {
    // Act
    const chunks = splitIntoChunks([], (size: number) => size, 100);

    // Assess
    expect(chunks).toEqual([]);
  });
});

describe('rawValueRange and decodeBatchAt', () => {
  const big = (valueBytes: number, key: TypedBytes | null): RecordInput => ({
    key,
    value: { type: 'BINARY', bytes: randomBytes(valueBytes, valueBytes) },
    headers: [{ name: 'h', value: utf8('v') }],
    timestamp: 1_700_000_000_000,
  });

  it('finds the value of one uncompressed record as a range of the batch', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5_000 }), fc.boolean(), (valueBytes, keyed) => {
        const record = big(valueBytes, keyed ? { type: 'STRING', bytes: utf8('key') } : null);
        const batch = encodeBatch([record], NONE);

        const range = rawValueRange(batch);

        expect(range).toBeDefined();
        expect(batch.subarray(range?.start, range?.end)).toEqual(record.value?.bytes);
      }),
      { numRuns: 30 },
    );
  });

  it('finds no range in a compressed batch, a batch of two records or a null value', () => {
    const text: RecordInput = { ...big(0, null), value: { type: 'STRING', bytes: utf8('a'.repeat(5000)) } };

    expect(rawValueRange(encodeBatch([text], { codec: 'brotli', level: 1 }))).toBeUndefined();
    expect(rawValueRange(encodeBatch([big(10, null), big(10, null)], NONE))).toBeUndefined();
    expect(rawValueRange(encodeBatch([{ ...big(0, null), value: null }], NONE))).toBeUndefined();
  });

  it('marks a record stored apart with its place in the object, and no smaller one', () => {
    const apart = encodeBatch([big(LIMITS.recordInlineBytesMax + 1, null)], NONE);
    const small = encodeBatch([big(1000, null)], NONE);

    const [record] = decodeBatchAt(apart, 7, 'payloads/2d/t/a', 100);
    const [inline] = decodeBatchAt(small, 7, 'payloads/2d/t/a', 100);

    const range = rawValueRange(apart) as { start: number; end: number };
    expect(record?.valueAt).toEqual({
      objectKey: 'payloads/2d/t/a',
      start: 100 + range.start,
      end: 100 + range.end,
    });
    expect(inline?.valueAt).toBeUndefined();
  });
});
