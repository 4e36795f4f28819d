import type { EncodedBatch } from '../domain/segment-format.js';
import type { Topic } from '../domain/topic.js';

/** One segment as the manifest records it. */
export interface SegmentEntry {
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** Object key in the segment bucket (`segment-keys.ts`). */
  readonly key: string;
  /** Size of the whole object. */
  readonly objectBytes: number;
  /** Where the index starts: the index and trailer are the bytes from here to the end. */
  readonly indexPosition: number;
  /** Sum of the batches' stored bytes (what `retentionBytes` counts). */
  readonly batchBytes: number;
  /** Running maximum of record timestamps at the segment's last batch (epoch ms). */
  readonly maxTimestampSoFar: number;
  /** When the segment was recorded (epoch ms): every record in it was appended before. */
  readonly archivedAt: number;
  /** The lifecycle retention class it is tagged with, in days (`segment-keys.ts`). */
  readonly retentionClassDays: number;
}

/** What recording a segment did. */
export type RecordSegmentOutcome =
  /** The segment is in the manifest and archivedOffset moved past it. */
  | 'recorded'
  /** archivedOffset was no longer the segment's base offset: another archiver got there first. */
  | 'archived-offset-moved'
  /** Another transaction held the partition head (a produce); nothing changed, try again. */
  | 'conflict';

/**
 * The manifest: which segments hold a partition's archived offsets, and the partition head's
 * `archivedOffset` and `logStartOffset`. Implemented by `adapters/dynamodb/segment-manifest.ts`.
 */
export interface SegmentManifest {
  /**
   * Segments in offset order, starting with the one holding `offset` (or the first after it), at
   * most `limit`. Strongly consistent with `recordSegment`.
   */
  segmentsFrom(topic: Topic, partition: number, offset: number, limit: number): Promise<SegmentEntry[]>;
  /**
   * Adds `entry` and moves archivedOffset from `entry.baseOffset` to `entry.lastOffset + 1` in one
   * conditional write: only while archivedOffset is still `entry.baseOffset` and the high watermark
   * covers the segment. Adds the segment's batch bytes to the head's archivedBytes and sets its
   * retention class floor to `retentionClassFloorDays`.
   */
  recordSegment(
    topic: Topic,
    partition: number,
    entry: SegmentEntry,
    retentionClassFloorDays: number,
  ): Promise<RecordSegmentOutcome>;
  /**
   * Moves logStartOffset from `expected` to `next` and takes `releasedBytes` off archivedBytes,
   * only while logStartOffset is still `expected` and `next` is at most archivedOffset; false when
   * it changed meanwhile.
   */
  advanceLogStartOffset(
    topic: Topic,
    partition: number,
    expected: number,
    next: number,
    releasedBytes: number,
  ): Promise<boolean>;
  /** Changes the retention class recorded for a segment (after its object was retagged). */
  setRetentionClass(topic: Topic, partition: number, entry: SegmentEntry, days: number): Promise<void>;
  /**
   * Sets the head's retention class floor, only while archivedOffset is still `archivedOffset`
   * (no segment was recorded since the caller checked every segment below it); false otherwise.
   */
  setRetentionClassFloor(
    topic: Topic,
    partition: number,
    archivedOffset: number,
    days: number,
  ): Promise<boolean>;
  /** Removes entries, once their objects are deleted. */
  removeSegments(topic: Topic, partition: number, entries: readonly SegmentEntry[]): Promise<void>;
  /**
   * The archivedOffset of a partition named by topic id (a stream record knows no more), or
   * undefined when the partition has no head: its topic was deleted, or it was never written.
   */
  archivedOffsetOf(topicId: string, partition: number): Promise<number | undefined>;
}

/** A batch rescued from the stream after TTL deleted it before it was archived. */
export type RescuedBatch = EncodedBatch;

/** The segment bucket. Implemented by `adapters/s3/segment-objects.ts`. */
export interface SegmentObjects {
  /** Writes (or overwrites) a segment object, tagged with `tags`. */
  putSegment(key: string, bytes: Uint8Array, tags: Readonly<Record<string, string>>): Promise<void>;
  /**
   * Bytes `start` (inclusive) to `end` (exclusive) of an object.
   * @throws SegmentMissingError when the object does not exist.
   */
  readRange(key: string, start: number, end: number): Promise<Uint8Array>;
  /** Replaces a segment object's tags. */
  tagSegment(key: string, tags: Readonly<Record<string, string>>): Promise<void>;
  /** Deletes objects; absent ones are not an error. */
  deleteObjects(keys: readonly string[]): Promise<void>;
  /** Stores a rescued batch (idempotent: the same batch always has the same bytes). */
  putRescued(topicId: string, partition: number, batch: RescuedBatch): Promise<void>;
  /** The rescued batch that starts at `baseOffset`, if one was stored. */
  getRescued(topicId: string, partition: number, baseOffset: number): Promise<RescuedBatch | undefined>;
  /** Base offsets of a partition's rescued batches below `belowOffset`, at most `limit`, in order. */
  listRescued(topicId: string, partition: number, belowOffset: number, limit: number): Promise<number[]>;
}
