/**
 * The archiver at its memory bound, on DynamoDB Local and the S3 server (issue 18): each partition
 * reserves its working set from the function's byte budget before it reads (`byte-budget.ts`), so
 * four partitions at the largest segment size archive two at a time in the deployed 2,048 MB
 * function, and what one segment holds stays within its reservation. `test/unit/archiver-memory.test.ts`
 * proves the same on the in-memory ports; here the real adapters read, write and list.
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { workingBytesFor } from '../../functions/archive-segments.js';
import { segmentWorkingBytes } from '../../shared/domain/archiver.js';
import { type Clock, systemClock } from '../../shared/domain/clock.js';
import { LIMITS } from '../../shared/domain/limits.js';
import type { Runtime } from '../../shared/runtime.js';
import { type Services, servicesFor, tieredStorageFor } from '../../shared/services.js';
import { createTestRuntime } from '../support/local-aws.js';
import { manifestEntries, segmentObjects, storedTopic } from '../support/tiered-storage.js';

const MiB = 1024 * 1024;
const PARTITIONS = 4;
/** The deployed archiver's memory (`infra`): its budget is 60% of it. */
const FUNCTION_MEMORY_MB = 2048;

let runtime: Runtime;
let services: Services;

beforeAll(async () => {
  runtime = await createTestRuntime({ tablePrefix: 'archmem' });
  services = servicesFor(runtime);
});

/** A clock `aheadMs` in the future: segments roll by time without waiting. */
const clockAhead = (aheadMs: number): Clock => ({ ...systemClock, now: () => Date.now() + aheadMs });

/** Random bytes (stored batches are compressed: a filled value would shrink to nothing) led by `index % 251`. */
function recordValue(index: number, bytes: number): Uint8Array {
  const value = randomBytes(bytes);
  value[0] = index % 251;
  return value;
}

/** `count` records of `bytes` bytes each to every partition, in requests of 10. */
async function produceEach(topic: string, count: number, bytes: number): Promise<void> {
  for (let partition = 0; partition < PARTITIONS; partition++) {
    for (let start = 0; start < count; start += 10) {
      const records = Array.from({ length: Math.min(10, count - start) }, (_, i) => ({
        key: null,
        value: { type: 'BINARY' as const, bytes: recordValue(start + i, bytes) },
        headers: [],
        partition,
      }));
      await services.log.produce(topic, records);
    }
  }
}

describe('the archiver at its memory bound', () => {
  it('archives four partitions of the largest segment size two at a time in the deployed function', async () => {
    await services.topics.create({
      name: 'bound-largest',
      partitions: PARTITIONS,
      segmentBytes: LIMITS.segmentBytesMax,
      segmentMs: 60_000,
    });
    const topic = await storedTopic(runtime, 'bound-largest');
    const workingBytesMax = workingBytesFor(String(FUNCTION_MEMORY_MB)) as number;
    const working = segmentWorkingBytes(topic);
    // Four reservations at once would outgrow the function; two fit its budget, three do not.
    expect(PARTITIONS * working).toBeGreaterThan(FUNCTION_MEMORY_MB * MiB);
    expect(2 * working).toBeLessThanOrEqual(workingBytesMax);
    expect(3 * working).toBeGreaterThan(workingBytesMax);
    await produceEach('bound-largest', 20, 4096);

    const report = await tieredStorageFor(
      { ...runtime, clock: clockAhead(61_000) },
      { archiver: { concurrency: PARTITIONS, workingBytesMax } },
    ).archiver.run();

    expect(report.errors).toEqual([]);
    expect(report.workingBytesPeak).toBe(2 * working);
    const described = await services.topics.describe('bound-largest');
    expect(described.partitions.map((partition) => partition.archivedOffset)).toEqual([20, 20, 20, 20]);
    for (let partition = 0; partition < PARTITIONS; partition++) {
      expect(await segmentObjects(runtime, topic, partition)).toHaveLength(1);
    }
  });

  it('keeps what each segment holds within its reservation while segments roll by size', async () => {
    const segmentBytes = 256 * 1024;
    await services.topics.create({
      name: 'bound-rolling',
      partitions: PARTITIONS,
      segmentBytes,
      segmentMs: 3_600_000,
    });
    const topic = await storedTopic(runtime, 'bound-rolling');
    const working = segmentWorkingBytes(topic);
    await produceEach('bound-rolling', 60, 16 * 1024);

    const report = await tieredStorageFor(runtime, {
      archiver: { concurrency: PARTITIONS, workingBytesMax: 2 * working },
    }).archiver.run();

    expect(report.errors).toEqual([]);
    expect(report.workingBytesPeak).toBe(2 * working);
    // A segment held its candidates (up to the segment size plus the batch that crosses it) and
    // the object encoded from them: more than the segment size, never more than reserved.
    expect(report.segmentHeldBytesMax).toBeGreaterThan(segmentBytes);
    expect(report.segmentHeldBytesMax).toBeLessThanOrEqual(working);
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const entries = await manifestEntries(runtime, topic, partition);
      expect(entries.length).toBeGreaterThanOrEqual(3);
      // Contiguous from offset 0: nothing skipped while partitions waited for the budget.
      entries.forEach((entry, index) => {
        expect(entry.baseOffset).toBe(index === 0 ? 0 : (entries[index - 1]?.lastOffset ?? -2) + 1);
      });
      const fetched = await services.log.fetch('bound-rolling', partition, 0, {
        recordsMax: 100,
        bytesMax: 8 * MiB,
        waitMs: 0,
      });
      expect(fetched.records.map((record) => record.offset)).toEqual(Array.from({ length: 60 }, (_, i) => i));
      expect(fetched.records.every((record, i) => record.value?.bytes[0] === i % 251)).toBe(true);
    }
  });
});
