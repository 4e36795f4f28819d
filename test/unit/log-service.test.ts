/**
 * LogService on the in-memory ports with a manual clock: offsets dense and in request order
 * across races and unknown outcomes, the idempotency window from both sides, fetch bounds, and
 * which tier a fetch reads (README guarantees 1, 2, 3 and 9).
 */
import { describe, expect, it } from 'vitest';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemorySegmentManifest } from '../../shared/adapters/memory/segment-manifest.js';
import { MemorySegmentObjects } from '../../shared/adapters/memory/segment-objects.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import { Archiver } from '../../shared/domain/archiver.js';
import type { Clock } from '../../shared/domain/clock.js';
import {
  IdempotencyKeyReusedError,
  OffsetOutOfRangeError,
  PartitionNotFoundError,
  RetryableError,
  TopicNotFoundError,
} from '../../shared/domain/errors.js';
import { LIMITS } from '../../shared/domain/limits.js';
import { LogService, type ProduceRecordInput } from '../../shared/domain/log-service.js';
import { partitionForKey } from '../../shared/domain/partitioner.js';
import { FETCH_ROUNDS_MAX } from '../../shared/domain/record-collector.js';
import { SegmentMissingError } from '../../shared/domain/segment-format.js';
import { SegmentReader } from '../../shared/domain/segment-reader.js';
import { type CreateTopicInput, TopicService } from '../../shared/domain/topic-service.js';
import type { AppendOutcome, AppendRequest } from '../../shared/ports/partition-log.js';
import { type ManualClock, manualClock } from '../support/manual-clock.js';

const START = 1_800_000_000_000;
const WAIT_NONE = { recordsMax: 1_000, bytesMax: 1_000_000, waitMs: 0 };

/**
 * The in-memory log with a hook that runs before the next append (a competing producer) and
 * an optional answer that replaces the outcome (a timeout after the write, or before it).
 */
class InterferingLog extends MemoryPartitionLog {
  appendCalls = 0;
  readBatchesCalls = 0;
  beforeNextAppend: (() => Promise<void>) | undefined;
  /** Runs once after the next read of batches, before its answer is used. */
  afterNextReadBatches: (() => Promise<void>) | undefined;
  /**
   * Replaces the outcome of the next appends: `applied` says whether the write happens first;
   * `delayed`, that it happens only when the next append arrives (a write held up in the network).
   */
  answers: { outcome: AppendOutcome; applied: boolean; delayed?: boolean }[] = [];
  private readonly delayedWrites: AppendRequest[] = [];

  override async append(request: AppendRequest): Promise<AppendOutcome> {
    this.appendCalls++;
    for (const delayed of this.delayedWrites.splice(0)) await super.append(delayed);
    const hook = this.beforeNextAppend;
    this.beforeNextAppend = undefined;
    await hook?.();
    const answer = this.answers.shift();
    if (!answer) return super.append(request);
    if (answer.delayed) this.delayedWrites.push(request);
    else if (answer.applied) await super.append(request);
    return answer.outcome;
  }

  /** Runs once after the next read of heads, before its answer is used. */
  afterNextReadHeads: (() => Promise<void>) | undefined;

  override async readHeads(...args: Parameters<MemoryPartitionLog['readHeads']>) {
    const heads = await super.readHeads(...args);
    const hook = this.afterNextReadHeads;
    this.afterNextReadHeads = undefined;
    await hook?.();
    return heads;
  }

  override async readBatches(...args: Parameters<MemoryPartitionLog['readBatches']>) {
    this.readBatchesCalls++;
    const batches = await super.readBatches(...args);
    const hook = this.afterNextReadBatches;
    this.afterNextReadBatches = undefined;
    await hook?.();
    return batches;
  }
}

/** The segment bucket in memory with a hook that runs once before the first read of one object. */
class RacedObjects extends MemorySegmentObjects {
  beforeFirstReadOf: { key: string; hook: () => Promise<void> } | undefined;

  override async readRange(key: string, start: number, end: number): Promise<Uint8Array> {
    const race = this.beforeFirstReadOf;
    if (race?.key === key) {
      this.beforeFirstReadOf = undefined;
      await race.hook();
    }
    return super.readRange(key, start, end);
  }
}

/** A clock whose sleeps pass manual time, so that long polls end. */
function sleepingClock(clock: ManualClock, onSleep?: () => Promise<void>): Clock {
  return {
    now: clock.now,
    random: () => 0.5,
    sleep: async (ms) => {
      clock.advance(ms);
      await onSleep?.();
    },
  };
}

async function world(input: Partial<CreateTopicInput> = {}) {
  const clock = manualClock(START);
  const topics = new MemoryTopicStore();
  const log = new InterferingLog({ now: clock.now });
  const manifest = new MemorySegmentManifest(log.heads);
  const objects = new RacedObjects();
  const reader = new SegmentReader(manifest, objects);
  const service = new LogService(topics, log, clock, reader);
  const topicService = new TopicService(topics, log, clock);
  const archiver = new Archiver(topics, log, manifest, objects, clock);
  await topicService.create({ name: 't', partitions: 2, ...input });
  const topic = await topics.get('t');
  if (!topic) throw new Error('created above');
  return { clock, topics, log, manifest, objects, reader, service, topicService, archiver, topic };
}

const text = (value: string) => ({ type: 'STRING' as const, bytes: new TextEncoder().encode(value) });

function record(value: string, extra: Partial<ProduceRecordInput> = {}): ProduceRecordInput {
  return { key: null, value: text(value), headers: [], partition: 0, ...extra };
}

const values = (records: readonly { value: { bytes: Uint8Array } | null }[]) =>
  records.map((r) => (r.value ? new TextDecoder().decode(r.value.bytes) : null));

describe('LogService.produce', () => {
  it('gives the records of a partition consecutive offsets in request order, after the head', async () => {
    const { service } = await world();
    await service.produce('t', [record('a'), record('b')]);

    const result = await service.produce('t', [
      record('c'),
      record('x', { partition: 1 }),
      record('d'),
      record('e'),
    ]);

    expect(result.records.map((r) => [r.partition, r.offset])).toEqual([
      [0, 2],
      [1, 0],
      [0, 3],
      [0, 4],
    ]);
    expect(result.duplicate).toBe(false);
    const fetched = await service.fetch('t', 0, 0, WAIT_NONE);
    expect(values(fetched.records)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(fetched.records.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4]);
  });

  it('stamps records without a timestamp with the append time, and keeps the ones given', async () => {
    const { service, clock } = await world();
    clock.advance(1_234);

    const result = await service.produce('t', [record('a'), record('b', { timestamp: 42 })]);

    expect(result.records.map((r) => r.timestamp)).toEqual([START + 1_234, 42]);
    const fetched = await service.fetch('t', 0, 0, WAIT_NONE);
    expect(fetched.records.map((r) => r.timestamp)).toEqual([START + 1_234, 42]);
  });

  it('sends a keyed record to the partition of its key', async () => {
    const { service } = await world({ partitions: 8 });
    const key = text('customer-42');

    const result = await service.produce('t', [record('a', { partition: undefined, key })]);

    expect(result.records[0]?.partition).toBe(partitionForKey(key.bytes, 8));
  });

  it('fails for a missing topic or partition, and appends nothing', async () => {
    const { service, log, topic } = await world();

    await expect(service.produce('absent', [record('a')])).rejects.toBeInstanceOf(TopicNotFoundError);
    await expect(service.produce('t', [record('a', { partition: 2 })])).rejects.toBeInstanceOf(
      PartitionNotFoundError,
    );
    await expect(service.produce('t', [record('a', { partition: -1 })])).rejects.toBeInstanceOf(
      PartitionNotFoundError,
    );
    expect((await log.readHeads(topic, [0, 1])).map((head) => head.highWatermark)).toEqual([0, 0]);
  });

  it('places records after a competing append that moved the head first', async () => {
    const { service, log, topics, clock } = await world();
    const competitor = new LogService(topics, log, clock);
    log.beforeNextAppend = async () => {
      await competitor.produce('t', [record('rival-1'), record('rival-2')]);
    };

    const result = await service.produce('t', [record('mine')]);

    expect(result.records.map((r) => r.offset)).toEqual([2]);
    const fetched = await service.fetch('t', 0, 0, WAIT_NONE);
    expect(values(fetched.records)).toEqual(['rival-1', 'rival-2', 'mine']);
  });

  it('answers an append whose outcome was unknown but which landed, without appending it twice', async () => {
    const { service, log, topic } = await world();
    await service.produce('t', [record('before')]);
    log.answers = [{ outcome: { kind: 'unknown', cause: new Error('timeout') }, applied: true }];

    const result = await service.produce('t', [record('a'), record('b')]);

    expect(result.records.map((r) => r.offset)).toEqual([1, 2]);
    expect(result.duplicate).toBe(false);
    expect((await log.readHeads(topic, [0]))[0]?.highWatermark).toBe(3);
  });

  it('answers an append reported as head-moved by its own retried write', async () => {
    const { service, log, topic } = await world();
    log.answers = [{ outcome: { kind: 'head-moved' }, applied: true }];

    const result = await service.produce('t', [record('a')]);

    expect(result.records.map((r) => r.offset)).toEqual([0]);
    expect((await log.readHeads(topic, [0]))[0]?.highWatermark).toBe(1);
  });

  it('appends again after an unknown outcome that did not land', async () => {
    const { service, log, topic } = await world();
    log.answers = [{ outcome: { kind: 'unknown', cause: new Error('timeout') }, applied: false }];

    const result = await service.produce('t', [record('a')]);

    expect(result.records.map((r) => r.offset)).toEqual([0]);
    expect(log.appendCalls).toBe(2);
    expect((await log.readHeads(topic, [0]))[0]?.highWatermark).toBe(1);
  });

  it('answers the append that landed late, not a second copy of it', async () => {
    const { service, log, topic } = await world();
    log.answers = [
      { outcome: { kind: 'unknown', cause: new Error('timeout') }, applied: false, delayed: true },
    ];

    const result = await service.produce('t', [record('a')]);

    expect(result).toMatchObject({ duplicate: false, records: [{ offset: 0 }] });
    expect((await log.readHeads(topic, [0]))[0]?.highWatermark).toBe(1);
    expect(log.appendCalls).toBe(2);
  });

  it('answers the last attempt when it landed though reported lost', async () => {
    const { service, log, topic } = await world();
    log.answers = Array.from({ length: LIMITS.appendAttemptsMax }, (_, i) => ({
      outcome: { kind: 'head-moved' } as const,
      applied: i === LIMITS.appendAttemptsMax - 1,
    }));

    const result = await service.produce('t', [record('a')]);

    expect(result).toMatchObject({ duplicate: false, records: [{ offset: 0 }] });
    expect((await log.readHeads(topic, [0]))[0]?.highWatermark).toBe(1);
  });

  it('fails as retryable after appendAttemptsMax lost races, with nothing appended', async () => {
    const { service, log, topic } = await world();
    log.answers = Array.from({ length: LIMITS.appendAttemptsMax + 1 }, () => ({
      outcome: { kind: 'head-moved' } as const,
      applied: false,
    }));

    const error = await service.produce('t', [record('a')]).catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).reason).toBe('contention');
    expect((error as RetryableError).message).toContain('Gave up appending to t');
    expect(log.appendCalls).toBe(LIMITS.appendAttemptsMax);
    expect((await log.readHeads(topic, [0]))[0]?.highWatermark).toBe(0);
  });
});

describe('LogService.produce with an Idempotency-Key', () => {
  it('answers a repeat with the first answer and appends nothing', async () => {
    const { service, log, topic } = await world();
    const first = await service.produce('t', [record('a'), record('b', { partition: 1 })], 'key-1');

    const again = await service.produce('t', [record('a'), record('b', { partition: 1 })], 'key-1');

    expect(again).toEqual({ ...first, duplicate: true });
    expect((await log.readHeads(topic, [0, 1])).map((head) => head.highWatermark)).toEqual([1, 1]);
  });

  it('replays producer timestamps as they were given', async () => {
    const { service } = await world();
    const records = [record('a', { timestamp: 10 }), record('b', { timestamp: 7 }), record('c')];
    const first = await service.produce('t', records, 'key-1');

    const again = await service.produce('t', records, 'key-1');

    expect(again.records).toEqual(first.records);
  });

  it('still answers the repeat at the last millisecond of the window', async () => {
    const { service, clock } = await world();
    await service.produce('t', [record('a')], 'key-1');
    clock.advance(LIMITS.idempotencyWindowMs);

    const again = await service.produce('t', [record('a')], 'key-1');

    expect(again.duplicate).toBe(true);
    expect(again.records.map((r) => r.offset)).toEqual([0]);
  });

  it('appends the repeat anew once the window has passed', async () => {
    const { service, clock } = await world();
    await service.produce('t', [record('a')], 'key-1');
    clock.advance(LIMITS.idempotencyWindowMs + 1);

    const again = await service.produce('t', [record('a')], 'key-1');

    expect(again.duplicate).toBe(false);
    expect(again.records.map((r) => r.offset)).toEqual([1]);
  });

  it('appends when the key expired between the refused append and the read of its answer', async () => {
    const { service, log } = await world();
    log.answers = [{ outcome: { kind: 'idempotency-key-exists' }, applied: false }];

    const result = await service.produce('t', [record('a')], 'key-1');

    expect(result).toMatchObject({ duplicate: false, records: [{ offset: 0 }] });
    expect(log.appendCalls).toBe(2);
  });

  it('keeps an appended batch in DynamoDB for localRetentionMs', async () => {
    const { service, log, topic, clock } = await world({ retentionMs: 3_600_000, localRetentionMs: 120_000 });
    clock.advance(500);

    await service.produce('t', [record('a')]);

    const [stored] = await log.readEncodedBatches(topic, 0, 0, { batchesMax: 1, bytesMax: 1_000_000 });
    expect(stored?.expiresAt).toBe(Math.ceil((START + 500 + 120_000) / 1000) * 1000);
  });

  it('fails when the key comes back with other records, and appends nothing', async () => {
    const { service, log, topic } = await world();
    await service.produce('t', [record('a')], 'key-1');

    const reused = await service.produce('t', [record('other')], 'key-1').catch((thrown: unknown) => thrown);

    expect(reused).toBeInstanceOf(IdempotencyKeyReusedError);
    expect((reused as IdempotencyKeyReusedError).idempotencyKey).toBe('key-1');
    await expect(service.produce('t', [record('a', { timestamp: 5 })], 'key-1')).rejects.toBeInstanceOf(
      IdempotencyKeyReusedError,
    );
    expect((await log.readHeads(topic, [0]))[0]?.highWatermark).toBe(1);
  });

  it('appends the same records twice without a key, and under two keys', async () => {
    const { service } = await world();

    const results = [
      await service.produce('t', [record('a')]),
      await service.produce('t', [record('a')]),
      await service.produce('t', [record('a')], 'key-1'),
      await service.produce('t', [record('a')], 'key-2'),
    ];

    expect(results.map((r) => [r.records[0]?.offset, r.duplicate])).toEqual([
      [0, false],
      [1, false],
      [2, false],
      [3, false],
    ]);
  });
});

describe('LogService.fetch', () => {
  it('answers records from the offset on, bounded by recordsMax', async () => {
    const { service } = await world();
    await service.produce(
      't',
      ['a', 'b', 'c', 'd'].map((v) => record(v)),
    );

    const fetched = await service.fetch('t', 0, 1, { ...WAIT_NONE, recordsMax: 2 });

    expect(values(fetched.records)).toEqual(['b', 'c']);
    expect(fetched).toMatchObject({
      topic: 't',
      partition: 0,
      nextOffset: 3,
      highWatermark: 4,
      logStartOffset: 0,
    });
  });

  it('answers no records at the high watermark without reading any, and fails just past it', async () => {
    const { service, log } = await world();
    await service.produce('t', [record('a'), record('b')]);

    const readsBefore = log.readBatchesCalls;
    const atEnd = await service.fetch('t', 0, 2, WAIT_NONE);

    expect(atEnd).toMatchObject({ records: [], nextOffset: 2, highWatermark: 2 });
    expect(log.readBatchesCalls).toBe(readsBefore);
    await expect(service.fetch('t', 0, 3, WAIT_NONE)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    await expect(service.fetch('t', 0, -1, WAIT_NONE)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    await expect(service.fetch('t', 2, 0, WAIT_NONE)).rejects.toBeInstanceOf(PartitionNotFoundError);
  });

  it('waits for records at the high watermark and answers the first that arrives', async () => {
    const { clock, topics, log } = await world();
    const producer = new LogService(topics, log, clock);
    let sleeps = 0;
    const waiting = new LogService(
      topics,
      log,
      sleepingClock(clock, async () => {
        if (++sleeps === 3) await producer.produce('t', [record('late')]);
      }),
    );

    const fetched = await waiting.fetch('t', 0, 0, { ...WAIT_NONE, waitMs: 10_000 });

    expect(values(fetched.records)).toEqual(['late']);
    expect(clock.now() - START).toBe(3 * LIMITS.fetchPollIntervalMs);
  });

  it('gives up waiting after waitMs, and never waits longer than fetchWaitMsMax', async () => {
    const { clock, topics, log } = await world();
    const waiting = new LogService(topics, log, sleepingClock(clock));

    const short = await waiting.fetch('t', 0, 0, { ...WAIT_NONE, waitMs: 250 });
    const shortWaitMs = clock.now() - START;
    await waiting.fetch('t', 0, 0, { ...WAIT_NONE, waitMs: LIMITS.fetchWaitMsMax * 10 });

    expect(short.records).toEqual([]);
    expect(shortWaitMs).toBe(250);
    expect(clock.now() - START - shortWaitMs).toBe(LIMITS.fetchWaitMsMax);
  });

  it('answers from the new incarnation of a topic deleted and created again during the wait', async () => {
    const { clock, topics, log, service, topicService } = await world();
    await service.produce('t', [record('a'), record('b')]);
    const waiting = new LogService(
      topics,
      log,
      sleepingClock(clock, async () => {
        if ((await topics.get('t'))?.partitionCount === 1) return;
        await topicService.delete('t');
        await topicService.create({ name: 't', partitions: 1 });
      }),
    );

    // By name, as a Kafka consumer fetches: offset 2 is past the new incarnation's end.
    await expect(waiting.fetch('t', 0, 2, { ...WAIT_NONE, waitMs: 1_000 })).rejects.toMatchObject({
      name: 'OffsetOutOfRangeError',
      highWatermark: 0,
    });
  });
});

describe('LogService.fetch of a topic deleted and created again during the wait', () => {
  it('waits on the new incarnation only for what is left of the wait', async () => {
    const { clock, topics, log, topicService } = await world();
    const waiting = new LogService(
      topics,
      log,
      sleepingClock(clock, async () => {
        const current = await topics.get('t');
        if (current?.partitionCount === 1) return;
        await topicService.delete('t');
        await topicService.create({ name: 't', partitions: 1 });
      }),
    );
    const startedAt = clock.now();

    const answer = await waiting.fetch('t', 0, 0, { ...WAIT_NONE, waitMs: 1_000 });

    expect(answer).toMatchObject({ records: [], highWatermark: 0 });
    expect(clock.now() - startedAt).toBeLessThanOrEqual(1_000);
  });
});

describe('LogService.fetch of a deleted topic', () => {
  it('fails with TopicNotFoundError for a topic deleted during the wait', async () => {
    const { clock, topics, log, service, topicService } = await world();
    await service.produce('t', [record('a')]);
    const waiting = new LogService(
      topics,
      log,
      sleepingClock(clock, async () => {
        if (await topics.get('t')) await topicService.delete('t');
      }),
    );

    await expect(waiting.fetch('t', 0, 1, { ...WAIT_NONE, waitMs: 1_000 })).rejects.toBeInstanceOf(
      TopicNotFoundError,
    );
  });
});

describe('LogService.fetch across tiers', () => {
  /** A topic whose partition 0 has records a..f in three appends, the first two archived. */
  async function archived() {
    const w = await world({ segmentMs: 1_000 });
    await w.service.produce('t', [record('a'), record('b')]);
    await w.service.produce('t', [record('c'), record('d')]);
    w.clock.advance(1_001);
    const report = await w.archiver.archivePartition(w.topic, 0);
    await w.service.produce('t', [record('e'), record('f')]);
    expect(report.archivedOffset).toBe(4);
    return w;
  }

  it('reads offsets below archivedOffset from S3 even when DynamoDB lost them', async () => {
    const { service, log } = await archived();
    log.deleteExpired(Number.MAX_SAFE_INTEGER);

    const fetched = await service.fetch('t', 0, 1, WAIT_NONE);

    expect(values(fetched.records)).toEqual(['b', 'c', 'd']);
    expect(fetched.nextOffset).toBe(4);
  });

  it('reads offsets at and above archivedOffset from DynamoDB, without S3', async () => {
    const { service, objects } = await archived();
    await objects.deleteObjects(objects.keys());

    const fetched = await service.fetch('t', 0, 4, WAIT_NONE);

    expect(values(fetched.records)).toEqual(['e', 'f']);
  });

  it('answers one contiguous run across the tier boundary', async () => {
    const { service } = await archived();

    const fetched = await service.fetch('t', 0, 0, WAIT_NONE);

    expect(values(fetched.records)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(fetched.records.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(fetched).toMatchObject({ nextOffset: 6, highWatermark: 6 });
  });

  it('reads an expired, unarchived batch from where the stream rescued it', async () => {
    const { service, log, objects, topic } = await world();
    await service.produce('t', [record('a')]);
    await service.produce('t', [record('b')]);
    const [lost] = await log.readEncodedBatches(topic, 0, 0, { batchesMax: 1, bytesMax: 1_000_000 });
    if (!lost) throw new Error('appended above');
    await objects.putRescued(topic.topicId, 0, lost);
    log.deleteExpired(Number.MAX_SAFE_INTEGER);
    await service.produce('t', [record('c')]);

    const fetched = await service.fetch('t', 0, 0, WAIT_NONE);

    // Offset 1 expired too and was not rescued: the answer ends before it.
    expect(values(fetched.records)).toEqual(['a']);
    const between = await service.fetch('t', 0, 1, WAIT_NONE).catch((thrown: unknown) => thrown);
    expect(between).toBeInstanceOf(RetryableError);
    expect((between as RetryableError).reason).toBe('unavailable');
    expect((between as RetryableError).message).toContain('Offset 1 of t-0');
    expect(values((await service.fetch('t', 0, 2, WAIT_NONE)).records)).toEqual(['c']);
  });

  it('fails as retryable when the last batches expired before they were archived or rescued', async () => {
    const { service, log } = await world();
    await service.produce('t', [record('a')]);
    await service.produce('t', [record('b')]);
    log.deleteExpired(Number.MAX_SAFE_INTEGER);

    await expect(service.fetch('t', 0, 0, WAIT_NONE)).rejects.toBeInstanceOf(RetryableError);
  });

  it('moves between tiers at most FETCH_ROUNDS_MAX times in one fetch', async () => {
    const { service, log, objects, topic } = await world();
    for (let i = 0; i < FETCH_ROUNDS_MAX + 4; i++) await service.produce('t', [record(`r${i}`)]);
    const batches = await log.readEncodedBatches(topic, 0, 0, { batchesMax: 100, bytesMax: 1_000_000 });
    for (const lost of batches) await objects.putRescued(topic.topicId, 0, lost);
    log.deleteExpired(Number.MAX_SAFE_INTEGER);

    const fetched = await service.fetch('t', 0, 0, WAIT_NONE);

    expect(fetched.records).toHaveLength(FETCH_ROUNDS_MAX);
    expect(fetched.nextOffset).toBe(FETCH_ROUNDS_MAX);
  });

  it('reads from S3 a batch archived and expired after the fetch read the head', async () => {
    const { service, log, archiver, topic, clock } = await world({ segmentMs: 1_000 });
    await service.produce('t', [record('a')]);
    await service.produce('t', [record('b')]);
    clock.advance(1_001);
    log.afterNextReadHeads = async () => {
      await archiver.archivePartition(topic, 0);
      log.deleteExpired(Number.MAX_SAFE_INTEGER);
    };

    const fetched = await service.fetch('t', 0, 0, WAIT_NONE);

    expect(values(fetched.records)).toEqual(['a', 'b']);
  });

  /** Partition 0 with a, b archived in one segment and c in DynamoDB. */
  async function oneSegment() {
    const w = await world({ segmentMs: 1_000 });
    await w.service.produce('t', [record('a'), record('b')]);
    w.clock.advance(1_001);
    await w.archiver.archivePartition(w.topic, 0);
    await w.service.produce('t', [record('c')]);
    const [segment] = await w.manifest.segmentsFrom(w.topic, 0, 0, 1);
    if (!segment) throw new Error('archived above');
    return { ...w, segment };
  }

  it('fails as out of range when retention deleted the segment after the fetch read the head', async () => {
    const { service, log, objects, manifest, topic, segment } = await oneSegment();
    log.afterNextReadHeads = async () => {
      await objects.deleteObjects([segment.key]);
      await manifest.advanceLogStartOffset(topic, 0, 0, segment.lastOffset + 1, segment.batchBytes);
    };

    await expect(service.fetch('t', 0, 0, WAIT_NONE)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
  });

  it('answers the records of one segment when retention deleted the next before the fetch read it', async () => {
    const w = await world({ segmentMs: 1_000 });
    await w.service.produce('t', [record('a'), record('b')]);
    w.clock.advance(1_001);
    await w.archiver.archivePartition(w.topic, 0);
    await w.service.produce('t', [record('c')]);
    w.clock.advance(1_001);
    await w.archiver.archivePartition(w.topic, 0);
    await w.service.produce('t', [record('d')]);
    const [first, second] = await w.manifest.segmentsFrom(w.topic, 0, 0, 2);
    if (!first || !second) throw new Error('archived above');
    // Retention runs between the fetch's reads of the two segments and deletes both.
    w.objects.beforeFirstReadOf = {
      key: second.key,
      hook: async () => {
        await w.objects.deleteObjects([first.key, second.key]);
        await w.manifest.advanceLogStartOffset(w.topic, 0, 0, second.lastOffset + 1, 0);
      },
    };

    const fetched = await w.service.fetch('t', 0, 0, WAIT_NONE);

    expect(values(fetched.records)).toEqual(['a', 'b']);
    expect(fetched).toMatchObject({ nextOffset: 2, logStartOffset: 3 });
  });

  it('fails with SegmentMissingError when a segment is gone that retention did not delete', async () => {
    const { service, objects, segment } = await oneSegment();
    await objects.deleteObjects([segment.key]);

    await expect(service.fetch('t', 0, 0, WAIT_NONE)).rejects.toBeInstanceOf(SegmentMissingError);
  });

  it('ends the answer where the S3 request budget of one fetch runs out', async () => {
    const w = await world({ segmentMs: 1_000 });
    await w.service.produce('t', [record('a'), record('b')]);
    w.clock.advance(1_001);
    await w.archiver.archivePartition(w.topic, 0);
    await w.service.produce('t', [record('c')]);
    w.clock.advance(1_001);
    await w.archiver.archivePartition(w.topic, 0);
    w.log.deleteExpired(Number.MAX_SAFE_INTEGER);
    const frugal = new LogService(
      w.topics,
      w.log,
      w.clock,
      new SegmentReader(w.manifest, w.objects, { requestsPerReadMax: 2 }),
    );

    const fetched = await frugal.fetch('t', 0, 0, WAIT_NONE);

    expect(values(fetched.records)).toEqual(['a', 'b']);
    expect(fetched.nextOffset).toBe(2);
  });

  it('fails as out of range once retention deleted the records', async () => {
    const w = await world({ segmentMs: 1_000, retentionMs: 60_000, localRetentionMs: 60_000 });
    await w.service.produce('t', [record('a'), record('b')]);
    w.clock.advance(1_001);
    await w.archiver.archivePartition(w.topic, 0);
    await w.service.produce('t', [record('c')]);
    w.clock.advance(60_000);
    const kept = await w.archiver.archivePartition(w.topic, 0);
    w.clock.advance(1);
    const deleted = await w.archiver.archivePartition(w.topic, 0);

    expect([kept.logStartOffset, deleted.logStartOffset]).toEqual([0, 2]);
    await expect(w.service.fetch('t', 0, 1, WAIT_NONE)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    expect(values((await w.service.fetch('t', 0, 2, WAIT_NONE)).records)).toEqual(['c']);
  });
});

describe('LogService.offsetForTimestamp', () => {
  it('finds the first offset at or after a timestamp, in both tiers, or the high watermark', async () => {
    const { service, clock, archiver, topic } = await world({ segmentMs: 1_000 });
    await service.produce('t', [record('a', { timestamp: 100 }), record('b', { timestamp: 300 })]);
    await service.produce('t', [record('c', { timestamp: 200 }), record('d', { timestamp: 400 })]);
    clock.advance(1_001);
    await archiver.archivePartition(topic, 0);
    await service.produce('t', [record('e', { timestamp: 500 }), record('f', { timestamp: 600 })]);

    const at = (timestamp: number) => service.offsetForTimestamp('t', 0, timestamp);

    expect(await at(0)).toBe(0);
    expect(await at(100)).toBe(0);
    expect(await at(101)).toBe(1);
    expect(await at(300)).toBe(1);
    expect(await at(301)).toBe(3);
    expect(await at(401)).toBe(4);
    expect(await at(600)).toBe(5);
    expect(await at(601)).toBe(6);
  });

  it('searches DynamoDB alone when nothing is archived', async () => {
    const { service } = await world();
    for (const timestamp of [10, 20, 30, 40]) await service.produce('t', [record('x', { timestamp })]);

    expect(await service.offsetForTimestamp('t', 0, 25)).toBe(2);
    expect(await service.offsetForTimestamp('t', 0, 40)).toBe(3);
    expect(await service.offsetForTimestamp('t', 1, 0)).toBe(0);
  });
});
