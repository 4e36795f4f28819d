import { defineConfig } from 'vitest/config';

/**
 * The tests Stryker runs against each mutant (stryker.config.json): the unit project alone (pure
 * code and the in-memory ports, no DynamoDB Local), so a mutant of `shared/domain` costs a few
 * tests of milliseconds. The DynamoDB and S3 adapters' own mutants are covered by the integration
 * project, which is too slow to rerun per mutant on a 2-core machine (docs/testing.md).
 */
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/contract/**/*.memory.test.ts'],
    testTimeout: 30_000,
    pool: 'forks',
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
