/**
 * `ShoalOutbox`: relays the outbox items of a service's own DynamoDB table to a Shoal topic, each
 * stream record appended exactly once. The service writes its state and an outbox item in one
 * `TransactWriteItems`; the table's stream brings the item to the relay function, which appends it
 * under the Idempotency-Key of its stream record, keyed by the entity so one entity's events keep
 * their order (`shared/domain/outbox-relay.ts`).
 *
 * @example
 * const orders = new dynamodb.Table(this, 'Orders', {
 *   partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
 *   sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
 *   stream: dynamodb.StreamViewType.NEW_IMAGE,
 * });
 * new ShoalOutbox(this, 'OrdersOutbox', {
 *   storage: shoal.storage,
 *   table: orders,
 *   topic: 'order-events',
 *   keyAttribute: 'orderId',
 *   valueAttribute: 'event',
 * });
 */
import { Duration, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../shared/config.js';
import { ShoalFunction, shoalEnvironment } from './shoal-function.js';
import type { ShoalStorage } from './shoal-storage.js';

/** Settings of {@link ShoalOutbox}. */
export interface ShoalOutboxProps {
  /** The tables and segment bucket of the Shoal deployment the topic lives in. */
  readonly storage: ShoalStorage;
  /**
   * The service's table. Its stream must show new images (`NEW_IMAGE` or `NEW_AND_OLD_IMAGES`); an
   * imported table must be given with its `tableStreamArn`.
   */
  readonly table: dynamodb.ITable;
  /** The topic the outbox events are appended to; create it before the relay runs. */
  readonly topic: string;
  /**
   * The attribute (string, number or binary) whose value keys each record: the entity the event is
   * about. Its events land in one partition in the order they were written, provided they share the
   * table's partition key (a stream keeps order within a table partition).
   */
  readonly keyAttribute: string;
  /**
   * The attribute holding the event: a map or list is appended as JSON, a binary as BINARY, a
   * string as {@link stringValueType}. Items without it (the service's own state) are not relayed.
   */
  readonly valueAttribute: string;
  /**
   * How a string event is typed in the topic: JSON text (checked), or plain text.
   * @default 'JSON'
   */
  readonly stringValueType?: 'JSON' | 'STRING';
  /**
   * Where in the stream the relay begins when it is created.
   * @default lambda.StartingPosition.TRIM_HORIZON: every outbox item the stream still holds
   */
  readonly startingPosition?: lambda.StartingPosition;
  /**
   * Stream records per invocation (1 to 10000). Each outbox item is one produce request.
   * @default 100
   */
  readonly batchSize?: number;
  /**
   * How long to gather records before invoking (at most 5 minutes).
   * @default Duration.seconds(0)
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Retries of a batch that failed (0 to 10000); -1 retries until {@link maxRecordAge}. Retries
   * append nothing twice; a record given up is noted in {@link failureQueue} (its shard and sequence
   * numbers, not its content) and skipped.
   * @default -1
   */
  readonly retryAttempts?: number;
  /**
   * Records older than this (60 seconds to 7 days) are given up. The default leaves the stream's
   * other 12 hours to replay them by hand after the failure queue's notice.
   * @default Duration.hours(12)
   */
  readonly maxRecordAge?: Duration;
  /**
   * Memory of the relay function, in MiB (128 to 10240).
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Timeout of the relay function (at most 15 minutes).
   * @default Duration.minutes(1)
   */
  readonly timeout?: Duration;
  /**
   * Retention of the relay's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Where {@link ShoalOutbox.failureAlarm} notifies, e.g. `new cloudwatch_actions.SnsAction(topic)`
   * (the deployment's on-call topic). Without actions the alarm still changes state.
   * @default no actions
   */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
}

const BATCH_SIZE_DEFAULT = 100;
const BATCH_SIZE_MAX = 10_000;
const RETRY_ATTEMPTS_MAX = 10_000;
const MAX_RECORD_AGE_DEFAULT = Duration.hours(12);
const MEMORY_SIZE_DEFAULT = 512;
const TIMEOUT_DEFAULT = Duration.minutes(1);
const FAILURE_NOTICE_RETENTION = Duration.days(14);
/** Kafka's topic names, as the topics API checks them. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/**
 * The relay function, its event source mapping on the table's stream (INSERT records only, bisect
 * on error, ReportBatchItemFailures, one batch per shard at a time so order holds) and the queue
 * that notes what it gave up. The function may read the table's stream, produce to Shoal, and
 * nothing else.
 */
export class ShoalOutbox extends Construct {
  readonly relay: ShoalFunction;
  /** Notices of stream records given up (after retries or past the record age). */
  readonly failureQueue: sqs.Queue;
  /**
   * Fires while {@link failureQueue} holds a notice: an outbox event the relay gave up on is not in
   * the topic, and only a person can replay it (the notice names its shard and sequence numbers).
   */
  readonly failureAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ShoalOutboxProps) {
    super(scope, id);
    validateProps(props);
    const { storage } = props;
    this.relay = new ShoalFunction(this, 'RelayOutbox', {
      name: 'relay-outbox',
      description: `Shoal relay-outbox: the outbox items of a table to the topic ${props.topic}, each once`,
      invocation: 'stream',
      memorySize: props.memorySize ?? MEMORY_SIZE_DEFAULT,
      timeout: props.timeout ?? TIMEOUT_DEFAULT,
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      environment: {
        ...shoalEnvironment(storage),
        [ENV.outboxTopic]: props.topic,
        [ENV.outboxKeyAttribute]: props.keyAttribute,
        [ENV.outboxValueAttribute]: props.valueAttribute,
        [ENV.outboxStringValueType]: props.stringValueType ?? 'JSON',
      },
    });
    // What a produce does (as the produce function's grants): heads, idempotency keys and the topic
    // in the meta table, batches in the log table, and payload objects of records over the inline size.
    storage.logTable.grantReadWriteData(this.relay.role);
    storage.metaTable.grantReadWriteData(this.relay.role);
    this.relay.role.addManagedPolicy(storage.payloadWritePolicy);

    this.failureQueue = new sqs.Queue(this, 'RelayFailures', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: FAILURE_NOTICE_RETENTION,
    });
    const noDeadLetterQueue =
      "This queue is itself the on-failure destination of the relay's stream event source: a notice that " +
      'cannot be read is not retried anywhere, so a dead-letter queue behind it would never receive anything.';
    Validations.of(this.failureQueue).acknowledge(
      { id: 'AwsSolutions-SQS3', reason: noDeadLetterQueue },
      { id: 'Serverless-SQSRedrivePolicy', reason: noDeadLetterQueue },
    );

    // The mapping grants the function the stream's reads (and nothing else of the table).
    this.relay.function.addEventSource(
      new sources.DynamoEventSource(props.table, {
        startingPosition: props.startingPosition ?? lambda.StartingPosition.TRIM_HORIZON,
        batchSize: props.batchSize ?? BATCH_SIZE_DEFAULT,
        maxBatchingWindow: props.maxBatchingWindow ?? Duration.seconds(0),
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        retryAttempts: props.retryAttempts ?? -1,
        maxRecordAge: props.maxRecordAge ?? MAX_RECORD_AGE_DEFAULT,
        // More than one batch per shard at a time keeps order per item only, and each outbox event is
        // an item of its own: the events of one entity would overtake each other.
        parallelizationFactor: 1,
        onFailure: new sources.SqsDlq(this.failureQueue),
        filters: [lambda.FilterCriteria.filter({ eventName: lambda.FilterRule.isEqual('INSERT') })],
      }),
    );
    this.failureAlarm = new cloudwatch.Alarm(this, 'RelayFailuresAlarm', {
      alarmDescription:
        `The outbox relay to ${props.topic} gave up on a stream record (after its retries or past its record ` +
        'age): that outbox event is not in the topic. The notice in the failure queue names the shard and ' +
        "sequence numbers; the relay's log has the error.",
      metric: this.failureQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // An empty queue publishes zeros; no data at all is no queue to worry about.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const action of props.alarmActions ?? []) this.failureAlarm.addAlarmAction(action);
  }
}

/** @throws Error naming each bad prop with the value it was given. */
function validateProps(props: ShoalOutboxProps): void {
  const problems: string[] = [];
  const { topic, keyAttribute, valueAttribute, batchSize, retryAttempts, maxRecordAge, memorySize, timeout } =
    props;
  if (!Token.isUnresolved(topic) && !TOPIC_NAME.test(topic)) {
    problems.push(
      `topic must be a topic name ([a-zA-Z0-9._-], 1 to 249 characters), got ${JSON.stringify(topic)}`,
    );
  }
  for (const [name, value] of [
    ['keyAttribute', keyAttribute],
    ['valueAttribute', valueAttribute],
  ] as const) {
    if (!Token.isUnresolved(value) && (value.length === 0 || value.length > 255)) {
      problems.push(`${name} must be an attribute name of 1 to 255 characters, got ${JSON.stringify(value)}`);
    }
  }
  if (batchSize !== undefined && !Token.isUnresolved(batchSize) && !isWithin(batchSize, 1, BATCH_SIZE_MAX)) {
    problems.push(`batchSize must be a whole number from 1 to ${BATCH_SIZE_MAX}, got ${batchSize}`);
  }
  if (
    retryAttempts !== undefined &&
    !Token.isUnresolved(retryAttempts) &&
    !isWithin(retryAttempts, -1, RETRY_ATTEMPTS_MAX)
  ) {
    problems.push(
      `retryAttempts must be -1 or a whole number from 0 to ${RETRY_ATTEMPTS_MAX}, got ${retryAttempts}`,
    );
  }
  if (maxRecordAge !== undefined && !maxRecordAge.isUnresolved()) {
    const seconds = maxRecordAge.toSeconds({ integral: false });
    if (seconds < 60 || seconds > Duration.days(7).toSeconds()) {
      problems.push(`maxRecordAge must be from 60 seconds to 7 days, got ${maxRecordAge.toHumanString()}`);
    }
  }
  if (memorySize !== undefined && !Token.isUnresolved(memorySize) && !isWithin(memorySize, 128, 10_240)) {
    problems.push(`memorySize must be a whole number of MiB from 128 to 10240, got ${memorySize}`);
  }
  if (
    timeout !== undefined &&
    !timeout.isUnresolved() &&
    timeout.toMilliseconds() > Duration.minutes(15).toMilliseconds()
  ) {
    problems.push(`timeout must be at most 15 minutes, got ${timeout.toHumanString()}`);
  }
  problems.push(...streamProblems(props.table));
  if (problems.length > 0) throw new Error(`ShoalOutbox: ${problems.join('; ')}`);
}

/** What is wrong with the table's stream, as far as synth can tell (an imported table: only that it has one). */
function streamProblems(table: dynamodb.ITable): string[] {
  if (table.tableStreamArn === undefined) {
    return [`table ${table.node.path} has no stream: give it stream: StreamViewType.NEW_IMAGE`];
  }
  const cfn = table.node.defaultChild;
  if (!(cfn instanceof dynamodb.CfnTable || cfn instanceof dynamodb.CfnGlobalTable)) return [];
  const specification = cfn.streamSpecification as { streamViewType?: string } | undefined;
  const viewType = specification?.streamViewType;
  if (viewType === undefined || Token.isUnresolved(viewType)) return [];
  if (viewType === 'NEW_IMAGE' || viewType === 'NEW_AND_OLD_IMAGES') return [];
  return [
    `table ${table.node.path} streams ${viewType}: the relay reads new images (NEW_IMAGE or NEW_AND_OLD_IMAGES)`,
  ];
}

function isWithin(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}
