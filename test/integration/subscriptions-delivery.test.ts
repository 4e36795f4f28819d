/**
 * Delivery to subscribed module handlers on the local stack: order, the Kafka event shape through
 * Powertools, bisecting a poison record into the dead-letter topic, partial batch answers, filters
 * and starting positions. Each test uses topics of its own; the handlers' journal is keyed by topic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEAD_LETTER_HEADERS } from '../../shared/domain/dead-letter.js';
import { deliveredOffsets, invocationsOf, jsonValueOf } from '../fixtures/subscribers/journal.js';
import { json, str } from '../support/http-client.js';
import {
  createTopic,
  describeSubscription,
  eventually,
  headerText,
  produce,
  readPartition,
  SUBSCRIBERS,
  type SubscriptionStack,
  startSubscriptionStack,
  subscribe,
} from '../support/subscriptions.js';

let stack: SubscriptionStack;

beforeAll(async () => {
  stack = await startSubscriptionStack('deliver');
});
afterAll(() => stack.close());

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('a subscribed module handler', () => {
  it('receives every produced record exactly in partition order, as a SelfManagedKafka event', async () => {
    // Prepare
    const { api } = stack;
    await createTopic(api, 'ordered', 3);
    await subscribe(api, {
      name: 'ordered-sub',
      topic: 'ordered',
      target: { module: SUBSCRIBERS.recording },
      startingPosition: 'TRIM_HORIZON',
      batchSize: 7,
      maxBatchingWindowMs: 0,
    });

    // Act: keyed records in several requests, so batches and partitions interleave
    const produced = new Map<number, number>();
    for (let request = 0; request < 4; request++) {
      const answer = await produce(
        api,
        'ordered',
        range(0, 15).map((i) => ({
          key: str(`key-${i % 5}`),
          value: json({ request, i }),
          headers: [{ name: 'trace', value: Buffer.from('héllo').toString('base64') }],
        })),
      );
      for (const position of answer.records) {
        produced.set(
          position.partition,
          Math.max(produced.get(position.partition) ?? 0, position.offset + 1),
        );
      }
    }

    // Assess: each partition's offsets arrive once, in order
    await eventually(
      () => [...produced].every(([partition, end]) => deliveredOffsets('ordered', partition).length >= end),
      'every record delivered',
    );
    for (const [partition, end] of produced) {
      expect(deliveredOffsets('ordered', partition)).toEqual(range(0, end));
    }
    const [first] = invocationsOf('ordered');
    const record = first?.records[0];
    expect(record).toMatchObject({ topic: 'ordered', timestampType: 'CREATE_TIME' });
    expect(Buffer.from(record?.key ?? '', 'base64').toString()).toMatch(/^key-\d$/);
    // Header values are Java's signed bytes, as Lambda sends them: 'é' is 0xC3 0xA9.
    expect(record?.headers).toEqual([{ trace: [104, -61, -87, 108, 108, 111] }]);
    expect(
      Math.max(...invocationsOf('ordered').map((invocation) => invocation.records.length)),
    ).toBeLessThanOrEqual(7);
  });

  it("passes through Powertools' kafkaConsumer with JSON values intact", async () => {
    // Prepare
    const { api } = stack;
    await createTopic(api, 'typed');
    await subscribe(api, {
      name: 'typed-sub',
      topic: 'typed',
      target: { module: SUBSCRIBERS.powertools },
      startingPosition: 'TRIM_HORIZON',
      maxBatchingWindowMs: 0,
    });
    const values = [
      { id: 1, name: 'Zoë ☃', tags: ['a', 'b'] },
      { id: 2, name: 'quote " and \\ backslash', tags: [] },
      { id: 3, name: '𝄞 beyond the BMP', tags: ['x'] },
    ];

    // Act
    await produce(
      api,
      'typed',
      values.map((value, i) => ({
        key: str(`k${i}`),
        value: json(value),
        headers: [{ name: 'origin', value: Buffer.from('zürich').toString('base64') }],
      })),
    );

    // Assess
    const parsed = await eventually(() => {
      const all = invocationsOf('typed').flatMap((invocation) => invocation.parsed ?? []);
      return all.length >= values.length && all;
    }, 'the records through kafkaConsumer');
    expect(parsed.map((record) => record.value)).toEqual(values);
    expect(parsed.map((record) => record.key)).toEqual(['k0', 'k1', 'k2']);
    expect(parsed[0]?.headers).toEqual([{ origin: 'zürich' }]);
  });

  it('bisects a poison record out, dead-letters it with headers saying why, and delivers the rest', async () => {
    // Prepare
    const { api } = stack;
    await createTopic(api, 'payments');
    await createTopic(api, 'payments-dlq');
    await subscribe(api, {
      name: 'payments-sub',
      topic: 'payments',
      target: { module: SUBSCRIBERS.poison },
      startingPosition: 'TRIM_HORIZON',
      batchSize: 10,
      maxBatchingWindowMs: 0,
      bisectBatchOnError: true,
      retryAttempts: 1,
      onFailure: { topic: 'payments-dlq' },
    });

    // Act
    await produce(
      api,
      'payments',
      range(0, 10).map((i) => ({ key: str(`p${i}`), value: json(i === 6 ? { i, poison: true } : { i }) })),
    );

    // Assess
    const [letter] = await eventually(async () => {
      const records = await readPartition(api, 'payments-dlq');
      return records.length > 0 && records;
    }, 'the dead letter');
    expect(letter.value).toEqual(json({ i: 6, poison: true }));
    expect(letter.key).toEqual(str('p6'));
    expect(headerText(letter, DEAD_LETTER_HEADERS.reason)).toBe('retries-exhausted');
    expect(headerText(letter, DEAD_LETTER_HEADERS.topic)).toBe('payments');
    expect(headerText(letter, DEAD_LETTER_HEADERS.offset)).toBe('6');
    expect(headerText(letter, DEAD_LETTER_HEADERS.attempts)).toBe('2');
    expect(headerText(letter, DEAD_LETTER_HEADERS.error)).toContain('cannot process offset 6');
    // Counters are saved with the lease, at most a second after the position.
    const description = await eventually(async () => {
      const described = await describeSubscription(api, 'payments-sub');
      return described.totals.lag === 0 && described.totals.delivered === 9 && described;
    }, 'the subscription caught up');
    expect(description.totals).toMatchObject({ deadLettered: 1, delivered: 9, lag: 0 });
    expect(description.totals.errors).toBeGreaterThanOrEqual(2);
    expect(description.partitions[0].lastError.message).toContain('TypeError: cannot process offset 6');
    expect(deliveredOffsets('payments', 0)).toEqual([...range(0, 6), ...range(7, 10)]);
    const group = await api.get('/v1/groups/payments-sub');
    expect(group.body.offsets).toEqual([
      expect.objectContaining({ topic: 'payments', committedOffset: 10, lag: 0 }),
    ]);
  });

  it.each(['objectForm', 'stringForm'])('commits up to the first failure named in %s', async (form) => {
    // Prepare
    const { api } = stack;
    const topic = `partial-${form}`;
    await createTopic(api, topic);
    await produce(
      api,
      topic,
      range(0, 8).map((i) => ({ value: json(i === 3 || i === 5 ? { i, failTimes: 1 } : { i }) })),
    );

    // Act
    await subscribe(api, {
      name: `${topic}-sub`,
      topic,
      target: { module: SUBSCRIBERS.partial, handler: form },
      startingPosition: 'TRIM_HORIZON',
      batchSize: 8,
      maxBatchingWindowMs: 0,
      reportBatchItemFailures: true,
    });

    // Assess: the first batch commits 0..2; the retry starts at 3 and reports 3 and 5 no more
    const invocations = await eventually(() => {
      const all = invocationsOf(topic);
      return (
        all.some(
          (invocation) => invocation.records.at(-1)?.offset === 7 && invocation.records[0]?.offset === 3,
        ) && all
      );
    }, 'the retry from the first failure');
    expect(invocations.map((invocation) => invocation.records.map((record) => record.offset))).toEqual([
      range(0, 8),
      range(3, 8),
    ]);
    const description = await eventually(async () => {
      const described = await describeSubscription(api, `${topic}-sub`);
      return described.totals.lag === 0 && described.totals.invocations === 2 && described;
    }, 'the commit of the whole partition');
    expect(description.totals).toMatchObject({ delivered: 3 + 5, errors: 1, invocations: 2 });
  });

  it('commits records no filter matches without delivering them', async () => {
    // Prepare
    const { api } = stack;
    await createTopic(api, 'mixed');
    await subscribe(api, {
      name: 'mixed-sub',
      topic: 'mixed',
      target: { module: SUBSCRIBERS.recording },
      startingPosition: 'TRIM_HORIZON',
      maxBatchingWindowMs: 0,
      filters: [
        { pattern: '{"value": {"kind": ["order"], "amount": [{"numeric": [">", 10]}]}}' },
        { pattern: { value: [{ prefix: 'URGENT' }] } },
      ],
    });

    // Act
    await produce(api, 'mixed', [
      { value: json({ kind: 'order', amount: 50 }) },
      { value: json({ kind: 'order', amount: 5 }) },
      { value: json({ kind: 'refund', amount: 50 }) },
      { value: str('URGENT: call back') },
      { value: str('routine note') },
      { key: str('tombstone') },
    ]);

    // Assess
    const description = await eventually(async () => {
      const described = await describeSubscription(api, 'mixed-sub');
      return described.partitions[0].committedOffset === 6 && described.totals.filtered === 4 && described;
    }, 'the commit past every record');
    expect(deliveredOffsets('mixed', 0)).toEqual([0, 3]);
    expect(description.totals).toMatchObject({ delivered: 2, filtered: 4, lag: 0 });
  });

  it('skips history when created at LATEST', async () => {
    // Prepare
    const { api } = stack;
    await createTopic(api, 'latest');
    await produce(
      api,
      'latest',
      range(0, 5).map((i) => ({ value: json({ old: i }) })),
    );
    await subscribe(api, {
      name: 'latest-sub',
      topic: 'latest',
      target: { module: SUBSCRIBERS.recording },
      startingPosition: 'LATEST',
      maxBatchingWindowMs: 0,
    });

    // Act
    await produce(
      api,
      'latest',
      range(0, 3).map((i) => ({ value: json({ new: i }) })),
    );

    // Assess
    await eventually(() => deliveredOffsets('latest', 0).length >= 3, 'the new records');
    expect(deliveredOffsets('latest', 0)).toEqual([5, 6, 7]);
  });

  it('starts at the first record at or after its timestamp when created AT_TIMESTAMP', async () => {
    // Prepare
    const { api } = stack;
    const base = Date.parse('2026-01-01T00:00:00Z');
    await createTopic(api, 'timed');
    await produce(
      api,
      'timed',
      range(0, 10).map((i) => ({ value: json({ i }), timestamp: base + i * 1000 })),
    );

    // Act
    await subscribe(api, {
      name: 'timed-sub',
      topic: 'timed',
      target: { module: SUBSCRIBERS.recording },
      startingPosition: 'AT_TIMESTAMP',
      startingPositionTimestamp: new Date(base + 4500).toISOString(),
      maxBatchingWindowMs: 0,
    });

    // Assess: the sweep delivers the records already there, from offset 5 on
    await eventually(() => deliveredOffsets('timed', 0).length >= 5, 'the records from the timestamp');
    expect(deliveredOffsets('timed', 0)).toEqual(range(5, 10));
    expect(
      jsonValueOf(
        invocationsOf('timed')[0]?.records[0] ?? {
          topic: '',
          partition: 0,
          offset: 0,
          timestamp: 0,
          headers: [],
        },
      ),
    ).toEqual({ i: 5 });
  });
});
