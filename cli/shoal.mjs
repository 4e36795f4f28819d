#!/usr/bin/env node
// The `shoal` bin, so `npx shoal` works from a checkout without a build step.
//
// The first run (and the first after a source change) bundles cli/shoal.ts with esbuild into
// node_modules/.cache/shoal-cli/; later runs import that bundle, which starts about three times
// faster than compiling TypeScript through tsx's loader on every run. Without esbuild, or if the
// bundle cannot be built, it runs through tsx.
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = join(root, 'cli', 'shoal.ts');
const cache = join(root, 'node_modules', '.cache', 'shoal-cli');
const bundle = join(cache, 'shoal.mjs');
const manifest = join(cache, 'inputs.json');

/** True when the bundle was built from the sources as they are now (same files, same mtimes). */
async function bundleIsFresh() {
  try {
    const { inputs } = JSON.parse(await readFile(manifest, 'utf8'));
    await stat(bundle);
    const current = await Promise.all(
      inputs.map(({ file }) => stat(join(root, file)).then((s) => s.mtimeMs)),
    );
    return inputs.every(({ mtimeMs }, index) => current[index] === mtimeMs);
  } catch {
    return false;
  }
}

/** Bundles the CLI; written under temporary names and renamed, so parallel runs never see half a file. */
async function buildBundle() {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    outfile: bundle,
    metafile: true,
    logLevel: 'silent',
    // Signing is loaded on demand from node_modules; paths relative to the sources stay right.
    external: ['@aws-sdk/*', '@smithy/*'],
    define: { 'import.meta.url': JSON.stringify(pathToFileURL(entry).href) },
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  });
  const [output] = result.outputFiles;
  const files = [
    ...Object.keys(result.metafile.inputs)
      .map((file) => relative(root, join(process.cwd(), file)))
      .filter((file) => !file.split(/[\\/]/).includes('node_modules')),
    'package-lock.json',
  ];
  const inputs = await Promise.all(
    files.map(async (file) => ({ file, mtimeMs: (await stat(join(root, file))).mtimeMs })),
  );
  await mkdir(dirname(bundle), { recursive: true });
  const suffix = `${process.pid}-${Date.now()}`;
  await writeFile(`${bundle}.${suffix}`, output.contents);
  await rename(`${bundle}.${suffix}`, bundle);
  await writeFile(`${manifest}.${suffix}`, JSON.stringify({ inputs }));
  await rename(`${manifest}.${suffix}`, manifest);
}

let bundled = await bundleIsFresh();
if (!bundled) {
  try {
    await buildBundle();
    bundled = true;
  } catch {
    bundled = false;
  }
}
if (bundled) {
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./shoal.ts');
}
