/**
 * Where LogService puts records without a partition: a keyed record at its key's partition, and
 * keyless records stuck to one partition (picked at random) until it received
 * STICKY_BATCH_BYTES, then the next, as Kafka's sticky partitioner does; explicit and keyed
 * records in between leave the keyless ones' partition alone.
 */
import { describe, expect, it } from 'vitest';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import type { Clock } from '../../shared/domain/clock.js';
import { LogService, type ProduceRecordInput } from '../../shared/domain/log-service.js';
import { partitionForKey, STICKY_BATCH_BYTES } from '../../shared/domain/partitioner.js';
import { TopicService } from '../../shared/domain/topic-service.js';
import { manualClock } from '../support/manual-clock.js';

async function world(random: number) {
  const manual = manualClock(1_800_000_000_000);
  const clock: Clock = { now: manual.now, sleep: manual.sleep, random: () => random };
  const topics = new MemoryTopicStore();
  const partitionLog = new MemoryPartitionLog({ now: clock.now });
  await new TopicService(topics, partitionLog, clock).create({ name: 't', partitions: 4 });
  return new LogService(topics, partitionLog, clock);
}

const keyless = (bytes: number): ProduceRecordInput => ({
  key: null,
  value: { type: 'BINARY', bytes: new Uint8Array(bytes) },
  headers: [],
});

describe('LogService.produce without a partition', () => {
  it('sticks keyless records to a random partition until it received STICKY_BATCH_BYTES, then moves on', async () => {
    const log = await world(0.5);
    const third = Math.ceil(STICKY_BATCH_BYTES / 2);
    const key = { type: 'STRING' as const, bytes: new TextEncoder().encode('customer-42') };

    const result = await log.produce('t', [
      keyless(third),
      { ...keyless(1), key },
      { ...keyless(STICKY_BATCH_BYTES * 4), partition: 0 },
      keyless(third),
      keyless(third),
    ]);

    expect(result.records.map((r) => r.partition)).toEqual([2, partitionForKey(key.bytes, 4), 0, 2, 3]);
  });

  it('puts a small keyless request in one partition', async () => {
    const log = await world(0.99);

    const result = await log.produce('t', [keyless(10), keyless(10), keyless(10)]);

    expect(result.records.map((r) => [r.partition, r.offset])).toEqual([
      [3, 0],
      [3, 1],
      [3, 2],
    ]);
  });
});
