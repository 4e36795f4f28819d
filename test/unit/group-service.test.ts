/**
 * GroupService on the in-memory ports with a manual clock: session deadlines from both sides,
 * generation and ownership fences on commits, commit bounds (never above the high watermark,
 * never backwards), resets and deletion only while the group is empty (README guarantees 5 and 6).
 */
import { describe, expect, it } from 'vitest';
import { MemoryGroupStore } from '../../shared/adapters/memory/group-store.js';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import {
  FencedError,
  GroupNotEmptyError,
  GroupNotFoundError,
  InvalidCommitOffsetError,
  InvalidRequestError,
  LimitExceededError,
  OffsetRegressionError,
  PartitionNotFoundError,
  TopicNotFoundError,
} from '../../shared/domain/errors.js';
import { GroupService } from '../../shared/domain/group-service.js';
import { LIMITS } from '../../shared/domain/limits.js';
import { LogService } from '../../shared/domain/log-service.js';
import { TopicService } from '../../shared/domain/topic-service.js';
import { manualClock } from '../support/manual-clock.js';

const START = 1_800_000_000_000;
const SESSION_MS = 10_000;

/** The in-memory store, able to report a membership write as failed after applying it (a timeout). */
class LossyGroupStore extends MemoryGroupStore {
  reportNextWriteLost = false;

  override async writeMembership(
    change: Parameters<MemoryGroupStore['writeMembership']>[0],
  ): Promise<boolean> {
    const applied = await super.writeMembership(change);
    if (!this.reportNextWriteLost) return applied;
    this.reportNextWriteLost = false;
    return false;
  }
}

async function world() {
  const clock = manualClock(START);
  const topics = new MemoryTopicStore();
  const partitionLog = new MemoryPartitionLog({ now: clock.now });
  const groups = new LossyGroupStore();
  const log = new LogService(topics, partitionLog, clock);
  const topicService = new TopicService(topics, partitionLog, clock);
  const service = new GroupService(groups, topics, partitionLog, log, clock);
  await topicService.create({ name: 't', partitions: 2 });
  const value = { type: 'STRING' as const, bytes: new Uint8Array([1]) };
  await log.produce(
    't',
    [0, 0, 0, 0, 0, 1, 1].map((partition) => ({ key: null, value, headers: [], partition })),
  );
  return { clock, topics, groups, log, topicService, service };
}

const join = (service: GroupService, memberId?: string) =>
  service.join('g', { topics: ['t'], sessionTimeoutMs: SESSION_MS, ...(memberId ? { memberId } : {}) });

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('GroupService membership', () => {
  it('gives the first member every partition in generation 1', async () => {
    const { service } = await world();

    const joined = await join(service);

    expect(joined).toMatchObject({ generation: 1, sessionTimeoutMs: SESSION_MS });
    expect(joined.assignments).toEqual([
      { topic: 't', partition: 0 },
      { topic: 't', partition: 1 },
    ]);
  });

  it('starts a new generation for a second member and splits the partitions', async () => {
    const { service } = await world();
    const a = await join(service);

    const b = await join(service);
    const aAgain = await service.heartbeat('g', a.memberId, a.generation);

    expect(b.generation).toBe(2);
    expect(aAgain.generation).toBe(2);
    expect([...aAgain.assignments, ...b.assignments].map((tp) => tp.partition).sort()).toEqual([0, 1]);
    expect(aAgain.assignments).toHaveLength(1);
  });

  it('keeps a member alive at its very deadline, and expires it a millisecond later', async () => {
    const { service, clock } = await world();
    const a = await join(service);
    clock.advance(SESSION_MS);

    const alive = await service.heartbeat('g', a.memberId, a.generation);
    clock.advance(SESSION_MS + 1);
    const gone = await rejection(service.heartbeat('g', a.memberId, a.generation));

    expect(alive.generation).toBe(1);
    expect(gone).toBeInstanceOf(FencedError);
    expect((gone as FencedError).reason).toBe('unknown-member');
  });

  it('hands an expired member partitions to the live ones in a new generation', async () => {
    const { service, clock } = await world();
    const a = await join(service);
    const b = await join(service);
    clock.advance(SESSION_MS - 1);
    await service.heartbeat('g', b.memberId, b.generation);
    clock.advance(2);

    const after = await service.heartbeat('g', b.memberId, b.generation);

    expect(after.generation).toBe(3);
    expect(after.assignments).toHaveLength(2);
    await expect(service.heartbeat('g', a.memberId, 2)).rejects.toBeInstanceOf(FencedError);
  });

  it('refuses a heartbeat from a generation that does not exist yet', async () => {
    const { service } = await world();
    const a = await join(service);

    const error = await rejection(service.heartbeat('g', a.memberId, 2));

    expect((error as FencedError).reason).toBe('stale-generation');
  });

  it('refuses a rejoin with the id of a member that is not live', async () => {
    const { service } = await world();

    const error = await rejection(join(service, 'never-joined'));

    expect((error as FencedError).reason).toBe('unknown-member');
  });

  it('fails to join a topic that does not exist', async () => {
    const { service } = await world();

    await expect(service.join('g', { topics: ['absent'] })).rejects.toBeInstanceOf(TopicNotFoundError);
  });

  it('treats a rejoin with the same topics and timeout as a heartbeat', async () => {
    const { service } = await world();
    const a = await join(service);

    const again = await join(service, a.memberId);

    expect(again).toEqual(a);
  });

  it('lets a member leave at once, its partitions going to the others', async () => {
    const { service } = await world();
    const a = await join(service);
    const b = await join(service);

    await service.leave('g', a.memberId);
    const after = await service.heartbeat('g', b.memberId, b.generation);

    expect(after.generation).toBe(3);
    expect(after.assignments).toHaveLength(2);
    await expect(service.leave('g', a.memberId)).resolves.toBeUndefined();
  });

  it('starts a new generation when a subscribed topic gains partitions', async () => {
    const { service, topicService } = await world();
    const a = await join(service);
    await topicService.update('t', { partitions: 3 });

    const after = await service.heartbeat('g', a.memberId, a.generation);

    expect(after.generation).toBe(2);
    expect(after.assignments.map((tp) => tp.partition)).toEqual([0, 1, 2]);
  });
});

describe('GroupService.join limits and settings', () => {
  it('fails for no topics or too many, before reading any', async () => {
    const { service } = await world();
    const many = Array.from({ length: LIMITS.groupTopicsPerMemberMax + 1 }, (_, i) => `t${i}`);

    await expect(service.join('g', { topics: [] })).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(service.join('g', { topics: many })).rejects.toBeInstanceOf(LimitExceededError);
  });

  it('subscribes each topic once, and uses the default session timeout when none is given', async () => {
    const { service } = await world();

    const joined = await service.join('g', { topics: ['t', 't'] });

    expect(joined.sessionTimeoutMs).toBe(LIMITS.sessionTimeoutMsDefault);
    expect((await service.describe('g')).members[0]?.topics).toEqual(['t']);
  });

  it('refuses a session timeout outside its bounds', async () => {
    const { service } = await world();

    for (const sessionTimeoutMs of [
      LIMITS.sessionTimeoutMsMin - 1,
      LIMITS.sessionTimeoutMsMax + 1,
      1_500.5,
    ]) {
      await expect(service.join('g', { topics: ['t'], sessionTimeoutMs })).rejects.toBeInstanceOf(
        InvalidRequestError,
      );
    }
    await expect(
      service.join('g', { topics: ['t'], sessionTimeoutMs: LIMITS.sessionTimeoutMsMin }),
    ).resolves.toMatchObject({
      generation: 1,
    });
  });

  it('starts a new generation when a member rejoins with another session timeout', async () => {
    const { service } = await world();
    const a = await join(service);

    const again = await service.join('g', { topics: ['t'], memberId: a.memberId, sessionTimeoutMs: 20_000 });

    expect(again).toMatchObject({ memberId: a.memberId, generation: 2, sessionTimeoutMs: 20_000 });
  });

  it('refuses a member past groupMembersMax', async () => {
    const { service } = await world();
    for (let i = 0; i < LIMITS.groupMembersMax; i++) await join(service);

    await expect(join(service)).rejects.toBeInstanceOf(LimitExceededError);
  });

  it('joins once when a write whose outcome was unknown had landed', async () => {
    const { service, groups } = await world();
    groups.reportNextWriteLost = true;

    const joined = await join(service);

    expect(joined.generation).toBe(1);
    expect((await service.describe('g')).members.map((m) => m.memberId)).toEqual([joined.memberId]);
  });

  it('describes the group: state, members and lag', async () => {
    const { service, clock } = await world();
    const a = await join(service);
    const stable = await service.describe('g');
    await join(service);
    const rebalancing = await service.describe('g');
    clock.advance(SESSION_MS + 1);
    const empty = await service.describe('g');

    expect(stable).toMatchObject({ group: 'g', state: 'Stable', generation: 1, createdAt: START });
    expect(stable.members).toEqual([
      {
        memberId: a.memberId,
        topics: ['t'],
        sessionTimeoutMs: SESSION_MS,
        joinedAt: START,
        lastHeartbeat: START,
        assignments: a.assignments,
      },
    ]);
    expect(stable.offsets[0]).toEqual({
      topic: 't',
      partition: 0,
      committedOffset: null,
      highWatermark: 5,
      lag: null,
      metadata: null,
    });
    expect(rebalancing.state).toBe('Rebalancing');
    expect(empty).toMatchObject({ state: 'Empty', members: [] });
    expect(await service.list()).toEqual([{ name: 'g', createdAt: START }]);
  });
});

describe('GroupService.commit', () => {
  it('commits offsets of owned partitions in the current generation', async () => {
    const { service } = await world();
    const a = await join(service);

    const result = await service.commit('g', {
      memberId: a.memberId,
      generation: 1,
      offsets: [
        { topic: 't', partition: 0, offset: 3, metadata: 'm' },
        { topic: 't', partition: 1, offset: 2 },
      ],
    });

    expect(result).toEqual({
      generation: 1,
      offsets: [
        { topic: 't', partition: 0, offset: 3 },
        { topic: 't', partition: 1, offset: 2 },
      ],
    });
    const described = await service.describe('g');
    expect(described.offsets).toEqual([
      { topic: 't', partition: 0, committedOffset: 3, highWatermark: 5, lag: 2, metadata: 'm' },
      { topic: 't', partition: 1, committedOffset: 2, highWatermark: 2, lag: 0, metadata: null },
    ]);
  });

  it('fences a commit of a stale generation, and writes nothing', async () => {
    const { service } = await world();
    const a = await join(service);
    await join(service);

    const error = await rejection(
      service.commit('g', {
        memberId: a.memberId,
        generation: 1,
        offsets: [{ topic: 't', partition: 0, offset: 1 }],
      }),
    );

    expect(error).toBeInstanceOf(FencedError);
    expect((error as FencedError).reason).toBe('stale-generation');
    expect((await service.describe('g')).offsets.every((o) => o.committedOffset === null)).toBe(true);
  });

  it('fences a commit of a partition the member does not own', async () => {
    const { service } = await world();
    const a = await join(service);
    const b = await join(service);
    const aNow = await service.heartbeat('g', a.memberId, 2);
    const notOwned = b.assignments[0]?.partition ?? -1;

    const error = await rejection(
      service.commit('g', {
        memberId: aNow.memberId,
        generation: 2,
        offsets: [{ topic: 't', partition: notOwned, offset: 1 }],
      }),
    );

    expect((error as FencedError).reason).toBe('not-owner');
  });

  it('fences a commit of a member past its deadline, and accepts one at it', async () => {
    const { service, clock } = await world();
    const a = await join(service);
    const commit = () =>
      service.commit('g', {
        memberId: a.memberId,
        generation: 1,
        offsets: [{ topic: 't', partition: 0, offset: 1 }],
      });
    clock.advance(SESSION_MS);

    await expect(commit()).resolves.toMatchObject({ generation: 1 });
    clock.advance(SESSION_MS + 1);
    const error = await rejection(commit());

    expect((error as FencedError).reason).toBe('unknown-member');
  });

  it('counts a commit as a heartbeat', async () => {
    const { service, clock } = await world();
    const a = await join(service);
    clock.advance(SESSION_MS - 1);
    await service.commit('g', {
      memberId: a.memberId,
      generation: 1,
      offsets: [{ topic: 't', partition: 0, offset: 1 }],
    });
    clock.advance(SESSION_MS - 1);

    await expect(service.heartbeat('g', a.memberId, 1)).resolves.toMatchObject({ generation: 1 });
  });

  it('accepts an offset at the high watermark and refuses one above it', async () => {
    const { service } = await world();
    const a = await join(service);
    const commit = (offset: number) =>
      service.commit('g', {
        memberId: a.memberId,
        generation: 1,
        offsets: [{ topic: 't', partition: 0, offset }],
      });

    await expect(commit(5)).resolves.toMatchObject({ offsets: [{ offset: 5 }] });
    await expect(commit(6)).rejects.toBeInstanceOf(InvalidCommitOffsetError);
    await expect(commit(-1)).rejects.toBeInstanceOf(InvalidCommitOffsetError);
    await expect(commit(1.5)).rejects.toBeInstanceOf(InvalidCommitOffsetError);
  });

  it('never moves a committed offset back, and commits the same offset again', async () => {
    const { service } = await world();
    const a = await join(service);
    const commit = (offset: number) =>
      service.commit('g', {
        memberId: a.memberId,
        generation: 1,
        offsets: [{ topic: 't', partition: 0, offset }],
      });
    await commit(4);

    await expect(commit(3)).rejects.toBeInstanceOf(OffsetRegressionError);
    await expect(commit(4)).resolves.toMatchObject({ offsets: [{ offset: 4 }] });
    expect((await service.describe('g')).offsets[0]?.committedOffset).toBe(4);
  });

  it('lets a standalone consumer commit only while the group has no live member', async () => {
    const { service, clock } = await world();
    const standalone = () => service.commit('g', { offsets: [{ topic: 't', partition: 1, offset: 2 }] });

    await expect(standalone()).resolves.toEqual({
      generation: 0,
      offsets: [{ topic: 't', partition: 1, offset: 2 }],
    });
    await join(service);
    await expect(standalone()).rejects.toBeInstanceOf(GroupNotEmptyError);
    clock.advance(SESSION_MS + 1);
    await expect(standalone()).resolves.toMatchObject({ generation: 2 });
  });

  it('fails for malformed commits before touching the group', async () => {
    const { service } = await world();

    await expect(service.commit('g', { memberId: 'm', offsets: [] })).rejects.toBeInstanceOf(
      InvalidRequestError,
    );
    await expect(service.commit('g', { offsets: [] })).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(
      service.commit('g', {
        offsets: [
          { topic: 't', partition: 0, offset: 1 },
          { topic: 't', partition: 0, offset: 2 },
        ],
      }),
    ).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(
      service.commit('g', {
        offsets: Array.from({ length: LIMITS.commitOffsetsPerRequestMax + 1 }, (_, partition) => ({
          topic: 't',
          partition,
          offset: 0,
        })),
      }),
    ).rejects.toThrow(/at most/);
    expect(await service.list()).toEqual([]);
  });
});

describe('GroupService.commit fences and bounds, in detail', () => {
  it('names the field a malformed commit gets wrong', async () => {
    const { service } = await world();
    const offsets = [{ topic: 't', partition: 0, offset: 1 }];
    const field = async (input: Parameters<GroupService['commit']>[1]) =>
      ((await rejection(service.commit('g', input))) as InvalidRequestError).field;

    expect(await field({ memberId: 'm', offsets })).toBe('generation');
    expect(await field({ generation: 1, offsets })).toBe('memberId');
    expect(await field({ offsets: [] })).toBe('offsets');
    expect(await field({ offsets: [...offsets, ...offsets] })).toBe('offsets[1]');
  });

  it('takes commitOffsetsPerRequestMax offsets in one commit, and names the limit past it', async () => {
    const { service } = await world();
    const offsets = (count: number) =>
      Array.from({ length: count }, (_, partition) => ({ topic: 't', partition, offset: 0 }));

    await expect(
      service.commit('g', { offsets: offsets(LIMITS.commitOffsetsPerRequestMax) }),
    ).rejects.toBeInstanceOf(PartitionNotFoundError);
    const error = await rejection(
      service.commit('g', { offsets: offsets(LIMITS.commitOffsetsPerRequestMax + 1) }),
    );
    expect((error as LimitExceededError).limit).toBe('commitOffsetsPerRequest');
  });

  it('fences a commit in the name of a member that is not live, while another is', async () => {
    const { service } = await world();
    await join(service);

    const error = await rejection(
      service.commit('g', {
        memberId: 'ghost',
        generation: 1,
        offsets: [{ topic: 't', partition: 0, offset: 1 }],
      }),
    );

    expect(error).toMatchObject({ reason: 'unknown-member', generation: 1 });
  });

  it('fences a member commit to a group that does not exist', async () => {
    const { service } = await world();

    const error = await rejection(
      service.commit('g', {
        memberId: 'ghost',
        generation: 1,
        offsets: [{ topic: 't', partition: 0, offset: 1 }],
      }),
    );

    expect(error).toMatchObject({ reason: 'unknown-member', generation: 0 });
  });

  it('tells an unknown member the current generation, or 0 without a group', async () => {
    const { service } = await world();

    expect(await rejection(service.heartbeat('g', 'ghost', 0))).toMatchObject({
      reason: 'unknown-member',
      generation: 0,
    });
    await join(service);
    await join(service);
    expect(await rejection(service.heartbeat('g', 'ghost', 0))).toMatchObject({
      reason: 'unknown-member',
      generation: 2,
    });
  });

  it('accepts offset 0 and fails for a topic that does not exist', async () => {
    const { service } = await world();

    await expect(
      service.commit('g', { offsets: [{ topic: 't', partition: 0, offset: 0 }] }),
    ).resolves.toMatchObject({
      offsets: [{ offset: 0 }],
    });
    await expect(
      service.commit('g', { offsets: [{ topic: 'absent', partition: 0, offset: 0 }] }),
    ).rejects.toBeInstanceOf(TopicNotFoundError);
  });

  it('answers the offsets of several topics in the order of the request', async () => {
    const { service, topicService } = await world();
    await topicService.create({ name: 'u', partitions: 1 });

    const result = await service.commit('g', {
      offsets: [
        { topic: 't', partition: 1, offset: 1 },
        { topic: 'u', partition: 0, offset: 0 },
        { topic: 't', partition: 0, offset: 2 },
      ],
    });

    expect(result.offsets.map((o) => `${o.topic}-${o.partition}`)).toEqual(['t-1', 'u-0', 't-0']);
  });

  it('resets every partition to its high watermark for latest', async () => {
    const { service } = await world();

    const latest = await service.reset('g', { topic: 't', to: { kind: 'latest' } });

    expect(latest.offsets.map((o) => o.offset)).toEqual([5, 2]);
  });
});

describe('GroupService.reset and delete', () => {
  it('moves offsets anywhere, backwards too, clamped to the log, while the group is empty', async () => {
    const { service } = await world();
    await service.commit('g', { offsets: [{ topic: 't', partition: 0, offset: 5 }] });

    const earliest = await service.reset('g', { topic: 't', to: { kind: 'earliest' } });
    const latest = await service.reset('g', { topic: 't', to: { kind: 'latest' }, partitions: [1] });
    const clamped = await service.reset('g', {
      topic: 't',
      to: { kind: 'offset', offset: 99 },
      partitions: [0],
    });
    const below = await service.reset('g', {
      topic: 't',
      to: { kind: 'offset', offset: -5 },
      partitions: [0],
    });

    expect(earliest.offsets.map((o) => o.offset)).toEqual([0, 0]);
    expect(latest.offsets).toEqual([{ topic: 't', partition: 1, offset: 2 }]);
    expect(clamped.offsets).toEqual([{ topic: 't', partition: 0, offset: 5 }]);
    expect(below.offsets).toEqual([{ topic: 't', partition: 0, offset: 0 }]);
  });

  it('resets to the first offset at or after a timestamp', async () => {
    const { service, log } = await world();
    const value = { type: 'STRING' as const, bytes: new Uint8Array([2]) };
    await log.produce('t', [{ key: null, value, headers: [], partition: 0, timestamp: START + 50_000 }]);

    const reset = await service.reset('g', {
      topic: 't',
      to: { kind: 'timestamp', timestamp: START + 1 },
      partitions: [0],
    });

    expect(reset.offsets).toEqual([{ topic: 't', partition: 0, offset: 5 }]);
  });

  it('refuses a reset or a deletion while a member is live', async () => {
    const { service } = await world();
    await join(service);

    await expect(service.reset('g', { topic: 't', to: { kind: 'earliest' } })).rejects.toBeInstanceOf(
      GroupNotEmptyError,
    );
    await expect(service.delete('g')).rejects.toBeInstanceOf(GroupNotEmptyError);
  });

  it('deletes an empty group with its offsets, then finds it gone', async () => {
    const { service, clock } = await world();
    const a = await join(service);
    await service.commit('g', {
      memberId: a.memberId,
      generation: 1,
      offsets: [{ topic: 't', partition: 0, offset: 2 }],
    });
    clock.advance(SESSION_MS + 1);

    await service.delete('g');

    expect(await service.list()).toEqual([]);
    await expect(service.delete('g')).rejects.toBeInstanceOf(GroupNotFoundError);
    const again = await join(service);
    expect(again.generation).toBe(1);
    expect((await service.describe('g')).offsets.every((o) => o.committedOffset === null)).toBe(true);
  });
});
