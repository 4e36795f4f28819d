/**
 * A short run of the consistency checker (`npm run check:consistency` runs longer ones): producers,
 * a consumer group with restarts and an independent reader against the handlers, while the
 * archiver moves records to S3 segments and DynamoDB calls are throttled, conflict, time out after
 * writing and the handler crashes part way; a share of the requests is large enough to write a
 * payload object to S3 first, whose PUT is throttled, times out after writing, or is followed by a
 * crash before the commit. Faults are tallied by the operation whose path they hit: a fault that
 * only ever landed on group joins (they come first) would prove nothing about produce or commit.
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { runConsistencyCheck } from '../../bench/consistency/checker.js';
import {
  EXACTLY_ONCE_COLUMNS,
  renderExactlyOnceReport,
  runExactlyOncePipeline,
} from '../../bench/consistency/exactly-once.js';
import {
  asOperation,
  type CheckFaults,
  createCheckFaults,
  FAULT_KINDS,
  OPERATIONS,
  trackOperations,
} from '../../bench/consistency/faults.js';
import { CHECKER_COLUMNS } from '../../bench/consistency/history.js';
import { renderCheckReport } from '../../bench/consistency/render.js';
import { createHandler as createRescueHandler } from '../../functions/rescue-batches.js';
import { type BackgroundTask, followStream, isTtlRemoval } from '../../local/background.js';
import { loadHandlers } from '../../local/stack.js';
import { createRuntime, type Runtime } from '../../shared/runtime.js';
import { tieredStorageFor } from '../../shared/services.js';
import { createTestRuntime, startTestApi, type TestApi } from '../support/local-aws.js';

/** The check topic's localRetentionMs: its batches' TTL passes during the run. */
const LOCAL_RETENTION_MS = 3_000;

let api: TestApi;
/** The TTL rescue, following the log table's stream as in AWS (on a client without faults). */
let rescue: BackgroundTask;
let faults: CheckFaults;
let runtime: Runtime;

beforeAll(async () => {
  // Every injected crash makes the handler log an error; the checker counts what happened instead.
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  faults = createCheckFaults(20_261_121);
  runtime = await createTestRuntime({
    tablePrefix: 'check',
    decorateDynamoDb: faults.install,
    decorateS3: faults.installS3,
  });
  api = await startTestApi(runtime, { handlers: trackOperations((await loadHandlers(runtime)).handlers) });
  const quiet = createRuntime(runtime.config);
  rescue = followStream(quiet, quiet.config.logTableName, createRescueHandler(quiet), {
    filter: isTtlRemoval,
  });
});
afterAll(async () => {
  await rescue?.stop();
  await api?.close();
  vi.unstubAllEnvs();
});

it('finds zero anomalies in every checker column while faults are injected', {
  timeout: 150_000,
}, async () => {
  const { archiver } = tieredStorageFor(runtime);

  const report = await runConsistencyCheck(api.url, {
    records: 200,
    partitions: 3,
    consumerRestarts: 3,
    // A bound on waiting, not a timing claim: after three consumer crashes the group rebalances
    // through session timeouts, which on a loaded 2-core machine took over 30 s once.
    catchUpTimeMsMax: 90_000,
    faults,
    archive: () => asOperation('archive', () => archiver.run()),
    // Hot copies expire seconds after their append: reads meet expired batches and TTL deletions.
    localRetentionMs: LOCAL_RETENTION_MS,
    seed: 7,
  });

  const text = renderCheckReport(report);
  const zeros = Object.fromEntries(CHECKER_COLUMNS.map((column) => [column.name, 0]));
  expect(report.counts, text).toEqual(zeros);
  expect(report.stats.acknowledgedRecords, text).toBe(200);
  expect(report.stats.consumersCaughtUp, text).toBe(true);
  expect(report.stats.unexpectedAnswers, text).toEqual({});
  expect(report.stats.archivedRecords, `records crossed to S3 segments\n${text}`).toBeGreaterThan(0);
  expect(report.stats.refusedCommits.zombie ?? 0, `zombie members committed\n${text}`).toBeGreaterThan(0);
  // Where each kind of fault must have landed: writes on both write paths, read throttling on
  // fetches, crashes before a write and the payload object's faults on produce.
  const paths: Record<(typeof FAULT_KINDS)[number], readonly string[]> = {
    throttle: [OPERATIONS.produce, OPERATIONS.commit, OPERATIONS.fetch],
    conflict: [OPERATIONS.produce, OPERATIONS.commit],
    timeoutAfterWrite: [OPERATIONS.produce, OPERATIONS.commit],
    crashAfterWrite: [OPERATIONS.produce, OPERATIONS.commit],
    crashBeforeWrite: [OPERATIONS.produce],
    s3SlowDown: [OPERATIONS.produce],
    s3TimeoutAfterWrite: [OPERATIONS.produce],
    crashAfterPayload: [OPERATIONS.produce],
  };
  for (const fault of FAULT_KINDS) {
    for (const operation of paths[fault]) {
      expect(
        report.faultHits[fault]?.[operation] ?? 0,
        `${fault} never hit ${operation}\n${text}`,
      ).toBeGreaterThan(0);
    }
  }
});

it('runs the exactly-once pipeline with zero anomalies while members crash and faults are injected', {
  timeout: 150_000,
}, async () => {
  const report = await runExactlyOncePipeline(api.url, {
    records: 150,
    inputPartitions: 3,
    outputPartitions: 2,
    consumers: 3,
    crashes: 2,
    // A bound on waiting, not a timing claim: each crash stalls its partitions for a session timeout.
    catchUpTimeMsMax: 90_000,
    faults,
    seed: 14,
  });

  const text = renderExactlyOnceReport(report);
  const zeros = Object.fromEntries(EXACTLY_ONCE_COLUMNS.map((column) => [column.name, 0]));
  expect(report.counts, text).toEqual(zeros);
  expect(report.stats.caughtUp, text).toBe(true);
  expect(report.stats.inputRecords, text).toBe(150);
  expect(report.stats.outputRecords, text).toBe(150);
  expect(report.stats.crashes, text).toBe(2);
  expect(report.stats.zombieAttempts, `every crash left a zombie with a prepared transaction\n${text}`).toBe(
    2,
  );
  expect(report.stats.fenced + report.stats.zombieAttempts, text).toBeGreaterThan(0);
});
