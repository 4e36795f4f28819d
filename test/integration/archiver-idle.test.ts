import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Archiver } from '../../shared/domain/archiver.js';
import { type Clock, systemClock } from '../../shared/domain/clock.js';
import type { Runtime } from '../../shared/runtime.js';
import { tieredStorageFor } from '../../shared/services.js';
import { type ApiClient, json } from '../support/http-client.js';
import { createTestRuntime, startApiClient } from '../support/local-aws.js';

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

let runtime: Runtime;
let api: ApiClient;
let close: () => Promise<void>;

beforeAll(async () => {
  runtime = await createTestRuntime({ tablePrefix: 'archiver-idle' });
  ({ api, close } = await startApiClient(runtime));
});
afterAll(() => close());

/** An archiver whose clock runs `ahead.ms` in the future, with idle checks of at most `idleCheckMsMax`. */
function archiverAhead(idleCheckMsMax: number): { archiver: Archiver; ahead: { ms: number } } {
  const ahead = { ms: 0 };
  // random() = 0: a partition is due again after exactly three quarters of its period.
  const clock: Clock = { ...systemClock, now: () => Date.now() + ahead.ms, random: () => 0 };
  const { archiver } = tieredStorageFor({ ...runtime, clock }, { archiver: { idleCheckMsMax } });
  return { archiver, ahead };
}

async function createTopic(name: string, config: Record<string, number> = {}): Promise<void> {
  expect((await api.post('/v1/topics', { name, partitions: 4, ...config })).status).toBe(201);
}

async function produce(topic: string, partition: number): Promise<void> {
  const answer = await api.post(`/v1/topics/${topic}/records`, {
    records: [{ partition, value: json({ partition }) }],
  });
  expect(answer.status).toBe(200);
}

/** The reports of one run for one topic's partitions. */
async function runFor(archiver: Archiver, topic: string) {
  const report = await archiver.run();
  expect(report.errors).toEqual([]);
  return report.partitions.filter((partition) => partition.topic === topic);
}

describe('an archiver with idle checks', () => {
  it('reads no partition again before its idle check period, and archives an append to an idle one after it', async () => {
    // Prepare: partition 0 has a record whose segment is due two hours on (segmentMs 1 hour).
    const topic = 'idle-period';
    await createTopic(topic);
    await produce(topic, 0);
    const { archiver, ahead } = archiverAhead(15 * MINUTE_MS);
    ahead.ms = 2 * HOUR_MS;
    const first = await runFor(archiver, topic);
    expect(first.find((report) => report.partition === 0)?.segments).toBe(1);

    // Act: a second run at once, then an append to idle partition 1, then runs before and after its period.
    const second = await runFor(archiver, topic);
    await produce(topic, 1);
    const beforePeriod = await runFor(archiver, topic);
    ahead.ms += 15 * MINUTE_MS;
    const afterPeriod = await runFor(archiver, topic);

    // Assess: nothing was worked on until the period passed; then partition 1's record was archived.
    expect(second).toEqual([]);
    expect(beforePeriod).toEqual([]);
    expect(afterPeriod.map((report) => [report.partition, report.segments])).toEqual([[1, 1]]);
  });

  it('applies retention when it is due, though the partition had nothing else to do', async () => {
    // Prepare: retention of one hour, segments archived two hours on.
    const topic = 'idle-retention';
    await createTopic(topic, { retentionMs: HOUR_MS, localRetentionMs: HOUR_MS });
    await produce(topic, 2);
    const { archiver, ahead } = archiverAhead(15 * MINUTE_MS);
    ahead.ms = 2 * HOUR_MS;
    const archived = await runFor(archiver, topic);
    expect(archived.find((report) => report.partition === 2)?.segments).toBe(1);

    // Act: a run within the hour, and one after it.
    ahead.ms += 10 * MINUTE_MS;
    const within = await runFor(archiver, topic);
    ahead.ms += HOUR_MS;
    const after = await runFor(archiver, topic);

    // Assess: the segment was deleted only once its hour had passed.
    expect(within).toEqual([]);
    expect(after.find((report) => report.partition === 2)?.deletedSegments).toBe(1);
  });

  it('applies a retention shortened since, at the next check of the partition', async () => {
    // Prepare: a week's retention, the segment archived two hours on.
    const topic = 'idle-shortened';
    await createTopic(topic);
    await produce(topic, 3);
    const { archiver, ahead } = archiverAhead(15 * MINUTE_MS);
    ahead.ms = 2 * HOUR_MS;
    expect((await runFor(archiver, topic)).find((report) => report.partition === 3)?.segments).toBe(1);

    // Act: retention cut to one hour, then a run after the partition's idle check period.
    const patched = await api.patch(`/v1/topics/${topic}`, {
      retentionMs: HOUR_MS,
      localRetentionMs: HOUR_MS,
    });
    expect(patched.status).toBe(200);
    ahead.ms += HOUR_MS + MINUTE_MS;
    const after = await runFor(archiver, topic);

    // Assess: the segment, archived over an hour ago, is gone.
    expect(after.find((report) => report.partition === 3)?.deletedSegments).toBe(1);
  });

  it('fails no run when every partition is idle: the run reads heads and works on nothing', async () => {
    const topic = 'idle-empty';
    await createTopic(topic);
    const { archiver } = archiverAhead(15 * MINUTE_MS);

    const report = await archiver.run();

    expect(report.errors).toEqual([]);
    expect(report.partitions.filter((partition) => partition.topic === topic)).toEqual([]);
  });
});
