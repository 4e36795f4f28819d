/**
 * The functions of tiered storage: the archiver and the reaper of deleted topics on schedules, and
 * the TTL rescue on the log table's stream (the functions of `shared/background-functions.ts`).
 * Each gets exactly the access its code uses: the archiver reads the log table and never writes it,
 * writes the meta table (manifest and partition heads) and owns `segments/`; the rescue only reads
 * partition heads and writes `rescue/`; the reaper queries and deletes items and lists and deletes
 * objects, and reads no record.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BACKGROUND_FUNCTIONS, type BackgroundFunctionName } from '../shared/background-functions.js';
import { ShoalFunction, scheduleRuns, shoalEnvironment } from './shoal-function.js';
import type { ShoalStorage } from './shoal-storage.js';

/** Settings of {@link ShoalTieredStorage}. */
export interface ShoalTieredStorageProps {
  /** The tables and the segment bucket, in this stack or another one. */
  readonly storage: ShoalStorage;
  /**
   * How often the archiver runs. Runs may overlap (two archivers never record overlapping
   * segments), so this bounds only how late a segment rolls after `segmentMs`.
   * @default Duration.minutes(1)
   */
  readonly archiveInterval?: Duration;
  /**
   * Memory of the archiver, in MiB: it assembles one segment (a topic's `segmentBytes`, at most
   * 256 MiB) in memory, and CPU comes in proportion.
   * @default 2048
   */
  readonly archiverMemorySize?: number;
  /**
   * Timeout of the archiver. A run starts no partition after 60 seconds; the rest covers the
   * partitions in progress.
   * @default Duration.minutes(5)
   */
  readonly archiverTimeout?: Duration;
  /**
   * How often the reaper of deleted topics runs; each run removes at most 20,000 items and objects
   * and the next goes on, so this bounds how long a deleted topic's storage is still paid for.
   * @default Duration.hours(1)
   */
  readonly reapInterval?: Duration;
  /**
   * Retention of the functions' log groups.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

const ARCHIVE_INTERVAL_DEFAULT = Duration.minutes(1);
const ARCHIVER_MEMORY_SIZE_DEFAULT = 2048;
const ARCHIVER_TIMEOUT_DEFAULT = Duration.minutes(5);
const RESCUE_MEMORY_SIZE = 512;
/** How long the rescue retries a TTL removal: half the stream's 24 hours (see `followTtlRemovals`). */
const RESCUE_RECORD_AGE_MAX = Duration.hours(12);
const REAP_INTERVAL_DEFAULT = Duration.hours(1);
/** The reaper holds one page of keys at a time. */
const REAPER_MEMORY_SIZE = 512;
/** A run starts no step after 60 s (the reaper's `runMsMax`); a step is one page of deletions. */
const REAPER_TIMEOUT = Duration.minutes(3);
const RESCUE_TIMEOUT = Duration.minutes(1);
const LOG_RETENTION_DEFAULT = logs.RetentionDays.ONE_MONTH;
/** A run must start no partition later than this after it starts (the archiver's `runMsMax`). */
const ARCHIVER_RUN_MAX = Duration.seconds(60);
/** EventBridge schedules are at most once a minute; a day between runs would let batches pile up. */
const ARCHIVE_INTERVAL_MIN = Duration.minutes(1);
const ARCHIVE_INTERVAL_MAX = Duration.hours(1);
/** Records handed to one rescue invocation. */
const RESCUE_BATCH_SIZE = 100;
/** How long the rescue's failure queue keeps a notice of a batch that could not be rescued (SQS's maximum). */
const FAILURE_NOTICE_RETENTION = Duration.days(14);

/**
 * The archiver (scheduled) and the TTL rescue (the log table's stream, filtered to deletions by
 * TTL), with least-privilege grants.
 *
 * @example
 * new ShoalTieredStorage(stack, 'TieredStorage', { storage, archiveInterval: Duration.minutes(5) });
 */
export class ShoalTieredStorage extends Construct {
  readonly archiver: ShoalFunction;
  readonly rescuer: ShoalFunction;
  /** The schedule that invokes the archiver. */
  readonly schedule: events.Rule;
  /** Removes what deleted topics left behind, on {@link reapSchedule}. */
  readonly reaper: ShoalFunction;
  readonly reapSchedule: events.Rule;
  /**
   * Receives a notice (shard and sequence numbers, not the records) of every stream batch the
   * rescue could not handle before the stream dropped it: each one is an incident to investigate.
   */
  readonly rescueFailures: sqs.Queue;

  constructor(scope: Construct, id: string, props: ShoalTieredStorageProps) {
    super(scope, id);
    validateProps(props);
    const logRetention = props.logRetention ?? LOG_RETENTION_DEFAULT;
    const environment = shoalEnvironment(props.storage);
    this.archiver = this.createArchiver(props, logRetention, environment);
    this.schedule = scheduleRuns(this, 'ArchiveSchedule', {
      description: 'Runs the Shoal archiver',
      target: this.archiver,
      interval: props.archiveInterval ?? ARCHIVE_INTERVAL_DEFAULT,
      nextRun: 'the next scheduled run',
    });
    this.reaper = this.createReaper(props, logRetention, environment);
    this.reapSchedule = scheduleRuns(this, 'ReapSchedule', {
      description: 'Runs the reaper of deleted Shoal topics',
      target: this.reaper,
      interval: props.reapInterval ?? REAP_INTERVAL_DEFAULT,
      nextRun: 'the next scheduled run',
    });
    this.rescuer = this.createRescuer(props, logRetention, environment);
    this.rescueFailures = this.createRescueFailures();
    this.followTtlRemovals(props.storage.logTable);
  }

  /** The archiver, with read access to batches and write access to heads, manifest and segments. */
  private createArchiver(
    props: ShoalTieredStorageProps,
    logRetention: logs.RetentionDays,
    environment: Record<string, string>,
  ): ShoalFunction {
    const { logTable, metaTable } = props.storage;
    const archiver = new ShoalFunction(this, 'ArchiveSegments', {
      name: 'archive-segments',
      description: `Shoal archive-segments: ${summaryOf('archive-segments')}`,
      invocation: 'scheduled',
      memorySize: props.archiverMemorySize ?? ARCHIVER_MEMORY_SIZE_DEFAULT,
      timeout: props.archiverTimeout ?? ARCHIVER_TIMEOUT_DEFAULT,
      logRetention,
      environment,
    });
    const archiverRole = archiver.role;
    // Reads batches (and partition heads through the log's read path); never writes a batch.
    logTable.grantReadData(archiverRole);
    // Partition heads (archivedOffset, logStartOffset) and manifest entries.
    metaTable.grantReadWriteData(archiverRole);
    // Writes, tags and deletes segments; reads, lists and deletes rescued batches.
    archiverRole.addManagedPolicy(props.storage.segmentArchivePolicy);

    return archiver;
  }

  /**
   * The reaper: it queries and deletes batch items, manifest entries, committed offsets and the
   * deleted-topics list, and lists and deletes objects; it reads no record and writes nothing else.
   */
  private createReaper(
    props: ShoalTieredStorageProps,
    logRetention: logs.RetentionDays,
    environment: Record<string, string>,
  ): ShoalFunction {
    const { logTable, metaTable } = props.storage;
    const reaper = new ShoalFunction(this, 'ReapTopics', {
      name: 'reap-topics',
      description: `Shoal reap-topics: ${summaryOf('reap-topics')}`,
      invocation: 'scheduled',
      memorySize: REAPER_MEMORY_SIZE,
      timeout: REAPER_TIMEOUT,
      logRetention,
      environment,
    });
    logTable.grant(reaper.role, 'dynamodb:Query', 'dynamodb:BatchWriteItem');
    metaTable.grant(reaper.role, 'dynamodb:Query', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem');
    reaper.role.addManagedPolicy(props.storage.topicReapPolicy);
    return reaper;
  }

  /** The TTL rescue, which reads heads and stores batches under rescue/ only. */
  private createRescuer(
    props: ShoalTieredStorageProps,
    logRetention: logs.RetentionDays,
    environment: Record<string, string>,
  ): ShoalFunction {
    const { metaTable } = props.storage;
    const rescuer = new ShoalFunction(this, 'RescueBatches', {
      name: 'rescue-batches',
      description: `Shoal rescue-batches: ${summaryOf('rescue-batches')}`,
      invocation: 'stream',
      memorySize: RESCUE_MEMORY_SIZE,
      timeout: RESCUE_TIMEOUT,
      logRetention,
      environment,
    });
    // Reads archivedOffset from partition heads; stores batches under rescue/ and nothing else.
    metaTable.grantReadData(rescuer.role);
    rescuer.role.addManagedPolicy(props.storage.segmentRescuePolicy);

    return rescuer;
  }

  /** Where the rescue's stream source sends notices of batches it could not handle. */
  private createRescueFailures(): sqs.Queue {
    const rescueFailures = new sqs.Queue(this, 'RescueFailures', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: FAILURE_NOTICE_RETENTION,
    });
    const noDeadLetterQueue =
      "This queue is itself the on-failure destination of the rescue's stream event source: a notice that " +
      'cannot be read is not retried anywhere, so a dead-letter queue behind it would never receive anything.';
    Validations.of(rescueFailures).acknowledge(
      { id: 'AwsSolutions-SQS3', reason: noDeadLetterQueue },
      { id: 'Serverless-SQSRedrivePolicy', reason: noDeadLetterQueue },
    );

    return rescueFailures;
  }

  /** The rescue follows the log table's stream, filtered to the removals DynamoDB's TTL made. */
  private followTtlRemovals(logTable: dynamodb.Table): void {
    this.rescuer.function.addEventSource(
      new sources.DynamoEventSource(logTable, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: RESCUE_BATCH_SIZE,
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        // Retried for 12 hours (RESCUE_RECORD_AGE_MAX), then noted in the failure queue, whose alarm fires
        // while the stream still holds the records 12 more hours to replay them; a record that keeps
        // failing no longer holds up the rescue of the rest of its shard until the stream drops it.
        retryAttempts: -1,
        maxRecordAge: RESCUE_RECORD_AGE_MAX,
        onFailure: new sources.SqsDlq(this.rescueFailures),
        filters: [
          lambda.FilterCriteria.filter({
            eventName: lambda.FilterRule.isEqual('REMOVE'),
            userIdentity: {
              type: lambda.FilterRule.isEqual('Service'),
              principalId: lambda.FilterRule.isEqual('dynamodb.amazonaws.com'),
            },
          }),
        ],
      }),
    );
  }

  /** The functions by name. */
  get functions(): Readonly<
    Record<
      Extract<BackgroundFunctionName, 'archive-segments' | 'rescue-batches' | 'reap-topics'>,
      ShoalFunction
    >
  > {
    return { 'archive-segments': this.archiver, 'rescue-batches': this.rescuer, 'reap-topics': this.reaper };
  }
}

function summaryOf(name: BackgroundFunctionName): string {
  return BACKGROUND_FUNCTIONS.find((candidate) => candidate.name === name)?.summary ?? name;
}

function validateProps(props: ShoalTieredStorageProps): void {
  const { archiveInterval, archiverMemorySize, archiverTimeout } = props;
  if (archiveInterval !== undefined && !archiveInterval.isUnresolved()) {
    const ms = archiveInterval.toMilliseconds();
    if (
      ms < ARCHIVE_INTERVAL_MIN.toMilliseconds() ||
      ms > ARCHIVE_INTERVAL_MAX.toMilliseconds() ||
      ms % 60_000 !== 0
    ) {
      throw new Error(
        `archiveInterval must be a whole number of minutes from ${ARCHIVE_INTERVAL_MIN.toHumanString()} to ` +
          `${ARCHIVE_INTERVAL_MAX.toHumanString()}, got ${archiveInterval.toHumanString()}`,
      );
    }
  }
  if (
    archiverMemorySize !== undefined &&
    !(Number.isInteger(archiverMemorySize) && archiverMemorySize >= 512 && archiverMemorySize <= 10_240)
  ) {
    throw new Error(
      `archiverMemorySize must be a whole number of MiB from 512 to 10240, got ${archiverMemorySize}`,
    );
  }
  if (archiverTimeout !== undefined && !archiverTimeout.isUnresolved()) {
    const ms = archiverTimeout.toMilliseconds();
    if (ms < 2 * ARCHIVER_RUN_MAX.toMilliseconds() || ms > Duration.minutes(15).toMilliseconds()) {
      throw new Error(
        `archiverTimeout must be from ${Duration.seconds(2 * ARCHIVER_RUN_MAX.toSeconds()).toHumanString()} ` +
          `(a run starts partitions for up to ${ARCHIVER_RUN_MAX.toHumanString()}) to 15 minutes, got ${archiverTimeout.toHumanString()}`,
      );
    }
  }
}
