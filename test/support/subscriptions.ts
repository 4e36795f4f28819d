/**
 * The local stack's event source for integration tests: the HTTP API on fresh tables, the local
 * dispatcher delivering to module handlers (`test/fixtures/subscribers/`), woken by a follower of
 * the log table's stream and by a fast sweep, as `npm start` wires them.
 */
import { expect } from 'vitest';
import { followStream } from '../../local/background.js';
import {
  type LocalDispatcher,
  type LocalDispatcherOptions,
  startLocalDispatcher,
} from '../../local/dispatcher.js';
import type { Runtime } from '../../shared/runtime.js';
import { type ApiClient, apiClient } from './http-client.js';
import { createTestRuntime, startTestApi } from './local-aws.js';

export interface SubscriptionStack {
  readonly runtime: Runtime;
  readonly api: ApiClient;
  /** `http://127.0.0.1:<port>` of the API, for requests the ApiClient cannot send. */
  readonly url: string;
  readonly dispatcher: LocalDispatcher;
  close(): Promise<void>;
}

/** Fixture handlers, by path from the repository root (where tests run). */
export const SUBSCRIBERS = {
  recording: 'test/fixtures/subscribers/recording.ts',
  powertools: 'test/fixtures/subscribers/powertools.ts',
  poison: 'test/fixtures/subscribers/poison.ts',
  partial: 'test/fixtures/subscribers/partial.ts',
  slow: 'test/fixtures/subscribers/slow.ts',
} as const;

/** Starts the API and the dispatcher on fresh tables; retries back off in tens of milliseconds. */
export async function startSubscriptionStack(
  tablePrefix: string,
  options: LocalDispatcherOptions = {},
): Promise<SubscriptionStack> {
  const runtime = await createTestRuntime({ tablePrefix });
  const server = await startTestApi(runtime);
  const dispatcher = startLocalDispatcher(runtime, {
    sweepIntervalMs: 250,
    ...options,
    dispatcher: { backoff: { baseMs: 20, capMs: 200 }, waitMsMax: 2_000, ...options.dispatcher },
  });
  const follower = followStream(
    runtime,
    runtime.config.logTableName,
    async (event) => {
      await dispatcher.consume(event);
      return undefined;
    },
    { filter: dispatcher.filter, idlePollMs: 50 },
  );
  return {
    runtime,
    api: apiClient(server.url),
    url: server.url,
    dispatcher,
    close: async () => {
      await follower.stop();
      await dispatcher.stop();
      await server.close();
    },
  };
}

/** Polls `check` until it returns something other than undefined or false. */
export async function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check();
    if (result !== undefined && result !== false) return result;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function createTopic(api: ApiClient, name: string, partitions = 1): Promise<void> {
  const answer = await api.post('/v1/topics', { name, partitions });
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
}

export async function subscribe(api: ApiClient, body: Record<string, unknown>): Promise<any> {
  const answer = await api.post('/v1/subscriptions', body);
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return answer.body;
}

export async function produce(api: ApiClient, topic: string, records: unknown[]): Promise<any> {
  const answer = await api.post(`/v1/topics/${topic}/records`, { records });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body;
}

export async function describeSubscription(api: ApiClient, name: string): Promise<any> {
  const answer = await api.get(`/v1/subscriptions/${name}`);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body;
}

/** Every record of a partition, from offset 0. */
export async function readPartition(api: ApiClient, topic: string, partition = 0): Promise<any[]> {
  const answer = await api.get(
    `/v1/topics/${topic}/partitions/${partition}/records?offset=0&maxRecords=10000`,
  );
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body.records;
}

/** A header's value as text. */
export function headerText(
  record: { headers: { name: string; value: string }[] },
  name: string,
): string | undefined {
  const header = record.headers.find((candidate) => candidate.name === name);
  return header === undefined ? undefined : Buffer.from(header.value, 'base64').toString('utf8');
}
