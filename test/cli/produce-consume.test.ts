/**
 * The `shoal` command run as a user runs it (the package's bin, a separate process) against the
 * HTTP API on the real handlers: produce a file, consume it by group, watch the lag reach zero,
 * reset the group's offsets and read everything again.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRuntime, startTestApi, type TestApi } from '../support/local-aws.js';
import { jsonLines, type Run, runShoal } from './run-shoal.js';

let api: TestApi;
let folder: string;

beforeAll(async () => {
  api = await startTestApi(await createTestRuntime({ tablePrefix: 'cli-flow' }));
  folder = await mkdtemp(join(tmpdir(), 'shoal-cli-'));
});
afterAll(async () => {
  await api?.close();
  if (folder) await rm(folder, { recursive: true, force: true });
});

const shoal = (args: readonly string[]): Promise<Run> => runShoal(api.url, args);

describe('shoal produce and consume by group', () => {
  it('produces lines from a file, consumes them back by group, shows the lag reach zero, resets and reads again', async () => {
    // Prepare: a topic and a file of key:value lines.
    const created = await shoal(['topics', 'create', 'orders', '--partitions', '3']);
    expect(created.code).toBe(0);
    const lines = Array.from({ length: 30 }, (_, i) => `customer-${i % 4}:order ${i}`);
    const file = join(folder, 'orders.txt');
    await writeFile(file, `${lines.join('\n')}\n`);

    // Act 1: produce the file.
    const produced = await shoal(['produce', 'orders', '--key-separator', ':', '--file', file]);

    // Assess 1
    expect(produced.code).toBe(0);
    expect(produced.stdout).toBe('');
    expect(produced.stderr).toMatch(/Produced 30 records to orders/);

    // Act 2: consume 20 of them as the group, then look at its lag.
    const first = await shoal([
      'consume',
      'orders',
      '--group',
      'billing',
      '--from-beginning',
      '--count',
      '20',
      '--format',
      'json',
    ]);
    const midway = await shoal(['groups', 'describe', 'billing', '--json']);

    // Assess 2: JSON lines with partition, offset, key, value; 10 records still to read.
    expect(first.code).toBe(0);
    const firstRecords = jsonLines(first.stdout);
    expect(firstRecords).toHaveLength(20);
    for (const record of firstRecords) {
      expect(record).toMatchObject({ partition: expect.any(Number), offset: expect.any(Number) });
      expect(lines).toContain(`${record.key}:${record.value}`);
    }
    const lagMidway = JSON.parse(midway.stdout).offsets.reduce((sum: number, o: any) => sum + o.lag, 0);
    expect(lagMidway).toBe(10);

    // Act 3: consume the rest; the lag is then zero everywhere.
    const rest = await shoal(['consume', 'orders', '--group', 'billing', '--format', 'json']);
    const done = await shoal(['groups', 'describe', 'billing', '--json']);

    // Assess 3: nothing read twice, everything read once.
    const restRecords = jsonLines(rest.stdout);
    expect(restRecords).toHaveLength(10);
    const all = [...firstRecords, ...restRecords].map((r) => `${r.partition}/${r.offset}`);
    expect(new Set(all).size).toBe(30);
    const description = JSON.parse(done.stdout);
    expect(description.group).toBe('billing');
    expect(description.offsets).toHaveLength(3);
    for (const offset of description.offsets) expect(offset.lag).toBe(0);

    // Act 4: reset to the earliest offsets and read everything again.
    const reset = await shoal([
      'groups',
      'reset-offsets',
      'billing',
      '--topic',
      'orders',
      '--to-earliest',
      '--json',
    ]);
    const again = await shoal([
      'consume',
      'orders',
      '--group',
      'billing',
      '--count',
      '30',
      '--format',
      'json',
    ]);

    // Assess 4
    expect(reset.code).toBe(0);
    expect(JSON.parse(reset.stdout).offsets.map((o: any) => o.offset)).toEqual([0, 0, 0]);
    expect(
      jsonLines(again.stdout)
        .map((r) => `${r.key}:${r.value}`)
        .sort(),
    ).toEqual([...lines].sort());
  }, 60_000);
});
