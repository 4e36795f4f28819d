/**
 * Terminal output of the benchmark and the checker: plain tables, small bar charts where a picture
 * reads faster than numbers, and a progress line (one updating line on a TTY, periodic plain lines
 * otherwise, such as in CI logs).
 */

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/**
 * A horizontal bar of `width` cells for `value` out of `max`, in eighths of a cell.
 *
 * @example bar(5, 10, 4) // '██'
 */
export function bar(value: number, max: number, width: number): string {
  if (!(max > 0) || !(value > 0)) return '';
  const eighths = Math.round((Math.min(value, max) / max) * width * 8);
  return '█'.repeat(Math.floor(eighths / 8)) + (EIGHTHS[eighths % 8] ?? '');
}

/** Column alignment. */
export type Align = 'left' | 'right';

/**
 * Renders rows as a table with a header line and a rule under it; `align` per column
 * (default: right for all but the first).
 */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  align?: readonly Align[],
): string {
  const widths = headers.map((header, column) =>
    Math.max([...header].length, ...rows.map((row) => [...(row[column] ?? '')].length)),
  );
  const cell = (text: string, column: number) => {
    const pad = ' '.repeat(Math.max(0, (widths[column] ?? 0) - [...text].length));
    const side = align?.[column] ?? (column === 0 ? 'left' : 'right');
    return side === 'left' ? text + pad : pad + text;
  };
  const line = (row: readonly string[]) =>
    headers
      .map((_, column) => cell(row[column] ?? '', column))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((width) => '─'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

/** Formats a number with a fixed number of significant figures, readable in a table. */
export function formatNumber(value: number | undefined, digits = 3): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 10 ** digits) return Math.round(value).toLocaleString('en-US');
  return Number(value.toPrecision(digits)).toString();
}

/** Formats dollars with enough decimals for sub-cent figures. */
export function formatUsd(value: number): string {
  if (value >= 100) return `$${value.toFixed(0)}`;
  if (value >= 1) return `$${value.toFixed(2)}`;
  return `$${value.toPrecision(2)}`;
}

/** Where progress goes: a stream with `isTTY` and `columns` when it is a terminal. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

/**
 * A progress line. On a TTY it rewrites one line in place; elsewhere it prints a plain line when
 * the phase changes and at most every `intervalMs` within a phase.
 */
export class Progress {
  private phase = '';
  private lastPrintMs = 0;
  private startedMs = Date.now();
  private drawn = false;

  constructor(
    private readonly stream: ProgressStream,
    private readonly label = 'bench',
    private readonly intervalMs = 5_000,
  ) {}

  /** Starts a named phase (`produce`, `fetch`, ...). */
  begin(phase: string, detail = ''): void {
    this.phase = phase;
    this.lastPrintMs = 0;
    this.update(detail);
  }

  /** Updates the detail of the current phase. */
  update(detail: string): void {
    const elapsed = ((Date.now() - this.startedMs) / 1000).toFixed(0).padStart(4);
    const text = `[${this.label} ${elapsed}s] ${this.phase}${detail === '' ? '' : `: ${detail}`}`;
    if (this.stream.isTTY) {
      const width = Math.max(20, (this.stream.columns ?? 100) - 1);
      this.stream.write(`\r\x1b[2K${text.slice(0, width)}`);
      this.drawn = true;
      return;
    }
    const now = Date.now();
    if (now - this.lastPrintMs < this.intervalMs) return;
    this.lastPrintMs = now;
    this.stream.write(`${text}\n`);
  }

  /** Clears the line on a TTY, so the report starts on a clean line. */
  finish(): void {
    if (this.stream.isTTY && this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}

/** One batch size of the cost table: each system's dollars, and Shoal's write units and latency ratio. */
export interface CostTableRow {
  readonly batchRecords: number;
  /** Dollars per system, Shoal first, in `headers` order. */
  readonly usd: readonly number[];
  readonly writeUnitsPerMib: number | undefined;
  readonly p50Ratio: number | undefined;
}

/**
 * The cost table: one row per batch size, one dollar column per system, then write units per MiB
 * and the worst produce latency ratio at that batch size.
 *
 * @example costTable(['Shoal', 'Kinesis on-demand'], [{ batchRecords: 100, usd: [0.2, 0.17], writeUnitsPerMib: 455, p50Ratio: 2.1 }])
 */
export function costTable(systems: readonly string[], rows: readonly CostTableRow[]): string {
  return renderTable(
    ['records/request', ...systems, 'WU/MiB', 'p50 ratio'],
    rows.map((row) => [
      String(row.batchRecords),
      ...row.usd.map(formatUsd),
      formatNumber(row.writeUnitsPerMib),
      row.p50Ratio === undefined ? '—' : `${row.p50Ratio.toFixed(2)}x`,
    ]),
  );
}
