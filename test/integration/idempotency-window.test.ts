/**
 * The Idempotency-Key window from both sides, on a clock the test moves: a retry 24 hours after
 * the first request (to the millisecond) replays the first answer and appends nothing; one a
 * millisecond later is a new request. A window shrunk or grown by any amount fails one of the two.
 * Against DynamoDB Local: the window lives in the append transaction's condition and in the read
 * that filters items TTL has not deleted yet, both on the same clock as the service.
 */
import { beforeAll, expect, it } from 'vitest';
import { DynamoDbPartitionLog } from '../../shared/adapters/dynamodb/partition-log.js';
import { DynamoDbTopicStore } from '../../shared/adapters/dynamodb/topic-store.js';
import type { Clock } from '../../shared/domain/clock.js';
import { LogService, type ProduceRecordInput } from '../../shared/domain/log-service.js';
import { TopicService } from '../../shared/domain/topic-service.js';
import type { Runtime } from '../../shared/runtime.js';
import { partitionLogFor } from '../../shared/services.js';
import { createTestRuntime } from '../support/local-aws.js';
import { type ManualClock, manualClock } from '../support/manual-clock.js';

/** The promise as the README states it: 24 hours. */
const WINDOW_MS = 24 * 60 * 60 * 1000;

let runtime: Runtime;
let topics: TopicService;
let clock: ManualClock;

beforeAll(async () => {
  runtime = await createTestRuntime({ tablePrefix: 'idem-window' });
  const store = new DynamoDbTopicStore(runtime.documents, runtime.config.metaTableName);
  topics = new TopicService(store, partitionLogFor(runtime));
});

/** A log service whose every part (the append's condition too) reads the time from `on`. */
function logService(on: Clock): LogService {
  const { config, documents } = runtime;
  const partitionLog = new DynamoDbPartitionLog(documents, {
    logTableName: config.logTableName,
    metaTableName: config.metaTableName,
    now: () => on.now(),
  });
  return new LogService(new DynamoDbTopicStore(documents, config.metaTableName), partitionLog, on);
}

const records = (...values: string[]): ProduceRecordInput[] =>
  values.map((value) => ({ key: null, value: { type: 'STRING', bytes: Buffer.from(value) }, headers: [] }));

async function highWatermark(service: LogService, topic: string): Promise<number> {
  return (await service.fetch(topic, 0, 0, { recordsMax: 1, bytesMax: 1, waitMs: 0 })).highWatermark;
}

async function producedOnce(topic: string): Promise<LogService> {
  await topics.create({ name: topic, partitions: 1 });
  clock = manualClock();
  const service = logService(clock);
  const first = await service.produce(topic, records('a', 'b'), 'order-42');
  expect(first).toMatchObject({ duplicate: false, records: [{ offset: 0 }, { offset: 1 }] });
  return service;
}

it('replays the first answer to a retry 24 hours after it, to the millisecond, and appends nothing', async () => {
  const service = await producedOnce('window-inside');
  clock.advance(WINDOW_MS);

  const retry = await service.produce('window-inside', records('a', 'b'), 'order-42');

  expect(retry).toMatchObject({ duplicate: true, records: [{ offset: 0 }, { offset: 1 }] });
  expect(await highWatermark(service, 'window-inside')).toBe(2);
});

it('appends a retry that comes a millisecond after the 24 hours as a new request', async () => {
  const service = await producedOnce('window-outside');
  clock.advance(WINDOW_MS + 1);

  const retry = await service.produce('window-outside', records('a', 'b'), 'order-42');

  expect(retry).toMatchObject({ duplicate: false, records: [{ offset: 2 }, { offset: 3 }] });
  expect(await highWatermark(service, 'window-outside')).toBe(4);
  // And the new answer starts a window of its own.
  clock.advance(WINDOW_MS);
  expect(await service.produce('window-outside', records('a', 'b'), 'order-42')).toMatchObject({
    duplicate: true,
    records: [{ offset: 2 }, { offset: 3 }],
  });
});
