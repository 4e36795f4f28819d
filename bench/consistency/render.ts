/**
 * The checker's report as text: one row per column with its count, then what the run did.
 */
import { renderTable } from '../report.js';
import type { CheckReport } from './checker.js';
import { CHECKER_COLUMNS } from './history.js';

/** Renders a check report for the terminal. */
export function renderCheckReport(report: CheckReport): string {
  const table = renderTable(
    ['column', 'count', '', 'meaning'],
    CHECKER_COLUMNS.map((column) => {
      const value = report.counts[column.name];
      return [column.name, String(value), value === 0 ? 'ok' : 'FAIL', column.meaning];
    }),
    ['left', 'right', 'left', 'left'],
  );
  const { stats } = report;
  const tally = (counts: Readonly<Record<string, number>>) =>
    Object.entries(counts)
      .map(([name, value]) => `${name}: ${value}`)
      .join(', ') || 'none';
  return [
    table,
    '',
    `records acknowledged ${stats.acknowledgedRecords} of ${stats.requestedRecords}, unacknowledged ${stats.unacknowledgedRecords}, ` +
      `in ${stats.produceRequests} produce requests (${stats.attempts} attempts)`,
    `retried answers: ${tally(stats.retriedAnswers)}`,
    `unexpected answers: ${tally(stats.unexpectedAnswers)}`,
    `faults injected: ${tally(report.faultsInjected)}`,
    ...Object.entries(report.faultHits).map(([fault, byOperation]) => `  ${fault} hit ${tally(byOperation)}`),
    `reads ${stats.reads}, reader restarts ${stats.readerRestarts}; commits ${stats.commits}, ` +
      `refused ${tally(stats.refusedCommits)}; consumer restarts ${stats.consumerRestarts}, ` +
      `caught up: ${stats.consumersCaughtUp ? 'yes' : 'NO'}`,
    `archiver passes ${stats.archiveRuns} (${stats.archiveErrors} failed), ${stats.archivedRecords} records in S3 segments at the end`,
    `${(stats.durationMs / 1000).toFixed(1)} s`,
    report.clean ? 'verdict: every column is zero' : 'verdict: ANOMALIES FOUND',
  ].join('\n');
}
