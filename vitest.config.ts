import { defineConfig } from 'vitest/config';

/**
 * Tests of pure code and of the in-memory ports: no Java, no servers, seconds (`npm run
 * test:unit`). Each contract suite of test/contract runs here against the in-memory adapter
 * (`*.memory.test.ts`) and in the integration project against DynamoDB and S3 (the rest).
 */
const UNIT = ['test/unit/**/*.test.ts', 'test/bench/**/*.test.ts', 'test/contract/**/*.memory.test.ts'];

/**
 * Two projects. `unit` runs pure code alone. `integration` (everything else: the local parts, the
 * client and CLI against a local stack, the CDK templates) gets one DynamoDB Local and one S3
 * server for the whole run (test/support/global-setup.ts); each test file makes its own tables and
 * bucket, so files run in parallel. Two workers suit a 2-core machine that also runs DynamoDB
 * Local's JVM. `npm test` runs both.
 */
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 2,
    // The pinned SDK runs on Node 20 and Lambda runs Node 22; its notice that later SDK releases
    // will need Node 22 is noise in test output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: UNIT,
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
