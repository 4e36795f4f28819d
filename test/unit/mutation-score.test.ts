import { describe, expect, it } from 'vitest';
import {
  currentOnly,
  type MutationReport,
  mergeReports,
  type ReportMutant,
  scoreOf,
  scoreTable,
} from '../../scripts/mutation-score.js';

function mutant(line: number, status: string, mutatorName = 'EqualityOperator'): ReportMutant {
  return {
    mutatorName,
    replacement: 'a <= b',
    status,
    location: { start: { line, column: 5 }, end: { line, column: 11 } },
  };
}

function report(files: Record<string, ReportMutant[]>): MutationReport {
  return { files: Object.fromEntries(Object.entries(files).map(([file, mutants]) => [file, { mutants }])) };
}

describe('mutation score', () => {
  it('scores as Stryker does: killed and timed out over every valid mutant, ignored and errors left out', () => {
    const score = scoreOf([
      mutant(1, 'Killed'),
      mutant(2, 'Timeout'),
      mutant(3, 'Survived'),
      mutant(4, 'NoCoverage'),
      mutant(5, 'Ignored'),
      mutant(6, 'CompileError'),
      mutant(7, 'RuntimeError'),
    ]);
    expect(score).toEqual({
      detected: 2,
      timedOut: 1,
      survived: 1,
      noCoverage: 1,
      ignored: 1,
      errors: 2,
      scorePercent: 50,
    });
    expect(scoreOf([mutant(1, 'Ignored')]).scorePercent).toBeUndefined();
  });

  it('takes the newest report for a mutant that two runs measured, and keeps the rest of each', () => {
    const older = report({ 'shared/domain/a.ts': [mutant(1, 'Survived'), mutant(2, 'Survived')] });
    const newer = report({
      'shared/domain/a.ts': [mutant(2, 'Killed')],
      'shared/domain/b.ts': [mutant(1, 'Killed')],
    });
    for (const order of [
      [
        { report: older, writtenAtMs: 1 },
        { report: newer, writtenAtMs: 2 },
      ],
      [
        { report: newer, writtenAtMs: 2 },
        { report: older, writtenAtMs: 1 },
      ],
    ]) {
      const merged = mergeReports(order);
      expect(merged.get('shared/domain/a.ts')?.map((m) => [m.location.start.line, m.status])).toEqual(
        expect.arrayContaining([
          [1, 'Survived'],
          [2, 'Killed'],
        ]),
      );
      expect(merged.get('shared/domain/a.ts')).toHaveLength(2);
      expect(merged.get('shared/domain/b.ts')).toHaveLength(1);
    }
  });

  it('tells apart two mutants at one place by their mutator', () => {
    const merged = mergeReports([
      {
        report: report({
          'x.ts': [mutant(1, 'Killed', 'EqualityOperator'), mutant(1, 'Survived', 'BooleanLiteral')],
        }),
        writtenAtMs: 1,
      },
    ]);
    expect(merged.get('x.ts')).toHaveLength(2);
  });

  it('sums each folder over the files under it at any depth', () => {
    const table = scoreTable(
      mergeReports([
        {
          report: report({
            'shared/domain/a.ts': [mutant(1, 'Killed'), mutant(2, 'Survived')],
            'shared/adapters/memory/b.ts': [mutant(1, 'Killed')],
          }),
          writtenAtMs: 1,
        },
      ]),
    );
    expect(table.get('shared/domain/')?.scorePercent).toBe(50);
    expect(table.get('shared/adapters/memory/')?.scorePercent).toBe(100);
    expect(table.get('shared/')).toMatchObject({ detected: 2, survived: 1, scorePercent: (100 * 2) / 3 });
    expect(table.get('shared/domain/a.ts')?.detected).toBe(1);
  });

  it('leaves out a file that a report measured before its last edit, and keeps the files still as measured', () => {
    const measured: MutationReport = {
      files: {
        'a.ts': { source: 'const a = 1;', mutants: [mutant(1, 'Killed')] },
        'b.ts': { source: 'const b = 1;', mutants: [mutant(1, 'Survived')] },
      },
    };
    const now: Record<string, string> = { 'a.ts': 'const a = 1;', 'b.ts': 'const b = 2;' };
    const { reports, stale } = currentOnly([{ report: measured, writtenAtMs: 1 }], (file) => now[file]);
    expect([...stale]).toEqual(['b.ts']);
    expect([...mergeReports(reports).keys()]).toEqual(['a.ts']);
  });
});
