/**
 * Consumer groups: membership, assignment, fencing, committed offsets, lag, reset and delete.
 *
 * Every request may land on a different Lambda, so nothing lives in memory: each request reads the
 * group (one bounded Query), decides, and writes with a condition on the generation it read. A lost
 * race re-reads and decides again, a bounded number of times.
 *
 * Session expiry is lazy: there is no timer. Every join, heartbeat, commit, describe, reset and
 * delete first removes the members whose deadline (last heartbeat + session timeout) has passed,
 * which starts a new generation, exactly as if the member had left.
 */
import { randomUUID } from 'node:crypto';
import type { CommitOutcome, GroupSnapshot, GroupStore, MembershipChange } from '../ports/group-store.js';
import type { PartitionLog } from '../ports/partition-log.js';
import type { TopicStore } from '../ports/topic-store.js';
import { type Assignment, assignPartitions, type TopicPartition } from './assignment.js';
import { backoffMs } from './backoff.js';
import { type Clock, systemClock } from './clock.js';
import {
  FencedError,
  GroupNotEmptyError,
  GroupNotFoundError,
  InvalidCommitOffsetError,
  InvalidRequestError,
  LimitExceededError,
  OffsetRegressionError,
  RetryableError,
  TopicNotFoundError,
} from './errors.js';
import {
  type CommittedOffset,
  type GroupMember,
  type GroupRecord,
  type GroupState,
  type GroupTopic,
  groupState,
  isListedMember,
  isLiveMember,
  partitionsOf,
  validateGroupName,
  validateSessionTimeout,
} from './group.js';
import { LIMITS } from './limits.js';
import type { LogService } from './log-service.js';
import type { Topic } from './topic.js';
import { requirePartition } from './topic.js';

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

/** The group after lazy expiry: its record and live members. */
interface GroupView {
  readonly record: GroupRecord | undefined;
  readonly live: readonly GroupMember[];
  /** Member items not in the record (left behind by a crash): removed by the next membership write. */
  readonly orphans: readonly GroupMember[];
}

const tpKey = (topic: string, partition: number) => `${topic}#${partition}`;

export class GroupService {
  constructor(
    private readonly groups: GroupStore,
    private readonly topics: TopicStore,
    private readonly partitionLog: PartitionLog,
    private readonly log: LogService,
    private readonly clock: Clock = systemClock,
  ) {}

  /**
   * Joins a new member, or rejoins a live one (new topics or session timeout start a new
   * generation; the same ones act as a heartbeat).
   *
   * @throws InvalidRequestError, TopicNotFoundError, LimitExceededError,
   *   FencedError (`unknown-member` when `memberId` is not a live member: join without it)
   */
  async join(group: string, input: JoinInput): Promise<MemberAssignment> {
    validateGroupName(group);
    const topics = [...new Set(input.topics)].sort();
    if (topics.length === 0) throw new InvalidRequestError('topics must name at least one topic', 'topics');
    if (topics.length > LIMITS.groupTopicsPerMemberMax) {
      throw new LimitExceededError(
        `A member subscribes to at most ${LIMITS.groupTopicsPerMemberMax} topics, got ${topics.length}`,
        'groupTopicsPerMember',
        topics.length,
        LIMITS.groupTopicsPerMemberMax,
      );
    }
    const sessionTimeoutMs = input.sessionTimeoutMs ?? LIMITS.sessionTimeoutMsDefault;
    validateSessionTimeout(sessionTimeoutMs);
    for (const topic of topics) if (!(await this.topics.get(topic))) throw new TopicNotFoundError(topic);

    // One id for every attempt: when an attempt's outcome was unknown (a timeout after the write),
    // the next one finds the member it created instead of creating a second one.
    const newMemberId = randomUUID();
    let attempted = false;
    return this.retrying(group, async () => {
      const view = await this.load(group);
      const now = this.clock.now();
      const landed = attempted ? view.live.find((m) => m.memberId === newMemberId) : undefined;
      if (landed && view.record) return this.refresh(group, view.record, view.live, landed);
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
        return this.refresh(group, view.record, view.live, existing);
      }
      const memberId = existing?.memberId ?? newMemberId;
      const groupId = view.record?.groupId ?? randomUUID();
      const joiner: GroupMember = {
        memberId,
        groupId,
        topics,
        sessionTimeoutMs,
        joinedAt: existing?.joinedAt ?? now,
        lastHeartbeat: now,
        deadline: now + sessionTimeoutMs,
        seenGeneration: (view.record?.generation ?? 0) + 1,
      };
      const members = [...view.live.filter((m) => m.memberId !== memberId), joiner];
      if (members.length > LIMITS.groupMembersMax) {
        throw new LimitExceededError(
          `Group '${group}' already has ${LIMITS.groupMembersMax} live members`,
          'groupMembers',
          members.length,
          LIMITS.groupMembersMax,
        );
      }
      const record = this.nextRecord(group, view.record, groupId, members, await this.readTopics(members));
      const applied = await this.groups.writeMembership({
        expectedGeneration: view.record?.generation,
        record,
        createMembers: existing ? [] : [joiner],
        updateMembers: existing ? [joiner] : [],
        removeMembers: view.orphans.map(removal),
        now,
      });
      attempted = true;
      if (!applied) return undefined;
      return {
        memberId,
        generation: record.generation,
        assignments: record.assignments[memberId] ?? [],
        sessionTimeoutMs,
      };
    });
  }

  /**
   * Keeps a member alive and tells it the current generation and its assignments (which differ
   * from what it holds after a rebalance). A change of the subscribed topics' partitions starts a
   * new generation here.
   *
   * @throws FencedError `unknown-member` (left, expired or never joined: rejoin), `stale-generation`
   *   when `generation` is newer than the group's
   */
  async heartbeat(group: string, memberId: string, generation: number): Promise<MemberAssignment> {
    validateGroupName(group);
    return this.retrying(group, async () => {
      const view = await this.load(group);
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
      return this.refresh(group, view.record, view.live, member);
    });
  }

  /** Leaves at once: the member's partitions go to the others in a new generation. Idempotent. */
  async leave(group: string, memberId: string): Promise<void> {
    validateGroupName(group);
    await this.retrying(group, async () => {
      const view = await this.load(group);
      const member = view.live.find((m) => m.memberId === memberId);
      if (!view.record || !member) return true;
      const members = view.live.filter((m) => m.memberId !== memberId);
      const record = this.nextRecord(group, view.record, view.record.groupId, members, view.record.topics);
      const applied = await this.groups.writeMembership({
        expectedGeneration: view.record.generation,
        record,
        createMembers: [],
        updateMembers: [],
        removeMembers: [member, ...view.orphans].map(removal),
        now: this.clock.now(),
      });
      return applied ? true : undefined;
    });
  }

  /**
   * Commits next-offsets-to-read. A member's commit counts as its heartbeat; it is fenced unless
   * `generation` is the group's current one and the member owns every partition in it. Without
   * member and generation it is a standalone consumer's commit, allowed only while the group has
   * no live member. All offsets of a request are committed or none.
   *
   * @throws FencedError, GroupNotEmptyError, InvalidCommitOffsetError (above the high watermark),
   *   OffsetRegressionError (below the committed offset), TopicNotFoundError, PartitionNotFoundError
   */
  async commit(group: string, input: CommitInput): Promise<CommitResult> {
    validateGroupName(group);
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

    // After an attempt with an unknown outcome, a regression report may be that attempt's own write.
    let uncertain = false;
    return this.retrying(group, async () => {
      const view = await this.load(group);
      const now = this.clock.now();
      let record = view.record;
      let member: GroupMember | undefined;
      if (input.memberId !== undefined && input.generation !== undefined) {
        member = view.live.find((m) => m.memberId === input.memberId);
        if (!record || !member) throw unknownMember(group, input.memberId, record?.generation ?? 0);
        requireGeneration(group, record, input.memberId, input.generation);
        const owned = new Set(
          (record.assignments[member.memberId] ?? []).map((tp) => tpKey(tp.topic, tp.partition)),
        );
        for (const offset of input.offsets) {
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
      } else {
        if (view.live.length > 0)
          throw new GroupNotEmptyError(group, view.live.length, 'a standalone commit is allowed');
        if (!record) {
          record = this.emptyRecord(group);
          const created = await this.groups.writeMembership(this.creation(record));
          if (!created) return undefined;
        }
      }

      const offsets = await this.checkedOffsets(input.offsets);
      const outcome: CommitOutcome = await this.groups.commit({
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
        case 'regressed': {
          const offset = offsets[outcome.index];
          if (!offset) throw new Error(`Commit outcome names offset ${outcome.index} of ${offsets.length}`);
          const current = await this.groups.readOffset(group, offset.topic, offset.partition);
          // Our earlier attempt landed and a later commit moved past it: what was asked for holds.
          if (uncertain && current !== undefined && current.offset >= offset.offset) return committed;
          throw new OffsetRegressionError(
            group,
            offset.topic,
            offset.partition,
            offset.offset,
            current?.offset,
          );
        }
        case 'unknown':
          uncertain = true;
          return undefined;
        default:
          // The generation moved or the member expired meanwhile: re-read and decide again.
          return undefined;
      }
    });
  }

  /**
   * State, generation, members with assignments and last heartbeat, and per partition the
   * committed offset, high watermark and lag.
   *
   * @throws GroupNotFoundError
   */
  async describe(group: string): Promise<GroupDescription> {
    validateGroupName(group);
    const view = await this.load(group);
    const record = view.record;
    if (!record) throw new GroupNotFoundError(group);
    const committed = (await this.groups.readOffsets(group, LIMITS.groupOffsetsListedMax)).filter(
      (offset) => offset.groupId === record.groupId,
    );
    const topicNames = [
      ...new Set([...Object.keys(record.topics), ...committed.map((offset) => offset.topic)]),
    ];
    const offsets: PartitionLag[] = [];
    for (const name of topicNames.sort()) {
      const topic = await this.topics.get(name);
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
      const heads = await this.partitionLog.readHeads(topic, ordered);
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

  /** Every group, in name order. */
  list(): Promise<{ name: string; createdAt: number }[]> {
    return this.groups.list(LIMITS.groupsListedMax);
  }

  /**
   * Moves a topic's committed offsets, backwards too, while the group has no live member. An
   * explicit offset is clamped to [logStartOffset, highWatermark], as Kafka's tool does.
   *
   * @throws GroupNotEmptyError, TopicNotFoundError, PartitionNotFoundError
   */
  async reset(group: string, input: ResetInput): Promise<CommitResult> {
    validateGroupName(group);
    const topic = await this.topics.get(input.topic);
    if (!topic) throw new TopicNotFoundError(input.topic);
    const partitions = [
      ...new Set(input.partitions ?? Array.from({ length: topic.partitionCount }, (_, p) => p)),
    ].sort((a, b) => a - b);
    for (const partition of partitions) requirePartition(topic, partition);

    return this.retrying(group, async () => {
      const view = await this.load(group);
      if (view.live.length > 0) throw new GroupNotEmptyError(group, view.live.length, 'offsets can be reset');
      let record = view.record;
      if (!record) {
        record = this.emptyRecord(group);
        if (!(await this.groups.writeMembership(this.creation(record)))) return undefined;
      }
      const heads = await this.partitionLog.readHeads(topic, partitions);
      const now = this.clock.now();
      const offsets: Omit<CommittedOffset, 'groupId'>[] = [];
      for (const head of heads) {
        let offset: number;
        switch (input.to.kind) {
          case 'earliest':
            offset = head.logStartOffset;
            break;
          case 'latest':
            offset = head.highWatermark;
            break;
          case 'timestamp':
            offset = await this.log.offsetForTimestamp(topic.name, head.partition, input.to.timestamp);
            break;
          case 'offset':
            offset = Math.min(Math.max(input.to.offset, head.logStartOffset), head.highWatermark);
            break;
        }
        offsets.push({
          topic: topic.name,
          partition: head.partition,
          offset,
          metadata: undefined,
          topicId: topic.topicId,
          committedAt: now,
        });
      }
      if (!(await this.groups.resetOffsets(group, record.groupId, record.generation, offsets)))
        return undefined;
      return {
        generation: record.generation,
        offsets: offsets.map(({ topic: name, partition, offset }) => ({ topic: name, partition, offset })),
      };
    });
  }

  /** Deletes the group and its committed offsets while it has no live member. @throws GroupNotFoundError, GroupNotEmptyError */
  async delete(group: string): Promise<void> {
    validateGroupName(group);
    let attempted = false;
    await this.retrying(group, async () => {
      const view = await this.load(group);
      if (!view.record && attempted) return true; // an attempt with an unknown outcome deleted it
      if (!view.record) throw new GroupNotFoundError(group);
      if (view.live.length > 0) throw new GroupNotEmptyError(group, view.live.length, 'it can be deleted');
      attempted = true;
      return (await this.groups.delete(group, view.record.groupId, view.record.generation))
        ? true
        : undefined;
    });
  }

  /**
   * Reads the group and removes expired members first (a new generation), so that every decision
   * is taken on live members only.
   */
  private async load(group: string): Promise<GroupView> {
    for (let attempt = 1; attempt <= LIMITS.groupWriteAttemptsMax; attempt++) {
      const snapshot: GroupSnapshot = await this.groups.read(group);
      const now = this.clock.now();
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
      const next = this.nextRecord(group, record, record.groupId, live, record.topics);
      const applied = await this.groups.writeMembership({
        expectedGeneration: record.generation,
        record: next,
        createMembers: [],
        updateMembers: [],
        removeMembers: [...expired, ...orphans].map(removal),
        now,
      });
      if (applied) return { record: next, live, orphans: [] };
      await this.clock.sleep(backoffMs(attempt, this.clock.random));
    }
    throw contention(group);
  }

  /**
   * The heartbeat proper: starts a new generation first when a subscribed topic's partitions
   * changed, then refreshes the member's deadline. Undefined when a race was lost.
   */
  private async refresh(
    group: string,
    record: GroupRecord,
    live: readonly GroupMember[],
    member: GroupMember,
  ): Promise<MemberAssignment | undefined> {
    const now = this.clock.now();
    const topics = await this.readTopics(live);
    if (!sameGroupTopics(topics, record.topics)) {
      const next = this.nextRecord(group, record, record.groupId, live, topics);
      await this.groups.writeMembership({
        expectedGeneration: record.generation,
        record: next,
        createMembers: [],
        updateMembers: [],
        removeMembers: [],
        now,
      });
      return undefined; // re-read either way
    }
    const alive = await this.groups.heartbeat(
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

  /** The next generation's record for these members. */
  private nextRecord(
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
      createdAt: previous?.createdAt ?? this.clock.now(),
    };
  }

  /** The subscribed topics that exist now, for the members' subscriptions. */
  private async readTopics(members: readonly GroupMember[]): Promise<Record<string, GroupTopic>> {
    const names = [...new Set(members.flatMap((member) => member.topics))].sort();
    const found = await Promise.all(names.map((name) => this.topics.get(name)));
    const topics: Record<string, GroupTopic> = {};
    for (const topic of found) {
      if (topic) topics[topic.name] = { topicId: topic.topicId, partitionCount: topic.partitionCount };
    }
    return topics;
  }

  /** Checks each offset against its partition's high watermark and names the topic incarnation. */
  private async checkedOffsets(offsets: readonly OffsetToCommit[]) {
    const byTopic = new Map<string, OffsetToCommit[]>();
    for (const offset of offsets) byTopic.set(offset.topic, [...(byTopic.get(offset.topic) ?? []), offset]);
    const checked: {
      topic: string;
      partition: number;
      offset: number;
      metadata: string | undefined;
      topicId: string;
    }[] = [];
    for (const [name, ofTopic] of byTopic) {
      const topic: Topic | undefined = await this.topics.get(name);
      if (!topic) throw new TopicNotFoundError(name);
      for (const offset of ofTopic) requirePartition(topic, offset.partition);
      const heads = await this.partitionLog.readHeads(
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

  private emptyRecord(group: string): GroupRecord {
    return {
      name: group,
      groupId: randomUUID(),
      generation: 0,
      assignments: {},
      topics: {},
      createdAt: this.clock.now(),
    };
  }

  private creation(record: GroupRecord): MembershipChange {
    return {
      expectedGeneration: undefined,
      record,
      createMembers: [],
      updateMembers: [],
      removeMembers: [],
      now: this.clock.now(),
    };
  }

  /** Runs `attempt` until it answers (not undefined), with bounded, jittered backoff between tries. */
  private async retrying<T>(group: string, attempt: () => Promise<T | undefined>): Promise<T> {
    for (let tries = 1; tries <= LIMITS.groupWriteAttemptsMax; tries++) {
      const result = await attempt();
      if (result !== undefined) return result;
      await this.clock.sleep(backoffMs(tries, this.clock.random));
    }
    throw contention(group);
  }
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

function unknownMember(group: string, memberId: string, generation: number): FencedError {
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

const removal = (member: GroupMember) => ({ memberId: member.memberId, deadline: member.deadline });

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
