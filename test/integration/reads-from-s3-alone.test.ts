/**
 * Fetches served by the S3 tier alone. Every other tiered-storage test reads archived offsets
 * while DynamoDB still holds their batch items, so a fetch that never touched S3 would pass them.
 * Here the partition is archived to its end, then every hot batch item is deleted (as TTL does
 * after `localRetentionMs`), and fetches of many ranges and time lookups must answer exactly as
 * they did from DynamoDB, including records whose bytes sat in a large append's payload object.
 */
import { BatchWriteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { logPartitionKey } from '../../shared/adapters/dynamodb/keys.js';
import { systemClock } from '../../shared/domain/clock.js';
import { PAYLOAD_KEY_PREFIX } from '../../shared/domain/segment-keys.js';
import type { Topic } from '../../shared/domain/topic.js';
import type { Runtime } from '../../shared/runtime.js';
import { tieredStorageFor } from '../../shared/services.js';
import { seededRandom } from '../support/events.js';
import { type ApiClient, json, str } from '../support/http-client.js';
import { createTestRuntime, startApiClient } from '../support/local-aws.js';
import { type ApiRecord, hotItemCount, listObjects, storedTopic } from '../support/tiered-storage.js';

const SEGMENT_MS = 60 * 60 * 1000;

let runtime: Runtime;
let api: ApiClient;
let close: () => Promise<void>;

beforeAll(async () => {
  runtime = await createTestRuntime({ tablePrefix: 's3-alone' });
  ({ api, close } = await startApiClient(runtime));
});
afterAll(() => close());

/** Deletes every batch item of a partition from the log table: what TTL does to the hot copies. */
async function deleteHotCopies(topic: Topic, partition: number): Promise<void> {
  for (;;) {
    const page = await runtime.documents.send(
      new QueryCommand({
        TableName: runtime.config.logTableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': logPartitionKey(topic.topicId, partition) },
        ProjectionExpression: 'pk, sk',
        Limit: 25,
      }),
    );
    const keys = page.Items ?? [];
    if (keys.length === 0) return;
    await runtime.documents.send(
      new BatchWriteCommand({
        RequestItems: { [runtime.config.logTableName]: keys.map((Key) => ({ DeleteRequest: { Key } })) },
      }),
    );
  }
}

/** Text that does not compress away, so the large requests really exceed the inline bytes. */
function randomText(random: () => number, length: number): string {
  let text = '';
  while (text.length < length) text += Math.floor(random() * 2 ** 31).toString(36);
  return text.slice(0, length);
}

async function fetchPage(topic: string, offset: number, maxRecords: number) {
  const page = await api.get(
    `/v1/topics/${topic}/partitions/0/records?offset=${offset}&maxRecords=${maxRecords}`,
  );
  expect(page.status, JSON.stringify(page.body)).toBe(200);
  return page.body as { records: ApiRecord[]; nextOffset: number; highWatermark: number };
}

async function offsetAt(topic: string, timestamp: string): Promise<number> {
  const answer = await api.get(`/v1/topics/${topic}/partitions/0/offsets?timestamp=${timestamp}`);
  expect(answer.status).toBe(200);
  return answer.body.offset;
}

it('answers every fetch and time lookup from S3 alone exactly as from DynamoDB', async () => {
  await api.post('/v1/topics', {
    name: 's3-alone',
    partitions: 1,
    segmentBytes: 4096,
    segmentMs: SEGMENT_MS,
  });
  const random = seededRandom(5);
  for (let request = 0; request < 30; request++) {
    // Every fifth request is large enough to put its batches in a payload object first.
    const count = request % 5 === 4 ? 30 : 1 + Math.floor(random() * 6);
    const records = Array.from({ length: count }, (_, i) => ({
      partition: 0,
      key: i % 3 === 0 ? null : str(`k${request}-${i}`),
      value: json({ request, i, text: randomText(random, count > 6 ? 300 : 20) }),
      headers: i % 4 === 0 ? [{ name: 'h', value: Buffer.from(`v${i}`).toString('base64') }] : [],
      timestamp: 1_700_000_000_000 + request * 1000 + i,
    }));
    expect((await api.post('/v1/topics/s3-alone/records', { records })).status).toBe(200);
  }
  const all = (await fetchPage('s3-alone', 0, 10_000)).records;
  const probes = [
    [0, 10_000],
    [0, 1],
    [1, 7],
    [Math.floor(all.length / 2), 13],
    [all.length - 1, 5],
  ] as const;
  const fromHot = await Promise.all(probes.map(([offset, max]) => fetchPage('s3-alone', offset, max)));
  const times = ['2023-11-14T22:13:20.000Z', '2023-11-14T22:13:35.002Z', '2023-11-14T22:13:49.000Z'];
  const offsetsFromHot = await Promise.all(times.map((time) => offsetAt('s3-alone', time)));
  const topic = await storedTopic(runtime, 's3-alone');
  expect(await listObjects(runtime, PAYLOAD_KEY_PREFIX)).not.toEqual([]);
  // A segmentMs later every batch rolls, the unfilled tail too: the whole partition is in S3.
  const ahead = { ...systemClock, now: () => Date.now() + SEGMENT_MS };
  await tieredStorageFor({ ...runtime, clock: ahead }).archiver.archivePartition(topic, 0);
  const state = (await api.get('/v1/topics/s3-alone')).body.partitions[0];
  expect(state.archivedOffset).toBe(all.length);

  await deleteHotCopies(topic, 0);
  expect(await hotItemCount(runtime, topic, 0)).toBe(0);
  const fromS3 = await Promise.all(probes.map(([offset, max]) => fetchPage('s3-alone', offset, max)));
  const offsetsFromS3 = await Promise.all(times.map((time) => offsetAt('s3-alone', time)));

  expect(fromS3).toEqual(fromHot);
  expect(fromS3[0]?.records).toEqual(all);
  expect(offsetsFromS3).toEqual(offsetsFromHot);
  expect(new Set(offsetsFromHot).size).toBe(times.length);
});
