/**
 * Produce with offsets (guarantee 10) against DynamoDB Local and the S3 server: records appended to
 * several topics and a member's committed offsets in one transaction, fenced by generation,
 * idempotent under an Idempotency-Key, all or nothing, and resolved once after a timeout that
 * followed the write.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  FencedError,
  InvalidCommitOffsetError,
  OffsetRegressionError,
  PartitionNotFoundError,
} from '../../shared/domain/errors.js';
import type { ProduceRecordInput } from '../../shared/domain/record.js';
import { type Services, servicesFor } from '../../shared/services.js';
import { createFaultInjector } from '../support/faults.js';
import { createTestRuntime } from '../support/local-aws.js';

const faults = createFaultInjector({ seed: 14 });
let services: Services;

const text = (data: string): ProduceRecordInput => ({
  key: { type: 'STRING', bytes: Buffer.from(data.slice(0, 1)) },
  value: { type: 'STRING', bytes: Buffer.from(data) },
  headers: [],
});

beforeAll(async () => {
  const runtime = await createTestRuntime({ tablePrefix: 'eos-domain', decorateDynamoDb: faults.install });
  services = servicesFor(runtime);
  await services.topics.create({ name: 'in', partitions: 2 });
  await services.topics.create({ name: 'out', partitions: 3 });
  await services.topics.create({ name: 'audit', partitions: 1 });
  for (const partition of [0, 1]) {
    await services.log.produce(
      'in',
      Array.from({ length: 10 }, (_, i) => ({ ...text(`in-${i}`), partition })),
    );
  }
});
beforeEach(() => faults.reset());
afterAll(() => faults.reset());

async function highWatermarks(topic: string): Promise<number[]> {
  const described = await services.topics.describe(topic);
  return described.partitions.map((partition) => partition.highWatermark);
}

describe('produce with offsets', () => {
  it('appends to two topics and commits the offsets in one step', async () => {
    const member = await services.groups.join('eos-ok', { topics: ['in'] });
    const before = await highWatermarks('out');

    const result = await services.groups.produceWithOffsets('eos-ok', {
      memberId: member.memberId,
      generation: member.generation,
      topics: [
        { topic: 'out', records: [text('a1'), text('b1'), text('a2')] },
        { topic: 'audit', records: [text('x')] },
      ],
      offsets: [{ topic: 'in', partition: 0, offset: 4 }],
    });

    expect(result.duplicate).toBe(false);
    expect(result.topics.map((entry) => entry.records.length)).toEqual([3, 1]);
    const after = await highWatermarks('out');
    expect(after.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0)).toBe(3);
    const offset = await services.groups.describe('eos-ok');
    expect(offset.offsets.find((o) => o.partition === 0)?.committedOffset).toBe(4);
  });

  it('fails when the member is a zombie: FencedError, and nothing is appended or committed', async () => {
    const zombie = await services.groups.join('eos-zombie', { topics: ['in'] });
    await services.groups.join('eos-zombie', { topics: ['in'] });
    const before = await highWatermarks('out');

    await expect(
      services.groups.produceWithOffsets('eos-zombie', {
        memberId: zombie.memberId,
        generation: zombie.generation,
        topics: [{ topic: 'out', records: [text('z')] }],
        offsets: [{ topic: 'in', partition: 0, offset: 3 }],
      }),
    ).rejects.toBeInstanceOf(FencedError);

    expect(await highWatermarks('out')).toEqual(before);
    const { offsets } = await services.groups.describe('eos-zombie');
    expect(offsets.filter((offset) => offset.committedOffset !== null)).toEqual([]);
  });

  it('fails when an offset is above its high watermark, and nothing is appended', async () => {
    const member = await services.groups.join('eos-above', { topics: ['in'] });
    const before = await highWatermarks('out');

    await expect(
      services.groups.produceWithOffsets('eos-above', {
        memberId: member.memberId,
        generation: member.generation,
        topics: [{ topic: 'out', records: [text('q')] }],
        offsets: [{ topic: 'in', partition: 1, offset: 11 }],
      }),
    ).rejects.toBeInstanceOf(InvalidCommitOffsetError);

    expect(await highWatermarks('out')).toEqual(before);
  });

  it('fails when the commit is refused (an offset below the committed one): nothing is appended', async () => {
    const member = await services.groups.join('eos-refused', { topics: ['in'] });
    const commit = { memberId: member.memberId, generation: member.generation };
    await services.groups.commit('eos-refused', {
      ...commit,
      offsets: [{ topic: 'in', partition: 0, offset: 6 }],
    });
    const before = await highWatermarks('out');

    await expect(
      services.groups.produceWithOffsets('eos-refused', {
        ...commit,
        topics: [{ topic: 'out', records: [text('r1')] }],
        offsets: [{ topic: 'in', partition: 0, offset: 5 }],
      }),
    ).rejects.toBeInstanceOf(OffsetRegressionError);

    expect(await highWatermarks('out')).toEqual(before);
  });

  it('fails when the append is refused (a partition that does not exist): nothing is committed', async () => {
    const member = await services.groups.join('eos-no-partition', { topics: ['in'] });
    const before = await highWatermarks('out');

    await expect(
      services.groups.produceWithOffsets('eos-no-partition', {
        memberId: member.memberId,
        generation: member.generation,
        topics: [
          { topic: 'out', records: [text('p1')] },
          { topic: 'audit', records: [{ ...text('p2'), partition: 5 }] },
        ],
        offsets: [{ topic: 'in', partition: 1, offset: 4 }],
      }),
    ).rejects.toBeInstanceOf(PartitionNotFoundError);

    expect(await highWatermarks('out')).toEqual(before);
    const { offsets } = await services.groups.describe('eos-no-partition');
    expect(offsets.filter((offset) => offset.committedOffset !== null)).toEqual([]);
  });

  it('applies once through transaction conflicts, retrying with fresh heads', async () => {
    const member = await services.groups.join('eos-conflict', { topics: ['in'] });
    const before = await highWatermarks('out');
    faults.add({ commands: ['TransactWriteItems'], fault: 'conflict', times: 2 });

    const result = await services.groups.produceWithOffsets('eos-conflict', {
      memberId: member.memberId,
      generation: member.generation,
      topics: [{ topic: 'out', records: [text('c1'), text('c2'), text('c3')] }],
      offsets: [{ topic: 'in', partition: 0, offset: 7 }],
    });

    expect(faults.count('conflict')).toBe(2);
    expect(result.offsets).toEqual([{ topic: 'in', partition: 0, offset: 7 }]);
    const after = await highWatermarks('out');
    expect(after.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0)).toBe(3);
  });

  it('appends once when the transaction times out after DynamoDB applied it', async () => {
    const member = await services.groups.join('eos-timeout', { topics: ['in'] });
    const before = await highWatermarks('out');
    faults.add({ commands: ['TransactWriteItems'], fault: 'timeoutAfterWrite', times: 1 });

    const result = await services.groups.produceWithOffsets('eos-timeout', {
      memberId: member.memberId,
      generation: member.generation,
      topics: [{ topic: 'out', records: [text('t1'), text('t2')] }],
      offsets: [{ topic: 'in', partition: 1, offset: 5 }],
    });

    expect(faults.count('timeoutAfterWrite')).toBe(1);
    expect(result.duplicate).toBe(false);
    const after = await highWatermarks('out');
    expect(after.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('replays a retry with the same Idempotency-Key after the group moved on, appending nothing', async () => {
    const member = await services.groups.join('eos-idem', { topics: ['in'] });
    const input = {
      memberId: member.memberId,
      generation: member.generation,
      topics: [{ topic: 'out', records: [text('i1')] }],
      offsets: [{ topic: 'in', partition: 0, offset: 2 }],
    };
    const first = await services.groups.produceWithOffsets('eos-idem', input, 'key-1');
    await services.groups.join('eos-idem', { topics: ['in'] });
    const before = await highWatermarks('out');

    const again = await services.groups.produceWithOffsets('eos-idem', input, 'key-1');

    expect(again.duplicate).toBe(true);
    expect(again.topics).toEqual(first.topics);
    expect(await highWatermarks('out')).toEqual(before);
  });
});
