/**
 * The S3 segment object: a contiguous run of one partition's batches, each copied byte for byte as
 * DynamoDB stored it (the encoding of `record-codec.ts`, never decoded or re-encoded on the way),
 * followed by a sparse index that lets a reader fetch one byte range instead of the whole object.
 *
 * Layout (version 1):
 *
 * ```
 * position 0                                  indexPosition                  objectBytes - 16
 * +---------+---------+-----+---------------+-------------------------------+-----------------+
 * | frame 0 | frame 1 | ... | frame n-1     | index                         | trailer (16 B)  |
 * +---------+---------+-----+---------------+-------------------------------+-----------------+
 *
 * frame:   varint offsetDelta (baseOffset - segment baseOffset) | varint recordCount |
 *          varint maxTimestampSoFar | varint batchBytes | batch (batchBytes, as stored)
 *
 * index:   varint version (1) | varint baseOffset | varint recordCount | varint batchCount |
 *          varint maxTimestampSoFar (of the last batch) | varint entryCount |
 *          entryCount × (varint offsetDelta | varint positionDelta | varint timestampDelta)
 *          (deltas from the previous entry; the first entry is the first frame: 0 | 0 | its maxTimestampSoFar)
 *
 * trailer: uint32 BE index byte length | uint32 BE CRC-32 of the index | ASCII "SHOALSEG"
 * ```
 *
 * The index is sparse, like Kafka's offset index (`index.interval.bytes`): one entry for the first
 * frame and then one for the first frame that starts at least `indexIntervalBytes` after the
 * previous entry. A reader finds the last entry at or before the offset it wants, reads from that
 * entry's position, and walks frame headers (which carry record counts, so no batch is decompressed
 * before it is needed). The entries' `maxTimestampSoFar` (a running maximum, monotonic) serve
 * offset-for-timestamp lookups the same way.
 *
 * The manifest in DynamoDB records `indexPosition` and `objectBytes`, so a reader fetches the index
 * with one exact range request; the trailer makes an object self-describing without the manifest.
 */
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { ShoalError } from './errors.js';
import { VARINT_BYTES_MAX } from './record-codec.js';

/** A batch as the archiver copies it into a segment. */
export interface EncodedBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** The running maximum of record timestamps up to and including this batch (epoch ms). */
  readonly maxTimestampSoFar: number;
  /** The batch exactly as stored in DynamoDB (`encodeBatch` output). */
  readonly data: Uint8Array;
}

/** A point of the sparse index: where the frame of the batch at `baseOffset` starts. */
export interface SegmentIndexEntry {
  readonly baseOffset: number;
  /** Byte position of the frame in the object. */
  readonly position: number;
  readonly maxTimestampSoFar: number;
}

/** A decoded segment index. */
export interface SegmentIndex {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly batchCount: number;
  /** Of the last batch. */
  readonly maxTimestampSoFar: number;
  /** Where the frames end and the index starts. */
  readonly indexPosition: number;
  /** In offset (and position) order; the first is the first frame. */
  readonly entries: readonly SegmentIndexEntry[];
}

/** A frame read back: one batch with its position in the object. */
export interface SegmentFrame extends EncodedBatch {
  /** Byte position of the frame header in the object. */
  readonly position: number;
  /** Position just past the batch bytes (the next frame's position). */
  readonly end: number;
}

/** A segment ready to upload. */
export interface EncodedSegment {
  readonly bytes: Uint8Array;
  readonly index: SegmentIndex;
  /** Sum of the batches' stored bytes (what DynamoDB held), without frames, index and trailer. */
  readonly batchBytes: number;
}

/** The bytes (or the object) are not a valid segment: corrupt, truncated, or not a segment at all. */
export class CorruptSegmentError extends ShoalError {
  override name = 'CorruptSegmentError';
}

/** A segment object named by the manifest is not in the bucket (deleted by retention meanwhile). */
export class SegmentMissingError extends ShoalError {
  override name = 'SegmentMissingError';
  constructor(
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(`Segment object ${key} does not exist`, options);
  }
}

export const SEGMENT_FORMAT_VERSION = 1;
export const SEGMENT_TRAILER_BYTES = 16;
const SEGMENT_MAGIC = 'SHOALSEG';
/** A frame header holds four varints. */
export const FRAME_HEADER_BYTES_MAX = 4 * VARINT_BYTES_MAX;
/** Default spacing of index entries; Kafka's `index.interval.bytes` is 4 KiB, an S3 range read costs the same for 32 KiB. */
export const INDEX_INTERVAL_BYTES_DEFAULT = 32 * 1024;

/**
 * Lays batches out as one segment object (format above).
 *
 * @param batches contiguous: each starts right after the previous one's last offset; at least one.
 * @throws RangeError when the batches are empty or not contiguous (a bug in the caller).
 * @example
 * const { bytes, index } = encodeSegment(batches);
 * await objects.putSegment(key, bytes);
 */
export function encodeSegment(
  batches: readonly EncodedBatch[],
  indexIntervalBytes: number = INDEX_INTERVAL_BYTES_DEFAULT,
): EncodedSegment {
  const first = batches[0];
  const last = batches.at(-1);
  if (!first || !last) throw new RangeError('A segment holds at least one batch');
  const baseOffset = first.baseOffset;

  const headers: Uint8Array[] = [];
  const entries: SegmentIndexEntry[] = [];
  let position = 0;
  let batchBytes = 0;
  let expected = baseOffset;
  let previousTimestamp = 0;
  let lastEntryPosition = Number.NEGATIVE_INFINITY;
  for (const batch of batches) {
    if (batch.baseOffset !== expected || batch.lastOffset < batch.baseOffset) {
      throw new RangeError(
        `Batches of a segment must be contiguous: expected one at ${expected}, got ${batch.baseOffset}..${batch.lastOffset}`,
      );
    }
    if (batch.maxTimestampSoFar < previousTimestamp) {
      throw new RangeError(`maxTimestampSoFar must not decrease (batch at ${batch.baseOffset})`);
    }
    const header = new VarintWriter();
    header.write(batch.baseOffset - baseOffset);
    header.write(batch.lastOffset - batch.baseOffset + 1);
    header.write(batch.maxTimestampSoFar);
    header.write(batch.data.byteLength);
    const headerBytes = header.finish();
    if (position - lastEntryPosition >= indexIntervalBytes) {
      entries.push({ baseOffset: batch.baseOffset, position, maxTimestampSoFar: batch.maxTimestampSoFar });
      lastEntryPosition = position;
    }
    headers.push(headerBytes);
    position += headerBytes.byteLength + batch.data.byteLength;
    batchBytes += batch.data.byteLength;
    expected = batch.lastOffset + 1;
    previousTimestamp = batch.maxTimestampSoFar;
  }
  const indexPosition = position;
  const index: SegmentIndex = {
    baseOffset,
    lastOffset: last.lastOffset,
    batchCount: batches.length,
    maxTimestampSoFar: last.maxTimestampSoFar,
    indexPosition,
    entries,
  };
  const indexBytes = encodeIndex(index);

  const bytes = new Uint8Array(indexPosition + indexBytes.byteLength + SEGMENT_TRAILER_BYTES);
  let at = 0;
  batches.forEach((batch, i) => {
    const header = headers[i] as Uint8Array;
    bytes.set(header, at);
    at += header.byteLength;
    bytes.set(batch.data, at);
    at += batch.data.byteLength;
  });
  assert.equal(at, indexPosition, 'frames end where the index starts');
  bytes.set(indexBytes, at);
  at += indexBytes.byteLength;
  const trailer = new DataView(bytes.buffer, bytes.byteOffset + at, SEGMENT_TRAILER_BYTES);
  trailer.setUint32(0, indexBytes.byteLength);
  trailer.setUint32(4, crc32(indexBytes));
  for (let i = 0; i < SEGMENT_MAGIC.length; i++) trailer.setUint8(8 + i, SEGMENT_MAGIC.charCodeAt(i));
  return { bytes, index, batchBytes };
}

/**
 * Decodes the index from the object's tail: the bytes from `indexPosition` to the end (index and
 * trailer), as fetched with one range request.
 *
 * @throws CorruptSegmentError when the tail is not a valid index and trailer.
 */
export function decodeSegmentIndex(tail: Uint8Array, indexPosition: number): SegmentIndex {
  if (tail.byteLength < SEGMENT_TRAILER_BYTES) {
    throw new CorruptSegmentError(`Segment tail of ${tail.byteLength} bytes has no room for the trailer`);
  }
  const trailer = new DataView(tail.buffer, tail.byteOffset + tail.byteLength - SEGMENT_TRAILER_BYTES);
  const magic = String.fromCharCode(...tail.subarray(tail.byteLength - 8));
  if (magic !== SEGMENT_MAGIC)
    throw new CorruptSegmentError('Not a Shoal segment: the trailer magic is missing');
  const indexBytes = trailer.getUint32(0);
  if (indexBytes !== tail.byteLength - SEGMENT_TRAILER_BYTES) {
    throw new CorruptSegmentError(
      `Segment index is ${indexBytes} bytes by its trailer, ${tail.byteLength - SEGMENT_TRAILER_BYTES} were read`,
    );
  }
  const indexData = tail.subarray(0, indexBytes);
  if (crc32(indexData) !== trailer.getUint32(4)) {
    throw new CorruptSegmentError('Segment index does not match its checksum');
  }
  try {
    return readIndex(indexData, indexPosition);
  } catch (error) {
    if (error instanceof TruncatedError)
      throw new CorruptSegmentError(`Segment index truncated: ${error.message}`);
    throw error;
  }
}

function readIndex(indexData: Uint8Array, indexPosition: number): SegmentIndex {
  const reader = new VarintReader(indexData, 0);
  const version = reader.read('version');
  if (version !== SEGMENT_FORMAT_VERSION) {
    throw new CorruptSegmentError(`Unsupported segment format version ${version}`);
  }
  const baseOffset = reader.read('base offset');
  const recordCount = reader.read('record count');
  const batchCount = reader.read('batch count');
  const maxTimestampSoFar = reader.read('max timestamp');
  const entryCount = reader.read('entry count');
  if (recordCount < 1 || batchCount < 1 || entryCount < 1 || entryCount > batchCount) {
    throw new CorruptSegmentError(
      `Segment index counts are inconsistent: ${recordCount} records, ${batchCount} batches, ${entryCount} entries`,
    );
  }
  const entries: SegmentIndexEntry[] = [];
  let offset = baseOffset;
  let position = 0;
  let timestamp = 0;
  for (let i = 0; i < entryCount; i++) {
    offset += reader.read('entry offset');
    position += reader.read('entry position');
    timestamp += reader.read('entry timestamp');
    entries.push({ baseOffset: offset, position, maxTimestampSoFar: timestamp });
  }
  if (reader.position !== indexData.byteLength) {
    throw new CorruptSegmentError(
      `${indexData.byteLength - reader.position} unexpected bytes after the index`,
    );
  }
  const lastOffset = baseOffset + recordCount - 1;
  const lastEntry = entries.at(-1);
  if (entries[0]?.position !== 0 || entries[0].baseOffset !== baseOffset || !lastEntry) {
    throw new CorruptSegmentError('The first index entry must point at the first frame');
  }
  if (lastEntry.baseOffset > lastOffset || lastEntry.position >= indexPosition) {
    throw new CorruptSegmentError('An index entry points past the frames');
  }
  return { baseOffset, lastOffset, batchCount, maxTimestampSoFar, indexPosition, entries };
}

/**
 * Reads the complete frames in `bytes`, which hold the object's bytes from `startPosition` on and
 * begin with the frame of the batch at `startBaseOffset` (an index entry, or the end of a frame
 * read earlier). A frame cut off at the end of `bytes` is left out: the caller reads on from the
 * last returned frame's `end`.
 *
 * @throws CorruptSegmentError when a header is malformed or the offsets do not continue.
 */
export function decodeFrames(
  bytes: Uint8Array,
  startPosition: number,
  startBaseOffset: number,
  segmentBaseOffset: number,
): SegmentFrame[] {
  const frames: SegmentFrame[] = [];
  let at = 0;
  let expected = startBaseOffset;
  while (at < bytes.byteLength) {
    const reader = new VarintReader(bytes, at);
    let header: { offsetDelta: number; recordCount: number; maxTimestampSoFar: number; batchBytes: number };
    try {
      header = {
        offsetDelta: reader.read('offset delta'),
        recordCount: reader.read('record count'),
        maxTimestampSoFar: reader.read('max timestamp'),
        batchBytes: reader.read('batch bytes'),
      };
    } catch (error) {
      if (error instanceof TruncatedError) break;
      throw error;
    }
    const baseOffset = segmentBaseOffset + header.offsetDelta;
    if (baseOffset !== expected || header.recordCount < 1) {
      throw new CorruptSegmentError(
        `Segment frame at position ${startPosition + at} holds offset ${baseOffset} (${header.recordCount} records), expected ${expected}`,
      );
    }
    const dataStart = reader.position;
    const dataEnd = dataStart + header.batchBytes;
    if (dataEnd > bytes.byteLength) break;
    frames.push({
      baseOffset,
      lastOffset: baseOffset + header.recordCount - 1,
      maxTimestampSoFar: header.maxTimestampSoFar,
      data: bytes.subarray(dataStart, dataEnd),
      position: startPosition + at,
      end: startPosition + dataEnd,
    });
    expected = baseOffset + header.recordCount;
    at = dataEnd;
  }
  return frames;
}

/** The last index entry at or before `offset` (the index's first entry when `offset` precedes it). */
export function entryForOffset(index: SegmentIndex, offset: number): SegmentIndexEntry {
  return lastEntryWhere(index, (entry) => entry.baseOffset <= offset);
}

/**
 * The last index entry whose running maximum timestamp is below `timestamp`: the first batch whose
 * running maximum reaches `timestamp` starts at or after it.
 */
export function entryForTimestamp(index: SegmentIndex, timestamp: number): SegmentIndexEntry {
  return lastEntryWhere(index, (entry) => entry.maxTimestampSoFar < timestamp);
}

/** Where the entry after `entry` starts, or the end of the frames. */
export function nextEntryPosition(index: SegmentIndex, entry: SegmentIndexEntry): number {
  const next = index.entries.find((candidate) => candidate.position > entry.position);
  return next?.position ?? index.indexPosition;
}

function lastEntryWhere(index: SegmentIndex, test: (entry: SegmentIndexEntry) => boolean): SegmentIndexEntry {
  let low = 0;
  let high = index.entries.length - 1;
  // Binary search for the last entry passing `test` (entries pass, then fail, in order).
  while (low < high) {
    const middle = low + Math.ceil((high - low) / 2);
    if (test(index.entries[middle] as SegmentIndexEntry)) low = middle;
    else high = middle - 1;
  }
  return index.entries[low] as SegmentIndexEntry;
}

function encodeIndex(index: SegmentIndex): Uint8Array {
  const writer = new VarintWriter();
  writer.write(SEGMENT_FORMAT_VERSION);
  writer.write(index.baseOffset);
  writer.write(index.lastOffset - index.baseOffset + 1);
  writer.write(index.batchCount);
  writer.write(index.maxTimestampSoFar);
  writer.write(index.entries.length);
  let offset = index.baseOffset;
  let position = 0;
  let timestamp = 0;
  for (const entry of index.entries) {
    writer.write(entry.baseOffset - offset);
    writer.write(entry.position - position);
    writer.write(entry.maxTimestampSoFar - timestamp);
    offset = entry.baseOffset;
    position = entry.position;
    timestamp = entry.maxTimestampSoFar;
  }
  return writer.finish();
}

/** Unsigned LEB128 varints (as in `record-codec.ts`), growable. */
class VarintWriter {
  private bytes = new Uint8Array(64);
  private length = 0;

  write(value: number): void {
    assert.ok(Number.isSafeInteger(value) && value >= 0, `varint value ${value}`);
    if (this.length + VARINT_BYTES_MAX > this.bytes.byteLength) {
      const grown = new Uint8Array(this.bytes.byteLength * 2);
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    let rest = value;
    while (rest >= 0x80) {
      this.bytes[this.length++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.bytes[this.length++] = rest;
  }

  finish(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

class TruncatedError extends Error {}

class VarintReader {
  constructor(
    private readonly bytes: Uint8Array,
    public position: number,
  ) {}

  read(what: string): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < VARINT_BYTES_MAX; i++) {
      const byte = this.bytes[this.position];
      if (byte === undefined) throw new TruncatedError(`${what} cut off`);
      this.position++;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (value > Number.MAX_SAFE_INTEGER)
          throw new CorruptSegmentError(`Segment varint ${what} exceeds 2^53`);
        return value;
      }
      scale *= 128;
    }
    throw new CorruptSegmentError(`Segment varint ${what} is longer than ${VARINT_BYTES_MAX} bytes`);
  }
}
