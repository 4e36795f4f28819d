/**
 * Consumer group join, rejoin, heartbeat and leave as a Kafka consumer sees them, beside
 * group-membership.test.ts and group-service.test.ts: what a rejoin keeps and what it changes
 * (joinedAt kept, deadline from the new session timeout), when the group reads Stable or
 * Rebalancing, a heartbeat from an older generation told the current one, the member limit with a
 * rejoin at it, leaves that change nothing (unknown member, no group) and leaves that clean up
 * orphans, the refusals' fields, and a heartbeat that finds its member expired between the read and
 * the write. In-memory ports, manual clock.
 */
import { describe, expect, it } from 'vitest';
import { MemoryGroupStore } from '../../shared/adapters/memory/group-store.js';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import {
  FencedError,
  InvalidRequestError,
  LimitExceededError,
  TopicNotFoundError,
} from '../../shared/domain/errors.js';
import { GroupService } from '../../shared/domain/group-service.js';
import { LIMITS } from '../../shared/domain/limits.js';
import { LogService } from '../../shared/domain/log-service.js';
import { TopicService } from '../../shared/domain/topic-service.js';
import type { Liveness } from '../../shared/ports/group-store.js';
import { type ManualClock, manualClock } from '../support/manual-clock.js';

const START = 1_800_000_000_000;
const SESSION_MS = 10_000;

/** The in-memory store with a hook run before the next heartbeat write (a rival, or time passing). */
class HookedGroupStore extends MemoryGroupStore {
  beforeNextHeartbeat: (() => Promise<void> | void) | undefined;
  heartbeats = 0;

  override async heartbeat(group: string, liveness: Liveness, now: number): Promise<boolean> {
    this.heartbeats++;
    const hook = this.beforeNextHeartbeat;
    this.beforeNextHeartbeat = undefined;
    await hook?.();
    return super.heartbeat(group, liveness, now);
  }
}

async function world() {
  const clock: ManualClock = manualClock(START);
  const topics = new MemoryTopicStore();
  const partitionLog = new MemoryPartitionLog({ now: clock.now });
  const groups = new HookedGroupStore();
  const log = new LogService(topics, partitionLog, clock);
  const topicService = new TopicService(topics, partitionLog, clock);
  const service = new GroupService(groups, topics, partitionLog, log, clock);
  await topicService.create({ name: 't', partitions: 4 });
  await topicService.create({ name: 'u', partitions: 1 });
  await topicService.create({ name: 'w', partitions: 1 });
  return { clock, groups, topicService, service };
}

const join = (
  service: GroupService,
  topics: string[] = ['t'],
  memberId?: string,
  sessionTimeoutMs = SESSION_MS,
) => service.join('g', { topics, sessionTimeoutMs, ...(memberId ? { memberId } : {}) });

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

const memberOf = async (service: GroupService, memberId: string) =>
  (await service.describe('g')).members.find((m) => m.memberId === memberId);

describe('a rejoin', () => {
  it('keeps when the member joined, and counts its session from the rejoin with the new timeout', async () => {
    const { service, clock } = await world();
    const a = await join(service);
    clock.advance(5_000);

    const again = await join(service, ['t'], a.memberId, 20_000);

    expect(again).toMatchObject({ memberId: a.memberId, generation: 2, sessionTimeoutMs: 20_000 });
    expect(await memberOf(service, a.memberId)).toMatchObject({
      joinedAt: START,
      lastHeartbeat: START + 5_000,
      sessionTimeoutMs: 20_000,
    });
    clock.advance(20_000);
    await expect(service.heartbeat('g', a.memberId, 2)).resolves.toMatchObject({ generation: 2 });
    clock.advance(20_001);
    const gone = await rejection(service.heartbeat('g', a.memberId, 2));
    expect(gone).toMatchObject({ reason: 'unknown-member' });
  });

  it('with the same topics and timeout refreshes the deadline without a new generation', async () => {
    const { service, clock } = await world();
    const a = await join(service);
    clock.advance(SESSION_MS);

    const again = await join(service, ['t'], a.memberId);
    clock.advance(SESSION_MS);

    expect(again.generation).toBe(1);
    await expect(service.heartbeat('g', a.memberId, 1)).resolves.toMatchObject({ generation: 1 });
  });

  it('starts a new generation for as many topics when one differs, and for one more topic', async () => {
    const { service } = await world();
    const a = await join(service, ['t', 'u']);

    const swapped = await join(service, ['t', 'w'], a.memberId);
    const grown = await join(service, ['t', 'u', 'w'], a.memberId);

    expect(swapped.generation).toBe(2);
    expect(swapped.assignments.map((tp) => tp.topic)).toEqual(['t', 't', 't', 't', 'w']);
    expect(grown.generation).toBe(3);
    expect(grown.assignments.map((tp) => tp.topic)).toEqual(['t', 't', 't', 't', 'u', 'w']);
  });

  it('tells a rejoin under an id the group never had generation 0 when there is no group', async () => {
    const { service } = await world();

    const error = await rejection(join(service, ['t'], 'ghost'));

    expect(error).toBeInstanceOf(FencedError);
    expect(error).toMatchObject({ reason: 'unknown-member', generation: 0, memberId: 'ghost', group: 'g' });
    await expect(service.describe('g')).rejects.toThrow();
  });

  it('is taken at groupMembersMax live members, where a new member is refused with the limit named', async () => {
    const { service } = await world();
    const members = [];
    for (let i = 0; i < LIMITS.groupMembersMax; i++) members.push(await join(service));
    const first = members[0];
    if (!first) throw new Error('joined above');

    const again = await join(service, ['t', 'u'], first.memberId);
    const refused = await rejection(join(service));

    expect(again.generation).toBe(LIMITS.groupMembersMax + 1);
    expect(refused).toBeInstanceOf(LimitExceededError);
    expect(refused).toMatchObject({
      limit: 'groupMembers',
      value: LIMITS.groupMembersMax + 1,
      max: LIMITS.groupMembersMax,
    });
  });
});

describe('the group state a join leaves', () => {
  it('is Stable after the first join, Rebalancing after a second until the first heartbeats, then Stable', async () => {
    const { service } = await world();
    const a = await join(service);
    const afterFirst = await service.describe('g');
    const b = await join(service);
    const afterSecond = await service.describe('g');
    const told = await service.heartbeat('g', a.memberId, a.generation);
    const afterHeartbeat = await service.describe('g');

    expect(afterFirst.state).toBe('Stable');
    expect(afterSecond.state).toBe('Rebalancing');
    expect(told.generation).toBe(b.generation);
    expect(afterHeartbeat.state).toBe('Stable');
  });

  it('puts a new member in the group incarnation that exists: both are listed, and both commit', async () => {
    const { service } = await world();
    const a = await join(service);
    const b = await join(service);
    await service.heartbeat('g', a.memberId, b.generation);

    const described = await service.describe('g');

    expect(described.members.map((m) => m.memberId).sort()).toEqual([a.memberId, b.memberId].sort());
    const owned = b.assignments[0];
    if (!owned) throw new Error('two members, four partitions');
    await expect(
      service.commit('g', {
        memberId: b.memberId,
        generation: b.generation,
        offsets: [{ ...owned, offset: 0 }],
      }),
    ).resolves.toMatchObject({ generation: b.generation });
  });
});

describe('a heartbeat', () => {
  it('from an older generation is told the current generation and its new assignments', async () => {
    const { service } = await world();
    const a = await join(service);
    await join(service);

    const told = await service.heartbeat('g', a.memberId, 1);

    expect(told).toMatchObject({ memberId: a.memberId, generation: 2, sessionTimeoutMs: SESSION_MS });
    expect(told.assignments).toHaveLength(2);
  });

  it('from the current generation answers, one from the next is fenced with the current one named', async () => {
    const { service } = await world();
    await join(service);
    const b = await join(service);

    const current = await service.heartbeat('g', b.memberId, 2);
    const error = await rejection(service.heartbeat('g', b.memberId, 3));

    expect(current.generation).toBe(2);
    expect(error).toBeInstanceOf(FencedError);
    expect(error).toMatchObject({ reason: 'stale-generation', generation: 2, memberId: b.memberId });
  });

  it('of a member without a group is fenced as unknown with generation 0', async () => {
    const { service } = await world();

    const error = await rejection(service.heartbeat('g', 'ghost', 1));

    expect(error).toMatchObject({ reason: 'unknown-member', generation: 0 });
  });

  it('fails as unknown-member when the member expired and was removed between the read and the heartbeat write', async () => {
    const { service, groups, clock } = await world();
    const a = await join(service);
    const b = await join(service);
    clock.advance(SESSION_MS - 1);
    await service.heartbeat('g', b.memberId, 2);
    // Meanwhile its deadline passes and another request (here a describe) removes it.
    groups.beforeNextHeartbeat = async () => {
      clock.advance(2);
      await service.describe('g');
    };

    const error = await rejection(service.heartbeat('g', a.memberId, 2));

    expect(error).toBeInstanceOf(FencedError);
    expect(error).toMatchObject({ reason: 'unknown-member', generation: 3 });
    expect((await service.describe('g')).members.map((m) => m.memberId)).toEqual([b.memberId]);
  });
});

describe('a leave', () => {
  it('of a member that is not live, or from a group that does not exist, changes nothing', async () => {
    const { service } = await world();
    await service.leave('g', 'ghost');
    const a = await join(service);

    await service.leave('g', 'ghost');

    expect((await service.describe('g')).generation).toBe(1);
    await expect(service.heartbeat('g', a.memberId, 1)).resolves.toMatchObject({ generation: 1 });
  });

  it('fences the member that left, and gives its partitions to the others, keeping the group topics', async () => {
    const { service } = await world();
    const a = await join(service, ['t', 'u']);
    const b = await join(service, ['t', 'u']);

    await service.leave('g', b.memberId);

    const error = await rejection(service.heartbeat('g', b.memberId, 2));
    expect(error).toMatchObject({ reason: 'unknown-member', generation: 3 });
    const after = await service.heartbeat('g', a.memberId, 2);
    expect(after.generation).toBe(3);
    expect(after.assignments).toEqual([
      { topic: 't', partition: 0 },
      { topic: 't', partition: 1 },
      { topic: 't', partition: 2 },
      { topic: 't', partition: 3 },
      { topic: 'u', partition: 0 },
    ]);
  });

  it('of the last member leaves the group Empty, its offsets kept', async () => {
    const { service } = await world();
    const a = await join(service);
    await service.commit('g', {
      memberId: a.memberId,
      generation: 1,
      offsets: [{ topic: 't', partition: 0, offset: 0 }],
    });

    await service.leave('g', a.memberId);

    const described = await service.describe('g');
    expect(described).toMatchObject({ state: 'Empty', generation: 2, members: [] });
    expect(described.offsets[0]).toMatchObject({ partition: 0, committedOffset: 0 });
  });

  it('removes member items a crash left behind', async () => {
    const { service, groups, clock } = await world();
    const a = await join(service);
    const { record } = await groups.read('g');
    if (!record) throw new Error('joined above');
    const now = clock.now();
    await groups.writeMembership({
      expectedGeneration: record.generation,
      record,
      createMembers: [
        {
          memberId: 'orphan',
          groupId: record.groupId,
          topics: ['t'],
          sessionTimeoutMs: SESSION_MS,
          joinedAt: now,
          lastHeartbeat: now,
          deadline: now + SESSION_MS,
          seenGeneration: record.generation,
        },
      ],
      updateMembers: [],
      removeMembers: [],
      now,
    });

    await service.leave('g', a.memberId);

    expect((await groups.read('g')).members).toEqual([]);
  });
});

describe('join refusals', () => {
  it('names the field of an empty topic list and the limit past groupTopicsPerMemberMax', async () => {
    const { service } = await world();
    const many = Array.from({ length: LIMITS.groupTopicsPerMemberMax + 1 }, (_, i) => `t${i}`);

    const none = await rejection(join(service, []));
    const tooMany = await rejection(join(service, many));

    expect(none).toBeInstanceOf(InvalidRequestError);
    expect(none).toMatchObject({ field: 'topics' });
    expect(tooMany).toMatchObject({
      limit: 'groupTopicsPerMember',
      value: LIMITS.groupTopicsPerMemberMax + 1,
      max: LIMITS.groupTopicsPerMemberMax,
    });
  });

  it('fails for a topic that does not exist among existing ones, and creates no group', async () => {
    const { service } = await world();

    const error = await rejection(join(service, ['t', 'absent']));

    expect(error).toBeInstanceOf(TopicNotFoundError);
    expect(await service.list()).toEqual([]);
  });
});

describe('a heartbeat after one of several subscribed topics changed', () => {
  it('starts a new generation when one of two topics was deleted and created again, the other unchanged', async () => {
    const { service, topicService } = await world();
    const a = await join(service, ['t', 'u']);
    await topicService.delete('u');
    await topicService.create({ name: 'u', partitions: 1 });

    const after = await service.heartbeat('g', a.memberId, a.generation);

    expect(after.generation).toBe(2);
  });

  it('starts a new generation when one topic came back and another went, as many topics as before', async () => {
    const { service, topicService } = await world();
    const a = await join(service, ['t', 'u', 'w']);
    await topicService.delete('w');
    const withoutW = await service.heartbeat('g', a.memberId, a.generation);
    await topicService.create({ name: 'w', partitions: 2 });
    await topicService.delete('u');

    const after = await service.heartbeat('g', a.memberId, withoutW.generation);

    expect(withoutW.generation).toBe(2);
    expect(after.generation).toBe(3);
    expect(after.assignments.map((tp) => `${tp.topic}-${tp.partition}`)).toEqual([
      't-0',
      't-1',
      't-2',
      't-3',
      'w-0',
      'w-1',
    ]);
  });

  it('writes no member item of its own when it starts the new generation', async () => {
    const { service, topicService, groups } = await world();
    const a = await join(service, ['t', 'u']);
    await topicService.delete('u');

    await service.heartbeat('g', a.memberId, a.generation);

    expect((await groups.read('g')).members.map((m) => m.memberId)).toEqual([a.memberId]);
  });
});
