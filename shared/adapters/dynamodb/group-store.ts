import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Assignment, TopicPartition } from '../../domain/assignment.js';
import type { CommittedOffset, GroupMember, GroupRecord, GroupTopic } from '../../domain/group.js';
import { LIMITS } from '../../domain/limits.js';
import type {
  CommitOutcome,
  GroupSnapshot,
  GroupStore,
  Liveness,
  MembershipChange,
  OffsetCommit,
} from '../../ports/group-store.js';
import {
  anyConditionFailed,
  cancellationReasons,
  conditionFailedAt,
  isAmbiguousFailure,
  isConditionalCheckFailed,
  isTransactionConflict,
} from '../sdk-errors.js';
import {
  committedOffsetKey,
  GROUP_AND_MEMBERS_SK_BOUND,
  GROUP_DIRECTORY_PK,
  groupDirectoryKey,
  groupKey,
  groupPartitionKey,
  MEMBER_SK_PREFIX,
  memberKey,
  OFFSET_SK_PREFIX,
} from './keys.js';
import { queryItems, queryPages } from './query.js';

/** DynamoDB's limit on items in one transaction. */
const TRANSACTION_ITEMS_MAX = 100;
/** Items asked of one Query page. */
const QUERY_PAGE_ITEMS = 200;
/** Concurrent conditional deletes while purging a deleted group. */
const PURGE_CONCURRENCY = 8;

interface GroupItem {
  readonly gid: string;
  readonly gen: number;
  /** member id → topic → partitions */
  readonly asg: Record<string, Record<string, number[]>>;
  /** topic → { id, pc } */
  readonly tp: Record<string, { id: string; pc: number }>;
  readonly ca: number;
}

interface MemberItem {
  readonly sk: string;
  readonly gid: string;
  readonly t: string[];
  readonly st: number;
  readonly ja: number;
  readonly hb: number;
  readonly dl: number;
  readonly sg: number;
}

interface OffsetItem {
  readonly t: string;
  readonly p: number;
  readonly c: number;
  readonly m?: string;
  readonly tid: string;
  readonly gid: string;
  readonly ct: number;
}

function toGroupItem(record: GroupRecord): GroupItem {
  const asg: GroupItem['asg'] = {};
  for (const [memberId, tps] of Object.entries(record.assignments)) {
    const byTopic: Record<string, number[]> = {};
    for (const tp of tps) byTopic[tp.topic] = [...(byTopic[tp.topic] ?? []), tp.partition];
    asg[memberId] = byTopic;
  }
  const tp: GroupItem['tp'] = {};
  for (const [name, topic] of Object.entries(record.topics))
    tp[name] = { id: topic.topicId, pc: topic.partitionCount };
  return { gid: record.groupId, gen: record.generation, asg, tp, ca: record.createdAt };
}

function fromGroupItem(name: string, item: GroupItem): GroupRecord {
  const assignments: Assignment = {};
  for (const [memberId, byTopic] of Object.entries(item.asg ?? {})) {
    const tps: TopicPartition[] = [];
    for (const topic of Object.keys(byTopic).sort()) {
      for (const partition of byTopic[topic] ?? []) tps.push({ topic, partition });
    }
    assignments[memberId] = tps;
  }
  const topics: Record<string, GroupTopic> = {};
  for (const [topic, { id, pc }] of Object.entries(item.tp ?? {}))
    topics[topic] = { topicId: id, partitionCount: pc };
  return { name, groupId: item.gid, generation: item.gen, assignments, topics, createdAt: item.ca };
}

function toMemberItem(member: GroupMember) {
  return {
    gid: member.groupId,
    t: [...member.topics],
    st: member.sessionTimeoutMs,
    ja: member.joinedAt,
    hb: member.lastHeartbeat,
    dl: member.deadline,
    sg: member.seenGeneration,
  };
}

function fromMemberItem(item: MemberItem): GroupMember {
  return {
    memberId: item.sk.slice(MEMBER_SK_PREFIX.length),
    groupId: item.gid,
    topics: item.t,
    sessionTimeoutMs: item.st,
    joinedAt: item.ja,
    lastHeartbeat: item.hb,
    deadline: item.dl,
    seenGeneration: item.sg,
  };
}

function fromOffsetItem(item: OffsetItem): CommittedOffset {
  return {
    topic: item.t,
    partition: item.p,
    offset: item.c,
    metadata: item.m,
    topicId: item.tid,
    groupId: item.gid,
    committedAt: item.ct,
  };
}

/**
 * Consumer groups in the meta table. Every change is conditional; the drawings show the races
 * each condition settles.
 *
 * Membership (join, leave, expiry, new partitions) is one transaction:
 *
 * ```
 *  G#g, G      PUT group item (gen+1, assignment)   IF gen = read gen   (or attribute_not_exists for a new group)
 *  G#g, M#new  PUT member                           IF attribute_not_exists(pk)
 *  G#g, M#old  DELETE member (left or expired)      IF dl = read dl     (no heartbeat revived it)
 *
 *  join B:   read gen 4 ───── transact(gen 4 → 5, +B) ✓
 *  join C:   read gen 4 ────────── transact(gen 4 → 5, +C) ✗ → re-read gen 5 → (5 → 6, +C) ✓
 * ```
 *
 * A heartbeat touches only its member item (`SET dl IF dl >= now`: an expired member cannot come
 * back), so heartbeats never race membership changes or each other.
 *
 * A commit is fenced inside DynamoDB, not just checked before:
 *
 * ```
 *  G#g, G                 CONDITION gid = :gid AND gen = :gen          (fencing: no rebalance since the check)
 *  G#g, M#m               UPDATE dl, hb  IF dl >= now                  (the member is alive; counts as heartbeat)
 *  G#g, O#topic#p         UPDATE c := n  IF attribute_not_exists(c) OR c <= n OR gid <> :gid OR tid <> :tid
 *
 *  member A (gen 5) ── commit p0=40 ──────────────────── ✗ gen is 6: fenced, nothing written
 *  member B joins ───────────── gen 5 → 6, p0 moves A → B
 *  two commits of p0: 50 ✓ then a delayed 45 ✗ (c=50 > 45): the offset never moves back
 * ```
 *
 * The `gid`/`tid` escape lets a new incarnation of the group or topic overwrite leftovers.
 */
export class DynamoDbGroupStore implements GroupStore {
  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async read(group: string): Promise<GroupSnapshot> {
    const items = await queryItems(
      this.documents,
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk < :bound',
        ExpressionAttributeValues: { ':pk': groupPartitionKey(group), ':bound': GROUP_AND_MEMBERS_SK_BOUND },
        ConsistentRead: true,
      },
      2 * LIMITS.groupMembersMax + 1,
      QUERY_PAGE_ITEMS,
    );
    let record: GroupRecord | undefined;
    const members: GroupMember[] = [];
    for (const item of items) {
      if (item.sk === 'G') record = fromGroupItem(group, item as unknown as GroupItem);
      else if (String(item.sk).startsWith(MEMBER_SK_PREFIX))
        members.push(fromMemberItem(item as unknown as MemberItem));
    }
    return { record, members };
  }

  async writeMembership(change: MembershipChange): Promise<boolean> {
    const group = change.record.name;
    const groupItem = {
      Put: {
        TableName: this.tableName,
        Item: { ...groupKey(group), ...toGroupItem(change.record) },
        ...(change.expectedGeneration === undefined
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : {
              ConditionExpression: 'gen = :gen',
              ExpressionAttributeValues: { ':gen': change.expectedGeneration },
            }),
      },
    };
    const directory =
      change.expectedGeneration === undefined
        ? [
            {
              Put: {
                TableName: this.tableName,
                Item: {
                  ...groupDirectoryKey(group),
                  gid: change.record.groupId,
                  ca: change.record.createdAt,
                },
              },
            },
          ]
        : [];
    const creates = change.createMembers.map((member) => ({
      Put: {
        TableName: this.tableName,
        Item: { ...memberKey(group, member.memberId), ...toMemberItem(member) },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    }));
    const updates = change.updateMembers.map((member) => ({
      Put: {
        TableName: this.tableName,
        Item: { ...memberKey(group, member.memberId), ...toMemberItem(member) },
        ConditionExpression: 'dl >= :now',
        ExpressionAttributeValues: { ':now': change.now },
      },
    }));
    const fixed = [groupItem, ...directory, ...creates, ...updates];
    // Removals that do not fit stay behind as items the record no longer lists: the next change removes them.
    const removals = change.removeMembers.slice(0, TRANSACTION_ITEMS_MAX - fixed.length).map((member) => ({
      Delete: {
        TableName: this.tableName,
        Key: memberKey(group, member.memberId),
        ConditionExpression: 'dl = :dl',
        ExpressionAttributeValues: { ':dl': member.deadline },
      },
    }));
    try {
      await this.documents.send(new TransactWriteCommand({ TransactItems: [...fixed, ...removals] }));
      return true;
    } catch (error) {
      if (anyConditionFailed(error) || isTransactionConflict(error)) return false;
      if (isAmbiguousFailure(error)) return false;
      throw error;
    }
  }

  async heartbeat(group: string, liveness: Liveness, now: number): Promise<boolean> {
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: memberKey(group, liveness.memberId),
          UpdateExpression: 'SET hb = :hb, dl = :dl, sg = :sg',
          ConditionExpression: 'dl >= :now',
          ExpressionAttributeValues: {
            ':hb': liveness.lastHeartbeat,
            ':dl': liveness.deadline,
            ':sg': liveness.seenGeneration,
            ':now': now,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error) || isAmbiguousFailure(error)) return false;
      throw error;
    }
  }

  async commit(commit: OffsetCommit): Promise<CommitOutcome> {
    const items = commitTransactItems(this.tableName, commit);
    if (items.length > TRANSACTION_ITEMS_MAX) {
      throw new Error(`A commit of ${commit.offsets.length} offsets does not fit one transaction`);
    }
    try {
      await this.documents.send(new TransactWriteCommand({ TransactItems: items }));
      return { kind: 'committed' };
    } catch (error) {
      const refused = commitRefusal(error, commit, 0);
      if (refused) return refused;
      if (isTransactionConflict(error)) return { kind: 'conflict' };
      if (isAmbiguousFailure(error)) return { kind: 'unknown' };
      throw error;
    }
  }

  async readOffset(group: string, topic: string, partition: number): Promise<CommittedOffset | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({
        TableName: this.tableName,
        Key: committedOffsetKey(group, topic, partition),
        ConsistentRead: true,
      }),
    );
    return Item ? fromOffsetItem(Item as unknown as OffsetItem) : undefined;
  }

  async readOffsets(group: string, limit: number): Promise<CommittedOffset[]> {
    const items = await queryItems<OffsetItem>(
      this.documents,
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': groupPartitionKey(group), ':prefix': OFFSET_SK_PREFIX },
        ConsistentRead: true,
      },
      limit,
    );
    return items.map(fromOffsetItem);
  }

  async resetOffsets(
    group: string,
    groupId: string,
    generation: number,
    offsets: readonly Omit<CommittedOffset, 'groupId'>[],
  ): Promise<boolean> {
    const perTransaction = TRANSACTION_ITEMS_MAX - 1;
    for (let start = 0; start < offsets.length; start += perTransaction) {
      const puts = offsets.slice(start, start + perTransaction).map((offset) => ({
        Put: {
          TableName: this.tableName,
          Item: {
            ...committedOffsetKey(group, offset.topic, offset.partition),
            t: offset.topic,
            p: offset.partition,
            c: offset.offset,
            tid: offset.topicId,
            gid: groupId,
            ct: offset.committedAt,
          },
        },
      }));
      try {
        await this.documents.send(
          new TransactWriteCommand({
            TransactItems: [
              start + perTransaction >= offsets.length
                ? {
                    // The last transaction moves the generation on: the reset's new epoch.
                    Update: {
                      TableName: this.tableName,
                      Key: groupKey(group),
                      UpdateExpression: 'SET gen = :next',
                      ConditionExpression: 'gid = :gid AND gen = :gen',
                      ExpressionAttributeValues: {
                        ':gid': groupId,
                        ':gen': generation,
                        ':next': generation + 1,
                      },
                    },
                  }
                : {
                    ConditionCheck: {
                      TableName: this.tableName,
                      Key: groupKey(group),
                      ConditionExpression: 'gid = :gid AND gen = :gen',
                      ExpressionAttributeValues: { ':gid': groupId, ':gen': generation },
                    },
                  },
              ...puts,
            ],
          }),
        );
      } catch (error) {
        if (conditionFailedAt(error, 0) || isTransactionConflict(error)) {
          return false;
        }
        if (isAmbiguousFailure(error)) return false;
        throw error;
      }
    }
    return true;
  }

  async list(limit: number): Promise<{ name: string; createdAt: number }[]> {
    const items = await queryItems(
      this.documents,
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': GROUP_DIRECTORY_PK },
      },
      limit,
    );
    return items.map((item) => ({ name: String(item.sk), createdAt: Number(item.ca) }));
  }

  async delete(group: string, groupId: string, generation: number): Promise<boolean> {
    try {
      await this.documents.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Delete: {
                TableName: this.tableName,
                Key: groupKey(group),
                ConditionExpression: 'gid = :gid AND gen = :gen',
                ExpressionAttributeValues: { ':gid': groupId, ':gen': generation },
              },
            },
            { Delete: { TableName: this.tableName, Key: groupDirectoryKey(group) } },
          ],
        }),
      );
    } catch (error) {
      if (conditionFailedAt(error, 0) || isTransactionConflict(error)) {
        return false;
      }
      if (isAmbiguousFailure(error)) return false;
      throw error;
    }
    await this.purge(group, groupId);
    return true;
  }

  /**
   * Deletes the member and offset items of a deleted incarnation, each only if it still belongs to
   * it (a new incarnation may already be in use). Bounded; leftovers are ignored by their `gid`.
   */
  private async purge(group: string, groupId: string): Promise<void> {
    const itemsMax = LIMITS.groupOffsetsListedMax + 2 * LIMITS.groupMembersMax;
    let seen = 0;
    const pages = queryPages(
      this.documents,
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': groupPartitionKey(group) },
        ProjectionExpression: 'pk, sk, gid',
        ConsistentRead: true,
      },
      () => QUERY_PAGE_ITEMS,
    );
    for await (const items of pages) {
      const keys = items
        .filter((item) => item.gid === groupId)
        .map((item) => ({ pk: item.pk as string, sk: item.sk as string }));
      seen += items.length;
      for (let start = 0; start < keys.length; start += PURGE_CONCURRENCY) {
        await Promise.all(
          keys.slice(start, start + PURGE_CONCURRENCY).map((key) => this.deleteIfOf(key, groupId)),
        );
      }
      if (seen >= itemsMax) break;
    }
  }

  private async deleteIfOf(key: { pk: string; sk: string }, groupId: string): Promise<void> {
    try {
      await this.documents.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: key,
          ConditionExpression: 'gid = :gid',
          ExpressionAttributeValues: { ':gid': groupId },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }
}

/**
 * The items of a commit, in this order: the group fence, the member's liveness (when a member
 * commits), one per offset. Shared by `commit` and the append with a commit
 * (`partition-log.ts`), so both are fenced by the very same conditions (drawn above the class).
 */
export function commitTransactItems(tableName: string, commit: OffsetCommit) {
  const { group } = commit;
  const fence = {
    ConditionCheck: {
      TableName: tableName,
      Key: groupKey(group),
      ConditionExpression: 'gid = :gid AND gen = :gen',
      ExpressionAttributeValues: { ':gid': commit.groupId, ':gen': commit.generation },
    },
  };
  const member = commit.member
    ? [
        {
          Update: {
            TableName: tableName,
            Key: memberKey(group, commit.member.memberId),
            UpdateExpression: 'SET hb = :hb, dl = :dl, sg = :sg',
            ConditionExpression: 'dl >= :now',
            ExpressionAttributeValues: {
              ':hb': commit.member.lastHeartbeat,
              ':dl': commit.member.deadline,
              ':sg': commit.member.seenGeneration,
              ':now': commit.now,
            },
          },
        },
      ]
    : [];
  const offsets = commit.offsets.map((offset) => ({
    Update: {
      TableName: tableName,
      Key: committedOffsetKey(group, offset.topic, offset.partition),
      UpdateExpression: `SET c = :c, t = :t, p = :p, tid = :tid, gid = :gid, ct = :ct${offset.metadata === undefined ? ' REMOVE m' : ', m = :m'}`,
      ConditionExpression: 'attribute_not_exists(c) OR c <= :c OR gid <> :gid OR tid <> :tid',
      ExpressionAttributeValues: {
        ':c': offset.offset,
        ':t': offset.topic,
        ':p': offset.partition,
        ':tid': offset.topicId,
        ':gid': commit.groupId,
        ':ct': offset.committedAt,
        ...(offset.metadata === undefined ? {} : { ':m': offset.metadata }),
      },
    },
  }));
  return [fence, ...member, ...offsets];
}

/**
 * Which condition of a commit's items refused a cancelled transaction whose commit items start at
 * `first`: undefined when none did (a conflict, a timeout, another item's condition).
 */
export function commitRefusal(
  error: unknown,
  commit: OffsetCommit,
  first: number,
):
  | { readonly kind: 'generation-changed' }
  | { readonly kind: 'member-gone' }
  | { readonly kind: 'regressed'; readonly index: number }
  | undefined {
  if (!cancellationReasons(error)) return undefined;
  if (conditionFailedAt(error, first)) return { kind: 'generation-changed' };
  const memberItems = commit.member ? 1 : 0;
  if (memberItems > 0 && conditionFailedAt(error, first + 1)) return { kind: 'member-gone' };
  const offsetsFirst = first + 1 + memberItems;
  for (let index = 0; index < commit.offsets.length; index++) {
    if (conditionFailedAt(error, offsetsFirst + index)) return { kind: 'regressed', index };
  }
  return undefined;
}
