/**
 * Three consumers share a 6-partition topic while 5,000 keyed records are produced and members are
 * restarted at random, cleanly (leave) or by crashing (silent until their 4 s session times out).
 * Every record must be processed at least once, and at the end the committed offsets must equal
 * the high watermarks.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { seededRandom } from '../support/events.js';
import { createTopic, key, startGroupsApi, type TopicPartitionJson } from '../support/groups.js';
import { type ApiClient, apiClient, json, str } from '../support/http-client.js';
import { createTestRuntime } from '../support/local-aws.js';

const TOPIC = 'consistency';
const GROUP = 'consistency-g';
const PARTITIONS = 6;
const RECORDS = 5_000;
const PRODUCE_BATCH = 250;
const CONSUMERS = 3;
const RESTARTS = 8;
const SESSION_TIMEOUT_MS = 4_000;
const HEARTBEAT_INTERVAL_MS = 500;
const FETCH_RECORDS_MAX = 200;
/**
 * How long the committed offsets may stand still before the test fails: many session timeouts,
 * so a loaded machine's slow rebalances pass and only a stuck group fails.
 */
const STALL_MS_MAX = 45_000;

let api: ApiClient;
let close: () => Promise<void>;

beforeAll(async () => {
  const runtime = await createTestRuntime({ tablePrefix: 'consistency' });
  const server = await startGroupsApi(runtime);
  api = apiClient(server.url);
  close = server.close;
});
afterAll(() => close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What all consumers processed: times each `partition:offset` was seen. */
const processed = new Map<string, number>();
const counters = { fetches: 0, commits: 0, fenced: 0, rejoins: 0, duplicates: 0 };

/** A consumer as a user would write it: commit after processing (at least once). */
class Consumer {
  memberId = '';
  generation = 0;
  positions = new Map<string, number>();
  private owned: TopicPartitionJson[] = [];
  private lastHeartbeat = 0;
  private stopped = false;

  async join(): Promise<void> {
    const answer = await api.post(`/v1/groups/${GROUP}/members`, {
      topics: [TOPIC],
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
    });
    expect(answer.status).toBe(200);
    await this.adopt(answer.body);
  }

  /** Takes a generation's assignments; positions of new partitions come from the committed offsets. */
  private async adopt(answer: { memberId: string; generation: number; assignments: TopicPartitionJson[] }) {
    this.memberId = answer.memberId;
    this.generation = answer.generation;
    this.owned = answer.assignments;
    this.lastHeartbeat = Date.now();
    const fresh = this.owned.filter((tp) => !this.positions.has(key(tp)));
    for (const tp of [...this.positions.keys()]) {
      if (!this.owned.some((owned) => key(owned) === tp)) this.positions.delete(tp);
    }
    if (fresh.length === 0) return;
    const described = await api.get(`/v1/groups/${GROUP}`);
    for (const tp of fresh) {
      const row = described.body.offsets.find((candidate: TopicPartitionJson) => key(candidate) === key(tp));
      this.positions.set(key(tp), row?.committedOffset ?? 0);
    }
  }

  private async heartbeat(): Promise<void> {
    const answer = await api.post(`/v1/groups/${GROUP}/members/${this.memberId}/heartbeat`, {
      generation: this.generation,
    });
    if (answer.status === 409 && answer.body.reason === 'unknown-member') {
      counters.rejoins++;
      this.positions.clear();
      await this.join();
      return;
    }
    expect(answer.status).toBe(200);
    await this.adopt(answer.body);
  }

  /** Runs until stopped (clean) or crashed (stops talking). */
  async run(): Promise<void> {
    while (!this.stopped) {
      if (Date.now() - this.lastHeartbeat >= HEARTBEAT_INTERVAL_MS) await this.heartbeat();
      let idle = true;
      for (const tp of [...this.owned]) {
        if (this.stopped) return;
        const from = this.positions.get(key(tp));
        if (from === undefined) continue;
        const page = await api.get(
          `/v1/topics/${TOPIC}/partitions/${tp.partition}/records?offset=${from}&maxRecords=${FETCH_RECORDS_MAX}`,
        );
        expect(page.status).toBe(200);
        counters.fetches++;
        if (page.body.records.length === 0) continue;
        idle = false;
        for (const record of page.body.records as { offset: number }[]) {
          const seen = `${tp.partition}:${record.offset}`;
          if (processed.has(seen)) counters.duplicates++;
          processed.set(seen, (processed.get(seen) ?? 0) + 1);
        }
        if (this.stopped) return; // a crash between processing and committing
        const committed = await api.post(`/v1/groups/${GROUP}/offsets`, {
          memberId: this.memberId,
          generation: this.generation,
          offsets: [{ ...tp, offset: page.body.nextOffset }],
        });
        counters.commits++;
        if (committed.status === 409) {
          // Fenced: learn the new generation; the position stays, so a partition still ours is
          // read, processed and committed again (at least once), and one that moved is dropped.
          counters.fenced++;
          await this.heartbeat();
          break;
        }
        expect(committed.status).toBe(200);
        this.positions.set(key(tp), page.body.nextOffset);
        this.lastHeartbeat = Date.now();
      }
      if (idle) await sleep(20);
    }
  }

  /** Stops and leaves: the group rebalances at once. */
  async leave(): Promise<void> {
    this.stopped = true;
    expect((await api.delete(`/v1/groups/${GROUP}/members/${this.memberId}`)).status).toBe(204);
  }

  /** Stops without a word: the group notices after the session timeout. */
  crash(): void {
    this.stopped = true;
  }
}

async function produceAll(): Promise<void> {
  for (let start = 0; start < RECORDS; start += PRODUCE_BATCH) {
    const records = Array.from({ length: PRODUCE_BATCH }, (_, i) => ({
      key: str(`customer-${(start + i) % 97}`),
      value: json({ seq: start + i }),
    }));
    const answer = await api.post(`/v1/topics/${TOPIC}/records`, { records });
    expect(answer.status).toBe(200);
    await sleep(50);
  }
}

/** Whether the group committed every record, and how many records its committed offsets cover. */
async function caughtUp(): Promise<{ done: boolean; committed: number }> {
  const described = await api.get(`/v1/groups/${GROUP}`);
  const rows = described.body.offsets as { committedOffset: number | null; highWatermark: number }[];
  const total = rows.reduce((sum, row) => sum + row.highWatermark, 0);
  const committed = rows.reduce((sum, row) => sum + (row.committedOffset ?? 0), 0);
  return {
    done: total === RECORDS && rows.every((row) => row.committedOffset === row.highWatermark),
    committed,
  };
}

it(`processes each of ${RECORDS} records at least once across random restarts, ending with committed offsets at the high watermarks`, async () => {
  await createTopic(api, TOPIC, PARTITIONS);
  const random = seededRandom(20_261_121);
  const started = Date.now();
  const consumers: Consumer[] = [];
  /** A consumer that fails stops; its error fails the test at once instead of a stuck catch-up. */
  const failures: unknown[] = [];
  const running: Promise<void>[] = [];
  const launch = async () => {
    const consumer = new Consumer();
    await consumer.join();
    consumers.push(consumer);
    running.push(
      consumer.run().catch((error: unknown) => {
        failures.push(error);
      }),
    );
    return consumer;
  };
  for (let i = 0; i < CONSUMERS; i++) await launch();
  const producing = produceAll();

  let crashes = 0;
  for (let restart = 0; restart < RESTARTS; restart++) {
    await sleep(300 + random() * 500);
    const victim = consumers.splice(Math.floor(random() * consumers.length), 1)[0];
    if (!victim) continue;
    if (random() < 0.5) {
      victim.crash();
      crashes++;
    } else {
      await victim.leave();
    }
    await launch();
  }
  await producing;
  // No bound on how fast the group catches up (that is the benchmark's), only on a stall: the
  // committed offsets must keep moving until they reach the high watermarks.
  let progress = { committed: -1, atMs: Date.now() };
  for (let state = await caughtUp(); !state.done; state = await caughtUp()) {
    if (failures.length > 0) throw failures[0];
    if (state.committed > progress.committed) progress = { committed: state.committed, atMs: Date.now() };
    expect(Date.now() - progress.atMs, `no commit moved for ${STALL_MS_MAX} ms`).toBeLessThan(STALL_MS_MAX);
    await sleep(100);
  }
  for (const consumer of consumers) consumer.crash();
  await Promise.all(running);

  const missing = [];
  const described = await api.get(`/v1/groups/${GROUP}`);
  for (const row of described.body.offsets as { partition: number; highWatermark: number }[]) {
    for (let offset = 0; offset < row.highWatermark; offset++) {
      if (!processed.has(`${row.partition}:${offset}`)) missing.push(`${row.partition}:${offset}`);
    }
  }
  expect(missing).toEqual([]);
  expect(processed.size).toBe(RECORDS);
  expect(described.body.offsets.every((row: { lag: number }) => row.lag === 0)).toBe(true);
  console.info(
    `[group-consistency] ${RECORDS} records, ${RESTARTS} restarts (${crashes} crashes) in ${Date.now() - started} ms: ` +
      `${counters.duplicates} processed twice or more, ${counters.fetches} fetches, ${counters.commits} commits ` +
      `(${counters.fenced} fenced), ${counters.rejoins} rejoins after expiry, final generation ${described.body.generation}`,
  );
}, 300_000);
