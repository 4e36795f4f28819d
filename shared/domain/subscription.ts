/**
 * Subscriptions: a Lambda function (or, on the local stack, a module's handler) bound to a topic
 * through a consumer group, with the options users know from Lambda's Kafka event source mappings.
 * This file holds the stored shape, the published limits and the rules that tie fields together;
 * the HTTP schemas (`shared/http/subscription-schemas.ts`) check each field's bounds.
 */
import { InvalidRequestError } from './errors.js';
import { compileFilters } from './event-filter.js';
import { validateGroupName } from './group.js';

/**
 * The limits and defaults of subscriptions, as Lambda publishes them for Kafka event source
 * mappings where one exists (batch size, batching window, record age, retries, filters).
 */
export const SUBSCRIPTION_LIMITS = {
  nameLengthMax: 249,
  batchSizeMin: 1,
  batchSizeMax: 10_000,
  batchSizeDefault: 100,
  maxBatchingWindowMsMax: 300_000,
  /** Lambda's default for Kafka sources. */
  maxBatchingWindowMsDefault: 500,
  /** -1 retries forever (until the record is older than maxRecordAgeMs, if set). */
  retryAttemptsMax: 10_000,
  /**
   * Lambda's Kafka default is -1, but it caps retries at 10 once an on-failure destination is set:
   * Shoal uses that finite number by default, so one poison record cannot stall a partition forever.
   */
  retryAttemptsDefault: 10,
  /** -1 (the default) never discards a record for its age. */
  maxRecordAgeMsMin: 60_000,
  maxRecordAgeMsMax: 7 * 24 * 60 * 60 * 1000,
  /** Lambda's default quota of filters per event source mapping. */
  filtersMax: 5,
  filterPatternLengthMax: 4096,
  /** A module handler's timeout on the local stack; Lambda's default function timeout is 3 s. */
  moduleTimeoutMsDefault: 3_000,
  moduleTimeoutMsMin: 1,
  /** Lambda's maximum function timeout. */
  functionTimeoutMsMax: 900_000,
  /** Subscriptions listed in one answer (and scanned by one dispatcher run). */
  subscriptionsListedMax: 1_000,
  /** Lambda's synchronous invocation payload limit: an event never grows past it. */
  eventBytesMax: 6 * 1024 * 1024,
} as const;

/** Where a new subscription starts reading a partition that its group has no committed offset for. */
export type StartingPosition = 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';

/** A Lambda function, invoked with `RequestResponse` (AWS). */
export interface FunctionTarget {
  readonly functionArn: string;
}

/** A module's exported handler, imported and called in process with a Lambda-like context (local stack). */
export interface ModuleTarget {
  /** Path of a `.js`, `.mjs` or `.ts` file, absolute or relative to the stack's working directory. */
  readonly module: string;
  /** Name of the exported handler. */
  readonly handler: string;
  /** The invocation fails with a timeout after this long, as Lambda's function timeout. */
  readonly timeoutMs: number;
}

export type SubscriptionTarget = FunctionTarget | ModuleTarget;

export const isModuleTarget = (target: SubscriptionTarget): target is ModuleTarget => 'module' in target;

/** What a subscription is asked to do: the request, with defaults applied. */
export interface SubscriptionConfig {
  readonly name: string;
  readonly topic: string;
  readonly target: SubscriptionTarget;
  readonly startingPosition: StartingPosition;
  /** Epoch ms; set exactly when startingPosition is AT_TIMESTAMP. */
  readonly startingPositionTimestamp: number | undefined;
  readonly batchSize: number;
  readonly maxBatchingWindowMs: number;
  /** Retries after the first failed invocation of a batch; -1 retries forever. */
  readonly retryAttempts: number;
  /** Records older than this (by their timestamp) are not delivered but dead-lettered; -1: no limit. */
  readonly maxRecordAgeMs: number;
  readonly bisectBatchOnError: boolean;
  readonly reportBatchItemFailures: boolean;
  /** The dead-letter topic; without one, records that exhaust retries or age are discarded, as Lambda does. */
  readonly onFailure: { readonly topic: string } | undefined;
  /**
   * Exactly-once pipelines: the topic the records the function returns (`{"records": [...]}`) are
   * appended to, in one transaction with the commit of the batch that produced them (and its dead
   * letters); undefined: the function's answer carries no records.
   */
  readonly outputTopic: string | undefined;
  /** Lambda event-filtering patterns (JSON text) on the record value; a record passing none is skipped. */
  readonly filters: readonly string[];
  readonly enabled: boolean;
  /** The consumer group that holds the subscription's committed offsets. */
  readonly consumerGroupId: string;
}

/** A subscription as stored. */
export interface Subscription extends SubscriptionConfig {
  /**
   * A new id per incarnation of the name (like a topic id): delivery state left behind by a deleted
   * subscription of the same name is recognized and ignored.
   */
  readonly subscriptionId: string;
  /** Whether the group was named by the request; a group named after the subscription goes with it. */
  readonly consumerGroupIdGiven: boolean;
  /** Epoch ms. */
  readonly createdAt: number;
}

/** A subscription request: every option but name, topic and target may be left out. */
export interface SubscriptionInput {
  readonly name: string;
  readonly topic: string;
  readonly target: SubscriptionTarget;
  readonly startingPosition?: StartingPosition;
  readonly startingPositionTimestamp?: number;
  readonly batchSize?: number;
  readonly maxBatchingWindowMs?: number;
  readonly retryAttempts?: number;
  readonly maxRecordAgeMs?: number;
  readonly bisectBatchOnError?: boolean;
  readonly reportBatchItemFailures?: boolean;
  readonly onFailure?: { readonly topic: string };
  readonly outputTopic?: string;
  readonly filters?: readonly string[];
  readonly enabled?: boolean;
  readonly consumerGroupId?: string;
}

/** Subscription names follow group names (a subscription's group is named after it by default). */
export function validateSubscriptionName(name: string): void {
  if (
    name.length === 0 ||
    name.length > SUBSCRIPTION_LIMITS.nameLengthMax ||
    !/^[a-zA-Z0-9._-]+$/.test(name)
  ) {
    throw new InvalidRequestError(
      `Subscription name must be 1 to ${SUBSCRIPTION_LIMITS.nameLengthMax} ASCII letters, digits, '.', '_' or '-', got '${name}'`,
      'name',
    );
  }
}

/**
 * Applies the defaults and checks the rules that tie fields together (the HTTP schemas check each
 * field's own bounds; this runs again for requests that do not come through HTTP).
 *
 * @throws InvalidRequestError naming the field.
 * @example
 * resolveSubscriptionConfig({ name: 'billing', topic: 'orders', target: { functionArn } });
 * // LATEST, batches of up to 100 records, 500 ms batching window, 10 retries, no dead-letter topic
 */
export function resolveSubscriptionConfig(input: SubscriptionInput): SubscriptionConfig {
  validateSubscriptionName(input.name);
  const startingPosition = startingPositionOf(input);
  const batchSize = input.batchSize ?? SUBSCRIPTION_LIMITS.batchSizeDefault;
  checkRange('batchSize', batchSize, SUBSCRIPTION_LIMITS.batchSizeMin, SUBSCRIPTION_LIMITS.batchSizeMax);
  const maxBatchingWindowMs = input.maxBatchingWindowMs ?? SUBSCRIPTION_LIMITS.maxBatchingWindowMsDefault;
  checkRange('maxBatchingWindowMs', maxBatchingWindowMs, 0, SUBSCRIPTION_LIMITS.maxBatchingWindowMsMax);
  const retryAttempts = input.retryAttempts ?? SUBSCRIPTION_LIMITS.retryAttemptsDefault;
  if (retryAttempts !== -1) {
    checkRange('retryAttempts', retryAttempts, 0, SUBSCRIPTION_LIMITS.retryAttemptsMax, '-1 (forever) or ');
  }
  const maxRecordAgeMs = input.maxRecordAgeMs ?? -1;
  if (maxRecordAgeMs !== -1) {
    checkRange(
      'maxRecordAgeMs',
      maxRecordAgeMs,
      SUBSCRIPTION_LIMITS.maxRecordAgeMsMin,
      SUBSCRIPTION_LIMITS.maxRecordAgeMsMax,
      '-1 (no limit) or ',
    );
  }
  if (input.onFailure && input.onFailure.topic === input.topic) {
    throw new InvalidRequestError(
      `onFailure.topic must differ from the subscribed topic '${input.topic}': dead letters would be delivered again`,
      'onFailure.topic',
    );
  }
  checkOutputTopic(input);
  const filters = input.filters ?? [];
  compileFilters(filters);
  const consumerGroupId = consumerGroupOf(input);
  if (isModuleTarget(input.target)) {
    checkRange(
      'target.timeoutMs',
      input.target.timeoutMs,
      SUBSCRIPTION_LIMITS.moduleTimeoutMsMin,
      SUBSCRIPTION_LIMITS.functionTimeoutMsMax,
    );
  }
  return {
    name: input.name,
    topic: input.topic,
    target: input.target,
    startingPosition,
    startingPositionTimestamp: input.startingPositionTimestamp,
    batchSize,
    maxBatchingWindowMs,
    retryAttempts,
    maxRecordAgeMs,
    bisectBatchOnError: input.bisectBatchOnError ?? false,
    reportBatchItemFailures: input.reportBatchItemFailures ?? false,
    onFailure: input.onFailure ? { topic: input.onFailure.topic } : undefined,
    outputTopic: input.outputTopic,
    filters: [...filters],
    enabled: input.enabled ?? true,
    consumerGroupId,
  };
}

/**
 * The output topic differs from the subscribed topic (the outputs would be delivered again, to the
 * function that wrote them) and from the dead-letter topic (outputs and given-up inputs would mix).
 */
function checkOutputTopic(input: SubscriptionInput): void {
  const { outputTopic } = input;
  if (outputTopic === undefined) return;
  if (outputTopic === input.topic) {
    throw new InvalidRequestError(
      `outputTopic must differ from the subscribed topic '${input.topic}': the function would consume its own output`,
      'outputTopic',
    );
  }
  if (outputTopic === input.onFailure?.topic) {
    throw new InvalidRequestError(
      `outputTopic must differ from the dead-letter topic '${outputTopic}': outputs and given-up records would mix`,
      'outputTopic',
    );
  }
}

/** The starting position, LATEST by default; a timestamp goes with AT_TIMESTAMP and only with it. */
function startingPositionOf(input: SubscriptionInput): SubscriptionConfig['startingPosition'] {
  const startingPosition = input.startingPosition ?? 'LATEST';
  if (startingPosition === 'AT_TIMESTAMP' && input.startingPositionTimestamp === undefined) {
    throw new InvalidRequestError(
      'startingPositionTimestamp is required when startingPosition is AT_TIMESTAMP',
      'startingPositionTimestamp',
    );
  }
  if (startingPosition !== 'AT_TIMESTAMP' && input.startingPositionTimestamp !== undefined) {
    throw new InvalidRequestError(
      `startingPositionTimestamp can only be given with startingPosition AT_TIMESTAMP, not ${startingPosition}`,
      'startingPositionTimestamp',
    );
  }
  return startingPosition;
}

/** The consumer group the subscription delivers as: named after the subscription by default. */
function consumerGroupOf(input: SubscriptionInput): string {
  const consumerGroupId = input.consumerGroupId ?? input.name;
  try {
    validateGroupName(consumerGroupId);
  } catch (error) {
    throw new InvalidRequestError((error as Error).message, 'consumerGroupId');
  }
  return consumerGroupId;
}

function checkRange(field: string, value: number, min: number, max: number, alternative = ''): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidRequestError(
      `${field} must be ${alternative}a whole number from ${min} to ${max}, got ${value}`,
      field,
    );
  }
}
