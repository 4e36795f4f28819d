/**
 * One mutation score out of several Stryker runs (docs/testing.md): runs side by side over groups
 * of files, each with its own JSON report, are merged mutant by mutant (a mutant is its file, place,
 * mutator and replacement; the newest report wins, so a rerun of a line range replaces just those
 * mutants) and scored per file and per folder as Stryker scores: killed and timed out over killed,
 * timed out, survived and not covered. Ignored mutants, compile and runtime errors do not count.
 *
 *   node --import tsx scripts/mutation-score.ts [reports/mutation-*\/mutation.json ...] [--json out.json]
 *
 * Without paths it reads every `reports/mutation*\/mutation.json`.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

/** A mutant as Stryker's JSON report (mutation-testing-report-schema) holds it. */
export interface ReportMutant {
  readonly mutatorName: string;
  readonly replacement?: string;
  readonly status: string;
  readonly location: {
    readonly start: { readonly line: number; readonly column: number };
    readonly end: { readonly line: number; readonly column: number };
  };
}

export interface MutationReport {
  readonly files: Readonly<
    Record<string, { readonly source?: string; readonly mutants: readonly ReportMutant[] }>
  >;
}

/** One report and when it was written: a later report's mutant replaces an earlier one's. */
export interface DatedReport {
  readonly report: MutationReport;
  readonly writtenAtMs: number;
}

export interface Score {
  /** Killed and timed out: Stryker counts a mutant that hangs the tests as detected. */
  readonly detected: number;
  /** The timed out among `detected`: on a loaded machine some may be slow tests, not hangs. */
  readonly timedOut: number;
  readonly survived: number;
  readonly noCoverage: number;
  readonly ignored: number;
  readonly errors: number;
  /** Detected over valid mutants, in percent; `undefined` when none is valid. */
  readonly scorePercent: number | undefined;
}

const DETECTED = new Set(['Killed', 'Timeout']);
const ERRORS = new Set(['CompileError', 'RuntimeError']);

function mutantKey(file: string, mutant: ReportMutant): string {
  const { start, end } = mutant.location;
  return [
    file,
    start.line,
    start.column,
    end.line,
    end.column,
    mutant.mutatorName,
    mutant.replacement ?? '',
  ].join('\u0000');
}

/**
 * The reports with each file's mutants kept only where the report measured the file as it is now
 * (`readSource` answers its current text): after an edit a mutant's place means other code, and
 * an older run's verdict on it says nothing. Also names every file left out of some report.
 */
export function currentOnly(
  reports: readonly DatedReport[],
  readSource: (file: string) => string | undefined,
): { reports: DatedReport[]; stale: Set<string> } {
  const stale = new Set<string>();
  const kept = reports.map(({ report, writtenAtMs }) => {
    const files = Object.entries(report.files).filter(([file, { source }]) => {
      const current = source === undefined || source === readSource(file);
      if (!current) stale.add(file);
      return current;
    });
    return { report: { files: Object.fromEntries(files) }, writtenAtMs };
  });
  return { reports: kept, stale };
}

/** Every file's mutants, the newest report's status for each mutant that several reports hold. */
export function mergeReports(reports: readonly DatedReport[]): Map<string, ReportMutant[]> {
  const newest = new Map<string, { file: string; mutant: ReportMutant; writtenAtMs: number }>();
  for (const { report, writtenAtMs } of reports) {
    for (const [file, { mutants }] of Object.entries(report.files)) {
      for (const mutant of mutants) {
        const key = mutantKey(file, mutant);
        const held = newest.get(key);
        if (!held || held.writtenAtMs <= writtenAtMs) newest.set(key, { file, mutant, writtenAtMs });
      }
    }
  }
  const byFile = new Map<string, ReportMutant[]>();
  for (const { file, mutant } of newest.values()) {
    const mutants = byFile.get(file) ?? [];
    mutants.push(mutant);
    byFile.set(file, mutants);
  }
  return byFile;
}

export function scoreOf(mutants: readonly ReportMutant[]): Score {
  let detected = 0;
  let timedOut = 0;
  let survived = 0;
  let noCoverage = 0;
  let ignored = 0;
  let errors = 0;
  for (const { status } of mutants) {
    if (status === 'Timeout') timedOut += 1;
    if (DETECTED.has(status)) detected += 1;
    else if (status === 'Survived') survived += 1;
    else if (status === 'NoCoverage') noCoverage += 1;
    else if (ERRORS.has(status)) errors += 1;
    else ignored += 1;
  }
  const valid = detected + survived + noCoverage;
  return {
    detected,
    timedOut,
    survived,
    noCoverage,
    ignored,
    errors,
    scorePercent: valid === 0 ? undefined : (100 * detected) / valid,
  };
}

/** Scores per file and per folder (each folder counts the files under it, at any depth). */
export function scoreTable(byFile: ReadonlyMap<string, readonly ReportMutant[]>): Map<string, Score> {
  const groups = new Map<string, ReportMutant[]>();
  for (const [file, mutants] of byFile) {
    const names = [file];
    for (let folder = dirname(file); folder !== '.' && folder !== '/'; folder = dirname(folder)) {
      names.push(`${folder}/`);
    }
    for (const name of names) groups.set(name, [...(groups.get(name) ?? []), ...mutants]);
  }
  return new Map(
    [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([name, mutants]) => [name, scoreOf(mutants)]),
  );
}

function formatRow(name: string, score: Score): string {
  const percent = score.scorePercent === undefined ? '-' : `${score.scorePercent.toFixed(2)}%`;
  const valid = score.detected + score.survived + score.noCoverage;
  return `| ${name} | ${valid} | ${score.detected} | ${score.timedOut} | ${score.survived} | ${score.noCoverage} | ${score.ignored} | ${percent} |`;
}

function reportPaths(root: string): string[] {
  const reports = join(root, 'reports');
  let names: string[];
  try {
    names = readdirSync(reports);
  } catch {
    return [];
  }
  return names
    .filter((name) => name.startsWith('mutation'))
    .map((name) => join(reports, name, 'mutation.json'))
    .filter((path) => {
      try {
        return statSync(path).isFile();
      } catch {
        return false;
      }
    });
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { json: { type: 'string' } },
  });
  const root = process.cwd();
  const paths = positionals.length > 0 ? positionals.map((path) => resolve(path)) : reportPaths(root);
  if (paths.length === 0) {
    console.error('No Stryker JSON report found: run `npm run test:mutation` first.');
    process.exitCode = 1;
    return;
  }
  const reports = paths.map((path) => ({
    report: JSON.parse(readFileSync(path, 'utf8')) as MutationReport,
    writtenAtMs: statSync(path).mtimeMs,
  }));
  const current = currentOnly(reports, (file) => {
    try {
      return readFileSync(resolve(root, file), 'utf8');
    } catch {
      return undefined;
    }
  });
  const table = scoreTable(mergeReports(current.reports));
  console.log(`${paths.length} reports: ${paths.map((path) => relative(root, path)).join(', ')}`);
  if (current.stale.size > 0) {
    console.log(`Left out where a report measured an earlier text: ${[...current.stale].sort().join(', ')}`);
  }
  console.log('');
  console.log(
    '| file or folder | mutants | detected | of which timed out | survived | no coverage | ignored | score |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [name, score] of table) console.log(formatRow(name, score));
  if (values.json) writeFileSync(values.json, `${JSON.stringify(Object.fromEntries(table), null, 2)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
