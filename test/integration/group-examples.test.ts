/**
 * Runs the consumer group example of docs/consumer-groups.md as a user would (`node
 * examples/group-consumer.mjs`) against the test API, so the documented code cannot rot.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startGroupsApi } from '../support/groups.js';
import { apiClient } from '../support/http-client.js';
import { createTestRuntime } from '../support/local-aws.js';

const run = promisify(execFile);
const EXAMPLE = fileURLToPath(new URL('../../examples/group-consumer.mjs', import.meta.url));

let url: string;
let close: () => Promise<void>;

beforeAll(async () => {
  const runtime = await createTestRuntime({ tablePrefix: 'group-examples' });
  const server = await startGroupsApi(runtime);
  url = server.url;
  close = server.close;
});
afterAll(() => close());

async function runExample(mode: string, group: string) {
  const { stdout } = await run(process.execPath, [EXAMPLE, '--mode', mode], {
    env: { ...process.env, SHOAL_URL: url, TOPIC: 'example-orders', GROUP: group, RECORDS: '20' },
    timeout: 20_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
}

it('consumes every record at least once and leaves the group without lag', async () => {
  const result = await runExample('at-least-once', 'example-billing');

  expect(result).toMatchObject({ mode: 'at-least-once', processed: 20, duplicatesSkipped: 0, lag: 0 });
  const described = await apiClient(url).get('/v1/groups/example-billing');
  expect(described.body).toMatchObject({ state: 'Empty', members: [] });
});

it('consumes at most once in another group, which keeps its own offsets', async () => {
  const result = await runExample('at-most-once', 'example-audit');

  // The first run's 20 records and this run's 20: a new group starts at the beginning.
  expect(result).toMatchObject({ mode: 'at-most-once', processed: 40, lag: 0 });
});

it('after a crash between processing and commit, the next member gets the records again and its inbox skips them', async () => {
  const inboxFile = join(await mkdtemp(join(tmpdir(), 'shoal-inbox-')), 'inbox.json');
  const options = {
    env: {
      ...process.env,
      SHOAL_URL: url,
      TOPIC: 'example-crash',
      GROUP: 'example-crash-g',
      RECORDS: '20',
      SESSION_TIMEOUT_MS: '1000',
      INBOX_FILE: inboxFile,
    },
    timeout: 30_000,
  };

  const crashed = await run(process.execPath, [EXAMPLE, '--crash-after', '7'], options).catch(
    (error) => error,
  );
  const started = Date.now();
  const { stdout } = await run(process.execPath, [EXAMPLE], {
    ...options,
    env: { ...options.env, RECORDS: '0' },
  });
  console.info(`[group-examples] the second member caught up ${Date.now() - started} ms after the crash`);

  expect(crashed.code).toBe(1);
  expect(JSON.parse(crashed.stdout.trim())).toEqual({ crashed: true, processed: 7 });
  // Records committed before the crash are not delivered again; the others are, and the inbox skips them.
  const second = JSON.parse(stdout.trim());
  expect(second).toMatchObject({ processed: 13, lag: 0 });
  expect(second.duplicatesSkipped).toBeGreaterThan(0);
  expect(second.duplicatesSkipped).toBeLessThanOrEqual(7);
  expect(JSON.parse(await readFile(inboxFile, 'utf8'))).toHaveLength(20);
});
