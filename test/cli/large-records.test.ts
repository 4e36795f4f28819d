/**
 * `shoal produce` and `shoal consume` with a record too large for a produce request: the CLI (through
 * the client) uploads the value to S3 and appends it by reference, then reads it back through the
 * fetch's reference, without being asked to.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/domain/limits.js';
import { createTestRuntime, startTestApi, type TestApi } from '../support/local-aws.js';
import { jsonLines, runShoal } from './run-shoal.js';

let api: TestApi;
let folder: string;

beforeAll(async () => {
  api = await startTestApi(await createTestRuntime({ tablePrefix: 'cli-large' }));
  folder = await mkdtemp(join(tmpdir(), 'shoal-cli-large-'));
});
afterAll(async () => {
  await api?.close();
  if (folder) await rm(folder, { recursive: true, force: true });
});

describe('shoal produce and consume of a record over the request size', () => {
  it('produces a 6 MB line through an upload and consumes it back whole, between small ones', async () => {
    const large = 'L'.repeat(6_000_000);
    const file = join(folder, 'large.txt');
    await writeFile(file, `first\n${large}\nlast\n`);
    expect((await runShoal(api.url, ['topics', 'create', 'large', '--partitions', '1'])).code).toBe(0);

    const produced = await runShoal(api.url, ['produce', 'large', '--file', file]);
    const consumed = await runShoal(api.url, [
      'consume',
      'large',
      '--group',
      'readers',
      '--from-beginning',
      '--count',
      '3',
      '--format',
      'json',
    ]);

    expect(large.length).toBeGreaterThan(LIMITS.requestBodyBytesMax);
    expect(produced.code).toBe(0);
    expect(produced.stderr).toMatch(/Produced 3 records to large/);
    expect(consumed.code).toBe(0);
    expect(jsonLines(consumed.stdout).map((record) => record.value)).toEqual(['first', large, 'last']);
  });
});
