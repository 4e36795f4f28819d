/**
 * A member's session from both sides, on a clock the test moves: a member silent for exactly its
 * `sessionTimeoutMs` is still a member and keeps its partitions; one silent a millisecond longer
 * is gone, and its partitions go to the others in a new generation. A session that ends early or
 * late by any amount fails one of the two. Against DynamoDB Local, where the deadline is stored.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTopic, fillPartitions, startGroupsApi, type TopicPartitionJson } from '../support/groups.js';
import { type ApiClient, apiClient } from '../support/http-client.js';
import { createTestRuntime } from '../support/local-aws.js';
import { type ManualClock, manualClock } from '../support/manual-clock.js';

const SESSION_TIMEOUT_MS = 10_000;

let api: ApiClient;
let clock: ManualClock;
let close: () => Promise<void>;

beforeAll(async () => {
  const runtime = await createTestRuntime({ tablePrefix: 'session-window' });
  clock = manualClock();
  const server = await startGroupsApi(runtime, clock);
  api = apiClient(server.url);
  close = server.close;
});
afterAll(() => close());

interface Member {
  memberId: string;
  generation: number;
  assignments: TopicPartitionJson[];
}

async function join(group: string, topic: string): Promise<Member> {
  const answer = await api.post(`/v1/groups/${group}/members`, {
    topics: [topic],
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
  });
  expect(answer.status).toBe(200);
  return answer.body;
}

/** Two members at the same instant: `quiet` then says nothing, `talker` heartbeats when told. */
async function twoMembers(name: string): Promise<{ group: string; talker: Member; quiet: Member }> {
  await createTopic(api, name, 4);
  await fillPartitions(api, name, 4, 2);
  const group = `${name}-g`;
  const talker = await join(group, name);
  const quiet = await join(group, name);
  return { group, talker: await heartbeat(group, talker), quiet };
}

async function heartbeat(group: string, member: Member): Promise<Member> {
  const answer = await api.post(`/v1/groups/${group}/members/${member.memberId}/heartbeat`, {
    generation: member.generation,
  });
  expect(answer.status).toBe(200);
  return answer.body;
}

it('keeps a member silent for exactly its session timeout, with its partitions and its commits', async () => {
  const { group, talker, quiet } = await twoMembers('session-inside');
  expect(quiet.assignments).toHaveLength(2);
  clock.advance(SESSION_TIMEOUT_MS / 2);
  await heartbeat(group, talker);
  clock.advance(SESSION_TIMEOUT_MS / 2); // quiet: silent for exactly its session timeout

  const after = await heartbeat(group, talker);
  const commit = await api.post(`/v1/groups/${group}/offsets`, {
    memberId: quiet.memberId,
    generation: quiet.generation,
    offsets: [{ ...(quiet.assignments[0] as TopicPartitionJson), offset: 1 }],
  });

  expect(after.generation).toBe(quiet.generation);
  expect(after.assignments).toHaveLength(2);
  expect(commit.status).toBe(200);
  const described = await api.get(`/v1/groups/${group}`);
  expect(described.body.members).toHaveLength(2);
});

it('drops a member silent a millisecond past its session timeout and hands its partitions over', async () => {
  const { group, talker, quiet } = await twoMembers('session-outside');
  clock.advance(SESSION_TIMEOUT_MS / 2);
  await heartbeat(group, talker);
  clock.advance(SESSION_TIMEOUT_MS / 2 + 1); // quiet: silent a millisecond longer than its timeout

  const after = await heartbeat(group, talker);
  const zombie = await api.post(`/v1/groups/${group}/offsets`, {
    memberId: quiet.memberId,
    generation: quiet.generation,
    offsets: [{ ...(quiet.assignments[0] as TopicPartitionJson), offset: 1 }],
  });

  expect(after.generation).toBe(quiet.generation + 1);
  expect(after.assignments).toHaveLength(4);
  expect(zombie.status).toBe(409);
  expect(zombie.body).toMatchObject({ error_code: 40911, reason: 'unknown-member' });
  const described = await api.get(`/v1/groups/${group}`);
  expect(described.body.members.map((m: { memberId: string }) => m.memberId)).toEqual([talker.memberId]);
  expect(
    described.body.offsets.every((row: { committedOffset: unknown }) => row.committedOffset === null),
  ).toBe(true);
});
