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
 *
 * This class is the one door to them; the work is done by `group-membership.ts` (join, heartbeat,
 * leave), `group-offsets.ts` (commit, reset) and `group-lag.ts` (describe), on the view of the
 * group that `group-view.ts` loads.
 */
import type { GroupStore } from '../ports/group-store.js';
import type { PartitionLog, TransactionalLog } from '../ports/partition-log.js';
import type { TopicStore } from '../ports/topic-store.js';
import { type Clock, systemClock } from './clock.js';
import { GroupNotEmptyError, GroupNotFoundError } from './errors.js';
import { validateGroupName } from './group.js';
import { describeGroup, type GroupDescription } from './group-lag.js';
import {
  heartbeatMember,
  type JoinInput,
  joinGroup,
  leaveGroup,
  type MemberAssignment,
} from './group-membership.js';
import {
  type CommitInput,
  type CommitResult,
  commitOffsets,
  type ResetInput,
  resetOffsets,
} from './group-offsets.js';
import { type GroupDependencies, loadGroup, retrying } from './group-view.js';
import { LIMITS } from './limits.js';
import type { LogService } from './log-service.js';
import {
  type ProduceWithOffsetsInput,
  type ProduceWithOffsetsResult,
  produceWithOffsets,
} from './produce-with-offsets.js';

export type { GroupDescription, PartitionLag } from './group-lag.js';
export type { JoinInput, MemberAssignment } from './group-membership.js';
export type { CommitInput, CommitResult, OffsetToCommit, ResetInput, ResetTarget } from './group-offsets.js';
export type {
  ProduceWithOffsetsInput,
  ProduceWithOffsetsResult,
  TransactionTopicInput,
} from './produce-with-offsets.js';

export class GroupService {
  private readonly deps: GroupDependencies;

  /**
   * @param transactional the log that appends and commits in one transaction; without it
   *   `produceWithOffsets` fails (a log without transactions across topics and groups).
   */
  constructor(
    groups: GroupStore,
    topics: TopicStore,
    partitionLog: PartitionLog,
    log: LogService,
    clock: Clock = systemClock,
    private readonly transactional?: TransactionalLog,
  ) {
    this.deps = { groups, topics, partitionLog, log, clock };
  }

  /** See {@link produceWithOffsets}. */
  produceWithOffsets(
    group: string,
    input: ProduceWithOffsetsInput,
    idempotencyKey?: string,
  ): Promise<ProduceWithOffsetsResult> {
    if (!this.transactional) throw new Error('This group service was built without a transactional log');
    return produceWithOffsets(
      { ...this.deps, transactional: this.transactional },
      group,
      input,
      idempotencyKey,
    );
  }

  /** See {@link joinGroup}. */
  join(group: string, input: JoinInput): Promise<MemberAssignment> {
    return joinGroup(this.deps, group, input);
  }

  /** See {@link heartbeatMember}. */
  heartbeat(group: string, memberId: string, generation: number): Promise<MemberAssignment> {
    return heartbeatMember(this.deps, group, memberId, generation);
  }

  /** See {@link leaveGroup}. */
  leave(group: string, memberId: string): Promise<void> {
    return leaveGroup(this.deps, group, memberId);
  }

  /** See {@link commitOffsets}. */
  commit(group: string, input: CommitInput): Promise<CommitResult> {
    return commitOffsets(this.deps, group, input);
  }

  /** See {@link describeGroup}. */
  describe(group: string): Promise<GroupDescription> {
    return describeGroup(this.deps, group);
  }

  /** Every group, in name order. */
  list(): Promise<{ name: string; createdAt: number }[]> {
    return this.deps.groups.list(LIMITS.groupsListedMax);
  }

  /** See {@link resetOffsets}. */
  reset(group: string, input: ResetInput): Promise<CommitResult> {
    return resetOffsets(this.deps, group, input);
  }

  /** Deletes the group and its committed offsets while it has no live member. @throws GroupNotFoundError, GroupNotEmptyError */
  async delete(group: string): Promise<void> {
    validateGroupName(group);
    let attempted = false;
    await retrying(this.deps, group, async () => {
      const view = await loadGroup(this.deps, group);
      if (!view.record && attempted) return true; // an attempt with an unknown outcome deleted it
      if (!view.record) throw new GroupNotFoundError(group);
      if (view.live.length > 0) throw new GroupNotEmptyError(group, view.live.length, 'it can be deleted');
      attempted = true;
      return (await this.deps.groups.delete(group, view.record.groupId, view.record.generation))
        ? true
        : undefined;
    });
  }
}
