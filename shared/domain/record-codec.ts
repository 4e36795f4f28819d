/**
 * The compact binary encoding of a batch: the records one produce request appends to one partition,
 * stored as one DynamoDB item (or several, split with {@link splitIntoChunks}) and later copied
 * verbatim into S3 segments. Bytes stored per logical byte decide both the cost and the
 * per-partition write ceiling (a DynamoDB partition key takes about 1 MB/s), hence varints, deltas
 * and compression.
 *
 * Layout (version 1):
 *
 * ```
 * byte 0          body (compressed with `codec`, unless codec is 0)
 * +-------+-------+--------------+----------------------+----------+-----+------------+
 * |version| codec | varint count | zigzag baseTimestamp | record 0 | ... | record n-1 |
 * |4 bits | 4 bits|              |  (epoch ms)          |          |     |            |
 * +-------+-------+--------------+----------------------+----------+-----+------------+
 *
 * record:
 * +------------------+-----+------------+-----+-----+------------+-----+--------------+----------+
 * | zigzag timestamp | key | varint len | key | val | varint len | val | varint       | header   |
 * | - baseTimestamp  | tag | (if tag>0) |bytes| tag | (if tag>0) |bytes| header count | * count  |
 * +------------------+-----+------------+-----+-----+------------+-----+--------------+----------+
 *   tag (1 byte): 0 null (no length, no bytes), 1 JSON, 2 STRING, 3 BINARY
 *   len: unsigned varint, the byte count of the bytes that follow
 *
 * header:
 * +-----------------+-----------------+------------------+-------------+
 * | varint name len | name (UTF-8)    | varint value len | value bytes |
 * +-----------------+-----------------+------------------+-------------+
 * ```
 *
 * - codec: 0 none, 1 deflate-raw, 2 gzip, 3 brotli (all from `node:zlib`). The writer compresses only
 *   when that makes the body smaller, so every reader must accept every codec.
 * - varint: unsigned LEB128, 7 bits per byte, least significant first, at most 8 bytes; values up to
 *   `Number.MAX_SAFE_INTEGER` (computed with arithmetic, not 32-bit bit operations, because
 *   timestamps exceed 2^31).
 * - zigzag: 0, -1, 1, -2, ... encoded as 0, 1, 2, 3, ... so small negative deltas stay small.
 * - baseTimestamp is the first record's timestamp; offsets are not stored (record i of a batch
 *   at `baseOffset` has offset `baseOffset + i`).
 */

import assert from 'node:assert/strict';
import {
  brotliCompressSync,
  brotliDecompressSync,
  constants,
  deflateRawSync,
  gunzipSync,
  gzipSync,
  inflateRawSync,
} from 'node:zlib';
import { ShoalError } from './errors.js';
import { LIMITS } from './limits.js';
import type { DataType, LogRecord, RecordHeader, RecordInput, TypedBytes } from './record.js';

/** Compression codecs of the batch format; `none` stores the body as is. */
export type BatchCodec = 'none' | 'deflate-raw' | 'gzip' | 'brotli';

/**
 * How {@link encodeBatch} compresses. `level` is zlib's level (1 to 9) for deflate-raw and gzip and
 * brotli's quality (0 to 11) for brotli; ignored for `none`.
 */
export interface BatchCompression {
  readonly codec: BatchCodec;
  readonly level: number;
}

/** Thrown by {@link decodeBatch} when the bytes are not a valid batch (corrupt, truncated, foreign). */
export class CorruptBatchError extends ShoalError {
  override name = 'CorruptBatchError';
}

/**
 * Encodes records as one batch (format above), compressed when that makes it smaller.
 *
 * @param compression the codec to try; by default {@link defaultBatchCompression} of the body's
 *   size, chosen by measurement.
 * @throws RangeError when a timestamp is outside 0..{@link TIMESTAMP_MS_MAX} or not an integer,
 *   or the body would exceed {@link BATCH_BODY_BYTES_MAX}: the caller validates before encoding.
 * @example
 * const item = encodeBatch(records); // store it
 * decodeBatch(item, baseOffset);     // the same records, with offsets
 */
export function encodeBatch(records: readonly RecordInput[], compression?: BatchCompression): Uint8Array {
  const baseTimestamp = records[0]?.timestamp ?? 0;
  let bodyBytes = varintBytes(records.length) + varintBytes(zigzag(baseTimestamp));
  for (const record of records) {
    checkTimestamp(record.timestamp);
    bodyBytes += encodedRecordBytes(record, baseTimestamp);
  }
  if (bodyBytes > BATCH_BODY_BYTES_MAX) {
    throw new RangeError(`Batch body of ${bodyBytes} bytes exceeds ${BATCH_BODY_BYTES_MAX} bytes`);
  }

  const body = new Uint8Array(bodyBytes);
  let position = writeVarint(body, 0, records.length);
  position = writeVarint(body, position, zigzag(baseTimestamp));
  for (const record of records) {
    position = writeVarint(body, position, zigzag(record.timestamp - baseTimestamp));
    position = writeTyped(body, position, record.key);
    position = writeTyped(body, position, record.value);
    position = writeVarint(body, position, record.headers.length);
    for (const header of record.headers) {
      const nameBytes = utf8Bytes(header.name);
      position = writeVarint(body, position, nameBytes);
      const { written } = utf8Encoder.encodeInto(header.name, body.subarray(position, position + nameBytes));
      assert.equal(written, nameBytes, 'UTF-8 length of a header name');
      position += nameBytes;
      position = writeBytes(body, position, header.value);
    }
  }
  assert.equal(position, bodyBytes, 'encoded body size');

  const chosen = compression ?? defaultBatchCompression(bodyBytes);
  const compressed = compress(body, chosen);
  const stored = compressed !== undefined && compressed.length < body.length ? compressed : body;
  const codec = stored === body ? 'none' : chosen.codec;
  const batch = new Uint8Array(1 + stored.length);
  batch[0] = (FORMAT_VERSION << 4) | CODEC_IDS[codec];
  batch.set(stored, 1);
  return batch;
}

/**
 * Decodes a batch written by {@link encodeBatch}; record i gets offset `baseOffset + i`.
 * Every length is checked against the bytes that remain, so corrupt or truncated input fails
 * instead of yielding garbage. The returned byte arrays are copies: they never alias `data`.
 *
 * @throws CorruptBatchError when `data` is not a complete, valid batch.
 * @throws RangeError when `baseOffset` is not a non-negative safe integer.
 */
export function decodeBatch(data: Uint8Array, baseOffset: number): LogRecord[] {
  if (!Number.isSafeInteger(baseOffset) || baseOffset < 0) {
    throw new RangeError(`baseOffset must be a non-negative integer, got ${baseOffset}`);
  }
  const first = data[0];
  if (first === undefined) throw new CorruptBatchError('Empty batch: no format byte');
  const version = first >> 4;
  if (version !== FORMAT_VERSION) {
    throw new CorruptBatchError(`Unsupported batch format version ${version} (expected ${FORMAT_VERSION})`);
  }
  const codec = CODECS_BY_ID[first & 0x0f];
  if (codec === undefined) throw new CorruptBatchError(`Unknown batch codec ${first & 0x0f}`);
  // A plain view even when `data` is a Buffer, whose `slice` would alias instead of copy.
  const stored = new Uint8Array(data.buffer, data.byteOffset + 1, data.byteLength - 1);
  const reader = new Reader(decompress(stored, codec));

  const count = reader.varint('record count');
  if (count > reader.remaining() / RECORD_BYTES_MIN) {
    throw new CorruptBatchError(`Record count ${count} does not fit in ${reader.remaining()} bytes`);
  }
  const baseTimestamp = unzigzag(reader.varint('base timestamp'));
  const records: LogRecord[] = [];
  for (let index = 0; index < count; index++) {
    const timestamp = baseTimestamp + unzigzag(reader.varint('timestamp delta'));
    if (!isValidTimestamp(timestamp)) {
      throw new CorruptBatchError(
        `Record ${index} has timestamp ${timestamp} outside 0..${TIMESTAMP_MS_MAX}`,
      );
    }
    const key = reader.typed('key');
    const value = reader.typed('value');
    const headerCount = reader.varint('header count');
    if (headerCount > reader.remaining() / HEADER_BYTES_MIN) {
      throw new CorruptBatchError(`Header count ${headerCount} does not fit in ${reader.remaining()} bytes`);
    }
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      const name = reader.utf8('header name');
      headers.push({ name, value: reader.bytes('header value') });
    }
    records.push({ offset: baseOffset + index, timestamp, key, value, headers });
  }
  if (reader.remaining() !== 0) {
    throw new CorruptBatchError(`${reader.remaining()} unexpected bytes after the last record`);
  }
  return records;
}

/**
 * Where the value's bytes lie in a batch of one record stored uncompressed (as a record over
 * `recordInlineBytesMax` is): `start` (inclusive) to `end` (exclusive), counted from the batch's
 * first byte. Undefined for any other batch (compressed, several records, a null value), whose
 * values are not one contiguous range of the stored bytes. A fetch hands such a range out by
 * reference when its answer cannot hold the value.
 *
 * @throws CorruptBatchError when the batch is truncated.
 * @example rawValueRange(encodeBatch([big], { codec: 'none', level: 0 })) // { start: 12, end: 10_485_700 }
 */
export function rawValueRange(batch: Uint8Array): { start: number; end: number } | undefined {
  const first = batch[0];
  if (first === undefined || first >> 4 !== FORMAT_VERSION || (first & 0x0f) !== CODEC_IDS.none) {
    return undefined;
  }
  const reader = new Reader(batch.subarray(1));
  if (reader.varint('record count') !== 1) return undefined;
  reader.varint('base timestamp');
  reader.varint('timestamp delta');
  reader.typed('key');
  const span = reader.typedSpan('value');
  return span && { start: 1 + span.start, end: 1 + span.end };
}

/**
 * Decodes a batch read from bytes `batchStart` on of the S3 object `objectKey`, and marks the value
 * of a record stored apart (a batch over `recordInlineBytesMax` holding one uncompressed record)
 * with its place in that object.
 */
export function decodeBatchAt(
  data: Uint8Array,
  baseOffset: number,
  objectKey: string,
  batchStart: number,
): LogRecord[] {
  const records = decodeBatch(data, baseOffset);
  const range = data.byteLength > LIMITS.recordInlineBytesMax ? rawValueRange(data) : undefined;
  const [only] = records;
  if (!range || !only || records.length !== 1) return records;
  return [{ ...only, valueAt: { objectKey, start: batchStart + range.start, end: batchStart + range.end } }];
}

/**
 * The exact number of body bytes a record takes in a batch whose base timestamp is
 * `baseTimestamp` (uncompressed, without the batch header). Without `baseTimestamp` the timestamp
 * delta is counted at its widest, {@link TIMESTAMP_DELTA_BYTES_MAX}: an upper bound that holds in
 * any batch, which is what splitting a request into items needs before the bases are known.
 *
 * A batch's stored size is at most `1 + BATCH_HEADER_BYTES_MAX + sum(encodedRecordBytes(r))`,
 * whatever the compression.
 */
export function encodedRecordBytes(record: RecordInput, baseTimestamp?: number): number {
  let bytes =
    baseTimestamp === undefined
      ? TIMESTAMP_DELTA_BYTES_MAX
      : varintBytes(zigzag(record.timestamp - baseTimestamp));
  bytes += typedBytes(record.key) + typedBytes(record.value) + varintBytes(record.headers.length);
  for (const header of record.headers) {
    const nameBytes = utf8Bytes(header.name);
    bytes += varintBytes(nameBytes) + nameBytes + varintBytes(header.value.length) + header.value.length;
  }
  return bytes;
}

/**
 * Splits records into consecutive chunks whose sizes add up to at most `chunkBytesMax`, keeping
 * order and never returning an empty chunk. A record larger than `chunkBytesMax` gets a chunk of
 * its own (the caller enforces the record size limit). Greedy: a chunk closes only when the next
 * record does not fit, or the chunk holds `chunkRecordsMax` records.
 *
 * @example splitIntoChunks(records, (r) => encodedRecordBytes(r), ITEM_BODY_BYTES_MAX)
 */
export function splitIntoChunks<T>(
  records: readonly T[],
  sizeOf: (record: T) => number,
  chunkBytesMax: number,
  chunkRecordsMax = Number.POSITIVE_INFINITY,
): T[][] {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let chunkBytes = 0;
  for (const record of records) {
    const recordBytes = sizeOf(record);
    if (chunk.length > 0 && (chunk.length >= chunkRecordsMax || chunkBytes + recordBytes > chunkBytesMax)) {
      chunks.push(chunk);
      chunk = [];
      chunkBytes = 0;
    }
    chunk.push(record);
    chunkBytes += recordBytes;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** Reads a batch body front to back; every read is bounded by the bytes that remain. */
class Reader {
  private position = 0;

  constructor(private readonly data: Uint8Array) {}

  remaining(): number {
    return this.data.length - this.position;
  }

  varint(what: string): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < VARINT_BYTES_MAX; i++) {
      const byte = this.data[this.position];
      if (byte === undefined) throw new CorruptBatchError(`Truncated batch: ${what} cut off`);
      this.position++;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (value > Number.MAX_SAFE_INTEGER) throw new CorruptBatchError(`Varint ${what} exceeds 2^53`);
        return value;
      }
      scale *= 128;
    }
    throw new CorruptBatchError(`Varint ${what} longer than ${VARINT_BYTES_MAX} bytes`);
  }

  bytes(what: string): Uint8Array {
    const length = this.varint(`${what} length`);
    if (length > this.remaining()) {
      throw new CorruptBatchError(`Truncated batch: ${what} of ${length} bytes, ${this.remaining()} left`);
    }
    const bytes = this.data.slice(this.position, this.position + length);
    this.position += length;
    return bytes;
  }

  typed(what: string): TypedBytes | null {
    const tag = this.data[this.position];
    if (tag === undefined) throw new CorruptBatchError(`Truncated batch: ${what} type cut off`);
    this.position++;
    if (tag === NULL_TAG) return null;
    const type = DATA_TYPES_BY_TAG[tag];
    if (type === undefined) throw new CorruptBatchError(`Unknown ${what} type tag ${tag}`);
    return { type, bytes: this.bytes(what) };
  }

  /** Skips typed data, returning where its bytes are (undefined when null). */
  typedSpan(what: string): { start: number; end: number } | undefined {
    const tag = this.data[this.position];
    if (tag === undefined) throw new CorruptBatchError(`Truncated batch: ${what} type cut off`);
    this.position++;
    if (tag === NULL_TAG) return undefined;
    const length = this.varint(`${what} length`);
    if (length > this.remaining()) {
      throw new CorruptBatchError(`Truncated batch: ${what} of ${length} bytes, ${this.remaining()} left`);
    }
    const start = this.position;
    this.position += length;
    return { start, end: start + length };
  }

  utf8(what: string): string {
    const bytes = this.bytes(what);
    try {
      return utf8Decoder.decode(bytes);
    } catch (error) {
      throw new CorruptBatchError(`${what} is not valid UTF-8`, { cause: error });
    }
  }
}

function compress(body: Uint8Array, { codec, level }: BatchCompression): Uint8Array | undefined {
  switch (codec) {
    case 'none':
      return undefined;
    case 'deflate-raw':
      return deflateRawSync(body, { level });
    case 'gzip':
      return gzipSync(body, { level });
    case 'brotli':
      return brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: level } });
  }
}

function decompress(stored: Uint8Array, codec: BatchCodec): Uint8Array {
  if (codec === 'none') return stored;
  // maxOutputLength stops a small corrupt (or hostile) input from inflating into gigabytes.
  const options = { maxOutputLength: BATCH_BODY_BYTES_MAX };
  let body: Buffer;
  try {
    if (codec === 'deflate-raw') body = inflateRawSync(stored, options);
    else if (codec === 'gzip') body = gunzipSync(stored, options);
    else body = brotliDecompressSync(stored, options);
  } catch (error) {
    throw new CorruptBatchError(`Batch body does not decompress with ${codec}`, { cause: error });
  }
  return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
}

function writeTyped(target: Uint8Array, position: number, typed: TypedBytes | null): number {
  if (typed === null) {
    target[position] = NULL_TAG;
    return position + 1;
  }
  target[position] = tagOf(typed.type);
  return writeBytes(target, position + 1, typed.bytes);
}

function writeBytes(target: Uint8Array, position: number, bytes: Uint8Array): number {
  const start = writeVarint(target, position, bytes.length);
  target.set(bytes, start);
  return start + bytes.length;
}

function typedBytes(typed: TypedBytes | null): number {
  return typed === null ? 1 : 1 + varintBytes(typed.bytes.length) + typed.bytes.length;
}

function tagOf(type: DataType): number {
  const tag = TAGS_BY_DATA_TYPE[type];
  if (tag === undefined) throw new RangeError(`Unknown data type ${String(type)}`);
  return tag;
}

/** Writes `value` (0..2^53-1) as an unsigned LEB128 varint; returns the position after it. */
function writeVarint(target: Uint8Array, position: number, value: number): number {
  let rest = value;
  let at = position;
  while (rest >= 0x80) {
    target[at++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  target[at++] = rest;
  return at;
}

function varintBytes(value: number): number {
  let bytes = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) bytes++;
  return bytes;
}

function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

function unzigzag(value: number): number {
  return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
}

/** UTF-8 byte length of a string as `TextEncoder` encodes it (a lone surrogate becomes U+FFFD, 3 bytes). */
function utf8Bytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

function isValidTimestamp(timestamp: number): boolean {
  return Number.isSafeInteger(timestamp) && timestamp >= 0 && timestamp <= TIMESTAMP_MS_MAX;
}

function checkTimestamp(timestamp: number): void {
  if (!isValidTimestamp(timestamp)) {
    throw new RangeError(`Record timestamp must be an integer in 0..${TIMESTAMP_MS_MAX}, got ${timestamp}`);
  }
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const FORMAT_VERSION = 1;
const CODEC_IDS: Readonly<Record<BatchCodec, number>> = { none: 0, 'deflate-raw': 1, gzip: 2, brotli: 3 };
const CODECS_BY_ID: readonly (BatchCodec | undefined)[] = ['none', 'deflate-raw', 'gzip', 'brotli'];
const NULL_TAG = 0;
const TAGS_BY_DATA_TYPE: Readonly<Record<DataType, number>> = { JSON: 1, STRING: 2, BINARY: 3 };
const DATA_TYPES_BY_TAG: readonly (DataType | undefined)[] = [undefined, 'JSON', 'STRING', 'BINARY'];
/** Smallest record: timestamp delta, key tag, value tag, header count (one byte each). */
const RECORD_BYTES_MIN = 4;
/** Smallest header: empty name and empty value (one length byte each). */
const HEADER_BYTES_MIN = 2;

/**
 * The compression {@link encodeBatch} uses when given none: {@link DEFAULT_BATCH_COMPRESSION} for a
 * body under {@link LARGE_BATCH_BODY_BYTES_MIN}, {@link LARGE_BATCH_COMPRESSION} from there on.
 *
 * @example defaultBatchCompression(10_000) // { codec: 'brotli', level: 5 }
 */
export function defaultBatchCompression(bodyBytes: number): BatchCompression {
  return bodyBytes < LARGE_BATCH_BODY_BYTES_MIN ? DEFAULT_BATCH_COMPRESSION : LARGE_BATCH_COMPRESSION;
}

/**
 * Compression of batches under {@link LARGE_BATCH_BODY_BYTES_MIN}: brotli at quality 5, chosen by
 * measurement (`scripts/compression-figures.ts`).
 *
 * Measured 2026-12 on Node 20 (a 2-core AMD EPYC shared with other work, load about 12, best of 5
 * runs in CPU time) on the varied order, click and sensor events of `test/support/events.ts`: small
 * ≈ 130 B and typical ≈ 1 KB of JSON per record, a string key on most, a traceparent header on
 * typical ones. Each cell is `stored/logical encode`: stored batch bytes per logical byte (key,
 * value, header names and values) and encode CPU ms per logical MiB. Decoding takes 3 to 6 ms per
 * MiB whatever the codec and level, from 100 records up.
 *
 * ```
 * typical records  1          10          100          1000
 * logical bytes    1 K        10 K        105 K        1053 K
 * none             1.02  1    1.01  1     1.01  1      1.01  1
 * deflate-raw 1     .58 28     .35  7      .26  8       .25  7
 * deflate-raw 6     .57 27     .33 13      .22 15       .20 14
 * gzip 6            .59 34     .33 13      .22 14       .20 14
 * brotli 1          .62 19     .37  5      .24  5       .22  5
 * brotli 2          .63 19     .34  8      .23  8       .22  8
 * brotli 3          .61 26     .33 11      .22  9       .21  9
 * brotli 4          .57 44     .32 21      .21 12       .19 13
 * brotli 5          .54 43     .30 29      .20 23       .18 25
 * brotli 6          .54 42     .30 26      .20 25       .17 32
 * small (130 B), brotli 5: .94 at 1 record, .42 at 10, .28 at 100, .26 at 1000
 * ```
 *
 * Brotli 5 stores the fewest bytes of the mid levels at every batch size: a fifth of the body from
 * 100 typical records up, 5% to 12% less than deflate-raw 6. Below 32 KiB of body that costs at
 * most about 3 ms, and a stored kilobyte in DynamoDB costs a write unit (two in a transaction) and a
 * share of the partition's ~1 MB/s, worth far more than a millisecond of Lambda CPU. Brotli 6 saves
 * at most 2% more for up to 30% more CPU; brotli 11 reaches .15 at 1000 records but takes over a
 * second.
 */
export const DEFAULT_BATCH_COMPRESSION: BatchCompression = { codec: 'brotli', level: 5 };

/**
 * Compression of batches from {@link LARGE_BATCH_BODY_BYTES_MIN} on: brotli at quality 1, a fifth
 * of brotli 5's CPU (about 5 instead of 25 ms per MiB, table at {@link DEFAULT_BATCH_COMPRESSION})
 * for a quarter more stored bytes (.22 instead of .18 of the logical bytes at 1000 typical records).
 * At brotli 5, compression was the produce handler's largest cost on a large request (measured
 * with `scripts/profile-produce.ts` at 1000 typical records: 65 of 160 ms CPU, ahead of parsing the
 * JSON at 25), and it grows with every byte. Kept in DynamoDB items, the extra quarter costs write units (about 500 instead of
 * 400 per MiB at 1000 records); kept in S3 objects, as a partition log may do for large appends and
 * the archiver does for every batch, it costs storage by the gigabyte-month, next to nothing.
 * Brotli 2 to 4 land in between (.22 to .19 for 8 to 13 ms per MiB); deflate-raw 1 is both slower
 * and larger.
 */
export const LARGE_BATCH_COMPRESSION: BatchCompression = { codec: 'brotli', level: 1 };

/**
 * Uncompressed body bytes from which a batch is compressed with {@link LARGE_BATCH_COMPRESSION}:
 * 32 KiB. A body that large encodes to about 6 to 8 KB of typical JSON events at either quality,
 * more than the DynamoDB partition log keeps in items (`PAYLOAD_INLINE_BYTES_MAX`, 4 KB), so its
 * bytes go to S3, where brotli 1's extra quarter costs storage next to nothing, and its CPU saving
 * (about 2 ms at 100 typical records) is taken. Smaller bodies, the ones kept in items and billed
 * in write units per KB, keep brotli 5's ratio.
 */
export const LARGE_BATCH_BODY_BYTES_MIN = 32 * 1024;

/** Largest timestamp accepted, in epoch milliseconds: 9999-12-31T23:59:59.999Z. */
export const TIMESTAMP_MS_MAX = 253_402_300_799_999;

/** Longest varint, in bytes: 8 × 7 bits cover every safe integer (2^53). */
export const VARINT_BYTES_MAX = 8;

/** Widest timestamp delta, in bytes: zigzag(-TIMESTAMP_MS_MAX) needs 7 varint bytes. */
export const TIMESTAMP_DELTA_BYTES_MAX = 7;

/** Upper bound of the body's header (record count and base timestamp), in bytes. */
export const BATCH_HEADER_BYTES_MAX = 2 * VARINT_BYTES_MAX;

/**
 * Largest uncompressed body, in bytes: bounds decompression of corrupt input (a few KB of brotli
 * can expand to gigabytes). Far above a produce request (6 MB) or a DynamoDB item (400 KB).
 */
export const BATCH_BODY_BYTES_MAX = 16 * 1024 * 1024;
