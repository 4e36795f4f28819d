/**
 * Consumer groups under the faults DynamoDB Local never produces: transaction conflicts, throttling,
 * and timeouts after a write was applied (injected with SDK middleware, above the SDK's retries).
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { createFaultInjector } from '../support/faults.js';
import { createTopic, fillPartitions, startGroupsApi } from '../support/groups.js';
import { type ApiClient, apiClient } from '../support/http-client.js';
import { createTestRuntime } from '../support/local-aws.js';

const faults = createFaultInjector({ seed: 3 });
let api: ApiClient;
let close: () => Promise<void>;

beforeAll(async () => {
  const runtime = await createTestRuntime({ tablePrefix: 'group-faults', decorateDynamoDb: faults.install });
  const server = await startGroupsApi(runtime);
  api = apiClient(server.url);
  close = server.close;
  await createTopic(api, 'faulty', 2);
  await fillPartitions(api, 'faulty', 2, 10);
});
afterAll(() => close());
beforeEach(() => faults.reset());

it('joins through transaction conflicts by reading again and retrying', async () => {
  faults.add({ commands: ['TransactWriteItems'], fault: 'conflict', times: 3 });

  const joined = await api.post('/v1/groups/conflicts-g/members', { topics: ['faulty'] });

  expect(joined.status).toBe(200);
  expect(faults.count('conflict')).toBe(3);
  expect(joined.body.assignments).toHaveLength(2);
});

it('creates one member, not two, when a join times out after its write applied', async () => {
  faults.add({ commands: ['TransactWriteItems'], fault: 'timeoutAfterWrite', times: 1 });

  const joined = await api.post('/v1/groups/timeout-join-g/members', { topics: ['faulty'] });
  const described = await api.get('/v1/groups/timeout-join-g');

  expect(joined.status).toBe(200);
  expect(faults.count('timeoutAfterWrite')).toBe(1);
  expect(described.body.members.map((m: { memberId: string }) => m.memberId)).toEqual([joined.body.memberId]);
  expect(described.body.generation).toBe(joined.body.generation);
});

it('answers a commit that timed out after it applied as committed, and the offset holds', async () => {
  const member = (await api.post('/v1/groups/timeout-commit-g/members', { topics: ['faulty'] })).body;
  faults.add({ commands: ['TransactWriteItems'], fault: 'timeoutAfterWrite', times: 1 });

  const committed = await api.post('/v1/groups/timeout-commit-g/offsets', {
    memberId: member.memberId,
    generation: member.generation,
    offsets: [{ topic: 'faulty', partition: 0, offset: 6 }],
  });

  expect(committed.status).toBe(200);
  expect(faults.count('timeoutAfterWrite')).toBe(1);
  const described = await api.get('/v1/groups/timeout-commit-g');
  expect(described.body.offsets[0]).toMatchObject({ partition: 0, committedOffset: 6 });
});

it('answers a delete that timed out after it applied with 204', async () => {
  await api.post('/v1/groups/timeout-delete-g/offsets', {
    offsets: [{ topic: 'faulty', partition: 1, offset: 2 }],
  });
  faults.add({ commands: ['TransactWriteItems'], fault: 'timeoutAfterWrite', times: 1 });

  const deleted = await api.delete('/v1/groups/timeout-delete-g');

  expect(deleted.status).toBe(204);
  expect((await api.get('/v1/groups/timeout-delete-g')).status).toBe(404);
});

it('fails when DynamoDB throttles: 429 with Retry-After, never a 500', async () => {
  faults.add({ commands: ['Query'], fault: 'throttle', times: 1 });

  const throttled = await api.get('/v1/groups/timeout-commit-g');

  expect(throttled.status).toBe(429);
  expect(throttled.headers.get('retry-after')).toBe('1');
});
