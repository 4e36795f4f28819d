/**
 * Retention math, in Kafka's terms: whole segments go, oldest first, once they are older than
 * `retentionMs` or while the partition would still hold at least `retentionBytes` without them.
 * Pure: the archiver reads the manifest and applies the plan.
 *
 * Kafka judges a segment's age by the largest record timestamp in it; Shoal's `retentionMs` is
 * defined by append time (the promise is "nothing appended less than retentionMs ago
 * disappears"), so a segment's age is counted from when it was archived: every record in it was
 * appended before. A segment is deleted once its archive time is older than the retention: at most
 * one segment roll plus one archiver run later than the exact instant, as Kafka deletes up to
 * `segment.ms` late. Producer timestamps in the far past or future change nothing.
 *
 * Only archived segments are deleted: DynamoDB holds the unarchived tail (Kafka's active segment),
 * so logStartOffset never passes archivedOffset, and `retentionBytes` counts archived bytes only.
 */
import type { SegmentEntry } from '../ports/segment-archive.js';
import type { TopicConfig } from './topic.js';

/** What retention does to one partition now. */
export interface RetentionPlan {
  /** How many of the oldest segments to delete (a prefix of the entries given). */
  readonly segmentCount: number;
  /** Their batch bytes, to take off the partition's archivedBytes. */
  readonly releasedBytes: number;
  /** The new logStartOffset: just past the last deleted segment (unchanged when none). */
  readonly logStartOffset: number;
}

/**
 * Plans retention for a partition.
 *
 * @param entries the partition's segments from logStartOffset on, oldest first (a prefix of them
 *   is enough: the plan never reaches past the first segment it keeps).
 * @param archivedBytes the batch bytes of every segment from logStartOffset on.
 * @example
 * planRetention(entries, head.archivedBytes, topic.config, head.logStartOffset, Date.now())
 */
export function planRetention(
  entries: readonly SegmentEntry[],
  archivedBytes: number,
  config: Pick<TopicConfig, 'retentionMs' | 'retentionBytes'>,
  logStartOffset: number,
  now: number,
): RetentionPlan {
  let remaining = archivedBytes;
  let segmentCount = 0;
  let next = logStartOffset;
  for (const entry of entries) {
    const expired = config.retentionMs !== -1 && entry.archivedAt < now - config.retentionMs;
    const oversize = config.retentionBytes !== -1 && remaining - entry.batchBytes >= config.retentionBytes;
    if (!expired && !oversize) break;
    segmentCount++;
    remaining -= entry.batchBytes;
    next = entry.lastOffset + 1;
  }
  return { segmentCount, releasedBytes: archivedBytes - remaining, logStartOffset: next };
}

/** Whether retention could delete anything at all, before reading the manifest. */
export function retentionApplies(config: Pick<TopicConfig, 'retentionMs' | 'retentionBytes'>): boolean {
  return config.retentionMs !== -1 || config.retentionBytes !== -1;
}
