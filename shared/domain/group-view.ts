/**
 * What every consumer group request starts from: the group read with its expired members removed
 * (lazy session expiry), a bounded retry of lost races, and the next generation's record. Used by
 * `group-membership.ts`, `group-offsets.ts` and `group-service.ts`.
 */
import { randomUUID } from 'node:crypto';
import type { GroupSnapshot, GroupStore, MembershipChange } from '../ports/group-store.js';
import type { PartitionLog } from '../ports/partition-log.js';
import type { TopicStore } from '../ports/topic-store.js';
import { type Assignment, assignPartitions } from './assignment.js';
import { backoffMs } from './backoff.js';
import type { Clock } from './clock.js';
import { FencedError, LimitExceededError, RetryableError } from './errors.js';
import {
  type GroupMember,
  type GroupRecord,
  type GroupTopic,
  isListedMember,
  isLiveMember,
  partitionsOf,
} from './group.js';
import { LIMITS } from './limits.js';
import type { LogService } from './log-service.js';

/** What the consumer group requests read and write. */
export interface GroupDependencies {
  readonly groups: GroupStore;
  readonly topics: TopicStore;
  readonly partitionLog: PartitionLog;
  readonly log: LogService;
  readonly clock: Clock;
}

/** The group after lazy expiry: its record and live members. */
export interface GroupView {
  readonly record: GroupRecord | undefined;
  readonly live: readonly GroupMember[];
  /** Member items not in the record (left behind by a crash): removed by the next membership write. */
  readonly orphans: readonly GroupMember[];
}

/**
 * Reads the group and removes expired members first (a new generation), so that every decision
 * is taken on live members only.
 */
export async function loadGroup(deps: GroupDependencies, group: string): Promise<GroupView> {
  for (let attempt = 1; attempt <= LIMITS.groupWriteAttemptsMax; attempt++) {
    const snapshot: GroupSnapshot = await deps.groups.read(group);
    const now = deps.clock.now();
    const record = snapshot.record;
    const live = snapshot.members.filter((member) => isLiveMember(record, member, now));
    const expired = snapshot.members.filter(
      (member) => isListedMember(record, member) && !isLiveMember(record, member, now),
    );
    const orphans = snapshot.members.filter((member) => !isListedMember(record, member));
    // A member listed in the record without an item (never the case unless edited by hand) counts as expired.
    const missing = record
      ? Object.keys(record.assignments).filter((id) => !snapshot.members.some((m) => m.memberId === id))
      : [];
    if (!record || (expired.length === 0 && missing.length === 0)) return { record, live, orphans };
    const next = nextRecord(deps, group, record, record.groupId, live, record.topics);
    const applied = await deps.groups.writeMembership({
      expectedGeneration: record.generation,
      record: next,
      createMembers: [],
      updateMembers: [],
      removeMembers: [...expired, ...orphans].map(removal),
      now,
    });
    if (applied) return { record: next, live, orphans: [] };
    await deps.clock.sleep(backoffMs(attempt, deps.clock.random));
  }
  throw contention(group);
}

/** Runs `attempt` until it answers (not undefined), with bounded, jittered backoff between tries. */
export async function retrying<T>(
  deps: GroupDependencies,
  group: string,
  attempt: () => Promise<T | undefined>,
): Promise<T> {
  for (let tries = 1; tries <= LIMITS.groupWriteAttemptsMax; tries++) {
    const result = await attempt();
    if (result !== undefined) return result;
    await deps.clock.sleep(backoffMs(tries, deps.clock.random));
  }
  throw contention(group);
}

/** The next generation's record for these members. */
export function nextRecord(
  deps: GroupDependencies,
  group: string,
  previous: GroupRecord | undefined,
  groupId: string,
  members: readonly GroupMember[],
  topics: Readonly<Record<string, GroupTopic>>,
): GroupRecord {
  const partitions = partitionsOf(topics);
  if (partitions.length > LIMITS.groupPartitionsMax) {
    throw new LimitExceededError(
      `Group '${group}' would be assigned ${partitions.length} partitions; a group holds at most ${LIMITS.groupPartitionsMax}`,
      'groupPartitions',
      partitions.length,
      LIMITS.groupPartitionsMax,
    );
  }
  const assignments: Assignment = assignPartitions({
    members: members.map((member) => ({ memberId: member.memberId, topics: member.topics })),
    partitions,
    previous: previous?.assignments ?? {},
  });
  return {
    name: group,
    groupId,
    generation: (previous?.generation ?? 0) + 1,
    assignments,
    topics,
    createdAt: previous?.createdAt ?? deps.clock.now(),
  };
}

/**
 * Creates a group without members (generation 0), for a standalone commit or a reset of a group
 * that does not exist yet; false when a race was lost.
 */
export async function createEmptyGroup(deps: GroupDependencies, record: GroupRecord): Promise<boolean> {
  const change: MembershipChange = {
    expectedGeneration: undefined,
    record,
    createMembers: [],
    updateMembers: [],
    removeMembers: [],
    now: deps.clock.now(),
  };
  return deps.groups.writeMembership(change);
}

/** The record of a new group without members. */
export function emptyRecord(deps: GroupDependencies, group: string): GroupRecord {
  return {
    name: group,
    groupId: randomUUID(),
    generation: 0,
    assignments: {},
    topics: {},
    createdAt: deps.clock.now(),
  };
}

/** A member removal, conditional on the deadline read. */
export const removal = (member: GroupMember) => ({ memberId: member.memberId, deadline: member.deadline });

export function unknownMember(group: string, memberId: string, generation: number): FencedError {
  return new FencedError(
    group,
    'unknown-member',
    generation,
    memberId,
    `Member ${memberId} is not a live member of group '${group}' (it left, was silent past its session timeout, or never joined): join again without memberId`,
  );
}

function contention(group: string): RetryableError {
  return new RetryableError(
    `Group '${group}' kept changing while this request was deciding; try again`,
    'contention',
    1,
  );
}
