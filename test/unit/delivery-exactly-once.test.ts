/**
 * Exactly-once delivery (a subscription with an output topic) on the in-memory ports, with the
 * in-memory transactional log: the records a function returns are appended with the commit of the
 * batch that produced them, in one transaction, together with the batch's dead letters; a batch
 * whose transaction is not written has written nothing; a run that lost its position to another
 * run (or to a reset) writes nothing and goes on from the stored offset.
 */
import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_HEADERS } from '../../shared/domain/dead-letter.js';
import { deliveryWorld, eventRecords, FN, START, text } from '../support/delivery-world.js';

/** A function that returns one output per record: the record's text upper-cased, keyed by its offset. */
const upperCase = (event: unknown) => ({
  records: eventRecords(event).map((record) => ({
    key: { type: 'STRING', data: `k-${record.offset}` },
    value: { type: 'STRING', data: (text(record) ?? '').toUpperCase() },
  })),
});

const headerText = (headers: readonly { name: string; value: Uint8Array }[], name: string) => {
  const header = headers.find((h) => h.name === name);
  return header && new TextDecoder().decode(header.value);
};

async function exactlyOnceWorld(
  input: Parameters<Awaited<ReturnType<typeof deliveryWorld>>['subscribe']>[0] = {},
) {
  const w = await deliveryWorld();
  const subscription = await w.subscribe({ outputTopic: 'out', ...input });
  return { ...w, subscription };
}

describe('exactly-once delivery: outputs with the commit', () => {
  it("appends each batch's outputs and commits past the batch in one transaction, in order", async () => {
    const w = await exactlyOnceWorld({ batchSize: 2 });
    await w.produce('a', 'b', 'c', 'd', 'e');
    w.invoker.register(FN, upperCase);

    const report = await w.run();

    expect(report.failures).toEqual([]);
    expect(w.batches()).toEqual([[0, 1], [2, 3], [4]]);
    expect(await w.texts('out')).toEqual(['A', 'B', 'C', 'D', 'E']);
    expect((await w.records('out')).map((r) => new TextDecoder().decode(r.key?.bytes))).toEqual([
      'k-0',
      'k-1',
      'k-2',
      'k-3',
      'k-4',
    ]);
    expect(w.transactional.requests.map((r) => r.commit.offsets.map((o) => o.offset))).toEqual([
      [2],
      [4],
      [5],
    ]);
    expect(w.groupStore.commits).toEqual([]); // no plain commit: each went with its outputs
    expect(await w.committed()).toBe(5);
    expect(report.subscriptions[0]?.counters).toEqual({
      delivered: 5,
      invocations: 3,
      errors: 0,
      deadLettered: 0,
      filtered: 0,
      discarded: 0,
    });
    expect(report.subscriptions[0]?.lag).toBe(0);
  });

  it('names each transaction by the subscription, partition, generation and the position it starts from', async () => {
    const w = await exactlyOnceWorld({ batchSize: 2 });
    await w.produce('a', 'b', 'c');
    w.invoker.register(FN, upperCase);
    const { generation } = (await w.memoryGroups.read('sub')).record ?? { generation: -1 };

    await w.run();

    const id = w.subscription.subscriptionId;
    expect(w.transactional.requests.map((r) => r.idempotency?.key)).toEqual([
      `shoal-eos:${id}:0:${generation}:0`,
      `shoal-eos:${id}:0:${generation}:2`,
    ]);
  });

  it('commits without a transaction when the function returns no records', async () => {
    const w = await exactlyOnceWorld({ batchSize: 2 });
    await w.produce('a', 'b', 'c');
    w.invoker.register(FN, () => ({ batchItemFailures: [] }));

    const report = await w.run();

    expect(w.transactional.requests).toEqual([]);
    expect(w.groupStore.commits).toEqual(['committed', 'committed']);
    expect(await w.committed()).toBe(3);
    expect(await w.texts('out')).toEqual([]);
    expect(report.subscriptions[0]?.counters).toMatchObject({ delivered: 3, invocations: 2 });
  });

  it('commits past filtered records with the outputs of the others, and counts them', async () => {
    const w = await exactlyOnceWorld({ filters: ['{"value":{"kind":["keep"]}}'] });
    await w.produce('{"kind":"keep"}', '{"kind":"drop"}', '{"kind":"drop"}');
    w.invoker.register(FN, (event) => ({
      records: eventRecords(event).map((r) => ({ value: { type: 'STRING', data: `seen ${r.offset}` } })),
    }));

    const report = await w.run();

    expect(w.batches()).toEqual([[0]]);
    expect(await w.texts('out')).toEqual(['seen 0']);
    expect(await w.committed()).toBe(3);
    expect(report.subscriptions[0]?.counters).toMatchObject({ delivered: 1, filtered: 2, invocations: 1 });
  });

  it('appends the outputs of the records before a reported failure, and those of the retry after', async () => {
    const w = await exactlyOnceWorld({ reportBatchItemFailures: true });
    await w.produce('a', 'b', 'c');
    let calls = 0;
    w.invoker.register(FN, (event) => {
      calls++;
      const records = eventRecords(event);
      const done = calls === 1 ? records.filter((r) => r.offset < 1) : records;
      return {
        records: done.map((r) => ({ value: { type: 'STRING', data: text(r) ?? '' } })),
        batchItemFailures: calls === 1 ? [{ itemIdentifier: 't-0-1' }] : [],
      };
    });

    const report = await w.run();

    expect(w.batches()).toEqual([
      [0, 1, 2],
      [1, 2],
    ]);
    expect(await w.texts('out')).toEqual(['a', 'b', 'c']);
    expect(w.transactional.requests.map((r) => r.commit.offsets[0]?.offset)).toEqual([1, 3]);
    expect(report.subscriptions[0]?.counters).toMatchObject({ delivered: 3, errors: 1, invocations: 2 });
  });

  it('appends nothing a failed batch returned, and retries it', async () => {
    const w = await exactlyOnceWorld({ reportBatchItemFailures: true, retryAttempts: 3 });
    await w.produce('a', 'b');
    let calls = 0;
    w.invoker.register(FN, (event) => {
      calls++;
      const answer = upperCase(event);
      return calls === 1 ? { ...answer, batchItemFailures: [{ itemIdentifier: 't-0-0' }] } : answer;
    });

    await w.run();

    expect(w.batches()).toEqual([
      [0, 1],
      [0, 1],
    ]);
    expect(await w.texts('out')).toEqual(['A', 'B']);
  });
});

describe('exactly-once delivery: dead letters in the transaction', () => {
  it('writes the dead letters of a batch in the transaction of its commit, with the outputs of the others', async () => {
    const w = await exactlyOnceWorld({
      batchSize: 1,
      retryAttempts: 1,
      onFailure: { topic: 'dlq' },
    });
    await w.produce('poison', 'fine');
    w.invoker.register(FN, (event) => {
      if (eventRecords(event).some((record) => text(record) === 'poison')) throw new RangeError('bad record');
      return upperCase(event);
    });

    const report = await w.run();

    expect(w.batches()).toEqual([[0], [0], [1]]);
    expect(await w.texts('out')).toEqual(['FINE']);
    const dead = await w.records('dlq');
    expect(dead.map((r) => new TextDecoder().decode(r.value?.bytes))).toEqual(['poison']);
    expect(headerText(dead[0]?.headers ?? [], DEAD_LETTER_HEADERS.reason)).toBe('retries-exhausted');
    expect(headerText(dead[0]?.headers ?? [], DEAD_LETTER_HEADERS.attempts)).toBe('2');
    expect(headerText(dead[0]?.headers ?? [], DEAD_LETTER_HEADERS.error)).toBe('RangeError: bad record');
    expect(headerText(dead[0]?.headers ?? [], DEAD_LETTER_HEADERS.subscription)).toBe('sub');
    expect(headerText(dead[0]?.headers ?? [], DEAD_LETTER_HEADERS.partition)).toBe('0');
    // The dead letter went with the commit past it, not by a produce of its own.
    expect(w.transactional.requests.map((r) => r.appends.map((a) => a.topic.name))).toEqual([
      ['dlq'],
      ['out'],
    ]);
    expect(w.transactional.requests[0]?.commit.offsets[0]?.offset).toBe(1);
    expect(report.subscriptions[0]?.counters).toEqual({
      delivered: 1,
      invocations: 3,
      errors: 2,
      deadLettered: 1,
      filtered: 0,
      discarded: 0,
    });
    expect(await w.committed()).toBe(2);
  });

  it('discards what it gives up without a dead-letter topic, with a plain commit', async () => {
    const w = await exactlyOnceWorld({ batchSize: 1, retryAttempts: 0 });
    await w.produce('poison', 'fine');
    w.invoker.register(FN, (event) => {
      if (eventRecords(event).some((record) => text(record) === 'poison')) throw new RangeError('bad record');
      return upperCase(event);
    });

    const report = await w.run();

    expect(await w.texts('out')).toEqual(['FINE']);
    expect(w.groupStore.commits).toEqual(['committed']);
    expect(report.subscriptions[0]?.counters).toMatchObject({ discarded: 1, deadLettered: 0, delivered: 1 });
    expect(await w.committed()).toBe(2);
  });

  it('dead-letters records past the maximum age in the transaction, without invoking for them', async () => {
    const w = await exactlyOnceWorld({ maxRecordAgeMs: 60_000, onFailure: { topic: 'dlq' } });
    await w.produce('old');
    w.manual.advance(61_000);
    await w.produce('young');
    w.invoker.register(FN, upperCase);

    const report = await w.run();

    expect(w.batches()).toEqual([[1]]);
    expect(await w.texts('out')).toEqual(['YOUNG']);
    const dead = await w.records('dlq');
    expect(headerText(dead[0]?.headers ?? [], DEAD_LETTER_HEADERS.reason)).toBe('record-age-exceeded');
    expect(headerText(dead[0]?.headers ?? [], DEAD_LETTER_HEADERS.timestamp)).toBe(String(START));
    expect(w.transactional.requests).toHaveLength(1);
    expect(report.subscriptions[0]?.counters).toMatchObject({ deadLettered: 1, delivered: 1 });
  });
});

describe('exactly-once delivery: answers that cannot be appended', () => {
  it('fails a batch whose answer holds records that are not records, and appends nothing for it', async () => {
    const w = await exactlyOnceWorld({ retryAttempts: 1 });
    await w.produce('a');
    w.invoker.register(FN, () => ({ records: [{ value: { type: 'NUMBER', data: 1 } }] }));

    const report = await w.run();

    expect(w.batches()).toEqual([[0], [0]]);
    expect(await w.texts('out')).toEqual([]);
    expect(await w.committed()).toBe(1);
    expect(report.subscriptions[0]?.counters).toMatchObject({
      invocations: 2,
      errors: 2,
      delivered: 0,
      discarded: 1,
    });
    const state = await w.state();
    expect(state?.lastError?.message).toBe(
      'Invalid records in the answer: records[0].value must be {"type": "JSON" | "STRING" | "BINARY", "data": ...}',
    );
    expect(state?.lastError?.offset).toBe(0);
  });

  it('fails a batch whose outputs name a partition the output topic lacks, and dead-letters it once retries run out', async () => {
    const w = await exactlyOnceWorld({ retryAttempts: 0, onFailure: { topic: 'dlq' } });
    await w.produce('a');
    w.invoker.register(FN, () => ({ records: [{ value: { type: 'STRING', data: 'x' }, partition: 5 }] }));

    const report = await w.run();

    expect(await w.texts('out')).toEqual([]);
    expect(await w.texts('dlq')).toEqual(['a']);
    const [dead] = await w.records('dlq');
    expect(headerText(dead?.headers ?? [], DEAD_LETTER_HEADERS.error)).toMatch(
      /^The function's records cannot be appended to the output topic: .*partition/i,
    );
    expect(await w.committed()).toBe(1);
    expect(report.subscriptions[0]?.counters).toEqual({
      delivered: 0,
      invocations: 1,
      errors: 1,
      deadLettered: 1,
      filtered: 0,
      discarded: 0,
    });
  });

  it('retries a batch whose outputs cannot be appended, as a failed batch, from its start', async () => {
    const w = await exactlyOnceWorld({ retryAttempts: 2 });
    await w.produce('a');
    let calls = 0;
    w.invoker.register(FN, () => {
      calls++;
      return { records: [{ value: { type: 'STRING', data: 'x' }, partition: calls < 3 ? 5 : 0 }] };
    });

    const report = await w.run();

    expect(w.batches()).toEqual([[0], [0], [0]]);
    expect(await w.texts('out')).toEqual(['x']);
    expect(await w.committed()).toBe(1);
    expect(report.subscriptions[0]?.counters).toMatchObject({ invocations: 3, errors: 2, delivered: 1 });
    expect(w.sleeps.filter((ms) => ms >= 50)).toHaveLength(2); // a backoff before each retry
  });
});

describe('exactly-once delivery: position moved by another run', () => {
  it('writes nothing when another run delivered from the same position meanwhile (a replay)', async () => {
    const w = await exactlyOnceWorld();
    await w.produce('a', 'b');
    let calls = 0;
    w.invoker.register(FN, async (event) => {
      calls++;
      if (calls === 1) {
        // This run's lease runs out mid-invocation, and another run delivers the same batch.
        w.manual.advance(60_000);
        const rival = await w.run();
        expect(rival.failures).toEqual([]);
      }
      return upperCase(event);
    });

    const report = await w.run();

    expect(report.failures).toEqual([]);
    expect(w.batches()).toEqual([
      [0, 1],
      [0, 1],
    ]);
    expect(await w.texts('out')).toEqual(['A', 'B']);
    expect(await w.committed()).toBe(2);
  });

  it('writes nothing when another run delivered from the same position with other outputs (a reused key)', async () => {
    const w = await exactlyOnceWorld();
    await w.produce('a', 'b', 'c');
    let calls = 0;
    w.invoker.register(FN, async () => {
      calls++;
      const call = calls;
      if (call === 1) {
        w.manual.advance(60_000);
        await w.run();
      }
      return { records: [{ value: { type: 'STRING', data: `call ${call}` } }] };
    });

    const report = await w.run();

    expect(report.failures).toEqual([]);
    expect(await w.texts('out')).toEqual(['call 2']);
    expect(await w.committed()).toBe(3);
  });

  it('goes on from a reset that moved past the batch during its invocation, writing nothing for it', async () => {
    const w = await exactlyOnceWorld({ batchSize: 2 });
    await w.produce('a', 'b', 'c', 'd', 'e');
    let calls = 0;
    w.invoker.register(FN, async (event) => {
      calls++;
      if (calls === 1) await w.groups.reset('sub', { topic: 't', to: { kind: 'offset', offset: 3 } });
      return upperCase(event);
    });

    const report = await w.run();

    expect(report.failures).toEqual([]);
    expect(w.batches()).toEqual([
      [0, 1],
      [3, 4],
    ]);
    expect(await w.texts('out')).toEqual(['D', 'E']);
    expect(await w.committed()).toBe(5);
  });

  it('delivers again after a reset back to a position it delivered before, and appends the outputs again', async () => {
    // A reset is a new epoch of the group: the replay the operator asked for writes under keys of
    // its own. Before the reset moved the generation, every replayed transaction met the stored
    // key of the first delivery and went back to the same offset until the keys expired.
    const w = await exactlyOnceWorld({ batchSize: 2 });
    await w.produce('a', 'b', 'c');
    w.invoker.register(FN, (event) => {
      w.manual.advance(1_000); // each invocation takes a second, so a run that loops ends at its deadline
      return upperCase(event);
    });
    await w.run(20_000);
    const before = (await w.memoryGroups.read('sub')).record?.generation ?? -1;

    const reset = await w.groups.reset('sub', { topic: 't', to: { kind: 'earliest' } });
    const report = await w.run(20_000);

    expect(reset.generation).toBe(before + 1);
    expect(report.failures).toEqual([]);
    expect(w.batches()).toEqual([[0, 1], [2], [0, 1], [2]]);
    expect(await w.texts('out')).toEqual(['A', 'B', 'C', 'A', 'B', 'C']);
    expect(await w.committed()).toBe(3);
    const id = w.subscription.subscriptionId;
    expect(w.transactional.requests.map((r) => r.idempotency?.key).slice(2)).toEqual([
      `shoal-eos:${id}:0:${before + 1}:0`,
      `shoal-eos:${id}:0:${before + 1}:2`,
    ]);
  });
});

describe('exactly-once delivery: failed transactions', () => {
  it('tries a failed transaction once more, and appends the outputs once', async () => {
    const w = await exactlyOnceWorld();
    await w.produce('a');
    w.invoker.register(FN, upperCase);
    let failures = 1;
    w.transactional.before = async () => {
      if (failures-- > 0) throw new Error('the network is down');
    };

    const report = await w.run();

    expect(report.failures).toEqual([]);
    expect(w.batches()).toEqual([[0]]);
    expect(await w.texts('out')).toEqual(['A']);
    expect(await w.committed()).toBe(1);
  });

  it('gives the partition up for this run after two failed transactions, and a later run delivers it once', async () => {
    const w = await exactlyOnceWorld();
    await w.produce('a');
    w.invoker.register(FN, upperCase);
    let failures = 2;
    w.transactional.before = async () => {
      if (failures-- > 0) throw new Error('the network is down');
    };

    const failed = await w.run();
    const committedAfterFailure = await w.committed();
    const outputsAfterFailure = await w.texts('out');
    const later = await w.run();

    expect(failed.failures).toEqual([
      { subscription: 'sub', partition: 0, error: new Error('the network is down') },
    ]);
    expect(committedAfterFailure).toBe(0);
    expect(outputsAfterFailure).toEqual([]);
    expect(later.failures).toEqual([]);
    expect(await w.texts('out')).toEqual(['A']);
    expect(await w.committed()).toBe(1);
    expect((await w.state())?.lastError?.message).toBe('the network is down');
  });
});
