/**
 * What each function's bundle holds: the functions that never call S3 (their roles have no access
 * to the segment bucket) must not bundle the S3 client, 13-19% of a bundle and its evaluation at
 * every cold start (BENCHMARKS.md, cold starts). esbuild bundles whatever is referenced, so one
 * `servicesFor` that builds an S3 adapter again, or one import of `runtime.ts`, would bring it back
 * unnoticed; this builds the bundles as the CDK app does and reads esbuild's list of inputs.
 */
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { FUNCTIONS_DIR, SHOAL_ESBUILD_OPTIONS } from '../../infra/shoal-function.js';

/** The inputs of `functions/<name>.ts` bundled with the CDK app's settings. */
async function bundledInputs(name: string): Promise<string[]> {
  const result = await build({
    entryPoints: [join(FUNCTIONS_DIR, `${name}.ts`)],
    outfile: `${name}/index.mjs`,
    write: false,
    ...SHOAL_ESBUILD_OPTIONS,
    metafile: true,
    logLevel: 'silent',
  });
  return Object.values(result.metafile.outputs).flatMap((output) =>
    Object.entries(output.inputs)
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([path]) => path),
  );
}

const S3_CLIENT = /node_modules\/@aws-sdk\/(client-s3|s3-request-presigner)\//;

describe('function bundles', () => {
  it.each(['manage-topics', 'measure-lag', 'watch-topics', 'authorize-token'])(
    '%s bundles no S3 client',
    async (name) => {
      const inputs = await bundledInputs(name);
      expect(inputs.some((path) => path.includes('shared/core-runtime.ts'))).toBe(name !== 'authorize-token');
      expect(inputs.filter((path) => S3_CLIENT.test(path))).toEqual([]);
    },
    60_000,
  );

  it('produce-records, which writes payload objects and signs uploads, bundles it', async () => {
    expect((await bundledInputs('produce-records')).some((path) => S3_CLIENT.test(path))).toBe(true);
  }, 60_000);
});
