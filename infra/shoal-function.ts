/**
 * One Shoal Lambda function the way every Shoal function is built: an ESM bundle of
 * `functions/<name>.ts` on Node.js 22 and arm64 with tracing (active, or passed through for work
 * a schedule starts), its own log group with a retention, and its own role that may write to that
 * log group and nothing else until the caller grants more.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, type IConstruct } from 'constructs';
import { ENV } from '../shared/config.js';
import { SERVICE_NAME_DEFAULT, SERVICE_NAME_ENV } from '../shared/observability/telemetry.js';

/** The tables and bucket every Shoal function is configured with. */
export interface ShoalResources {
  readonly logTable: dynamodb.ITable;
  readonly metaTable: dynamodb.ITable;
  readonly segmentBucket: s3.IBucket;
}

/**
 * The environment `shared/config.ts` reads, for any Shoal function: one place, so a new setting
 * reaches every function.
 */
export function shoalEnvironment(resources: ShoalResources): Record<string, string> {
  return {
    [ENV.logTableName]: resources.logTable.tableName,
    [ENV.metaTableName]: resources.metaTable.tableName,
    [ENV.segmentBucketName]: resources.segmentBucket.bucketName,
  };
}

/** The runtime the bundles target; bumping it is a deliberate upgrade (see the L1 acknowledgement). */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_22_X;
export const ESBUILD_TARGET = 'node22';

/** `functions/<name>.ts`, found from this file so that the construct works from any working directory. */
export const FUNCTIONS_DIR = fileURLToPath(new URL('../functions/', import.meta.url));
export const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * ESM bundles of CommonJS dependencies call `require` for Node built-ins; ESM has no `require`, so
 * the banner defines one.
 */
export const REQUIRE_BANNER =
  "import { createRequire } from 'node:module';const require = createRequire(import.meta.url);";

/** The bundling every Shoal function uses. */
export const SHOAL_BUNDLING: nodejs.BundlingOptions = {
  format: nodejs.OutputFormat.ESM,
  target: ESBUILD_TARGET,
  mainFields: ['module', 'main'],
  banner: REQUIRE_BANNER,
  minify: true,
  // `index.mjs.map` beside the bundle, without the sources: read only when an error is logged.
  sourceMap: true,
  sourcesContent: false,
  // Bundle the pinned @aws-sdk/* versions instead of the runtime's copy, so Lambda runs the SDK the
  // tests ran against.
  externalModules: [],
  forceDockerBundling: false,
};

/**
 * {@link SHOAL_BUNDLING} as esbuild's own options, for code that runs esbuild itself (the cold-start
 * bench, the bundle tests) and must bundle exactly as the CDK app does.
 */
export const SHOAL_ESBUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: ESBUILD_TARGET,
  mainFields: SHOAL_BUNDLING.mainFields ?? [],
  banner: { js: REQUIRE_BANNER },
  minify: SHOAL_BUNDLING.minify ?? false,
  sourcemap: SHOAL_BUNDLING.sourceMap ?? false,
  sourcesContent: SHOAL_BUNDLING.sourcesContent ?? true,
} as const;

/**
 * Bundles built ahead of time, one folder per function (`<name>/index.mjs`), beside the module that
 * holds this code: present in the published `shoal-cdk` package (built by `packages/build.ts` from
 * the same `functions/<name>.ts` with {@link SHOAL_BUNDLING}'s settings), absent in this repository.
 */
export const PREBUILT_FUNCTIONS_DIR = fileURLToPath(new URL('./functions/', import.meta.url));

/**
 * Where a Shoal function's code comes from: its prebuilt bundle when the construct runs from the
 * published package (a user's app then synthesizes without esbuild, the service's sources or its
 * dependencies), else `functions/<name>.ts` bundled by esbuild at synth.
 */
export function functionCode(
  name: string,
): Pick<
  nodejs.NodejsFunctionProps,
  'code' | 'entry' | 'handler' | 'projectRoot' | 'depsLockFilePath' | 'bundling'
> {
  const prebuilt = `${PREBUILT_FUNCTIONS_DIR}${name}`;
  if (existsSync(`${prebuilt}/index.mjs`)) {
    return { code: lambda.Code.fromAsset(prebuilt), handler: 'index.handler' };
  }
  return {
    entry: `${FUNCTIONS_DIR}${name}.ts`,
    handler: 'handler',
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
    bundling: SHOAL_BUNDLING,
  };
}

/** How the function is invoked: it decides whether a dead-letter target could ever hold anything. */
export type Invocation = 'synchronous' | 'scheduled' | 'stream' | 'custom-resource';

/** Settings of {@link ShoalFunction}. */
export interface ShoalFunctionProps {
  /** `functions/<name>.ts` exporting `handler`. */
  readonly name: string;
  readonly description: string;
  readonly invocation: Invocation;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
  /** Environment variables besides the service name. */
  readonly environment?: Record<string, string>;
  /**
   * X-Ray tracing. Lambda samples invocations that come without a trace header (schedules, streams)
   * by its own rule, which records the first one of every second: every run of a schedule, $5 a
   * million, whether or not it found work. Functions that only do background work pass through.
   * @default Tracing.PASS_THROUGH for scheduled functions (no trace of a schedule's runs), else Tracing.ACTIVE
   */
  readonly tracing?: lambda.Tracing;
  /**
   * Executions kept for this function alone, and its most at once.
   * @default none: it shares the account's unreserved concurrency
   */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * A function with its log group and role. Grant it what it needs through `role` or the usual
 * `grant*` methods; the cdk-nag acknowledgements that hold for every Shoal function are made here.
 */
export class ShoalFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ShoalFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // An explicit role keeps AWSLambdaBasicExecutionRole (log groups and streams created and written
    // anywhere in the account) off: the function may write to its own log group and nothing else.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Shoal ${props.name} function`,
    });
    this.logGroup.grantWrite(this.role);
    const tracing =
      props.tracing ??
      (props.invocation === 'scheduled' ? lambda.Tracing.PASS_THROUGH : lambda.Tracing.ACTIVE);

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      description: props.description,
      ...functionCode(props.name),
      runtime: FUNCTION_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      tracing,
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      environment: {
        ...props.environment,
        // No NODE_OPTIONS=--enable-source-maps: Node would read and parse the bundle's source map at
        // every cold start (15-30% of the import). The map ships beside the bundle and a logged or
        // thrown error's stack is mapped when it happens (shared/observability/source-maps.ts).
        [SERVICE_NAME_ENV]: deploymentNameOf(this),
      },
    });
    acknowledgeFunctionFindings(this.function, this.role, props.invocation);
    if (tracing === lambda.Tracing.PASS_THROUGH) {
      Validations.of(this.function).acknowledge({
        id: 'Serverless-LambdaTracing',
        reason:
          'Background work a schedule starts: Lambda would trace the first invocation of every second, so every ' +
          'run of the schedule ($5 a million, about $0.22 a month per minute schedule) whether or not it found work. ' +
          'Its logs and metrics report each run; tracing passes through a caller that samples.',
      });
    }
  }
}

/**
 * The name a dashboard shows for a function: the id of the {@link ShoalFunction} that holds it
 * (`ProduceRecords`, `ArchiveSegments`), else its own construct id.
 */
export function functionLabelOf(fn: IConstruct): string {
  const holder = fn.node.scope;
  return holder instanceof ShoalFunction && holder.function === fn ? holder.node.id : fn.node.id;
}

/** Why a function of each kind of invocation has no dead-letter queue of its own. */
const DEAD_LETTER_REASONS: Readonly<Record<Invocation, string>> = {
  synchronous:
    'Invoked synchronously (API Gateway): the caller receives the error and retries; Lambda never routes a ' +
    'synchronous invocation to a dead-letter queue.',
  scheduled:
    'Invoked on a schedule with an empty event: every run starts over from the stored state, so a failed ' +
    'run is repeated by the next one, and a dead-letter queue would only collect copies of an empty event.',
  stream:
    'Invoked by an event source mapping on a DynamoDB stream: Lambda never routes those invocations to the ' +
    "function's dead-letter queue; the mapping retries and sends what it finally drops to its own on-failure destination.",
  'custom-resource':
    'Invoked by CloudFormation for a custom resource: the handler answers CloudFormation itself in every case, ' +
    'failures included, and CloudFormation reports a resource whose handler never answered; a dead-letter queue ' +
    'would hold nothing anyone acts on.',
};

/**
 * The cdk-nag findings every Shoal function shares, with their reasons: the pinned runtime (both
 * packs), the X-Ray actions that have no resource (AwsSolutions-IAM5), and the dead-letter queue
 * that a synchronous or self-repeating invocation would never fill (Serverless-LambdaDLQ).
 */
export function acknowledgeFunctionFindings(
  fn: lambda.IFunction,
  role: iam.IRole,
  invocation: Invocation,
): void {
  const runtimeReason =
    `Pinned to ${FUNCTION_RUNTIME.name} on purpose: the bundle targets ${ESBUILD_TARGET}, the repository supports ` +
    'Node >= 20.19, and moving to a newer runtime is a deliberate upgrade with a test run, not a silent change.';
  Validations.of(fn).acknowledge(
    { id: 'AwsSolutions-L1', reason: runtimeReason },
    { id: 'Serverless-LambdaLatestVersion', reason: runtimeReason },
    {
      id: 'Serverless-LambdaDLQ',
      reason: DEAD_LETTER_REASONS[invocation],
    },
  );
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords, which support no ' +
      'resource-level permissions; every other statement of this role names its resources.',
  });
}

/** The context key that names a deployment (`-c shoal:deployment=orders-prod`). */
export const DEPLOYMENT_CONTEXT_KEY = 'shoal:deployment';
/** What a CloudWatch dimension value and a log field can hold without quoting. */
const DEPLOYMENT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The name of the deployment `scope` belongs to: the `service` dimension of every metric its
 * functions publish and its alarms watch, so that two deployments in one account never mix their
 * metrics. The `shoal:deployment` context value when set, else the name of the stack.
 * @throws Error when the context value is not a name of letters, digits, `.`, `_` and `-`
 */
export function deploymentNameOf(scope: IConstruct): string {
  const named: unknown = scope.node.tryGetContext(DEPLOYMENT_CONTEXT_KEY);
  if (named !== undefined) {
    if (typeof named !== 'string' || !DEPLOYMENT_NAME_PATTERN.test(named)) {
      throw new Error(
        `${DEPLOYMENT_CONTEXT_KEY} must be 1 to 128 letters, digits, '.', '_' or '-' starting with a letter or digit, got ${JSON.stringify(named)}`,
      );
    }
    return named;
  }
  const stackName = Stack.of(scope).stackName;
  return Token.isUnresolved(stackName) || !DEPLOYMENT_NAME_PATTERN.test(stackName)
    ? SERVICE_NAME_DEFAULT
    : stackName;
}

/** A function a schedule runs: its alarm expects a run every `interval` (`infra/observability.ts`). */
export interface ScheduledJob {
  readonly function: lambda.IFunction;
  readonly interval: Duration;
}

const SCHEDULED_JOBS = new WeakMap<events.Rule, ScheduledJob>();

/** The job a schedule made by {@link scheduleRuns} runs. */
export function scheduledJobOf(schedule: events.Rule): ScheduledJob {
  const job = SCHEDULED_JOBS.get(schedule);
  if (!job) throw new Error(`${schedule.node.path} was not made by scheduleRuns`);
  return job;
}

/**
 * A schedule that invokes `target` every `interval` with an empty event and no retry: each run
 * reads the state it needs, and the next run is the retry (`nextRun` says what that run is, for
 * the cdk-nag acknowledgement of having no dead-letter queue).
 */
export function scheduleRuns(
  scope: Construct,
  id: string,
  props: { description: string; target: ShoalFunction; interval: Duration; nextRun: string },
): events.Rule {
  const schedule = new events.Rule(scope, id, {
    description: props.description,
    schedule: events.Schedule.rate(props.interval),
    targets: [
      new targets.LambdaFunction(props.target.function, {
        event: events.RuleTargetInput.fromObject({}),
        retryAttempts: 0,
      }),
    ],
  });
  Validations.of(schedule).acknowledge({
    id: 'Serverless-EventBusDLQ',
    reason:
      `The target gets an empty event and is not retried: ${props.nextRun} is the retry, so a dead-letter ` +
      'queue would only collect copies of an empty event.',
  });
  SCHEDULED_JOBS.set(schedule, { function: props.target.function, interval: props.interval });
  return schedule;
}
