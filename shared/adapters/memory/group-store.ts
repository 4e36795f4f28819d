/**
 * Consumer groups in memory, under the conditions of `adapters/dynamodb/group-store.ts` (one
 * contract suite, `test/contract/group-store.contract.ts`):
 *
 * ```
 *  membership  group item gen = expected (absent when undefined); new members absent;
 *              updated members alive (dl >= now); removed members still at the deadline read
 *  heartbeat   member alive (dl >= now)
 *  commit      group gid and gen as given; committing member alive; per offset: none stored,
 *              or stored <= new, or stored by another group or topic incarnation
 *  reset       group gid and gen as given
 *  delete      group gid and gen as given, then the incarnation's member and offset items
 * ```
 *
 * Every write applies all of its items or none, as a transaction does; none ever answers
 * `conflict` or `unknown` (nothing in memory races or times out).
 */
import type { CommittedOffset, GroupMember, GroupRecord } from '../../domain/group.js';
import type {
  CommitOutcome,
  GroupSnapshot,
  GroupStore,
  Liveness,
  MembershipChange,
  OffsetCommit,
} from '../../ports/group-store.js';
import { byCodeUnits } from './topic-store.js';

/** One group name's items: the group item, members by id, offsets by topic and partition. */
interface GroupItems {
  record: GroupRecord | undefined;
  readonly members: Map<string, GroupMember>;
  readonly offsets: Map<string, CommittedOffset>;
}

/** Offsets sort as the DynamoDB sort key `O#<topic>#<partition, zero-padded>` does. */
const offsetId = (topic: string, partition: number) => `${topic}#${String(partition).padStart(5, '0')}`;

export class MemoryGroupStore implements GroupStore {
  private readonly groups = new Map<string, GroupItems>();
  /** The group directory: name → creation time. */
  private readonly directory = new Map<string, number>();

  async read(group: string): Promise<GroupSnapshot> {
    const items = this.groups.get(group);
    if (!items) return { record: undefined, members: [] };
    const members = [...items.members.keys()]
      .sort(byCodeUnits)
      .map((id) => items.members.get(id) as GroupMember);
    return structuredClone({ record: items.record, members });
  }

  async writeMembership(change: MembershipChange): Promise<boolean> {
    const group = change.record.name;
    const items = this.itemsOf(group);
    const stored = items.record;
    if (
      change.expectedGeneration === undefined
        ? stored !== undefined
        : stored?.generation !== change.expectedGeneration
    ) {
      return false;
    }
    if (change.createMembers.some((member) => items.members.has(member.memberId))) return false;
    if (change.updateMembers.some((member) => !isAlive(items.members.get(member.memberId), change.now))) {
      return false;
    }
    if (
      change.removeMembers.some((member) => items.members.get(member.memberId)?.deadline !== member.deadline)
    ) {
      return false;
    }
    items.record = structuredClone(change.record);
    if (change.expectedGeneration === undefined) this.directory.set(group, change.record.createdAt);
    for (const member of [...change.createMembers, ...change.updateMembers]) {
      items.members.set(member.memberId, structuredClone(member));
    }
    for (const member of change.removeMembers) items.members.delete(member.memberId);
    return true;
  }

  async heartbeat(group: string, liveness: Liveness, now: number): Promise<boolean> {
    const member = this.groups.get(group)?.members.get(liveness.memberId);
    if (!member || !isAlive(member, now)) return false;
    this.groups.get(group)?.members.set(liveness.memberId, withLiveness(member, liveness));
    return true;
  }

  async commit(commit: OffsetCommit): Promise<CommitOutcome> {
    const refused = this.commitRefusal(commit);
    if (refused) return refused;
    this.applyCommit(commit);
    return { kind: 'committed' };
  }

  /**
   * Which condition of a commit fails now, in the order the DynamoDB adapter reports them (the
   * group fence, the member, the first offset that regresses); undefined when all hold.
   * Package-internal: `commit` and `MemoryTransactionalLog` check with it before applying.
   */
  commitRefusal(
    commit: OffsetCommit,
  ): Exclude<CommitOutcome, { kind: 'committed' | 'conflict' | 'unknown' }> | undefined {
    const items = this.groups.get(commit.group);
    const record = items?.record;
    if (!items || record?.groupId !== commit.groupId || record.generation !== commit.generation) {
      return { kind: 'generation-changed' };
    }
    const member = commit.member ? items.members.get(commit.member.memberId) : undefined;
    if (commit.member && (!member || !isAlive(member, commit.now))) return { kind: 'member-gone' };
    for (const [index, offset] of commit.offsets.entries()) {
      const stored = items.offsets.get(offsetId(offset.topic, offset.partition));
      if (
        stored &&
        stored.offset > offset.offset &&
        stored.groupId === commit.groupId &&
        stored.topicId === offset.topicId
      ) {
        return { kind: 'regressed', index };
      }
    }
    return undefined;
  }

  /**
   * Refreshes the committing member and writes the offsets, unchecked: call `commitRefusal` first,
   * in the same turn. Package-internal, like `commitRefusal`.
   */
  applyCommit(commit: OffsetCommit): void {
    const items = this.groups.get(commit.group);
    if (!items) throw new Error(`Group ${commit.group} has no items to commit to`);
    const member = commit.member ? items.members.get(commit.member.memberId) : undefined;
    if (commit.member && member) items.members.set(member.memberId, withLiveness(member, commit.member));
    for (const offset of commit.offsets) {
      items.offsets.set(offsetId(offset.topic, offset.partition), { ...offset, groupId: commit.groupId });
    }
  }

  async readOffset(group: string, topic: string, partition: number): Promise<CommittedOffset | undefined> {
    const offset = this.groups.get(group)?.offsets.get(offsetId(topic, partition));
    return offset ? { ...offset } : undefined;
  }

  async readOffsets(group: string, limit: number): Promise<CommittedOffset[]> {
    const offsets = this.groups.get(group)?.offsets;
    if (!offsets) return [];
    return [...offsets.keys()]
      .sort(byCodeUnits)
      .slice(0, limit)
      .map((id) => ({ ...(offsets.get(id) as CommittedOffset) }));
  }

  async resetOffsets(
    group: string,
    groupId: string,
    generation: number,
    offsets: readonly Omit<CommittedOffset, 'groupId'>[],
  ): Promise<boolean> {
    const items = this.groups.get(group);
    if (items?.record?.groupId !== groupId || items.record.generation !== generation) return false;
    for (const offset of offsets) {
      const { metadata: _dropped, ...kept } = offset;
      // A reset writes the offset afresh: it keeps no metadata, as the DynamoDB Put writes none.
      items.offsets.set(offsetId(offset.topic, offset.partition), { ...kept, metadata: undefined, groupId });
    }
    items.record = { ...items.record, generation: generation + 1 };
    return true;
  }

  async list(limit: number): Promise<{ name: string; createdAt: number }[]> {
    return [...this.directory.keys()]
      .sort(byCodeUnits)
      .slice(0, limit)
      .map((name) => ({ name, createdAt: this.directory.get(name) as number }));
  }

  async delete(group: string, groupId: string, generation: number): Promise<boolean> {
    const items = this.groups.get(group);
    if (items?.record?.groupId !== groupId || items.record.generation !== generation) return false;
    items.record = undefined;
    this.directory.delete(group);
    for (const [id, member] of items.members) if (member.groupId === groupId) items.members.delete(id);
    for (const [id, offset] of items.offsets) if (offset.groupId === groupId) items.offsets.delete(id);
    return true;
  }

  private itemsOf(group: string): GroupItems {
    let items = this.groups.get(group);
    if (!items) {
      items = { record: undefined, members: new Map(), offsets: new Map() };
      this.groups.set(group, items);
    }
    return items;
  }
}

function isAlive(member: GroupMember | undefined, now: number): member is GroupMember {
  return member !== undefined && member.deadline >= now;
}

function withLiveness(member: GroupMember, liveness: Liveness): GroupMember {
  return {
    ...member,
    lastHeartbeat: liveness.lastHeartbeat,
    deadline: liveness.deadline,
    seenGeneration: liveness.seenGeneration,
  };
}
