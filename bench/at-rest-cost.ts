/**
 * What a deployment at rest pays a month beyond storage, by component, from the synthesized app
 * (schedules, memory, tracing, alarms, dashboards, stream mappings) and the measured runs of its
 * scheduled functions (`at-rest.ts`). Pure: settings and measurements in, a bill out.
 *
 * Components: `schedules` (invocations, duration, DynamoDB units of the scheduled runs), `metrics`
 * (custom metrics the runs publish, each billed for the whole month as it is published all month),
 * `alarms`, `dashboards`, `logs` (Lambda's own lines and what the runs print), `traces` (X-Ray on
 * scheduled invocations) and `stream polling` (free: Lambda's reads of DynamoDB Streams are not
 * billed). No free tier is applied (3 dashboards, 10 alarms, 10 custom metrics, 1 million Lambda
 * requests and 400,000 GB-s, 5 GB of logs, 100,000 traces are free per account and often used up).
 */
import type { AtRestUsage, ScheduledRunUsage } from './at-rest-shape.js';
import { sampledTraces } from './cost-model.js';
import type { DeployedSettings } from './deployment.js';
import { BILLING_RULES, DAYS_PER_MONTH, GIB, PRICES, type PriceTable } from './prices.js';

export type AtRestComponent =
  | 'schedules'
  | 'metrics'
  | 'alarms'
  | 'dashboards'
  | 'logs'
  | 'traces'
  | 'stream polling';

export interface AtRestLine {
  readonly component: AtRestComponent;
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly usd: number;
}

export interface AtRestBill {
  readonly totalUsd: number;
  readonly byComponent: Readonly<Record<AtRestComponent, number>>;
  readonly lines: readonly AtRestLine[];
  readonly notes: readonly string[];
}

const COMPONENTS: readonly AtRestComponent[] = [
  'schedules',
  'metrics',
  'alarms',
  'dashboards',
  'logs',
  'traces',
  'stream polling',
];

/** The lines Lambda logs per invocation (START, END, REPORT; XRAY when traced), in bytes. */
const PLATFORM_LOG_BYTES = { untraced: 260, traced: 360 } as const;
const PLATFORM_LOG_EVENTS = 3;
const SECONDS_PER_MONTH = DAYS_PER_MONTH * 24 * 3600;
/** A scheduled function the measurement does not run (one added later): priced as a short run, and named. */
const UNMEASURED_RUN: ScheduledRunUsage = {
  runs: 0,
  billedMs: 100,
  readUnits: 0,
  writeUnits: 0,
  logBytes: 0,
  logEvents: 0,
  metricKeys: [],
};

function entry(
  component: AtRestComponent,
  item: string,
  quantity: number,
  unit: string,
  unitUsd: number,
): AtRestLine {
  return { component, item, quantity, unit, usd: quantity * unitUsd };
}

/** One schedule's lines: invocations, duration, DynamoDB units, its logs and its traces. */
function scheduleLines(
  schedule: DeployedSettings['scheduled'][number],
  run: ScheduledRunUsage,
  prices: PriceTable,
): AtRestLine[] {
  const { function: fn, invocationsPerMonth: n } = schedule;
  const name = schedule.name ?? fn.logicalId;
  const gbSecond =
    fn.architecture === 'arm64' ? prices.lambda.gbSecondArm.usd : prices.lambda.gbSecondX86.usd;
  const logBytes =
    (fn.tracingActive ? PLATFORM_LOG_BYTES.traced : PLATFORM_LOG_BYTES.untraced) +
    run.logBytes +
    (PLATFORM_LOG_EVENTS + run.logEvents) * BILLING_RULES.cloudWatchLogs.eventOverheadBytes;
  const { defaultReservoirPerSecond, defaultFixedRate } = BILLING_RULES.xray;
  const traces = fn.tracingActive
    ? sampledTraces(n, SECONDS_PER_MONTH, {
        reservoirPerSecond: defaultReservoirPerSecond,
        fixedRate: defaultFixedRate,
      })
    : 0;
  return [
    entry('schedules', `${name}: invocations`, n, 'invocation', prices.lambda.request.usd),
    entry(
      'schedules',
      `${name}: duration (${fn.memoryMb} MB, ${run.billedMs.toFixed(0)} ms a run)`,
      (fn.memoryMb / 1024) * ((n * run.billedMs) / 1000),
      'GB-second',
      gbSecond,
    ),
    entry(
      'schedules',
      `${name}: DynamoDB reads (${run.readUnits.toFixed(1)} a run)`,
      n * run.readUnits,
      'read request unit',
      prices.dynamodb.readRequestUnit.usd,
    ),
    entry(
      'schedules',
      `${name}: DynamoDB writes (${run.writeUnits.toFixed(1)} a run)`,
      n * run.writeUnits,
      'write request unit',
      prices.dynamodb.writeRequestUnit.usd,
    ),
    entry('logs', `${name}: log ingestion`, (n * logBytes) / GIB, 'GB', prices.cloudWatch.logIngestGb.usd),
    entry(
      'logs',
      `${name}: log storage (${fn.logRetentionDays} days kept)`,
      ((n * logBytes) / GIB) * Math.min(1, fn.logRetentionDays / DAYS_PER_MONTH),
      'GB-month',
      prices.cloudWatch.logStorageGbMonth.usd,
    ),
    entry('traces', `${name}: X-Ray traces`, traces, 'trace', prices.xray.traceRecorded.usd),
  ];
}

/**
 * The month of a deployment at rest: every schedule of the app priced with its function's measured
 * run, the metrics those runs publish, alarms, dashboards and the stream mappings.
 *
 * A schedule of a function the measurement did not run is priced at 100 ms a run and named in the notes.
 */
export function atRestMonthlyCost(
  deployment: DeployedSettings,
  usage: AtRestUsage,
  prices: PriceTable = PRICES,
): AtRestBill {
  const lines: AtRestLine[] = [];
  const metricKeys = new Set<string>();
  const assumed: string[] = [];
  for (const schedule of deployment.scheduled) {
    let run = usage.functions[schedule.name as keyof AtRestUsage['functions']];
    if (run === undefined) {
      assumed.push(schedule.name ?? schedule.function.logicalId);
      run = UNMEASURED_RUN;
    }
    lines.push(...scheduleLines(schedule, run, prices));
    for (const key of run.metricKeys) metricKeys.add(key);
  }
  lines.push(
    entry(
      'metrics',
      `custom metrics published at rest${metricKeys.size > 0 ? `: ${[...metricKeys].join(', ')}` : ''}`,
      metricKeys.size,
      'metric-month',
      prices.cloudWatch.customMetricMonth.usd,
    ),
    entry('alarms', 'CloudWatch alarms', deployment.alarms, 'alarm-month', prices.cloudWatch.alarmMonth.usd),
    entry(
      'dashboards',
      'CloudWatch dashboards',
      deployment.dashboards,
      'dashboard-month',
      prices.cloudWatch.dashboardMonth.usd,
    ),
    entry(
      'stream polling',
      `DynamoDB Streams polled by ${deployment.streamFunctions.length} event source mappings (GetRecords by Lambda is free)`,
      deployment.streamFunctions.length * BILLING_RULES.lambda.streamPollsPerSecond * SECONDS_PER_MONTH,
      'GetRecords call',
      0,
    ),
  );
  const byComponent = Object.fromEntries(
    COMPONENTS.map((component) => [
      component,
      lines.filter((line) => line.component === component).reduce((sum, line) => sum + line.usd, 0),
    ]),
  ) as Record<AtRestComponent, number>;
  const { shape } = usage;
  return {
    totalUsd: lines.reduce((sum, line) => sum + line.usd, 0),
    byComponent,
    lines,
    notes: [
      `${shape.topics} topics × ${shape.partitionsPerTopic} partitions (one archived record each), ${shape.groups} consumer groups on ${shape.topicsPerGroup} topics each, ${shape.subscriptions} subscriptions, all caught up; nothing produced, nobody polling`,
      'durations and DynamoDB units measured on warm runs of the handlers against DynamoDB Local; schedules, memory, tracing, alarms and dashboards read from the synthesized app',
      'storage, point-in-time recovery and noncurrent versions excluded (billed by size, priced per record elsewhere)',
      'no free tier applied (3 dashboards, 10 alarms and 10 metrics a month are free per account, often used up)',
      ...(assumed.length === 0
        ? []
        : [`not measured, ${UNMEASURED_RUN.billedMs} ms a run assumed: ${assumed.join(', ')}`]),
    ],
  };
}
