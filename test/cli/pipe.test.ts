/**
 * `shoal pipe` run as a user runs it (the package's bin, a separate process): copies a topic to
 * another exactly once, stops after --count and resumes where the group's transaction left it, so
 * two runs together copy every record once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRuntime, startTestApi, type TestApi } from '../support/local-aws.js';
import { jsonLines, type Run, runShoal } from './run-shoal.js';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi(await createTestRuntime({ tablePrefix: 'cli-pipe' }));
});
afterAll(async () => {
  await api?.close();
});

const shoal = (args: readonly string[], input?: string): Promise<Run> =>
  runShoal(api.url, args, input === undefined ? {} : { input });

describe('shoal pipe', () => {
  it('copies a topic exactly once across two runs, resuming from the committed offsets', async () => {
    // Prepare: 12 keyed records over two partitions, and an empty output topic.
    expect((await shoal(['topics', 'create', 'pipe-in', '--partitions', '2'])).code).toBe(0);
    expect((await shoal(['topics', 'create', 'pipe-out', '--partitions', '1'])).code).toBe(0);
    const lines = Array.from({ length: 12 }, (_, i) => `k${i % 3}:record ${i}`).join('\n');
    expect((await shoal(['produce', 'pipe-in', '--key-separator', ':'], `${lines}\n`)).code).toBe(0);

    // Act: copy at most 5, then the rest.
    const first = await shoal([
      'pipe',
      'pipe-in',
      'pipe-out',
      '--group',
      'copier',
      '--from-beginning',
      '-c',
      '5',
    ]);
    const second = await shoal(['pipe', 'pipe-in', 'pipe-out', '--group', 'copier', '--from-beginning']);
    const copied = await shoal(['consume', 'pipe-out', '--format', 'json']);

    // Assess
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/Copied 5 records from pipe-in to pipe-out exactly once/);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/Copied 7 records/);
    const values = jsonLines(copied.stdout).map((record) => record.value as string);
    expect(values.sort()).toEqual(Array.from({ length: 12 }, (_, i) => `record ${i}`).sort());
  }, 60_000);

  it('fails with a usage error when the group is missing', async () => {
    // Act
    const answer = await shoal(['pipe', 'pipe-in', 'pipe-out']);

    // Assess
    expect(answer.code).toBe(2);
    expect(answer.stderr).toMatch(/pipe needs --group/);
  });
});
