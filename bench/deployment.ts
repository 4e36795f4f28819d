/**
 * How the CDK app deploys Shoal, read from the templates it synthesizes (without bundling the
 * functions: only their code assets would differ), so the cost model prices the memory, tracing,
 * logging, backups, bucket versioning and schedules that are actually deployed, not a copy of them.
 *
 * {@link deployedSettings} is pure (two CloudFormation templates in, settings out) and tested;
 * {@link synthesizeDeployment} builds the app exactly as `infra/app.ts` does, with cdk.json's flags.
 */
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { ShoalStatelessStack } from '../infra/shoal-api.js';
import { ShoalStatefulStack } from '../infra/shoal-storage.js';
import { payloadClassPrefix, SEGMENT_KEY_PREFIX } from '../shared/domain/segment-keys.js';

/** A CloudFormation template, as far as this module reads it. */
export interface CfnTemplate {
  readonly Resources: Record<
    string,
    { readonly Type: string; readonly Properties?: Record<string, unknown> }
  >;
}

/** One deployed function, as billed. */
export interface DeployedFunction {
  readonly logicalId: string;
  readonly memoryMb: number;
  readonly architecture: 'arm64' | 'x86_64';
  /** Active tracing: the function records a segment for every sampled request. */
  readonly tracingActive: boolean;
  /** `POWERTOOLS_LOG_LEVEL` or Lambda's application log level; Powertools' default (INFO) when neither is set. */
  readonly logLevel: string;
  /** Retention of its log group, in days. */
  readonly logRetentionDays: number;
}

/** A function the deployment runs on a schedule whether or not anyone uses Shoal. */
export interface ScheduledFunction {
  readonly function: DeployedFunction;
  /** `functions/<name>.ts` of the target, from its description (`Shoal <name>: ...`); undefined if not Shoal's. */
  readonly name: string | undefined;
  readonly description: string;
  readonly invocationsPerMonth: number;
}

/** Everything the cost model takes from the deployment. */
export interface DeployedSettings {
  readonly produce: DeployedFunction;
  readonly fetch: DeployedFunction;
  /** API Gateway's stage records X-Ray traces (and decides which requests are sampled). */
  readonly apiTracing: boolean;
  /**
   * Custom X-Ray sampling rules in the app; none means X-Ray's default rule (the first request
   * each second and 5% of the rest).
   */
  readonly customSamplingRules: number;
  /**
   * The sampling rule of the API stage (service type `AWS::ApiGateway::Stage`), when the app has
   * one: the functions follow the stage's decision. Undefined means X-Ray's default rule.
   */
  readonly apiSampling: { readonly reservoirPerSecond: number; readonly fixedRate: number } | undefined;
  /** The stage's access log line format (`$context` variables), one line per request; undefined when off. */
  readonly accessLogFormat: string | undefined;
  /** Tables with point-in-time recovery on, and with a TTL attribute. */
  readonly pitrTables: number;
  readonly ttlTables: number;
  readonly tables: number;
  /** The segment bucket (the versioned one with a noncurrent-version expiry). */
  readonly segmentBucketVersioned: boolean;
  readonly noncurrentVersionDays: number | undefined;
  /**
   * Days a noncurrent payload object is kept: the shortest of the bucket's rules that cover
   * `payloads/` (S3 honours the shorter of overlapping expirations).
   */
  readonly payloadNoncurrentVersionDays: number | undefined;
  readonly scheduled: readonly ScheduledFunction[];
  /** The TTL rescue: invoked from the log table's stream, filtered to TTL deletions. */
  readonly streamFunctions: readonly { readonly function: DeployedFunction; readonly batchSize: number }[];
  /** Alarm metrics, what CloudWatch bills alarms by. */
  readonly alarms: number;
  readonly dashboards: number;
}

const MINUTES_PER_MONTH = (365.25 / 12) * 24 * 60;

type Resource = CfnTemplate['Resources'][string];

function resourcesOf(templates: readonly CfnTemplate[], type: string): [string, Resource][] {
  return templates.flatMap((template) =>
    Object.entries(template.Resources).filter(([, resource]) => resource.Type === type),
  );
}

function refOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const ref = (value as { Ref?: unknown }).Ref;
  if (typeof ref === 'string') return ref;
  const getAtt = (value as { 'Fn::GetAtt'?: unknown })['Fn::GetAtt'];
  return Array.isArray(getAtt) && typeof getAtt[0] === 'string' ? getAtt[0] : undefined;
}

function functionOf(templates: readonly CfnTemplate[], logicalId: string): DeployedFunction {
  const found = resourcesOf(templates, 'AWS::Lambda::Function').find(([id]) => id === logicalId);
  if (found === undefined) throw new Error(`No function ${logicalId} in the templates`);
  const props = found[1].Properties ?? {};
  const variables =
    (props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
  const logging = props.LoggingConfig as { ApplicationLogLevel?: string; LogGroup?: unknown } | undefined;
  const logGroupId = refOf(logging?.LogGroup);
  const logGroup = resourcesOf(templates, 'AWS::Logs::LogGroup').find(([id]) => id === logGroupId)?.[1];
  const architectures = props.Architectures as string[] | undefined;
  return {
    logicalId,
    memoryMb: Number(props.MemorySize ?? 128),
    architecture: architectures?.[0] === 'arm64' ? 'arm64' : 'x86_64',
    tracingActive: (props.TracingConfig as { Mode?: string } | undefined)?.Mode === 'Active',
    logLevel: String(variables.POWERTOOLS_LOG_LEVEL ?? logging?.ApplicationLogLevel ?? 'INFO'),
    logRetentionDays: Number(logGroup?.Properties?.RetentionInDays ?? Number.POSITIVE_INFINITY),
  };
}

function functionByDescription(templates: readonly CfnTemplate[], name: string): DeployedFunction {
  const found = resourcesOf(templates, 'AWS::Lambda::Function').find(([, resource]) =>
    String(resource.Properties?.Description ?? '').startsWith(`Shoal ${name}:`),
  );
  if (found === undefined) throw new Error(`No function described as "Shoal ${name}: ..." in the templates`);
  return functionOf(templates, found[0]);
}

/**
 * Invocations a month of a schedule expression: `rate(5 minutes)`, `rate(1 hour)`, `rate(1 day)`.
 *
 * @example invocationsPerMonth('rate(1 minute)') // 43830
 */
export function invocationsPerMonth(expression: string): number {
  const match = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (match === null) throw new Error(`Unsupported schedule expression ${expression}`);
  const minutes = { minute: 1, hour: 60, day: 1440 }[
    match[2]?.replace(/s$/, '') as 'minute' | 'hour' | 'day'
  ];
  return MINUTES_PER_MONTH / (Number(match[1]) * minutes);
}

function scheduledFunctions(templates: readonly CfnTemplate[]): ScheduledFunction[] {
  return resourcesOf(templates, 'AWS::Events::Rule').flatMap(([, rule]) => {
    const expression = rule.Properties?.ScheduleExpression;
    if (typeof expression !== 'string' || rule.Properties?.State === 'DISABLED') return [];
    const targets = (rule.Properties?.Targets as { Arn?: unknown }[] | undefined) ?? [];
    return targets.flatMap((target) => {
      const id = refOf(target.Arn);
      if (id === undefined) return [];
      const fnDescription = String(
        resourcesOf(templates, 'AWS::Lambda::Function').find(([fnId]) => fnId === id)?.[1].Properties
          ?.Description ?? '',
      );
      return [
        {
          function: functionOf(templates, id),
          name: /^Shoal ([\w-]+):/.exec(fnDescription)?.[1],
          description: String(rule.Properties?.Description ?? id),
          invocationsPerMonth: invocationsPerMonth(expression),
        },
      ];
    });
  });
}

/** The sampling rule that applies to API Gateway stages with the highest priority (lowest number). */
function apiSamplingOf(templates: readonly CfnTemplate[]): DeployedSettings['apiSampling'] {
  const rules = resourcesOf(templates, 'AWS::XRay::SamplingRule')
    .map(([, rule]) => (rule.Properties?.SamplingRule ?? {}) as Record<string, unknown>)
    .filter((rule) => rule.ServiceType === 'AWS::ApiGateway::Stage')
    .sort((a, b) => Number(a.Priority) - Number(b.Priority));
  const rule = rules[0];
  if (rule === undefined) return undefined;
  return { reservoirPerSecond: Number(rule.ReservoirSize), fixedRate: Number(rule.FixedRate) };
}

/** The settings the cost model needs, from the stateful and the stateless template. */
export function deployedSettings(stateful: CfnTemplate, stateless: CfnTemplate): DeployedSettings {
  const templates = [stateful, stateless];
  const tables = resourcesOf(templates, 'AWS::DynamoDB::Table').map(([, table]) => table.Properties ?? {});
  const buckets = resourcesOf(templates, 'AWS::S3::Bucket').map(([, bucket]) => bucket.Properties ?? {});
  const noncurrentRules = (bucket: Record<string, unknown>) =>
    (
      (
        bucket.LifecycleConfiguration as
          | { Rules?: { Prefix?: string; NoncurrentVersionExpiration?: { NoncurrentDays?: number } }[] }
          | undefined
      )?.Rules ?? []
    ).filter((rule) => rule.NoncurrentVersionExpiration?.NoncurrentDays !== undefined);
  const noncurrentDays = (bucket: Record<string, unknown>, key = '') => {
    const days = noncurrentRules(bucket)
      .filter((rule) => key.startsWith(rule.Prefix ?? ''))
      .map((rule) => rule.NoncurrentVersionExpiration?.NoncurrentDays as number);
    return days.length === 0 ? undefined : Math.min(...days);
  };
  const segmentBucket = buckets.find((bucket) => noncurrentRules(bucket).length > 0);
  const stage = resourcesOf(templates, 'AWS::ApiGateway::Stage')[0]?.[1].Properties ?? {};
  const accessLog = stage.AccessLogSetting as { Format?: unknown } | undefined;
  return {
    produce: functionByDescription(templates, 'produce-records'),
    fetch: functionByDescription(templates, 'fetch-records'),
    apiTracing: stage.TracingEnabled === true,
    customSamplingRules: resourcesOf(templates, 'AWS::XRay::SamplingRule').length,
    apiSampling: apiSamplingOf(templates),
    accessLogFormat: typeof accessLog?.Format === 'string' ? accessLog.Format : undefined,
    tables: tables.length,
    pitrTables: tables.filter(
      (table) =>
        (table.PointInTimeRecoverySpecification as { PointInTimeRecoveryEnabled?: boolean } | undefined)
          ?.PointInTimeRecoveryEnabled === true,
    ).length,
    ttlTables: tables.filter(
      (table) => (table.TimeToLiveSpecification as { Enabled?: boolean } | undefined)?.Enabled === true,
    ).length,
    segmentBucketVersioned:
      (segmentBucket?.VersioningConfiguration as { Status?: string } | undefined)?.Status === 'Enabled',
    noncurrentVersionDays:
      segmentBucket === undefined ? undefined : noncurrentDays(segmentBucket, SEGMENT_KEY_PREFIX),
    payloadNoncurrentVersionDays:
      segmentBucket === undefined ? undefined : noncurrentDays(segmentBucket, payloadClassPrefix(1)),
    scheduled: scheduledFunctions(templates),
    streamFunctions: resourcesOf(templates, 'AWS::Lambda::EventSourceMapping').flatMap(([, mapping]) => {
      const id = refOf(mapping.Properties?.FunctionName);
      return id === undefined
        ? []
        : [{ function: functionOf(templates, id), batchSize: Number(mapping.Properties?.BatchSize ?? 100) }];
    }),
    // CloudWatch bills a standard alarm per metric it watches: a metric-math alarm counts each metric
    // of its expression; a Metrics Insights query counts as one.
    alarms: resourcesOf(templates, 'AWS::CloudWatch::Alarm').reduce((sum, [, alarm]) => {
      const queries = (alarm.Properties?.Metrics ?? []) as { MetricStat?: unknown }[];
      return sum + Math.max(1, queries.filter((query) => query.MetricStat !== undefined).length);
    }, 0),
    dashboards: resourcesOf(templates, 'AWS::CloudWatch::Dashboard').length,
  };
}

/** Synthesizes the app as `infra/app.ts` builds it (defaults, cdk.json's flags, no bundling) and reads it. */
export function synthesizeDeployment(): DeployedSettings {
  const context = JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')).context as Record<
    string,
    unknown
  >;
  const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  const stateful = new ShoalStatefulStack(app, 'ShoalStateful');
  new ShoalStatelessStack(app, 'ShoalStateless', { storage: stateful.storage });
  const assembly = app.synth();
  return deployedSettings(
    assembly.getStackByName('ShoalStateful').template as CfnTemplate,
    assembly.getStackByName('ShoalStateless').template as CfnTemplate,
  );
}
