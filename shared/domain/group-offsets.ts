/**
 * A consumer group's committed offsets: commits, fenced by generation and ownership (or a
 * standalone consumer's while the group has no live member), and resets, which move offsets
 * anywhere, backwards too, while the group has no live member.
 */
import type { CommitOutcome } from '../ports/group-store.js';
import type { PartitionHead } from '../ports/partition-log.js';
import {
  FencedError,
  GroupNotEmptyError,
  InvalidCommitOffsetError,
  InvalidRequestError,
  LimitExceededError,
  OffsetRegressionError,
  TopicNotFoundError,
} from './errors.js';
import { type CommittedOffset, type GroupMember, type GroupRecord, validateGroupName } from './group.js';
import {
  createEmptyGroup,
  emptyRecord,
  type GroupDependencies,
  type GroupView,
  loadGroup,
  retrying,
  unknownMember,
} from './group-view.js';
import { LIMITS } from './limits.js';
import { requirePartition, type Topic } from './topic.js';

export interface OffsetToCommit {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly metadata?: string;
}

export interface CommitInput {
  /** Both or neither: without them the commit is a standalone consumer's. */
  readonly memberId?: string;
  readonly generation?: number;
  readonly offsets: readonly OffsetToCommit[];
}

export interface CommitResult {
  readonly generation: number;
  readonly offsets: readonly { topic: string; partition: number; offset: number }[];
}

/** Where a reset moves a topic's committed offsets. */
export type ResetTarget =
  | { readonly kind: 'earliest' }
  | { readonly kind: 'latest' }
  | { readonly kind: 'timestamp'; readonly timestamp: number }
  | { readonly kind: 'offset'; readonly offset: number };

export interface ResetInput {
  readonly topic: string;
  readonly to: ResetTarget;
  /** Only these partitions; all of the topic's when absent. */
  readonly partitions?: readonly number[];
}

/** An offset checked against its partition's high watermark, with the topic incarnation it is for. */
export interface CheckedOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly metadata: string | undefined;
  readonly topicId: string;
}

const tpKey = (topic: string, partition: number) => `${topic}#${partition}`;

/**
 * Commits next-offsets-to-read. A member's commit counts as its heartbeat; it is fenced unless
 * `generation` is the group's current one and the member owns every partition in it. Without
 * member and generation it is a standalone consumer's commit, allowed only while the group has
 * no live member. All offsets of a request are committed or none.
 *
 * @throws FencedError, GroupNotEmptyError, InvalidCommitOffsetError (above the high watermark),
 *   OffsetRegressionError (below the committed offset), TopicNotFoundError, PartitionNotFoundError
 */
export async function commitOffsets(
  deps: GroupDependencies,
  group: string,
  input: CommitInput,
): Promise<CommitResult> {
  validateGroupName(group);
  validateCommit(input);
  // After an attempt with an unknown outcome, a regression report may be that attempt's own write.
  let uncertain = false;
  return retrying(deps, group, async () => {
    const view = await loadGroup(deps, group);
    const now = deps.clock.now();
    const committer = await committerOf(deps, group, view, input);
    if (!committer) return undefined;
    const { record, member } = committer;
    const offsets = await checkedOffsets(deps, input.offsets);
    const outcome: CommitOutcome = await deps.groups.commit({
      group,
      groupId: record.groupId,
      generation: record.generation,
      member: member && {
        memberId: member.memberId,
        lastHeartbeat: now,
        deadline: now + member.sessionTimeoutMs,
        seenGeneration: record.generation,
      },
      offsets: offsets.map((offset) => ({ ...offset, committedAt: now })),
      now,
    });
    const committed = {
      generation: record.generation,
      offsets: offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })),
    };
    switch (outcome.kind) {
      case 'committed':
        return committed;
      case 'regressed':
        return regressed(deps, group, offsets, outcome.index, uncertain ? committed : undefined);
      case 'unknown':
        uncertain = true;
        return undefined;
      default:
        // The generation moved or the member expired meanwhile: re-read and decide again.
        return undefined;
    }
  });
}

/** @throws InvalidRequestError, LimitExceededError */
export function validateCommit(input: CommitInput): void {
  if ((input.memberId === undefined) !== (input.generation === undefined)) {
    throw new InvalidRequestError(
      'give both memberId and generation (a member of the group), or neither (a standalone consumer)',
      input.memberId === undefined ? 'memberId' : 'generation',
    );
  }
  if (input.offsets.length === 0)
    throw new InvalidRequestError('offsets must hold at least one offset', 'offsets');
  if (input.offsets.length > LIMITS.commitOffsetsPerRequestMax) {
    throw new LimitExceededError(
      `One commit holds at most ${LIMITS.commitOffsetsPerRequestMax} offsets (one DynamoDB transaction), got ${input.offsets.length}`,
      'commitOffsetsPerRequest',
      input.offsets.length,
      LIMITS.commitOffsetsPerRequestMax,
    );
  }
  const seen = new Set<string>();
  for (const [index, offset] of input.offsets.entries()) {
    const key = tpKey(offset.topic, offset.partition);
    if (seen.has(key)) {
      throw new InvalidRequestError(
        `offsets[${index}]: ${offset.topic}-${offset.partition} appears twice`,
        `offsets[${index}]`,
      );
    }
    seen.add(key);
  }
}

/**
 * Who commits: a member that owns every offset's partition in the current generation, or a
 * standalone consumer while the group has no live member (the group is created for it if need
 * be). Undefined when a race was lost.
 *
 * @throws FencedError, GroupNotEmptyError
 */
export async function committerOf(
  deps: GroupDependencies,
  group: string,
  view: GroupView,
  input: CommitInput,
): Promise<{ record: GroupRecord; member: GroupMember | undefined } | undefined> {
  const { record } = view;
  if (input.memberId !== undefined && input.generation !== undefined) {
    const member = view.live.find((m) => m.memberId === input.memberId);
    if (!record || !member) throw unknownMember(group, input.memberId, record?.generation ?? 0);
    requireGeneration(group, record, input.memberId, input.generation);
    requireOwnership(group, record, member, input.offsets);
    return { record, member };
  }
  if (view.live.length > 0)
    throw new GroupNotEmptyError(group, view.live.length, 'a standalone commit is allowed');
  if (record) return { record, member: undefined };
  const created = emptyRecord(deps, group);
  return (await createEmptyGroup(deps, created)) ? { record: created, member: undefined } : undefined;
}

function requireGeneration(group: string, record: GroupRecord, memberId: string, generation: number): void {
  if (generation !== record.generation) {
    throw new FencedError(
      group,
      'stale-generation',
      record.generation,
      memberId,
      `Generation ${generation} of group '${group}' is not the current one (${record.generation}): heartbeat to learn the current assignments, then commit with that generation`,
    );
  }
}

function requireOwnership(
  group: string,
  record: GroupRecord,
  member: GroupMember,
  offsets: readonly OffsetToCommit[],
): void {
  const owned = new Set(
    (record.assignments[member.memberId] ?? []).map((tp) => tpKey(tp.topic, tp.partition)),
  );
  for (const offset of offsets) {
    if (!owned.has(tpKey(offset.topic, offset.partition))) {
      throw new FencedError(
        group,
        'not-owner',
        record.generation,
        member.memberId,
        `Member ${member.memberId} does not own ${offset.topic}-${offset.partition} in generation ${record.generation} of group '${group}'`,
      );
    }
  }
}

/**
 * A commit below the committed offset at `index`. After an attempt with an unknown outcome
 * (`landed` is what that attempt asked for), the offset may be past ours because our write landed
 * and a later commit moved on: what was asked for holds.
 *
 * @throws OffsetRegressionError
 */
async function regressed(
  deps: GroupDependencies,
  group: string,
  offsets: readonly CheckedOffset[],
  index: number,
  landed: CommitResult | undefined,
): Promise<CommitResult> {
  const offset = offsets[index];
  if (!offset) throw new Error(`Commit outcome names offset ${index} of ${offsets.length}`);
  const current = await deps.groups.readOffset(group, offset.topic, offset.partition);
  if (landed && current !== undefined && current.offset >= offset.offset) return landed;
  throw new OffsetRegressionError(group, offset.topic, offset.partition, offset.offset, current?.offset);
}

/** Checks each offset against its partition's high watermark and names the topic incarnation. */
export async function checkedOffsets(
  deps: GroupDependencies,
  offsets: readonly OffsetToCommit[],
): Promise<CheckedOffset[]> {
  const byTopic = new Map<string, OffsetToCommit[]>();
  for (const offset of offsets) byTopic.set(offset.topic, [...(byTopic.get(offset.topic) ?? []), offset]);
  const checked: CheckedOffset[] = [];
  for (const [name, ofTopic] of byTopic) {
    const topic: Topic | undefined = await deps.topics.get(name);
    if (!topic) throw new TopicNotFoundError(name);
    for (const offset of ofTopic) requirePartition(topic, offset.partition);
    const heads = await deps.partitionLog.readHeads(
      topic,
      ofTopic.map((offset) => offset.partition),
    );
    ofTopic.forEach((offset, index) => {
      const highWatermark = heads[index]?.highWatermark ?? 0;
      if (!Number.isInteger(offset.offset) || offset.offset < 0 || offset.offset > highWatermark) {
        throw new InvalidCommitOffsetError(name, offset.partition, offset.offset, highWatermark);
      }
      checked.push({
        topic: name,
        partition: offset.partition,
        offset: offset.offset,
        metadata: offset.metadata,
        topicId: topic.topicId,
      });
    });
  }
  // Keep the request's order, so an outcome's index names the request's offset.
  const order = new Map(offsets.map((offset, index) => [tpKey(offset.topic, offset.partition), index]));
  return checked.sort(
    (a, b) => (order.get(tpKey(a.topic, a.partition)) ?? 0) - (order.get(tpKey(b.topic, b.partition)) ?? 0),
  );
}

/**
 * Moves a topic's committed offsets, backwards too, while the group has no live member, and the
 * group's generation on by one. An explicit offset is clamped to [logStartOffset, highWatermark],
 * as Kafka's tool does.
 *
 * @throws GroupNotEmptyError, TopicNotFoundError, PartitionNotFoundError
 */
export async function resetOffsets(
  deps: GroupDependencies,
  group: string,
  input: ResetInput,
): Promise<CommitResult> {
  validateGroupName(group);
  const topic = await deps.topics.get(input.topic);
  if (!topic) throw new TopicNotFoundError(input.topic);
  const partitions = [
    ...new Set(input.partitions ?? Array.from({ length: topic.partitionCount }, (_, p) => p)),
  ].sort((a, b) => a - b);
  for (const partition of partitions) requirePartition(topic, partition);

  return retrying(deps, group, async () => {
    const view = await loadGroup(deps, group);
    if (view.live.length > 0) throw new GroupNotEmptyError(group, view.live.length, 'offsets can be reset');
    let record = view.record;
    if (!record) {
      record = emptyRecord(deps, group);
      if (!(await createEmptyGroup(deps, record))) return undefined;
    }
    const heads = await deps.partitionLog.readHeads(topic, partitions);
    const now = deps.clock.now();
    const offsets: Omit<CommittedOffset, 'groupId'>[] = [];
    for (const head of heads) {
      offsets.push({
        topic: topic.name,
        partition: head.partition,
        offset: await resetOffset(deps, topic, head, input.to),
        metadata: undefined,
        topicId: topic.topicId,
        committedAt: now,
      });
    }
    if (!(await deps.groups.resetOffsets(group, record.groupId, record.generation, offsets)))
      return undefined;
    // The store moved the generation on with the offsets: a reset starts a new epoch, so an
    // exactly-once delivery replaying from a position it delivered before writes under a key of
    // its own, and no commit of the old generation lands.
    return {
      generation: record.generation + 1,
      offsets: offsets.map(({ topic: name, partition, offset }) => ({ topic: name, partition, offset })),
    };
  });
}

/** Where a reset to `to` puts a partition. */
async function resetOffset(
  deps: GroupDependencies,
  topic: Topic,
  head: PartitionHead,
  to: ResetTarget,
): Promise<number> {
  switch (to.kind) {
    case 'earliest':
      return head.logStartOffset;
    case 'latest':
      return head.highWatermark;
    case 'timestamp':
      return deps.log.offsetForTimestamp(topic.name, head.partition, to.timestamp);
    case 'offset':
      return Math.min(Math.max(to.offset, head.logStartOffset), head.highWatermark);
  }
}
