/**
 * Operating Shoal: the lag monitor (a scheduled function that samples consumer and archive lag),
 * a CloudWatch dashboard of the API, the log and its background work, and alarms on what needs a
 * person: consumer lag, archive lag, dead letters, server errors, throttling, failing background
 * functions and scheduled jobs that stopped running.
 *
 * The metric names and dimensions come from `shared/observability/telemetry.ts`, the same constants
 * the functions publish with (EMF through Powertools Metrics, namespace `Shoal`, `service=<the
 * deployment's name>`, `deploymentNameOf` in `shoal-function.ts`).
 */
import { Duration } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  DIMENSION,
  METRIC,
  METRICS_NAMESPACE,
  type MetricName,
  SERVICE_DIMENSION,
  SUBSCRIPTION_METRIC,
} from '../shared/observability/telemetry.js';
import {
  deploymentNameOf,
  functionLabelOf,
  type ScheduledJob,
  ShoalFunction,
  scheduledJobOf,
  scheduleRuns,
  shoalEnvironment,
} from './shoal-function.js';
import type { ShoalStorage } from './shoal-storage.js';

/** Settings of {@link ShoalObservability}. */
export interface ShoalObservabilityProps {
  /** The tables the lag monitor reads. */
  readonly storage: ShoalStorage;
  /** The REST API whose requests, errors and latency are graphed, and whose 5xx are alarmed on. */
  readonly restApi: apigateway.RestApi;
  /** Functions whose errors, throttles and duration are graphed. @default none */
  readonly functions?: readonly lambda.IFunction[];
  /**
   * Queues that receive what Shoal gave up on (e.g. the TTL rescue's failure notices): any message
   * in one is an incident. @default none
   */
  readonly deadLetterQueues?: readonly sqs.IQueue[];
  /**
   * Functions fed by the log table's stream (the TTL rescue, the dispatcher): each gets an alarm on
   * its iterator age, how far behind the stream it is. The stream keeps a record 24 hours, so a
   * consumer that falls hours behind is about to lose records it has not handled. @default none
   */
  readonly streamConsumers?: readonly lambda.IFunction[];
  /**
   * Functions that schedules run (the archiver, the reaper, the subscription sweep; the lag monitor
   * is added here): each gets an alarm that fires when it has not run for three of its intervals
   * (at least 15 minutes), with missing data breaching, so a schedule disabled or deleted, a
   * function deleted or a permission lost shows instead of leaving every alarm green. @default none
   */
  readonly scheduledJobs?: readonly ScheduledJob[];
  /**
   * Functions whose failures are alarmed on when they fail in each of three consecutive 5-minute
   * periods (the archiver, the TTL rescue, the dispatcher): a crash of the function itself, not of
   * what it works on. At most 10 (one alarm, one metric each). @default none
   */
  readonly backgroundFunctions?: readonly lambda.IFunction[];
  /**
   * The API's access log group (JSON lines with `status` and `service`, `ACCESS_LOG_FIELDS` in
   * `shoal-api.ts`): a metric filter counts the 429 answers, those of the stage's throttles
   * included, which never reach a function. @default no 429 count from the access log
   */
  readonly accessLogGroup?: logs.ILogGroup;
  /**
   * Throttled DynamoDB attempts plus 429 answers in each of three consecutive 5-minute periods at or
   * above which the throttling alarm fires. @default 10
   */
  readonly throttleThreshold?: number;
  /**
   * Where alarms notify, e.g. `new cloudwatch_actions.SnsAction(topic)`. Without actions the alarms
   * still change state and show on the dashboard.
   * @default no actions
   */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
  /**
   * An SNS topic that alarms notify, by ARN (for configuration by CDK context); added to `alarmActions`.
   * @default none
   */
  readonly alarmTopicArn?: string;
  /**
   * Consumer lag, in records, above which the alarm fires when it lasts three samples.
   * @default 10_000
   */
  readonly consumerLagThreshold?: number;
  /**
   * The archive lag alarm fires when a batch not yet copied to S3 is this close to the end of its
   * time in DynamoDB (its TTL; the topic's localRetentionMs after the append).
   * @default Duration.hours(6)
   */
  readonly archiveHeadroomThreshold?: Duration;
  /**
   * API Gateway 5xx answers in five minutes at or above which the alarm fires.
   * @default 5
   */
  readonly serverErrorThreshold?: number;
  /**
   * How often the lag monitor samples. Each sample reads every partition's head, every group's
   * committed offsets and, for partitions with records not yet in S3, one batch: shorter intervals
   * cost more reads. The consumer lag alarm fires after 20 minutes of lag (at least one sample).
   * @default Duration.minutes(10)
   */
  readonly lagSampleInterval?: Duration;
  /**
   * Whether to create the dashboard (CloudWatch charges for dashboards beyond three per account).
   * @default true
   */
  readonly dashboard?: boolean;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/** What {@link ShoalObservability} takes besides the parts a deployment wires itself. */
export type ObservabilitySettings = Omit<
  ShoalObservabilityProps,
  | 'storage'
  | 'restApi'
  | 'functions'
  | 'deadLetterQueues'
  | 'streamConsumers'
  | 'scheduledJobs'
  | 'backgroundFunctions'
  | 'accessLogGroup'
>;

const CONSUMER_LAG_THRESHOLD_DEFAULT = 10_000;
const ARCHIVE_HEADROOM_THRESHOLD_DEFAULT = Duration.hours(6);
const SERVER_ERROR_THRESHOLD_DEFAULT = 5;
/**
 * A sample reads every partition's head (half a read unit each): for 1,200 partitions, 10 minutes
 * cost about $0.36 a month, 5 minutes twice as much.
 */
const LAG_SAMPLE_INTERVAL_DEFAULT = Duration.minutes(10);
/** How long consumer lag must last before its alarm fires, in whole samples (at least one). */
const CONSUMER_LAG_ALARM_AFTER = Duration.minutes(20);
const LAG_SAMPLE_INTERVAL_MIN = Duration.minutes(1);
const LAG_SAMPLE_INTERVAL_MAX = Duration.hours(1);
/** The period of the alarms on Shoal's own counters. */
const ALARM_PERIOD = Duration.minutes(5);
/**
 * How far behind the log table's stream a consumer may fall before its alarm: an hour, against the
 * stream's 24 hours and the TTL rescue's bound of 12 (`infra/shoal-tiered-storage.ts`).
 */
const STREAM_ITERATOR_AGE_MAX = Duration.hours(1);
const THROTTLE_THRESHOLD_DEFAULT = 10;
/** Consecutive periods a failure or a missing run must last before its alarm fires. */
const SUSTAINED_PERIODS = 3;
/** The shortest period of a job's alarm: three of them are the least time a job may skip. */
const JOB_PERIOD_MIN = Duration.minutes(5);
/** A schedule longer than this cannot be watched: three periods must fit in CloudWatch's one day. */
const JOB_INTERVAL_MAX = Duration.hours(8);
/** Metrics one alarm may watch (a metric math expression's limit). */
const ALARM_METRICS_MAX = 10;
/** The metric the access log's 429 answers are counted into. */
export const API_THROTTLED_METRIC = 'ApiThrottledAnswers';

/** The parts of a whole deployment that {@link backgroundWatchOf} reads (structurally, to keep imports one-way). */
export interface WatchedDeployment {
  readonly api: { readonly accessLogGroup: logs.ILogGroup };
  readonly tieredStorage: {
    readonly archiver: ShoalFunction;
    readonly rescuer: ShoalFunction;
    readonly reaper: ShoalFunction;
    readonly schedule: events.Rule;
    readonly reapSchedule: events.Rule;
    readonly rescueFailures: sqs.IQueue;
  };
  readonly subscriptions: { readonly dispatcher: ShoalFunction; readonly schedule: events.Rule };
}

/**
 * What {@link ShoalObservability} watches of a whole deployment's background work: the failure
 * queue, the stream consumers, the scheduled jobs, the background functions and the access log.
 */
export function backgroundWatchOf(
  deployment: WatchedDeployment,
): Pick<
  ShoalObservabilityProps,
  'deadLetterQueues' | 'streamConsumers' | 'scheduledJobs' | 'backgroundFunctions' | 'accessLogGroup'
> {
  const { api, tieredStorage, subscriptions } = deployment;
  return {
    deadLetterQueues: [tieredStorage.rescueFailures],
    streamConsumers: [tieredStorage.rescuer.function, subscriptions.dispatcher.function],
    scheduledJobs: [tieredStorage.schedule, tieredStorage.reapSchedule, subscriptions.schedule].map(
      scheduledJobOf,
    ),
    backgroundFunctions: [
      tieredStorage.archiver.function,
      tieredStorage.rescuer.function,
      subscriptions.dispatcher.function,
    ],
    accessLogGroup: api.accessLogGroup,
  };
}

/**
 * The lag monitor, the dashboard and the alarms of one Shoal deployment.
 *
 * @example
 * new ShoalObservability(stack, 'Observability', {
 *   storage, restApi: api.restApi, functions: Object.values(api.functions),
 *   alarmActions: [new cloudwatch_actions.SnsAction(onCallTopic)],
 * });
 */
export class ShoalObservability extends Construct {
  /** Samples consumer and archive lag on a schedule. */
  readonly lagMonitor: ShoalFunction;
  readonly lagSchedule: events.Rule;
  readonly alarms: {
    readonly consumerLag: cloudwatch.Alarm;
    readonly archiveLag: cloudwatch.Alarm;
    readonly deadLetters: cloudwatch.Alarm;
    readonly serverErrors: cloudwatch.Alarm;
    /** One per dead-letter queue given. */
    readonly deadLetterQueues: readonly cloudwatch.Alarm[];
    /** One per stream consumer given. */
    readonly streamIteratorAge: readonly cloudwatch.Alarm[];
    /** One per scheduled job given, and the lag monitor's: it has not run for three intervals. */
    readonly jobStopped: readonly cloudwatch.Alarm[];
    /** Any background function failing for 15 minutes; undefined without background functions. */
    readonly backgroundErrors: cloudwatch.Alarm | undefined;
    /** DynamoDB throttling the functions met, plus 429 answers, sustained for 15 minutes. */
    readonly throttling: cloudwatch.Alarm;
  };
  readonly dashboard: cloudwatch.Dashboard | undefined;
  /** The `service` dimension of this deployment's metrics. */
  readonly service: string;

  constructor(scope: Construct, id: string, props: ShoalObservabilityProps) {
    super(scope, id);
    validateProps(props);
    this.service = deploymentNameOf(this);
    const interval = props.lagSampleInterval ?? LAG_SAMPLE_INTERVAL_DEFAULT;
    this.lagMonitor = this.createLagMonitor(props);
    this.lagSchedule = scheduleRuns(this, 'LagSchedule', {
      description: 'Samples Shoal consumer and archive lag',
      target: this.lagMonitor,
      interval,
      nextRun: 'the next sample',
    });
    this.alarms = this.createAlarms(props, interval);
    const { deadLetterQueues, streamIteratorAge, jobStopped, backgroundErrors, ...single } = this.alarms;
    this.dashboard =
      props.dashboard === false
        ? undefined
        : this.createDashboard(props, [
            ...Object.values(single),
            ...(backgroundErrors ? [backgroundErrors] : []),
            ...deadLetterQueues,
            ...streamIteratorAge,
            ...jobStopped,
          ]);
  }

  /** The function that samples consumer and archive lag, with read access to both tables. */
  private createLagMonitor(props: ShoalObservabilityProps): ShoalFunction {
    const { logTable, metaTable, segmentBucket } = props.storage;
    const lagMonitor = new ShoalFunction(this, 'MeasureLag', {
      name: 'measure-lag',
      description: 'Shoal measure-lag: samples consumer lag and archive lag into CloudWatch metrics',
      invocation: 'scheduled',
      memorySize: 512,
      timeout: Duration.minutes(1),
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      // The bucket is named for the shared configuration only: the monitor never touches segments.
      environment: shoalEnvironment({ logTable, metaTable, segmentBucket }),
    });
    // Groups, offsets, topics and heads in the meta table; the oldest unarchived batch in the log.
    metaTable.grantReadData(lagMonitor.role);
    logTable.grantReadData(lagMonitor.role);
    return lagMonitor;
  }

  /** Every alarm, each sending to the configured actions. */
  private createAlarms(props: ShoalObservabilityProps, interval: Duration): ShoalObservability['alarms'] {
    const actions = [...(props.alarmActions ?? [])];
    if (props.alarmTopicArn) {
      actions.push(
        new cloudwatchActions.SnsAction(sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn)),
      );
    }
    const { service } = this;
    const alarm = (alarmId: string, alarmProps: cloudwatch.AlarmProps): cloudwatch.Alarm => {
      const created = new cloudwatch.Alarm(this, alarmId, alarmProps);
      for (const action of actions) created.addAlarmAction(action);
      return created;
    };

    const consumerLag = alarm('ConsumerLagAlarm', {
      alarmDescription:
        'A consumer group is behind by more records than the threshold for 20 minutes of samples: consumers ' +
        'are stopped, failing, or slower than the producers (see the ConsumerLag graph per group, and GET /v1/groups/{group} per partition).',
      metric: shoalMetric(service, METRIC.consumerLagMax, 'Maximum', interval),
      threshold: props.consumerLagThreshold ?? CONSUMER_LAG_THRESHOLD_DEFAULT,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: Math.max(
        1,
        Math.round(
          CONSUMER_LAG_ALARM_AFTER.toMinutes() / (interval.isUnresolved() ? 10 : interval.toMinutes()),
        ),
      ),
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const headroom = props.archiveHeadroomThreshold ?? ARCHIVE_HEADROOM_THRESHOLD_DEFAULT;
    const archiveLag = alarm('ArchiveLagAlarm', {
      alarmDescription:
        `Records not yet archived to S3 are within ${headroom.toHumanString()} of their DynamoDB TTL: the archiver ` +
        'is failing or behind. Past the TTL they survive only through the stream rescue; see the archiver logs.',
      metric: shoalMetric(service, METRIC.archiveHeadroomMsMin, 'Minimum', interval),
      threshold: headroom.toMilliseconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const deadLetters = alarm('DeadLettersAlarm', {
      alarmDescription:
        'A subscription sent records to its dead-letter topic: its function failed on them after every retry.',
      // The dispatcher publishes per subscription; a Metrics Insights query sums them, whatever their names.
      metric: new cloudwatch.MathExpression({
        expression: `SELECT SUM(${SUBSCRIPTION_METRIC.deadLetteredRecords}) FROM SCHEMA("${METRICS_NAMESPACE}", ${SERVICE_DIMENSION}, ${DIMENSION.subscription}) WHERE ${SERVICE_DIMENSION} = '${service}'`,
        usingMetrics: {},
        period: ALARM_PERIOD,
        label: 'Dead-lettered records',
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const serverErrors = alarm('ServerErrorsAlarm', {
      alarmDescription:
        'The API answered 5xx: a function failed unexpectedly (its log has the error under the request id), ' +
        'timed out, or was throttled by Lambda.',
      metric: props.restApi.metricServerError({ period: ALARM_PERIOD, statistic: 'Sum' }),
      threshold: props.serverErrorThreshold ?? SERVER_ERROR_THRESHOLD_DEFAULT,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const deadLetterQueues = (props.deadLetterQueues ?? []).map((queue, index) =>
      alarm(`DeadLetterQueue${index}Alarm`, {
        alarmDescription:
          'A Shoal failure queue holds a message: something was given up on; read the message.',
        metric: queue.metricApproximateNumberOfMessagesVisible({
          period: ALARM_PERIOD,
          statistic: 'Maximum',
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    const streamIteratorAge = (props.streamConsumers ?? []).map((fn, index) =>
      alarm(`StreamIteratorAge${index}Alarm`, {
        alarmDescription:
          `A consumer of the log table's stream is more than ${STREAM_ITERATOR_AGE_MAX.toHumanString()} behind ` +
          'it (its oldest unhandled record is that old): the stream keeps records 24 hours, so it is failing or ' +
          'throttled and must catch up before records it has not handled expire. See its log.',
        metric: new cloudwatch.Metric({
          namespace: 'AWS/Lambda',
          metricName: 'IteratorAge',
          dimensionsMap: { FunctionName: fn.functionName },
          statistic: 'Maximum',
          period: ALARM_PERIOD,
        }),
        threshold: STREAM_ITERATOR_AGE_MAX.toMilliseconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        // No data is no stream record to handle: nothing is behind.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    const jobs = [...(props.scheduledJobs ?? []), scheduledJobOf(this.lagSchedule)];
    const jobStopped = jobs.map((job) => {
      const intervalMinutes = job.interval.isUnresolved()
        ? LAG_SAMPLE_INTERVAL_DEFAULT.toMinutes()
        : job.interval.toMinutes();
      const period = Duration.minutes(Math.max(intervalMinutes, JOB_PERIOD_MIN.toMinutes()));
      return alarm(`${functionLabelOf(job.function)}StoppedAlarm`, {
        alarmDescription:
          `${functionLabelOf(job.function)} has not run for ${Duration.minutes(period.toMinutes() * SUSTAINED_PERIODS).toHumanString()} ` +
          `(it is scheduled every ${Duration.minutes(intervalMinutes).toHumanString()}): its schedule is disabled or gone, or Lambda ` +
          'cannot invoke it. What it does (archiving, reaping, sweeping, sampling lag) has stopped, and the alarms ' +
          'that watch its results stay silent. See its schedule rule and the function.',
        metric: job.function.metricInvocations({ period, statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: SUSTAINED_PERIODS,
        datapointsToAlarm: SUSTAINED_PERIODS,
        // A job that runs always has a datapoint: no data is no run.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    });
    const background = props.backgroundFunctions ?? [];
    const backgroundErrors =
      background.length === 0
        ? undefined
        : alarm('BackgroundErrorsAlarm', {
            alarmDescription:
              `A background function (${background.map((fn) => functionLabelOf(fn)).join(', ')}) failed in each of ` +
              `${SUSTAINED_PERIODS} consecutive ${ALARM_PERIOD.toHumanString()} periods: it crashes or times out on ` +
              'every run, so its work (archiving, rescuing expired batches, delivering to subscriptions) is not being ' +
              'done. The graph shows which; its log has the error.',
            metric: new cloudwatch.MathExpression({
              expression: background.map((_, index) => `FILL(e${index}, 0)`).join(' + '),
              usingMetrics: Object.fromEntries(
                background.map((fn, index) => [
                  `e${index}`,
                  fn.metricErrors({ period: ALARM_PERIOD, statistic: 'Sum' }),
                ]),
              ),
              period: ALARM_PERIOD,
              label: 'Background function errors',
            }),
            threshold: 1,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluationPeriods: SUSTAINED_PERIODS,
            datapointsToAlarm: SUSTAINED_PERIODS,
            // No invocation is no failure; a job that stopped running has its own alarm.
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          });
    const throttleMetrics: Record<string, cloudwatch.IMetric> = {
      dynamo: shoalMetric(service, METRIC.dynamoDbThrottles, 'Sum', ALARM_PERIOD),
    };
    if (props.accessLogGroup) {
      throttleMetrics.answered429 = this.countThrottledAnswers(props.accessLogGroup).metric({
        period: ALARM_PERIOD,
        statistic: 'Sum',
        dimensionsMap: { [SERVICE_DIMENSION]: service },
      });
    }
    const throttling = alarm('ThrottlingAlarm', {
      alarmDescription:
        'DynamoDB refused requests for capacity, or the API answered 429, in each of three consecutive 5-minute ' +
        'periods: a hot partition, a table or account limit, or a route throttle (shoal:throttling) too low for the ' +
        'traffic. Clients retry, so work slows rather than fails. See the DynamoDB retries and throttles graph and ' +
        'docs/deploy.md (Throttles, Ceilings).',
      metric: new cloudwatch.MathExpression({
        expression: Object.keys(throttleMetrics)
          .map((id) => `FILL(${id}, 0)`)
          .join(' + '),
        usingMetrics: throttleMetrics,
        period: ALARM_PERIOD,
        label: 'Throttled DynamoDB attempts and 429 answers',
      }),
      threshold: props.throttleThreshold ?? THROTTLE_THRESHOLD_DEFAULT,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: SUSTAINED_PERIODS,
      datapointsToAlarm: SUSTAINED_PERIODS,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    return {
      consumerLag,
      archiveLag,
      deadLetters,
      serverErrors,
      throttling,
      deadLetterQueues,
      streamIteratorAge,
      jobStopped,
      backgroundErrors,
    };
  }

  /**
   * Counts the API's 429 answers from its access log, per deployment (`service` field): the stage's
   * throttles answer before any function runs, so no function can count them.
   */
  private countThrottledAnswers(accessLogGroup: logs.ILogGroup): logs.MetricFilter {
    return new logs.MetricFilter(this, 'ThrottledAnswers', {
      logGroup: accessLogGroup,
      filterPattern: logs.FilterPattern.stringValue('$.status', '=', '429'),
      metricNamespace: METRICS_NAMESPACE,
      metricName: API_THROTTLED_METRIC,
      metricValue: '1',
      dimensions: { [SERVICE_DIMENSION]: '$.service' },
    });
  }

  private createDashboard(
    props: ShoalObservabilityProps,
    alarms: readonly cloudwatch.Alarm[],
  ): cloudwatch.Dashboard {
    const { service } = this;
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
    });
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...alarms], width: 24, height: 3 }),
    );
    const rows = [
      apiRow(service, props.restApi),
      ...trafficRows(service),
      lagRow(service),
      operationsRow(service, props.storage),
      ...functionRows(props.functions ?? []),
    ];
    for (const row of rows) dashboard.addWidgets(...row);
    return dashboard;
  }
}

/** One of Shoal's own metrics for the whole deployment (service dimension only). */
function shoalMetric(
  service: string,
  name: MetricName,
  statistic: string,
  period: Duration,
  label?: string,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { [SERVICE_DIMENSION]: service },
    statistic,
    period,
    ...(label ? { label } : {}),
  });
}

/** Every series of a per-resource metric, whatever the resource names (a dashboard SEARCH). */
function search(
  service: string,
  name: string,
  dimensions: readonly string[],
  statistic: string,
  period: Duration,
): cloudwatch.IMetric {
  const schema = [METRICS_NAMESPACE, SERVICE_DIMENSION, ...dimensions].join(',');
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{${schema}} MetricName="${name}" ${SERVICE_DIMENSION}="${service}"', '${statistic}', ${period.toSeconds()})`,
    usingMetrics: {},
    period,
    label: '',
  });
}

function validateProps(props: ShoalObservabilityProps): void {
  const interval = props.lagSampleInterval;
  if (interval !== undefined && !interval.isUnresolved()) {
    const ms = interval.toMilliseconds();
    if (
      ms < LAG_SAMPLE_INTERVAL_MIN.toMilliseconds() ||
      ms > LAG_SAMPLE_INTERVAL_MAX.toMilliseconds() ||
      ms % 60_000 !== 0
    ) {
      throw new Error(
        `lagSampleInterval must be a whole number of minutes from 1 minute to 1 hour, got ${interval.toHumanString()}`,
      );
    }
  }
  const threshold = props.consumerLagThreshold;
  if (threshold !== undefined && !(Number.isInteger(threshold) && threshold >= 1)) {
    throw new Error(`consumerLagThreshold must be a whole number of records, at least 1, got ${threshold}`);
  }
  const headroom = props.archiveHeadroomThreshold;
  if (headroom !== undefined && !headroom.isUnresolved() && headroom.toMilliseconds() < 60_000) {
    throw new Error(`archiveHeadroomThreshold must be at least 1 minute, got ${headroom.toHumanString()}`);
  }
  const throttles = props.throttleThreshold;
  if (throttles !== undefined && !(Number.isInteger(throttles) && throttles >= 1)) {
    throw new Error(`throttleThreshold must be a whole number, at least 1, got ${throttles}`);
  }
  if ((props.backgroundFunctions?.length ?? 0) > ALARM_METRICS_MAX) {
    throw new Error(`backgroundFunctions holds at most ${ALARM_METRICS_MAX} functions (one alarm's metrics)`);
  }
  for (const job of props.scheduledJobs ?? []) {
    const ms = job.interval.isUnresolved() ? 0 : job.interval.toMilliseconds();
    if (ms < 60_000 || ms > JOB_INTERVAL_MAX.toMilliseconds() || ms % 60_000 !== 0) {
      throw new Error(
        `a scheduled job's interval must be a whole number of minutes from 1 minute to ${JOB_INTERVAL_MAX.toHumanString()}, got ${job.interval.toHumanString()}`,
      );
    }
  }
  const errors = props.serverErrorThreshold;
  if (errors !== undefined && !(Number.isInteger(errors) && errors >= 1)) {
    throw new Error(`serverErrorThreshold must be a whole number, at least 1, got ${errors}`);
  }
}

/** A half-width graph of the dashboard, over the alarm period. */
function graph(title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []) {
  return new cloudwatch.GraphWidget({ title, left, right, width: 12, height: 6 });
}

/** Requests, errors and latency as API Gateway and the handlers count them. */
function apiRow(service: string, api: apigateway.RestApi): cloudwatch.IWidget[] {
  const period = ALARM_PERIOD;
  return [
    graph(
      'API requests and errors',
      [
        api.metricCount({ period, statistic: 'Sum', label: 'Requests' }),
        api.metricClientError({ period, statistic: 'Sum', label: '4xx' }),
        api.metricServerError({ period, statistic: 'Sum', label: '5xx' }),
      ],
      [
        shoalMetric(service, METRIC.throttledRequests, 'Sum', period, 'Answered 429/503 (busy)'),
        shoalMetric(service, METRIC.serverErrors, 'Sum', period, 'Function 5xx'),
      ],
    ),
    graph('API latency (ms)', [
      api.metricLatency({ period, statistic: 'p50', label: 'p50' }),
      api.metricLatency({ period, statistic: 'p99', label: 'p99' }),
      api.metricIntegrationLatency({ period, statistic: 'p99', label: 'integration p99' }),
    ]),
  ];
}

/** Records and bytes produced and fetched, per topic. */
function trafficRows(service: string): cloudwatch.IWidget[][] {
  const period = ALARM_PERIOD;
  return [
    [
      graph('Produced records per topic', [
        search(service, METRIC.producedRecords, [DIMENSION.topic], 'Sum', period),
      ]),
      graph('Produced bytes per topic', [
        search(service, METRIC.producedBytes, [DIMENSION.topic], 'Sum', period),
      ]),
    ],
    [
      graph(
        'Fetched records per topic',
        [search(service, METRIC.fetchedRecords, [DIMENSION.topic], 'Sum', period)],
        [search(service, METRIC.fetches, [DIMENSION.topic], 'Sum', period)],
      ),
      graph('Fetched bytes per topic', [
        search(service, METRIC.fetchedBytes, [DIMENSION.topic], 'Sum', period),
      ]),
    ],
  ];
}

/** Consumer lag per group and partition, and how far the archiver is behind. */
function lagRow(service: string): cloudwatch.IWidget[] {
  const period = ALARM_PERIOD;
  return [
    graph(
      'Consumer lag per group (records; per partition: GET /v1/groups/{group})',
      [search(service, METRIC.consumerLag, [DIMENSION.group], 'Maximum', period)],
      [shoalMetric(service, METRIC.consumerLagMax, 'Maximum', period, 'Largest lag of a partition')],
    ),
    graph(
      'Archive lag',
      [
        shoalMetric(
          service,
          METRIC.archiveLagAgeMsMax,
          'Maximum',
          period,
          'Oldest unarchived record age (ms)',
        ),
        shoalMetric(
          service,
          METRIC.archiveHeadroomMsMin,
          'Minimum',
          period,
          'Least headroom before TTL (ms)',
        ),
      ],
      [search(service, METRIC.archiveLagRecords, [DIMENSION.topic], 'Maximum', period)],
    ),
  ];
}

/** Subscription deliveries, and DynamoDB's retries, throttles and write units. */
function operationsRow(service: string, storage: ShoalStorage): cloudwatch.IWidget[] {
  const period = ALARM_PERIOD;
  return [
    graph(
      'Subscriptions: delivered, errors, dead letters',
      [search(service, SUBSCRIPTION_METRIC.deliveredRecords, [DIMENSION.subscription], 'Sum', period)],
      [
        search(service, SUBSCRIPTION_METRIC.invocationErrors, [DIMENSION.subscription], 'Sum', period),
        search(service, SUBSCRIPTION_METRIC.deadLetteredRecords, [DIMENSION.subscription], 'Sum', period),
      ],
    ),
    graph(
      'DynamoDB retries and throttles',
      [
        shoalMetric(service, METRIC.dynamoDbRetries, 'Sum', period, 'SDK retries'),
        shoalMetric(service, METRIC.dynamoDbThrottles, 'Sum', period, 'Throttled attempts'),
      ],
      [
        storage.logTable.metricConsumedWriteCapacityUnits({ period, label: 'Log table WCU' }),
        storage.metaTable.metricConsumedWriteCapacityUnits({ period, label: 'Meta table WCU' }),
      ],
    ),
  ];
}

/** Errors, throttles and duration of the given functions; no row without functions. */
function functionRows(functions: readonly lambda.IFunction[]): cloudwatch.IWidget[][] {
  if (functions.length === 0) return [];
  const period = ALARM_PERIOD;
  return [
    [
      graph(
        'Function errors and throttles',
        functions.map((fn) => fn.metricErrors({ period, label: `${functionLabelOf(fn)} errors` })),
        functions.map((fn) => fn.metricThrottles({ period, label: `${functionLabelOf(fn)} throttles` })),
      ),
      graph(
        'Function duration p99 (ms)',
        functions.map((fn) => fn.metricDuration({ period, statistic: 'p99', label: functionLabelOf(fn) })),
      ),
    ],
  ];
}
