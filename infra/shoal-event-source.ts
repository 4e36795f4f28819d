/**
 * `ShoalEventSource`: a Shoal topic as the event source of a Lambda function, with the prop names of
 * `aws-lambda-event-sources`' Kafka sources. Binding it declares the subscription as a
 * `Custom::ShoalSubscription` resource (created, updated and deleted with the stack) and lets the
 * Shoal dispatcher invoke that function, and only that function.
 *
 * @example
 * fn.addEventSource(
 *   new ShoalEventSource(shoal.subscriptions, {
 *     topic: 'orders',
 *     startingPosition: lambda.StartingPosition.TRIM_HORIZON,
 *     batchSize: 500,
 *     bisectBatchOnError: true,
 *     onFailure: { topic: 'orders-dlq' },
 *   }),
 * );
 */
import { CustomResource, type Duration, Names, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { compileFilters } from '../shared/domain/event-filter.js';
import { SUBSCRIPTION_LIMITS } from '../shared/domain/subscription.js';
import type { IShoalLog } from './shoal-subscriptions.js';

/** Settings of {@link ShoalEventSource}: Lambda's Kafka event source props, for a Shoal topic. */
export interface ShoalEventSourceProps {
  /** The topic to subscribe to. */
  readonly topic: string;
  /** Where to begin in partitions the consumer group has no committed offset for. */
  readonly startingPosition: lambda.StartingPosition;
  /**
   * With `StartingPosition.AT_TIMESTAMP`: the time from which to start reading, in Unix time seconds.
   * @default - no timestamp
   */
  readonly startingPositionTimestamp?: number;
  /**
   * The most records in one invocation (1 to 10000).
   * @default 100
   */
  readonly batchSize?: number;
  /**
   * How long to gather records before invoking (at most 5 minutes).
   * @default Duration.millis(500)
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Whether the subscription delivers.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * If the function returns an error, split the batch in two and retry.
   * @default false
   */
  readonly bisectBatchOnError?: boolean;
  /**
   * Records older than this (60 seconds to 7 days) are dead-lettered instead of delivered.
   * @default - no limit
   */
  readonly maxRecordAge?: Duration;
  /**
   * Retries of a failing batch before its records are dead-lettered (0 to 10000); -1 retries forever.
   * @default 10
   */
  readonly retryAttempts?: number;
  /**
   * Read `batchItemFailures` from the function's answer.
   * @default false
   */
  readonly reportBatchItemFailures?: boolean;
  /**
   * The Shoal topic that receives records given up on, with headers saying why.
   * @default - such records are discarded, as Lambda does without an on-failure destination
   */
  readonly onFailure?: { readonly topic: string };
  /**
   * Filters on the record value, made with `lambda.FilterCriteria.filter({ value: ... })` (at most 5).
   * @default - every record is delivered
   */
  // biome-ignore lint/suspicious/noExplicitAny: the type lambda.FilterCriteria.filter() returns in aws-cdk-lib
  readonly filters?: Array<{ [key: string]: any }>;
  /**
   * The consumer group that holds the subscription's position; kept when the subscription is deleted.
   * @default - a group named after the subscription, deleted with it
   */
  readonly consumerGroupId?: string;
  /**
   * The subscription's name.
   * @default - a name unique to this event source in the app
   */
  readonly subscriptionName?: string;
}

const NAME_PATTERN = /^[a-zA-Z0-9._-]+$/;

/**
 * A Shoal topic as a Lambda event source. Validates its props when constructed (synth time), with
 * messages that show the bad value.
 */
export class ShoalEventSource implements lambda.IEventSource {
  private boundName: string | undefined;

  constructor(
    private readonly log: IShoalLog,
    private readonly props: ShoalEventSourceProps,
  ) {
    validateProps(props);
  }

  /** The subscription's name, once bound to a function. */
  get subscriptionName(): string {
    if (this.boundName === undefined) throw new Error('ShoalEventSource is not bound to a function yet');
    return this.boundName;
  }

  bind(target: lambda.IFunction): void {
    const scope = target as unknown as Construct;
    let index = 0;
    while (scope.node.tryFindChild(`ShoalEventSource${index === 0 ? '' : index}`)) index++;
    const container = new Construct(scope, `ShoalEventSource${index === 0 ? '' : index}`);
    const name =
      this.props.subscriptionName ?? Names.uniqueResourceName(container, { maxLength: 200, separator: '-' });
    this.boundName = name;

    // In the function's stack, attached to the dispatcher's role: the Shoal stack never refers to
    // the function, so functions in other stacks add no dependency cycle.
    const invoke = new iam.Policy(container, 'InvokePolicy', {
      statements: [
        new iam.PolicyStatement({
          actions: ['lambda:InvokeFunction', 'lambda:GetFunctionConfiguration'],
          resources: [target.functionArn],
        }),
      ],
      roles: [this.log.dispatcherRole],
    });
    const subscription = new CustomResource(container, 'Subscription', {
      serviceToken: this.log.subscriptionServiceToken,
      resourceType: 'Custom::ShoalSubscription',
      properties: { Subscription: Stack.of(container).toJsonString(this.requestFor(name, target)) },
    });
    // The dispatcher may invoke the function before the subscription exists, never after.
    subscription.node.addDependency(invoke);
  }

  /** The subscriptions API's create request. */
  private requestFor(name: string, target: lambda.IFunction): Record<string, unknown> {
    const props = this.props;
    const request: Record<string, unknown> = {
      name,
      topic: props.topic,
      target: { functionArn: target.functionArn },
      startingPosition: props.startingPosition,
      startingPositionTimestamp:
        props.startingPositionTimestamp === undefined
          ? undefined
          : Math.round(props.startingPositionTimestamp * 1000),
      batchSize: props.batchSize,
      maxBatchingWindowMs: props.maxBatchingWindow?.toMilliseconds(),
      retryAttempts: props.retryAttempts,
      maxRecordAgeMs: props.maxRecordAge?.toMilliseconds(),
      bisectBatchOnError: props.bisectBatchOnError,
      reportBatchItemFailures: props.reportBatchItemFailures,
      onFailure: props.onFailure ? { topic: props.onFailure.topic } : undefined,
      filters: props.filters?.map((filter) => ({ pattern: filter.pattern })),
      enabled: props.enabled,
      consumerGroupId: props.consumerGroupId,
    };
    return Object.fromEntries(Object.entries(request).filter(([, value]) => value !== undefined));
  }
}

function resolved(value: unknown): boolean {
  return !Token.isUnresolved(value);
}

function validateProps(props: ShoalEventSourceProps): void {
  const fail = (message: string): never => {
    throw new Error(`ShoalEventSource: ${message}`);
  };
  const checkName = (field: string, name: string, lengthMax: number) => {
    if (resolved(name) && (name.length === 0 || name.length > lengthMax || !NAME_PATTERN.test(name))) {
      fail(`${field} must be 1 to ${lengthMax} ASCII letters, digits, '.', '_' or '-', got "${name}"`);
    }
  };
  checkName('topic', props.topic, 249);
  if (props.consumerGroupId !== undefined) checkName('consumerGroupId', props.consumerGroupId, 249);
  if (props.subscriptionName !== undefined)
    checkName('subscriptionName', props.subscriptionName, SUBSCRIPTION_LIMITS.nameLengthMax);
  if (props.onFailure !== undefined) {
    checkName('onFailure.topic', props.onFailure.topic, 249);
    if (resolved(props.topic) && props.onFailure.topic === props.topic) {
      fail(`onFailure.topic must differ from topic "${props.topic}": dead letters would be delivered again`);
    }
  }
  const atTimestamp = props.startingPosition === lambda.StartingPosition.AT_TIMESTAMP;
  if (atTimestamp && props.startingPositionTimestamp === undefined) {
    fail('startingPositionTimestamp must be given when startingPosition is AT_TIMESTAMP');
  }
  if (!atTimestamp && props.startingPositionTimestamp !== undefined) {
    fail(`startingPositionTimestamp can only be used with AT_TIMESTAMP, not ${props.startingPosition}`);
  }
  const timestamp = props.startingPositionTimestamp;
  if (
    timestamp !== undefined &&
    resolved(timestamp) &&
    !(Number.isFinite(timestamp) && timestamp >= 0 && timestamp < 253_402_300_800)
  ) {
    fail(`startingPositionTimestamp is Unix time in seconds, got ${timestamp}`);
  }
  const { batchSize, retryAttempts } = props;
  if (
    batchSize !== undefined &&
    resolved(batchSize) &&
    !(
      Number.isInteger(batchSize) &&
      batchSize >= SUBSCRIPTION_LIMITS.batchSizeMin &&
      batchSize <= SUBSCRIPTION_LIMITS.batchSizeMax
    )
  ) {
    fail(`batchSize must be a whole number from 1 to ${SUBSCRIPTION_LIMITS.batchSizeMax}, got ${batchSize}`);
  }
  if (
    retryAttempts !== undefined &&
    resolved(retryAttempts) &&
    !(
      retryAttempts === -1 ||
      (Number.isInteger(retryAttempts) &&
        retryAttempts >= 0 &&
        retryAttempts <= SUBSCRIPTION_LIMITS.retryAttemptsMax)
    )
  ) {
    fail(
      `retryAttempts must be -1 (forever) or a whole number from 0 to ${SUBSCRIPTION_LIMITS.retryAttemptsMax}, got ${retryAttempts}`,
    );
  }
  const window = props.maxBatchingWindow;
  if (
    window !== undefined &&
    !window.isUnresolved() &&
    window.toMilliseconds() > SUBSCRIPTION_LIMITS.maxBatchingWindowMsMax
  ) {
    fail(`maxBatchingWindow must be at most 5 minutes, got ${window.toHumanString()}`);
  }
  const age = props.maxRecordAge;
  if (
    age !== undefined &&
    !age.isUnresolved() &&
    (age.toMilliseconds() < SUBSCRIPTION_LIMITS.maxRecordAgeMsMin ||
      age.toMilliseconds() > SUBSCRIPTION_LIMITS.maxRecordAgeMsMax)
  ) {
    fail(`maxRecordAge must be from 60 seconds to 7 days, got ${age.toHumanString()}`);
  }
  const filters = props.filters ?? [];
  if (filters.length > SUBSCRIPTION_LIMITS.filtersMax) {
    fail(`filters takes at most ${SUBSCRIPTION_LIMITS.filtersMax} filters, got ${filters.length}`);
  }
  const patterns = filters.map((filter, index) => {
    const pattern = filter.pattern;
    if (typeof pattern !== 'string') {
      return fail(
        `filters[${index}] must be made with lambda.FilterCriteria.filter({ value: ... }), got ${JSON.stringify(filter)}`,
      );
    }
    return pattern;
  });
  try {
    compileFilters(patterns.filter(resolved));
  } catch (error) {
    fail((error as Error).message);
  }
}
