/**
 * The S3 segment object byte for byte (`segment-format.ts`): a known segment's frames, index and
 * trailer, where index entries fall at the interval's bound, each refusal of a malformed index
 * (with a valid checksum, so the check itself is what refuses it), frames read from any position,
 * and the index lookups exactly.
 */
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  CorruptSegmentError,
  decodeFrames,
  decodeSegmentIndex,
  type EncodedBatch,
  encodeSegment,
  entryForOffset,
  entryForTimestamp,
  nextEntryPosition,
  SEGMENT_TRAILER_BYTES,
  SegmentMissingError,
} from '../../shared/domain/segment-format.js';

const hex = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

/** Two batches whose bytes are opaque to the segment (it never decodes them). */
const KNOWN: EncodedBatch[] = [
  { baseOffset: 5, lastOffset: 6, maxTimestampSoFar: 300, data: Uint8Array.of(0xaa, 0xbb, 0xcc) },
  { baseOffset: 7, lastOffset: 9, maxTimestampSoFar: 310, data: Uint8Array.of(0xdd) },
];

// biome-ignore format: one row per field
const KNOWN_FRAMES = [
  0x00, 0x02, 0xac, 0x02, 0x03, 0xaa, 0xbb, 0xcc, // offset delta 0, 2 records, max 300, 3 bytes, batch
  0x02, 0x03, 0xb6, 0x02, 0x01, 0xdd, // offset delta 2, 3 records, max 310, 1 byte, batch
];

// biome-ignore format: one row per field
const KNOWN_INDEX = [
  0x01, // version
  0x05, 0x05, 0x02, // base offset 5, 5 records, 2 batches
  0xb6, 0x02, // max timestamp 310
  0x02, // two entries
  0x00, 0x00, 0xac, 0x02, // first frame: offset 5, position 0, max 300
  0x02, 0x08, 0x0a, // second frame: offset +2, position +8, max +10
];

/** An index followed by its trailer: its length, its CRC-32 and the magic. */
function tailOf(index: readonly number[]): Uint8Array {
  const bytes = Uint8Array.from(index);
  const tail = new Uint8Array(bytes.byteLength + SEGMENT_TRAILER_BYTES);
  tail.set(bytes);
  const trailer = new DataView(tail.buffer, bytes.byteLength);
  trailer.setUint32(0, bytes.byteLength);
  trailer.setUint32(4, crc32(bytes));
  tail.set(new TextEncoder().encode('SHOALSEG'), bytes.byteLength + 8);
  return tail;
}

/** `count` batches of one record each from offset 0, each `dataBytes` bytes, timestamps 1, 2, ... */
function equalBatches(count: number, dataBytes: number): EncodedBatch[] {
  return Array.from({ length: count }, (_, i) => ({
    baseOffset: i,
    lastOffset: i,
    maxTimestampSoFar: i + 1,
    data: new Uint8Array(dataBytes).fill(i),
  }));
}

describe('segment layout', () => {
  it('writes a known segment byte for byte: frames, index, trailer', () => {
    // Act
    const segment = encodeSegment(KNOWN, 1);

    // Assess
    const crc = crc32(Uint8Array.from(KNOWN_INDEX)).toString(16).padStart(8, '0');
    expect(hex(segment.bytes)).toBe(
      `${hex(Uint8Array.from([...KNOWN_FRAMES, ...KNOWN_INDEX]))}0000000e${crc}${hex(new TextEncoder().encode('SHOALSEG'))}`,
    );
    expect(segment.batchBytes).toBe(4);
    expect(segment.index).toEqual({
      baseOffset: 5,
      lastOffset: 9,
      batchCount: 2,
      maxTimestampSoFar: 310,
      indexPosition: 14,
      entries: [
        { baseOffset: 5, position: 0, maxTimestampSoFar: 300 },
        { baseOffset: 7, position: 8, maxTimestampSoFar: 310 },
      ],
    });
  });

  it('reads the index of a known segment', () => {
    // Act
    const index = decodeSegmentIndex(tailOf(KNOWN_INDEX), 14);

    // Assess
    expect(index).toEqual(encodeSegment(KNOWN, 1).index);
  });

  it('reads the frames of a known segment from any frame, with their positions', () => {
    // Prepare
    const bytes = Uint8Array.from(KNOWN_FRAMES);

    // Act
    const all = decodeFrames(bytes, 0, 5, 5);
    const second = decodeFrames(bytes.subarray(8), 8, 7, 5);

    // Assess
    expect(all).toEqual([
      { ...KNOWN[0], position: 0, end: 8 },
      { ...KNOWN[1], position: 8, end: 14 },
    ]);
    expect(second).toEqual([{ ...KNOWN[1], position: 8, end: 14 }]);
  });

  it('writes a batch length and a timestamp of 128 in two varint bytes', () => {
    // Prepare
    const batch: EncodedBatch = {
      baseOffset: 0,
      lastOffset: 0,
      maxTimestampSoFar: 128,
      data: new Uint8Array(128),
    };

    // Act
    const segment = encodeSegment([batch]);

    // Assess
    expect(hex(segment.bytes.subarray(0, 6))).toBe('000180018001');
    expect(decodeFrames(segment.bytes.subarray(0, segment.index.indexPosition), 0, 0, 0)).toHaveLength(1);
  });

  it('places one index entry at the first frame when the interval is larger than the frames', () => {
    // Act
    const segment = encodeSegment(KNOWN);

    // Assess
    expect(segment.index.entries).toEqual([{ baseOffset: 5, position: 0, maxTimestampSoFar: 300 }]);
    expect(decodeSegmentIndex(segment.bytes.subarray(14), 14)).toEqual(segment.index);
  });

  it('places an entry at a frame exactly indexIntervalBytes after the previous entry', () => {
    // Prepare: frames of 14 bytes (4 header bytes and 10 of batch) at 0, 14, 28, 42.
    const batches = equalBatches(4, 10);

    // Act
    const at14 = encodeSegment(batches, 14).index.entries.map((entry) => entry.position);
    const at15 = encodeSegment(batches, 15).index.entries.map((entry) => entry.position);
    const at43 = encodeSegment(batches, 43).index.entries.map((entry) => entry.position);

    // Assess
    expect(at14).toEqual([0, 14, 28, 42]);
    expect(at15).toEqual([0, 28]);
    expect(at43).toEqual([0]);
  });

  it('grows its index past 64 bytes for many entries', () => {
    // Prepare
    const batches = equalBatches(100, 1);

    // Act
    const segment = encodeSegment(batches, 1);
    const index = decodeSegmentIndex(
      segment.bytes.subarray(segment.index.indexPosition),
      segment.index.indexPosition,
    );

    // Assess
    expect(index.entries).toHaveLength(100);
    expect(index).toEqual(segment.index);
    expect(index.entries[99]).toEqual({ baseOffset: 99, position: 99 * 5, maxTimestampSoFar: 100 });
  });
});

describe('encodeSegment refusals', () => {
  it('fails when a batch ends before it starts', () => {
    // Act
    const act = () => encodeSegment([{ ...(KNOWN[0] as EncodedBatch), lastOffset: 4 }]);

    // Assess
    expect(act).toThrow(RangeError);
  });

  it('fails when the running maximum timestamp decreases, and takes it unchanged', () => {
    // Prepare
    const [first, second] = KNOWN as [EncodedBatch, EncodedBatch];

    // Act
    const act = () => encodeSegment([first, { ...second, maxTimestampSoFar: 299 }]);
    const same = encodeSegment([first, { ...second, maxTimestampSoFar: 300 }]);

    // Assess
    expect(act).toThrow(RangeError);
    expect(same.index.maxTimestampSoFar).toBe(300);
  });

  it('fails when there is no batch', () => {
    // Act
    const act = () => encodeSegment([]);

    // Assess
    expect(act).toThrow(RangeError);
    expect(act).toThrow('A segment holds at least one batch');
  });

  it('fails when a batch does not start right after the previous one', () => {
    // Prepare
    const [first, second] = KNOWN as [EncodedBatch, EncodedBatch];

    // Act
    const gap = () => encodeSegment([first, { ...second, baseOffset: 8 }]);
    const overlap = () => encodeSegment([first, { ...second, baseOffset: 6 }]);

    // Assess
    expect(gap).toThrow(/expected one at 7, got 8\.\.9/);
    expect(overlap).toThrow(RangeError);
  });

  it('takes a batch of one record', () => {
    // Act
    const segment = encodeSegment([
      { baseOffset: 3, lastOffset: 3, maxTimestampSoFar: 1, data: Uint8Array.of(1) },
    ]);

    // Assess
    expect(segment.index).toMatchObject({ baseOffset: 3, lastOffset: 3, batchCount: 1 });
  });
});

describe('decodeSegmentIndex refusals', () => {
  it.each([
    ['the format version is not 1', [0x02, 5, 5, 2, 0xb6, 2, 1, 0, 0, 0xac, 2], /version 2/],
    ['the segment holds no record', [1, 5, 0, 1, 1, 1, 0, 0, 1], /inconsistent/],
    ['the segment holds no batch', [1, 5, 1, 0, 1, 1, 0, 0, 1], /inconsistent/],
    ['the index has no entry', [1, 5, 1, 1, 1, 0], /inconsistent/],
    ['the index has more entries than batches', [1, 5, 2, 1, 1, 2, 0, 0, 1, 1, 1, 0], /inconsistent/],
    ['bytes follow the entries', [1, 5, 1, 1, 1, 1, 0, 0, 1, 0], /1 unexpected bytes/],
    ['the first entry is not at position 0', [1, 5, 1, 1, 1, 1, 0, 1, 1], /first index entry/],
    ['the first entry is not at the base offset', [1, 5, 2, 1, 1, 1, 1, 0, 1], /first index entry/],
    ['an entry is past the last offset', [1, 5, 2, 2, 1, 2, 0, 0, 1, 2, 4, 0], /past the frames/],
    ['an entry is at the index position', [1, 5, 2, 2, 1, 2, 0, 0, 1, 1, 8, 0], /past the frames/],
    ['the index is cut short', [1, 5, 2], /truncated/],
    ['a varint runs over 8 bytes', [1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0], /longer than 8/],
    ['a varint exceeds 2^53', [1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], /exceeds 2\^53/],
  ])('fails when %s', (_, index, message) => {
    // Act
    const act = () => decodeSegmentIndex(tailOf(index), 8);

    // Assess
    expect(act).toThrow(CorruptSegmentError);
    expect(act).toThrow(message);
  });

  it('reads an index whose last entry is the last offset, one byte before the index', () => {
    // Act
    const index = decodeSegmentIndex(tailOf([1, 5, 2, 2, 1, 2, 0, 0, 1, 1, 7, 0]), 8);

    // Assess
    expect(index.entries).toEqual([
      { baseOffset: 5, position: 0, maxTimestampSoFar: 1 },
      { baseOffset: 6, position: 7, maxTimestampSoFar: 1 },
    ]);
    expect(index.lastOffset).toBe(6);
  });

  it('fails when the tail holds more bytes than the trailer says', () => {
    // Prepare: the tail read from one byte too early.
    const tail = Uint8Array.of(0xcc, ...tailOf(KNOWN_INDEX));

    // Act
    const act = () => decodeSegmentIndex(tail, 13);

    // Assess
    expect(act).toThrow(CorruptSegmentError);
    expect(act).toThrow(/15 were read/);
  });

  it('fails when the tail has no room for the trailer', () => {
    // Act
    const act = () => decodeSegmentIndex(tailOf(KNOWN_INDEX).subarray(15), 14);

    // Assess
    expect(act).toThrow(CorruptSegmentError);
    expect(act).toThrow(/15 bytes has no room/);
  });

  it('fails when a byte of the index was altered (checksum)', () => {
    // Prepare
    const tail = tailOf(KNOWN_INDEX);
    tail[1] = 0x06;

    // Act
    const act = () => decodeSegmentIndex(tail, 14);

    // Assess
    expect(act).toThrow(CorruptSegmentError);
    expect(act).toThrow(/checksum/);
  });

  it('fails when the trailer magic is not SHOALSEG', () => {
    // Prepare
    const tail = tailOf(KNOWN_INDEX);
    tail[tail.byteLength - 1] = 0x48;

    // Act
    const act = () => decodeSegmentIndex(tail, 14);

    // Assess
    expect(act).toThrow(/magic/);
  });

  it('reads a tail of exactly the trailer as an empty index, refused as such', () => {
    // Act
    const act = () => decodeSegmentIndex(tailOf([]), 0);

    // Assess
    expect(act).toThrow(/truncated/);
  });
});

describe('decodeFrames', () => {
  it('leaves out a frame whose header is cut off', () => {
    // Act
    const frames = decodeFrames(Uint8Array.from(KNOWN_FRAMES.slice(0, 10)), 0, 5, 5);

    // Assess
    expect(frames.map((frame) => frame.baseOffset)).toEqual([5]);
  });

  it('leaves out a frame whose batch is cut off, and takes one that ends at the end', () => {
    // Act
    const cut = decodeFrames(Uint8Array.from(KNOWN_FRAMES.slice(0, 13)), 0, 5, 5);
    const whole = decodeFrames(Uint8Array.from(KNOWN_FRAMES), 0, 5, 5);

    // Assess
    expect(cut).toHaveLength(1);
    expect(whole).toHaveLength(2);
  });

  it('fails when a frame holds no record', () => {
    // Act
    const act = () => decodeFrames(Uint8Array.of(0, 0, 1, 1, 0xaa), 0, 5, 5);

    // Assess
    expect(act).toThrow(CorruptSegmentError);
  });

  it('fails when the second frame does not continue the first', () => {
    // Prepare: the second frame says offset delta 3 (offset 8) instead of 2.
    const bytes = Uint8Array.from(KNOWN_FRAMES);
    bytes[8] = 3;

    // Act
    const act = () => decodeFrames(bytes, 0, 5, 5);

    // Assess
    expect(act).toThrow(/position 8 holds offset 8 \(3 records\), expected 7/);
  });

  it('fails when a frame header holds a varint over 8 bytes', () => {
    // Act
    const act = () => decodeFrames(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0), 0, 5, 5);

    // Assess
    expect(act).toThrow(CorruptSegmentError);
  });
});

describe('index lookups', () => {
  // Batches at offsets 10-11, 12-14, 15, 16-19 with running maxima 100, 200, 200, 300, each of
  // one byte; frame headers of 4 bytes, then 5 (a timestamp over 127 takes 2); an entry each.
  const batches: EncodedBatch[] = [
    { baseOffset: 10, lastOffset: 11, maxTimestampSoFar: 100, data: Uint8Array.of(1) },
    { baseOffset: 12, lastOffset: 14, maxTimestampSoFar: 200, data: Uint8Array.of(2) },
    { baseOffset: 15, lastOffset: 15, maxTimestampSoFar: 200, data: Uint8Array.of(3) },
    { baseOffset: 16, lastOffset: 19, maxTimestampSoFar: 300, data: Uint8Array.of(4) },
  ];
  const { index } = encodeSegment(batches, 1);

  it('finds the entry of the frame holding an offset, or the first entry before it', () => {
    // Act
    const found = [0, 10, 11, 12, 14, 15, 16, 19, 25].map(
      (offset) => entryForOffset(index, offset).baseOffset,
    );

    // Assess
    expect(found).toEqual([10, 10, 10, 12, 12, 15, 16, 16, 16]);
  });

  it('finds the last entry whose running maximum is below a timestamp, or the first', () => {
    // Act
    const found = [50, 100, 101, 200, 201, 300, 301].map(
      (timestamp) => entryForTimestamp(index, timestamp).baseOffset,
    );

    // Assess
    expect(found).toEqual([10, 10, 10, 10, 15, 15, 16]);
  });

  it('finds the entry holding an offset in an index of one entry', () => {
    // Prepare
    const { index: single } = encodeSegment(batches);

    // Act
    const found = entryForOffset(single, 19);

    // Assess
    expect(found).toEqual({ baseOffset: 10, position: 0, maxTimestampSoFar: 100 });
  });

  it('tells where the next entry starts, or the index for the last', () => {
    // Act
    const next = index.entries.map((entry) => nextEntryPosition(index, entry));

    // Assess
    expect(index.entries.map((entry) => entry.position)).toEqual([0, 5, 11, 17]);
    expect(next).toEqual([5, 11, 17, 23]);
    expect(index.indexPosition).toBe(23);
  });
});

describe('SegmentMissingError', () => {
  it('names the missing object', () => {
    // Act
    const error = new SegmentMissingError('segments/t/0/a.seg');

    // Assess
    expect(error.key).toBe('segments/t/0/a.seg');
    expect(error.name).toBe('SegmentMissingError');
    expect(error.message).toBe('Segment object segments/t/0/a.seg does not exist');
  });
});
