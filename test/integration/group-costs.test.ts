/**
 * What each consumer group operation costs in DynamoDB reads and writes, measured with
 * ReturnConsumedCapacity on DynamoDB Local (which counts like the service: 1 read unit per 4 KB
 * strongly consistent, 1 write unit per 1 KB, transactions double), for a group of 3 members on one
 * 6-partition topic. The bounds asserted here are the ones `docs/consumer-groups.md` publishes; the
 * printed table (with local latencies) is the measurement behind it.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTopic, fillPartitions, startGroupsApi } from '../support/groups.js';
import { type ApiClient, apiClient } from '../support/http-client.js';
import { createTestRuntime } from '../support/local-aws.js';

interface Capacity {
  read: number;
  write: number;
  calls: number;
}

const used: Capacity = { read: 0, write: 0, calls: 0 };

/** Asks every call for its consumed capacity and adds it up. */
function meterCapacity(client: DynamoDBClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      (args.input as Record<string, unknown>).ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const consumed = (result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
      const entries = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) as {
        CapacityUnits?: number;
      }[];
      const units = entries.reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
      used.calls++;
      if (/^(Get|BatchGet|Query|Scan)/.test(context.commandName ?? '')) used.read += units;
      else used.write += units;
      return result;
    },
    { step: 'initialize', name: 'meterCapacity' },
  );
}

let api: ApiClient;
let close: () => Promise<void>;

beforeAll(async () => {
  const runtime = await createTestRuntime({ tablePrefix: 'group-costs', decorateDynamoDb: meterCapacity });
  const server = await startGroupsApi(runtime);
  api = apiClient(server.url);
  close = server.close;
});
afterAll(() => close());

const rows: string[] = [];

/** Runs `act` `times` times and records the mean capacity, calls and latency of one run. */
async function measure(name: string, times: number, act: (i: number) => Promise<unknown>) {
  const before = { ...used };
  const started = performance.now();
  for (let i = 0; i < times; i++) await act(i);
  const ms = (performance.now() - started) / times;
  const cost = {
    read: (used.read - before.read) / times,
    write: (used.write - before.write) / times,
    calls: (used.calls - before.calls) / times,
  };
  rows.push(
    `| ${name} | ${cost.read.toFixed(1)} | ${cost.write.toFixed(1)} | ${cost.calls.toFixed(1)} | ${ms.toFixed(1)} |`,
  );
  return cost;
}

it('costs a bounded, small number of reads and writes per group operation', async () => {
  await createTopic(api, 'costs', 6);
  await fillPartitions(api, 'costs', 6, 20);
  const members: {
    memberId: string;
    generation: number;
    assignments: { topic: string; partition: number }[];
  }[] = [];

  const join = await measure('join (new member)', 3, async () => {
    const answer = await api.post('/v1/groups/costs-g/members', { topics: ['costs'] });
    members.push(answer.body);
  });
  const refreshed = await Promise.all(
    members.map(
      async (member) =>
        (await api.post(`/v1/groups/costs-g/members/${member.memberId}/heartbeat`, { generation: 0 })).body,
    ),
  );
  const heartbeat = await measure('heartbeat', 10, (i) => {
    const member = refreshed[i % 3];
    return api.post(`/v1/groups/costs-g/members/${member.memberId}/heartbeat`, {
      generation: member.generation,
    });
  });
  const commitOne = await measure('commit, 1 offset', 10, async (i) => {
    const member = refreshed[i % 3];
    const answer = await api.post('/v1/groups/costs-g/offsets', {
      memberId: member.memberId,
      generation: member.generation,
      offsets: [{ ...member.assignments[0], offset: 1 + i }],
    });
    expect(answer.status).toBe(200);
  });
  const commitTwo = await measure('commit, 2 offsets', 10, async (i) => {
    const member = refreshed[i % 3];
    const answer = await api.post('/v1/groups/costs-g/offsets', {
      memberId: member.memberId,
      generation: member.generation,
      offsets: member.assignments.map((tp: object) => ({ ...tp, offset: 11 + i })),
    });
    expect(answer.status).toBe(200);
  });
  const describe = await measure('describe (6 partitions)', 5, () => api.get('/v1/groups/costs-g'));
  const list = await measure('list groups', 5, () => api.get('/v1/groups'));
  const leave = await measure('leave', 3, (i) =>
    api.delete(`/v1/groups/costs-g/members/${refreshed[i]?.memberId}`),
  );
  const reset = await measure('reset to latest (6 partitions)', 3, () =>
    api.post('/v1/groups/costs-g/offsets/reset', { topic: 'costs', to: 'latest' }),
  );
  const remove = await measure('delete (6 offsets)', 1, () => api.delete('/v1/groups/costs-g'));

  console.info(
    [
      '[group-costs] 1 topic of 6 partitions, 3 members; per operation, on DynamoDB Local:',
      '| operation | read units | write units (as DynamoDB Local reports) | DynamoDB calls | ms (local) |',
      '|---|---|---|---|---|',
      ...rows,
    ].join('\n'),
  );
  // The published bounds (docs/consumer-groups.md), for groups whose items stay under 4 KB. DynamoDB
  // Local reports reads as the service bills them but a whole transaction as 2 write units, where
  // the service bills 2 per item: the write column of the document is computed from the items.
  expect(join).toMatchObject({ calls: 4 });
  expect(join.read).toBeLessThanOrEqual(3);
  expect(heartbeat).toMatchObject({ read: 2, write: 1, calls: 3 });
  expect(commitOne).toMatchObject({ read: 3, calls: 4 });
  expect(commitTwo).toMatchObject({ read: 4, calls: 4 });
  expect(describe).toMatchObject({ read: 9, write: 0, calls: 4 });
  expect(list).toMatchObject({ read: 0.5, write: 0, calls: 1 });
  expect(leave).toMatchObject({ read: 1, calls: 2 });
  expect(reset).toMatchObject({ read: 8, calls: 4 });
  expect(remove).toMatchObject({ calls: 3 + 6 });
});
