/**
 * The packages as a user gets them: build (`packages/build.ts`), `npm pack`, then `npm install` the
 * tarballs into fresh projects in the system's temporary folder, outside this repository, so
 * nothing resolves to its sources or its node_modules. Dependencies come from the registry (the
 * local npm cache first), as for any user.
 *
 * - `shoal`: plain `node` (no TypeScript loader) produces and consumes against the API on the real
 *   handlers, from ESM and CommonJS, the installed `shoal` command lists, produces and consumes,
 *   and KafkaJS's documented examples run through `shoal/kafkajs` with only the import changed.
 *   What it installs holds no server or CDK dependency.
 * - `shoal-cdk`: a fresh CDK app with aws-cdk-lib and constructs embeds `ShoalLog`, subscribes its
 *   own function with `ShoalEventSource` and synthesizes, using the prebuilt function bundles.
 */
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRuntime, startTestApi, type TestApi } from '../support/local-aws.js';
import { expectSuccess, run } from '../support/run-process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];
/**
 * The peer dependencies, from this repository's installed copies: npm links them (about 5 s instead
 * of 20 s to unpack aws-cdk-lib again) and still checks them against the peer ranges. They are
 * registry packages, not Shoal's sources; both links resolve to one copy of each, as in any app.
 */
const CDK_PEERS = ['aws-cdk-lib', 'constructs'].map((name) => `file:${join(ROOT, 'node_modules', name)}`);

let folder: string;
let tarballs: { shoal: string; cdk: string };
let api: TestApi;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'shoal-packages-'));
  const [, started] = await Promise.all([
    (async () => {
      expectSuccess(
        await run(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'packages/build.ts'], {
          cwd: ROOT,
          timeoutMs: 150_000,
        }),
        'packages/build.ts',
      );
      expectSuccess(
        await run(
          'npm',
          ['pack', './dist/shoal', './dist/shoal-cdk', '--pack-destination', folder, ...NPM_FLAGS],
          {
            cwd: ROOT,
          },
        ),
        'npm pack',
      );
    })(),
    createTestRuntime({ tablePrefix: 'packages' }).then((runtime) => startTestApi(runtime)),
  ]);
  api = started;
  const files = await readdir(folder);
  const find = (pattern: RegExp) => {
    const file = files.find((name) => pattern.test(name));
    if (!file) throw new Error(`npm pack made no tarball like ${pattern} in ${files.join(', ')}`);
    return join(folder, file);
  };
  tarballs = { shoal: find(/^shoal-\d.*\.tgz$/), cdk: find(/^shoal-cdk-\d.*\.tgz$/) };
}, 240_000);

afterAll(async () => {
  await api?.close();
  if (folder) await rm(folder, { recursive: true, force: true });
});

/** A fresh ESM project in the temporary folder, with `packages` installed by `npm install`. */
async function freshProject(name: string, packages: readonly string[]): Promise<string> {
  const project = join(folder, name);
  await mkdir(project, { recursive: true });
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name, version: '1.0.0', private: true, type: 'module' }),
  );
  expectSuccess(
    await run('npm', ['install', ...packages, ...NPM_FLAGS], { cwd: project, timeoutMs: 150_000 }),
    `npm install ${packages.join(' ')}`,
  );
  return project;
}

/** KafkaJS's documented examples (test/kafkajs/examples), run by plain node from the project. */
async function runKafkaJSExamples(project: string, env: Record<string, string>) {
  const examples = fileURLToPath(new URL('../kafkajs/examples/', import.meta.url));
  const output = async (file: string, until?: RegExp) => {
    await copyFile(join(examples, file), join(project, file));
    const result = await run(process.execPath, [file], { cwd: project, env, ...(until ? { until } : {}) });
    if (until === undefined) expectSuccess(result, file);
    return result.stdout;
  };
  return {
    gettingStarted: await output('getting-started.cjs', /Hello KafkaJS user!/),
    admin: await output('admin-create-topics.mjs'),
    eachBatch: await output('group-each-batch.mjs'),
  };
}

describe.concurrent('the packed packages, installed into fresh projects', () => {
  it('shoal: plain node produces and consumes with the client (ESM and CommonJS) and the installed CLI', async () => {
    // Prepare: a project that installed only the tarball.
    const project = await freshProject('client-app', [tarballs.shoal]);
    await copyFile(join(FIXTURES, 'client-app.mjs'), join(project, 'client-app.mjs'));
    await copyFile(join(FIXTURES, 'client-app.cjs'), join(project, 'client-app.cjs'));
    const env = { SHOAL_URL: api.url };
    const shoal = (args: readonly string[], input?: string) =>
      run(join(project, 'node_modules/.bin/shoal'), args, { cwd: project, env, ...(input ? { input } : {}) });

    // Act
    const esm = expectSuccess(await run(process.execPath, ['client-app.mjs'], { cwd: project, env }), 'ESM');
    const cjs = expectSuccess(await run(process.execPath, ['client-app.cjs'], { cwd: project, env }), 'CJS');
    const listed = await shoal(['--url', api.url, 'topics', 'list', '--json']);
    const produced = await shoal(
      ['produce', 'packaged-orders', '--key-separator', ':'],
      'customer-3:order 3\n',
    );
    const consumed = await shoal([
      'consume',
      'packaged-orders',
      '--group',
      'packaged-cli',
      '--from-beginning',
      '--count',
      '3',
      '--format',
      'json',
    ]);
    const examples = await runKafkaJSExamples(project, env);
    const installed = expectSuccess(
      await run('npm', ['ls', '--all', '--parseable'], { cwd: project }),
      'npm ls',
    ).stdout;

    // Assess: the records went through, the CLI saw the topic and all three records.
    const result = JSON.parse(esm.stdout);
    expect(result.sent).toHaveLength(2);
    expect(result.received).toEqual(
      expect.arrayContaining([
        {
          key: { type: 'STRING', data: 'customer-1' },
          value: { type: 'JSON', data: { order: 1 } },
          headers: [],
        },
        {
          key: { type: 'STRING', data: 'customer-2' },
          value: { type: 'STRING', data: 'order 2' },
          headers: ['trace'],
        },
      ]),
    );
    expect(JSON.parse(cjs.stdout)).toEqual({ shoal: 'function', apiError: 'function' });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('packaged-orders');
    expect(produced.code, produced.stderr).toBe(0);
    expect(consumed.code, consumed.stderr).toBe(0);
    const values = consumed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).value);
    expect(values).toEqual(expect.arrayContaining(['order 2', 'order 3']));
    expect(values).toHaveLength(3);
    // Assess: KafkaJS's documented usage ran from the package with only the import changed.
    expect(examples.gettingStarted).toMatch(/value: 'Hello KafkaJS user!'/);
    expect(JSON.parse(examples.admin)).toMatchObject({ created: true, again: false, partitions: [0, 1, 2] });
    expect(JSON.parse(examples.eachBatch)).toMatchObject({ distinct: 40, onePartitionPerKey: true });
    // Assess: nothing of the server or of the CDK was installed.
    for (const forbidden of [
      'aws-cdk-lib',
      'constructs',
      '@aws-sdk/client-dynamodb',
      '@aws-sdk/client-s3',
      'tsx',
    ]) {
      expect(installed).not.toContain(`/node_modules/${forbidden}\n`);
    }
  }, 180_000);

  it('shoal-cdk: a fresh CDK app adds ShoalEventSource to its own function and synthesizes', async () => {
    // Prepare: a project with the constructs and their peer dependencies.
    const project = await freshProject('cdk-app', [tarballs.cdk, ...CDK_PEERS]);
    await copyFile(join(FIXTURES, 'cdk-app.mjs'), join(project, 'cdk-app.mjs'));

    // Act
    const synth = expectSuccess(
      await run(process.execPath, ['cdk-app.mjs'], { cwd: project, timeoutMs: 150_000 }),
      'cdk-app.mjs',
    );

    // Assess: the subscription resource names the app's topic; Shoal's functions run the prebuilt
    // bundles (index.handler), next to the app's own function.
    const result = JSON.parse(synth.stdout);
    expect(JSON.stringify(result.subscription)).toContain('orders');
    expect(result.handlers.filter((handler: string) => handler === 'index.handler').length).toBeGreaterThan(
      5,
    );
    const assets = (await readdir(join(project, 'cdk.out'))).filter((name) => name.startsWith('asset.'));
    expect(assets.length).toBeGreaterThan(5);
  }, 180_000);
});
