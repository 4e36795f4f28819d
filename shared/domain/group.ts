/**
 * Consumer groups as stored: the group item (generation, assignment, the topics it was computed
 * from), one item per member (liveness), and one item per committed offset.
 */
import type { Assignment, TopicPartition } from './assignment.js';
import { InvalidRequestError } from './errors.js';
import { LIMITS } from './limits.js';
import { TOPIC_NAME_PATTERN } from './topic.js';

/** A subscribed topic as the current generation saw it: a new incarnation or partition count rebalances. */
export interface GroupTopic {
  readonly topicId: string;
  readonly partitionCount: number;
}

/** The group item: what every member's requests are checked against. */
export interface GroupRecord {
  readonly name: string;
  /**
   * A new id per incarnation of the group name (like a topic id): items of a deleted incarnation
   * that a crash left behind are recognized and ignored.
   */
  readonly groupId: string;
  /** Bumped by every change of membership, subscriptions or subscribed partitions. */
  readonly generation: number;
  /** Owners in this generation; its keys are exactly the group's members. */
  readonly assignments: Assignment;
  /** Subscribed topics that exist, by name. */
  readonly topics: Readonly<Record<string, GroupTopic>>;
  /** Epoch ms. */
  readonly createdAt: number;
}

/** A member item. */
export interface GroupMember {
  readonly memberId: string;
  /** The group incarnation it joined. */
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly sessionTimeoutMs: number;
  /** Epoch ms. */
  readonly joinedAt: number;
  /** Epoch ms of the last join, heartbeat or commit. */
  readonly lastHeartbeat: number;
  /** Epoch ms after which the member counts as gone: lastHeartbeat + sessionTimeoutMs. */
  readonly deadline: number;
  /** The newest generation the member has been told about (by join, heartbeat or commit). */
  readonly seenGeneration: number;
}

/** A committed offset item. */
export interface CommittedOffset {
  readonly topic: string;
  readonly partition: number;
  /** The next offset the group will read (Kafka's convention). */
  readonly offset: number;
  readonly metadata: string | undefined;
  /** The topic incarnation it was committed for. */
  readonly topicId: string;
  /** The group incarnation it was committed in. */
  readonly groupId: string;
  /** Epoch ms. */
  readonly committedAt: number;
}

/** Kafka's states, folded: Empty (no live member), Rebalancing (some member has not seen the generation yet), Stable. */
export type GroupState = 'Empty' | 'Stable' | 'Rebalancing';

/**
 * A member item belongs to the group's current membership: it joined this incarnation of the group
 * and the record lists it. Items that fail this were left behind by a crash (orphans).
 */
export function isListedMember(record: GroupRecord | undefined, member: GroupMember): boolean {
  return record !== undefined && member.groupId === record.groupId && member.memberId in record.assignments;
}

/**
 * The live-member rule: a listed member whose deadline (last heartbeat + session timeout) has not
 * passed at `now`. A listed member past its deadline counts as gone, as if it had left.
 */
export function isLiveMember(record: GroupRecord | undefined, member: GroupMember, now: number): boolean {
  return isListedMember(record, member) && member.deadline >= now;
}

/** The group's state from its live members. */
export function groupState(record: GroupRecord, liveMembers: readonly GroupMember[]): GroupState {
  if (liveMembers.length === 0) return 'Empty';
  return liveMembers.some((member) => member.seenGeneration < record.generation) ? 'Rebalancing' : 'Stable';
}

/** Every partition of the record's topics, in topic and partition order. */
export function partitionsOf(topics: Readonly<Record<string, GroupTopic>>): TopicPartition[] {
  return Object.keys(topics)
    .sort()
    .flatMap((topic) =>
      Array.from({ length: topics[topic]?.partitionCount ?? 0 }, (_, partition) => ({ topic, partition })),
    );
}

/** Group ids follow topic names: ASCII letters, digits, '.', '_' and '-'. */
export function validateGroupName(name: string): void {
  if (name.length === 0 || name.length > LIMITS.groupNameLengthMax || !TOPIC_NAME_PATTERN.test(name)) {
    throw new InvalidRequestError(
      `Group id must be 1 to ${LIMITS.groupNameLengthMax} ASCII letters, digits, '.', '_' or '-', got '${name}'`,
      'group',
    );
  }
}

/** @throws InvalidRequestError when out of bounds. */
export function validateSessionTimeout(sessionTimeoutMs: number): void {
  if (
    !Number.isInteger(sessionTimeoutMs) ||
    sessionTimeoutMs < LIMITS.sessionTimeoutMsMin ||
    sessionTimeoutMs > LIMITS.sessionTimeoutMsMax
  ) {
    throw new InvalidRequestError(
      `sessionTimeoutMs must be a whole number from ${LIMITS.sessionTimeoutMsMin} to ${LIMITS.sessionTimeoutMsMax}, got ${sessionTimeoutMs}`,
      'sessionTimeoutMs',
    );
  }
}
