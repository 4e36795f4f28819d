/**
 * The watch WebSocket on the local stack, spoken raw: a watch is answered with the topic's high
 * watermarks and followed by a notification per append; bad messages, unknown topics and fenced
 * heartbeats are answered with problems; a page of another origin cannot open it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type ApiClient, apiClient, str } from '../support/http-client.js';
import { startThrowawayStack, type ThrowawayStack } from '../support/throwaway-stack.js';

let throwaway: ThrowawayStack;
let api: ApiClient;

beforeAll(async () => {
  throwaway = await startThrowawayStack('watch');
  api = apiClient(throwaway.stack.url);
  await api.post('/v1/topics', { name: 'watched', partitions: 2 });
}, 120_000);
afterAll(async () => {
  await throwaway?.stop();
});

/** A connection that collects every message it receives. */
async function connect(
  headers: Record<string, string> = {},
): Promise<{ socket: WebSocket; messages: any[] }> {
  const socket = new WebSocket(`${throwaway.stack.url.replace('http:', 'ws:')}/v1/watch`, { headers });
  const messages: any[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return { socket, messages };
}

async function next(
  messages: any[],
  type: string,
  where: (message: any) => boolean = () => true,
): Promise<any> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const found = messages.find((message) => message.type === type && where(message));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`No ${type} message; got ${JSON.stringify(messages)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the watch WebSocket', () => {
  it("answers a watch with the topic's high watermarks, then announces each append", async () => {
    await api.post('/v1/topics/watched/records', { records: [{ partition: 1, value: str('before') }] });
    const { socket, messages } = await connect();

    socket.send(JSON.stringify({ action: 'watch', topics: ['watched'] }));
    const watching = await next(messages, 'watching');
    await api.post('/v1/topics/watched/records', { records: [{ partition: 0, value: str('after') }] });
    // The earlier append may still be announced too (a notification is a hint, late or not at all).
    const heads = await next(messages, 'heads', (message) =>
      message.partitions.some(({ partition }: { partition: number }) => partition === 0),
    );
    socket.close();

    expect(watching.topics).toEqual([
      {
        topic: 'watched',
        partitions: [
          { partition: 0, highWatermark: 0 },
          { partition: 1, highWatermark: 1 },
        ],
      },
    ]);
    expect(heads.topic).toBe('watched');
    expect(heads.partitions).toContainEqual({ partition: 0, highWatermark: 1 });
  });

  it('fails a message that is not a watch or a heartbeat with a 400 problem', async () => {
    const { socket, messages } = await connect();

    socket.send(JSON.stringify({ action: 'subscribe', topics: ['watched'] }));
    const problem = await next(messages, 'problem');
    socket.close();

    expect(problem).toMatchObject({ status: 400, error_code: 400 });
  });

  it('fails a watch of a topic that does not exist with its 404 problem', async () => {
    const { socket, messages } = await connect();

    socket.send(JSON.stringify({ action: 'watch', topics: ['absent'] }));
    const problem = await next(messages, 'problem');
    socket.close();

    expect(problem).toMatchObject({ action: 'watch', status: 404, error_code: 40401 });
  });

  it('fails a heartbeat of a member the group does not know, so the client joins again', async () => {
    const joined = await api.post('/v1/groups/watchers/members', { topics: ['watched'] });
    const { socket, messages } = await connect();

    socket.send(
      JSON.stringify({ action: 'heartbeat', group: 'watchers', memberId: 'not-a-member', generation: 1 }),
    );
    const problem = await next(messages, 'problem');
    socket.close();

    expect(joined.status).toBe(200);
    expect(problem).toMatchObject({ action: 'heartbeat', status: 409, error_code: 40911 });
  });

  it('fails the upgrade of a page from another origin', async () => {
    await expect(connect({ origin: 'https://elsewhere.example' })).rejects.toThrow(/403/);
  });
});
