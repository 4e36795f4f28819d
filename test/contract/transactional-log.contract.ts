/**
 * What every TransactionalLog must do, run against the in-memory one (unit project) and the
 * DynamoDB one (integration project): records appended to several topics and a group's offsets
 * committed in one transaction, all of it or nothing (guarantee 10). Each refusal (a fenced
 * generation, a member gone, an offset going back, a head moved, a live Idempotency-Key) is
 * reported as such, in the same order of precedence, and writes nothing.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { GroupMember, GroupRecord } from '../../shared/domain/group.js';
import type { Topic } from '../../shared/domain/topic.js';
import type { GroupStore, OffsetCommit } from '../../shared/ports/group-store.js';
import type {
  AppendWithCommitRequest,
  IdempotencyRecord,
  PartitionLog,
  TopicAppend,
  TransactionalLog,
} from '../../shared/ports/partition-log.js';
import type { ManualClock } from '../support/manual-clock.js';
import { batch, emptyHead, freshName, freshTopic, text } from './fixtures.js';

/** The transactional log to test, with the log and group store whose items it writes. */
export interface TransactionalLogUnderTest {
  readonly transactional: TransactionalLog;
  readonly log: PartitionLog;
  readonly groups: GroupStore;
  /** The clock the idempotency condition reads. */
  readonly clock: ManualClock;
}

const NO_LIMITS = { recordsMax: 10_000, bytesMax: 10_000_000 };
const SESSION_MS = 10_000;

/** A group at generation 1 with member `a`, alive until `now + SESSION_MS`. */
async function groupWithA(groups: GroupStore, now: number): Promise<{ name: string; groupId: string }> {
  const name = freshName('g');
  const groupId = randomUUID();
  const record: GroupRecord = {
    name,
    groupId,
    generation: 1,
    assignments: { a: [{ topic: 'in', partition: 0 }] },
    topics: {},
    createdAt: now,
  };
  const member: GroupMember = {
    memberId: 'a',
    groupId,
    topics: ['in'],
    sessionTimeoutMs: SESSION_MS,
    joinedAt: now,
    lastHeartbeat: now,
    deadline: now + SESSION_MS,
    seenGeneration: 1,
  };
  const written = await groups.writeMembership({
    expectedGeneration: undefined,
    record,
    createMembers: [member],
    updateMembers: [],
    removeMembers: [],
    now,
  });
  if (!written) throw new Error('could not create the test group');
  return { name, groupId };
}

/** A commit by member `a` in generation 1 of `offsets` of topic `in` (topic id `in-id`), at `now`. */
function commitOf(
  group: { name: string; groupId: string },
  now: number,
  offsets: readonly { partition: number; offset: number; topicId?: string }[],
  overrides: Partial<OffsetCommit> = {},
): OffsetCommit {
  return {
    group: group.name,
    groupId: group.groupId,
    generation: 1,
    member: { memberId: 'a', lastHeartbeat: now, deadline: now + 2 * SESSION_MS, seenGeneration: 1 },
    offsets: offsets.map((entry) => ({
      topic: 'in',
      partition: entry.partition,
      offset: entry.offset,
      metadata: undefined,
      topicId: entry.topicId ?? 'in-id',
      committedAt: now,
    })),
    now,
    ...overrides,
  };
}

/** An append of `count` records to partition 0 of `topic`, whose head is at `highWatermark`. */
function appendTo(topic: Topic, highWatermark: number, count: number, partition = 0): TopicAppend {
  return {
    topic,
    expectedHeads: [{ ...emptyHead(partition), highWatermark }],
    batches: [batch(partition, highWatermark, count)],
  };
}

function request(
  appends: readonly TopicAppend[],
  commit: OffsetCommit,
  idempotency?: IdempotencyRecord,
): AppendWithCommitRequest {
  return { appendId: randomUUID(), appends, commit, ...(idempotency ? { idempotency } : {}) };
}

export function transactionalLogContract(name: string, make: () => Promise<TransactionalLogUnderTest>): void {
  describe(`TransactionalLog contract: ${name}`, () => {
    /** Whether nothing of a refused transaction is stored: no head moved, no batch, no offset. */
    async function expectNothingWritten(
      { log, groups }: TransactionalLogUnderTest,
      groupName: string,
      topics: readonly Topic[],
      heads: readonly number[],
      committed: readonly (number | undefined)[],
    ) {
      for (const [index, topic] of topics.entries()) {
        expect((await log.readHeads(topic, [0]))[0]?.highWatermark).toBe(heads[index]);
        const batches = await log.readBatches(topic, 0, heads[index] ?? 0, NO_LIMITS);
        expect(batches).toEqual([]);
      }
      for (const [partition, offset] of committed.entries()) {
        expect((await groups.readOffset(groupName, 'in', partition))?.offset).toBe(offset);
      }
    }

    it('appends to every topic, commits every offset and refreshes the member, at once', async () => {
      const under = await make();
      const { transactional, log, groups, clock } = under;
      const now = clock.now();
      const group = await groupWithA(groups, now);
      const [out1, out2] = [freshTopic(), freshTopic()] as [Topic, Topic];
      clock.advance(1_000);
      const commit = commitOf(group, clock.now(), [
        { partition: 0, offset: 5 },
        { partition: 1, offset: 3 },
      ]);

      const outcome = await transactional.appendWithCommit(
        request([appendTo(out1, 0, 2), { ...appendTo(out2, 0, 1), batches: [batch(0, 0, 1)] }], commit),
      );

      expect(outcome).toEqual({ kind: 'appended' });
      expect((await log.readHeads(out1, [0]))[0]?.highWatermark).toBe(2);
      expect((await log.readHeads(out2, [0]))[0]?.highWatermark).toBe(1);
      const stored = await log.readBatches(out1, 0, 0, NO_LIMITS);
      expect(stored.flatMap((entry) => entry.records.map(text))).toEqual(['v0', 'v1']);
      expect(await groups.readOffset(group.name, 'in', 0)).toMatchObject({
        offset: 5,
        topicId: 'in-id',
        groupId: group.groupId,
        committedAt: clock.now(),
      });
      expect((await groups.readOffset(group.name, 'in', 1))?.offset).toBe(3);
      const [member] = (await groups.read(group.name)).members;
      expect(member).toMatchObject({ lastHeartbeat: clock.now(), deadline: clock.now() + 2 * SESSION_MS });
    });

    it('appends after a head that moved before and commits forward', async () => {
      const { transactional, log, groups, clock } = await make();
      const group = await groupWithA(groups, clock.now());
      const out = freshTopic();
      await transactional.appendWithCommit(
        request([appendTo(out, 0, 2)], commitOf(group, clock.now(), [{ partition: 0, offset: 2 }])),
      );

      const outcome = await transactional.appendWithCommit(
        request([appendTo(out, 2, 3)], commitOf(group, clock.now(), [{ partition: 0, offset: 4 }])),
      );

      expect(outcome).toEqual({ kind: 'appended' });
      expect((await log.readHeads(out, [0]))[0]?.highWatermark).toBe(5);
      expect((await log.readBatches(out, 0, 2, NO_LIMITS)).map((entry) => entry.baseOffset)).toEqual([2]);
      expect((await groups.readOffset(group.name, 'in', 0))?.offset).toBe(4);
    });

    it('fences a stale generation or another group incarnation, and writes nothing', async () => {
      const under = await make();
      const { transactional, groups, clock } = under;
      const group = await groupWithA(groups, clock.now());
      const out = freshTopic();
      const offsets = [{ partition: 0, offset: 5 }];

      const stale = await transactional.appendWithCommit(
        request([appendTo(out, 0, 1)], commitOf(group, clock.now(), offsets, { generation: 2 })),
      );
      const otherIncarnation = await transactional.appendWithCommit(
        request([appendTo(out, 0, 1)], commitOf(group, clock.now(), offsets, { groupId: randomUUID() })),
      );
      const noGroup = await transactional.appendWithCommit(
        request([appendTo(out, 0, 1)], commitOf({ ...group, name: freshName('none') }, clock.now(), offsets)),
      );

      expect(stale).toEqual({ kind: 'generation-changed' });
      expect(otherIncarnation).toEqual({ kind: 'generation-changed' });
      expect(noGroup).toEqual({ kind: 'generation-changed' });
      await expectNothingWritten(under, group.name, [out], [0], [undefined]);
      const [member] = (await groups.read(group.name)).members;
      expect(member?.deadline).toBe(clock.now() + SESSION_MS);
    });

    it('refuses a member past its deadline (or absent), and writes nothing', async () => {
      const under = await make();
      const { transactional, groups, clock } = under;
      const start = clock.now();
      const group = await groupWithA(groups, start);
      const out = freshTopic();
      const offsets = [{ partition: 0, offset: 5 }];

      const atDeadline = await transactional.appendWithCommit(
        request([appendTo(out, 0, 1)], commitOf(group, start + SESSION_MS, offsets)),
      );
      expect(atDeadline).toEqual({ kind: 'appended' });
      const late = await transactional.appendWithCommit(
        request([appendTo(out, 1, 1)], commitOf(group, start + 3 * SESSION_MS + 1, offsets)),
      );
      const stranger = await transactional.appendWithCommit(
        request(
          [appendTo(out, 1, 1)],
          commitOf(group, start, offsets, {
            member: { memberId: 'b', lastHeartbeat: start, deadline: start + 1, seenGeneration: 1 },
          }),
        ),
      );

      expect(late).toEqual({ kind: 'member-gone' });
      expect(stranger).toEqual({ kind: 'member-gone' });
      await expectNothingWritten(under, group.name, [out], [1], [5]);
    });

    it('commits without a member (a standalone consumer) under the group fence alone', async () => {
      const { transactional, groups, clock } = await make();
      const group = await groupWithA(groups, clock.now());

      const outcome = await transactional.appendWithCommit(
        request(
          [appendTo(freshTopic(), 0, 1)],
          commitOf(group, clock.now(), [{ partition: 0, offset: 1 }], { member: undefined }),
        ),
      );

      expect(outcome).toEqual({ kind: 'appended' });
      expect((await groups.readOffset(group.name, 'in', 0))?.offset).toBe(1);
    });

    it('refuses an offset below the committed one with its index, and writes nothing', async () => {
      const under = await make();
      const { transactional, groups, clock } = under;
      const group = await groupWithA(groups, clock.now());
      const out = freshTopic();
      await groups.commit(
        commitOf(group, clock.now(), [
          { partition: 0, offset: 5 },
          { partition: 1, offset: 5 },
        ]),
      );

      const outcome = await transactional.appendWithCommit(
        request(
          [appendTo(out, 0, 1)],
          commitOf(group, clock.now(), [
            { partition: 0, offset: 6 },
            { partition: 1, offset: 4 },
          ]),
        ),
      );

      expect(outcome).toEqual({ kind: 'regressed', index: 1 });
      await expectNothingWritten(under, group.name, [out], [0], [5, 5]);
    });

    it('commits an equal offset, and a lower one of another topic incarnation', async () => {
      const { transactional, groups, clock } = await make();
      const group = await groupWithA(groups, clock.now());
      const out = freshTopic();
      await groups.commit(commitOf(group, clock.now(), [{ partition: 0, offset: 5 }]));

      const equal = await transactional.appendWithCommit(
        request([appendTo(out, 0, 1)], commitOf(group, clock.now(), [{ partition: 0, offset: 5 }])),
      );
      const recreated = await transactional.appendWithCommit(
        request(
          [appendTo(out, 1, 1)],
          commitOf(group, clock.now(), [{ partition: 0, offset: 1, topicId: 'in-id-2' }]),
        ),
      );

      expect(equal).toEqual({ kind: 'appended' });
      expect(recreated).toEqual({ kind: 'appended' });
      expect(await groups.readOffset(group.name, 'in', 0)).toMatchObject({ offset: 1, topicId: 'in-id-2' });
    });

    it('refuses when any head moved, on any topic, and writes nothing', async () => {
      const under = await make();
      const { transactional, log, groups, clock } = under;
      const group = await groupWithA(groups, clock.now());
      const [moved, still] = [freshTopic(), freshTopic()] as [Topic, Topic];
      await log.append({
        topic: moved,
        appendId: randomUUID(),
        expectedHeads: [emptyHead(0)],
        batches: [batch(0, 0, 2)],
      });

      const outcome = await transactional.appendWithCommit(
        request(
          [appendTo(still, 0, 1), appendTo(moved, 0, 1)],
          commitOf(group, clock.now(), [{ partition: 0, offset: 5 }]),
        ),
      );

      expect(outcome).toEqual({ kind: 'head-moved' });
      expect((await log.readHeads(moved, [0]))[0]?.highWatermark).toBe(2);
      await expectNothingWritten(under, group.name, [still], [0], [undefined]);
      const [member] = (await groups.read(group.name)).members;
      expect(member?.deadline).toBe(clock.now() + SESSION_MS);
    });

    it('refuses an empty expected head on a tombstone (a deleted topic), and writes nothing', async () => {
      const under = await make();
      const { transactional, log, groups, clock } = under;
      const group = await groupWithA(groups, clock.now());
      const deleted = freshTopic();
      await log.closePartitions(deleted, clock.now());

      const outcome = await transactional.appendWithCommit(
        request([appendTo(deleted, 0, 1)], commitOf(group, clock.now(), [{ partition: 0, offset: 5 }])),
      );

      expect(outcome).toEqual({ kind: 'head-moved' });
      expect((await log.readHeads(deleted, [0]))[0]).toMatchObject({ highWatermark: 0, deleted: true });
      expect(await log.readBatches(deleted, 0, 0, NO_LIMITS)).toEqual([]);
      expect(await groups.readOffset(group.name, 'in', 0)).toBeUndefined();
    });

    describe('idempotency', () => {
      it('refuses a live key of the group incarnation and writes nothing; keeps the first record', async () => {
        const under = await make();
        const { transactional, groups, clock } = under;
        const group = await groupWithA(groups, clock.now());
        const out = freshTopic();
        const expiresAt = clock.now() + 60_000;
        const idempotency = { key: 'k', requestHash: 'h1', response: new Uint8Array([1, 2]), expiresAt };
        await transactional.appendWithCommit(
          request(
            [appendTo(out, 0, 1)],
            commitOf(group, clock.now(), [{ partition: 0, offset: 1 }]),
            idempotency,
          ),
        );

        const outcome = await transactional.appendWithCommit(
          request([appendTo(out, 1, 1)], commitOf(group, clock.now(), [{ partition: 0, offset: 2 }]), {
            ...idempotency,
            requestHash: 'h2',
          }),
        );

        expect(outcome).toEqual({ kind: 'idempotency-key-exists' });
        await expectNothingWritten(under, group.name, [out], [1], [1]);
        const stored = await transactional.readCommitIdempotency(group.groupId, 'k', clock.now());
        expect(stored).toMatchObject({ key: 'k', requestHash: 'h1', expiresAt });
        expect([...(stored?.response ?? [])]).toEqual([1, 2]);
      });

      it('reads a key as live up to its expiry, absent after, and only in its group incarnation', async () => {
        const { transactional, groups, clock } = await make();
        const group = await groupWithA(groups, clock.now());
        const expiresAt = clock.now() + 60_000;
        await transactional.appendWithCommit(
          request([appendTo(freshTopic(), 0, 1)], commitOf(group, clock.now(), []), {
            key: 'k',
            requestHash: 'h',
            response: new Uint8Array([1]),
            expiresAt,
          }),
        );

        expect(await transactional.readCommitIdempotency(group.groupId, 'k', expiresAt)).toBeDefined();
        expect(await transactional.readCommitIdempotency(group.groupId, 'k', expiresAt + 1)).toBeUndefined();
        expect(
          await transactional.readCommitIdempotency(group.groupId, 'other', clock.now()),
        ).toBeUndefined();
        expect(await transactional.readCommitIdempotency(randomUUID(), 'k', clock.now())).toBeUndefined();
      });

      it('lets an expired key be stored again', async () => {
        const { transactional, groups, clock } = await make();
        const group = await groupWithA(groups, clock.now());
        const out = freshTopic();
        const idempotency = {
          key: 'k',
          requestHash: 'h',
          response: new Uint8Array([1]),
          expiresAt: clock.now() + 5_000,
        };
        await transactional.appendWithCommit(
          request([appendTo(out, 0, 1)], commitOf(group, clock.now(), []), idempotency),
        );
        clock.advance(5_000);
        const atExpiry = await transactional.appendWithCommit(
          request([appendTo(out, 1, 1)], commitOf(group, clock.now(), []), {
            ...idempotency,
            requestHash: 'h2',
          }),
        );
        clock.advance(1);

        const outcome = await transactional.appendWithCommit(
          request([appendTo(out, 1, 1)], commitOf(group, clock.now(), []), {
            ...idempotency,
            requestHash: 'h2',
            expiresAt: clock.now() + 60_000,
          }),
        );

        expect(atExpiry).toEqual({ kind: 'idempotency-key-exists' });
        expect(outcome).toEqual({ kind: 'appended' });
        expect(
          (await transactional.readCommitIdempotency(group.groupId, 'k', clock.now()))?.requestHash,
        ).toBe('h2');
      });
    });

    describe('precedence of refusals, as a cancelled DynamoDB transaction is classified', () => {
      it('reports the fence before the member, the offsets, the key and the heads', async () => {
        const { transactional, log, groups, clock } = await make();
        const group = await groupWithA(groups, clock.now());
        const out = freshTopic();
        const idempotency = {
          key: 'k',
          requestHash: 'h',
          response: new Uint8Array([1]),
          expiresAt: clock.now() + 60_000,
        };
        await transactional.appendWithCommit(
          request(
            [appendTo(out, 0, 1)],
            commitOf(group, clock.now(), [{ partition: 0, offset: 5 }]),
            idempotency,
          ),
        );
        // Every condition fails from here on: a stale head (0), a live key, a regressed offset.
        const late = clock.now() + 3 * SESSION_MS + 1;
        const everything = (overrides: Partial<OffsetCommit>, now = late) =>
          transactional.appendWithCommit(
            request(
              [appendTo(out, 0, 1)],
              commitOf(group, now, [{ partition: 0, offset: 1 }], overrides),
              idempotency,
            ),
          );

        expect(await everything({ generation: 2 })).toEqual({ kind: 'generation-changed' });
        expect(await everything({})).toEqual({ kind: 'member-gone' });
        expect(await everything({}, clock.now())).toEqual({ kind: 'regressed', index: 0 });
        expect(
          await transactional.appendWithCommit(
            request(
              [appendTo(out, 0, 1)],
              commitOf(group, clock.now(), [{ partition: 0, offset: 6 }]),
              idempotency,
            ),
          ),
        ).toEqual({ kind: 'idempotency-key-exists' });
        expect((await log.readHeads(out, [0]))[0]?.highWatermark).toBe(1);
        expect((await groups.readOffset(group.name, 'in', 0))?.offset).toBe(5);
      });
    });
  });
}
