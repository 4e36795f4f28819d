/**
 * Consumer group membership: join, heartbeat and leave. Each change of members, of their
 * subscriptions or of the subscribed topics' partitions starts a new generation with a new
 * assignment; a heartbeat tells a member the generation it is in and what it owns.
 */
import { randomUUID } from 'node:crypto';
import type { TopicPartition } from './assignment.js';
import { FencedError, InvalidRequestError, LimitExceededError, TopicNotFoundError } from './errors.js';
import {
  type GroupMember,
  type GroupRecord,
  type GroupTopic,
  validateGroupName,
  validateSessionTimeout,
} from './group.js';
import {
  type GroupDependencies,
  type GroupView,
  loadGroup,
  nextRecord,
  removal,
  retrying,
  unknownMember,
} from './group-view.js';
import { LIMITS } from './limits.js';

export interface JoinInput {
  readonly topics: readonly string[];
  /** A live member's id to rejoin with (e.g. to change topics); absent for a new member. */
  readonly memberId?: string;
  readonly sessionTimeoutMs?: number;
}

/** A member's view of its generation. */
export interface MemberAssignment {
  readonly memberId: string;
  readonly generation: number;
  readonly assignments: readonly TopicPartition[];
  readonly sessionTimeoutMs: number;
}

/**
 * Joins a new member, or rejoins a live one (new topics or session timeout start a new
 * generation; the same ones act as a heartbeat).
 *
 * @throws InvalidRequestError, TopicNotFoundError, LimitExceededError,
 *   FencedError (`unknown-member` when `memberId` is not a live member: join without it)
 */
export async function joinGroup(
  deps: GroupDependencies,
  group: string,
  input: JoinInput,
): Promise<MemberAssignment> {
  validateGroupName(group);
  const topics = joinedTopics(input.topics);
  const sessionTimeoutMs = input.sessionTimeoutMs ?? LIMITS.sessionTimeoutMsDefault;
  validateSessionTimeout(sessionTimeoutMs);
  for (const topic of topics) if (!(await deps.topics.get(topic))) throw new TopicNotFoundError(topic);

  // One id for every attempt: when an attempt's outcome was unknown (a timeout after the write),
  // the next one finds the member it created instead of creating a second one.
  const newMemberId = randomUUID();
  let attempted = false;
  return retrying(deps, group, async () => {
    const view = await loadGroup(deps, group);
    const now = deps.clock.now();
    const landed = attempted ? view.live.find((m) => m.memberId === newMemberId) : undefined;
    if (landed && view.record) return refresh(deps, group, view.record, view.live, landed);
    const existing = input.memberId ? view.live.find((m) => m.memberId === input.memberId) : undefined;
    if (input.memberId !== undefined && !existing) {
      throw unknownMember(group, input.memberId, view.record?.generation ?? 0);
    }
    if (
      existing &&
      view.record &&
      sameTopics(existing.topics, topics) &&
      existing.sessionTimeoutMs === sessionTimeoutMs
    ) {
      return refresh(deps, group, view.record, view.live, existing);
    }
    const joiner: GroupMember = {
      memberId: existing?.memberId ?? newMemberId,
      groupId: view.record?.groupId ?? randomUUID(),
      topics,
      sessionTimeoutMs,
      joinedAt: existing?.joinedAt ?? now,
      lastHeartbeat: now,
      deadline: now + sessionTimeoutMs,
      seenGeneration: (view.record?.generation ?? 0) + 1,
    };
    const joined = await writeJoin(deps, group, view, joiner, existing !== undefined, now);
    attempted = true;
    return joined;
  });
}

/** The topics a member subscribes to, each once and in order. @throws InvalidRequestError, LimitExceededError */
function joinedTopics(requested: readonly string[]): string[] {
  const topics = [...new Set(requested)].sort();
  if (topics.length === 0) throw new InvalidRequestError('topics must name at least one topic', 'topics');
  if (topics.length > LIMITS.groupTopicsPerMemberMax) {
    throw new LimitExceededError(
      `A member subscribes to at most ${LIMITS.groupTopicsPerMemberMax} topics, got ${topics.length}`,
      'groupTopicsPerMember',
      topics.length,
      LIMITS.groupTopicsPerMemberMax,
    );
  }
  return topics;
}

/** Writes the generation that `joiner` (new, or a live member rejoining) starts; undefined when a race was lost. */
async function writeJoin(
  deps: GroupDependencies,
  group: string,
  view: GroupView,
  joiner: GroupMember,
  rejoin: boolean,
  now: number,
): Promise<MemberAssignment | undefined> {
  const { memberId } = joiner;
  const members = [...view.live.filter((m) => m.memberId !== memberId), joiner];
  if (members.length > LIMITS.groupMembersMax) {
    throw new LimitExceededError(
      `Group '${group}' already has ${LIMITS.groupMembersMax} live members`,
      'groupMembers',
      members.length,
      LIMITS.groupMembersMax,
    );
  }
  const record = nextRecord(
    deps,
    group,
    view.record,
    joiner.groupId,
    members,
    await readTopics(deps, members),
  );
  const applied = await deps.groups.writeMembership({
    expectedGeneration: view.record?.generation,
    record,
    createMembers: rejoin ? [] : [joiner],
    updateMembers: rejoin ? [joiner] : [],
    removeMembers: view.orphans.map(removal),
    now,
  });
  if (!applied) return undefined;
  return {
    memberId,
    generation: record.generation,
    assignments: record.assignments[memberId] ?? [],
    sessionTimeoutMs: joiner.sessionTimeoutMs,
  };
}

/**
 * Keeps a member alive and tells it the current generation and its assignments (which differ
 * from what it holds after a rebalance). A change of the subscribed topics' partitions starts a
 * new generation here.
 *
 * @throws FencedError `unknown-member` (left, expired or never joined: rejoin), `stale-generation`
 *   when `generation` is newer than the group's
 */
export async function heartbeatMember(
  deps: GroupDependencies,
  group: string,
  memberId: string,
  generation: number,
): Promise<MemberAssignment> {
  validateGroupName(group);
  return retrying(deps, group, async () => {
    const view = await loadGroup(deps, group);
    const member = view.live.find((m) => m.memberId === memberId);
    if (!view.record || !member) throw unknownMember(group, memberId, view.record?.generation ?? 0);
    if (generation > view.record.generation) {
      throw new FencedError(
        group,
        'stale-generation',
        view.record.generation,
        memberId,
        `Generation ${generation} of group '${group}' does not exist yet; the current one is ${view.record.generation}`,
      );
    }
    return refresh(deps, group, view.record, view.live, member);
  });
}

/** Leaves at once: the member's partitions go to the others in a new generation. Idempotent. */
export async function leaveGroup(deps: GroupDependencies, group: string, memberId: string): Promise<void> {
  validateGroupName(group);
  await retrying(deps, group, async () => {
    const view = await loadGroup(deps, group);
    const member = view.live.find((m) => m.memberId === memberId);
    if (!view.record || !member) return true;
    const members = view.live.filter((m) => m.memberId !== memberId);
    const record = nextRecord(deps, group, view.record, view.record.groupId, members, view.record.topics);
    const applied = await deps.groups.writeMembership({
      expectedGeneration: view.record.generation,
      record,
      createMembers: [],
      updateMembers: [],
      removeMembers: [member, ...view.orphans].map(removal),
      now: deps.clock.now(),
    });
    return applied ? true : undefined;
  });
}

/**
 * The heartbeat proper: starts a new generation first when a subscribed topic's partitions
 * changed, then refreshes the member's deadline. Undefined when a race was lost.
 */
async function refresh(
  deps: GroupDependencies,
  group: string,
  record: GroupRecord,
  live: readonly GroupMember[],
  member: GroupMember,
): Promise<MemberAssignment | undefined> {
  const now = deps.clock.now();
  const topics = await readTopics(deps, live);
  if (!sameGroupTopics(topics, record.topics)) {
    const next = nextRecord(deps, group, record, record.groupId, live, topics);
    await deps.groups.writeMembership({
      expectedGeneration: record.generation,
      record: next,
      createMembers: [],
      updateMembers: [],
      removeMembers: [],
      now,
    });
    return undefined; // re-read either way
  }
  const alive = await deps.groups.heartbeat(
    group,
    {
      memberId: member.memberId,
      lastHeartbeat: now,
      deadline: now + member.sessionTimeoutMs,
      seenGeneration: record.generation,
    },
    now,
  );
  if (!alive) return undefined; // expired meanwhile: the re-read removes it and answers unknown-member
  return {
    memberId: member.memberId,
    generation: record.generation,
    assignments: record.assignments[member.memberId] ?? [],
    sessionTimeoutMs: member.sessionTimeoutMs,
  };
}

/** The subscribed topics that exist now, for the members' subscriptions. */
async function readTopics(
  deps: GroupDependencies,
  members: readonly GroupMember[],
): Promise<Record<string, GroupTopic>> {
  const names = [...new Set(members.flatMap((member) => member.topics))].sort();
  const found = await Promise.all(names.map((name) => deps.topics.get(name)));
  const topics: Record<string, GroupTopic> = {};
  for (const topic of found) {
    if (topic) topics[topic.name] = { topicId: topic.topicId, partitionCount: topic.partitionCount };
  }
  return topics;
}

function sameTopics(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().every((topic, i) => topic === [...b].sort()[i]);
}

function sameGroupTopics(
  a: Readonly<Record<string, GroupTopic>>,
  b: Readonly<Record<string, GroupTopic>>,
): boolean {
  const names = Object.keys(a);
  if (names.length !== Object.keys(b).length) return false;
  return names.every(
    (name) => a[name]?.topicId === b[name]?.topicId && a[name]?.partitionCount === b[name]?.partitionCount,
  );
}
