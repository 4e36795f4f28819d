/**
 * Consumers against the real handlers: a group of three sharing partitions and handing them over
 * when one disconnects, standalone partition reading, seek and pause.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsumedRecord, type Consumer, dataText, Shoal } from '../../client/index.js';
import { createTestRuntime, startTestApi, type TestApi } from '../support/local-aws.js';

let api: TestApi;
let shoal: Shoal;
let topicCount = 0;

beforeAll(async () => {
  api = await startTestApi(await createTestRuntime({ tablePrefix: 'client-consumer' }));
  shoal = new Shoal({ url: api.url });
});
afterAll(() => api?.close());

async function newTopic(partitions: number): Promise<string> {
  const name = `consumer-${++topicCount}`;
  await shoal.admin().createTopic({ name, partitions });
  return name;
}

async function produce(topic: string, from: number, count: number): Promise<void> {
  const producer = shoal.producer({ lingerMs: 0 });
  await producer.send({
    topic,
    records: Array.from({ length: count }, (_, i) => ({
      key: `key-${(from + i) % 13}`,
      value: `${from + i}`,
    })),
  });
  await producer.close();
}

/** Polls `condition` every 50 ms, failing after `timeoutMs`. */
async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const fastGroup = { heartbeatIntervalMs: 200, sessionTimeoutMs: 10_000, maxWaitMs: 200 } as const;

describe('consumer group', () => {
  it('shares the partitions among three members and hands them over cleanly when one disconnects', async () => {
    // Prepare: three members, each with two of the six partitions.
    const topic = await newTopic(6);
    const groupId = 'three-members';
    const seen = new Map<string, ConsumedRecord[]>();
    const processed: ConsumedRecord[] = [];
    const members: Consumer[] = [];
    for (const name of ['a', 'b', 'c']) {
      const consumer = shoal.consumer({ groupId, ...fastGroup });
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      seen.set(name, []);
      await consumer.run({
        eachRecord: async ({ record }) => {
          seen.get(name)?.push(record);
          processed.push(record);
        },
      });
      members.push(consumer);
    }
    const [a, b, c] = members as [Consumer, Consumer, Consumer];
    await until(
      () => members.every((member) => member.assignment().length === 2),
      'each member owns two partitions',
    );
    const owned = members.flatMap((member) => member.assignment().map((tp) => tp.partition));
    expect(owned.sort()).toEqual([0, 1, 2, 3, 4, 5]);

    // Act 1: records for everyone.
    await produce(topic, 0, 300);
    await until(() => [...seen.values()].flat().length >= 300, 'the first 300 records are read');

    // Assess 1: each member read only its own partitions.
    for (const [index, member] of members.entries()) {
      const mine = new Set(member.assignment().map((tp) => tp.partition));
      const records = seen.get(['a', 'b', 'c'][index] as string) ?? [];
      expect(records.every((record) => mine.has(record.partition))).toBe(true);
    }

    // Act 2: c leaves; a and b take over its partitions, then more records arrive.
    const fromC = new Set(c.assignment().map((tp) => tp.partition));
    await c.disconnect();
    await until(() => a.assignment().length + b.assignment().length === 6, 'a and b own all six partitions');
    await produce(topic, 300, 300);
    await until(() => [...seen.values()].flat().length >= 600, 'all 600 records are read');

    // Assess 2: every record read exactly once, in offset order per partition, c's partitions read on
    // by a and b from where c committed.
    const values = processed.map((record) => dataText(record.value));
    expect(new Set(values).size).toBe(600);
    expect(processed).toHaveLength(600);
    for (let partition = 0; partition < 6; partition++) {
      const offsets = processed
        .filter((record) => record.partition === partition)
        .map((record) => record.offset);
      expect(offsets).toEqual(offsets.map((_, i) => i));
    }
    const afterHandover = [...(seen.get('a') ?? []), ...(seen.get('b') ?? [])].filter((record) =>
      fromC.has(record.partition),
    );
    expect(afterHandover.length).toBeGreaterThan(0);

    // The group committed everything: no lag.
    await a.disconnect();
    await b.disconnect();
    const lag = await shoal.admin().groupLag(groupId);
    expect(lag.totalLag).toBe(0);
    expect(lag.uncommittedPartitions).toBe(0);
    expect(lag.state).toBe('Empty');
  }, 60_000);

  it('calls the rebalance callbacks with the partitions gained and lost', async () => {
    // Prepare
    const topic = await newTopic(4);
    const events: string[] = [];
    const first = shoal.consumer({
      groupId: 'callbacks',
      ...fastGroup,
      onPartitionsAssigned: (partitions) => {
        events.push(`assigned ${partitions.map((tp) => tp.partition).join(',')}`);
      },
      onPartitionsRevoked: (partitions) => {
        events.push(`revoked ${partitions.length}`);
      },
    });
    await first.subscribe({ topic });
    await first.run({ eachBatch: async () => undefined });
    const second = shoal.consumer({ groupId: 'callbacks', ...fastGroup });
    await second.subscribe({ topic });

    // Act
    await second.run({ eachBatch: async () => undefined });
    await until(() => first.assignment().length === 2, 'the first member gives up two partitions');
    await second.disconnect();
    await until(() => first.assignment().length === 4, 'the first member takes them back');
    await first.disconnect();

    // Assess
    expect(events[0]).toBe('assigned 0,1,2,3');
    expect(events[1]).toBe('revoked 2');
    expect(events[2]).toMatch(/^assigned \d,\d$/);
    expect(events[3]).toBe('revoked 4');
  }, 30_000);

  it('starts from the committed offset when a member joins again', async () => {
    // Prepare: the group reads 20 records and leaves.
    const topic = await newTopic(1);
    await produce(topic, 0, 20);
    const first = shoal.consumer({ groupId: 'resume', ...fastGroup });
    await first.subscribe({ topic, fromBeginning: true });
    const firstRead: number[] = [];
    await first.run({ eachRecord: async ({ record }) => void firstRead.push(record.offset) });
    await until(() => firstRead.length === 20, 'the first 20 records are read');
    await first.disconnect();
    await produce(topic, 20, 5);

    // Act
    const second = shoal.consumer({ groupId: 'resume', ...fastGroup });
    await second.subscribe({ topic, fromBeginning: true });
    const secondRead: number[] = [];
    await second.run({ eachRecord: async ({ record }) => void secondRead.push(record.offset) });
    await until(() => secondRead.length >= 5 && second.caughtUp(), 'the new records are read');
    await second.disconnect();

    // Assess
    expect(secondRead).toEqual([20, 21, 22, 23, 24]);
  }, 30_000);
});

describe('standalone consumer', () => {
  it('reads assigned partitions from an offset, without a group', async () => {
    // Prepare
    const topic = await newTopic(2);
    await shoal.producer().send({
      topic,
      records: Array.from({ length: 10 }, (_, i) => ({ value: `${i}`, partition: i % 2 })),
    });
    const consumer = shoal.consumer({ maxWaitMs: 100 });
    const read: string[] = [];
    await consumer.assign([{ topic, partition: 1, offset: 2 }]);

    // Act
    await consumer.run({
      eachRecord: async ({ record }) => void read.push(`${record.partition}:${record.offset}`),
    });
    await until(() => consumer.caughtUp(), 'the partition is read to its end');
    await consumer.disconnect();

    // Assess
    expect(read).toEqual(['1:2', '1:3', '1:4']);
  });

  it('seeks back and pauses a partition', async () => {
    // Prepare
    const topic = await newTopic(2);
    await shoal.producer().send({
      topic,
      records: Array.from({ length: 6 }, (_, i) => ({ value: `${i}`, partition: i % 2 })),
    });
    const consumer = shoal.consumer({ maxWaitMs: 100 });
    const read: string[] = [];
    await consumer.assign([{ topic }], { from: 'earliest' });
    consumer.pause([{ topic, partitions: [1] }]);

    // Act
    await consumer.run({
      eachRecord: async ({ record }) => void read.push(`${record.partition}:${record.offset}`),
    });
    await until(() => read.length === 3 && consumer.caughtUp(), 'partition 0 is read');
    consumer.seek({ topic, partition: 0, offset: 1 });
    await until(() => read.length === 5, 'partition 0 is read again from offset 1');
    const whilePaused = [...read];
    consumer.resume([{ topic, partitions: [1] }]);
    await until(() => read.length === 8, 'partition 1 is read after resume');
    await consumer.disconnect();

    // Assess
    expect(whilePaused).toEqual(['0:0', '0:1', '0:2', '0:1', '0:2']);
    expect(read.slice(5)).toEqual(['1:0', '1:1', '1:2']);
  });

  it('pauses a whole topic, partitions assigned later included, until it is resumed', async () => {
    // Prepare
    const topic = await newTopic(2);
    await shoal.producer().send({
      topic,
      records: [
        { value: 'a', partition: 0 },
        { value: 'b', partition: 1 },
      ],
    });
    const consumer = shoal.consumer({ maxWaitMs: 100 });
    const read: string[] = [];
    await consumer.assign([{ topic }], { from: 'earliest' });
    consumer.pause([{ topic }]);

    // Act
    await consumer.run({ eachRecord: async ({ record }) => void read.push(dataText(record.value) ?? '') });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const whilePaused = [...read];
    const paused = consumer.pausedPartitions();
    consumer.resume([{ topic }]);
    await until(() => read.length === 2, 'both partitions are read after resume');
    await consumer.disconnect();

    // Assess
    expect(whilePaused).toEqual([]);
    expect(paused).toHaveLength(2);
    expect(read.sort()).toEqual(['a', 'b']);
  });

  it('fails when a handler keeps failing, after the bounded retries', async () => {
    // Prepare
    const topic = await newTopic(1);
    await shoal.producer().send({ topic, records: [{ value: 'poison' }] });
    const consumer = shoal.consumer({ maxWaitMs: 100, handlerRetriesMax: 2 });
    await consumer.assign([{ topic }], { from: 'earliest' });
    let attempts = 0;

    // Act
    await consumer.run({
      eachRecord: async () => {
        attempts++;
        throw new Error('cannot handle this record');
      },
    });

    // Assess
    await expect(consumer.whenStopped()).rejects.toThrow('cannot handle this record');
    expect(attempts).toBe(3);
  });
});
