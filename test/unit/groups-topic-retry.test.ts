/**
 * Which stale cached topics send a produce or fetch to a fresh read (LogService.onTopic), beside
 * topic-cache.test.ts: a topic deleted and created again elsewhere with as many partitions as before
 * is another incarnation all the same (its topicId differs), so a process whose cached copy is the
 * old one writes to and reads from the new one, never the deleted one.
 */
import { describe, expect, it } from 'vitest';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import { LogService, type ProduceRecordInput } from '../../shared/domain/log-service.js';
import { TopicCache } from '../../shared/domain/topic-cache.js';
import { TopicService } from '../../shared/domain/topic-service.js';
import { manualClock } from '../support/manual-clock.js';

const WAIT_NONE = { recordsMax: 1_000, bytesMax: 1_000_000, waitMs: 0 };

/** Two processes, each with its own topic cache, over one store and one log. */
async function world() {
  const clock = manualClock(1_800_000_000_000);
  const store = new MemoryTopicStore();
  const log = new MemoryPartitionLog({ now: clock.now });
  const process = () => {
    const cache = new TopicCache(store, clock);
    return { log: new LogService(cache, log, clock), topics: new TopicService(cache, log, clock) };
  };
  const a = process();
  const b = process();
  await b.topics.create({ name: 't', partitions: 2 });
  return { a, b };
}

const record = (value: string, partition: number): ProduceRecordInput => ({
  key: null,
  value: { type: 'STRING', bytes: new TextEncoder().encode(value) },
  headers: [],
  partition,
});

const values = (records: readonly { value: { bytes: Uint8Array } | null }[]) =>
  records.map((r) => (r.value ? new TextDecoder().decode(r.value.bytes) : null));

describe('a topic deleted and created again elsewhere with as many partitions', () => {
  it('takes a produce from a process that cached the old incarnation into the new one', async () => {
    const { a, b } = await world();
    await a.log.produce('t', [record('old-0', 1), record('old-1', 1)]);
    await b.topics.delete('t');
    await b.topics.create({ name: 't', partitions: 2 });

    const appended = await a.log.produce('t', [record('new-0', 1)]);

    expect(appended.records).toMatchObject([{ partition: 1, offset: 0 }]);
    expect(values((await b.log.fetch('t', 1, 0, WAIT_NONE)).records)).toEqual(['new-0']);
  });

  it('answers a fetch from a process that cached the old incarnation from the new one', async () => {
    const { a, b } = await world();
    await a.log.produce('t', [record('old-0', 0), record('old-1', 0)]);
    expect(values((await a.log.fetch('t', 0, 0, WAIT_NONE)).records)).toEqual(['old-0', 'old-1']);
    await b.topics.delete('t');
    await b.topics.create({ name: 't', partitions: 2 });
    await b.log.produce('t', [record('new-0', 0)]);

    const fetched = await a.log.fetch('t', 0, 0, WAIT_NONE);

    expect(values(fetched.records)).toEqual(['new-0']);
    expect(fetched.highWatermark).toBe(1);
  });
});
