import { describe, expect, it } from 'vitest';
import { atRestMonthlyCost } from '../../bench/at-rest-cost.js';
import { AT_REST_SHAPE, type AtRestUsage, type ScheduledRunUsage } from '../../bench/at-rest-shape.js';
import type { DeployedFunction, DeployedSettings } from '../../bench/deployment.js';

const deployedFunction = (logicalId: string, memoryMb: number, tracingActive: boolean): DeployedFunction => ({
  logicalId,
  memoryMb,
  architecture: 'arm64',
  tracingActive,
  logLevel: 'INFO',
  logRetentionDays: 30,
});

const run = (overrides: Partial<ScheduledRunUsage> = {}): ScheduledRunUsage => ({
  runs: 3,
  billedMs: 0,
  readUnits: 0,
  writeUnits: 0,
  logBytes: 0,
  logEvents: 0,
  metricKeys: [],
  ...overrides,
});

const usage = (functions: Partial<AtRestUsage['functions']>): AtRestUsage => ({
  shape: AT_REST_SHAPE,
  functions: {
    'archive-segments': run(),
    'dispatch-subscriptions': run(),
    'measure-lag': run(),
    ...functions,
  },
});

/** Only the fields the bill reads. */
const deployment = (settings: Partial<DeployedSettings>): DeployedSettings =>
  ({ scheduled: [], streamFunctions: [], alarms: 0, dashboards: 0, ...settings }) as DeployedSettings;

describe('atRestMonthlyCost', () => {
  it('prices a schedule by invocations, measured duration and read units', () => {
    const archiver = deployedFunction('Archiver', 2048, false);
    const bill = atRestMonthlyCost(
      deployment({
        scheduled: [
          {
            function: archiver,
            name: 'archive-segments',
            description: 'archiver',
            invocationsPerMonth: 1_000_000,
          },
        ],
      }),
      usage({ 'archive-segments': run({ billedMs: 500, readUnits: 8 }) }),
    );

    // $0.20 for a million invocations, 1,000,000 GB-s at $0.0000133334, 8 million read units at $0.125 a million.
    expect(bill.byComponent.schedules).toBeCloseTo(0.2 + 13.3334 + 1, 4);
    expect(bill.byComponent.traces).toBe(0);
  });

  it('counts each distinct metric once, for the whole month, whichever function published it', () => {
    const lag = deployedFunction('Lag', 512, false);
    const bill = atRestMonthlyCost(
      deployment({
        scheduled: [
          { function: lag, name: 'measure-lag', description: 'lag', invocationsPerMonth: 10 },
          { function: lag, name: 'measure-lag', description: 'lag again', invocationsPerMonth: 10 },
        ],
      }),
      usage({ 'measure-lag': run({ metricKeys: ['Shoal|ConsumerLagMax|service=shoal'] }) }),
    );

    expect(bill.byComponent.metrics).toBeCloseTo(0.3, 10);
  });

  it('adds alarms and dashboards at their monthly prices, and stream polling at no charge', () => {
    const rescue = deployedFunction('Rescue', 512, true);
    const bill = atRestMonthlyCost(
      deployment({ alarms: 5, dashboards: 1, streamFunctions: [{ function: rescue, batchSize: 100 }] }),
      usage({}),
    );

    expect(bill.byComponent).toMatchObject({ alarms: 0.5, dashboards: 3, 'stream polling': 0 });
    expect(bill.totalUsd).toBeCloseTo(3.5, 10);
  });

  it('counts every traced scheduled invocation: each comes alone within its second', () => {
    const traced = deployedFunction('Sweep', 1024, true);
    const bill = atRestMonthlyCost(
      deployment({
        scheduled: [
          {
            function: traced,
            name: 'dispatch-subscriptions',
            description: 'sweep',
            invocationsPerMonth: 43_830,
          },
        ],
      }),
      usage({}),
    );

    expect(bill.byComponent.traces).toBeCloseTo(43_830 * 5e-6, 10);
  });

  it('prices a schedule the measurement did not run at 100 ms a run, and names it', () => {
    const other = deployedFunction('Other', 1024, false);

    const bill = atRestMonthlyCost(
      deployment({
        scheduled: [{ function: other, name: 'rotate-keys', description: 'x', invocationsPerMonth: 10_000 }],
      }),
      usage({}),
    );

    // 10,000 invocations ($0.002) of 0.1 GB-s each ($0.0133334).
    expect(bill.byComponent.schedules).toBeCloseTo(0.002 + 0.0133334, 6);
    expect(bill.notes.at(-1)).toMatch(/rotate-keys/);
  });
});
