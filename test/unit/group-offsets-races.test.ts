/**
 * Commits and resets of a consumer group when another request gets between the reads and the
 * write (README guarantees 5 and 6): a rival standalone consumer creates the group first, a commit
 * answered `unknown` after it landed (a DynamoDB timeout), the committed offset moved or the group
 * deleted between a regression report and its read. The in-memory store never races or times out
 * by itself, so a wrapper around it runs the rival's request at the moment named.
 */
import { describe, expect, it } from 'vitest';
import { MemoryGroupStore } from '../../shared/adapters/memory/group-store.js';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import { OffsetRegressionError, TopicNotFoundError } from '../../shared/domain/errors.js';
import { GroupService } from '../../shared/domain/group-service.js';
import { LogService } from '../../shared/domain/log-service.js';
import { TopicService } from '../../shared/domain/topic-service.js';
import type { CommitOutcome, MembershipChange, OffsetCommit } from '../../shared/ports/group-store.js';
import { manualClock } from '../support/manual-clock.js';

const START = 1_800_000_000_000;

type Hook = (() => Promise<void>) | undefined;

/** The in-memory store with one-shot hooks that let a rival request in at a chosen moment. */
class RacingGroupStore extends MemoryGroupStore {
  /** Runs once before the next membership write is applied. */
  beforeNextMembershipWrite: Hook;
  /** Applies the next commit, runs this hook, then answers `unknown` (a timeout after the write). */
  afterNextCommitLost: Hook;
  /** Runs once before the next read of one committed offset. */
  beforeNextReadOffset: Hook;
  commitCalls = 0;

  override async writeMembership(change: MembershipChange): Promise<boolean> {
    await take(this, 'beforeNextMembershipWrite');
    return super.writeMembership(change);
  }

  override async commit(commit: OffsetCommit): Promise<CommitOutcome> {
    this.commitCalls++;
    const lost = this.afterNextCommitLost;
    this.afterNextCommitLost = undefined;
    const outcome = await super.commit(commit);
    if (!lost) return outcome;
    await lost();
    return { kind: 'unknown' };
  }

  override async readOffset(group: string, topic: string, partition: number) {
    await take(this, 'beforeNextReadOffset');
    return super.readOffset(group, topic, partition);
  }
}

/** Runs and clears a one-shot hook (cleared first, so the rival's own calls pass through). */
async function take(
  store: RacingGroupStore,
  name: 'beforeNextMembershipWrite' | 'beforeNextReadOffset',
): Promise<void> {
  const hook = store[name];
  store[name] = undefined;
  await hook?.();
}

async function world() {
  const clock = manualClock(START);
  const topics = new MemoryTopicStore();
  const partitionLog = new MemoryPartitionLog({ now: clock.now });
  const groups = new RacingGroupStore();
  const log = new LogService(topics, partitionLog, clock);
  const service = new GroupService(groups, topics, partitionLog, log, clock);
  const topicService = new TopicService(topics, partitionLog, clock);
  await topicService.create({ name: 't', partitions: 2 });
  const value = { type: 'STRING' as const, bytes: new Uint8Array([1]) };
  await log.produce(
    't',
    Array.from({ length: 8 }, () => ({ key: null, value, headers: [], partition: 0 })),
  );
  return { clock, groups, service, topicService };
}

const at = (offset: number) => ({ offsets: [{ topic: 't', partition: 0, offset }] });

const committedOffset = async (service: GroupService) =>
  (await service.describe('g')).offsets.find((o) => o.partition === 0)?.committedOffset;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('a standalone commit or reset that loses the race to create the group', () => {
  it('commits into the group a rival standalone consumer created first', async () => {
    const { service, groups } = await world();
    groups.beforeNextMembershipWrite = async () => {
      await service.commit('g', { offsets: [{ topic: 't', partition: 1, offset: 0 }] });
    };

    const result = await service.commit('g', at(3));

    expect(result).toEqual({ generation: 0, offsets: [{ topic: 't', partition: 0, offset: 3 }] });
    expect((await service.describe('g')).offsets.map((o) => o.committedOffset)).toEqual([3, 0]);
    expect(await service.list()).toHaveLength(1);
  });

  it('resets in the group a rival created first', async () => {
    const { service, groups } = await world();
    groups.beforeNextMembershipWrite = async () => {
      await service.commit('g', at(5));
    };

    const result = await service.reset('g', { topic: 't', to: { kind: 'earliest' }, partitions: [0] });

    // The rival's group was at generation 0; the reset moved it on.
    expect(result).toEqual({ generation: 1, offsets: [{ topic: 't', partition: 0, offset: 0 }] });
    expect(await committedOffset(service)).toBe(0);
  });
});

describe('a commit whose outcome was unknown', () => {
  it('commits once more and answers when the write had landed', async () => {
    const { service, groups } = await world();
    groups.afterNextCommitLost = async () => {};

    await expect(service.commit('g', at(3))).resolves.toMatchObject({ offsets: [{ offset: 3 }] });

    expect(groups.commitCalls).toBe(2);
    expect(await committedOffset(service)).toBe(3);
  });

  it('answers as committed when a later commit moved past it before the retry', async () => {
    const { service, groups } = await world();
    groups.afterNextCommitLost = async () => {
      await service.commit('g', at(6));
    };

    const result = await service.commit('g', at(3));

    expect(result).toEqual({ generation: 0, offsets: [{ topic: 't', partition: 0, offset: 3 }] });
    expect(await committedOffset(service)).toBe(6);
  });

  it('answers as committed when the offset read after the regression is its own', async () => {
    const { service, groups } = await world();
    groups.afterNextCommitLost = async () => {
      await service.commit('g', at(6));
      // Between the retry's regression report and its read, a reset puts back exactly ours.
      groups.beforeNextReadOffset = async () => {
        await service.reset('g', { topic: 't', to: { kind: 'offset', offset: 3 }, partitions: [0] });
      };
    };

    await expect(service.commit('g', at(3))).resolves.toMatchObject({ offsets: [{ offset: 3 }] });
  });

  it('reports a regression when the offset read after the regression is below its own', async () => {
    const { service, groups } = await world();
    groups.afterNextCommitLost = async () => {
      await service.commit('g', at(6));
      groups.beforeNextReadOffset = async () => {
        await service.reset('g', { topic: 't', to: { kind: 'offset', offset: 2 }, partitions: [0] });
      };
    };

    const error = await rejection(service.commit('g', at(3)));

    expect(error).toBeInstanceOf(OffsetRegressionError);
    expect(error).toMatchObject({ committedOffset: 2 });
  });

  it('reports a regression when the group was deleted before its offset was read', async () => {
    const { service, groups } = await world();
    groups.afterNextCommitLost = async () => {
      await service.commit('g', at(6));
      groups.beforeNextReadOffset = async () => {
        await service.delete('g');
      };
    };

    const error = await rejection(service.commit('g', at(3)));

    expect(error).toBeInstanceOf(OffsetRegressionError);
  });
});

describe('a regression without an unknown outcome', () => {
  it('reports it even when the offset moved back to its own before the read', async () => {
    const { service, groups } = await world();
    await service.commit('g', at(6));
    groups.beforeNextReadOffset = async () => {
      await service.reset('g', { topic: 't', to: { kind: 'offset', offset: 3 }, partitions: [0] });
    };

    await expect(service.commit('g', at(3))).rejects.toBeInstanceOf(OffsetRegressionError);
  });
});

describe('the answer of a commit over several topics', () => {
  it('answers the offsets in the order of the request', async () => {
    const { service, topicService } = await world();
    await topicService.create({ name: 'u', partitions: 2 });
    const offsets = [
      { topic: 't', partition: 0, offset: 1 },
      { topic: 't', partition: 1, offset: 0 },
      { topic: 'u', partition: 0, offset: 0 },
    ];

    const result = await service.commit('g', { offsets });

    expect(result.offsets).toEqual(offsets);
  });
});

describe('the partitions a reset names', () => {
  it('resets each named partition once, in partition order', async () => {
    const { service } = await world();

    const result = await service.reset('g', {
      topic: 't',
      to: { kind: 'offset', offset: 1 },
      partitions: [1, 0, 1],
    });

    expect(result.offsets).toEqual([
      { topic: 't', partition: 0, offset: 1 },
      { topic: 't', partition: 1, offset: 0 },
    ]);
  });

  it('fails for a topic that does not exist, and creates no group', async () => {
    const { service } = await world();

    await expect(service.reset('g', { topic: 'absent', to: { kind: 'earliest' } })).rejects.toBeInstanceOf(
      TopicNotFoundError,
    );
    expect(await service.list()).toEqual([]);
  });
});
