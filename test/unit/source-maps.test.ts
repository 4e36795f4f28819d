/**
 * Stack traces name the `.ts` sources without `--enable-source-maps`: a tiny handler is bundled the
 * way the CDK app bundles every function (`SHOAL_BUNDLING`: minified ESM, the map beside it) and
 * run in a fresh Node process without the flag; the error it logs through Powertools and the one
 * it lets escape must name the fixture's lines.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHOAL_BUNDLING, SHOAL_ESBUILD_OPTIONS } from '../../infra/shoal-function.js';
import { mapErrorStack, sourceMappedStack } from '../../shared/observability/source-maps.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/source-maps/failing-handler.ts', import.meta.url));

/** Runs the bundle's two entries in a fresh process and prints what Lambda would see. */
const CHILD = `
const entries = await import(process.env.BUNDLE_URL);
await entries.logged();
try {
  await entries.escaped();
} catch (error) {
  process.stdout.write(JSON.stringify({
    escaped: error.stack, cause: error.cause?.stack, sourceMapsEnabled: process.sourceMapsEnabled,
  }) + '\\n');
}
`;

let scratch: string;
let output: string[];
let lineOf: (marker: string) => number;

beforeAll(async () => {
  const source = await readFile(FIXTURE, 'utf8');
  lineOf = (marker) => source.split('\n').findIndex((line) => line.includes(marker)) + 1;
  scratch = await mkdtemp(join(tmpdir(), 'shoal-source-maps-'));
  const bundle = join(scratch, 'asset', 'index.mjs');
  await build({
    entryPoints: [FIXTURE],
    outfile: bundle,
    ...SHOAL_ESBUILD_OPTIONS,
    logLevel: 'silent',
  });
  output = await runNode(CHILD, { BUNDLE_URL: pathToFileURL(bundle).href });
}, 60_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('a bundled function run without --enable-source-maps', () => {
  it('is bundled minified with its map beside it, and started without the flag', () => {
    expect(SHOAL_BUNDLING).toMatchObject({ minify: true, sourceMap: true });
    expect(SHOAL_BUNDLING.sourceMapMode).toBeUndefined();
    // Node's own source map support was off in the child: the mapping below is this module's.
    const report = JSON.parse(output.find((text) => text.includes('"escaped"')) ?? '{}');
    expect(report).toMatchObject({ sourceMapsEnabled: false });
  });

  it('logs a caught error with the stack and location of the .ts line that threw', () => {
    const line = lineOf('THROWS logged');
    const log = output
      .map((text) => JSON.parse(text) as { message?: string; error?: { stack: string; location: string } })
      .find((entry) => entry.message === 'Reading a partition failed');
    expect(log?.error?.location).toMatch(
      new RegExp(`test/fixtures/source-maps/failing-handler\\.ts:${line}$`),
    );
    const frames = log?.error?.stack.split('\n') ?? [];
    expect(frames[0]).toBe('Error: partition 3 is unreachable');
    expect(frames[1]).toMatch(new RegExp(`^ {4}at readPartition \\(.*failing-handler\\.ts:${line}:\\d+\\)$`));
    expect(frames[2]).toMatch(/^ {4}at .*failing-handler\.ts:\d+:\d+\)?$/);
    expect(log?.error?.stack).not.toContain('index.mjs');
  });

  it('lets an escaping error reach Lambda with its stack and its cause mapped', () => {
    const line = lineOf('THROWS escaped');
    const report = JSON.parse(output.find((text) => text.includes('"escaped"')) ?? '{}') as {
      escaped?: string;
      cause?: string;
    };
    expect(report.escaped?.split('\n')[1]).toMatch(new RegExp(`failing-handler\\.ts:${line}:\\d+\\)?$`));
    expect(report.cause?.split('\n')[1]).toMatch(new RegExp(`failing-handler\\.ts:${line}:\\d+\\)?$`));
  });
});

describe('sourceMappedStack', () => {
  it('leaves frames of files without a map, and frames without a location, as they are', () => {
    const stack = [
      'Error: boom',
      '    at readHead (/nowhere/shoal/index.mjs:1:2345)',
      '    at file:///nowhere/shoal/index.mjs:1:99',
      '    at async Promise.all (index 0)',
      '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
    ].join('\n');
    expect(sourceMappedStack(stack)).toBe(stack);
  });

  it('maps an error once, and never throws on one whose stack is not a string', () => {
    const error = new Error('odd');
    Object.defineProperty(error, 'stack', { value: 42, writable: false });
    expect(mapErrorStack(error)).toBe(error);
    expect(mapErrorStack('not an error')).toBe('not an error');
  });
});

/**
 * Runs `script` as an ES module in a new Node process without NODE_OPTIONS; the lines it wrote to
 * stdout and stderr (Powertools logs errors to stderr; Lambda keeps both).
 */
function runNode(script: string, env: Record<string, string>): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH, NODE_OPTIONS: '', POWERTOOLS_LOG_LEVEL: 'INFO', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid === undefined || child.pid <= 0) {
      reject(new Error('the node child did not start'));
      return;
    }
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`node exited ${code}: ${stderr}`));
      else resolve(`${stdout}\n${stderr}`.split('\n').filter((line) => line.startsWith('{')));
    });
  });
}
