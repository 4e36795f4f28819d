import { describe, expect, it } from 'vitest';
import { bar, formatNumber, Progress, renderTable } from '../../bench/report.js';
import { percentile, summarizeLatencies } from '../../bench/stats.js';

describe('percentile', () => {
  it('takes the nearest rank', () => {
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4], 0.99)).toBe(4);
    expect(summarizeLatencies([4, 1, 3, 2])).toMatchObject({
      count: 4,
      p50Ms: 2,
      p99Ms: 4,
      meanMs: 2.5,
      maxMs: 4,
    });
  });

  it('fails when there are no values or q is out of range', () => {
    expect(() => percentile([], 0.5)).toThrow(RangeError);
    expect(() => percentile([1], 0)).toThrow(RangeError);
  });
});

describe('bar', () => {
  it('scales to the width in eighths of a cell', () => {
    expect(bar(10, 10, 4)).toBe('████');
    expect(bar(5, 10, 4)).toBe('██');
    expect(bar(1, 16, 2)).toBe('▏');
    expect(bar(3, 16, 2)).toBe('▍');
    expect(bar(9, 16, 2)).toBe('█▏');
    expect(bar(0, 10, 4)).toBe('');
  });
});

describe('renderTable', () => {
  it('pads columns, left-aligns the first and right-aligns the rest', () => {
    const table = renderTable(
      ['name', 'n'],
      [
        ['a', '10'],
        ['bbb', '2'],
      ],
    );

    expect(table.split('\n')).toEqual(['name   n', '────  ──', 'a     10', 'bbb    2']);
  });
});

describe('formatNumber', () => {
  it('keeps three significant figures and groups thousands', () => {
    expect(formatNumber(0.012345)).toBe('0.0123');
    expect(formatNumber(12_345.6)).toBe('12,346');
    expect(formatNumber(undefined)).toBe('—');
  });
});

describe('Progress', () => {
  it('rewrites one line on a terminal', () => {
    const written: string[] = [];
    const progress = new Progress({ isTTY: true, columns: 80, write: (text: string) => written.push(text) });

    progress.begin('produce', 'cell 1');
    progress.update('cell 2');
    progress.finish();

    expect(written.every((text) => text.startsWith('\r\x1b[2K'))).toBe(true);
    expect(written.some((text) => text.endsWith('produce: cell 2'))).toBe(true);
  });

  it('prints plain lines, at most one per interval within a phase, elsewhere', () => {
    const written: string[] = [];
    const progress = new Progress({ write: (text: string) => written.push(text) }, 'bench', 60_000);

    progress.begin('produce', 'cell 1');
    progress.update('cell 2');
    progress.begin('fetch');

    expect(written).toHaveLength(2);
    expect(written.every((text) => text.endsWith('\n') && !text.includes('\r'))).toBe(true);
  });
});
