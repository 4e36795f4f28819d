/**
 * Where each partition a consumer gains starts reading: a pending seek, else the group's committed
 * offset, else `from` (the log's start or end, or the first offset at a timestamp). Reads only: it
 * asks the API and the partition table, and changes nothing but the pending seeks it takes.
 */

import type { ShoalApi } from './api.js';
import type { StartFrom, TopicPartition, TopicPartitionOffset } from './consumer-types.js';
import { ERROR_CODES, isApiError } from './errors.js';
import { type PartitionStart, type PartitionTable, tpKey } from './partition-table.js';

/** Where a partition's log starts and ends now. */
type Head = { readonly logStartOffset: number; readonly highWatermark: number };

/** What the start of a partition is looked up with. */
export interface StartContext {
  readonly api: ShoalApi;
  readonly table: PartitionTable;
  /** The group whose committed offsets count, if any. */
  readonly groupId: string | undefined;
  readonly signal: AbortSignal;
}

/** A partition `assign` was given, its `partition` and `offset` optional. */
export type AssignedPartition = { topic: string; partition?: number; offset?: number };

/** Where each partition starts: a pending seek, the committed offset (if `useCommitted`), else `from`. */
export async function startOffsets(
  context: StartContext,
  partitions: readonly TopicPartition[],
  from: StartFrom,
  useCommitted: boolean,
): Promise<PartitionStart[]> {
  const committed =
    useCommitted && partitions.length > 0 ? await committedOffsets(context) : new Map<string, number>();
  const needHeads = partitions.some(
    ({ topic, partition }) =>
      !committed.has(tpKey(topic, partition)) && !context.table.hasPendingSeek(topic, partition),
  );
  const heads =
    needHeads && typeof from === 'string'
      ? await partitionHeads(context, partitions)
      : new Map<string, Head>();
  const starts: PartitionStart[] = [];
  for (const { topic, partition } of partitions) {
    const key = tpKey(topic, partition);
    const sought = context.table.takePendingSeek(topic, partition);
    const known = committed.get(key);
    let offset = sought ?? known;
    if (offset === undefined) {
      if (typeof from === 'string') {
        const head = heads.get(key);
        offset = head === undefined ? 0 : from === 'earliest' ? head.logStartOffset : head.highWatermark;
      } else {
        const timestamp = from.timestamp instanceof Date ? from.timestamp.getTime() : from.timestamp;
        offset = await context.api.offsetForTimestamp(topic, partition, timestamp);
      }
    }
    starts.push({ topic, partition, offset, committed: known });
  }
  return starts;
}

/**
 * The starts of partitions given to `assign`: a topic without `partition` is all its partitions;
 * one with an `offset` starts there, the others as {@link startOffsets} decides.
 */
export async function assignedStarts(
  context: StartContext,
  partitions: readonly AssignedPartition[],
  from: StartFrom,
): Promise<{ starts: PartitionStart[]; assigned: TopicPartition[] }> {
  const expanded: { topic: string; partition: number; offset?: number }[] = [];
  for (const item of partitions) {
    if (item.partition !== undefined) {
      expanded.push({ topic: item.topic, partition: item.partition, ...pick(item.offset) });
      continue;
    }
    const description = await context.api.describeTopic(item.topic, context.signal);
    for (const { partition } of description.partitions) {
      expanded.push({ topic: item.topic, partition, ...pick(item.offset) });
    }
  }
  const explicit = expanded.filter((item) => item.offset !== undefined) as TopicPartitionOffset[];
  const rest = expanded.filter((item) => item.offset === undefined);
  const starts = [
    ...explicit.map((item) => ({ ...item, committed: undefined })),
    ...(await startOffsets(context, rest, from, context.groupId !== undefined)),
  ];
  return { starts, assigned: expanded.map(({ topic, partition }) => ({ topic, partition })) };
}

/** The group's committed offsets by partition key; none when there is no group (yet). */
async function committedOffsets(context: StartContext): Promise<Map<string, number>> {
  const committed = new Map<string, number>();
  if (context.groupId === undefined) return committed;
  try {
    const description = await context.api.describeGroup(context.groupId, context.signal);
    for (const offset of description.offsets) {
      if (offset.committedOffset !== null)
        committed.set(tpKey(offset.topic, offset.partition), offset.committedOffset);
    }
  } catch (error) {
    if (!isApiError(error, ERROR_CODES.groupNotFound)) throw error;
  }
  return committed;
}

/** The log start and high watermark of every partition of the topics named. */
async function partitionHeads(
  context: StartContext,
  partitions: readonly TopicPartition[],
): Promise<Map<string, Head>> {
  const heads = new Map<string, Head>();
  for (const topic of new Set(partitions.map((tp) => tp.topic))) {
    const description = await context.api.describeTopic(topic, context.signal);
    for (const head of description.partitions) heads.set(tpKey(topic, head.partition), head);
  }
  return heads;
}

function pick(offset: number | undefined): { offset?: number } {
  return offset === undefined ? {} : { offset };
}
