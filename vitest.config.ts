import { defineConfig } from 'vitest/config';

/**
 * One DynamoDB Local and one S3 server for the whole run (test/support/global-setup.ts); each test
 * file makes its own tables and bucket, so files run in parallel. Two workers suit a 2-core machine
 * that also runs DynamoDB Local's JVM.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 2,
    // The pinned SDK runs on Node 20 and Lambda runs Node 22; its notice that later SDK releases
    // will need Node 22 is noise in test output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
