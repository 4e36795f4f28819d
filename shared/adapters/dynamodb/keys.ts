/**
 * Item keys and attribute names of Shoal's items. Short attribute names keep stored bytes (and
 * so write units) down; this file is their dictionary.
 *
 * Meta table:
 * | item              | pk                          | sk     | attributes                              |
 * |-------------------|-----------------------------|--------|-----------------------------------------|
 * | topic             | `T#<name>`                  | `T`    | id, pc (partitions), ca, config: ret (retentionMs), rb (retentionBytes), sm (segmentMs), sb (segmentBytes), lr (localRetentionMs) |
 * | topic directory   | `TOPICS`                    | name   | same as topic (so a list is one Query)  |
 * | partition head    | `H#<topicId>#<partition>`   | `H`    | hw, lso, ao, mt (max timestamp so far), ab (archived bytes), tc (retention class floor, days) |
 * | head tombstone    | `H#<topicId>#<partition>`   | `H`    | dl (deleted at), x (TTL): a deleted topic's head, which no append passes |
 * | idempotency key   | `I#<topicId>#<key>`         | `I`    | h (request hash), r (answer), xm, x     |
 * | idempotency key of an append with a commit | `I#G#<groupId>#<key>` | `I` | same as above; scoped to the group incarnation |
 * | consumer group    | `G#<group>`                 | `G`    | gid, gen, asg (member → topic → partitions), tp (topic → id, pc), ca |
 * | group member      | `G#<group>`                 | `M#<memberId>` | gid, t (topics), st, ja, hb, dl (deadline), sg (seen generation) |
 * | committed offset  | `G#<group>`                 | `O#<topic>#<partition, 5 digits>` | c, m (metadata), t, p, tid, gid, ct |
 * | group directory   | `GROUPS`                    | group  | gid, ca (so a list is one Query)        |
 * | subscription      | `SUBS`                      | name   | sid, c (settings), g, ca (a list is one Query; see `subscription-store.ts`) |
 * | delivery state    | `SUB#<name>`                | `P#<partition, 5 digits>` | sid, lease lo/le, retry rs/re/ra/rt, counters, last error |
 * | deleted topic     | `DELETED_TOPICS`            | deleted at (epoch ms, 16 digits) `#` topic id | id, n (name), pc, da (deleted at): data the reaper has yet to remove |
 * | segment (manifest)| `S#<topicId>#<partition>`   | last offset, 16 digits | bo (base offset), k (S3 key), ob (object bytes), ip (index position), bb (batch bytes), mt (max timestamp so far), at (archived at), rc (retention class days) |
 *
 * A partition head's `ao` (archivedOffset) and `lso` (logStartOffset) move only with the archiver's
 * conditional writes (`segment-manifest.ts`): `ao` together with the segment item that covers the
 * offsets it passes, `lso` only up to `ao`.
 *
 * A group's items share one partition key: one Query (`sk < 'N'`) reads the group item and every
 * member item, and `sk` beginning with `O#` reads its committed offsets.
 *
 * Log table: pk `<topicId>#<partition>`, sk = last offset of the batch; bo (base offset),
 * mt (max timestamp so far), d (encoded records), a (append id), x (TTL, epoch seconds).
 */

export const TOPIC_DIRECTORY_PK = 'TOPICS';
/** Topics deleted whose data the reaper has not removed yet, oldest first (`topic-remains.ts`). */
export const DELETED_TOPICS_PK = 'DELETED_TOPICS';
const DELETED_AT_DIGITS = 16;
export const deletedTopicKey = (topicId: string, deletedAtMs: number) => ({
  pk: DELETED_TOPICS_PK,
  sk: `${String(deletedAtMs).padStart(DELETED_AT_DIGITS, '0')}#${topicId}`,
});

export const topicKey = (name: string) => ({ pk: `T#${name}`, sk: 'T' });
export const topicDirectoryKey = (name: string) => ({ pk: TOPIC_DIRECTORY_PK, sk: name });
export const headKey = (topicId: string, partition: number) => ({ pk: `H#${topicId}#${partition}`, sk: 'H' });
export const idempotencyKey = (topicId: string, key: string) => ({ pk: `I#${topicId}#${key}`, sk: 'I' });
/** The Idempotency-Key of an append with a commit (it may span topics): scoped to the group incarnation. */
export const commitIdempotencyKey = (groupId: string, key: string) => ({
  pk: `I#G#${groupId}#${key}`,
  sk: 'I',
});
export const logPartitionKey = (topicId: string, partition: number) => `${topicId}#${partition}`;

/** A log table partition key: a topic id (no `#`) and a partition number of up to 9 digits. */
const LOG_PARTITION_KEY = /^([^#]+)#(\d{1,9})$/;

/**
 * The topic and partition of a log table partition key, the inverse of {@link logPartitionKey}:
 * the one parser of the key format, for the stream consumers that get keys back (the dispatcher,
 * the TTL rescue).
 *
 * @returns undefined when `pk` is not a log table partition key (e.g. a meta table key, `H#...#0`).
 * @example
 * parseLogPartitionKey('3f1c-topic-id#7'); // { topicId: '3f1c-topic-id', partition: 7 }
 */
export function parseLogPartitionKey(pk: string): { topicId: string; partition: number } | undefined {
  const match = LOG_PARTITION_KEY.exec(pk);
  if (!match) return undefined;
  return { topicId: match[1] as string, partition: Number(match[2]) };
}
export const batchKey = (topicId: string, partition: number, lastOffset: number) => ({
  pk: logPartitionKey(topicId, partition),
  sk: lastOffset,
});

/** Segment entries of one partition; the sort key is the segment's zero-padded last offset. */
export const segmentEntryPartitionKey = (topicId: string, partition: number) => `S#${topicId}#${partition}`;
export const segmentEntryKey = (topicId: string, partition: number, paddedLastOffset: string) => ({
  pk: segmentEntryPartitionKey(topicId, partition),
  sk: paddedLastOffset,
});

export const GROUP_DIRECTORY_PK = 'GROUPS';
/** Partition numbers in offset sort keys are padded so that they sort numerically. */
const PARTITION_DIGITS = 5;

export const groupPartitionKey = (group: string) => `G#${group}`;
export const groupKey = (group: string) => ({ pk: groupPartitionKey(group), sk: 'G' });
export const groupDirectoryKey = (group: string) => ({ pk: GROUP_DIRECTORY_PK, sk: group });
export const MEMBER_SK_PREFIX = 'M#';
export const memberKey = (group: string, memberId: string) => ({
  pk: groupPartitionKey(group),
  sk: `${MEMBER_SK_PREFIX}${memberId}`,
});
export const OFFSET_SK_PREFIX = 'O#';
export const committedOffsetKey = (group: string, topic: string, partition: number) => ({
  pk: groupPartitionKey(group),
  sk: `${OFFSET_SK_PREFIX}${topic}#${String(partition).padStart(PARTITION_DIGITS, '0')}`,
});
/** Sort keys below this hold the group item (`G`) and the member items (`M#...`), nothing else. */
export const GROUP_AND_MEMBERS_SK_BOUND = 'N';

export const SUBSCRIPTION_DIRECTORY_PK = 'SUBS';
export const subscriptionKey = (name: string) => ({ pk: SUBSCRIPTION_DIRECTORY_PK, sk: name });
export const subscriptionStatePartitionKey = (name: string) => `SUB#${name}`;
export const subscriptionStateKey = (name: string, partition: number) => ({
  pk: subscriptionStatePartitionKey(name),
  sk: `P#${String(partition).padStart(PARTITION_DIGITS, '0')}`,
});
