/**
 * The functions behind subscriptions: the dispatcher, woken by the log table's stream (INSERT
 * records, as soon as a batch is appended) and by a schedule that catches what the stream missed
 * and retries that were due; and the custom resource handler through which `ShoalEventSource`
 * creates subscriptions at deploy time.
 *
 * Nothing polls: with no appends the dispatcher runs once per `sweepInterval` (a query of the
 * subscriptions and, per subscription, its topic, group, offsets and heads), and not at all for a
 * stream that is quiet. Its runs are not traced (see `ShoalFunctionProps.tracing`).
 */
import { Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BACKGROUND_FUNCTIONS, type BackgroundFunctionName } from '../shared/background-functions.js';
import { ShoalFunction, scheduleRuns, shoalEnvironment } from './shoal-function.js';
import type { ShoalStorage } from './shoal-storage.js';

/** What `ShoalEventSource` needs of a Shoal deployment. */
export interface IShoalLog {
  /** The role of the function that invokes subscribed functions (granted invoke per subscription). */
  readonly dispatcherRole: iam.IRole;
  /** The service token of the `Custom::ShoalSubscription` resource. */
  readonly subscriptionServiceToken: string;
}

/** Settings of {@link ShoalSubscriptions}. */
export interface ShoalSubscriptionsProps {
  /** The tables and the segment bucket, in this stack or another one. */
  readonly storage: ShoalStorage;
  /**
   * How often the dispatcher sweeps every subscription for records the stream did not bring it to
   * (a lost wake-up, a batching window over 30 seconds, a subscription created over existing
   * records); EventBridge schedules are at most once a minute.
   * @default Duration.minutes(5)
   */
  readonly sweepInterval?: Duration;
  /**
   * Memory of the dispatcher, in MiB: it holds up to one read-ahead and one event (6 MB) per partition
   * it delivers at once.
   * @default 1024
   */
  readonly dispatcherMemorySize?: number;
  /**
   * Timeout of the dispatcher. A subscribed function is invoked only when its own timeout fits in
   * what remains of a run, so this must exceed the longest timeout of a subscribed function.
   * @default Duration.minutes(15)
   */
  readonly dispatcherTimeout?: Duration;
  /**
   * Retention of the two functions' log groups.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Appends wake the dispatcher within seconds and a run waits out every retry's backoff in place, so
 * the sweep only catches lost wake-ups, batching windows over 30 seconds and subscriptions created
 * over existing records; each sweep reads every subscription's heads (about 9 read units each).
 */
const SWEEP_INTERVAL_DEFAULT = Duration.minutes(5);
const SWEEP_INTERVAL_MIN = Duration.minutes(1);
const SWEEP_INTERVAL_MAX = Duration.hours(1);
const DISPATCHER_MEMORY_SIZE_DEFAULT = 1024;
const DISPATCHER_TIMEOUT_DEFAULT = Duration.minutes(15);
/** The dispatcher keeps this much of a run for releasing leases and publishing metrics. */
const DISPATCHER_TIMEOUT_MIN = Duration.minutes(1);
const RESOURCE_MEMORY_SIZE = 512;
const RESOURCE_TIMEOUT = Duration.minutes(1);
const LOG_RETENTION_DEFAULT = logs.RetentionDays.ONE_MONTH;
/** Stream records per dispatcher invocation: each only names a partition to look at. */
const STREAM_BATCH_SIZE = 1000;

/**
 * The dispatcher and the subscription resource handler, with least-privilege grants. Subscribed
 * functions are granted to the dispatcher one by one, by `ShoalEventSource` (or by hand for
 * subscriptions created through the API: `fn.grantInvoke(subscriptions.dispatcherRole)`).
 *
 * @example
 * const subscriptions = new ShoalSubscriptions(stack, 'Subscriptions', { storage });
 * fn.addEventSource(new ShoalEventSource(subscriptions, { topic: 'orders', startingPosition: lambda.StartingPosition.LATEST }));
 */
export class ShoalSubscriptions extends Construct implements IShoalLog {
  readonly dispatcher: ShoalFunction;
  readonly resourceHandler: ShoalFunction;
  /** The schedule that sweeps every subscription. */
  readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: ShoalSubscriptionsProps) {
    super(scope, id);
    validateProps(props);
    const logRetention = props.logRetention ?? LOG_RETENTION_DEFAULT;
    const environment = shoalEnvironment(props.storage);
    this.dispatcher = this.createDispatcher(props, logRetention, environment);
    this.wakeOnAppends(props.storage.logTable);
    this.schedule = scheduleRuns(this, 'SweepSchedule', {
      description: 'Sweeps every Shoal subscription for records the stream did not wake it for',
      target: this.dispatcher,
      interval: props.sweepInterval ?? SWEEP_INTERVAL_DEFAULT,
      nextRun: 'the next sweep',
    });
    this.resourceHandler = this.createResourceHandler(props, logRetention, environment);
  }

  /** The dispatcher, which reads records and writes offsets, leases and dead letters. */
  private createDispatcher(
    props: ShoalSubscriptionsProps,
    logRetention: logs.RetentionDays,
    environment: Record<string, string>,
  ): ShoalFunction {
    const { logTable, metaTable } = props.storage;
    const dispatcher = new ShoalFunction(this, 'DispatchSubscriptions', {
      name: 'dispatch-subscriptions',
      description: `Shoal dispatch-subscriptions: ${summaryOf('dispatch-subscriptions')}`,
      invocation: 'stream',
      // Woken by the schedule and by every append: traced, the sweeps alone would record every run.
      tracing: lambda.Tracing.PASS_THROUGH,
      memorySize: props.dispatcherMemorySize ?? DISPATCHER_MEMORY_SIZE_DEFAULT,
      timeout: props.dispatcherTimeout ?? DISPATCHER_TIMEOUT_DEFAULT,
      logRetention,
      environment,
    });
    const dispatcherRole = dispatcher.role;
    // Reads records (and writes dead letters, which are produce requests: batches and heads).
    logTable.grantReadWriteData(dispatcherRole);
    // Subscriptions, leases, consumer group offsets; heads and idempotency keys of dead letters.
    metaTable.grantReadWriteData(dispatcherRole);
    // Records older than the hot tier are read from segments.
    dispatcherRole.addManagedPolicy(props.storage.segmentReadPolicy);
    // Dead letters and an exactly-once subscription's outputs are appends: a batch over the inline
    // size keeps its bytes in a payload object, which the append writes first.
    dispatcherRole.addManagedPolicy(props.storage.payloadWritePolicy);

    return dispatcher;
  }

  /** Appends wake the dispatcher through the log table's stream, for the partitions they touched. */
  private wakeOnAppends(logTable: dynamodb.Table): void {
    this.dispatcher.function.addEventSource(
      new sources.DynamoEventSource(logTable, {
        // Only appends after deployment matter: the sweep covers anything older.
        startingPosition: lambda.StartingPosition.LATEST,
        batchSize: STREAM_BATCH_SIZE,
        maxBatchingWindow: Duration.seconds(0),
        // A wake-up that fails is not worth holding the stream for: the next append or sweep delivers.
        retryAttempts: 2,
        maxRecordAge: Duration.minutes(1),
        filters: [lambda.FilterCriteria.filter({ eventName: lambda.FilterRule.isEqual('INSERT') })],
      }),
    );
    Validations.of(this.dispatcher.function).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason:
        'The stream only wakes the dispatcher (it names the partitions that got appends); the records stay in the ' +
        'log, and the scheduled sweep delivers whatever a dropped wake-up would have, so an on-failure destination ' +
        'would hold nothing to act on.',
    });
  }

  /** The handler of the `Custom::ShoalSubscription` resources that ShoalEventSource declares. */
  private createResourceHandler(
    props: ShoalSubscriptionsProps,
    logRetention: logs.RetentionDays,
    environment: Record<string, string>,
  ): ShoalFunction {
    const { logTable, metaTable } = props.storage;
    const resourceHandler = new ShoalFunction(this, 'SubscriptionResource', {
      name: 'subscription-resource',
      description: `Shoal subscription-resource: ${summaryOf('subscription-resource')}`,
      invocation: 'custom-resource',
      memorySize: RESOURCE_MEMORY_SIZE,
      timeout: RESOURCE_TIMEOUT,
      logRetention,
      environment,
    });
    // What the subscriptions API does: subscriptions and consumer groups in the meta table; starting
    // AT_TIMESTAMP reads the log, which may reach segments.
    logTable.grantReadData(resourceHandler.role);
    metaTable.grantReadWriteData(resourceHandler.role);
    resourceHandler.role.addManagedPolicy(props.storage.segmentReadPolicy);
    return resourceHandler;
  }

  get dispatcherRole(): iam.IRole {
    return this.dispatcher.role;
  }

  get subscriptionServiceToken(): string {
    return this.resourceHandler.function.functionArn;
  }
}

function summaryOf(name: BackgroundFunctionName): string {
  return BACKGROUND_FUNCTIONS.find((candidate) => candidate.name === name)?.summary ?? name;
}

function validateProps(props: ShoalSubscriptionsProps): void {
  const { sweepInterval, dispatcherMemorySize, dispatcherTimeout } = props;
  if (sweepInterval !== undefined && !sweepInterval.isUnresolved()) {
    const ms = sweepInterval.toMilliseconds();
    if (
      ms < SWEEP_INTERVAL_MIN.toMilliseconds() ||
      ms > SWEEP_INTERVAL_MAX.toMilliseconds() ||
      ms % 60_000 !== 0
    ) {
      throw new Error(
        `sweepInterval must be a whole number of minutes from ${SWEEP_INTERVAL_MIN.toHumanString()} to ` +
          `${SWEEP_INTERVAL_MAX.toHumanString()}, got ${sweepInterval.toHumanString()}`,
      );
    }
  }
  if (
    dispatcherMemorySize !== undefined &&
    !(Number.isInteger(dispatcherMemorySize) && dispatcherMemorySize >= 256 && dispatcherMemorySize <= 10_240)
  ) {
    throw new Error(
      `dispatcherMemorySize must be a whole number of MiB from 256 to 10240, got ${dispatcherMemorySize}`,
    );
  }
  if (dispatcherTimeout !== undefined && !dispatcherTimeout.isUnresolved()) {
    const ms = dispatcherTimeout.toMilliseconds();
    if (ms < DISPATCHER_TIMEOUT_MIN.toMilliseconds() || ms > Duration.minutes(15).toMilliseconds()) {
      throw new Error(
        `dispatcherTimeout must be from ${DISPATCHER_TIMEOUT_MIN.toHumanString()} to 15 minutes, got ${dispatcherTimeout.toHumanString()}`,
      );
    }
  }
}
