/**
 * Builds the publishable packages into `dist/<name>/`, ready for `npm pack`:
 *
 * - `shoal`: the client (`client/index.ts`), its KafkaJS-compatible entry (`client/kafkajs/index.ts`)
 *   and the `shoal` command line (`cli/shoal.ts`), as ESM and CommonJS with source maps, and type
 *   declarations from `tsc --emitDeclarationOnly`. The schemas and the partitioner in `shared/` are
 *   bundled in, so there is one source of them and the package needs none of the service.
 * - `shoal-cdk`: the constructs (`packages/shoal-cdk/index.ts`, re-exporting `infra/`), with
 *   `aws-cdk-lib` and `constructs` left to the app (peer dependencies), and every Lambda function
 *   prebuilt from `functions/<name>.ts` with the bundling settings the repository's own synth uses.
 *
 * Both get the root `package.json` version (versioned together), and their dependency ranges must
 * equal the root's, so the package installs what the tests ran against.
 *
 * @example npm run build:packages && npm pack ./dist/shoal ./dist/shoal-cdk --pack-destination dist
 */
import { spawn } from 'node:child_process';
import { copyFile, cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build, type Plugin } from 'esbuild';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const OUT = join(ROOT, 'dist');
const DECLARATIONS = join(ROOT, 'node_modules', '.cache', 'shoal-packages', 'types');
const NODE_TARGET = 'node20';
/** Lambda's runtime; the same target as `ESBUILD_TARGET` in infra/shoal-function.ts. */
const LAMBDA_TARGET = 'node22';
/** ESM bundles of CommonJS dependencies call `require`; ESM has none (as `REQUIRE_BANNER` in infra). */
const REQUIRE_BANNER =
  "import { createRequire } from 'node:module';const require = createRequire(import.meta.url);";
/** CommonJS has no `import.meta.url`; the constructs find their prebuilt functions with it. */
const CJS_IMPORT_META_URL = "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;";

interface Manifest {
  name: string;
  version?: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/**
 * Makes the package's other entries (the KafkaJS adapter, the command line) import the client as
 * `shoal`, the package itself, instead of bundling a second copy: one copy of the client's classes,
 * so `instanceof ShoalApiError` holds whichever entry threw. They may import nothing else of the
 * client, which the plugin enforces.
 */
const clientAsPackage: Plugin = {
  name: 'client-as-package',
  setup(builder) {
    const clientDir = join(ROOT, 'client');
    const clientIndex = join(clientDir, 'index.ts');
    builder.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const target = join(args.resolveDir, args.path).replace(/\.js$/, '.ts');
      const fromClientCore =
        args.importer.startsWith(`${clientDir}/`) && !args.importer.startsWith(`${clientDir}/kafkajs/`);
      if (
        fromClientCore ||
        !target.startsWith(`${clientDir}/`) ||
        target.startsWith(`${clientDir}/kafkajs/`)
      ) {
        return undefined;
      }
      if (target !== clientIndex) {
        return {
          errors: [
            {
              text: `${relative(ROOT, args.importer)} imports ${relative(ROOT, target)}: import from client/index.ts, which the package exports as 'shoal'`,
            },
          ],
        };
      }
      return { path: 'shoal', external: true };
    });
  },
};

async function main(): Promise<void> {
  const startedAt = Date.now();
  const root = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as Manifest & {
    devDependencies?: Record<string, string>;
  };
  await rm(OUT, { recursive: true, force: true });
  await Promise.all([buildClient(root), buildConstructs(root), declarations()]);
  await Promise.all([
    copyDeclarations(['client', 'shared'], join(OUT, 'shoal', 'dist', 'types')),
    copyDeclarations(['packages', 'infra', 'shared'], join(OUT, 'shoal-cdk', 'dist', 'types')),
  ]);
  console.log(`Built dist/shoal and dist/shoal-cdk ${root.version} in ${Date.now() - startedAt} ms`);
}

async function buildClient(root: Manifest): Promise<void> {
  const out = join(OUT, 'shoal');
  const manifest = await assemble('shoal', root);
  const external = Object.keys(manifest.dependencies ?? {}).map((name) => `${name}`);
  const common: BuildOptions = {
    bundle: true,
    platform: 'node',
    target: NODE_TARGET,
    sourcemap: true,
    external: [...external, '@aws-sdk/*', '@smithy/*'],
    plugins: [clientAsPackage],
    logLevel: 'warning',
  };
  const library = {
    index: join(ROOT, 'client/index.ts'),
    kafkajs: join(ROOT, 'client/kafkajs/index.ts'),
  };
  await Promise.all([
    build({
      ...common,
      entryPoints: library,
      format: 'esm',
      outdir: join(out, 'dist'),
      outExtension: { '.js': '.js' },
    }),
    build({
      ...common,
      entryPoints: library,
      format: 'cjs',
      outdir: join(out, 'dist'),
      outExtension: { '.js': '.cjs' },
    }),
    build({
      ...common,
      entryPoints: { cli: join(ROOT, 'cli/shoal.ts') },
      format: 'esm',
      outdir: join(out, 'dist'),
      banner: { js: '#!/usr/bin/env node' },
    }),
  ]);
}

async function buildConstructs(root: Manifest): Promise<void> {
  const out = join(OUT, 'shoal-cdk');
  await assemble('shoal-cdk', root);
  const common: BuildOptions = {
    entryPoints: { index: join(ROOT, 'packages/shoal-cdk/index.ts') },
    bundle: true,
    platform: 'node',
    target: NODE_TARGET,
    sourcemap: true,
    outdir: join(out, 'dist'),
    external: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'],
    logLevel: 'warning',
  };
  await Promise.all([
    build({ ...common, format: 'esm' }),
    build({
      ...common,
      format: 'cjs',
      outExtension: { '.js': '.cjs' },
      define: { 'import.meta.url': '__importMetaUrl' },
      banner: { js: CJS_IMPORT_META_URL },
    }),
    buildFunctions(join(out, 'dist', 'functions')),
  ]);
}

/**
 * Every `functions/<name>.ts` as `<name>/index.mjs`, with the settings of `SHOAL_BUNDLING`
 * (infra/shoal-function.ts): ESM for Node 22, minified, source map without sources, every
 * dependency bundled (the pinned AWS SDK, not the runtime's copy).
 */
async function buildFunctions(out: string): Promise<void> {
  const names = (await readdir(join(ROOT, 'functions')))
    .filter((file) => file.endsWith('.ts'))
    .map((file) => file.slice(0, -'.ts'.length));
  // One build of every entry: the AWS SDK they share is parsed once.
  await build({
    entryPoints: Object.fromEntries(names.map((name) => [name, join(ROOT, 'functions', `${name}.ts`)])),
    outdir: out,
    entryNames: '[name]/index',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: LAMBDA_TARGET,
    mainFields: ['module', 'main'],
    banner: { js: REQUIRE_BANNER },
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    logLevel: 'warning',
  });
}

/** Writes `dist/<name>/package.json` (root version, checked ranges), README, changelog and license. */
async function assemble(name: string, root: Manifest): Promise<Manifest> {
  const source = join(ROOT, 'packages', name);
  const out = join(OUT, name);
  const manifest = JSON.parse(await readFile(join(source, 'package.json'), 'utf8')) as Manifest;
  const rootRanges = {
    ...root.dependencies,
    ...(root as { devDependencies?: Record<string, string> }).devDependencies,
  };
  for (const [dependency, range] of Object.entries(manifest.dependencies ?? {})) {
    if (rootRanges[dependency] !== range) {
      throw new Error(
        `packages/${name}/package.json: ${dependency} is '${range}', the root package.json has '${rootRanges[dependency]}'`,
      );
    }
  }
  await mkdir(out, { recursive: true });
  const { name: packageName, ...rest } = manifest;
  const stamped = { name: packageName, version: root.version, ...rest };
  await writeFile(join(out, 'package.json'), `${JSON.stringify(stamped, null, 2)}\n`);
  await Promise.all([
    copyFile(join(source, 'README.md'), join(out, 'README.md')),
    copyFile(join(source, 'CHANGELOG.md'), join(out, 'CHANGELOG.md')),
    copyFile(join(ROOT, 'packages', 'LICENSE'), join(out, 'LICENSE')),
  ]);
  return manifest;
}

/**
 * Type declarations of both packages in one `tsc --emitDeclarationOnly` run (aws-cdk-lib's types are
 * read once), incremental: the output lives in node_modules/.cache, where tsc expects to find what it
 * emitted last time, and is copied into each package.
 */
function declarations(): Promise<void> {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const project = join(ROOT, 'packages', 'tsconfig.declarations.json');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsc, '-p', project], { stdio: 'inherit', cwd: ROOT });
    child.once('error', reject);
    // 2: type errors, declarations written anyway. `npm run typecheck` is the gate for type errors
    // (it fails `npm test` first); the build carries on, so a colleague's unfinished edit elsewhere
    // in the tree does not stop a package build. 1 (nothing written) does.
    child.once('exit', (code) => {
      if (code === 0 || code === 2) resolve();
      else reject(new Error(`tsc -p ${project} exited with ${code}`));
    });
  });
}

/** Copies the declarations of the given top-level source folders into a package. */
async function copyDeclarations(folders: readonly string[], out: string): Promise<void> {
  await Promise.all(
    folders.map((folder) => cp(join(DECLARATIONS, folder), join(out, folder), { recursive: true })),
  );
}

await mkdir(dirname(OUT), { recursive: true });
await main();
