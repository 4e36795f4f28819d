/**
 * The read side of the S3 tier (`SegmentReader`) on the in-memory manifest and bucket: which
 * batches a read yields, which range requests it makes for them, its caches and request budget,
 * corrupt objects detected, timestamp lookups, and rescued batches. The segments are built here
 * with `encodeSegment`, so each test knows every frame's position.
 */
import { describe, expect, it } from 'vitest';
import { MemoryHeads } from '../../shared/adapters/memory/partition-log.js';
import { MemorySegmentManifest } from '../../shared/adapters/memory/segment-manifest.js';
import { MemorySegmentObjects } from '../../shared/adapters/memory/segment-objects.js';
import { LIMITS } from '../../shared/domain/limits.js';
import type { RecordInput } from '../../shared/domain/record.js';
import { type BatchCompression, encodeBatch } from '../../shared/domain/record-codec.js';
import {
  CorruptSegmentError,
  type EncodedBatch,
  type EncodedSegment,
  encodeSegment,
  SegmentMissingError,
} from '../../shared/domain/segment-format.js';
import { segmentKey } from '../../shared/domain/segment-keys.js';
import {
  type ArchivedBatch,
  LruCache,
  type ReadHint,
  SegmentReader,
  type SegmentReaderOptions,
} from '../../shared/domain/segment-reader.js';
import { resolveTopicConfig, type Topic } from '../../shared/domain/topic.js';
import type { SegmentEntry } from '../../shared/ports/segment-archive.js';
import { seededRandom } from '../support/events.js';

const TOPIC: Topic = {
  name: 'orders',
  topicId: 'orders-1',
  partitionCount: 1,
  config: resolveTopicConfig({}),
  createdAt: 0,
};
const NONE: BatchCompression = { codec: 'none', level: 0 };
const HINT_ALL: ReadHint = { recordsMax: 1_000_000, bytesMax: 1_000_000 };
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (bytes: Uint8Array | undefined) => (bytes ? new TextDecoder().decode(bytes) : undefined);

/** A record at `offset`: key `k<offset>`, value `v<offset>`, timestamp `timestamp`. */
function recordAt(offset: number, timestamp = 1_000 + offset): RecordInput {
  return {
    key: { type: 'STRING', bytes: utf8(`k${offset}`) },
    value: { type: 'STRING', bytes: utf8(`v${offset}`) },
    headers: [],
    timestamp,
  };
}

/** `length` random bytes from a seed: incompressible, so a batch of them is stored raw. */
function noise(length: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

/** Timestamps of a batch's records; a batch is given as its record count or its timestamps. */
type BatchSpec = number | readonly number[];

/** The in-memory manifest and bucket, and a bucket wrapper that records every range request. */
class RecordingObjects extends MemorySegmentObjects {
  readonly reads: [key: string, start: number, end: number][] = [];

  override async readRange(key: string, start: number, end: number): Promise<Uint8Array> {
    this.reads.push([key, start, end]);
    return super.readRange(key, start, end);
  }
}

function world() {
  const heads = new MemoryHeads();
  heads.upsert(TOPIC.topicId, 0).hw = Number.MAX_SAFE_INTEGER;
  const manifest = new MemorySegmentManifest(heads);
  const objects = new RecordingObjects();
  let nextOffset = 0;
  const segments: { entry: SegmentEntry; segment: EncodedSegment; batches: EncodedBatch[] }[] = [];
  let maxTimestamp = 0;

  /** Archives one segment of batches from the next offset; each batch of records `recordAt`. */
  async function archive(
    specs: readonly BatchSpec[],
    options: { interval?: number; makeRecord?: (offset: number, timestamp?: number) => RecordInput } = {},
  ) {
    const makeRecord = options.makeRecord ?? recordAt;
    const batches: EncodedBatch[] = specs.map((spec) => {
      const count = typeof spec === 'number' ? spec : spec.length;
      const baseOffset = nextOffset;
      const records = Array.from({ length: count }, (_, i) =>
        makeRecord(baseOffset + i, typeof spec === 'number' ? undefined : spec[i]),
      );
      nextOffset += count;
      maxTimestamp = Math.max(maxTimestamp, ...records.map((r) => r.timestamp));
      return {
        baseOffset,
        lastOffset: nextOffset - 1,
        maxTimestampSoFar: maxTimestamp,
        data: encodeBatch(records, NONE),
      };
    });
    return store(batches, options.interval);
  }

  /** Uploads a segment of `batches` and records it in the manifest. */
  async function store(batches: EncodedBatch[], interval?: number) {
    const segment = encodeSegment(batches, interval);
    const { index } = segment;
    const key = segmentKey(TOPIC.topicId, 0, index.baseOffset, index.lastOffset);
    await objects.putSegment(key, segment.bytes, {});
    const entry: SegmentEntry = {
      baseOffset: index.baseOffset,
      lastOffset: index.lastOffset,
      key,
      objectBytes: segment.bytes.byteLength,
      indexPosition: index.indexPosition,
      batchBytes: segment.batchBytes,
      maxTimestampSoFar: index.maxTimestampSoFar,
      archivedAt: 0,
      retentionClassDays: 0,
    };
    expect(await manifest.recordSegment(TOPIC, 0, entry, 0)).toBe('recorded');
    nextOffset = index.lastOffset + 1;
    segments.push({ entry, segment, batches });
    return { entry, segment, batches };
  }

  const reader = (options: SegmentReaderOptions = {}) => new SegmentReader(manifest, objects, options);
  return { heads, manifest, objects, archive, store, segments, reader };
}

/** Every batch a read yields (no early stop by the consumer). */
async function readAll(
  reader: SegmentReader,
  offset: number,
  endOffset: number,
  hint: ReadHint = HINT_ALL,
): Promise<ArchivedBatch[]> {
  const batches: ArchivedBatch[] = [];
  for await (const batch of reader.batches(TOPIC, 0, offset, endOffset, hint)) batches.push(batch);
  return batches;
}

const ranges = (batches: readonly ArchivedBatch[]) => batches.map((b) => [b.baseOffset, b.lastOffset]);
const recordOffsets = (batches: readonly ArchivedBatch[]) =>
  batches.flatMap((b) => b.records.map((r) => r.offset));
/** Positions of every frame of a segment (with interval 1, each frame has an index entry). */
const framePositions = (segment: EncodedSegment) => segment.index.entries.map((e) => e.position);

describe('SegmentReader.batches', () => {
  it('reads every batch of several segments in order, with its records, keys and timestamps', async () => {
    // Prepare
    const w = world();
    await w.archive([2, 3]);
    await w.archive([1]);
    await w.archive([4, 1, 2]);

    // Act
    const batches = await readAll(w.reader(), 0, 13);

    // Assess
    expect(ranges(batches)).toEqual([
      [0, 1],
      [2, 4],
      [5, 5],
      [6, 9],
      [10, 10],
      [11, 12],
    ]);
    const records = batches.flatMap((b) => b.records);
    expect(records.map((r) => r.offset)).toEqual([...Array(13).keys()]);
    expect(records.map((r) => text(r.value?.bytes))).toEqual([...Array(13).keys()].map((i) => `v${i}`));
    expect(records.map((r) => text(r.key?.bytes))).toEqual([...Array(13).keys()].map((i) => `k${i}`));
    expect(records.map((r) => r.timestamp)).toEqual([...Array(13).keys()].map((i) => 1_000 + i));
    expect(batches.map((b) => b.maxTimestampSoFar)).toEqual([1_001, 1_004, 1_005, 1_009, 1_010, 1_012]);
  });

  it('starts with the batch holding the offset, in the middle of a segment', async () => {
    // Prepare
    const w = world();
    await w.archive([3, 3]);
    await w.archive([3, 3, 3], { interval: 1 });

    // Act
    const batches = await readAll(w.reader({ smallSegmentBytesMax: 0 }), 10, 15);

    // Assess
    expect(ranges(batches)).toEqual([
      [9, 11],
      [12, 14],
    ]);
    expect(recordOffsets(batches)).toEqual([9, 10, 11, 12, 13, 14]);
  });

  it('reads no segment from endOffset on, though the manifest has more', async () => {
    // Prepare: endOffset is the archivedOffset the caller read; a segment recorded since follows.
    const w = world();
    await w.archive([2, 2]);
    const { entry: second } = await w.archive([2]);
    const { entry: later } = await w.archive([2]);

    // Act
    const batches = await readAll(w.reader(), 0, 6);

    // Assess
    expect(ranges(batches)).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    expect(w.objects.reads.map(([key]) => key)).toContain(second.key);
    expect(w.objects.reads.map(([key]) => key)).not.toContain(later.key);
  });

  it('reads nothing, and asks nothing, when the offset is at endOffset', async () => {
    // Prepare
    const w = world();
    await w.archive([2]);
    const reader = w.reader();

    // Act
    const batches = await readAll(reader, 2, 2);

    // Assess
    expect(batches).toEqual([]);
    expect(reader.stats.manifestQueries).toBe(0);
    expect(w.objects.reads).toEqual([]);
  });

  it('reads nothing when the manifest has no segment from the offset on', async () => {
    // Prepare
    const w = world();
    await w.archive([2]);
    const reader = w.reader();

    // Act
    const batches = await readAll(reader, 2, 10);

    // Assess
    expect(batches).toEqual([]);
    expect(reader.stats.manifestQueries).toBe(1);
    expect(w.objects.reads).toEqual([]);
  });

  it('fails when the manifest has no segment for an offset below endOffset (a gap)', async () => {
    // Prepare
    const w = world();
    await w.archive([2]);
    const { entry: middle } = await w.archive([2]);
    await w.archive([2]);
    await w.manifest.removeSegments(TOPIC, 0, [middle]);

    // Act
    const read = readAll(w.reader(), 0, 6);

    // Assess
    await expect(read).rejects.toThrow(CorruptSegmentError);
    await expect(readAll(w.reader(), 0, 6)).rejects.toThrow(
      /no segment for offset 2 \(the next starts at 4\)/,
    );
  });

  it('fails with SegmentMissingError when a segment object is gone', async () => {
    // Prepare
    const w = world();
    const { entry } = await w.archive([2]);
    await w.objects.deleteObjects([entry.key]);

    // Act
    const read = readAll(w.reader(), 0, 2);

    // Assess
    await expect(read).rejects.toThrow(SegmentMissingError);
  });

  it('asks the manifest for entriesPerQuery segments at a time', async () => {
    // Prepare
    const w = world();
    for (let i = 0; i < 5; i++) await w.archive([1]);
    const onePerQuery = w.reader({ entriesPerQuery: 1 });
    const twoPerQuery = w.reader({ entriesPerQuery: 2 });
    const byDefault = w.reader();

    // Act
    const batches = await readAll(onePerQuery, 0, 5);
    await readAll(twoPerQuery, 0, 5);
    await readAll(byDefault, 0, 5);

    // Assess
    expect(ranges(batches)).toEqual([0, 1, 2, 3, 4].map((o) => [o, o]));
    expect(onePerQuery.stats.manifestQueries).toBe(5);
    expect(twoPerQuery.stats.manifestQueries).toBe(3);
    expect(byDefault.stats.manifestQueries).toBe(1);
  });

  it('reads no further segment once the consumer stops', async () => {
    // Prepare
    const w = world();
    const { entry: first } = await w.archive([2, 2]);
    await w.archive([2]);
    const reader = w.reader();

    // Act
    const seen: number[] = [];
    for await (const batch of reader.batches(TOPIC, 0, 0, 6, HINT_ALL)) {
      seen.push(batch.baseOffset);
      break;
    }

    // Assess
    expect(seen).toEqual([0]);
    expect(w.objects.reads).toEqual([[first.key, 0, first.objectBytes]]);
  });

  it('marks a value stored apart with its byte range in the segment object', async () => {
    // Prepare
    const w = world();
    const big = noise(LIMITS.recordInlineBytesMax + 10, 1);
    const bigRecord = (offset: number, timestamp?: number): RecordInput =>
      offset === 2
        ? { key: null, value: { type: 'BINARY', bytes: big }, headers: [], timestamp: timestamp ?? 5 }
        : recordAt(offset, timestamp);
    const { entry } = await w.archive([2, 1, 1], { makeRecord: bigRecord });

    // Act
    const batches = await readAll(w.reader(), 0, 4);

    // Assess
    const [apart] = batches[1]?.records ?? [];
    const location = apart?.valueAt;
    expect(location?.objectKey).toBe(entry.key);
    const stored = await w.objects.readRange(entry.key, location?.start ?? 0, location?.end ?? 1);
    expect(Buffer.from(stored).equals(Buffer.from(big))).toBe(true);
    expect(batches[0]?.records[0]?.valueAt).toBeUndefined();
    expect(batches[2]?.records[0]?.valueAt).toBeUndefined();
  });

  it('fails when a batch decodes to another number of records than its frame says', async () => {
    // Prepare
    const w = world();
    const twoRecords = encodeBatch([recordAt(0), recordAt(1)], NONE);
    await w.store([{ baseOffset: 0, lastOffset: 2, maxTimestampSoFar: 1_001, data: twoRecords }]);

    // Act
    const read = readAll(w.reader(), 0, 3);

    // Assess
    await expect(read).rejects.toThrow(/decodes to 2 records, its frame says 3/);
  });

  it('fails when a frame runs past the frames of a segment', async () => {
    // Prepare
    const w = world();
    const { entry, segment, batches } = await w.archive([1, 1], { interval: 1 });
    const corrupt = segment.bytes.slice();
    // The first frame's header: offset delta 0, 1 record, a 2-byte timestamp, then the batch length.
    expect(corrupt[4]).toBe(batches[0]?.data.byteLength);
    corrupt[4] = 0x7f;
    await w.objects.putSegment(entry.key, corrupt, {});

    // Act
    const read = readAll(w.reader({ smallSegmentBytesMax: 0 }), 0, 2);

    // Assess
    await expect(read).rejects.toThrow(CorruptSegmentError);
  });
});

describe('SegmentReader.batches within a segment', () => {
  it('skips the frames before the offset that the read of a whole segment brings', async () => {
    // Prepare: one index entry, so the read starts at the first frame.
    const w = world();
    await w.archive([3, 3, 3]);

    // Act
    const batches = await readAll(w.reader(), 7, 9);

    // Assess
    expect(ranges(batches)).toEqual([[6, 8]]);
  });

  it('makes no request past endOffset when it reads frame by frame', async () => {
    // Prepare
    const w = world();
    const { entry, segment } = await w.archive([1, 1, 1, 1], { interval: 1 });
    const positions = framePositions(segment);
    const reader = w.reader({ smallSegmentBytesMax: 0 });

    // Act
    const batches = await readAll(reader, 0, 2, { recordsMax: 1, bytesMax: 1 });

    // Assess
    expect(ranges(batches)).toEqual([
      [0, 0],
      [1, 1],
    ]);
    expect(w.objects.reads.slice(1)).toEqual([
      [entry.key, positions[0], positions[1]],
      [entry.key, positions[1], positions[2]],
    ]);
  });

  it('fails when a frame runs past the next index entry', async () => {
    // Prepare
    const w = world();
    const { entry, segment, batches } = await w.archive([1, 1, 1], { interval: 1 });
    const corrupt = segment.bytes.slice();
    expect(corrupt[4]).toBe(batches[0]?.data.byteLength);
    corrupt[4] = 0x7f;
    await w.objects.putSegment(entry.key, corrupt, {});

    // Act: one record wanted, so the range ends at the second frame.
    const read = readAll(w.reader({ smallSegmentBytesMax: 0 }), 0, 3, { recordsMax: 1, bytesMax: 1 });

    // Assess
    await expect(read).rejects.toThrow(/No complete frame at position 0/);
  });
});

describe('SegmentReader range requests', () => {
  it('reads a small segment whole in one request, and then from its cache', async () => {
    // Prepare
    const w = world();
    const { entry } = await w.archive([2, 2]);
    const reader = w.reader({ smallSegmentBytesMax: entry.objectBytes });

    // Act
    const first = await readAll(reader, 0, 4);
    const again = await readAll(reader, 1, 4);

    // Assess
    expect(ranges(first)).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(ranges(again)).toEqual(ranges(first));
    expect(w.objects.reads).toEqual([[entry.key, 0, entry.objectBytes]]);
    expect(reader.stats).toMatchObject({ rangeReads: 1, bytesRead: entry.objectBytes, segmentCacheHits: 1 });
  });

  it('reads the index and then the frames of a segment larger than smallSegmentBytesMax', async () => {
    // Prepare
    const w = world();
    const { entry } = await w.archive([2, 2]);
    const reader = w.reader({ smallSegmentBytesMax: entry.objectBytes - 1 });

    // Act
    const first = await readAll(reader, 0, 4);
    const again = await readAll(reader, 0, 4);

    // Assess
    expect(ranges(first)).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(ranges(again)).toEqual(ranges(first));
    expect(w.objects.reads).toEqual([
      [entry.key, entry.indexPosition, entry.objectBytes],
      [entry.key, 0, entry.indexPosition],
      [entry.key, 0, entry.indexPosition],
    ]);
    expect(reader.stats).toMatchObject({
      rangeReads: 3,
      bytesRead: entry.objectBytes + entry.indexPosition,
      indexCacheHits: 1,
      segmentCacheHits: 0,
    });
  });

  it('reads the index again when the index cache holds nothing', async () => {
    // Prepare
    const w = world();
    const { entry } = await w.archive([2]);
    const reader = w.reader({ smallSegmentBytesMax: 0, indexCacheBytesMax: 0 });

    // Act
    await readAll(reader, 0, 2);
    await readAll(reader, 0, 2);

    // Assess
    expect(w.objects.reads.filter(([, start]) => start === entry.indexPosition)).toHaveLength(2);
    expect(reader.stats.indexCacheHits).toBe(0);
  });

  it('reads a small segment again when the segment cache holds nothing', async () => {
    // Prepare
    const w = world();
    const { entry } = await w.archive([2]);
    const reader = w.reader({ smallSegmentCacheBytesMax: 0 });

    // Act
    await readAll(reader, 0, 2);
    await readAll(reader, 0, 2);

    // Assess
    expect(w.objects.reads).toEqual([
      [entry.key, 0, entry.objectBytes],
      [entry.key, 0, entry.objectBytes],
    ]);
    expect(reader.stats.segmentCacheHits).toBe(0);
  });

  it('counts 256 bytes and 64 per entry of each index against indexCacheBytesMax', async () => {
    // Prepare: two segments of one index entry each, 320 bytes each in the cache.
    const w = world();
    const { entry: first } = await w.archive([1]);
    const { entry: second } = await w.archive([1]);
    const fits = w.reader({ smallSegmentBytesMax: 0, indexCacheBytesMax: 640 });
    const tight = w.reader({ smallSegmentBytesMax: 0, indexCacheBytesMax: 639 });
    const indexReads = (from: number) =>
      w.objects.reads
        .slice(from)
        .filter(([key, start]) => start === (key === first.key ? first : second).indexPosition);

    // Act
    await readAll(fits, 0, 2);
    await readAll(fits, 0, 2);
    const tightFrom = w.objects.reads.length;
    await readAll(tight, 0, 2);
    await readAll(tight, 0, 2);

    // Assess
    expect(indexReads(0).length - indexReads(tightFrom).length).toBe(2);
    expect(fits.stats.indexCacheHits).toBe(2);
    expect(indexReads(tightFrom)).toHaveLength(4);
    expect(tight.stats.indexCacheHits).toBe(0);
  });

  it('starts reading at the index entry at or before the offset', async () => {
    // Prepare
    const w = world();
    const { entry, segment } = await w.archive([2, 2, 2, 2], { interval: 1 });
    const positions = framePositions(segment);

    // Act
    const batches = await readAll(w.reader({ smallSegmentBytesMax: 0 }), 5, 8);

    // Assess
    expect(ranges(batches)).toEqual([
      [4, 5],
      [6, 7],
    ]);
    expect(w.objects.reads[1]).toEqual([entry.key, positions[2], entry.indexPosition]);
  });

  it('sizes a range to the records the hint wants, up to the index entry past them', async () => {
    // Prepare
    const w = world();
    const { entry, segment } = await w.archive([1, 1, 1, 1, 1, 1], { interval: 1 });
    const positions = framePositions(segment);
    const reader = w.reader({ smallSegmentBytesMax: 0 });

    // Act
    const batches = await readAll(reader, 1, 6, { recordsMax: 3, bytesMax: 1_000_000 });

    // Assess
    expect(ranges(batches)).toEqual([1, 2, 3, 4, 5].map((o) => [o, o]));
    // Three records wanted from offset 1; once they are read, one at a time.
    expect(w.objects.reads.slice(1)).toEqual([
      [entry.key, positions[1], positions[4]],
      [entry.key, positions[4], positions[5]],
      [entry.key, positions[5], entry.indexPosition],
    ]);
  });

  it('counts only the records from the offset on against the hint', async () => {
    // Prepare: a first batch of offsets 0..2, then one record per batch, about 10 KB each.
    const w = world();
    const value = (offset: number, timestamp?: number): RecordInput => ({
      ...recordAt(offset, timestamp),
      value: { type: 'BINARY', bytes: noise(10_000, offset) },
    });
    const { entry, segment } = await w.archive([3, 1, 1, 1, 1, 1, 1, 1], { interval: 1, makeRecord: value });
    const positions = framePositions(segment);
    const reader = w.reader({ smallSegmentBytesMax: 0 });

    // Act: six records wanted from offset 2; the first 64 KiB hold the frames up to offset 5.
    await readAll(reader, 2, 10, { recordsMax: 6, bytesMax: 1 });

    // Assess: offsets 2..5 count (not 0 and 1), so two more are wanted: offsets 6 and 7.
    expect(w.objects.reads.slice(1, 3)).toEqual([
      [entry.key, 0, 64 * 1024],
      [entry.key, positions[4], positions[6]],
    ]);
  });

  it('reads at least 64 KiB, or the payload bytes the hint wants with a quarter more', async () => {
    // Prepare
    const w = world();
    const value = (offset: number, timestamp?: number): RecordInput => ({
      ...recordAt(offset, timestamp),
      value: { type: 'BINARY', bytes: noise(20_000, offset) },
    });
    const { entry } = await w.archive(Array(12).fill(1), { makeRecord: value });
    const small = w.reader({ smallSegmentBytesMax: 0 });
    const large = w.reader({ smallSegmentBytesMax: 0 });

    // Act
    for await (const _ of small.batches(TOPIC, 0, 0, 12, { recordsMax: 100, bytesMax: 1 })) break;
    const before = w.objects.reads.length;
    for await (const _ of large.batches(TOPIC, 0, 0, 12, { recordsMax: 100, bytesMax: 100_000 })) break;

    // Assess
    expect(w.objects.reads[1]).toEqual([entry.key, 0, 64 * 1024]);
    expect(w.objects.reads[before + 1]).toEqual([entry.key, 0, 125_000]);
  });

  it('counts the payload bytes read against the hint', async () => {
    // Prepare
    const w = world();
    const value = (offset: number, timestamp?: number): RecordInput => ({
      ...recordAt(offset, timestamp),
      value: { type: 'BINARY', bytes: noise(40_000, offset) },
    });
    const { entry, segment } = await w.archive(Array(8).fill(1), { interval: 1, makeRecord: value });
    const positions = framePositions(segment);
    const reader = w.reader({ smallSegmentBytesMax: 0 });

    // Act: 100,000 bytes wanted: a first range of 125,000 bytes holds three whole frames.
    await readAll(reader, 0, 8, { recordsMax: 100, bytesMax: 100_000 });

    // Assess: three records of 40,002 payload bytes are more than wanted: the next range is 64 KiB.
    const [, second] = w.objects.reads.slice(1);
    expect(w.objects.reads[1]).toEqual([entry.key, 0, 125_000]);
    expect(second).toEqual([entry.key, positions[3] ?? -1, (positions[3] ?? 0) + 64 * 1024]);
  });

  it('grows a range until it holds a frame larger than the range', async () => {
    // Prepare
    const w = world();
    const value = (offset: number, timestamp?: number): RecordInput => ({
      ...recordAt(offset, timestamp),
      value: { type: 'BINARY', bytes: noise(150_000, offset) },
    });
    const { entry } = await w.archive([1, 1], { makeRecord: value });
    const reader = w.reader({ smallSegmentBytesMax: 0 });

    // Act
    const [first] = await (async () => {
      const batches: ArchivedBatch[] = [];
      for await (const batch of reader.batches(TOPIC, 0, 0, 2, { recordsMax: 100, bytesMax: 1 })) {
        batches.push(batch);
        break;
      }
      return batches;
    })();

    // Assess
    expect(first?.records[0]?.value?.bytes.byteLength).toBe(150_000);
    expect(w.objects.reads.slice(1)).toEqual([
      [entry.key, 0, 64 * 1024],
      [entry.key, 0, 128 * 1024],
      [entry.key, 0, 256 * 1024],
    ]);
  });

  it('ends the read at a batch boundary once requestsPerReadMax requests are spent', async () => {
    // Prepare
    const w = world();
    await w.archive([1, 1, 1, 1], { interval: 1 });
    await w.archive([1]);
    const reader = w.reader({ smallSegmentBytesMax: 0, requestsPerReadMax: 3 });

    // Act: the index, then one frame per request (one record wanted at a time).
    const batches = await readAll(reader, 0, 5, { recordsMax: 1, bytesMax: 1 });

    // Assess
    expect(ranges(batches)).toEqual([
      [0, 0],
      [1, 1],
    ]);
    expect(w.objects.reads).toHaveLength(3);
  });

  it('counts the request that opens a segment against requestsPerReadMax', async () => {
    // Prepare
    const w = world();
    await w.archive([1]);
    await w.archive([1]);
    await w.archive([1]);
    const reader = w.reader({ requestsPerReadMax: 2 });

    // Act: each small segment takes one request; the second one spends the budget.
    const batches = await readAll(reader, 0, 3);

    // Assess
    expect(ranges(batches)).toEqual([[0, 0]]);
    expect(w.objects.reads).toHaveLength(2);
  });

  it('counts no request for the frames of a small segment read whole', async () => {
    // Prepare
    const w = world();
    await w.archive([1, 1, 1], { interval: 1 });
    const reader = w.reader({ requestsPerReadMax: 2 });

    // Act: one frame per range, each cut from the object read whole.
    const batches = await readAll(reader, 0, 3, { recordsMax: 1, bytesMax: 1 });

    // Assess
    expect(ranges(batches)).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
    ]);
    expect(w.objects.reads).toHaveLength(1);
  });
});

describe('SegmentReader.offsetForTimestamp', () => {
  /** Three segments: timestamps 100..190 at offsets 0..9, one batch out of order, then 200..290. */
  async function timeline(interval?: number) {
    const w = world();
    await w.archive(
      [
        [100, 110],
        [120, 130, 140],
      ],
      { interval },
    );
    await w.archive([[150, 170], [160], [180, 190]], { interval });
    await w.archive(
      [
        [200, 210, 220],
        [230, 240, 250, 260, 270, 280, 290],
      ],
      { interval },
    );
    return w;
  }

  it('finds the first offset whose timestamp is at or after the one asked', async () => {
    // Prepare
    const w = await timeline();
    const reader = w.reader();
    const at = (timestamp: number) => reader.offsetForTimestamp(TOPIC, 0, 0, 20, timestamp, 64);

    // Act
    const answers = await Promise.all([0, 100, 101, 140, 141, 155, 160, 161, 171, 200, 245, 290].map(at));

    // Assess
    expect(answers).toEqual([0, 0, 1, 4, 5, 6, 6, 6, 8, 10, 15, 19]);
  });

  it('finds the offset within a large segment through its index', async () => {
    // Prepare
    const w = await timeline(1);
    const reader = w.reader({ smallSegmentBytesMax: 0 });
    const at = (timestamp: number) => reader.offsetForTimestamp(TOPIC, 0, 0, 20, timestamp, 64);

    // Act
    const answers = await Promise.all([0, 101, 141, 161, 171, 181, 215, 245].map(at));

    // Assess
    expect(answers).toEqual([0, 1, 5, 6, 8, 9, 12, 15]);
  });

  it('reads from the index entry before the timestamp to the entry after the next', async () => {
    // Prepare
    const w = await timeline(1);
    const reader = w.reader({ smallSegmentBytesMax: 0 });
    const [, second] = w.segments;
    const positions = second ? framePositions(second.segment) : [];

    // Act: offsets 5-6 (150, 170), 7 (160), 8-9 (180, 190); 161 is first reached at offset 6.
    const found = await reader.offsetForTimestamp(TOPIC, 0, 0, 20, 161, 64);

    // Assess: the first entry (none is below 161) to the entry after the next one.
    expect(found).toBe(6);
    expect(w.objects.reads.at(-1)).toEqual([second?.entry.key, positions[0], positions[2]]);
  });

  it('skips the records before fromOffset in the batch it scans', async () => {
    // Prepare
    const w = await timeline();

    // Act: offsets 5 (150) and 6 (170) share a batch.
    const found = await w.reader().offsetForTimestamp(TOPIC, 0, 6, 20, 100, 64);

    // Assess
    expect(found).toBe(6);
  });

  it('is undefined when every archived record is older', async () => {
    // Prepare
    const w = await timeline();

    // Act
    const answer = await w.reader().offsetForTimestamp(TOPIC, 0, 0, 20, 291, 64);

    // Assess
    expect(answer).toBeUndefined();
  });

  it('looks only from fromOffset on', async () => {
    // Prepare
    const w = await timeline();
    const reader = w.reader();

    // Act
    const fromSecond = await reader.offsetForTimestamp(TOPIC, 0, 5, 20, 100, 64);
    const fromThird = await reader.offsetForTimestamp(TOPIC, 0, 10, 20, 100, 64);

    // Assess
    expect(fromSecond).toBe(5);
    expect(fromThird).toBe(10);
  });

  it('looks only below endOffset', async () => {
    // Prepare
    const w = await timeline();
    const reader = w.reader();

    // Act
    const beyond = await reader.offsetForTimestamp(TOPIC, 0, 0, 10, 200, 64);
    const within = await reader.offsetForTimestamp(TOPIC, 0, 0, 10, 190, 64);

    // Assess
    expect(beyond).toBeUndefined();
    expect(within).toBe(9);
  });

  it('is undefined when the search range is empty', async () => {
    // Prepare
    const w = await timeline();
    const reader = w.reader();

    // Act
    const answer = await reader.offsetForTimestamp(TOPIC, 0, 5, 5, 0, 64);

    // Assess
    expect(answer).toBeUndefined();
    expect(reader.stats.manifestQueries).toBe(0);
  });

  it('asks the manifest at most stepsMax times in its search', async () => {
    // Prepare
    const w = world();
    for (let i = 0; i < 16; i++) await w.archive([[1_000 + i]]);
    const reader = w.reader();

    // Act
    const bounded = await reader.offsetForTimestamp(TOPIC, 0, 0, 16, 1_015, 2);
    const queriesBounded = reader.stats.manifestQueries;
    const full = await w.reader().offsetForTimestamp(TOPIC, 0, 0, 16, 1_015, 64);

    // Assess
    expect(full).toBe(15);
    expect(bounded).toBeUndefined();
    expect(queriesBounded).toBe(2);
  });
});

describe('SegmentReader.rescuedBatch', () => {
  it('decodes the batch rescued at a base offset', async () => {
    // Prepare
    const w = world();
    const data = encodeBatch([recordAt(7), recordAt(8)]);
    await w.objects.putRescued(TOPIC.topicId, 0, {
      baseOffset: 7,
      lastOffset: 8,
      maxTimestampSoFar: 1_008,
      data,
    });

    // Act
    const rescued = await w.reader().rescuedBatch(TOPIC, 0, 7);

    // Assess
    expect(rescued).toMatchObject({ baseOffset: 7, lastOffset: 8, maxTimestampSoFar: 1_008 });
    expect(rescued?.records.map((r) => [r.offset, text(r.value?.bytes)])).toEqual([
      [7, 'v7'],
      [8, 'v8'],
    ]);
  });

  it('marks a rescued value stored apart with its range in the rescued object', async () => {
    // Prepare
    const w = world();
    const big = noise(LIMITS.recordInlineBytesMax + 1, 3);
    const data = encodeBatch(
      [{ key: null, value: { type: 'BINARY', bytes: big }, headers: [], timestamp: 1 }],
      NONE,
    );
    await w.objects.putRescued(TOPIC.topicId, 0, {
      baseOffset: 4,
      lastOffset: 4,
      maxTimestampSoFar: 1,
      data,
    });

    // Act
    const rescued = await w.reader().rescuedBatch(TOPIC, 0, 4);

    // Assess
    const location = rescued?.records[0]?.valueAt;
    expect(location?.objectKey).toBe('rescue/orders-1/0/0000000000000004.batch');
    expect(Buffer.from(data.subarray(location?.start, location?.end)).equals(Buffer.from(big))).toBe(true);
  });

  it('is undefined when no batch was rescued at that offset', async () => {
    // Prepare
    const w = world();

    // Act
    const rescued = await w.reader().rescuedBatch(TOPIC, 0, 0);

    // Assess
    expect(rescued).toBeUndefined();
  });
});

describe('LruCache', () => {
  it('keeps values up to bytesMax in all', () => {
    // Prepare
    const cache = new LruCache<string>(10);

    // Act
    cache.set('a', 'A', 4);
    cache.set('b', 'B', 6);

    // Assess
    expect(cache.get('a')).toBe('A');
    expect(cache.get('b')).toBe('B');
    expect(cache.get('c')).toBeUndefined();
    expect(cache.bytes).toBe(10);
  });

  it('keeps a value of exactly bytesMax', () => {
    // Prepare
    const cache = new LruCache<string>(10);

    // Act
    cache.set('a', 'A', 10);

    // Assess
    expect(cache.get('a')).toBe('A');
    expect(cache.bytes).toBe(10);
  });

  it('evicts the least recently used values to stay within bytesMax', () => {
    // Prepare
    const cache = new LruCache<string>(10);
    cache.set('a', 'A', 4);
    cache.set('b', 'B', 4);
    cache.get('a');

    // Act
    cache.set('c', 'C', 4);

    // Assess
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe('A');
    expect(cache.get('c')).toBe('C');
    expect(cache.bytes).toBe(8);
  });

  it('evicts as many values as it takes', () => {
    // Prepare
    const cache = new LruCache<string>(10);
    cache.set('a', 'A', 3);
    cache.set('b', 'B', 3);
    cache.set('c', 'C', 3);

    // Act
    cache.set('d', 'D', 7);

    // Assess
    expect([cache.get('a'), cache.get('b'), cache.get('c'), cache.get('d')]).toEqual([
      undefined,
      undefined,
      'C',
      'D',
    ]);
    expect(cache.bytes).toBe(10);
  });

  it('replaces the value of a key, counting its new size only', () => {
    // Prepare
    const cache = new LruCache<string>(10);
    cache.set('a', 'A', 4);
    cache.set('b', 'B', 4);

    // Act
    cache.set('a', 'A2', 6);

    // Assess
    expect(cache.get('a')).toBe('A2');
    expect(cache.get('b')).toBe('B');
    expect(cache.bytes).toBe(10);
  });

  it('keeps no value larger than bytesMax, and drops the one it replaces', () => {
    // Prepare
    const cache = new LruCache<string>(10);
    cache.set('a', 'A', 4);
    cache.set('b', 'B', 4);

    // Act
    cache.set('a', 'huge', 11);

    // Assess
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBe('B');
    expect(cache.bytes).toBe(4);
  });
});
