/**
 * Latency and throughput summaries for the benchmark.
 */

/** A latency distribution in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  readonly maxMs: number;
}

/**
 * The nearest-rank percentile of `sortedValues` (ascending): the smallest value with at least
 * `q` of the values at or below it.
 *
 * @throws RangeError when `q` is outside (0, 1] or there are no values.
 * @example percentile([1, 2, 3, 4], 0.5) // 2
 */
export function percentile(sortedValues: readonly number[], q: number): number {
  if (!(q > 0 && q <= 1)) throw new RangeError(`q must be in (0, 1], got ${q}`);
  if (sortedValues.length === 0) throw new RangeError('No values');
  const rank = Math.ceil(q * sortedValues.length);
  return sortedValues[rank - 1] as number;
}

/** Summarizes latencies (any order). @throws RangeError when there are none */
export function summarizeLatencies(latenciesMs: readonly number[]): LatencySummary {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    meanMs: sum / sorted.length,
    maxMs: sorted[sorted.length - 1] as number,
  };
}

/** Rounds to `digits` decimals (for results.json, which stays readable). */
export function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Bytes in a MiB; throughput is reported in MiB/s and "MB" means MiB throughout the benchmark. */
export const MIB = 1024 * 1024;
