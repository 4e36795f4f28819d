import type { CommittedOffset, GroupMember, GroupRecord } from '../domain/group.js';

/** The group item and every member item of one group, read together. */
export interface GroupSnapshot {
  readonly record: GroupRecord | undefined;
  /** Every member item found, including any a crash left behind (not in `record.assignments`). */
  readonly members: readonly GroupMember[];
}

/**
 * One change of membership, written atomically: the whole group item plus the member items that
 * come, change or go.
 */
export interface MembershipChange {
  /** The generation the group item must still have; undefined: the group item must not exist. */
  readonly expectedGeneration: number | undefined;
  readonly record: GroupRecord;
  /** Members that join: their items must not exist yet. */
  readonly createMembers: readonly GroupMember[];
  /** Members that rejoin with new settings: their items must still be alive at `now`. */
  readonly updateMembers: readonly GroupMember[];
  /** Members that leave or expired: removed only if their deadline is still the one read. */
  readonly removeMembers: readonly { readonly memberId: string; readonly deadline: number }[];
  readonly now: number;
}

/** Liveness written by a heartbeat or a commit. */
export interface Liveness {
  readonly memberId: string;
  readonly lastHeartbeat: number;
  readonly deadline: number;
  readonly seenGeneration: number;
}

export interface OffsetCommit {
  readonly group: string;
  readonly groupId: string;
  /** The group item must still have this generation. */
  readonly generation: number;
  /** The committing member, refreshed in the same transaction; undefined for a standalone consumer. */
  readonly member: Liveness | undefined;
  readonly offsets: readonly Omit<CommittedOffset, 'groupId'>[];
  readonly now: number;
}

/** Expected outcomes of a commit; infrastructure failures throw. */
export type CommitOutcome =
  | { readonly kind: 'committed' }
  /** The group item's generation (or incarnation) changed. */
  | { readonly kind: 'generation-changed' }
  /** The member item is gone or past its deadline. */
  | { readonly kind: 'member-gone' }
  /** `offsets[index]` is below the committed offset. */
  | { readonly kind: 'regressed'; readonly index: number }
  /** Another transaction touched the same items at the same moment: retry. */
  | { readonly kind: 'conflict' }
  /** A timeout or server failure after the request left: it may have been applied. Retrying is safe. */
  | { readonly kind: 'unknown' };

/** Where consumer groups live. Implemented by `adapters/dynamodb/group-store.ts`. */
export interface GroupStore {
  /** Strongly consistent; a bounded read (at most twice the member limit of member items). */
  read(group: string): Promise<GroupSnapshot>;
  /**
   * `false` when a condition failed (another request changed the group first) or the outcome is
   * unknown (a timeout after the request left): either way, read again and decide again.
   */
  writeMembership(change: MembershipChange): Promise<boolean>;
  /**
   * Refreshes a member's liveness; `false` when the item is gone or already past its deadline, or
   * the outcome is unknown.
   */
  heartbeat(group: string, liveness: Liveness, now: number): Promise<boolean>;
  commit(commit: OffsetCommit): Promise<CommitOutcome>;
  /** Committed offsets of one partition, or undefined. */
  readOffset(group: string, topic: string, partition: number): Promise<CommittedOffset | undefined>;
  /** Committed offsets of the group in topic and partition order, at most `limit`. */
  readOffsets(group: string, limit: number): Promise<CommittedOffset[]>;
  /**
   * Overwrites offsets (backwards too) while the group item still has `generation`, and moves the
   * generation on by one with the last of them: a reset is a new epoch of the group, so whatever
   * was keyed or fenced by the old generation (an exactly-once delivery's transaction key, a
   * member's commit) no longer matches. `false` otherwise. Applied in transactions of at most 99
   * offsets each.
   */
  resetOffsets(
    group: string,
    groupId: string,
    generation: number,
    offsets: readonly Omit<CommittedOffset, 'groupId'>[],
  ): Promise<boolean>;
  /** Group names with their creation time, in name order, at most `limit`. */
  list(limit: number): Promise<{ name: string; createdAt: number }[]>;
  /**
   * Deletes the group item and its directory entry while the group item still has `generation`,
   * then the incarnation's member and offset items. `false` when the generation changed.
   */
  delete(group: string, groupId: string, generation: number): Promise<boolean>;
}
