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
 *     outputTopic: 'invoices', // exactly once: what the function returns, appended with the commit
 *   }),
 * );
 */
import { CustomResource, Duration, Names, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { resolveSubscriptionConfig } from '../shared/domain/subscription.js';
import { CreateSubscriptionRequest, toSubscriptionInput } from '../shared/http/subscription-schemas.js';
import type { IShoalLog } from './shoal-subscriptions.js';

/**
 * Lets the dispatcher of a Shoal deployment invoke `target` for its subscriptions, and read its
 * configuration (the dispatcher reads the function's timeout so it never starts an invocation it
 * cannot wait for), and nothing else. `ShoalEventSource` calls it; a subscription created through
 * the API (`POST /v1/subscriptions`, `npx shoal subscriptions create`) needs it once per function.
 *
 * The policy lives in the function's stack (under `scope`, the function by default) and is attached
 * to the dispatcher's role: the Shoal stack never refers to the function, so a function in another
 * stack adds no dependency cycle.
 *
 * @example
 * grantSubscriptionTarget(shoal, billingFunction); // then create the subscription through the API
 */
export function grantSubscriptionTarget(
  log: IShoalLog,
  target: lambda.IFunction,
  scope: Construct = target as unknown as Construct,
  id = 'ShoalSubscriptionTarget',
): iam.Policy {
  return new iam.Policy(scope, id, {
    statements: [
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction', 'lambda:GetFunctionConfiguration'],
        resources: [target.functionArn],
      }),
    ],
    roles: [log.dispatcherRole],
  });
}

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
   * Exactly once: the Shoal topic that the records the function returns (`{ records: [...] }`, each
   * as a produce request's record) are appended to, in one DynamoDB transaction with the commit of
   * the batch that produced them and its dead letters, so a retried, bisected or timed-out batch
   * outputs each record once. Not the subscribed topic, nor the `onFailure` topic.
   * @default - the function's answer carries no records
   */
  readonly outputTopic?: string;
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

    // The same id as before this function existed: deployed policies keep their logical id.
    const invoke = grantSubscriptionTarget(this.log, target, container, 'InvokePolicy');
    const subscription = new CustomResource(container, 'Subscription', {
      serviceToken: this.log.subscriptionServiceToken,
      resourceType: 'Custom::ShoalSubscription',
      properties: { Subscription: Stack.of(container).toJsonString(this.requestFor(name, target)) },
    });
    // The dispatcher may invoke the function before the subscription exists, never after.
    subscription.node.addDependency(invoke);
  }

  /** The subscriptions API's create request, which the custom resource's handler validates again. */
  private requestFor(name: string, target: lambda.IFunction): Record<string, unknown> {
    const { topic, ...fields } = requestFieldsOf(this.props);
    return { name, topic, target: { functionArn: target.functionArn }, ...fields };
  }
}

/** The create request's fields that come from the props, with the API's names and units. */
function requestFieldsOf(props: Partial<ShoalEventSourceProps>): Record<string, unknown> {
  const request: Record<string, unknown> = {
    topic: props.topic,
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
    outputTopic: props.outputTopic,
    filters: props.filters?.map((filter) => ({ pattern: filter.pattern })),
    enabled: props.enabled,
    consumerGroupId: props.consumerGroupId,
  };
  return Object.fromEntries(Object.entries(request).filter(([, value]) => value !== undefined));
}

/**
 * The props' fields as the subscriptions API takes them, before binding decides the target (and
 * the name, when none is given): each field's bounds come from the API's own schema.
 */
const PropsRequest = CreateSubscriptionRequest.omit({ target: true }).partial();

/** What binding decides, standing in while the props are checked against the domain's rules. */
const UNBOUND = { name: 'unbound', target: { functionArn: 'unbound' } } as const;

/**
 * Request fields that differ from their prop in name or unit: the prop each comes from, and how
 * the API's message names it, so that a bound reads in the right unit.
 */
const FIELD_PROPS: Readonly<Record<string, { prop: keyof ShoalEventSourceProps; inApi?: string }>> = {
  name: { prop: 'subscriptionName' },
  startingPositionTimestamp: { prop: 'startingPositionTimestamp', inApi: 'epoch milliseconds in the API' },
  maxBatchingWindowMs: { prop: 'maxBatchingWindow', inApi: 'milliseconds in the API' },
  maxRecordAgeMs: { prop: 'maxRecordAge', inApi: 'milliseconds in the API' },
};

/**
 * Checks the props once, at construction (synth time), as the subscriptions API will check the
 * request: each field against the API's zod schema, then the rules that tie fields together
 * (`resolveSubscriptionConfig`). Props that are tokens are known only at deploy time: their own
 * bounds, and the rules that tie fields together, are then left to the API.
 *
 * @throws Error naming each bad prop with the value it was given.
 */
function validateProps(props: ShoalEventSourceProps): void {
  props.filters?.forEach((filter, index) => {
    if (typeof filter.pattern !== 'string') {
      throw invalidProps(
        `filters[${index}] must be made with lambda.FilterCriteria.filter({ value: ... }), got ${JSON.stringify(filter)}`,
      );
    }
  });
  const resolved = resolvedPropsOf(props);
  const parsed = PropsRequest.safeParse({
    ...requestFieldsOf(resolved),
    ...(resolved.subscriptionName === undefined ? {} : { name: resolved.subscriptionName }),
  });
  if (!parsed.success) {
    throw invalidProps(
      parsed.error.issues.map((issue) => describeIssue(props, issue.path, issue.message)).join('; '),
    );
  }
  const { topic, name } = parsed.data;
  if (topic === undefined || !isEveryPropResolved(props, resolved)) return;
  try {
    resolveSubscriptionConfig(
      toSubscriptionInput({ ...parsed.data, topic, name: name ?? UNBOUND.name, target: UNBOUND.target }),
    );
  } catch (error) {
    throw invalidProps((error as Error).message);
  }
}

function invalidProps(message: string): Error {
  return new Error(`ShoalEventSource: ${message}`);
}

/** Whether {@link resolvedPropsOf} left every prop in. */
function isEveryPropResolved(
  props: ShoalEventSourceProps,
  resolved: Partial<ShoalEventSourceProps>,
): boolean {
  return (
    Object.keys(props).length === Object.keys(resolved).length &&
    props.onFailure === resolved.onFailure &&
    props.filters?.length === resolved.filters?.length
  );
}

/** The props without the values that are tokens: those are known only at deploy time. */
function resolvedPropsOf(props: ShoalEventSourceProps): Partial<ShoalEventSourceProps> {
  const resolved = Object.entries(props).filter(([, value]) =>
    value instanceof Duration ? !value.isUnresolved() : !Token.isUnresolved(value),
  );
  const { onFailure, filters, ...rest } = Object.fromEntries(resolved) as Partial<ShoalEventSourceProps>;
  return {
    ...rest,
    ...(onFailure && !Token.isUnresolved(onFailure.topic) ? { onFailure } : {}),
    ...(filters ? { filters: filters.filter((filter) => !Token.isUnresolved(filter.pattern)) } : {}),
  };
}

/**
 * One schema issue in the props' names, with the value as given: `batchSize: Too small: expected
 * number to be >=1 (given 0)`, or `maxRecordAge (milliseconds in the API): ... (given 8 days)`.
 */
function describeIssue(props: ShoalEventSourceProps, path: readonly PropertyKey[], message: string): string {
  const [field = '', ...rest] = path.map(String);
  const { prop, inApi } = FIELD_PROPS[field] ?? { prop: field };
  let given: unknown = props;
  for (const key of [prop, ...rest]) given = (given as Record<string, unknown> | undefined)?.[key];
  const shown =
    given instanceof Duration
      ? given.toHumanString()
      : Array.isArray(given)
        ? `${given.length} entries`
        : JSON.stringify(given);
  return `${[prop, ...rest].join('.')}${inApi ? ` (${inApi})` : ''}: ${message} (given ${shown})`;
}
