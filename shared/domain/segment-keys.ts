/**
 * Where tiered storage puts things in the segment bucket, and the retention classes its lifecycle
 * backstop understands. Shared by the archiver, the S3 adapter and the CDK stack.
 *
 * ```
 * segments/<topicId>/<partition>/<baseOffset:16>-<lastOffset:16>.seg   one segment (segment-format.ts)
 * rescue/<topicId>/<partition>/<baseOffset:16>.batch                  a batch rescued from the TTL stream
 * payloads/<classDays>d/<topicId>/<appendId>                         the batches of one large append
 * uploads/<topicId>/<uploadId>                                        a record value a client uploaded
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
/** Prefix of every payload object: the batch bytes of an append too large to store in DynamoDB. */
export const PAYLOAD_KEY_PREFIX = 'payloads/';
/** Prefix of every upload: one record value a client put with a presigned URL, for a produce to append. */
export const UPLOAD_KEY_PREFIX = 'uploads/';

/**
 * The object of an upload. A produce copies its bytes into the append's payload object, so an upload
 * is never read after its produce; a lifecycle rule deletes every upload a day or two after it was
 * made, whether a produce appended it or not.
 */
export function uploadKey(topicId: string, uploadId: string): string {
  return `${UPLOAD_KEY_PREFIX}${topicId}/${uploadId}`;
}
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

/**
 * The object that holds the batches of the append attempt `appendId` (the log table's batch items
 * point into it by byte range). Named by the attempt, so two attempts never share an object and an
 * attempt that did not commit leaves an object nothing points to. Its retention class is part of
 * the key, so the lifecycle rules expire it by prefix: no object tags to pay for.
 */
export function payloadKey(topicId: string, classDays: number, appendId: string): string {
  return `${payloadClassPrefix(classDays)}${topicId}/${appendId}`;
}

/** The folder of the payload objects of one retention class (one lifecycle rule each). */
export function payloadClassPrefix(classDays: number): string {
  return `${PAYLOAD_KEY_PREFIX}${classDays}d/`;
}

/** The retention class a payload key names, or undefined for any other key. */
export function payloadClassDaysOf(key: string): number | undefined {
  const match = /^payloads\/(\d{1,7})d\//.exec(key);
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

/**
 * How long after a batch's TTL its payload object must stay: DynamoDB deletes expired items days
 * late (the developer guide says "within a few days"), and the TTL stream, which hands a deleted
 * batch to the rescue, keeps its records for 24 hours.
 */
export const PAYLOAD_KEEP_AFTER_TTL_MS = 7 * DAY_MS;

/**
 * The retention class of a payload object of a topic with `localRetentionMs`: long enough for every
 * reader of the batch items that point into it (fetch, the archiver, the TTL rescue), which read
 * them no later than the items' TTL plus {@link PAYLOAD_KEEP_AFTER_TTL_MS}; after the archiver
 * copied the batches into a segment nobody reads the object again. Always a class that expires, so
 * an object whose append never committed is deleted by the lifecycle rules, never kept forever.
 */
export function payloadRetentionClassDays(localRetentionMs: number): number {
  const days = retentionClassDays(localRetentionMs + PAYLOAD_KEEP_AFTER_TTL_MS);
  return days === RETENTION_CLASS_FOREVER ? (RETENTION_CLASS_DAYS.at(-1) as number) : days;
}
