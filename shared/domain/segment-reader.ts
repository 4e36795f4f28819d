/**
 * The read side of the S3 tier: batches below archivedOffset, read through the manifest and each
 * segment's sparse index with range requests. Segment indexes (and whole small segments) are kept
 * in bounded caches, which a warm Lambda keeps across invocations; segments never change once
 * written, so the caches need no invalidation (a segment deleted by retention is below
 * logStartOffset, which every fetch checks first).
 */
import type { SegmentEntry, SegmentManifest, SegmentObjects } from '../ports/segment-archive.js';
import { type LogRecord, recordBytes } from './record.js';
import { decodeBatch, decodeBatchAt } from './record-codec.js';
import {
  CorruptSegmentError,
  decodeFrames,
  decodeSegmentIndex,
  entryForOffset,
  entryForTimestamp,
  nextEntryPosition,
  type SegmentFrame,
  type SegmentIndex,
} from './segment-format.js';
import { rescueKey } from './segment-keys.js';
import type { Topic } from './topic.js';

/** Limits of a {@link SegmentReader}; every one bounds memory or requests. */
export interface SegmentReaderOptions {
  /** Bytes of decoded indexes kept in memory. @default 8 MiB */
  readonly indexCacheBytesMax?: number;
  /** Segments up to this size are read whole, in one request, and kept. @default 256 KiB */
  readonly smallSegmentBytesMax?: number;
  /** Bytes of whole small segments kept in memory. @default 16 MiB */
  readonly smallSegmentCacheBytesMax?: number;
  /** S3 requests one read may make; past it, the read ends early (a short but valid answer). @default 48 */
  readonly requestsPerReadMax?: number;
  /** Segment entries fetched per manifest query. @default 8 */
  readonly entriesPerQuery?: number;
}

/** A batch read from a segment, decoded. */
export interface ArchivedBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly maxTimestampSoFar: number;
  readonly records: readonly LogRecord[];
}

/** How much a read is expected to consume, to size range requests (not a hard stop). */
export interface ReadHint {
  readonly recordsMax: number;
  /** Payload bytes; stored bytes are at most about this many once compressed. */
  readonly bytesMax: number;
}

/** Counts since the reader was made, for measurement. */
export interface SegmentReaderStats {
  manifestQueries: number;
  rangeReads: number;
  bytesRead: number;
  indexCacheHits: number;
  segmentCacheHits: number;
}

const DEFAULTS = {
  indexCacheBytesMax: 8 * 1024 * 1024,
  smallSegmentBytesMax: 256 * 1024,
  smallSegmentCacheBytesMax: 16 * 1024 * 1024,
  requestsPerReadMax: 48,
  entriesPerQuery: 8,
};
/** A range read never asks for less than this (S3 charges per request, not per byte read). */
const RANGE_READ_BYTES_MIN = 64 * 1024;
/** Compressed batches carry framing; a range sized by payload bytes gets this much more. */
const RANGE_READ_SLACK = 1.25;
/** Rough bytes a decoded index entry takes in memory. */
const INDEX_ENTRY_BYTES = 64;

/** Reads archived batches of any partition. One per process; share it across invocations. */
export class SegmentReader {
  readonly stats: SegmentReaderStats = {
    manifestQueries: 0,
    rangeReads: 0,
    bytesRead: 0,
    indexCacheHits: 0,
    segmentCacheHits: 0,
  };
  private readonly options: Required<SegmentReaderOptions>;
  private readonly indexes: LruCache<SegmentIndex>;
  private readonly smallSegments: LruCache<Uint8Array>;

  constructor(
    private readonly manifest: SegmentManifest,
    private readonly objects: SegmentObjects,
    options: SegmentReaderOptions = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.indexes = new LruCache(this.options.indexCacheBytesMax);
    this.smallSegments = new LruCache(this.options.smallSegmentCacheBytesMax);
  }

  /**
   * Batches from the one holding `offset` up to `endOffset` (exclusive; the archivedOffset the
   * caller read), in order and contiguous. The consumer stops whenever it has enough (breaking out
   * of the loop ends the reads); the sequence also ends early, at a batch boundary, once the read
   * has made `requestsPerReadMax` S3 requests.
   *
   * @throws SegmentMissingError when a segment was deleted meanwhile (retention moved
   *   logStartOffset past it: re-read the head), CorruptSegmentError on malformed objects.
   */
  async *batches(
    topic: Topic,
    partition: number,
    offset: number,
    endOffset: number,
    hint: ReadHint,
  ): AsyncGenerator<ArchivedBatch> {
    let next = offset;
    let requests = 0;
    let consumedRecords = 0;
    let consumedBytes = 0;
    while (next < endOffset && requests < this.options.requestsPerReadMax) {
      this.stats.manifestQueries++;
      const entries = await this.manifest.segmentsFrom(topic, partition, next, this.options.entriesPerQuery);
      if (entries.length === 0) return;
      for (const entry of entries) {
        if (entry.baseOffset > next) {
          throw new CorruptSegmentError(
            `The manifest of ${topic.name}-${partition} has no segment for offset ${next} (the next starts at ${entry.baseOffset})`,
          );
        }
        const segment = await this.open(entry);
        requests += segment.requests;
        const start = entryForOffset(segment.index, next);
        let position = start.position;
        let positionBase = start.baseOffset;
        while (next <= entry.lastOffset && next < endOffset) {
          if (requests >= this.options.requestsPerReadMax) return;
          const wantRecords = Math.max(1, hint.recordsMax - consumedRecords);
          const wantBytes = Math.max(1, hint.bytesMax - consumedBytes);
          const read = await this.readFrames(
            entry,
            segment,
            position,
            positionBase,
            next,
            wantRecords,
            wantBytes,
          );
          requests += read.requests;
          for (const frame of read.frames) {
            if (frame.lastOffset < next) continue;
            const batch = decodeFrame(entry, frame);
            yield batch;
            for (const record of batch.records) {
              if (record.offset < next) continue;
              consumedRecords++;
              consumedBytes += recordBytes(record);
            }
            next = frame.lastOffset + 1;
          }
          const last = read.frames.at(-1);
          if (last) {
            position = last.end;
            positionBase = last.lastOffset + 1;
          }
        }
        if (next >= endOffset || requests >= this.options.requestsPerReadMax) return;
      }
    }
  }

  /**
   * The earliest offset in [`fromOffset`, `endOffset`) whose record timestamp is at or after
   * `timestamp`, or undefined when every archived record is older. Binary search over the
   * manifest by the segments' running maximum timestamp, then over the segment's index, then a
   * scan of a few frames and one batch.
   */
  async offsetForTimestamp(
    topic: Topic,
    partition: number,
    fromOffset: number,
    endOffset: number,
    timestamp: number,
    stepsMax: number,
  ): Promise<number | undefined> {
    let low = fromOffset;
    let high = endOffset;
    let found: SegmentEntry | undefined;
    for (let step = 0; low < high && step < stepsMax; step++) {
      const middle = low + Math.floor((high - low) / 2);
      this.stats.manifestQueries++;
      const [entry] = await this.manifest.segmentsFrom(topic, partition, middle, 1);
      if (!entry || entry.baseOffset >= endOffset) break;
      if (entry.maxTimestampSoFar >= timestamp) {
        found = entry;
        high = entry.baseOffset;
      } else {
        low = entry.lastOffset + 1;
      }
    }
    if (!found || low >= endOffset) return undefined;
    let target = found;
    if (found.baseOffset !== low) {
      this.stats.manifestQueries++;
      const [entry] = await this.manifest.segmentsFrom(topic, partition, low, 1);
      if (!entry) return undefined;
      target = entry;
    }
    const segment = await this.open(target);
    const start = entryForTimestamp(segment.index, timestamp);
    // The first batch reaching `timestamp` lies after `start` and no later than the next entry.
    const following = segment.index.entries.find((entry) => entry.position > start.position);
    const end = following ? nextEntryPosition(segment.index, following) : segment.index.indexPosition;
    const bytes = await this.rangeOf(target, segment, start.position, end);
    const frames = decodeFrames(bytes, start.position, start.baseOffset, segment.index.baseOffset);
    const frame = frames.find((candidate) => candidate.maxTimestampSoFar >= timestamp);
    if (!frame) return undefined;
    const record = decodeBatch(frame.data, frame.baseOffset).find(
      (candidate) => candidate.offset >= low && candidate.timestamp >= timestamp,
    );
    return record?.offset;
  }

  /**
   * The batch starting at `baseOffset` that the stream rescued after DynamoDB's TTL deleted it
   * before it was archived, decoded; undefined when there is none (yet).
   */
  async rescuedBatch(
    topic: Topic,
    partition: number,
    baseOffset: number,
  ): Promise<ArchivedBatch | undefined> {
    const rescued = await this.objects.getRescued(topic.topicId, partition, baseOffset);
    if (!rescued) return undefined;
    const key = rescueKey(topic.topicId, partition, baseOffset);
    return { ...rescued, records: decodeBatchAt(rescued.data, rescued.baseOffset, key, 0) };
  }

  /** The index of a segment (cached), or the whole small segment (cached), with the requests spent. */
  private async open(entry: SegmentEntry): Promise<OpenSegment> {
    if (entry.objectBytes <= this.options.smallSegmentBytesMax) {
      let whole = this.smallSegments.get(entry.key);
      let requests = 0;
      if (whole) this.stats.segmentCacheHits++;
      else {
        whole = await this.read(entry.key, 0, entry.objectBytes);
        requests = 1;
        this.smallSegments.set(entry.key, whole, whole.byteLength);
      }
      const index =
        this.indexes.get(entry.key) ??
        decodeSegmentIndex(whole.subarray(entry.indexPosition), entry.indexPosition);
      this.indexes.set(entry.key, index, indexBytes(index));
      return { index, whole, requests };
    }
    const cached = this.indexes.get(entry.key);
    if (cached) {
      this.stats.indexCacheHits++;
      return { index: cached, requests: 0 };
    }
    const tail = await this.read(entry.key, entry.indexPosition, entry.objectBytes);
    const index = decodeSegmentIndex(tail, entry.indexPosition);
    this.indexes.set(entry.key, index, indexBytes(index));
    return { index, requests: 1 };
  }

  /**
   * Complete frames from `position` (where the frame of the batch at `positionBase` starts), enough
   * to cover `wantRecords` records from `offset` (and about `wantBytes` payload bytes). Grows the
   * range when not even one frame fits in it.
   */
  private async readFrames(
    entry: SegmentEntry,
    segment: OpenSegment,
    position: number,
    positionBase: number,
    offset: number,
    wantRecords: number,
    wantBytes: number,
  ): Promise<{ frames: SegmentFrame[]; requests: number }> {
    const { index } = segment;
    const lastWanted = offset + wantRecords - 1;
    // Frames holding offsets up to lastWanted start before the first entry past it.
    const pastEntry = index.entries.find((candidate) => candidate.baseOffset > lastWanted);
    const coverEnd = pastEntry?.position ?? index.indexPosition;
    let length = Math.max(RANGE_READ_BYTES_MIN, Math.ceil(wantBytes * RANGE_READ_SLACK));
    let requests = 0;
    for (;;) {
      // coverEnd and indexPosition are frame boundaries; the byte budget may cut a frame short.
      const end = Math.min(index.indexPosition, coverEnd, position + length);
      const bytes = await this.rangeOf(entry, segment, position, end);
      if (!segment.whole) requests++;
      const frames = decodeFrames(bytes, position, positionBase, index.baseOffset);
      if (frames.length > 0) return { frames, requests };
      if (end === index.indexPosition || end === coverEnd) {
        throw new CorruptSegmentError(`No complete frame at position ${position} of ${entry.key}`);
      }
      length *= 2;
    }
  }

  private async rangeOf(
    entry: SegmentEntry,
    segment: OpenSegment,
    start: number,
    end: number,
  ): Promise<Uint8Array> {
    if (segment.whole) return segment.whole.subarray(start, end);
    return this.read(entry.key, start, end);
  }

  private async read(key: string, start: number, end: number): Promise<Uint8Array> {
    this.stats.rangeReads++;
    this.stats.bytesRead += end - start;
    return this.objects.readRange(key, start, end);
  }
}

interface OpenSegment {
  readonly index: SegmentIndex;
  /** The whole object, when it is small enough to be read (and kept) in one piece. */
  readonly whole?: Uint8Array;
  /** S3 requests spent opening it (0 when cached). */
  readonly requests: number;
}

function indexBytes(index: SegmentIndex): number {
  return 256 + index.entries.length * INDEX_ENTRY_BYTES;
}

/** A least-recently-used cache bounded by the sum of its entries' sizes. */
export class LruCache<V> {
  private readonly entries = new Map<string, { value: V; size: number }>();
  private size = 0;

  constructor(private readonly bytesMax: number) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    // Re-insert: a Map iterates in insertion order, so the first key is the least recently used.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V, size: number): void {
    const existing = this.entries.get(key);
    if (existing) {
      this.entries.delete(key);
      this.size -= existing.size;
    }
    if (size > this.bytesMax) return;
    this.entries.set(key, { value, size });
    this.size += size;
    for (const [oldest, entry] of this.entries) {
      if (this.size <= this.bytesMax) break;
      this.entries.delete(oldest);
      this.size -= entry.size;
    }
  }

  /** Bytes held. */
  get bytes(): number {
    return this.size;
  }
}

/** The batch a frame of the segment holds. @throws CorruptSegmentError when it does not decode to the records its frame says */
function decodeFrame(entry: SegmentEntry, frame: SegmentFrame): ArchivedBatch {
  const records = decodeBatchAt(frame.data, frame.baseOffset, entry.key, frame.end - frame.data.byteLength);
  if (records.length !== frame.lastOffset - frame.baseOffset + 1) {
    throw new CorruptSegmentError(
      `Batch at ${frame.baseOffset} of ${entry.key} decodes to ${records.length} records, its frame says ${frame.lastOffset - frame.baseOffset + 1}`,
    );
  }
  return {
    baseOffset: frame.baseOffset,
    lastOffset: frame.lastOffset,
    maxTimestampSoFar: frame.maxTimestampSoFar,
    records,
  };
}
