/**
 * A consumer group described (group-lag.ts) as a Kafka user reads `kafka-consumer-groups
 * --describe`: per partition the committed offset, the high watermark and the lag between them, for
 * every partition of the subscribed topics and every partition with a committed offset, in topic and
 * partition order; offsets of a deleted topic or of its former incarnation left out; members in id
 * order with their assignments. In-memory ports, manual clock.
 */
import { describe, expect, it } from 'vitest';
import { MemoryGroupStore } from '../../shared/adapters/memory/group-store.js';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import { GroupNotFoundError, InvalidRequestError } from '../../shared/domain/errors.js';
import type { CommittedOffset } from '../../shared/domain/group.js';
import { GroupService } from '../../shared/domain/group-service.js';
import { LogService } from '../../shared/domain/log-service.js';
import { TopicService } from '../../shared/domain/topic-service.js';
import { manualClock } from '../support/manual-clock.js';

const START = 1_800_000_000_000;
const SESSION_MS = 10_000;

/** The in-memory store, with offset items of an earlier incarnation of the group that a crash left behind. */
class LeftoverOffsetsStore extends MemoryGroupStore {
  leftovers: CommittedOffset[] = [];

  override async readOffsets(group: string, limit: number): Promise<CommittedOffset[]> {
    return [...this.leftovers, ...(await super.readOffsets(group, limit))];
  }
}

async function world() {
  const clock = manualClock(START);
  const topics = new MemoryTopicStore();
  const partitionLog = new MemoryPartitionLog({ now: clock.now });
  const groups = new LeftoverOffsetsStore();
  const log = new LogService(topics, partitionLog, clock);
  const topicService = new TopicService(topics, partitionLog, clock);
  const service = new GroupService(groups, topics, partitionLog, log, clock);
  const fill = async (topic: string, counts: readonly number[]) => {
    const value = { type: 'STRING' as const, bytes: new Uint8Array([1]) };
    const records = counts.flatMap((count, partition) =>
      Array.from({ length: count }, () => ({ key: null, value, headers: [], partition })),
    );
    await log.produce(topic, records);
  };
  return { clock, topics, groups, topicService, service, fill };
}

const lagRow = (o: {
  topic: string;
  partition: number;
  committedOffset: number | null;
  lag: number | null;
}) => `${o.topic}-${o.partition}: ${o.committedOffset ?? '-'} lag ${o.lag ?? '-'}`;

describe('describe: the lag of each partition', () => {
  it('answers committed offset, high watermark, lag and metadata, and nulls where nothing was committed', async () => {
    const { service, topicService, fill } = await world();
    await topicService.create({ name: 't', partitions: 3 });
    await fill('t', [5, 8, 2]);
    const member = await service.join('g', { topics: ['t'], sessionTimeoutMs: SESSION_MS });
    await service.commit('g', {
      memberId: member.memberId,
      generation: member.generation,
      offsets: [
        { topic: 't', partition: 0, offset: 5, metadata: 'caught up' },
        { topic: 't', partition: 1, offset: 3 },
      ],
    });

    const described = await service.describe('g');

    expect(described.offsets).toEqual([
      { topic: 't', partition: 0, committedOffset: 5, highWatermark: 5, lag: 0, metadata: 'caught up' },
      { topic: 't', partition: 1, committedOffset: 3, highWatermark: 8, lag: 5, metadata: null },
      { topic: 't', partition: 2, committedOffset: null, highWatermark: 2, lag: null, metadata: null },
    ]);
  });

  it('lists partitions in number order, committed ones among the subscribed', async () => {
    const { service, topicService, fill } = await world();
    await topicService.create({ name: 't', partitions: 12 });
    await fill(
      't',
      Array.from({ length: 12 }, (_, partition) => partition + 1),
    );
    await service.commit('g', {
      offsets: [
        { topic: 't', partition: 10, offset: 4 },
        { topic: 't', partition: 2, offset: 1 },
      ],
    });
    await service.join('g', { topics: ['t'], sessionTimeoutMs: SESSION_MS });

    const described = await service.describe('g');

    expect(described.offsets.map((o) => o.partition)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(described.offsets[2]).toMatchObject({ committedOffset: 1, highWatermark: 3, lag: 2 });
    expect(described.offsets[10]).toMatchObject({ committedOffset: 4, highWatermark: 11, lag: 7 });
  });

  it('lists the committed partitions of a topic no member subscribes to, and only those, topics in name order', async () => {
    const { service, topicService, fill } = await world();
    await topicService.create({ name: 'b-subscribed', partitions: 2 });
    await topicService.create({ name: 'a-committed', partitions: 3 });
    await fill('a-committed', [1, 1, 6]);
    await service.commit('g', { offsets: [{ topic: 'a-committed', partition: 2, offset: 4 }] });
    await service.join('g', { topics: ['b-subscribed'], sessionTimeoutMs: SESSION_MS });

    const described = await service.describe('g');

    expect(described.offsets.map(lagRow)).toEqual([
      'a-committed-2: 4 lag 2',
      'b-subscribed-0: - lag -',
      'b-subscribed-1: - lag -',
    ]);
  });

  it('describes a group with offsets and no member: the committed partitions only', async () => {
    const { service, topicService, fill } = await world();
    await topicService.create({ name: 't', partitions: 4 });
    await fill('t', [3, 3, 3, 3]);
    await service.commit('g', {
      offsets: [
        { topic: 't', partition: 3, offset: 1 },
        { topic: 't', partition: 1, offset: 3 },
      ],
    });

    const described = await service.describe('g');

    expect(described).toMatchObject({ state: 'Empty', generation: 0, members: [] });
    expect(described.offsets.map(lagRow)).toEqual(['t-1: 3 lag 0', 't-3: 1 lag 2']);
  });

  it('leaves out the offsets of a deleted topic, and of its former incarnation once created again', async () => {
    const { service, topicService, fill } = await world();
    await topicService.create({ name: 'gone', partitions: 1 });
    await topicService.create({ name: 'again', partitions: 2 });
    await fill('gone', [2]);
    await fill('again', [2, 2]);
    await service.commit('g', {
      offsets: [
        { topic: 'gone', partition: 0, offset: 2 },
        { topic: 'again', partition: 0, offset: 1 },
        { topic: 'again', partition: 1, offset: 2 },
      ],
    });
    await topicService.delete('gone');
    await topicService.delete('again');
    await topicService.create({ name: 'again', partitions: 2 });
    await fill('again', [0, 1]);
    const before = await service.describe('g');
    await service.join('g', { topics: ['again'], sessionTimeoutMs: SESSION_MS });

    const after = await service.describe('g');

    expect(before.offsets).toEqual([]);
    expect(after.offsets.map(lagRow)).toEqual(['again-0: - lag -', 'again-1: - lag -']);
    expect(after.offsets[1]?.highWatermark).toBe(1);
  });

  it('leaves out offset items of an earlier incarnation of the group', async () => {
    const { service, topicService, groups, fill } = await world();
    await topicService.create({ name: 't', partitions: 2 });
    await fill('t', [4, 4]);
    await service.commit('g', { offsets: [{ topic: 't', partition: 0, offset: 1 }] });
    const own = (await groups.readOffsets('g', 10))[0];
    if (!own) throw new Error('committed above');
    groups.leftovers = [
      { ...own, partition: 1, offset: 3, groupId: 'an-earlier-incarnation', metadata: 'stale' },
    ];

    const described = await service.describe('g');

    expect(described.offsets.map(lagRow)).toEqual(['t-0: 1 lag 3']);
  });
});

describe('describe: the group and its members', () => {
  it('lists live members in id order, each with its topics, session, times and assignments', async () => {
    const { service, topicService, clock } = await world();
    await topicService.create({ name: 't', partitions: 4 });
    const joined = [];
    for (let i = 0; i < 4; i++) {
      joined.push(await service.join('g', { topics: ['t'], sessionTimeoutMs: SESSION_MS + i * 1_000 }));
      clock.advance(100);
    }
    const last = joined.at(-1);
    if (!last) throw new Error('joined above');
    for (const member of joined) await service.heartbeat('g', member.memberId, last.generation);

    const described = await service.describe('g');

    const ids = joined.map((member) => member.memberId);
    expect(described.members.map((m) => m.memberId)).toEqual([...ids].sort());
    expect(described).toMatchObject({ state: 'Stable', generation: 4, createdAt: START });
    for (const [index, member] of joined.entries()) {
      const listed = described.members.find((m) => m.memberId === member.memberId);
      expect(listed).toEqual({
        memberId: member.memberId,
        topics: ['t'],
        sessionTimeoutMs: SESSION_MS + index * 1_000,
        joinedAt: START + index * 100,
        lastHeartbeat: START + 400,
        assignments: [expect.objectContaining({ topic: 't' })],
      });
    }
    expect(described.members.flatMap((m) => m.assignments.map((tp) => tp.partition)).sort()).toEqual([
      0, 1, 2, 3,
    ]);
  });

  it('fails for a group that does not exist, and for an invalid group id', async () => {
    const { service } = await world();

    await expect(service.describe('absent')).rejects.toBeInstanceOf(GroupNotFoundError);
    await expect(service.describe('not a group')).rejects.toBeInstanceOf(InvalidRequestError);
  });
});
