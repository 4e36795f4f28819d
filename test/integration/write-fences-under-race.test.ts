/**
 * The write-time fences under real races. Each test lets the service read and check what it
 * checks (a partition head, a group's generation, a member's liveness), then, between that read
 * and the write, another client on the same tables changes it. The read-side check has passed, so
 * the only thing left to refuse the stale write is the condition inside DynamoDB: each test shows
 * DynamoDB Local cancelling the held-back write, and the service's answer afterwards.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbTopicRemains } from '../../shared/adapters/dynamodb/topic-remains.js';
import { withConfigDefaults } from '../../shared/domain/topic.js';
import { createRuntime, type Runtime } from '../../shared/runtime.js';
import { partitionLogFor, type Services, servicesFor } from '../../shared/services.js';
import { createRaces, type Races, touchesKey } from '../support/between-read-and-write.js';
import { type ApiClient, apiClient, str } from '../support/http-client.js';
import { createTestRuntime, startTestApi } from '../support/local-aws.js';

let api: ApiClient;
let races: Races;
let runtime: Runtime;
/** Another process's view of the same tables: its writes are the ones the test races against. */
let other: Services;
let close: () => Promise<void>;

beforeAll(async () => {
  races = createRaces();
  runtime = await createTestRuntime({ tablePrefix: 'fences', decorateDynamoDb: races.install });
  const server = await startTestApi(runtime);
  api = apiClient(server.url);
  close = server.close;
  other = servicesFor(createRuntime(runtime.config));
});
afterAll(() => close());

const text = (data: string) => ({ type: 'STRING' as const, bytes: Buffer.from(data, 'utf8') });

async function createTopic(name: string, partitions: number): Promise<void> {
  expect((await api.post('/v1/topics', { name, partitions })).status).toBe(201);
}

async function readValues(topic: string, partition: number): Promise<{ offset: number; value: string }[]> {
  const page = await api.get(`/v1/topics/${topic}/partitions/${partition}/records?offset=0&maxRecords=100`);
  expect(page.status).toBe(200);
  return page.body.records.map((record: { offset: number; value: { data: string } }) => ({
    offset: record.offset,
    value: record.value.data,
  }));
}

describe('the append fence: the head condition inside the transaction', () => {
  it('fails the stale append when another append moved the head after it was read, and places it after', async () => {
    await createTopic('race-append', 1);
    expect(
      (await api.post('/v1/topics/race-append/records', { records: [{ value: str('a0') }] })).status,
    ).toBe(200);
    // Three records against two: the batches end at different offsets, so no batch key collides
    // and only the head's condition can tell that the head moved.
    const race = races.before(
      'TransactWriteItems',
      async () => {
        await other.log.produce(
          'race-append',
          ['b0', 'b1', 'b2'].map((v) => ({ key: null, value: text(v), headers: [] })),
        );
      },
      { matches: touchesKey('H#') },
    );

    const answer = await api.post('/v1/topics/race-append/records', {
      records: [{ value: str('a1') }, { value: str('a2') }],
    });

    expect(race.outcomes[0]).toEqual({
      error: 'TransactionCanceledException',
      reasons: ['ConditionalCheckFailed', 'None'],
    });
    expect(answer.status).toBe(200);
    expect(answer.body.records.map((r: { offset: number }) => r.offset)).toEqual([4, 5]);
    expect(await readValues('race-append', 0)).toEqual(
      ['a0', 'b0', 'b1', 'b2', 'a1', 'a2'].map((value, offset) => ({ offset, value })),
    );
    const described = await api.get('/v1/topics/race-append');
    expect(described.body.partitions[0].highWatermark).toBe(6);
  });
});

describe('the deletion fence: tombstone heads inside the transaction', () => {
  /** Batch items stored under one topic incarnation's partition. */
  async function batchItems(topicId: string, partition: number): Promise<number> {
    const { Count } = await runtime.documents.send(
      new QueryCommand({
        TableName: runtime.config.logTableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `${topicId}#${partition}` },
        ConsistentRead: true,
      }),
    );
    return Count ?? 0;
  }

  it('fails an append to an empty partition whose topic another process deleted after the heads were read', async () => {
    await createTopic('race-delete', 1);
    const { topicId } = (await other.topics.describe('race-delete')).topic;
    // The partition is empty: its head was absent when read, so the append expects none, and only
    // the tombstone the deletion left in its place can refuse it.
    const race = races.before(
      'TransactWriteItems',
      async () => {
        await other.topics.delete('race-delete');
      },
      { matches: touchesKey('H#') },
    );

    const answer = await api.post('/v1/topics/race-delete/records', { records: [{ value: str('late') }] });

    expect(race.outcomes[0]).toEqual({
      error: 'TransactionCanceledException',
      reasons: ['ConditionalCheckFailed', 'None'],
    });
    expect(answer.status).toBe(404);
    expect(await batchItems(topicId, 0)).toBe(0);
    expect((await api.get('/v1/topics/race-delete')).status).toBe(404);
  });

  it('closes every partition of a topic whose partitions were added between the read and the write of its deletion', async () => {
    await createTopic('race-grow', 2);
    const race = races.before(
      'TransactWriteItems',
      async () => {
        await other.topics.update('race-grow', { partitions: 4 });
      },
      { matches: touchesKey('T#race-grow') },
    );

    const answer = await api.delete('/v1/topics/race-grow');

    expect(race.outcomes[0]).toEqual({
      error: 'TransactionCanceledException',
      reasons: ['ConditionalCheckFailed', 'ConditionalCheckFailed', 'None'],
    });
    expect(answer.status).toBe(204);
    const deleted = await other.topics.describe('race-grow').catch((error: Error) => error.name);
    expect(deleted).toBe('TopicNotFoundError');
    const remains = await new DynamoDbTopicRemains(runtime.documents, {
      metaTableName: runtime.config.metaTableName,
      logTableName: runtime.config.logTableName,
    }).listDeleted(1_000);
    const topic = remains.find((entry) => entry.name === 'race-grow');
    expect(topic?.partitionCount).toBe(4);
    const heads = await partitionLogFor(runtime).readHeads(
      {
        name: 'race-grow',
        topicId: topic?.topicId ?? '',
        partitionCount: 4,
        config: withConfigDefaults({ retentionMs: 86_400_000 }),
        createdAt: 0,
      },
      [0, 1, 2, 3],
    );
    expect(heads.map((head) => head.deleted)).toEqual([true, true, true, true]);
  });

  it('appends through a copy cached before the topic was deleted and created again to the new incarnation', async () => {
    await createTopic('race-recreate', 1);
    const first = await api.post('/v1/topics/race-recreate/records', { records: [{ value: str('old') }] });
    expect(first.status).toBe(200);
    const { topicId: oldId } = (await other.topics.describe('race-recreate')).topic;
    await other.topics.delete('race-recreate');
    await other.topics.create({ name: 'race-recreate', partitions: 1 });

    // The API's process still holds the first incarnation in its topic cache.
    const answer = await api.post('/v1/topics/race-recreate/records', { records: [{ value: str('new') }] });

    expect(answer.status).toBe(200);
    expect(answer.body.records.map((r: { offset: number }) => r.offset)).toEqual([0]);
    expect(await readValues('race-recreate', 0)).toEqual([{ offset: 0, value: 'new' }]);
    expect(await batchItems(oldId, 0)).toBe(1);
  });
});

describe('the commit fence: the generation condition inside the transaction', () => {
  it('fails a commit checked in generation 1 when a join started generation 2 before it was written', async () => {
    await createTopic('race-commit', 2);
    for (const partition of [0, 1]) {
      const records = Array.from({ length: 5 }, (_, i) => ({ partition, value: str(`r${i}`) }));
      expect((await api.post('/v1/topics/race-commit/records', { records })).status).toBe(200);
    }
    const joined = await api.post('/v1/groups/race-commit-g/members', { topics: ['race-commit'] });
    expect(joined.body).toMatchObject({ generation: 1 });
    const a = joined.body as { memberId: string; generation: number };
    const race = races.before(
      'TransactWriteItems',
      async () => {
        const b = await other.groups.join('race-commit-g', { topics: ['race-commit'] });
        expect(b.generation).toBe(2);
      },
      { matches: touchesKey('G#race-commit-g', 'O#') },
    );

    const answer = await api.post('/v1/groups/race-commit-g/offsets', {
      memberId: a.memberId,
      generation: a.generation,
      offsets: [{ topic: 'race-commit', partition: 0, offset: 3 }],
    });

    expect(race.outcomes[0]).toEqual({
      error: 'TransactionCanceledException',
      reasons: ['ConditionalCheckFailed', 'None', 'None'],
    });
    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({ error_code: 40910, reason: 'stale-generation', generation: 2 });
    const described = await api.get('/v1/groups/race-commit-g');
    expect(
      described.body.offsets.map((row: { committedOffset: number | null }) => row.committedOffset),
    ).toEqual([null, null]);
  });
});

describe('the liveness fence: a heartbeat cannot bring back a member that is gone', () => {
  it('fails a heartbeat checked while the member was live when the member left before it was written', async () => {
    await createTopic('race-heartbeat', 2);
    const joined = await api.post('/v1/groups/race-heartbeat-g/members', { topics: ['race-heartbeat'] });
    const a = joined.body as { memberId: string; generation: number };
    const race = races.before(
      'UpdateItem',
      async () => {
        await other.groups.leave('race-heartbeat-g', a.memberId);
      },
      { matches: (input) => touchesKey('G#race-heartbeat-g', 'M#')({ TransactItems: [{ Update: input }] }) },
    );

    const answer = await api.post(`/v1/groups/race-heartbeat-g/members/${a.memberId}/heartbeat`, {
      generation: a.generation,
    });

    expect(race.outcomes[0]).toEqual({ error: 'ConditionalCheckFailedException' });
    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({ error_code: 40911, reason: 'unknown-member' });
    const described = await api.get('/v1/groups/race-heartbeat-g');
    expect(described.body.members).toEqual([]);
  });
});
