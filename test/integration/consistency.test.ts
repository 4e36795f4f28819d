/**
 * A short run of the consistency checker (`npm run check:consistency` runs longer ones): producers,
 * a consumer group with restarts and an independent reader against the handlers, while DynamoDB
 * calls are throttled, conflict, time out after writing and the handler crashes part way.
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { runConsistencyCheck } from '../../bench/consistency/checker.js';
import { type CheckFaults, createCheckFaults } from '../../bench/consistency/faults.js';
import { CHECKER_COLUMNS } from '../../bench/consistency/history.js';
import { renderCheckReport } from '../../bench/consistency/render.js';
import { createTestRuntime, startTestApi, type TestApi } from '../support/local-aws.js';

let api: TestApi;
let faults: CheckFaults;

beforeAll(async () => {
  // Every injected crash makes the handler log an error; the checker counts what happened instead.
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  faults = createCheckFaults(20_261_121);
  api = await startTestApi(
    await createTestRuntime({ tablePrefix: 'check', decorateDynamoDb: faults.install }),
  );
});
afterAll(async () => {
  await api?.close();
  vi.unstubAllEnvs();
});

it('finds zero anomalies in every checker column while faults are injected', {
  timeout: 90_000,
}, async () => {
  const report = await runConsistencyCheck(api.url, {
    records: 120,
    partitions: 3,
    consumerRestarts: 3,
    catchUpTimeMsMax: 30_000,
    faults,
    seed: 7,
  });

  const zeros = Object.fromEntries(CHECKER_COLUMNS.map((column) => [column.name, 0]));
  expect(report.counts, renderCheckReport(report)).toEqual(zeros);
  expect(report.stats.acknowledgedRecords, renderCheckReport(report)).toBe(120);
  expect(report.stats.consumersCaughtUp, renderCheckReport(report)).toBe(true);
  expect(report.stats.unexpectedAnswers).toEqual({});
  for (const [fault, injected] of Object.entries(report.faultsInjected)) {
    expect(injected, `${fault} was never injected`).toBeGreaterThan(0);
  }
});
