/**
 * The alarms that make background failures visible (issue 18): a scheduled job that stops running,
 * a background function that fails on every run, sustained throttling (DynamoDB's or the API's
 * 429s), each on the metrics of this deployment only (`service` = the deployment's name).
 */
import { App, Stack } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_THROTTLED_METRIC } from '../../infra/observability.js';
import { deploymentNameOf } from '../../infra/shoal-function.js';
import { METRIC, SERVICE_NAME_DEFAULT, SERVICE_NAME_ENV } from '../../shared/observability/telemetry.js';
import {
  type CfnResource,
  logicalIdOf,
  resourcesOf,
  type ShoalApp,
  synthesizeShoalApp,
} from './shoal-app.js';

let app: ShoalApp;
let alarms: CfnResource[];

/** A synthesis takes seconds on a quiet machine and minutes on a loaded one: the bound only catches a hang. */
const SYNTHESIS_TIMEOUT_MS = 600_000;

beforeAll(() => {
  app = synthesizeShoalApp({ bundling: false });
  alarms = Object.values(resourcesOf(app.statelessTemplate, 'AWS::CloudWatch::Alarm'));
}, SYNTHESIS_TIMEOUT_MS);

type MetricQuery = {
  Id: string;
  Expression?: string;
  MetricStat?: {
    Metric: { MetricName: string; Namespace: string; Dimensions?: unknown[] };
    Stat: string;
    Period: number;
  };
};

function metricsOf(alarm: CfnResource): MetricQuery[] {
  return (alarm.Properties.Metrics ?? []) as MetricQuery[];
}

describe('a scheduled job that stops running', () => {
  it('alarms for each job when it has not run for three of its intervals (at least 15 minutes), missing data breaching', () => {
    const { stateless } = app;
    const jobs = [
      { fn: stateless.tieredStorage.archiver.function, period: 300 }, // every minute: 5-minute periods
      { fn: stateless.tieredStorage.reaper.function, period: 3600 },
      { fn: stateless.subscriptions.dispatcher.function, period: 300 },
      { fn: stateless.observability?.lagMonitor.function, period: 600 },
    ];
    const invocationAlarms = alarms.filter((alarm) => alarm.Properties.MetricName === 'Invocations');

    expect(invocationAlarms).toHaveLength(jobs.length);
    for (const { fn, period } of jobs) {
      expect(fn).toBeDefined();
      const functionRef = { Ref: logicalIdOf(stateless, fn as NonNullable<typeof fn>) };
      const alarm = invocationAlarms.find(
        (candidate) =>
          JSON.stringify(candidate.Properties.Dimensions) ===
          JSON.stringify([{ Name: 'FunctionName', Value: functionRef }]),
      );
      expect(alarm?.Properties, JSON.stringify(functionRef)).toMatchObject({
        Namespace: 'AWS/Lambda',
        Statistic: 'Sum',
        Period: period,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 3,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      });
    }
  });
});

describe('a background function that fails on every run', () => {
  it('alarms when the archiver, the TTL rescue or the dispatcher fails in each of three 5-minute periods', () => {
    const { stateless } = app;
    const alarm = alarms.find((candidate) =>
      metricsOf(candidate).some((query) => query.MetricStat?.Metric.MetricName === 'Errors'),
    );
    const queries = metricsOf(alarm as CfnResource);
    const errorMetrics = queries.filter((query) => query.MetricStat);

    expect(errorMetrics.map((query) => query.MetricStat?.Metric.Dimensions)).toEqual(
      [
        stateless.tieredStorage.archiver.function,
        stateless.tieredStorage.rescuer.function,
        stateless.subscriptions.dispatcher.function,
      ].map((fn) => [{ Name: 'FunctionName', Value: { Ref: logicalIdOf(stateless, fn) } }]),
    );
    for (const query of errorMetrics) {
      expect(query.MetricStat).toMatchObject({ Stat: 'Sum', Period: 300 });
    }
    expect(queries.find((query) => query.Expression)?.Expression).toBe(
      'FILL(e0, 0) + FILL(e1, 0) + FILL(e2, 0)',
    );
    expect(alarm?.Properties).toMatchObject({
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });
});

describe('sustained throttling', () => {
  it("alarms on DynamoDB throttles the functions met plus the API's 429 answers, both of this deployment", () => {
    const alarm = alarms.find((candidate) =>
      metricsOf(candidate).some((query) => query.MetricStat?.Metric.MetricName === METRIC.dynamoDbThrottles),
    );
    const queries = metricsOf(alarm as CfnResource);
    const metrics = queries.flatMap((query) => (query.MetricStat ? [query.MetricStat.Metric] : []));

    expect(metrics).toEqual([
      {
        Namespace: 'Shoal',
        MetricName: METRIC.dynamoDbThrottles,
        Dimensions: [{ Name: 'service', Value: 'ShoalStateless' }],
      },
      {
        Namespace: 'Shoal',
        MetricName: API_THROTTLED_METRIC,
        Dimensions: [{ Name: 'service', Value: 'ShoalStateless' }],
      },
    ]);
    expect(queries.find((query) => query.Expression)?.Expression).toBe(
      'FILL(dynamo, 0) + FILL(answered429, 0)',
    );
    expect(alarm?.Properties).toMatchObject({
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      Threshold: 10,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it("counts the access log's 429 lines (the stage's throttles included) per deployment", () => {
    const { stateless, statelessTemplate } = app;
    const filters = Object.values(resourcesOf(statelessTemplate, 'AWS::Logs::MetricFilter'));

    expect(filters).toHaveLength(1);
    expect(filters[0]?.Properties).toMatchObject({
      LogGroupName: { Ref: logicalIdOf(stateless, stateless.api.accessLogGroup) },
      FilterPattern: '{ $.status = "429" }',
      MetricTransformations: [
        {
          MetricNamespace: 'Shoal',
          MetricName: API_THROTTLED_METRIC,
          MetricValue: '1',
          Dimensions: [{ Key: 'service', Value: '$.service' }],
        },
      ],
    });
    const [stage] = Object.values(resourcesOf(statelessTemplate, 'AWS::ApiGateway::Stage'));
    const setting = stage?.Properties.AccessLogSetting as { Format: string } | undefined;
    const format = JSON.parse(String(setting?.Format));
    expect(format).toMatchObject({ status: '$context.status', service: 'ShoalStateless' });
  });
});

describe('the deployment name', () => {
  it("is every function's service name and the dimension of every Shoal metric an alarm watches", () => {
    const functions = Object.values(resourcesOf(app.statelessTemplate, 'AWS::Lambda::Function'));
    const shoalAlarmDimensions = alarms.flatMap((alarm) => [
      ...(alarm.Properties.Namespace === 'Shoal' ? [alarm.Properties.Dimensions] : []),
      ...metricsOf(alarm)
        .filter((query) => query.MetricStat?.Metric.Namespace === 'Shoal')
        .map((query) => query.MetricStat?.Metric.Dimensions),
    ]);

    const named = functions.filter(
      (fn) =>
        (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.[
          SERVICE_NAME_ENV
        ],
    );
    // Every Shoal function (the CDK's own helpers, such as the log retention one, have no environment).
    expect(named.length).toBeGreaterThanOrEqual(10);
    for (const fn of named) {
      expect(
        (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables[SERVICE_NAME_ENV],
      ).toBe('ShoalStateless');
    }
    expect(shoalAlarmDimensions.length).toBeGreaterThanOrEqual(3);
    for (const dimensions of shoalAlarmDimensions) {
      expect(dimensions).toEqual([{ Name: 'service', Value: 'ShoalStateless' }]);
    }
  });

  it(
    'comes from shoal:deployment when set, so two deployments in one account never share a series',
    () => {
      const named = synthesizeShoalApp({ bundling: false, context: { 'shoal:deployment': 'orders-prod' } });
      const template = JSON.stringify(named.statelessTemplate.toJSON());

      expect(template).toContain(`"${SERVICE_NAME_ENV}":"orders-prod"`);
      expect(template).toContain('"Name":"service","Value":"orders-prod"');
      expect(template).not.toContain('"Value":"ShoalStateless"');
    },
    SYNTHESIS_TIMEOUT_MS,
  );

  it('refuses a shoal:deployment that cannot be a dimension value, and falls back to the default name without a stack name', () => {
    const stack = new Stack(new App({ context: { 'shoal:deployment': 'orders prod!' } }), 'Named');
    expect(() => deploymentNameOf(stack)).toThrow(/shoal:deployment must be 1 to 128 letters/);
    expect(deploymentNameOf(new Stack(new App(), 'Plain'))).toBe('Plain');
    expect(SERVICE_NAME_DEFAULT).toBe('shoal');
  });
});
