/**
 * What every GroupStore must do, run in memory (unit project) and against DynamoDB Local
 * (integration project): membership changes fenced by generation, liveness that an expired member
 * cannot renew, commits fenced by generation and member and never moving an offset back, resets
 * and deletion fenced by generation (README guarantees 5 and 6).
 */
import { describe, expect, it } from 'vitest';
import type { GroupMember, GroupRecord } from '../../shared/domain/group.js';
import type { GroupStore, OffsetCommit } from '../../shared/ports/group-store.js';
import { freshName } from './fixtures.js';

const NOW = 1_000_000;

function record(
  name: string,
  generation: number,
  members: readonly string[],
  groupId = `${name}-id`,
): GroupRecord {
  return {
    name,
    groupId,
    generation,
    assignments: Object.fromEntries(members.map((id, i) => [id, [{ topic: 't', partition: i }]])),
    topics: { t: { topicId: 't-id', partitionCount: members.length } },
    createdAt: 500,
  };
}

function member(memberId: string, groupId: string, deadline = NOW + 10_000): GroupMember {
  return {
    memberId,
    groupId,
    topics: ['t'],
    sessionTimeoutMs: 10_000,
    joinedAt: NOW - 1_000,
    lastHeartbeat: deadline - 10_000,
    deadline,
    seenGeneration: 1,
  };
}

/** A group at generation 1 with member `a` (deadline NOW + 10 s). */
async function groupWithA(groups: GroupStore): Promise<{ name: string; groupId: string }> {
  const name = freshName('g');
  const groupId = `${name}-id`;
  const written = await groups.writeMembership({
    expectedGeneration: undefined,
    record: record(name, 1, ['a']),
    createMembers: [member('a', groupId)],
    updateMembers: [],
    removeMembers: [],
    now: NOW,
  });
  expect(written).toBe(true);
  return { name, groupId };
}

function commitOf(
  name: string,
  groupId: string,
  offsets: [partition: number, offset: number][],
): OffsetCommit {
  return {
    group: name,
    groupId,
    generation: 1,
    member: { memberId: 'a', lastHeartbeat: NOW, deadline: NOW + 10_000, seenGeneration: 1 },
    offsets: offsets.map(([partition, offset]) => ({
      topic: 't',
      partition,
      offset,
      metadata: undefined,
      topicId: 't-id',
      committedAt: NOW,
    })),
    now: NOW,
  };
}

export function groupStoreContract(name: string, make: () => Promise<GroupStore>): void {
  describe(`GroupStore contract: ${name}`, () => {
    describe('membership', () => {
      it('creates a group with its first member and lists it', async () => {
        const groups = await make();
        const { name, groupId } = await groupWithA(groups);

        const snapshot = await groups.read(name);

        expect(snapshot.record).toEqual(record(name, 1, ['a']));
        expect(snapshot.members).toEqual([member('a', groupId)]);
        expect(await groups.list(10_000)).toContainEqual({ name, createdAt: 500 });
      });

      it('reads an absent group as no record and no members', async () => {
        const groups = await make();

        expect(await groups.read(freshName('absent'))).toEqual({ record: undefined, members: [] });
      });

      it('fails to create a group that exists', async () => {
        const groups = await make();
        const { name } = await groupWithA(groups);

        const written = await groups.writeMembership({
          expectedGeneration: undefined,
          record: record(name, 1, ['b']),
          createMembers: [member('b', `${name}-id`)],
          updateMembers: [],
          removeMembers: [],
          now: NOW,
        });

        expect(written).toBe(false);
        expect((await groups.read(name)).members.map((m) => m.memberId)).toEqual(['a']);
      });

      it('fails when the generation moved since the read, and writes nothing', async () => {
        const groups = await make();
        const { name, groupId } = await groupWithA(groups);

        const stale = await groups.writeMembership({
          expectedGeneration: 2,
          record: record(name, 3, ['a', 'b']),
          createMembers: [member('b', groupId)],
          updateMembers: [],
          removeMembers: [],
          now: NOW,
        });
        const current = await groups.writeMembership({
          expectedGeneration: 1,
          record: record(name, 2, ['a', 'b']),
          createMembers: [member('b', groupId)],
          updateMembers: [],
          removeMembers: [],
          now: NOW,
        });

        expect([stale, current]).toEqual([false, true]);
        const snapshot = await groups.read(name);
        expect(snapshot.record?.generation).toBe(2);
        expect(snapshot.members.map((m) => m.memberId)).toEqual(['a', 'b']);
      });

      it('fails to create a member that exists', async () => {
        const groups = await make();
        const { name, groupId } = await groupWithA(groups);

        const written = await groups.writeMembership({
          expectedGeneration: 1,
          record: record(name, 2, ['a']),
          createMembers: [member('a', groupId)],
          updateMembers: [],
          removeMembers: [],
          now: NOW,
        });

        expect(written).toBe(false);
        expect((await groups.read(name)).record?.generation).toBe(1);
      });

      it('updates a member alive at now, up to its deadline, and fails for one past it', async () => {
        const groups = await make();
        const { name, groupId } = await groupWithA(groups);
        const deadline = NOW + 10_000;
        const rejoin = (now: number, generation: number) =>
          groups.writeMembership({
            expectedGeneration: generation,
            record: record(name, generation + 1, ['a']),
            createMembers: [],
            updateMembers: [{ ...member('a', groupId, now + 10_000), topics: ['t', 'u'] }],
            removeMembers: [],
            now,
          });

        expect(await rejoin(deadline + 1, 1)).toBe(false);
        expect(await rejoin(deadline, 1)).toBe(true);
        expect((await groups.read(name)).members[0]?.topics).toEqual(['t', 'u']);
      });

      it('removes a member only at the deadline it was read with', async () => {
        const groups = await make();
        const { name } = await groupWithA(groups);
        const remove = (deadline: number, generation: number) =>
          groups.writeMembership({
            expectedGeneration: generation,
            record: record(name, generation + 1, []),
            createMembers: [],
            updateMembers: [],
            removeMembers: [{ memberId: 'a', deadline }],
            now: NOW,
          });

        expect(await remove(NOW + 9_999, 1)).toBe(false);
        expect(await remove(NOW + 10_000, 1)).toBe(true);
        expect((await groups.read(name)).members).toEqual([]);
      });
    });

    describe('heartbeat', () => {
      it('renews a member alive at now, even at its very deadline', async () => {
        const groups = await make();
        const { name } = await groupWithA(groups);
        const liveness = {
          memberId: 'a',
          lastHeartbeat: NOW + 10_000,
          deadline: NOW + 20_000,
          seenGeneration: 1,
        };

        expect(await groups.heartbeat(name, liveness, NOW + 10_000)).toBe(true);

        expect((await groups.read(name)).members[0]).toMatchObject({
          lastHeartbeat: NOW + 10_000,
          deadline: NOW + 20_000,
        });
      });

      it('fails for a member past its deadline or gone, and revives nothing', async () => {
        const groups = await make();
        const { name } = await groupWithA(groups);
        const liveness = {
          memberId: 'a',
          lastHeartbeat: NOW + 10_001,
          deadline: NOW + 20_001,
          seenGeneration: 1,
        };

        expect(await groups.heartbeat(name, liveness, NOW + 10_001)).toBe(false);
        expect(await groups.heartbeat(name, { ...liveness, memberId: 'b' }, NOW)).toBe(false);

        expect((await groups.read(name)).members.map((m) => [m.memberId, m.deadline])).toEqual([
          ['a', NOW + 10_000],
        ]);
      });
    });

    describe('commit', () => {
      it('commits offsets and refreshes the committing member', async () => {
        const groups = await make();
        const { name, groupId } = await groupWithA(groups);
        const commit = commitOf(name, groupId, [
          [0, 5],
          [1, 7],
        ]);

        expect(
          await groups.commit({
            ...commit,
            member: { memberId: 'a', lastHeartbeat: NOW + 1, deadline: NOW + 10_001, seenGeneration: 1 },
            offsets: commit.offsets.map((offset, i) => (i === 0 ? { ...offset, metadata: 'm' } : offset)),
          }),
        ).toEqual({ kind: 'committed' });

        expect(await groups.readOffset(name, 't', 0)).toEqual({
          topic: 't',
          partition: 0,
          offset: 5,
          metadata: 'm',
          topicId: 't-id',
          groupId,
          committedAt: NOW,
        });
        expect(
          (await groups.readOffsets(name, 10)).map((offset) => [offset.partition, offset.offset]),
        ).toEqual([
          [0, 5],
          [1, 7],
        ]);
        expect((await groups.read(name)).members[0]?.deadline).toBe(NOW + 10_001);
      });

      it('fails when the generation or the incarnation changed, and writes nothing', async () => {
        const groups = await make();
        const { name, groupId } = await groupWithA(groups);

        expect(await groups.commit({ ...commitOf(name, groupId, [[0, 5]]), generation: 2 })).toEqual({
          kind: 'generation-changed',
        });
        expect(await groups.commit(commitOf(name, 'another-id', [[0, 5]]))).toEqual({
          kind: 'generation-changed',
        });
        expect(await groups.commit(commitOf(freshName('absent'), groupId, [[0, 5]]))).toEqual({
          kind: 'generation-changed',
        });
        expect(await groups.readOffset(name, 't', 0)).toBeUndefined();
      });

      it('fails when the committing member is gone or past its deadline', async () => {
        const groups = await make();
        const { name, groupId } = await groupWithA(groups);
        const commit = commitOf(name, groupId, [[0, 5]]);

        expect(await groups.commit({ ...commit, now: NOW + 10_001 })).toEqual({ kind: 'member-gone' });
        expect(
          await groups.commit({
            ...commit,
            member: { memberId: 'b', lastHeartbeat: NOW, deadline: NOW + 10_000, seenGeneration: 1 },
          }),
        ).toEqual({
          kind: 'member-gone',
        });
        expect(await groups.commit({ ...commit, now: NOW + 10_000 })).toEqual({ kind: 'committed' });
      });

      it('commits without a member for a standalone consumer', async () => {
        const groups = await make();
        const { name, groupId } = await groupWithA(groups);

        expect(await groups.commit({ ...commitOf(name, groupId, [[0, 5]]), member: undefined })).toEqual({
          kind: 'committed',
        });
      });

      it('never moves an offset back, but commits the same one again', async () => {
        const groups = await make();
        const { name, groupId } = await groupWithA(groups);
        await groups.commit(commitOf(name, groupId, [[1, 50]]));

        expect(
          await groups.commit(
            commitOf(name, groupId, [
              [0, 9],
              [1, 45],
            ]),
          ),
        ).toEqual({ kind: 'regressed', index: 1 });
        expect(await groups.commit(commitOf(name, groupId, [[1, 50]]))).toEqual({ kind: 'committed' });

        expect(await groups.readOffset(name, 't', 0)).toBeUndefined();
        expect((await groups.readOffset(name, 't', 1))?.offset).toBe(50);
      });

      it('overwrites an offset of another topic incarnation, even backwards', async () => {
        const groups = await make();
        const { name, groupId } = await groupWithA(groups);
        await groups.commit(commitOf(name, groupId, [[0, 50]]));
        const commit = commitOf(name, groupId, [[0, 3]]);

        const outcome = await groups.commit({
          ...commit,
          offsets: commit.offsets.map((offset) => ({ ...offset, topicId: 't-id-2' })),
        });

        expect(outcome).toEqual({ kind: 'committed' });
        expect(await groups.readOffset(name, 't', 0)).toMatchObject({ offset: 3, topicId: 't-id-2' });
      });
    });

    describe('reset and delete', () => {
      it('resets offsets backwards while the generation holds', async () => {
        const groups = await make();
        const { name, groupId } = await groupWithA(groups);
        await groups.commit(commitOf(name, groupId, [[0, 50]]));
        const offset = {
          topic: 't',
          partition: 0,
          offset: 2,
          metadata: undefined,
          topicId: 't-id',
          committedAt: NOW,
        };

        expect(await groups.resetOffsets(name, groupId, 2, [offset])).toBe(false);
        expect(await groups.resetOffsets(name, 'another-id', 1, [offset])).toBe(false);
        expect((await groups.readOffset(name, 't', 0))?.offset).toBe(50);
        expect(await groups.resetOffsets(name, groupId, 1, [offset])).toBe(true);
        expect((await groups.readOffset(name, 't', 0))?.offset).toBe(2);
      });

      it('moves the generation on with a reset, once, also over more offsets than one transaction takes', async () => {
        const groups = await make();
        const { name, groupId } = await groupWithA(groups);
        const offsets = Array.from({ length: 150 }, (_, partition) => ({
          topic: 't',
          partition,
          offset: 1,
          metadata: undefined,
          topicId: 't-id',
          committedAt: NOW,
        }));

        expect(await groups.resetOffsets(name, groupId, 1, offsets)).toBe(true);

        expect((await groups.read(name)).record?.generation).toBe(2);
        expect(await groups.readOffsets(name, 200)).toHaveLength(150);
        // A reset of the old generation is refused from now on.
        expect(await groups.resetOffsets(name, groupId, 1, offsets.slice(0, 1))).toBe(false);
        expect(await groups.resetOffsets(name, groupId, 2, offsets.slice(0, 1))).toBe(true);
        expect((await groups.read(name)).record?.generation).toBe(3);
      });

      it('reads offsets in topic and partition order, at most limit', async () => {
        const groups = await make();
        const { name, groupId } = await groupWithA(groups);
        const offsets = [10, 2, 1].map((partition) => ({
          topic: 't',
          partition,
          offset: partition,
          metadata: undefined,
          topicId: 't-id',
          committedAt: NOW,
        }));
        await groups.resetOffsets(name, groupId, 1, [
          ...offsets,
          { ...(offsets[0] as (typeof offsets)[number]), topic: 'a' },
        ]);

        const read = await groups.readOffsets(name, 10);

        expect(read.map((offset) => `${offset.topic}-${offset.partition}`)).toEqual([
          'a-10',
          't-1',
          't-2',
          't-10',
        ]);
        expect(await groups.readOffsets(name, 2)).toHaveLength(2);
      });

      it('deletes a group and its offsets while the generation holds', async () => {
        const groups = await make();
        const { name, groupId } = await groupWithA(groups);
        await groups.commit(commitOf(name, groupId, [[0, 5]]));

        expect(await groups.delete(name, groupId, 2)).toBe(false);
        expect((await groups.read(name)).record).toBeDefined();
        expect(await groups.delete(name, groupId, 1)).toBe(true);

        expect(await groups.read(name)).toEqual({ record: undefined, members: [] });
        expect(await groups.readOffsets(name, 10)).toEqual([]);
        expect((await groups.list(10_000)).map((listed) => listed.name)).not.toContain(name);
      });
    });
  });
}
