/**
 * The manifest in memory: segment entries per partition and the partition heads it shares with a
 * `MemoryPartitionLog`, under the same conditions as `adapters/dynamodb/segment-manifest.ts`
 * (one contract suite, `test/contract/segment-archive.contract.ts`).
 */
import type { Topic } from '../../domain/topic.js';
import type { RecordSegmentOutcome, SegmentEntry, SegmentManifest } from '../../ports/segment-archive.js';
import type { MemoryHeads } from './partition-log.js';

/**
 * Recording a segment checks, as the DynamoDB transaction does:
 *
 * ```
 *  head   hw exists AND hw > last AND ao = base (or absent when base = 0)  → ao := last + 1, ab += bytes, tc := floor
 *  entry  no entry with the same last offset                               → put
 * ```
 *
 * Never answers `conflict`: in memory no produce holds the head while the archiver writes.
 */
export class MemorySegmentManifest implements SegmentManifest {
  private readonly entries = new Map<string, SegmentEntry[]>();

  constructor(private readonly heads: MemoryHeads) {}

  async segmentsFrom(
    topic: Topic,
    partition: number,
    offset: number,
    limit: number,
  ): Promise<SegmentEntry[]> {
    return this.partitionEntries(topic.topicId, partition)
      .filter((entry) => entry.lastOffset >= offset)
      .slice(0, limit);
  }

  async recordSegment(
    topic: Topic,
    partition: number,
    entry: SegmentEntry,
    retentionClassFloorDays: number,
  ): Promise<RecordSegmentOutcome> {
    const head = this.heads.get(topic.topicId, partition);
    const entries = this.partitionEntries(topic.topicId, partition);
    const archivedOffsetAtBase =
      entry.baseOffset === 0 ? (head?.ao ?? 0) === 0 : head?.ao === entry.baseOffset;
    if (
      head?.hw === undefined ||
      !(head.hw > entry.lastOffset) ||
      !archivedOffsetAtBase ||
      entries.some((stored) => stored.lastOffset === entry.lastOffset)
    ) {
      return 'archived-offset-moved';
    }
    head.ao = entry.lastOffset + 1;
    head.ab = (head.ab ?? 0) + entry.batchBytes;
    head.tc = retentionClassFloorDays;
    entries.push({ ...entry });
    entries.sort((a, b) => a.lastOffset - b.lastOffset);
    return 'recorded';
  }

  async advanceLogStartOffset(
    topic: Topic,
    partition: number,
    expected: number,
    next: number,
    releasedBytes: number,
  ): Promise<boolean> {
    const head = this.heads.get(topic.topicId, partition);
    if (head?.hw === undefined || head.ao === undefined || !(head.ao >= next)) return false;
    if (expected === 0 ? (head.lso ?? 0) !== 0 : head.lso !== expected) return false;
    head.lso = next;
    head.ab = (head.ab ?? 0) - releasedBytes;
    return true;
  }

  async setRetentionClass(topic: Topic, partition: number, entry: SegmentEntry, days: number): Promise<void> {
    const entries = this.partitionEntries(topic.topicId, partition);
    const index = entries.findIndex((stored) => stored.lastOffset === entry.lastOffset);
    const stored = entries[index];
    // Retention removed the entry meanwhile (or another segment took its place): nothing to classify.
    if (stored?.key === entry.key) entries[index] = { ...stored, retentionClassDays: days };
  }

  async setRetentionClassFloor(
    topic: Topic,
    partition: number,
    archivedOffset: number,
    days: number,
  ): Promise<boolean> {
    const head = this.heads.get(topic.topicId, partition);
    if (head?.hw === undefined || head.ao !== archivedOffset) return false;
    head.tc = days;
    return true;
  }

  async removeSegments(topic: Topic, partition: number, removed: readonly SegmentEntry[]): Promise<void> {
    const lastOffsets = new Set(removed.map((entry) => entry.lastOffset));
    const id = entriesId(topic.topicId, partition);
    this.entries.set(
      id,
      this.partitionEntries(topic.topicId, partition).filter((entry) => !lastOffsets.has(entry.lastOffset)),
    );
  }

  async archivedOffsetOf(topicId: string, partition: number): Promise<number | undefined> {
    const head = this.heads.get(topicId, partition);
    if (head?.hw === undefined) return undefined;
    return head.ao ?? 0;
  }

  private partitionEntries(topicId: string, partition: number): SegmentEntry[] {
    const id = entriesId(topicId, partition);
    let entries = this.entries.get(id);
    if (!entries) {
      entries = [];
      this.entries.set(id, entries);
    }
    return entries;
  }
}

const entriesId = (topicId: string, partition: number) => `${topicId}#${partition}`;
