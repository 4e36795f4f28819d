/**
 * What the at-rest benchmark measures and prices: the deployment's shape and the usage of its
 * scheduled functions. Shared by the measurement (`at-rest.ts`) and the bill (`at-rest-cost.ts`),
 * which neither imports the other's code through it.
 */

/** The deployment the issue prices at rest. */
export const AT_REST_SHAPE = {
  topics: 100,
  partitionsPerTopic: 12,
  groups: 20,
  topicsPerGroup: 5,
  subscriptions: 10,
} as const;

/** The scheduled functions measured, by `functions/<name>.ts`. */
export const SCHEDULED_FUNCTIONS = ['archive-segments', 'dispatch-subscriptions', 'measure-lag'] as const;
export type ScheduledFunctionName = (typeof SCHEDULED_FUNCTIONS)[number];

/** Means over the measured runs of one scheduled function. */
export interface ScheduledRunUsage {
  readonly runs: number;
  readonly billedMs: number;
  readonly readUnits: number;
  readonly writeUnits: number;
  readonly logBytes: number;
  readonly logEvents: number;
  /** Distinct custom metrics (namespace, name, dimension values) its runs published. */
  readonly metricKeys: readonly string[];
}

export interface AtRestUsage {
  readonly shape: typeof AT_REST_SHAPE;
  readonly functions: Readonly<Record<ScheduledFunctionName, ScheduledRunUsage>>;
}
