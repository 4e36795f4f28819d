/**
 * The time windows of tiered storage from both sides, on a clock the test moves, against DynamoDB
 * Local and the S3 server:
 *
 * - retention by time: a segment archived exactly `retentionMs` ago is kept and read; one a
 *   millisecond older is deleted, logStartOffset moves past it, and a fetch below answers 416;
 * - the hot copies' TTL is the topic's `localRetentionMs` from the append, and the archiver moves
 *   them to S3 once their TTL is `expiryMarginMs` (10 minutes) away, not a millisecond before.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { batchKey } from '../../shared/adapters/dynamodb/keys.js';
import type { Clock } from '../../shared/domain/clock.js';
import type { Runtime } from '../../shared/runtime.js';
import { servicesFor, tieredStorageFor } from '../../shared/services.js';
import { type ApiClient, json } from '../support/http-client.js';
import { createTestRuntime, startApiClient } from '../support/local-aws.js';
import { manualClock } from '../support/manual-clock.js';
import { segmentObjects, storedTopic } from '../support/tiered-storage.js';

const RETENTION_MS = 60_000;
const LOCAL_RETENTION_MS = 60 * 60 * 1000;
/** The archiver's margin before a batch's TTL (`ARCHIVER_DEFAULTS.expiryMarginMs`). */
const EXPIRY_MARGIN_MS = 10 * 60 * 1000;

let runtime: Runtime;
let api: ApiClient;
let close: () => Promise<void>;

beforeAll(async () => {
  runtime = await createTestRuntime({ tablePrefix: 'retention-window' });
  ({ api, close } = await startApiClient(runtime));
});
afterAll(() => close());

/** One archiver pass over partition 0 at the clock's time. */
function archiveAt(clock: Clock, topic: string) {
  return async () =>
    tieredStorageFor({ ...runtime, clock }).archiver.archivePartition(await storedTopic(runtime, topic), 0);
}

async function partitionState(topic: string) {
  return (await api.get(`/v1/topics/${topic}`)).body.partitions[0];
}

it('keeps a segment archived exactly retentionMs ago and deletes it a millisecond later', async () => {
  await api.post('/v1/topics', {
    name: 'retained-window',
    partitions: 1,
    retentionMs: RETENTION_MS,
    segmentBytes: 1024,
    segmentMs: 3_600_000,
  });
  for (let i = 0; i < 20; i++) {
    const records = [{ value: json({ i, filler: 'x'.repeat(200 + i) }) }];
    expect((await api.post('/v1/topics/retained-window/records', { records })).status).toBe(200);
  }
  const clock = manualClock();
  const archived = await archiveAt(clock, 'retained-window')();
  expect(archived.segments).toBeGreaterThan(1);
  const topic = await storedTopic(runtime, 'retained-window');

  clock.advance(RETENTION_MS);
  const onTheDot = await archiveAt(clock, 'retained-window')();
  const readOnTheDot = await api.get('/v1/topics/retained-window/partitions/0/records?offset=0');
  clock.advance(1);
  const past = await archiveAt(clock, 'retained-window')();
  const readPast = await api.get('/v1/topics/retained-window/partitions/0/records?offset=0');

  expect(onTheDot.deletedSegments).toBe(0);
  expect(readOnTheDot.status).toBe(200);
  expect(readOnTheDot.body.records[0].value.data.i).toBe(0);
  expect(past.deletedSegments).toBe(archived.segments);
  expect(await segmentObjects(runtime, topic, 0)).toEqual([]);
  expect((await partitionState('retained-window')).logStartOffset).toBe(archived.archivedOffset);
  expect(readPast.status).toBe(416);
  expect(readPast.body).toMatchObject({ logStartOffset: archived.archivedOffset, highWatermark: 20 });
});

it('gives hot copies a TTL of localRetentionMs and archives them expiryMarginMs before it, not earlier', async () => {
  await api.post('/v1/topics', {
    name: 'local-window',
    partitions: 1,
    localRetentionMs: LOCAL_RETENTION_MS,
    segmentMs: 6 * 60 * 60 * 1000,
  });
  // A whole second: DynamoDB's TTL attribute is in seconds, so the expiry the archiver reads back is exact.
  const clock = manualClock(Math.ceil(Date.now() / 1000) * 1000);
  const appendTime = clock.now();
  const log = servicesFor({ ...runtime, clock }).log;
  const value = { type: 'STRING' as const, bytes: Buffer.from('hot') };
  await log.produce('local-window', [{ key: null, value, headers: [] }]);
  await log.produce('local-window', [{ key: null, value, headers: [] }]);
  const topic = await storedTopic(runtime, 'local-window');

  const { Item } = await runtime.documents.send(
    new GetCommand({ TableName: runtime.config.logTableName, Key: batchKey(topic.topicId, 0, 0) }),
  );
  clock.advance(LOCAL_RETENTION_MS - EXPIRY_MARGIN_MS - 1);
  const early = await archiveAt(clock, 'local-window')();
  clock.advance(1);
  const due = await archiveAt(clock, 'local-window')();

  expect(Item?.x).toBe((appendTime + LOCAL_RETENTION_MS) / 1000);
  expect(early.archivedOffset).toBe(0);
  expect(due.archivedOffset).toBe(2);
  expect((await partitionState('local-window')).archivedOffset).toBe(2);
});
