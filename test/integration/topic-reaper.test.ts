/**
 * The topic reaper against DynamoDB Local and the S3 server: after a topic is deleted, its batch
 * items, S3 objects (segments, payloads), manifest entries and committed offsets all go, in bounded
 * runs that resume where the last one stopped, and a topic re-created under the same name sees none
 * of it and keeps its own offsets.
 */
import { randomBytes } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DELETED_TOPICS_PK, groupPartitionKey } from '../../shared/adapters/dynamodb/keys.js';
import type { Clock } from '../../shared/domain/clock.js';
import type { Topic } from '../../shared/domain/topic.js';
import { objectPrefixesOf } from '../../shared/domain/topic-reaper.js';
import type { Runtime } from '../../shared/runtime.js';
import { tieredStorageFor, topicReaperFor } from '../../shared/services.js';
import { createTopic } from '../support/groups.js';
import { type ApiClient, json, str } from '../support/http-client.js';
import { createTestRuntime, startApiClient } from '../support/local-aws.js';
import { hotItemCount, listObjects, manifestEntries, storedTopic } from '../support/tiered-storage.js';

let runtime: Runtime;
let api: ApiClient;
let close: () => Promise<void>;

beforeAll(async () => {
  runtime = await createTestRuntime({ tablePrefix: 'reaper' });
  ({ api, close } = await startApiClient(runtime));
});
afterAll(() => close());

/** A topic of `partitions` partitions with small and large appends, archived, and committed offsets. */
async function fillTopic(name: string, partitions: number, group: string): Promise<Topic> {
  await createTopic(api, name, partitions);
  for (let partition = 0; partition < partitions; partition++) {
    for (let request = 0; request < 3; request++) {
      const small = [{ partition, key: str(`k-${request}`), value: json({ request }) }];
      // Over 4 KB encoded: written through a payload object.
      const large = Array.from({ length: 20 }, (_, i) => ({
        partition,
        // Random text: brotli must not shrink the append back under 4 KB.
        value: json({ request, i, text: randomBytes(300).toString('base64') }),
      }));
      expect((await api.post(`/v1/topics/${name}/records`, { records: small })).status).toBe(200);
      expect((await api.post(`/v1/topics/${name}/records`, { records: large })).status).toBe(200);
    }
  }
  const topic = await storedTopic(runtime, name);
  // Two hours ahead, the archiver rolls every batch into a segment now.
  const later: Clock = { ...runtime.clock, now: () => Date.now() + 2 * 60 * 60 * 1000 };
  await tieredStorageFor({ ...runtime, clock: later }).archiver.run();
  const offsets = Array.from({ length: partitions }, (_, partition) => ({
    topic: name,
    partition,
    offset: 5,
  }));
  expect((await api.post(`/v1/groups/${group}/offsets`, { offsets })).status).toBe(200);
  return topic;
}

/** Everything of `topic` still stored: batch items, manifest entries, objects and offsets. */
async function remainsOf(topic: Topic, group: string) {
  let batches = 0;
  let manifest = 0;
  for (let partition = 0; partition < topic.partitionCount; partition++) {
    batches += await hotItemCount(runtime, topic, partition);
    manifest += (await manifestEntries(runtime, topic, partition)).length;
  }
  let objects = 0;
  for (const prefix of objectPrefixesOf(topic.topicId))
    objects += (await listObjects(runtime, prefix)).length;
  return { batches, manifest, objects, offsets: (await committedOffsetsOf(group, topic.topicId)).length };
}

async function committedOffsetsOf(group: string, topicId: string) {
  const answer = await runtime.documents.send(
    new QueryCommand({
      TableName: runtime.config.metaTableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      FilterExpression: 'tid = :tid',
      ExpressionAttributeValues: { ':pk': groupPartitionKey(group), ':prefix': 'O#', ':tid': topicId },
    }),
  );
  return answer.Items ?? [];
}

async function deletedTopicEntries(): Promise<number> {
  const answer = await runtime.documents.send(
    new QueryCommand({
      TableName: runtime.config.metaTableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': DELETED_TOPICS_PK },
    }),
  );
  return answer.Count ?? 0;
}

describe('the topic reaper', () => {
  it('removes every batch, object, manifest entry and committed offset of a deleted topic, and nothing of a re-created one', async () => {
    const old = await fillTopic('reaped', 2, 'reaped-g');
    const before = await remainsOf(old, 'reaped-g');
    expect(before.batches).toBeGreaterThan(0);
    expect(before.manifest).toBeGreaterThan(0);
    // Segments (one per partition) and payload objects (one per large append) both.
    expect(before.objects).toBe(2 + 2 * 3);
    expect(before.offsets).toBe(2);

    expect((await api.delete('/v1/topics/reaped')).status).toBe(204);
    expect(await deletedTopicEntries()).toBe(1);
    // Re-created before the reaper runs: it starts empty and its offsets are its own.
    await createTopic(api, 'reaped', 2);
    const fresh = await api.get('/v1/topics/reaped/partitions/0/records?offset=0');
    expect(fresh.status).toBe(200);
    expect(fresh.body.records).toEqual([]);
    expect(
      (
        await api.post('/v1/groups/reaped-g/offsets', {
          offsets: [{ topic: 'reaped', partition: 0, offset: 0 }],
        })
      ).status,
    ).toBe(200);
    const recreated = await storedTopic(runtime, 'reaped');

    const report = await topicReaperFor(runtime).run();

    expect(report).toMatchObject({ topics: 1, reaped: 1, cutShort: false });
    expect(await remainsOf(old, 'reaped-g')).toEqual({ batches: 0, manifest: 0, objects: 0, offsets: 0 });
    expect(await deletedTopicEntries()).toBe(0);
    expect(await committedOffsetsOf('reaped-g', recreated.topicId)).toHaveLength(1);
    // The re-created topic's commit to partition 0 replaced the old offset there: one fewer to remove.
    expect(report.removedItems).toBe(before.batches + before.manifest + before.offsets - 1);
    expect(report.removedObjects).toBe(before.objects);
    expect(await topicReaperFor(runtime).run()).toEqual({
      topics: 0,
      reaped: 0,
      removedItems: 0,
      removedObjects: 0,
      cutShort: false,
    });
  });

  it('stops at its budget and the next runs finish the work, forgetting the topic only then', async () => {
    const old = await fillTopic('reaped-slowly', 3, 'slow-g');
    const before = await remainsOf(old, 'slow-g');
    const total = before.batches + before.manifest + before.objects + before.offsets;
    expect((await api.delete('/v1/topics/reaped-slowly')).status).toBe(204);
    const budget = 5;
    const reaper = topicReaperFor(runtime, { removalsPerRunMax: budget });

    const first = await reaper.run();
    expect(first).toMatchObject({ reaped: 0, cutShort: true, removedItems: budget, removedObjects: 0 });
    expect(await deletedTopicEntries()).toBe(1);
    let runs = 1;
    let report = first;
    while (report.cutShort) {
      report = await reaper.run();
      runs++;
      expect(runs).toBeLessThanOrEqual(Math.ceil(total / budget) + 1);
    }

    expect(report.reaped).toBe(1);
    expect(await remainsOf(old, 'slow-g')).toEqual({ batches: 0, manifest: 0, objects: 0, offsets: 0 });
    expect(await deletedTopicEntries()).toBe(0);
  });
});
