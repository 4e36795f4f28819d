/**
 * GroupService's own code, beside group-service.test.ts: a service built without a transactional
 * log refuses an append with a commit at once (before reading or writing anything) instead of
 * failing halfway, and `list` answers every group by name with its creation time.
 */
import { describe, expect, it } from 'vitest';
import { MemoryGroupStore } from '../../shared/adapters/memory/group-store.js';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import { GroupService } from '../../shared/domain/group-service.js';
import { LogService } from '../../shared/domain/log-service.js';
import { TopicService } from '../../shared/domain/topic-service.js';
import { manualClock } from '../support/manual-clock.js';

const START = 1_800_000_000_000;

async function world() {
  const clock = manualClock(START);
  const topics = new MemoryTopicStore();
  const partitionLog = new MemoryPartitionLog({ now: clock.now });
  const groups = new MemoryGroupStore();
  const log = new LogService(topics, partitionLog, clock);
  await new TopicService(topics, partitionLog, clock).create({ name: 't', partitions: 1 });
  const service = new GroupService(groups, topics, partitionLog, log, clock);
  return { clock, partitionLog, groups, log, service };
}

describe('GroupService without a transactional log', () => {
  it('refuses produceWithOffsets at once, saying why, and writes nothing', async () => {
    const { service, log, groups } = await world();
    const value = { type: 'STRING' as const, bytes: new Uint8Array([1]) };

    const call = () =>
      service.produceWithOffsets('g', {
        topics: [{ topic: 't', records: [{ key: null, value, headers: [], partition: 0 }] }],
        offsets: [{ topic: 't', partition: 0, offset: 0 }],
      });

    expect(call).toThrow('This group service was built without a transactional log');
    expect((await log.fetch('t', 0, 0, { recordsMax: 10, bytesMax: 1_000, waitMs: 0 })).records).toEqual([]);
    expect((await groups.read('g')).record).toBeUndefined();
  });
});

describe('GroupService.list', () => {
  it('answers every group in name order with when it was created', async () => {
    const { service, clock } = await world();
    await service.commit('orders', { offsets: [{ topic: 't', partition: 0, offset: 0 }] });
    clock.advance(1_000);
    await service.join('audit', { topics: ['t'] });

    expect(await service.list()).toEqual([
      { name: 'audit', createdAt: START + 1_000 },
      { name: 'orders', createdAt: START },
    ]);
  });
});
