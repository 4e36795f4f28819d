/**
 * Where tiered storage puts things in the segment bucket, and the retention classes its lifecycle
 * backstop understands. Shared by the archiver, the S3 adapter and the CDK stack.
 *
 * ```
 * segments/<topicId>/<partition>/<baseOffset:16>-<lastOffset:16>.seg   one segment (segment-format.ts)
 * rescue/<topicId>/<partition>/<baseOffset:16>.batch                  a batch rescued from the TTL stream
 * ```
 *
 * Offsets are zero-padded to 16 digits (2^53 has 16), so keys list in offset order. A segment's key
 * is a function of its offset range: two archivers that build the same range write the same object,
 * and a crash between the upload and the manifest leaves an object that the next run overwrites.
 */

/** Prefix of every segment object. */
export const SEGMENT_KEY_PREFIX = 'segments/';
/** Prefix of every rescued batch. */
export const RESCUE_KEY_PREFIX = 'rescue/';
const OFFSET_DIGITS = 16;

/** Zero-padded offset, so that keys (and the manifest's sort keys) sort numerically. */
export function paddedOffset(offset: number): string {
  return String(offset).padStart(OFFSET_DIGITS, '0');
}

export function segmentKey(
  topicId: string,
  partition: number,
  baseOffset: number,
  lastOffset: number,
): string {
  return `${SEGMENT_KEY_PREFIX}${topicId}/${partition}/${paddedOffset(baseOffset)}-${paddedOffset(lastOffset)}.seg`;
}

/** The folder of a partition's rescued batches. */
export function rescuePrefix(topicId: string, partition: number): string {
  return `${RESCUE_KEY_PREFIX}${topicId}/${partition}/`;
}

export function rescueKey(topicId: string, partition: number, baseOffset: number): string {
  return `${rescuePrefix(topicId, partition)}${paddedOffset(baseOffset)}.batch`;
}

/** The base offset a rescue key names, or undefined for a foreign key. */
export function baseOffsetOfRescueKey(key: string): number | undefined {
  const match = /\/(\d{16})\.batch$/.exec(key);
  return match ? Number(match[1]) : undefined;
}

/** Object tag naming a segment's retention class (whole days after which S3 may expire it). */
export const RETENTION_CLASS_TAG = 'shoal-retention-days';

/**
 * Retention classes, in days: the bucket has one lifecycle rule per class, expiring objects tagged
 * with it that many days after they were written. A class is one day longer than a round retention
 * (1, 2, 3, 7, 14, 30 days, ...) so that S3's day rounding never cuts a retention short.
 */
export const RETENTION_CLASS_DAYS = [2, 3, 4, 8, 15, 31, 61, 91, 181, 366, 731, 1096, 1827, 3651] as const;

/** The class of segments that never expire (retention -1, or longer than every class): no tag. */
export const RETENTION_CLASS_FOREVER = 1_000_000;

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The retention class of a segment of a topic with `retentionMs`: the smallest class that is at
 * least a day longer than the retention, so the lifecycle backstop never deletes a segment the
 * archiver would keep (a segment is written after its records were appended, and S3 counts from
 * the write). {@link RETENTION_CLASS_FOREVER} for -1: such segments carry no tag.
 */
export function retentionClassDays(retentionMs: number): number {
  if (retentionMs === -1) return RETENTION_CLASS_FOREVER;
  return (
    RETENTION_CLASS_DAYS.find((days) => days * DAY_MS >= retentionMs + DAY_MS) ?? RETENTION_CLASS_FOREVER
  );
}

/** The object tags of a segment of a class: none for segments that never expire. */
export function retentionClassTags(days: number): Record<string, string> {
  return days === RETENTION_CLASS_FOREVER ? {} : { [RETENTION_CLASS_TAG]: String(days) };
}
