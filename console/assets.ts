/**
 * The web console's files, built from `console/web/` by esbuild into memory: one ES module bundle
 * (preact, htm and the views) with chunks loaded when first needed (uPlot, the SigV4 signer), one
 * stylesheet and the page. The local stack builds them when
 * it starts (no build step for the user, nothing generated in the tree); the CDK construct builds
 * the same files at synth (`infra/shoal-console.ts`). Everything the page loads comes from here:
 * no font, script or style is fetched from anywhere else.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build, buildSync } from 'esbuild';

/** `console/web/`, found from this file so that any working directory works. */
export const CONSOLE_WEB_DIR = fileURLToPath(new URL('./web/', import.meta.url));

/** The browsers the bundle targets: those of the last few years, all with ES modules. */
const BROWSER_TARGET = ['chrome100', 'firefox100', 'safari15'];

/** One file of the console: its name under `console/`, its bytes and media type. */
export interface ConsoleFile {
  readonly name: string;
  readonly body: Buffer;
  readonly contentType: string;
}

/** The console's files by name (`index.html`, `app.js`, `app.css`, `chunk-<hash>.js`). */
export type ConsoleAssets = ReadonlyMap<string, ConsoleFile>;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

function buildOptions(): BuildOptions {
  return {
    entryPoints: { app: `${CONSOLE_WEB_DIR}app.ts` },
    bundle: true,
    format: 'esm',
    target: BROWSER_TARGET,
    minify: true,
    // uPlot and the SigV4 signer load as chunks of their own when first needed.
    splitting: true,
    chunkNames: 'chunk-[hash]',
    write: false,
    outdir: '/console',
    legalComments: 'none',
    logLevel: 'silent',
  };
}

function contentType(name: string): string {
  const extension = name.slice(name.lastIndexOf('.'));
  const type = CONTENT_TYPES[extension];
  if (type === undefined) throw new Error(`The console has no media type for ${name}`);
  return type;
}

function collect(outputs: readonly { path: string; contents: Uint8Array }[], page: Buffer): ConsoleAssets {
  const files = new Map<string, ConsoleFile>();
  for (const output of outputs) {
    const name = output.path.slice(output.path.lastIndexOf('/') + 1);
    files.set(name, { name, body: Buffer.from(output.contents), contentType: contentType(name) });
  }
  files.set('index.html', { name: 'index.html', body: page, contentType: contentType('index.html') });
  return files;
}

/**
 * Builds the console in memory, in about a second.
 *
 * @example
 * const assets = await buildConsoleAssets();
 * assets.get('app.js')?.body.length; // about 70 kB
 */
export async function buildConsoleAssets(): Promise<ConsoleAssets> {
  const [result, page] = await Promise.all([build(buildOptions()), readFile(`${CONSOLE_WEB_DIR}index.html`)]);
  return collect(result.outputFiles ?? [], page);
}

/** {@link buildConsoleAssets}, synchronously: CDK constructs build their assets in the constructor. */
export function buildConsoleAssetsSync(readPage: (path: string) => Buffer): ConsoleAssets {
  const result = buildSync(buildOptions());
  return collect(result.outputFiles ?? [], readPage(`${CONSOLE_WEB_DIR}index.html`));
}
