/**
 * The `shoal` command run as a user runs it (the package's bin, a separate process): stdin, format
 * strings, idempotent reruns, listings and how it fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Shoal } from '../../client/index.js';
import { createTestRuntime, startTestApi, type TestApi } from '../support/local-aws.js';
import { freePort, type Run, runShoal } from './run-shoal.js';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi(await createTestRuntime({ tablePrefix: 'cli' }));
});
afterAll(() => api?.close());

const admin = () => new Shoal({ url: api.url }).admin();

const shoal = (
  args: readonly string[],
  options: { input?: string; env?: Record<string, string> } = {},
): Promise<Run> => runShoal(api.url, args, options);

describe('shoal', () => {
  it('reads lines from stdin and prints records with a kcat-like format string', async () => {
    // Prepare
    await admin().createTopic({ name: 'events', partitions: 1 });

    // Act
    const produced = await shoal(['produce', 'events', '-K', '=', '--value-format', 'json'], {
      input: 'a={"n":1}\nb={"n":2}\n\nc={"n":3}\n',
    });
    // The last two records of partition 0, as kcat's -p 0 -o -2.
    const printed = await shoal(['consume', 'events', '-p', '0', '-o', '-2', '--format', '%k@%o %s\\n']);

    // Assess
    expect(produced.code).toBe(0);
    expect(printed.stdout).toBe('b@1 {"n":2}\nc@2 {"n":3}\n');
  });

  it('duplicates nothing when the same produce runs again with an idempotency key', async () => {
    // Prepare
    await admin().createTopic({ name: 'payments', partitions: 2 });
    const input = Array.from({ length: 25 }, (_, i) => `payment ${i}`).join('\n');
    const args = ['produce', 'payments', '--idempotency-key', 'payments-2026-11-21', '--batch-records', '10'];

    // Act
    await shoal(args, { input });
    await shoal(args, { input });
    const described = await shoal(['topics', 'describe', 'payments', '--json']);

    // Assess
    const records = JSON.parse(described.stdout).partitions.reduce(
      (sum: number, p: any) => sum + p.highWatermark,
      0,
    );
    expect(records).toBe(25);
  });

  it('creates a topic, resets a new group on it, and lists both as JSON', async () => {
    // Act
    const created = await shoal([
      'topics',
      'create',
      'listed',
      '--partitions',
      '2',
      '--config',
      'retention.ms=3600000',
      '--json',
    ]);
    const reset = await shoal(['groups', 'reset-offsets', 'listers', '--topic', 'listed', '--to-latest']);
    const [topics, groups] = await Promise.all([
      shoal(['topics', 'list', '--json']),
      shoal(['groups', 'list', '--json']),
    ]);

    // Assess
    expect(JSON.parse(created.stdout)).toMatchObject({
      name: 'listed',
      partitionCount: 2,
      config: { retentionMs: 3_600_000 },
    });
    expect(reset.code).toBe(0);
    expect(JSON.parse(topics.stdout).topics.map((t: any) => t.name)).toContain('listed');
    expect(JSON.parse(groups.stdout).groups.map((g: any) => g.group)).toContain('listers');
  });

  it('takes the global options before the command too, as git and kubectl do', async () => {
    // Prepare: SHOAL_URL points nowhere, so only the --url given first can reach the API.
    await admin().createTopic({ name: 'first-options', partitions: 1 });
    const nowhere = { SHOAL_URL: `http://127.0.0.1:${await freePort()}` };

    // Act
    const listed = await shoal(['--url', api.url, 'topics', 'list', '--json'], { env: nowhere });
    const quiet = await shoal([`--url=${api.url}`, '-q', 'topics', 'describe', 'first-options', '--json'], {
      env: nowhere,
    });
    const missing = await shoal(['--url']);

    // Assess
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('first-options');
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(JSON.parse(quiet.stdout).name).toBe('first-options');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--url needs a value/);
  });

  it('fails with one line on stderr and exit code 1 when the topic does not exist', async () => {
    const run = await shoal(['consume', 'no-such-topic', '--group', 'g', '--count', '1']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^shoal: Topic 'no-such-topic' does not exist/);
  });

  it('fails with exit code 2 and a pointer to the help when the command line is wrong', async () => {
    const run = await shoal(['topics', 'create', 'x']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("shoal: topics create needs --partitions <n> (see 'shoal topics --help')\n");
  });

  it('fails with one line when no API answers', async () => {
    const port = await freePort();
    const run = await shoal(['topics', 'list'], { env: { SHOAL_URL: `http://127.0.0.1:${port}` } });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `shoal: GET /v1/topics: no answer from http://127.0.0.1:${port} (ECONNREFUSED); is the local stack running (npm start)?\n`,
    );
  });
});
