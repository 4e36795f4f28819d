/**
 * The zod schemas of the subscriptions API (and of the CDK construct's custom resource): each
 * option with Lambda's bounds for Kafka event source mappings, so a bad field gets a 400 naming it.
 */
import * as z from 'zod';
import { LIMITS } from '../domain/limits.js';
import {
  SUBSCRIPTION_LIMITS,
  type SubscriptionInput,
  type SubscriptionTarget,
} from '../domain/subscription.js';
import { GroupName, Timestamp, TopicName } from './schemas.js';

export const SubscriptionName = z
  .string()
  .min(1)
  .max(SUBSCRIPTION_LIMITS.nameLengthMax)
  .regex(/^[a-zA-Z0-9._-]+$/, "may contain only ASCII letters, digits, '.', '_' and '-'")
  .meta({
    description: 'Subscription name (its consumer group is named after it unless given)',
    example: 'billing',
  });

/** A Lambda function ARN, unqualified or with a version or alias, in any partition. */
const FUNCTION_ARN_PATTERN =
  /^arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d:\d{12}:function:[a-zA-Z0-9_-]{1,64}(:(\$LATEST|[a-zA-Z0-9_-]+))?$/;

const Target = z
  .strictObject({
    functionArn: z
      .string()
      .regex(
        FUNCTION_ARN_PATTERN,
        'must be a Lambda function ARN, arn:<partition>:lambda:<region>:<account>:function:<name>',
      )
      .optional()
      .meta({ description: 'The function to invoke (AWS)' }),
    module: z
      .string()
      .min(1)
      .max(1024)
      .optional()
      .meta({ description: 'A .js, .mjs or .ts file whose export is invoked in process (local stack only)' }),
    handler: z
      .string()
      .regex(/^[A-Za-z_$][A-Za-z0-9_$]*$/, 'must be the name of an exported function')
      .optional()
      .meta({ description: "The module's export to call (default handler)" }),
    timeoutMs: z
      .number()
      .int()
      .min(SUBSCRIPTION_LIMITS.moduleTimeoutMsMin)
      .max(SUBSCRIPTION_LIMITS.functionTimeoutMsMax)
      .optional()
      .meta({
        description: `The module handler's timeout (default ${SUBSCRIPTION_LIMITS.moduleTimeoutMsDefault}); a function's own timeout applies in AWS`,
      }),
  })
  .superRefine((target, context) => {
    const isFunction = target.functionArn !== undefined;
    if (isFunction === (target.module !== undefined)) {
      context.addIssue({
        code: 'custom',
        message: 'give either functionArn (AWS) or module (the local stack), not both or neither',
      });
    }
    if (isFunction && (target.handler !== undefined || target.timeoutMs !== undefined)) {
      context.addIssue({
        code: 'custom',
        path: [target.handler !== undefined ? 'handler' : 'timeoutMs'],
        message: "applies to module targets only: a function's handler and timeout are its own",
      });
    }
  })
  .transform(
    (target): SubscriptionTarget =>
      target.functionArn !== undefined
        ? { functionArn: target.functionArn }
        : {
            module: target.module ?? '',
            handler: target.handler ?? 'handler',
            timeoutMs: target.timeoutMs ?? SUBSCRIPTION_LIMITS.moduleTimeoutMsDefault,
          },
  )
  .meta({ description: '{"functionArn"} in AWS; {"module", "handler"?, "timeoutMs"?} on the local stack' });

const minusOneOr = (name: string, min: number, max: number, description: string) =>
  z
    .number()
    .int()
    .refine(
      (value) => value === -1 || (value >= min && value <= max),
      `${name} must be -1 or from ${min} to ${max}`,
    )
    .meta({ description });

const FilterPattern = z
  .union([z.string().max(SUBSCRIPTION_LIMITS.filterPatternLengthMax), z.record(z.string(), z.unknown())])
  .transform((pattern, context) => {
    if (typeof pattern === 'string') return pattern;
    const text = jsonTextOf(pattern);
    if (text === undefined || text.length > SUBSCRIPTION_LIMITS.filterPatternLengthMax) {
      context.issues.push({
        code: 'custom',
        input: pattern,
        message: `a pattern is at most ${SUBSCRIPTION_LIMITS.filterPatternLengthMax} characters of JSON`,
      });
      return z.NEVER;
    }
    return text;
  })
  .meta({
    description: 'A Lambda event-filtering pattern on the record value, as JSON text or an object',
    example: '{"value": {"device_ID": [{"prefix": "AB"}]}}',
  });

/** The JSON text of a parsed value, or undefined when it is too deep to write out. */
function jsonTextOf(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

export const CreateSubscriptionRequest = z
  .strictObject({
    name: SubscriptionName,
    topic: TopicName,
    target: Target,
    startingPosition: z
      .enum(['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP'])
      .optional()
      .meta({ description: 'Where partitions without a committed offset start (default LATEST)' }),
    startingPositionTimestamp: Timestamp.optional().meta({
      description:
        'With AT_TIMESTAMP: start at the first record at or after this time (ISO-8601 or epoch ms)',
    }),
    batchSize: z
      .number()
      .int()
      .min(SUBSCRIPTION_LIMITS.batchSizeMin)
      .max(SUBSCRIPTION_LIMITS.batchSizeMax)
      .optional()
      .meta({
        description: `Records per invocation at most (default ${SUBSCRIPTION_LIMITS.batchSizeDefault})`,
      }),
    maxBatchingWindowMs: z
      .number()
      .int()
      .min(0)
      .max(SUBSCRIPTION_LIMITS.maxBatchingWindowMsMax)
      .optional()
      .meta({
        description: `How long to gather records before invoking (default ${SUBSCRIPTION_LIMITS.maxBatchingWindowMsDefault})`,
      }),
    retryAttempts: minusOneOr(
      'retryAttempts',
      0,
      SUBSCRIPTION_LIMITS.retryAttemptsMax,
      `Retries of a failing batch before its records are dead-lettered; -1 retries forever (default ${SUBSCRIPTION_LIMITS.retryAttemptsDefault})`,
    ).optional(),
    maxRecordAgeMs: minusOneOr(
      'maxRecordAgeMs',
      SUBSCRIPTION_LIMITS.maxRecordAgeMsMin,
      SUBSCRIPTION_LIMITS.maxRecordAgeMsMax,
      'Records older than this (by timestamp) are dead-lettered instead of delivered; -1 (default) keeps trying',
    ).optional(),
    bisectBatchOnError: z
      .boolean()
      .optional()
      .meta({ description: 'Split a failing batch in two to find the failing record (default false)' }),
    reportBatchItemFailures: z
      .boolean()
      .optional()
      .meta({ description: 'Read batchItemFailures from the answer (default false)' }),
    onFailure: z.strictObject({ topic: TopicName }).optional().meta({
      description: 'The dead-letter topic; without it, given-up records are discarded as Lambda does',
    }),
    outputTopic: TopicName.optional().meta({
      description:
        'Exactly once: the records the function returns ({"records": [...]}, as a produce request\'s) are appended ' +
        'to this topic in one transaction with the commit of the batch (and its dead letters); not the subscribed topic',
    }),
    filters: z
      .array(z.strictObject({ pattern: FilterPattern }))
      .max(SUBSCRIPTION_LIMITS.filtersMax)
      .optional()
      .meta({
        description: 'A record is delivered when it matches one of them; the others are committed unseen',
      }),
    enabled: z
      .boolean()
      .optional()
      .meta({ description: 'A disabled subscription delivers nothing (default true)' }),
    consumerGroupId: GroupName.optional().meta({
      description: 'The consumer group holding the position (default: the subscription name)',
    }),
  })
  .meta({ id: 'CreateSubscriptionRequest' });

/** The validated request as the domain takes it. */
export function toSubscriptionInput(body: z.output<typeof CreateSubscriptionRequest>): SubscriptionInput {
  const { filters, ...rest } = body;
  return { ...rest, ...(filters === undefined ? {} : { filters: filters.map((filter) => filter.pattern) }) };
}

const TargetSchema = z.union([
  z.object({ functionArn: z.string() }),
  z.object({ module: z.string(), handler: z.string(), timeoutMs: z.number().int() }),
]);

const CountersShape = {
  delivered: z.number().int(),
  invocations: z.number().int(),
  errors: z.number().int(),
  deadLettered: z.number().int(),
  filtered: z.number().int(),
  discarded: z.number().int(),
};

export const SubscriptionSchema = z
  .object({
    name: z.string(),
    topic: z.string(),
    target: TargetSchema,
    state: z.enum(['Enabled', 'Disabled']),
    startingPosition: z.enum(['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP']),
    startingPositionTimestamp: z.string().nullable(),
    batchSize: z.number().int(),
    maxBatchingWindowMs: z.number().int(),
    retryAttempts: z.number().int(),
    maxRecordAgeMs: z.number().int(),
    bisectBatchOnError: z.boolean(),
    reportBatchItemFailures: z.boolean(),
    onFailure: z.object({ topic: z.string() }).nullable(),
    outputTopic: z.string().nullable(),
    filters: z.array(z.object({ pattern: z.string() })),
    consumerGroupId: z.string(),
    subscriptionId: z.string(),
    createdAt: z.string(),
  })
  .meta({ id: 'Subscription' });

export const SubscriptionListSchema = z
  .object({ subscriptions: z.array(SubscriptionSchema) })
  .meta({ id: 'SubscriptionList' });

export const SubscriptionDescriptionSchema = z
  .object({
    ...SubscriptionSchema.shape,
    totals: z.object({
      ...CountersShape,
      lag: z.number().int(),
      oldestUndeliveredAgeMs: z.number().int(),
    }),
    partitions: z.array(
      z.object({
        partition: z.number().int(),
        committedOffset: z.number().int().nullable(),
        highWatermark: z.number().int(),
        lag: z.number().int(),
        oldestUndeliveredAgeMs: z.number().int(),
        ...CountersShape,
        retry: z.object({ attempts: z.number().int(), retryAt: z.string() }).nullable(),
        lastError: z.object({ message: z.string(), at: z.string(), offset: z.number().int() }).nullable(),
        lastDeliveredAt: z.string().nullable(),
        delivering: z.boolean(),
      }),
    ),
  })
  .meta({
    id: 'SubscriptionDescription',
    description: `Settings, and per partition position, lag, counters and the last error (ages by record timestamp; at most ${LIMITS.partitionsMax} partitions)`,
  });
