import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler as createRescueHandler } from '../../functions/rescue-batches.js';
import { type BackgroundTask, followStream, isTtlRemoval } from '../../local/background.js';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/stack.js';
import { logPartitionKey } from '../../shared/adapters/dynamodb/keys.js';
import type { Runtime } from '../../shared/runtime.js';
import { tieredStorageFor } from '../../shared/services.js';
import { type ApiClient, json, str } from '../support/http-client.js';
import { createTestRuntime, startApiClient } from '../support/local-aws.js';
import {
  type ApiRecord,
  eventually,
  hotItemCount,
  rescuedObjects,
  segmentObjects,
  storedTopic,
} from '../support/tiered-storage.js';

/**
 * DynamoDB Local deletes expired items about ten seconds after their TTL when idle, but its sweeper
 * shares the machine with the whole suite: give the deletions room.
 */
const TTL_TEST_TIMEOUT_MS = 180_000;

/**
 * This file's own DynamoDB Local: the shared one holds every test file's tables, and its TTL sweeper
 * then took minutes to reach these under a full run.
 */
let dynamoDbLocal: DynamoDbLocal;

let runtime: Runtime;
let api: ApiClient;
let close: () => Promise<void>;
let follower: BackgroundTask;
/** The `pk` of every TTL removal the rescue has finished handling, in order. */
const handledRemovals: string[] = [];

beforeAll(async () => {
  dynamoDbLocal = await startDynamoDbLocal();
  runtime = await createTestRuntime({ tablePrefix: 'ttl', dynamodbEndpoint: dynamoDbLocal.endpoint });
  ({ api, close } = await startApiClient(runtime));
  // The rescue follows the log table's stream, as its event source mapping does in AWS; no archiver runs.
  const rescue = createRescueHandler(runtime);
  follower = followStream(
    runtime,
    runtime.config.logTableName,
    async (event) => {
      const answer = await rescue(event);
      for (const record of event.Records) handledRemovals.push(String(record.dynamodb?.Keys?.pk?.S));
      return answer;
    },
    { filter: isTtlRemoval },
  );
});
afterAll(async () => {
  await follower.stop();
  await close();
  await dynamoDbLocal.stop();
});

/**
 * Every record of partition 0, as a client reads them: a 503 (a batch between DynamoDB and the
 * rescue area for a moment) is retried after its Retry-After; nothing else is accepted.
 */
async function fetchAll(topic: string): Promise<ApiRecord[]> {
  const records: ApiRecord[] = [];
  let offset = 0;
  for (let attempt = 0; ; attempt++) {
    const page = await api.get(`/v1/topics/${topic}/partitions/0/records?offset=${offset}&maxRecords=10000`);
    if (page.status === 503 && attempt < 30) {
      expect(page.headers.get('retry-after')).toBe('1');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      continue;
    }
    expect(page.status).toBe(200);
    records.push(...page.body.records);
    if (page.body.nextOffset >= page.body.highWatermark) return records;
    offset = page.body.nextOffset;
  }
}

describe('hot-tier expiry', () => {
  it(
    'loses nothing when TTL deletes batches the archiver never copied: the stream rescues them',
    async () => {
      await api.post('/v1/topics', {
        name: 'expiring',
        partitions: 1,
        retentionMs: 60_000,
        localRetentionMs: 1000,
        segmentMs: 3_600_000,
      });
      const requests = 12;
      for (let request = 0; request < requests; request++) {
        const records = Array.from({ length: 1 + (request % 4) }, (_, i) => ({
          partition: 0,
          key: str(`k${request}`),
          value: json({ request, i }),
        }));
        expect((await api.post('/v1/topics/expiring/records', { records })).status).toBe(200);
      }
      const produced = await fetchAll('expiring');
      const topic = await storedTopic(runtime, 'expiring');
      // Past the TTL, before DynamoDB deletes: the expired batches are the one copy and still served.
      await new Promise((resolve) => setTimeout(resolve, 2100));
      const whileExpired = await fetchAll('expiring');

      await eventually(
        async () => ((await hotItemCount(runtime, topic, 0)) === 0 ? true : undefined),
        150_000,
        'TTL deletions',
      );
      const rescued = await eventually(
        async () => {
          const objects = await rescuedObjects(runtime, topic, 0);
          return objects.length === requests ? objects : undefined;
        },
        30_000,
        'the rescue of every batch',
      );
      const fromRescue = await fetchAll('expiring');
      const report = await tieredStorageFor(runtime).archiver.archivePartition(topic, 0);
      const fromSegments = await fetchAll('expiring');

      expect(produced).toHaveLength(30);
      expect(whileExpired).toEqual(produced);
      expect(rescued).toHaveLength(requests);
      expect(fromRescue).toEqual(produced);
      expect(report).toMatchObject({ rescuedBatches: requests, archivedOffset: produced.length });
      expect(await rescuedObjects(runtime, topic, 0)).toEqual([]);
      expect((await segmentObjects(runtime, topic, 0)).length).toBeGreaterThan(0);
      expect(fromSegments).toEqual(produced);
    },
    TTL_TEST_TIMEOUT_MS,
  );

  it(
    'ignores the deletion of a batch that is archived already',
    async () => {
      await api.post('/v1/topics', {
        name: 'archived-first',
        partitions: 1,
        retentionMs: 60_000,
        localRetentionMs: 1000,
      });
      await api.post('/v1/topics/archived-first/records', { records: [{ partition: 0, value: json(1) }] });
      const topic = await storedTopic(runtime, 'archived-first');
      const report = await tieredStorageFor(runtime).archiver.archivePartition(topic, 0);

      await eventually(
        async () => ((await hotItemCount(runtime, topic, 0)) === 0 ? true : undefined),
        150_000,
        'TTL deletions',
      );
      // The rescue has handled the deletion: an absent rescued object is then its decision.
      await eventually(
        async () => (handledRemovals.includes(logPartitionKey(topic.topicId, 0)) ? true : undefined),
        30_000,
        'the rescue to handle the TTL deletion',
      );

      expect(report).toMatchObject({ segments: 1, archivedOffset: 1 });
      expect(await rescuedObjects(runtime, topic, 0)).toEqual([]);
      expect((await fetchAll('archived-first')).map((record) => record.value)).toEqual([json(1)]);
    },
    TTL_TEST_TIMEOUT_MS,
  );
});
