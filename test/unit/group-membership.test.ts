/**
 * Consumer group membership on the in-memory ports with a manual clock, beside
 * group-service.test.ts: the topics a member subscribes to, when a rejoin or a heartbeat starts a
 * new generation (other topics; a subscribed topic deleted, or deleted and created again), a join
 * that loses the race to another, and the bounded retries when the group keeps changing.
 */
import { describe, expect, it } from 'vitest';
import { MemoryGroupStore } from '../../shared/adapters/memory/group-store.js';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import { FencedError, RetryableError } from '../../shared/domain/errors.js';
import { GroupService } from '../../shared/domain/group-service.js';
import { LIMITS } from '../../shared/domain/limits.js';
import { LogService } from '../../shared/domain/log-service.js';
import { TopicService } from '../../shared/domain/topic-service.js';
import type { MembershipChange } from '../../shared/ports/group-store.js';
import { manualClock } from '../support/manual-clock.js';

const SESSION_MS = 10_000;

/**
 * The in-memory store with a hook before the next membership write, a switch that refuses them all,
 * and a deletion reported lost after it applied.
 */
class ContendedGroupStore extends MemoryGroupStore {
  beforeNextMembershipWrite: (() => Promise<void>) | undefined;
  refuseAll = false;
  membershipWrites = 0;
  /** Applies the next deletion but reports it as not applied (a timeout after the write). */
  reportNextDeleteLost = false;

  override async delete(group: string, groupId: string, generation: number): Promise<boolean> {
    const applied = await super.delete(group, groupId, generation);
    if (!this.reportNextDeleteLost) return applied;
    this.reportNextDeleteLost = false;
    return false;
  }

  override async writeMembership(change: MembershipChange): Promise<boolean> {
    this.membershipWrites++;
    const hook = this.beforeNextMembershipWrite;
    this.beforeNextMembershipWrite = undefined;
    await hook?.();
    if (this.refuseAll) return false;
    return super.writeMembership(change);
  }
}

async function world() {
  const clock = manualClock(1_800_000_000_000);
  const topics = new MemoryTopicStore();
  const partitionLog = new MemoryPartitionLog({ now: clock.now });
  const groups = new ContendedGroupStore();
  const log = new LogService(topics, partitionLog, clock);
  const topicService = new TopicService(topics, partitionLog, clock);
  const service = new GroupService(groups, topics, partitionLog, log, clock);
  await topicService.create({ name: 't', partitions: 2 });
  await topicService.create({ name: 'u', partitions: 1 });
  return { clock, groups, topicService, service };
}

const join = (service: GroupService, topics: string[], memberId?: string) =>
  service.join('g', { topics, sessionTimeoutMs: SESSION_MS, ...(memberId ? { memberId } : {}) });

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('the topics of a member', () => {
  it('subscribes each topic once, in name order', async () => {
    const { service } = await world();

    await join(service, ['u', 't', 'u']);

    expect((await service.describe('g')).members[0]?.topics).toEqual(['t', 'u']);
  });

  it('takes groupTopicsPerMemberMax topics', async () => {
    const { service, topicService } = await world();
    const names = Array.from({ length: LIMITS.groupTopicsPerMemberMax }, (_, i) => `topic-${i}`);
    for (const name of names) await topicService.create({ name, partitions: 1 });

    const joined = await join(service, names);

    expect(joined.assignments).toHaveLength(LIMITS.groupTopicsPerMemberMax);
  });

  it('starts a new generation when a member rejoins with as many other topics', async () => {
    const { service } = await world();
    const a = await join(service, ['t']);

    const again = await join(service, ['u'], a.memberId);

    expect(again.generation).toBe(2);
    expect(again.assignments).toEqual([{ topic: 'u', partition: 0 }]);
  });

  it('tells a rejoin under an unknown id the current generation', async () => {
    const { service } = await world();
    await join(service, ['t']);
    await join(service, ['t']);

    const error = await rejection(join(service, ['t'], 'ghost'));

    expect(error).toBeInstanceOf(FencedError);
    expect(error).toMatchObject({ reason: 'unknown-member', generation: 2 });
  });
});

describe('a heartbeat after a subscribed topic changed', () => {
  it('starts a new generation without the partitions of a deleted topic', async () => {
    const { service, topicService } = await world();
    const a = await join(service, ['t', 'u']);
    await topicService.delete('u');

    const after = await service.heartbeat('g', a.memberId, a.generation);

    expect(after.generation).toBe(2);
    expect(after.assignments.map((tp) => tp.topic)).toEqual(['t', 't']);
  });

  it('starts a new generation when a topic was deleted and created again with as many partitions', async () => {
    const { service, topicService } = await world();
    const a = await join(service, ['u']);
    await topicService.delete('u');
    await topicService.create({ name: 'u', partitions: 1 });

    const after = await service.heartbeat('g', a.memberId, a.generation);

    expect(after.generation).toBe(2);
    expect(after.assignments).toEqual([{ topic: 'u', partition: 0 }]);
  });
});

describe('joins and leaves that race', () => {
  it('joins in the next generation when another join got there first', async () => {
    const { service, groups } = await world();
    let rival: Awaited<ReturnType<typeof join>> | undefined;
    groups.beforeNextMembershipWrite = async () => {
      rival = await join(service, ['t']);
    };

    const mine = await join(service, ['t']);

    expect(rival?.generation).toBe(1);
    expect(mine.generation).toBe(2);
    const described = await service.describe('g');
    expect(described.members.map((m) => m.memberId).sort()).toEqual([mine.memberId, rival?.memberId].sort());
    await expect(service.heartbeat('g', mine.memberId, 2)).resolves.toMatchObject({ generation: 2 });
  });

  it('leaves when another join changed the group first', async () => {
    const { service, groups } = await world();
    const a = await join(service, ['t']);
    groups.beforeNextMembershipWrite = async () => {
      await join(service, ['t']);
    };

    await service.leave('g', a.memberId);

    const described = await service.describe('g');
    expect(described.members.map((m) => m.memberId)).not.toContain(a.memberId);
    expect(described.generation).toBe(3);
  });

  it('gives up as retryable after groupWriteAttemptsMax refused writes', async () => {
    const { service, groups } = await world();
    groups.refuseAll = true;

    const error = await rejection(join(service, ['t']));

    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ reason: 'contention' });
    expect(groups.membershipWrites).toBe(LIMITS.groupWriteAttemptsMax);
  });

  it('gives up as retryable when the removal of an expired member is refused groupWriteAttemptsMax times', async () => {
    const { service, groups, clock } = await world();
    await join(service, ['t']);
    clock.advance(SESSION_MS + 1);
    groups.refuseAll = true;
    groups.membershipWrites = 0;

    const error = await rejection(service.describe('g'));

    expect(error).toBeInstanceOf(RetryableError);
    expect(groups.membershipWrites).toBe(LIMITS.groupWriteAttemptsMax);
  });
});

describe('a group deletion whose outcome was unknown', () => {
  it('answers deleted when the deletion had landed', async () => {
    const { service, groups } = await world();
    await service.commit('g', { offsets: [{ topic: 't', partition: 0, offset: 0 }] });
    groups.reportNextDeleteLost = true;

    await service.delete('g');

    expect(await service.list()).toEqual([]);
  });
});

describe('member items the group record does not list, and listed members without an item', () => {
  it('never counts a member item left behind by a crash, and removes it with the next membership write', async () => {
    const { service, groups, clock } = await world();
    const a = await join(service, ['t']);
    const { record } = await groups.read('g');
    if (!record) throw new Error('joined above');
    const now = clock.now();
    // A crash between writes: a member item the record does not list.
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

    const described = await service.describe('g');
    const b = await join(service, ['t']);

    expect(described.members.map((m) => m.memberId)).toEqual([a.memberId]);
    expect(described.generation).toBe(1);
    expect(b.generation).toBe(2);
    const after = await groups.read('g');
    expect(after.members.map((m) => m.memberId).sort()).toEqual([a.memberId, b.memberId].sort());
  });

  it('counts a listed member without an item as gone: a new generation gives its partitions away', async () => {
    const { service, groups, clock } = await world();
    const a = await join(service, ['t']);
    const { record } = await groups.read('g');
    if (!record) throw new Error('joined above');
    const [first, ...rest] = record.assignments[a.memberId] ?? [];
    await groups.writeMembership({
      expectedGeneration: record.generation,
      record: {
        ...record,
        generation: record.generation + 1,
        assignments: { [a.memberId]: rest, ghost: first ? [first] : [] },
      },
      createMembers: [],
      updateMembers: [],
      removeMembers: [],
      now: clock.now(),
    });

    const after = await service.heartbeat('g', a.memberId, 2);

    expect(after.generation).toBe(3);
    expect(after.assignments).toHaveLength(2);
    expect((await service.describe('g')).members.map((m) => m.memberId)).toEqual([a.memberId]);
  });
});

describe('the partitions of a group', () => {
  it('takes groupPartitionsMax partitions and refuses a join that would assign one more', async () => {
    const { service, topicService } = await world();
    // 't' (2) and 'u' (1) exist: fill up to the limit with topics of partitionsMax partitions.
    const full = LIMITS.groupPartitionsMax - 3;
    const names: string[] = [];
    for (let left = full, i = 0; left > 0; i++) {
      const partitions = Math.min(left, LIMITS.partitionsMax);
      await topicService.create({ name: `big-${i}`, partitions });
      names.push(`big-${i}`);
      left -= partitions;
    }
    await topicService.create({ name: 'one-more', partitions: 1 });

    const joined = await join(service, ['t', 'u', ...names]);
    const error = await rejection(join(service, ['t', 'u', 'one-more', ...names]));

    expect(joined.assignments).toHaveLength(LIMITS.groupPartitionsMax);
    expect(error).toMatchObject({
      limit: 'groupPartitions',
      value: LIMITS.groupPartitionsMax + 1,
      max: LIMITS.groupPartitionsMax,
    });
  });
});
