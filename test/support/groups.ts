/** Helpers for consumer group tests over HTTP. */
import { expect } from 'vitest';
import { createHandler as createGroupsHandler } from '../../functions/manage-groups.js';
import { loadHandlers } from '../../local/stack.js';
import type { Clock } from '../../shared/domain/clock.js';
import type { Runtime } from '../../shared/runtime.js';
import { type ApiClient, json } from './http-client.js';
import { startTestApi, type TestApi } from './local-aws.js';

export interface TopicPartitionJson {
  readonly topic: string;
  readonly partition: number;
}

/** The test API with the groups function on `clock` (session deadlines move only when the test says). */
export async function startGroupsApi(runtime: Runtime, clock?: Clock): Promise<TestApi> {
  const { handlers } = await loadHandlers(runtime);
  return startTestApi(runtime, {
    handlers: { ...handlers, 'manage-groups': createGroupsHandler(clock ? { ...runtime, clock } : runtime) },
  });
}

export async function createTopic(api: ApiClient, name: string, partitions: number): Promise<void> {
  const answer = await api.post('/v1/topics', { name, partitions });
  expect(answer.status).toBe(201);
}

/** Appends `count` records with values 0..count-1 to each partition. */
export async function fillPartitions(api: ApiClient, topic: string, partitions: number, count: number) {
  for (let partition = 0; partition < partitions; partition++) {
    const records = Array.from({ length: count }, (_, i) => ({ partition, value: json({ partition, i }) }));
    const answer = await api.post(`/v1/topics/${topic}/records`, { records });
    expect(answer.status).toBe(200);
  }
}

export const key = (tp: TopicPartitionJson) => `${tp.topic}-${tp.partition}`;

/** Asserts the members' assignments are disjoint and cover `topic`'s partitions 0..partitions-1. */
export function expectDisjointCover(
  assignments: readonly (readonly TopicPartitionJson[])[],
  topic: string,
  partitions: number,
) {
  const all = assignments.flat().map(key).sort();
  expect(new Set(all).size).toBe(all.length);
  expect(all).toEqual(Array.from({ length: partitions }, (_, p) => `${topic}-${p}`).sort());
}
