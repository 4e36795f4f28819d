/**
 * LogService.offsetForTimestamp over many batches of the hot tier (what a reset to a timestamp and
 * a subscription AT_TIMESTAMP start from): the earliest offset whose timestamp is at or after the
 * one asked, for every timestamp from before the first record to after the last, so that the
 * binary search over batches is pinned at every step, not only where a few batches happen to be.
 */
import { describe, expect, it } from 'vitest';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import { LogService, type ProduceRecordInput } from '../../shared/domain/log-service.js';
import { TopicService } from '../../shared/domain/topic-service.js';
import { manualClock } from '../support/manual-clock.js';

const T0 = 1_800_000_000_000;

async function world() {
  const clock = manualClock(T0);
  const topics = new MemoryTopicStore();
  const partitionLog = new MemoryPartitionLog({ now: clock.now });
  await new TopicService(topics, partitionLog, clock).create({ name: 't', partitions: 1 });
  return new LogService(topics, partitionLog, clock);
}

const at = (timestamp: number): ProduceRecordInput => ({
  key: null,
  value: { type: 'STRING', bytes: new Uint8Array([1]) },
  headers: [],
  partition: 0,
  timestamp,
});

describe('LogService.offsetForTimestamp across many batches', () => {
  it('finds the earliest offset at or after each timestamp, or the high watermark past the last', async () => {
    const log = await world();
    // 37 batches of 1 to 3 records, 10 ms apart: offsets and timestamps both increase.
    const timestamps: number[] = [];
    for (let batch = 0; batch < 37; batch++) {
      const records = Array.from({ length: 1 + (batch % 3) }, () => {
        timestamps.push(T0 + 10 * (timestamps.length + 1));
        return at(timestamps.at(-1) as number);
      });
      await log.produce('t', records);
    }
    const expected = (timestamp: number) => {
      const index = timestamps.findIndex((candidate) => candidate >= timestamp);
      return index === -1 ? timestamps.length : index;
    };

    const asked: number[] = [];
    for (let timestamp = T0 - 5; timestamp <= T0 + 10 * (timestamps.length + 1); timestamp += 5) {
      asked.push(timestamp);
    }
    const found = [];
    for (const timestamp of asked) found.push(await log.offsetForTimestamp('t', 0, timestamp));

    expect(found).toEqual(asked.map(expected));
  });
});
