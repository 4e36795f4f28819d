/**
 * The append with a commit (`POST /v1/groups/{group}/transactions`, guarantee 10) through
 * GroupService on the in-memory ports with a manual clock: the answer, all or nothing on every
 * refusal, a zombie fenced with a 409, offsets above the high watermark or below the committed one,
 * the Idempotency-Key's replay and reuse, retries after a rival moved a head or a timeout, and the
 * bounds of one transaction.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryGroupStore } from '../../shared/adapters/memory/group-store.js';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import { MemoryTransactionalLog } from '../../shared/adapters/memory/transactional-log.js';
import {
  FencedError,
  GroupNotEmptyError,
  IdempotencyKeyReusedError,
  InvalidCommitOffsetError,
  InvalidRequestError,
  LimitExceededError,
  OffsetRegressionError,
  RetryableError,
  TopicNotFoundError,
} from '../../shared/domain/errors.js';
import { GroupService } from '../../shared/domain/group-service.js';
import { LIMITS } from '../../shared/domain/limits.js';
import { LogService } from '../../shared/domain/log-service.js';
import { hashTransaction, type ProduceWithOffsetsInput } from '../../shared/domain/produce-with-offsets.js';
import type { ProduceRecordInput } from '../../shared/domain/record.js';
import { TopicService } from '../../shared/domain/topic-service.js';
import { problemFor } from '../../shared/http/problem.js';
import type {
  AppendWithCommitOutcome,
  AppendWithCommitRequest,
  IdempotencyRecord,
  TransactionalLog,
} from '../../shared/ports/partition-log.js';
import { manualClock } from '../support/manual-clock.js';

const START = 1_800_000_000_000;
const SESSION_MS = 10_000;
const NO_LIMITS = { recordsMax: 10_000, bytesMax: 10_000_000 };

/**
 * The in-memory transactional log with hooks: `before` runs before each transaction (a rival
 * writer, a rebalance), and `reportUnknown` answers `unknown` after applying (a timeout after the
 * request left).
 */
class HookedTransactionalLog implements TransactionalLog {
  before: (() => Promise<void>) | undefined;
  /** Answers `unknown` after applying the transactions numbered so (1 for the first). */
  reportUnknown: (call: number) => boolean = () => false;
  /** Answered instead of the next transaction, which is not applied. */
  answerNext: AppendWithCommitOutcome | undefined;
  /** Holds the next transaction back, answering `unknown`: it is still on its way (`releaseHeld`). */
  holdNext = false;
  private held: AppendWithCommitRequest | undefined;
  readonly outcomes: AppendWithCommitOutcome['kind'][] = [];

  constructor(private readonly inner: MemoryTransactionalLog) {}

  async appendWithCommit(request: AppendWithCommitRequest): Promise<AppendWithCommitOutcome> {
    await this.before?.();
    if (this.holdNext) {
      this.holdNext = false;
      this.held = request;
      this.outcomes.push('unknown');
      return { kind: 'unknown', cause: new Error('timed out') };
    }
    const forced = this.answerNext;
    this.answerNext = undefined;
    const outcome = forced ?? (await this.inner.appendWithCommit(request));
    this.outcomes.push(outcome.kind);
    if (this.reportUnknown(this.outcomes.length)) return { kind: 'unknown', cause: new Error('timed out') };
    return outcome;
  }

  /** Applies the transaction held back, as a slow request that lands after its timeout. */
  async releaseHeld(): Promise<AppendWithCommitOutcome['kind'] | undefined> {
    const held = this.held;
    this.held = undefined;
    return held && (await this.inner.appendWithCommit(held)).kind;
  }

  readCommitIdempotency(groupId: string, key: string, now: number): Promise<IdempotencyRecord | undefined> {
    return this.inner.readCommitIdempotency(groupId, key, now);
  }
}

const value = (text: string) => ({ type: 'STRING' as const, bytes: new TextEncoder().encode(text) });
const record = (text: string, partition = 0): ProduceRecordInput => ({
  key: null,
  value: value(text),
  headers: [],
  partition,
});

/** Topics `in` (5 records in partition 0, 3 in 1), `out` and `out2` (empty), and a member of `g` owning `in`. */
async function world() {
  const clock = manualClock(START);
  const topics = new MemoryTopicStore();
  const partitionLog = new MemoryPartitionLog({ now: clock.now });
  const groups = new MemoryGroupStore();
  const transactional = new HookedTransactionalLog(
    new MemoryTransactionalLog({ log: partitionLog, groups, now: clock.now }),
  );
  const log = new LogService(topics, partitionLog, clock);
  const topicService = new TopicService(topics, partitionLog, clock);
  const service = new GroupService(groups, topics, partitionLog, log, clock, transactional);
  for (const name of ['in', 'out', 'out2']) await topicService.create({ name, partitions: 2 });
  await log.produce(
    'in',
    [0, 0, 0, 0, 0, 1, 1, 1].map((partition) => record('i', partition)),
  );
  const member = await service.join('g', { topics: ['in'], sessionTimeoutMs: SESSION_MS });

  /** A transaction of the member: `outputs` records to `out` partition 0, offset `offset` of `in` 0. */
  const input = (
    offset: number,
    outputs = ['a', 'b'],
    generation = member.generation,
  ): ProduceWithOffsetsInput => ({
    memberId: member.memberId,
    generation,
    offsets: [{ topic: 'in', partition: 0, offset }],
    topics: [{ topic: 'out', records: outputs.map((text) => record(text)) }],
  });
  const head = async (topic: string, partition = 0) => {
    const found = await topics.get(topic);
    if (!found) throw new Error(`no topic ${topic}`);
    return (await partitionLog.readHeads(found, [partition]))[0]?.highWatermark;
  };
  const texts = async (topic: string, partition = 0) => {
    const found = await topics.get(topic);
    if (!found) throw new Error(`no topic ${topic}`);
    const batches = await partitionLog.readBatches(found, partition, 0, NO_LIMITS);
    return batches.flatMap((batch) =>
      batch.records.map((entry) => new TextDecoder().decode(entry.value?.bytes)),
    );
  };
  const committed = async (partition = 0) => (await groups.readOffset('g', 'in', partition))?.offset;
  return {
    clock,
    topics,
    partitionLog,
    groups,
    transactional,
    log,
    topicService,
    service,
    member,
    input,
    head,
    texts,
    committed,
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('produceWithOffsets: the answer', () => {
  it('appends to every topic, commits the offsets and refreshes the member, in one transaction', async () => {
    const { service, member, clock, groups, head, texts, committed } = await world();
    clock.advance(4_000);

    const result = await service.produceWithOffsets('g', {
      memberId: member.memberId,
      generation: member.generation,
      offsets: [
        { topic: 'in', partition: 0, offset: 3, metadata: 'm' },
        { topic: 'in', partition: 1, offset: 2 },
      ],
      topics: [
        { topic: 'out', records: [record('a'), record('b'), record('c', 1)] },
        { topic: 'out2', records: [record('x', 1)] },
      ],
    });

    expect(result).toEqual({
      group: 'g',
      generation: 1,
      topics: [
        {
          topic: 'out',
          records: [
            { partition: 0, offset: 0, timestamp: START + 4_000 },
            { partition: 0, offset: 1, timestamp: START + 4_000 },
            { partition: 1, offset: 0, timestamp: START + 4_000 },
          ],
        },
        { topic: 'out2', records: [{ partition: 1, offset: 0, timestamp: START + 4_000 }] },
      ],
      offsets: [
        { topic: 'in', partition: 0, offset: 3 },
        { topic: 'in', partition: 1, offset: 2 },
      ],
      duplicate: false,
    });
    expect(await texts('out')).toEqual(['a', 'b']);
    expect(await texts('out', 1)).toEqual(['c']);
    expect(await texts('out2', 1)).toEqual(['x']);
    expect(await head('out2', 0)).toBe(0);
    expect(await committed(0)).toBe(3);
    expect(await committed(1)).toBe(2);
    expect(await groups.readOffset('g', 'in', 0)).toMatchObject({
      metadata: 'm',
      committedAt: START + 4_000,
    });
    const [stored] = (await groups.read('g')).members;
    expect(stored).toMatchObject({ lastHeartbeat: START + 4_000, deadline: START + 4_000 + SESSION_MS });
  });

  it('commits for a standalone consumer (no member, no generation) while the group has no live member', async () => {
    const { service, clock, groups, texts } = await world();
    const whileLive = await rejection(
      service.produceWithOffsets('g', {
        offsets: [{ topic: 'in', partition: 1, offset: 3 }],
        topics: [{ topic: 'out', records: [record('s')] }],
      }),
    );
    clock.advance(SESSION_MS + 1);

    const result = await service.produceWithOffsets('solo', {
      offsets: [{ topic: 'in', partition: 1, offset: 3 }],
      topics: [{ topic: 'out', records: [record('s')] }],
    });

    expect(result.offsets).toEqual([{ topic: 'in', partition: 1, offset: 3 }]);
    expect(await texts('out')).toEqual(['s']);
    expect((await groups.readOffset('solo', 'in', 1))?.offset).toBe(3);
    expect(whileLive).toBeInstanceOf(GroupNotEmptyError);
    expect(await groups.readOffset('g', 'in', 1)).toBeUndefined();
  });
});

describe('produceWithOffsets: all or nothing', () => {
  it('fences a zombie (its generation moved on) with a 409 stale-generation, and writes nothing', async () => {
    const { service, input, head, committed } = await world();
    await service.join('g', { topics: ['in'], sessionTimeoutMs: SESSION_MS });

    const error = await rejection(service.produceWithOffsets('g', input(3, ['a'], 1)));

    expect(error).toBeInstanceOf(FencedError);
    expect(error).toMatchObject({ reason: 'stale-generation', generation: 2 });
    expect(problemFor(error)).toMatchObject({
      status: 409,
      slug: 'fenced-stale-generation',
      errorCode: 40910,
    });
    expect(await head('out')).toBe(0);
    expect(await committed()).toBeUndefined();
  });

  it('fences a member whose generation moves between its group read and the transaction', async () => {
    const { service, transactional, input, head, committed } = await world();
    transactional.before = async () => {
      transactional.before = undefined;
      await service.join('g', { topics: ['in'], sessionTimeoutMs: SESSION_MS });
    };

    const error = await rejection(service.produceWithOffsets('g', input(3)));

    expect(transactional.outcomes).toEqual(['generation-changed']);
    expect(error).toMatchObject({ name: 'FencedError', reason: 'stale-generation', generation: 2 });
    expect(await head('out')).toBe(0);
    expect(await committed()).toBeUndefined();
  });

  it('fences a member past its session timeout as unknown, and writes nothing', async () => {
    const { service, clock, input, head, committed } = await world();
    clock.advance(SESSION_MS + 1);

    const error = await rejection(service.produceWithOffsets('g', input(3)));

    expect(error).toMatchObject({ name: 'FencedError', reason: 'unknown-member' });
    expect(problemFor(error)?.status).toBe(409);
    expect(await head('out')).toBe(0);
    expect(await committed()).toBeUndefined();
  });

  it('refuses an offset above the high watermark, and writes nothing', async () => {
    const { service, input, head, committed } = await world();

    const error = await rejection(service.produceWithOffsets('g', input(6)));

    expect(error).toBeInstanceOf(InvalidCommitOffsetError);
    expect(error).toMatchObject({ topic: 'in', partition: 0, offset: 6, highWatermark: 5 });
    expect(await head('out')).toBe(0);
    expect(await committed()).toBeUndefined();
    // The high watermark itself is the largest offset there is to commit.
    await service.produceWithOffsets('g', input(5));
    expect(await committed()).toBe(5);
  });

  it('refuses an offset below the committed one, naming both, and writes nothing', async () => {
    const { service, input, head, committed } = await world();
    await service.produceWithOffsets('g', input(4));

    const error = await rejection(service.produceWithOffsets('g', input(2, ['late'])));

    expect(error).toBeInstanceOf(OffsetRegressionError);
    expect(error).toMatchObject({ group: 'g', topic: 'in', partition: 0, offset: 2, committedOffset: 4 });
    expect(await head('out')).toBe(2);
    expect(await committed()).toBe(4);
  });

  it('refuses a partition the member does not own, and writes nothing', async () => {
    const { service, member, head } = await world();
    const other = await service.join('g', { topics: ['in'], sessionTimeoutMs: SESSION_MS });
    const ownedByOther = other.assignments[0];
    if (!ownedByOther) throw new Error('the second member owns nothing');

    const error = await rejection(
      service.produceWithOffsets('g', {
        memberId: member.memberId,
        generation: other.generation,
        offsets: [{ topic: 'in', partition: ownedByOther.partition, offset: 1 }],
        topics: [{ topic: 'out', records: [record('a')] }],
      }),
    );

    expect(error).toMatchObject({ name: 'FencedError', reason: 'not-owner' });
    expect(await head('out')).toBe(0);
  });
});

describe('produceWithOffsets: Idempotency-Key', () => {
  it('answers a repeat with the first answer and writes nothing again, even after a rebalance', async () => {
    const { service, input, head, committed, clock } = await world();
    const first = await service.produceWithOffsets('g', input(3), 'k1');
    clock.advance(1_000);

    const again = await service.produceWithOffsets('g', input(3), 'k1');
    await service.join('g', { topics: ['in'], sessionTimeoutMs: SESSION_MS });
    const afterRebalance = await service.produceWithOffsets('g', input(3), 'k1');

    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ ...first, duplicate: true });
    expect(afterRebalance).toEqual({ ...first, duplicate: true });
    expect(await head('out')).toBe(2);
    expect(await committed()).toBe(3);
  });

  it('refuses the key with another request, and writes nothing', async () => {
    const { service, input, head, committed } = await world();
    await service.produceWithOffsets('g', input(3), 'k1');

    const otherRecords = await rejection(service.produceWithOffsets('g', input(3, ['other']), 'k1'));
    const otherOffset = await rejection(service.produceWithOffsets('g', input(4), 'k1'));

    expect(otherRecords).toBeInstanceOf(IdempotencyKeyReusedError);
    expect(otherOffset).toBeInstanceOf(IdempotencyKeyReusedError);
    expect(problemFor(otherOffset)?.status).toBe(422);
    expect(await head('out')).toBe(2);
    expect(await committed()).toBe(3);
    // Another key is another request.
    await service.produceWithOffsets('g', input(4), 'k2');
    expect(await head('out')).toBe(4);
  });

  it('takes the key again once its window passed', async () => {
    const { service, clock, texts } = await world();
    clock.advance(SESSION_MS + 1);
    const solo = {
      offsets: [{ topic: 'in', partition: 0, offset: 1 }],
      topics: [{ topic: 'out', records: [record('s')] }],
    };
    await service.produceWithOffsets('solo', solo, 'k');
    clock.advance(LIMITS.idempotencyWindowMs);
    const atWindow = await service.produceWithOffsets('solo', solo, 'k');
    clock.advance(1);

    const after = await service.produceWithOffsets('solo', solo, 'k');

    expect(atWindow.duplicate).toBe(true);
    expect(after.duplicate).toBe(false);
    expect(after.topics[0]?.records[0]?.offset).toBe(1);
    expect(await texts('out')).toEqual(['s', 's']);
  });
});

describe('produceWithOffsets: races', () => {
  it('places again after a rival moved a head, after the rival records', async () => {
    const { service, transactional, log, input, texts, committed } = await world();
    let rivals = 2;
    transactional.before = async () => {
      if (rivals-- > 0) await log.produce('out', [record('rival')]);
    };

    const result = await service.produceWithOffsets('g', input(3));

    expect(transactional.outcomes).toEqual(['head-moved', 'head-moved', 'appended']);
    expect(result.topics[0]?.records.map((position) => position.offset)).toEqual([2, 3]);
    expect(await texts('out')).toEqual(['rival', 'rival', 'a', 'b']);
    expect(await committed()).toBe(3);
  });

  it('gives up with a retryable error when rivals always win, having written nothing', async () => {
    const { service, transactional, log, input, texts, committed } = await world();
    transactional.before = async () => {
      await log.produce('out', [record('rival')]);
    };

    const error = await rejection(service.produceWithOffsets('g', input(3)));

    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ reason: 'contention' });
    expect(problemFor(error)?.status).toBe(503);
    expect(transactional.outcomes).toHaveLength(LIMITS.appendAttemptsMax);
    expect(await texts('out')).toEqual(Array(LIMITS.appendAttemptsMax).fill('rival'));
    expect(await committed()).toBeUndefined();
  });

  it('answers once when a transaction applied but timed out, without applying it twice', async () => {
    const { service, transactional, input, texts, committed } = await world();
    transactional.reportUnknown = (call) => call === 1;

    const result = await service.produceWithOffsets('g', input(3));

    expect(transactional.outcomes).toEqual(['appended']);
    expect(result).toMatchObject({ duplicate: false, offsets: [{ topic: 'in', partition: 0, offset: 3 }] });
    expect(result.topics[0]?.records.map((position) => position.offset)).toEqual([0, 1]);
    expect(await texts('out')).toEqual(['a', 'b']);
    expect(await committed()).toBe(3);
  });

  it('does not take a timed-out attempt that did not apply for one that did', async () => {
    const { service, transactional, log, input, texts } = await world();
    let rivals = 1;
    transactional.before = async () => {
      if (rivals-- > 0) await log.produce('out', [record('rival')]);
    };
    transactional.reportUnknown = (call) => call === 1;

    const result = await service.produceWithOffsets('g', input(3));

    expect(transactional.outcomes).toEqual(['head-moved', 'appended']);
    expect(result.topics[0]?.records.map((position) => position.offset)).toEqual([1, 2]);
    expect(await texts('out')).toEqual(['rival', 'a', 'b']);
  });
});

describe('produceWithOffsets: bounds and bad input', () => {
  it(`refuses more than ${LIMITS.transactionTopicsMax} topics, and writes nothing`, async () => {
    const { service, input, committed } = await world();
    const topics = Array.from({ length: LIMITS.transactionTopicsMax + 1 }, (_, i) => ({
      topic: `t${i}`,
      records: [record('a')],
    }));

    const error = await rejection(service.produceWithOffsets('g', { ...input(3), topics }));

    expect(error).toBeInstanceOf(LimitExceededError);
    expect(error).toMatchObject({
      limit: 'transactionTopics',
      value: LIMITS.transactionTopicsMax + 1,
      max: LIMITS.transactionTopicsMax,
    });
    expect(problemFor(error)?.status).toBe(413);
    expect(await committed()).toBeUndefined();
  });

  it(`refuses more than ${LIMITS.recordsPerRequestMax} records over all topics`, async () => {
    const { service, input, head } = await world();
    const half = LIMITS.recordsPerRequestMax / 2;

    const error = await rejection(
      service.produceWithOffsets('g', {
        ...input(3),
        topics: [
          { topic: 'out', records: Array(half).fill(record('a')) },
          { topic: 'out2', records: Array(half + 1).fill(record('b')) },
        ],
      }),
    );

    expect(error).toMatchObject({ name: 'LimitExceededError', limit: 'recordsPerRequest', value: 10_001 });
    expect(await head('out')).toBe(0);
  });

  it('refuses a transaction of more DynamoDB items than one transaction holds, and takes the largest that fits', async () => {
    const { service, topicService, input, committed } = await world();
    await topicService.create({ name: 'wide', partitions: 49 });
    const across = (partitions: number) => [
      { topic: 'wide', records: Array.from({ length: partitions }, (_, p) => record('w', p)) },
    ];

    // The group, the member, one offset, a head and a batch per partition: 3 + 2 × 49 = 101.
    const error = await rejection(service.produceWithOffsets('g', { ...input(3), topics: across(49) }));
    // With 48 partitions and the Idempotency-Key: 3 + 96 + 1 = 100.
    const withKey = await service.produceWithOffsets('g', { ...input(3), topics: across(48) }, 'k');
    const tooManyWithKey = await rejection(
      service.produceWithOffsets(
        'g',
        {
          ...input(4),
          topics: across(48),
          offsets: [
            { topic: 'in', partition: 0, offset: 4 },
            { topic: 'in', partition: 1, offset: 1 },
          ],
        },
        'k2',
      ),
    );

    expect(error).toMatchObject({
      name: 'LimitExceededError',
      limit: 'transactionItems',
      value: 101,
      max: 100,
    });
    expect(withKey.topics[0]?.records).toHaveLength(48);
    expect(tooManyWithKey).toMatchObject({ limit: 'transactionItems', value: 101 });
    expect(await committed()).toBe(3);
  });

  it(`refuses more than ${LIMITS.transactionBytesMax} stored bytes over all topics, and takes less`, async () => {
    const { service, input, head } = await world();
    const large = (count: number) =>
      Array.from({ length: count }, () => ({
        ...record('x'),
        value: { type: 'BINARY' as const, bytes: randomBytes(370_000) },
      }));

    // Random bytes do not compress: 11 × 370,000 bytes over two topics pass 4,000,000.
    const error = await rejection(
      service.produceWithOffsets('g', {
        ...input(3),
        topics: [
          { topic: 'out', records: large(6) },
          { topic: 'out2', records: large(5) },
        ],
      }),
    );
    const fits = await service.produceWithOffsets('g', {
      ...input(3),
      topics: [
        { topic: 'out', records: large(5) },
        { topic: 'out2', records: large(5) },
      ],
    });

    expect(error).toMatchObject({ name: 'LimitExceededError', limit: 'transactionBytes', max: 4_000_000 });
    expect((error as LimitExceededError).value).toBeGreaterThan(11 * 370_000);
    expect(fits.topics.map((entry) => entry.records.length)).toEqual([5, 5]);
    expect(await head('out')).toBe(5);
  });

  it('refuses malformed requests before writing anything', async () => {
    const { service, input, head } = await world();
    const refused = async (changes: Partial<ProduceWithOffsetsInput>) =>
      rejection(service.produceWithOffsets('g', { ...input(3), ...changes }));

    expect(await refused({ topics: [] })).toMatchObject({ name: 'InvalidRequestError', field: 'topics' });
    expect(
      await refused({
        topics: [
          { topic: 'out', records: [record('a')] },
          { topic: 'out', records: [record('b')] },
        ],
      }),
    ).toMatchObject({ name: 'InvalidRequestError', field: 'topics[1]' });
    expect(await refused({ topics: [{ topic: 'out', records: [] }] })).toMatchObject({
      name: 'InvalidRequestError',
      field: 'topics[0]',
    });
    expect(
      await refused({
        topics: [
          { topic: 'out2', records: [record('a')] },
          {
            topic: 'out',
            records: [record('a'), { ...record('b'), value: { type: 'STRING', uploadId: 'u-1' } }],
          },
        ],
      }),
    ).toMatchObject({ name: 'InvalidRequestError', field: 'topics[1]' });
    expect(await refused({ topics: [{ topic: 'missing', records: [record('a')] }] })).toBeInstanceOf(
      TopicNotFoundError,
    );
    expect(await refused({ generation: undefined })).toMatchObject({ field: 'generation' });
    expect(await rejection(service.produceWithOffsets('bad name!', input(3)))).toBeInstanceOf(
      InvalidRequestError,
    );
    expect(await head('out')).toBe(0);
  });
});

describe('produceWithOffsets: more edges', () => {
  it(`takes exactly ${LIMITS.transactionTopicsMax} topics`, async () => {
    const { service, topicService, input } = await world();
    const topics = [];
    for (let i = 0; i < LIMITS.transactionTopicsMax; i++) {
      await topicService.create({ name: `t${i}`, partitions: 1 });
      topics.push({ topic: `t${i}`, records: [record('a')] });
    }

    const result = await service.produceWithOffsets('g', { ...input(3), topics });

    expect(result.topics).toHaveLength(LIMITS.transactionTopicsMax);
  });

  it(`takes exactly ${LIMITS.recordsPerRequestMax} records`, async () => {
    const { service, input, head } = await world();

    await service.produceWithOffsets('g', {
      ...input(3),
      topics: [{ topic: 'out', records: Array(LIMITS.recordsPerRequestMax).fill(record('a')) }],
    });

    expect(await head('out')).toBe(LIMITS.recordsPerRequestMax);
  });

  it('counts no member item for a standalone consumer: 49 partitions fit its transaction', async () => {
    const { service, topicService, clock, head } = await world();
    await topicService.create({ name: 'wide', partitions: 49 });
    clock.advance(SESSION_MS + 1);

    // The group, one offset, a head and a batch per partition: 2 + 2 × 49 = 100.
    await service.produceWithOffsets('solo', {
      offsets: [{ topic: 'in', partition: 0, offset: 1 }],
      topics: [{ topic: 'wide', records: Array.from({ length: 49 }, (_, p) => record('w', p)) }],
    });

    expect(await head('wide', 48)).toBe(1);
  });

  it('answers a fenced member with a key and nothing stored under it with the fence, not a replay', async () => {
    const { service, input, member } = await world();
    await service.join('g', { topics: ['in'], sessionTimeoutMs: SESSION_MS });

    const zombie = await rejection(service.produceWithOffsets('g', input(3, ['a'], 1), 'k'));
    const noGroup = await rejection(
      service.produceWithOffsets('none', { ...input(3), memberId: member.memberId }, 'k'),
    );

    expect(zombie).toMatchObject({ name: 'FencedError', reason: 'stale-generation' });
    expect(noGroup).toMatchObject({ name: 'FencedError', reason: 'unknown-member' });
  });

  it('tries again when the key was taken but expired before it could be read back', async () => {
    const { service, transactional, input, head } = await world();
    transactional.answerNext = { kind: 'idempotency-key-exists' };

    const result = await service.produceWithOffsets('g', input(3), 'k');

    expect(transactional.outcomes).toEqual(['idempotency-key-exists', 'appended']);
    expect(result.duplicate).toBe(false);
    expect(await head('out')).toBe(2);
  });

  it('answers with the last attempt when it applied but timed out after every other lost its race', async () => {
    const { service, transactional, log, input, texts, committed } = await world();
    transactional.before = async () => {
      if (transactional.outcomes.length < LIMITS.appendAttemptsMax - 1)
        await log.produce('out', [record('r')]);
    };
    transactional.reportUnknown = (call) => call === LIMITS.appendAttemptsMax;

    const result = await service.produceWithOffsets('g', input(3));

    expect(transactional.outcomes.at(-1)).toBe('appended');
    expect(transactional.outcomes).toHaveLength(LIMITS.appendAttemptsMax);
    expect(result.topics[0]?.records[0]?.offset).toBe(LIMITS.appendAttemptsMax - 1);
    expect((await texts('out')).slice(-2)).toEqual(['a', 'b']);
    expect(await committed()).toBe(3);
  });

  it('refuses a topic deleted after it was read (its heads are tombstones), and writes nothing', async () => {
    const { service, topics, partitionLog, clock, input, committed } = await world();
    const out = await topics.get('out');
    if (!out) throw new Error('no topic out');
    const get = topics.get.bind(topics);
    topics.get = async (name) => {
      const found = await get(name);
      // Deleted, its closing cut short: one head of the two written is a tombstone.
      if (name === 'out') partitionLog.heads.put(out.topicId, 1, { dl: clock.now() });
      return found;
    };

    const error = await rejection(
      service.produceWithOffsets('g', {
        ...input(3),
        topics: [{ topic: 'out', records: [record('a', 0), record('b', 1)] }],
      }),
    );

    expect(error).toBeInstanceOf(TopicNotFoundError);
    expect(await committed()).toBeUndefined();
  });
});

describe('produceWithOffsets: lost races and late landings', () => {
  it('creates the group of a standalone consumer again when its first creation was lost', async () => {
    const { service, groups, clock, committed } = await world();
    clock.advance(SESSION_MS + 1);
    const write = groups.writeMembership.bind(groups);
    let lost = 1;
    groups.writeMembership = async (change) => (lost-- > 0 ? false : write(change));

    const result = await service.produceWithOffsets('solo', {
      offsets: [{ topic: 'in', partition: 0, offset: 2 }],
      topics: [{ topic: 'out', records: [record('s')] }],
    });

    expect(result.generation).toBe((await groups.read('solo')).record?.generation);
    expect((await groups.readOffset('solo', 'in', 0))?.offset).toBe(2);
    expect(await committed()).toBeUndefined();
  });

  it('keeps no Idempotency-Key for a transaction sent without one', async () => {
    const { service, input, head } = await world();
    await service.produceWithOffsets('g', input(3));

    const keyed = await service.produceWithOffsets('g', input(4, ['c']), 'undefined');

    expect(keyed.duplicate).toBe(false);
    expect(await head('out')).toBe(3);
  });

  it('answers with an attempt that timed out and landed late, and does not append twice', async () => {
    const { service, transactional, input, texts, committed } = await world();
    transactional.holdNext = true;
    let released = false;
    transactional.before = async () => {
      // The second attempt's request goes out just after the first one, still on its way, lands.
      if (transactional.outcomes.length === 1 && !released) {
        released = true;
        await transactional.releaseHeld();
      }
    };

    const result = await service.produceWithOffsets('g', input(3));

    expect(transactional.outcomes).toEqual(['unknown', 'head-moved']);
    expect(result.topics[0]?.records.map((position) => position.offset)).toEqual([0, 1]);
    expect(await texts('out')).toEqual(['a', 'b']);
    expect(await committed()).toBe(3);
  });
});

describe('hashTransaction', () => {
  const base: ProduceWithOffsetsInput = {
    memberId: 'c',
    generation: 1,
    offsets: [{ topic: 'in', partition: 0, offset: 3 }],
    topics: [{ topic: 'out', records: [record('a')] }],
  };

  it('tells every field apart, and the edges between them', () => {
    const hashes = [
      hashTransaction('ab', base),
      hashTransaction('a', { ...base, memberId: 'bc' }),
      hashTransaction('ab', { ...base, generation: 2 }),
      hashTransaction('ab', { ...base, offsets: [{ topic: 'in', partition: 0, offset: 3, metadata: '' }] }),
      hashTransaction('ab', {
        ...base,
        offsets: [{ topic: 'in', partition: 0, offset: 3, metadata: '\u0000' }],
      }),
      hashTransaction('ab', { ...base, offsets: [{ topic: 'in', partition: 0, offset: 3, metadata: 'm' }] }),
      hashTransaction('ab', {
        ...base,
        offsets: [{ topic: 'in', partition: 0, offset: 3, metadata: 'undefined' }],
      }),
      hashTransaction('ab', { ...base, offsets: [{ topic: 'in', partition: 0, offset: 4 }] }),
      hashTransaction('ab', { ...base, offsets: [{ topic: 'in', partition: 1, offset: 3 }] }),
      hashTransaction('ab', { ...base, topics: [{ topic: 'out', records: [record('b')] }] }),
    ];

    expect(new Set(hashes).size).toBe(hashes.length);
    expect(hashTransaction('ab', base)).toBe(hashTransaction('ab', { ...base }));
  });
});
