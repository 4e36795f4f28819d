import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiClient, json } from '../support/http-client.js';
import { createTestRuntime, startApiClient } from '../support/local-aws.js';

let api: ApiClient;
let close: () => Promise<void>;

beforeAll(async () => {
  const runtime = await createTestRuntime();
  ({ api, close } = await startApiClient(runtime));
});
afterAll(() => close());

describe('topics', () => {
  it('creates a topic with empty partitions and the default retention', async () => {
    const created = await api.post('/v1/topics', { name: 'orders.v1', partitions: 3 });

    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/v1/topics/orders.v1');
    expect(created.body).toMatchObject({
      name: 'orders.v1',
      partitionCount: 3,
      config: { retentionMs: 604_800_000 },
    });
    expect(created.body.partitions).toEqual(
      [0, 1, 2].map((partition) => ({
        partition,
        logStartOffset: 0,
        highWatermark: 0,
        archivedOffset: 0,
        archivedBytes: 0,
      })),
    );
  });

  it('fails when the topic exists already, with 409 and nothing changed', async () => {
    await api.post('/v1/topics', { name: 'dup', partitions: 2, retentionMs: 3_600_000 });

    const again = await api.post('/v1/topics', { name: 'dup', partitions: 5 });

    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toBe('application/problem+json');
    expect((await api.get('/v1/topics/dup')).body).toMatchObject({
      partitionCount: 2,
      config: { retentionMs: 3_600_000 },
    });
  });

  it.each([
    [{ name: 'bad name', partitions: 1 }, 'name'],
    [{ name: 'a'.repeat(250), partitions: 1 }, 'name'],
    [{ name: '..', partitions: 1 }, 'name'],
    [{ name: 'ok', partitions: 0 }, 'partitions'],
    [{ name: 'ok', partitions: 1025 }, 'partitions'],
    [{ name: 'ok', partitions: 1.5 }, 'partitions'],
    [{ name: 'ok', partitions: 1, retentionMs: 5 }, 'retentionMs'],
    [{ name: 'ok', partitions: 1, extra: true }, 'body'],
    [{ partitions: 1 }, 'name'],
  ])('fails when creating with %j: 400 naming %s, and no topic appears', async (body, field) => {
    const answer = await api.post('/v1/topics', body);

    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ status: 400, error_code: 400, field });
    expect(answer.body.detail).toContain(field === 'body' ? 'extra' : field);
    expect((await api.get('/v1/topics/ok')).status).toBe(404);
  });

  it('fails when the body is not JSON', async () => {
    const answer = await api.raw('POST', '/v1/topics', '{"name": ');

    expect(answer.status).toBe(400);
    expect(answer.body.detail).toMatch(/not valid JSON/);
  });

  it('lists topics in name order', async () => {
    await api.post('/v1/topics', { name: 'list-b', partitions: 1 });
    await api.post('/v1/topics', { name: 'list-a', partitions: 1 });

    const names = (await api.get('/v1/topics')).body.topics.map((topic: { name: string }) => topic.name);

    expect(names.filter((name: string) => name.startsWith('list-'))).toEqual(['list-a', 'list-b']);
  });

  it('adds partitions and changes retention, keeping existing records', async () => {
    await api.post('/v1/topics', { name: 'grow', partitions: 1 });
    await api.post('/v1/topics/grow/records', { records: [{ value: json(1) }] });

    const changed = await api.patch('/v1/topics/grow', { partitions: 4, retentionMs: -1 });

    expect(changed.status).toBe(200);
    expect(changed.body.partitionCount).toBe(4);
    expect(changed.body.config.retentionMs).toBe(-1);
    expect(changed.body.partitions[0].highWatermark).toBe(1);
    const produced = await api.post('/v1/topics/grow/records', {
      records: [{ value: json(2), partition: 3 }],
    });
    expect(produced.body.records[0]).toMatchObject({ partition: 3, offset: 0 });
  });

  it('fails when asked for fewer partitions, with 400 and nothing changed', async () => {
    await api.post('/v1/topics', { name: 'shrink', partitions: 3 });

    const answer = await api.patch('/v1/topics/shrink', { partitions: 2 });

    expect(answer.status).toBe(400);
    expect(answer.body.field).toBe('partitions');
    expect((await api.get('/v1/topics/shrink')).body.partitionCount).toBe(3);
  });

  it('deletes a topic; a new topic of the same name starts from offset 0', async () => {
    await api.post('/v1/topics', { name: 'gone', partitions: 1 });
    await api.post('/v1/topics/gone/records', { records: [{ value: json('old') }] });

    const deleted = await api.delete('/v1/topics/gone');
    const describeAfter = await api.get('/v1/topics/gone');
    await api.post('/v1/topics', { name: 'gone', partitions: 1 });
    const fetched = await api.get('/v1/topics/gone/partitions/0/records?offset=0');

    expect(deleted.status).toBe(204);
    expect(describeAfter.status).toBe(404);
    expect(describeAfter.body.error_code).toBe(40401);
    expect(fetched.body.records).toEqual([]);
    expect(fetched.body.highWatermark).toBe(0);
  });

  it('fails when deleting or describing a topic that does not exist', async () => {
    expect((await api.delete('/v1/topics/never')).status).toBe(404);
    expect((await api.get('/v1/topics/never')).body.error_code).toBe(40401);
  });

  it('serves health and an OpenAPI document covering every route', async () => {
    const health = await api.get('/v1/health');
    const document = await api.get('/openapi.json');

    expect(health.body).toEqual({ status: 'ok' });
    expect(document.body.openapi).toBe('3.1.0');
    expect(Object.keys(document.body.paths)).toContain('/v1/topics/{topic}/partitions/{partition}/records');
    expect(document.body.paths['/v1/topics'].post.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/CreateTopicRequest',
    });
    expect(document.body.components.schemas.CreateTopicRequest.required).toEqual(['name', 'partitions']);
  });
});
