/**
 * An idle group member on the local stack, with the client's default settings: once its long polls
 * come back empty it makes no HTTP request at all, sends only its heartbeats (every
 * sessionTimeoutMs / 3) and a watch renewal a minute over the WebSocket, keeps its membership past
 * the session timeout, and still sees a new record within seconds (timings belong to the bench;
 * the bound here is loose for a loaded 2-core machine).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Consumer, Shoal } from '../../client/index.js';
import { startThrowawayStack, type ThrowawayStack } from '../support/throwaway-stack.js';

/** What the design allows an idle member per minute: 6 heartbeats (every 10 s) and 1 renewal. */
const IDLE_MESSAGES_PER_MINUTE_MAX = 7;
/** Longer than the default session timeout (30 s), so a member kept alive by nothing would expire. */
const IDLE_WINDOW_MS = 35_000;

let throwaway: ThrowawayStack;
let shoal: Shoal;

beforeAll(async () => {
  throwaway = await startThrowawayStack('idle');
  shoal = new Shoal({ url: throwaway.stack.url });
}, 120_000);
afterAll(async () => {
  await throwaway?.stop();
});

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('an idle consumer', () => {
  it('makes no HTTP requests, few WebSocket messages, keeps its membership and sees a new record', async () => {
    // Prepare: one member of a 12-partition topic, read to its (empty) end.
    await shoal.admin().createTopic({ name: 'quiet', partitions: 12 });
    const received: { value: unknown; at: number }[] = [];
    const consumer: Consumer = shoal.consumer({ groupId: 'quiet-readers' });
    await consumer.subscribe({ topics: ['quiet'], fromBeginning: true });
    await consumer.run({
      eachRecord: async ({ record }) => void received.push({ value: record.value, at: Date.now() }),
    });
    const joined = consumer.membershipInfo();
    // Every partition's first long poll (maxWaitMs, 2 s) comes back empty; then they wait for news.
    await new Promise((resolve) => setTimeout(resolve, 8_000));

    // Act: stay idle past the session timeout.
    const before = { ...throwaway.stack.traffic };
    await new Promise((resolve) => setTimeout(resolve, IDLE_WINDOW_MS));
    const after = { ...throwaway.stack.traffic };

    // Assess: no HTTP at all, messages within the design's budget, still the same member.
    expect(after.httpRequests - before.httpRequests).toBe(0);
    const messagesIn = after.messagesIn - before.messagesIn;
    expect(messagesIn).toBeGreaterThan(0);
    expect(messagesIn).toBeLessThanOrEqual(
      Math.ceil((IDLE_MESSAGES_PER_MINUTE_MAX * IDLE_WINDOW_MS) / 60_000) + 1,
    );
    const group = await shoal.admin().describeGroup('quiet-readers');
    expect(group.members.map((member) => member.memberId)).toEqual([joined?.memberId]);
    expect(group.generation).toBe(joined?.generation);

    // Act: a record arrives while the consumer is idle.
    const producedAt = Date.now();
    const producer = shoal.producer();
    await producer.send({ topic: 'quiet', records: [{ value: 'wake up' }] });
    await producer.close();
    await until(() => received.length > 0, 20_000, 'the record to reach the handler');

    // Assess: it came by notification (seconds), not by the next watch renewal (a minute).
    expect((received[0]?.at ?? Number.POSITIVE_INFINITY) - producedAt).toBeLessThan(10_000);
    await consumer.disconnect();
  }, 120_000);
});
