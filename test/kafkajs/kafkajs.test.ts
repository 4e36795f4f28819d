/**
 * `shoal/kafkajs` against the API on the real handlers: KafkaJS's documented usage (the examples
 * beside this file, run as separate programs with only the import and the brokers changed), bytes
 * as KafkaJS gives them, offsets as strings, KafkaJS's error classes, and clear errors for misuse
 * and for what has no meaning in Shoal.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Kafka,
  KafkaJSConnectionError,
  KafkaJSNotImplemented,
  KafkaJSProtocolError,
  type KafkaMessage,
} from '../../client/kafkajs/index.js';
import { freePort } from '../cli/run-shoal.js';
import { createTestRuntime, startTestApi, type TestApi } from '../support/local-aws.js';
import { expectSuccess, run } from '../support/run-process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const example = (name: string) => fileURLToPath(new URL(`./examples/${name}`, import.meta.url));

let api: TestApi;
let kafka: Kafka;

beforeAll(async () => {
  api = await startTestApi(await createTestRuntime({ tablePrefix: 'kafkajs' }));
  kafka = new Kafka({ clientId: 'test', brokers: [api.url], logLevel: 0 });
});
afterAll(async () => {
  await api?.close();
});

/** Runs an example as its own program (`node --import tsx`, which resolves 'shoal/kafkajs' here). */
const runExample = (name: string, until?: RegExp) =>
  run(process.execPath, ['--import', 'tsx', example(name)], {
    cwd: ROOT,
    env: { SHOAL_URL: api.url },
    timeoutMs: 60_000,
    ...(until ? { until } : {}),
  });

describe("KafkaJS's documented examples, with only the import changed", () => {
  it('getting started: produces to a new topic and the group consumes it from the beginning', async () => {
    // Act: the example runs until stopped, as KafkaJS's does; stop it once the message is printed.
    const result = await runExample('getting-started.cjs', /Hello KafkaJS user!/);

    // Assess
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/partition: 0,\s+offset: '0',\s+value: 'Hello KafkaJS user!'/);
  }, 90_000);

  it('admin: creates topics (false when they exist), lists and describes them', async () => {
    // Act
    const result = expectSuccess(await runExample('admin-create-topics.mjs'), 'admin example');

    // Assess
    expect(JSON.parse(result.stdout)).toEqual({
      created: true,
      again: false,
      topics: ['audit', 'payments'],
      partitions: [0, 1, 2],
    });
  }, 90_000);

  it('a consumer group with eachBatch: two members read every message, each key in one partition', async () => {
    // Act
    const result = expectSuccess(await runExample('group-each-batch.mjs'), 'eachBatch example');

    // Assess: every message at least once (a rebalance may deliver some twice), keys stay put.
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ distinct: 40, onePartitionPerKey: true, sources: ['web'] });
    expect(summary.count).toBeGreaterThanOrEqual(40);
  }, 90_000);
});

describe('shoal/kafkajs', () => {
  it('gives keys, values and headers back as Buffers, byte for byte, offsets and timestamps as strings', async () => {
    // Prepare
    const admin = kafka.admin();
    await admin.createTopics({ topics: [{ topic: 'bytes', numPartitions: 2 }] });
    const producer = kafka.producer();
    await producer.connect();
    const binary = Buffer.from([0, 255, 10, 13, 128]);

    // Act
    const metadata = await producer.send({
      topic: 'bytes',
      messages: [
        {
          key: binary,
          value: binary,
          headers: { trace: ['a', Buffer.from([1, 2])] },
          timestamp: '1700000000000',
        },
        { key: 'text', value: null },
      ],
    });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'bytes-reader', maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topics: [/^byt/], fromBeginning: true });
    const received: KafkaMessage[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            received.push(message);
            if (received.length === 2) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();

    // Assess
    expect(metadata.every((entry) => entry.topicName === 'bytes' && entry.errorCode === 0)).toBe(true);
    const withBytes = received.find((message) => message.value !== null) as KafkaMessage;
    expect(withBytes.key?.equals(binary)).toBe(true);
    expect(withBytes.value?.equals(binary)).toBe(true);
    expect(withBytes.headers.trace).toEqual([Buffer.from('a'), Buffer.from([1, 2])]);
    expect(withBytes.timestamp).toBe('1700000000000');
    expect(withBytes.offset).toMatch(/^\d+$/);
    const tombstone = received.find((message) => message.value === null) as KafkaMessage;
    expect(tombstone.key?.toString()).toBe('text');
  }, 60_000);

  it('commits, reports and resets offsets as strings through the consumer and the admin', async () => {
    // Prepare: five messages in one partition, read by a group that commits offset 3 itself.
    const admin = kafka.admin();
    await admin.createTopics({ topics: [{ topic: 'ledger', numPartitions: 1 }] });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'ledger', messages: [1, 2, 3, 4, 5].map((n) => ({ value: `entry ${n}` })) });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'ledger-readers', maxWaitTimeInMs: 200 });
    await consumer.subscribe({ topic: 'ledger', fromBeginning: true });
    const offsets: string[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ message }) => {
            offsets.push(message.offset);
            if (offsets.length === 5) resolve();
          },
        })
        .catch(reject);
    });

    // Act
    await consumer.commitOffsets([{ topic: 'ledger', partition: 0, offset: '3' }]);
    const described = await consumer.describeGroup();
    await consumer.disconnect();
    const committed = await admin.fetchOffsets({ groupId: 'ledger-readers', topics: ['ledger'] });
    const ends = await admin.fetchTopicOffsets('ledger');
    await admin.setOffsets({
      groupId: 'ledger-readers',
      topic: 'ledger',
      partitions: [{ partition: 0, offset: '1' }],
    });
    const afterSet = await admin.fetchOffsets({ groupId: 'ledger-readers', topics: ['ledger'] });
    await admin.resetOffsets({ groupId: 'ledger-readers', topic: 'ledger', earliest: false });
    const afterReset = await admin.fetchOffsets({ groupId: 'ledger-readers', topics: ['ledger'] });

    // Assess
    expect(offsets).toEqual(['0', '1', '2', '3', '4']);
    expect(described).toMatchObject({ groupId: 'ledger-readers', state: 'Stable', protocolType: 'consumer' });
    expect(described.members).toHaveLength(1);
    expect(committed).toEqual([
      { topic: 'ledger', partitions: [{ partition: 0, offset: '3', metadata: null }] },
    ]);
    expect(ends).toEqual([{ partition: 0, offset: '5', high: '5', low: '0' }]);
    expect(afterSet[0]?.partitions[0]?.offset).toBe('1');
    expect(afterReset[0]?.partitions[0]?.offset).toBe('5');
  }, 60_000);

  it('consumes, transforms and produces exactly once: a transaction with sendOffsets in eachBatch', async () => {
    // Prepare: twelve messages over two partitions, and a group that commits only through transactions.
    const admin = kafka.admin();
    await admin.createTopics({
      topics: [
        { topic: 'eos-orders', numPartitions: 2 },
        { topic: 'eos-totals', numPartitions: 1 },
      ],
    });
    const producer = kafka.producer();
    await producer.connect();
    const inputs = Array.from({ length: 12 }, (_, n) => ({ key: `k${n % 3}`, value: String(n) }));
    await producer.send({ topic: 'eos-orders', messages: inputs });
    const consumer = kafka.consumer({ groupId: 'eos-billing', maxWaitTimeInMs: 200 });
    await consumer.subscribe({ topic: 'eos-orders', fromBeginning: true });
    let transformed = 0;

    // Act
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const transaction = await producer.transaction();
            await transaction.send({
              topic: 'eos-totals',
              messages: batch.messages.map((message) => ({ key: message.key, value: `x${message.value}` })),
            });
            await transaction.sendOffsets({
              consumerGroupId: 'eos-billing',
              topics: [
                {
                  topic: batch.topic,
                  partitions: [
                    { partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) },
                  ],
                },
              ],
            });
            await transaction.commit();
            transformed += batch.messages.length;
            if (transformed === inputs.length) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    const aborted = await producer.transaction();
    await aborted.send({ topic: 'eos-totals', messages: [{ value: 'never' }] });
    await aborted.abort();
    const committed = await admin.fetchOffsets({ groupId: 'eos-billing', topics: ['eos-orders'] });
    const outputs = await admin.fetchTopicOffsets('eos-totals');
    const inputEnds = await admin.fetchTopicOffsets('eos-orders');
    await producer.disconnect();

    // Assess: every input once in the output, nothing from the aborted one, offsets at the ends.
    expect(outputs).toEqual([{ partition: 0, offset: '12', high: '12', low: '0' }]);
    // A partition that never had a record has no committed offset (-1), as in KafkaJS.
    const committedOf = new Map(committed[0]?.partitions.map((p) => [p.partition, p.offset]));
    for (const end of inputEnds) {
      expect(committedOf.get(end.partition)).toBe(end.high === '0' ? '-1' : end.high);
    }
    await expect(aborted.commit()).rejects.toThrow(/already committed or aborted/);
  }, 60_000);

  it("throws KafkaJS's error classes: a protocol error for a missing topic, a connection error for no API", async () => {
    // Prepare
    const nowhere = new Kafka({ brokers: [`http://127.0.0.1:${await freePort()}`], retry: { retries: 0 } });

    // Act
    const missing = await kafka
      .admin()
      .deleteTopics({ topics: ['no-such-topic'] })
      .catch((error: unknown) => error);
    const unreachable = await nowhere
      .producer()
      .connect()
      .catch((error: unknown) => error);

    // Assess
    expect(missing).toBeInstanceOf(KafkaJSProtocolError);
    expect(missing).toMatchObject({ type: 'UNKNOWN_TOPIC_OR_PARTITION', code: 3 });
    expect(unreachable).toBeInstanceOf(KafkaJSConnectionError);
  });

  it('fails with a clear error for what has no meaning in Shoal: ACLs, legacy partitioner', async () => {
    // Act
    const acls = await kafka
      .admin()
      .createAcls({ acl: [] })
      .catch((error: unknown) => error);

    // Assess
    expect(acls).toBeInstanceOf(KafkaJSNotImplemented);
    expect((acls as Error).message).toMatch(/IAM policies/);
    const { Partitioners } = await import('../../client/kafkajs/index.js');
    expect(() => kafka.producer({ createPartitioner: Partitioners.LegacyPartitioner })).toThrow(
      /DefaultPartitioner/,
    );
  });

  it('fails with a TypeError naming the field when a program passes something wrong', async () => {
    // Prepare
    const producer = kafka.producer();
    await producer.connect();
    const send = (record: unknown) => producer.send(record as never).catch((error: unknown) => error);

    // Act and assess: each mistake names its field.
    expect(() => new Kafka({ brokers: ['kafka1:9092'] })).toThrow(
      /brokers\[0\] must be the Shoal API's http\(s\) URL/,
    );
    expect(
      () => new Kafka({ brokers: [api.url], sasl: { mechanism: 'plain', username: 'a', password: 'b' } }),
    ).toThrow(/sasl: mechanism 'plain'/);
    expect(() => kafka.consumer({} as never)).toThrow(/groupId must be a non-empty string/);
    expect(await send({ topic: 'bytes', records: [{ value: 'x' }] })).toMatchObject({
      name: 'TypeError',
      message: expect.stringMatching(/messages must be an array/),
    });
    expect(await send({ topic: 'bytes', messages: [{ value: 42 }] })).toMatchObject({
      name: 'TypeError',
      message: expect.stringMatching(
        /messages\[0\]\.value must be a Buffer, a string or null, got number 42/,
      ),
    });
    expect(await send({ topic: 'bytes', messages: [{ value: 'x', timestamp: 'yesterday' }] })).toMatchObject({
      name: 'TypeError',
      message: expect.stringMatching(/messages\[0\]\.timestamp must be epoch milliseconds/),
    });
    const consumer = kafka.consumer({ groupId: 'misuse' });
    expect(() => consumer.seek({ topic: 'bytes', partition: 0, offset: '1' })).toThrow(
      /consumer#run must be called first/,
    );
    await expect(consumer.subscribe({} as never)).rejects.toThrow(/subscribe: give topics/);
    await producer.disconnect();
  });
});
