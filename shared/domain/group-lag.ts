/**
 * A consumer group described: its state, generation and live members, and per partition the
 * committed offset, the high watermark and the lag between them.
 */
import type { TopicPartition } from './assignment.js';
import { GroupNotFoundError } from './errors.js';
import {
  type CommittedOffset,
  type GroupRecord,
  type GroupState,
  groupState,
  validateGroupName,
} from './group.js';
import { type GroupDependencies, loadGroup } from './group-view.js';
import { LIMITS } from './limits.js';

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** Null when the group has committed nothing for the partition. */
  readonly committedOffset: number | null;
  readonly highWatermark: number;
  /** highWatermark - committedOffset; null without a committed offset. */
  readonly lag: number | null;
  readonly metadata: string | null;
}

export interface GroupDescription {
  readonly group: string;
  readonly state: GroupState;
  readonly generation: number;
  readonly members: readonly {
    memberId: string;
    topics: readonly string[];
    sessionTimeoutMs: number;
    joinedAt: number;
    lastHeartbeat: number;
    assignments: readonly TopicPartition[];
  }[];
  readonly offsets: readonly PartitionLag[];
  readonly createdAt: number;
}

/**
 * State, generation, members with assignments and last heartbeat, and per partition the
 * committed offset, high watermark and lag.
 *
 * @throws GroupNotFoundError
 */
export async function describeGroup(deps: GroupDependencies, group: string): Promise<GroupDescription> {
  validateGroupName(group);
  const view = await loadGroup(deps, group);
  const record = view.record;
  if (!record) throw new GroupNotFoundError(group);
  const committed = (await deps.groups.readOffsets(group, LIMITS.groupOffsetsListedMax)).filter(
    (offset) => offset.groupId === record.groupId,
  );
  const offsets = await partitionLags(deps, record, committed);
  return {
    group,
    state: groupState(record, view.live),
    generation: record.generation,
    members: [...view.live]
      .sort((a, b) => (a.memberId < b.memberId ? -1 : 1))
      .map((member) => ({
        memberId: member.memberId,
        topics: member.topics,
        sessionTimeoutMs: member.sessionTimeoutMs,
        joinedAt: member.joinedAt,
        lastHeartbeat: member.lastHeartbeat,
        assignments: record.assignments[member.memberId] ?? [],
      })),
    offsets,
    createdAt: record.createdAt,
  };
}

/**
 * The lag of every partition of the subscribed topics and of every partition with a committed
 * offset, in topic and partition order; topics deleted since (or recreated) are left out.
 */
async function partitionLags(
  deps: GroupDependencies,
  record: GroupRecord,
  committed: readonly CommittedOffset[],
): Promise<PartitionLag[]> {
  const topicNames = [
    ...new Set([...Object.keys(record.topics), ...committed.map((offset) => offset.topic)]),
  ];
  const offsets: PartitionLag[] = [];
  for (const name of topicNames.sort()) {
    const topic = await deps.topics.get(name);
    if (!topic) continue;
    const committedHere = new Map(
      committed
        .filter((offset) => offset.topic === name && offset.topicId === topic.topicId)
        .map((offset) => [offset.partition, offset]),
    );
    const partitions = new Set<number>(committedHere.keys());
    if (record.topics[name]) {
      for (let partition = 0; partition < topic.partitionCount; partition++) partitions.add(partition);
    }
    const ordered = [...partitions].filter((p) => p < topic.partitionCount).sort((a, b) => a - b);
    const heads = await deps.partitionLog.readHeads(topic, ordered);
    for (const head of heads) {
      const offset = committedHere.get(head.partition);
      offsets.push({
        topic: name,
        partition: head.partition,
        committedOffset: offset?.offset ?? null,
        highWatermark: head.highWatermark,
        lag: offset ? Math.max(0, head.highWatermark - offset.offset) : null,
        metadata: offset?.metadata ?? null,
      });
    }
  }
  return offsets;
}
