// @ts-check
/**
 * Mutation testing (`npm run test:mutation`, docs/testing.md): Stryker changes one expression of
 * `shared/domain` or `shared/adapters` at a time and reruns the tests that cover it; a mutant no
 * test notices is a behaviour no test pins.
 *
 * - Only the unit tests run (stryker.vitest.config.ts): the in-memory ports make the domain's
 *   mutants killable in milliseconds, without Java. The DynamoDB and S3 adapters are proved by
 *   the contract suite's integration half instead, too slow to rerun per mutant.
 * - One worker: the machine has 2 cores and other work.
 * - Runs side by side (one per file group) each take their own tempDirName, ignored here so one
 *   sandbox never copies another's.
 * - Incremental: a rerun tests only the mutants whose code or covering tests changed since
 *   reports/stryker-incremental.json (kept out of git, like the rest of reports/).
 *
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'stryker.vitest.config.ts', related: true },
  coverageAnalysis: 'perTest',
  mutate: ['shared/domain/**/*.ts', 'shared/adapters/**/*.ts'],
  ignorePatterns: [
    'cdk.out',
    'dist',
    '.shoal',
    '.test-stack',
    '.scratch',
    'reports',
    'bench/results.json',
    '.stryker-tmp*',
  ],
  concurrency: 1,
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowEmojis: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 90, low: 80, break: null },
  timeoutMS: 10_000,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
