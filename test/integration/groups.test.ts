import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTopic,
  expectDisjointCover,
  fillPartitions,
  key,
  startGroupsApi,
  type TopicPartitionJson,
} from '../support/groups.js';
import { type ApiClient, apiClient, json } from '../support/http-client.js';
import { createTestRuntime } from '../support/local-aws.js';
import { type ManualClock, manualClock } from '../support/manual-clock.js';

let api: ApiClient;
let clock: ManualClock;
let close: () => Promise<void>;

beforeAll(async () => {
  const runtime = await createTestRuntime({ tablePrefix: 'groups' });
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

async function join(group: string, topics: string[], extra: Record<string, unknown> = {}): Promise<Member> {
  const answer = await api.post(`/v1/groups/${group}/members`, { topics, ...extra });
  expect(answer.status).toBe(200);
  return answer.body;
}

async function heartbeat(group: string, member: Member): Promise<Member> {
  const answer = await api.post(`/v1/groups/${group}/members/${member.memberId}/heartbeat`, {
    generation: member.generation,
  });
  expect(answer.status).toBe(200);
  return answer.body;
}

function commit(
  group: string,
  member: Member | undefined,
  offsets: { topic: string; partition: number; offset: number }[],
) {
  return api.post(`/v1/groups/${group}/offsets`, {
    ...(member ? { memberId: member.memberId, generation: member.generation } : {}),
    offsets,
  });
}

async function committedOffsets(group: string): Promise<Map<string, number | null>> {
  const described = await api.get(`/v1/groups/${group}`);
  expect(described.status).toBe(200);
  return new Map(
    described.body.offsets.map((row: TopicPartitionJson & { committedOffset: number | null }) => [
      key(row),
      row.committedOffset,
    ]),
  );
}

/** Reads a partition from `offset` to the high watermark; the values read, in order. */
async function readFrom(topic: string, partition: number, offset: number): Promise<number[]> {
  const page = await api.get(
    `/v1/topics/${topic}/partitions/${partition}/records?offset=${offset}&maxRecords=1000`,
  );
  expect(page.status).toBe(200);
  return page.body.records.map((record: { value: { data: { i: number } } }) => record.value.data.i);
}

describe('consumer group membership', () => {
  it('shares 6 partitions between two and then three members, disjoint and complete', async () => {
    await createTopic(api, 'share', 6);

    const a = await join('share-g', ['share']);
    const b = await join('share-g', ['share']);
    const a2 = await heartbeat('share-g', a);

    expect(a.generation).toBe(1);
    expect(b.generation).toBe(2);
    expect(a2.generation).toBe(2);
    expect([a2.assignments.length, b.assignments.length]).toEqual([3, 3]);
    expectDisjointCover([a2.assignments, b.assignments], 'share', 6);

    const c = await join('share-g', ['share']);
    const [a3, b3] = [await heartbeat('share-g', a2), await heartbeat('share-g', b)];

    expect([a3.generation, b3.generation, c.generation]).toEqual([3, 3, 3]);
    expect([a3.assignments, b3.assignments, c.assignments].map((owned) => owned.length)).toEqual([2, 2, 2]);
    expectDisjointCover([a3.assignments, b3.assignments, c.assignments], 'share', 6);
    // Sticky: the first two keep two of their three partitions each.
    expect(a3.assignments.every((tp) => a2.assignments.some((old) => key(old) === key(tp)))).toBe(true);
    expect(b3.assignments.every((tp) => b.assignments.some((old) => key(old) === key(tp)))).toBe(true);
  });

  it('reports Rebalancing until every member has seen the generation, then Stable', async () => {
    await createTopic(api, 'state', 2);
    const a = await join('state-g', ['state']);
    await join('state-g', ['state']);

    const rebalancing = await api.get('/v1/groups/state-g');
    await heartbeat('state-g', a);
    const stable = await api.get('/v1/groups/state-g');

    expect(rebalancing.body).toMatchObject({ state: 'Rebalancing', generation: 2 });
    expect(stable.body).toMatchObject({ state: 'Stable', generation: 2 });
    expect(stable.body.members).toHaveLength(2);
    expect(stable.body.members[0]).toMatchObject({ topics: ['state'], sessionTimeoutMs: 45_000 });
    expect(Date.parse(stable.body.members[0].lastHeartbeat)).toBe(clock.now());
  });

  it('hands a leaving member’s partitions to the survivors, who resume from its committed offsets and skip nothing', async () => {
    await createTopic(api, 'handover', 6);
    await fillPartitions(api, 'handover', 6, 10);
    let a = await join('handover-g', ['handover']);
    let b = await join('handover-g', ['handover']);
    a = await heartbeat('handover-g', a);
    const c = await join('handover-g', ['handover']);
    a = await heartbeat('handover-g', a);
    b = await heartbeat('handover-g', b);
    // c processes 4 records of each of its partitions and commits.
    const cCommit = await commit(
      'handover-g',
      c,
      c.assignments.map((tp) => ({ ...tp, offset: 4 })),
    );
    expect(cCommit.status).toBe(200);

    const left = await api.delete(`/v1/groups/handover-g/members/${c.memberId}`);
    a = await heartbeat('handover-g', a);
    b = await heartbeat('handover-g', b);

    expect(left.status).toBe(204);
    expectDisjointCover([a.assignments, b.assignments], 'handover', 6);
    const committed = await committedOffsets('handover-g');
    for (const tp of c.assignments) {
      const survivor = a.assignments.some((owned) => key(owned) === key(tp)) ? a : b;
      expect(survivor.assignments.map(key)).toContain(key(tp));
      const from = committed.get(key(tp));
      expect(from).toBe(4);
      expect(await readFrom('handover', tp.partition, from ?? 0)).toEqual([4, 5, 6, 7, 8, 9]);
    }
    // Leaving twice is harmless.
    expect((await api.delete(`/v1/groups/handover-g/members/${c.memberId}`)).status).toBe(204);
  });

  it('drops a member silent past its session timeout and gives its partitions to the others', async () => {
    await createTopic(api, 'timeout', 6);
    let a = await join('timeout-g', ['timeout'], { sessionTimeoutMs: 1_000 });
    const b = await join('timeout-g', ['timeout'], { sessionTimeoutMs: 1_000 });
    a = await heartbeat('timeout-g', a);
    expect(
      await commit('timeout-g', b, [{ ...(b.assignments[0] as TopicPartitionJson), offset: 0 }]),
    ).toMatchObject({
      status: 200,
    });

    clock.advance(600);
    a = await heartbeat('timeout-g', a);
    clock.advance(600); // b: 1200 ms silent; a: 600 ms
    a = await heartbeat('timeout-g', a);

    expect(a.generation).toBe(3);
    expect(a.assignments).toHaveLength(6);
    const gone = await api.post(`/v1/groups/timeout-g/members/${b.memberId}/heartbeat`, {
      generation: b.generation,
    });
    expect(gone.status).toBe(409);
    expect(gone.body).toMatchObject({ error_code: 40911, reason: 'unknown-member', generation: 3 });
    const described = await api.get('/v1/groups/timeout-g');
    expect(described.body.members.map((m: { memberId: string }) => m.memberId)).toEqual([a.memberId]);
  });

  it('starts a new generation when a subscribed topic gains partitions', async () => {
    await createTopic(api, 'grows', 2);
    const a = await join('grows-g', ['grows']);
    await api.patch('/v1/topics/grows', { partitions: 4 });

    const after = await heartbeat('grows-g', a);

    expect(after.generation).toBe(2);
    expect(after.assignments.map(key)).toEqual(['grows-0', 'grows-1', 'grows-2', 'grows-3']);
  });

  it('rejoins a live member with new topics in a new generation, and refuses an unknown member id', async () => {
    await createTopic(api, 'rejoin-a', 1);
    await createTopic(api, 'rejoin-b', 1);
    const a = await join('rejoin-g', ['rejoin-a']);

    const same = await join('rejoin-g', ['rejoin-a'], { memberId: a.memberId });
    const changed = await join('rejoin-g', ['rejoin-a', 'rejoin-b'], { memberId: a.memberId });
    const unknown = await api.post('/v1/groups/rejoin-g/members', {
      topics: ['rejoin-a'],
      memberId: 'nobody',
    });

    expect(same).toMatchObject({ memberId: a.memberId, generation: 1 });
    expect(changed).toMatchObject({ memberId: a.memberId, generation: 2 });
    expect(changed.assignments.map(key)).toEqual(['rejoin-a-0', 'rejoin-b-0']);
    expect(unknown.status).toBe(409);
    expect(unknown.body.error_code).toBe(40911);
  });

  it.each([
    [{ topics: [] }, 'topics'],
    [{ topics: ['x'], sessionTimeoutMs: 999 }, 'sessionTimeoutMs'],
    [{ topics: ['x'], sessionTimeoutMs: 300_001 }, 'sessionTimeoutMs'],
    [{ topics: ['bad name'] }, 'topics[0]'],
    [{ topics: ['x'], extra: 1 }, 'body'],
  ])('fails when joining with %j: 400 naming %s', async (body, field) => {
    const answer = await api.post('/v1/groups/bad-join/members', body);

    expect(answer.status).toBe(400);
    expect(answer.body.field).toBe(field);
  });

  it('fails when joining for a topic that does not exist, with 404', async () => {
    const answer = await api.post('/v1/groups/nowhere-g/members', { topics: ['nowhere'] });

    expect(answer.status).toBe(404);
    expect(answer.body.error_code).toBe(40401);
  });
});

describe('committed offsets', () => {
  it('fails when a member commits with the old generation after a rebalance: 409 stale-generation, nothing written', async () => {
    await createTopic(api, 'stale', 2);
    await fillPartitions(api, 'stale', 2, 5);
    const a = await join('stale-g', ['stale']);
    await join('stale-g', ['stale']);

    const stale = await commit('stale-g', a, [{ topic: 'stale', partition: 0, offset: 3 }]);

    expect(stale.status).toBe(409);
    expect(stale.headers.get('content-type')).toBe('application/problem+json');
    expect(stale.body).toMatchObject({ error_code: 40910, reason: 'stale-generation', generation: 2 });
    expect((await committedOffsets('stale-g')).get('stale-0')).toBeNull();
  });

  it('fails when a member commits a partition it does not own: 409 not-owner', async () => {
    await createTopic(api, 'owner', 2);
    await fillPartitions(api, 'owner', 2, 5);
    let a = await join('owner-g', ['owner']);
    const b = await join('owner-g', ['owner']);
    a = await heartbeat('owner-g', a);

    const foreign = await commit('owner-g', a, [{ ...(b.assignments[0] as TopicPartitionJson), offset: 2 }]);
    const own = await commit('owner-g', a, [{ ...(a.assignments[0] as TopicPartitionJson), offset: 2 }]);

    expect(foreign.status).toBe(409);
    expect(foreign.body).toMatchObject({ error_code: 40912, reason: 'not-owner' });
    expect(own.status).toBe(200);
    expect(own.body).toEqual({
      group: 'owner-g',
      generation: 2,
      offsets: [{ ...a.assignments[0], offset: 2 }],
    });
  });

  it('fails when the offset is above the high watermark: 422 with error_code 42202', async () => {
    await createTopic(api, 'above', 1);
    await fillPartitions(api, 'above', 1, 3);
    const a = await join('above-g', ['above']);

    const atEnd = await commit('above-g', a, [{ topic: 'above', partition: 0, offset: 3 }]);
    const past = await commit('above-g', a, [{ topic: 'above', partition: 0, offset: 4 }]);

    expect(atEnd.status).toBe(200);
    expect(past.status).toBe(422);
    expect(past.body).toMatchObject({ error_code: 42202, highWatermark: 3, offset: 4 });
  });

  it('never moves an offset backwards, even under concurrent commits of the same partition', async () => {
    await createTopic(api, 'race', 1);
    await fillPartitions(api, 'race', 1, 200);
    const a = await join('race-g', ['race']);
    const offsets = Array.from({ length: 40 }, (_, i) => 1 + ((i * 97) % 200));

    const answers = await Promise.all(
      offsets.map((offset) => commit('race-g', a, [{ topic: 'race', partition: 0, offset }])),
    );

    for (const answer of answers) {
      expect([200, 409]).toContain(answer.status);
      if (answer.status === 409) expect(answer.body.error_code).toBe(40914);
    }
    expect((await committedOffsets('race-g')).get('race-0')).toBe(Math.max(...offsets));
    const back = await commit('race-g', a, [{ topic: 'race', partition: 0, offset: 5 }]);
    expect(back.status).toBe(409);
    expect(back.body).toMatchObject({ error_code: 40914, committedOffset: Math.max(...offsets) });
    // The same offset again is fine (a retry).
    expect((await commit('race-g', a, [{ topic: 'race', partition: 0, offset: 200 }])).status).toBe(200);
  });

  it('accepts a standalone commit only while the group has no live member', async () => {
    await createTopic(api, 'solo', 2);
    await fillPartitions(api, 'solo', 2, 4);

    const alone = await commit('solo-g', undefined, [{ topic: 'solo', partition: 1, offset: 2 }]);
    const a = await join('solo-g', ['solo']);
    const crowded = await commit('solo-g', undefined, [{ topic: 'solo', partition: 1, offset: 3 }]);
    await api.delete(`/v1/groups/solo-g/members/${a.memberId}`);
    const againAlone = await commit('solo-g', undefined, [{ topic: 'solo', partition: 1, offset: 3 }]);

    expect(alone.status).toBe(200);
    expect(crowded.status).toBe(409);
    expect(crowded.body).toMatchObject({ error_code: 40913, liveMembers: 1 });
    expect(againAlone.status).toBe(200);
    expect((await committedOffsets('solo-g')).get('solo-1')).toBe(3);
  });

  it('fails when only one of memberId and generation is given', async () => {
    const answer = await api.post('/v1/groups/half-g/offsets', {
      memberId: 'abc',
      offsets: [{ topic: 'x', partition: 0, offset: 0 }],
    });

    expect(answer.status).toBe(400);
    expect(answer.body.field).toBe('generation');
  });

  it('describes committed offset, high watermark and lag per partition, with metadata', async () => {
    await createTopic(api, 'lag', 2);
    await fillPartitions(api, 'lag', 2, 7);
    const a = await join('lag-g', ['lag']);
    await api.post('/v1/groups/lag-g/offsets', {
      memberId: a.memberId,
      generation: a.generation,
      offsets: [{ topic: 'lag', partition: 0, offset: 5, metadata: 'host-1' }],
    });

    const described = await api.get('/v1/groups/lag-g');

    expect(described.body).toMatchObject({ group: 'lag-g', state: 'Stable', generation: 1 });
    expect(described.body.offsets).toEqual([
      { topic: 'lag', partition: 0, committedOffset: 5, highWatermark: 7, lag: 2, metadata: 'host-1' },
      { topic: 'lag', partition: 1, committedOffset: null, highWatermark: 7, lag: null, metadata: null },
    ]);
  });
});

describe('reset, list and delete', () => {
  it('resets to earliest, latest, an offset (clamped) and a timestamp, only while the group is empty', async () => {
    await createTopic(api, 'reset', 2);
    const base = 1_700_000_000_000;
    for (let partition = 0; partition < 2; partition++) {
      const records = Array.from({ length: 10 }, (_, i) => ({
        partition,
        value: json(i),
        timestamp: base + i * 1000,
      }));
      await api.post('/v1/topics/reset/records', { records });
    }
    const a = await join('reset-g', ['reset']);

    const busy = await api.post('/v1/groups/reset-g/offsets/reset', { topic: 'reset', to: 'earliest' });
    await api.delete(`/v1/groups/reset-g/members/${a.memberId}`);
    const latest = await api.post('/v1/groups/reset-g/offsets/reset', { topic: 'reset', to: 'latest' });
    const earliest = await api.post('/v1/groups/reset-g/offsets/reset', {
      topic: 'reset',
      to: 'earliest',
      partitions: [1],
    });
    const atTime = await api.post('/v1/groups/reset-g/offsets/reset', {
      topic: 'reset',
      to: { timestamp: new Date(base + 6_500).toISOString() },
      partitions: [0],
    });
    const clamped = await api.post('/v1/groups/reset-g/offsets/reset', {
      topic: 'reset',
      to: { offset: 99 },
      partitions: [1],
    });

    expect(busy.status).toBe(409);
    expect(busy.body.error_code).toBe(40913);
    expect(latest.body.offsets.map((o: { offset: number }) => o.offset)).toEqual([10, 10]);
    expect(earliest.body.offsets).toEqual([{ topic: 'reset', partition: 1, offset: 0 }]);
    expect(atTime.body.offsets).toEqual([{ topic: 'reset', partition: 0, offset: 7 }]);
    expect(clamped.body.offsets).toEqual([{ topic: 'reset', partition: 1, offset: 10 }]);
    const committed = await committedOffsets('reset-g');
    expect([committed.get('reset-0'), committed.get('reset-1')]).toEqual([7, 10]);
  });

  it('lists groups and deletes an empty group with its offsets; refuses while members are live', async () => {
    await createTopic(api, 'del', 1);
    await fillPartitions(api, 'del', 1, 3);
    const a = await join('del-g', ['del']);
    await commit('del-g', a, [{ topic: 'del', partition: 0, offset: 3 }]);

    const busy = await api.delete('/v1/groups/del-g');
    const listed = await api.get('/v1/groups');
    await api.delete(`/v1/groups/del-g/members/${a.memberId}`);
    const deleted = await api.delete('/v1/groups/del-g');
    const gone = await api.get('/v1/groups/del-g');
    const reborn = await join('del-g', ['del']);

    expect(busy.status).toBe(409);
    expect(listed.body.groups.map((g: { group: string }) => g.group)).toContain('del-g');
    expect(deleted.status).toBe(204);
    expect(gone.status).toBe(404);
    expect(gone.body.error_code).toBe(40404);
    expect(reborn.generation).toBe(1);
    expect((await committedOffsets('del-g')).get('del-0')).toBeNull();
    expect((await api.delete('/v1/groups/never-was')).status).toBe(404);
  });
});
