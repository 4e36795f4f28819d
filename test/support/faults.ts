/**
 * Fault injection for integration tests. DynamoDB Local never throttles, never reports a
 * transaction conflict and never times out, so tests add AWS SDK v3 middleware that does, driven by
 * a mutable plan:
 *
 * - `throttle`: throws `ProvisionedThroughputExceededException` (or `ThrottlingException`,
 *   `RequestLimitExceeded`) before the request is sent: nothing is written;
 * - `conflict`: throws `TransactionCanceledException` with `TransactionConflict` among the
 *   cancellation reasons, before the request is sent: nothing is written;
 * - `timeoutAfterWrite`: sends the request, lets DynamoDB Local apply it, then throws a
 *   `TimeoutError`, so the caller cannot tell that the write happened;
 * - `slowDown`: throws S3's throttling error (`SlowDown`, HTTP 503) before the request is sent, for
 *   an S3Client (the S3 server never throttles either).
 *
 * The errors are the SDK's own exception classes with the fields its deserializer sets (`name`,
 * `$fault`, `$metadata`; no `$retryable`, as DynamoDB's model marks none of them retryable, the
 * SDK recognises throttling and timeouts by name), so `instanceof` and name checks behave as in AWS.
 *
 * A rule fires on `layer: 'call'` (default) once per command call, above the SDK's retries: the
 * caller sees the error as if every retry had failed. On `layer: 'attempt'` it fires per HTTP
 * attempt, beneath the retries, so the SDK's own retry strategy reacts to it (it retries throttling
 * and timeouts; after a `timeoutAfterWrite`, its retry meets the state the first attempt wrote).
 *
 * @example
 * const faults = createFaultInjector({ seed: 42 });
 * const runtime = await createTestRuntime({ decorateDynamoDb: faults.install });
 * faults.add({ commands: ['TransactWriteItems'], fault: 'conflict', times: 2 });
 * // ... act ...
 * expect(faults.count('conflict')).toBe(2);
 */
import { randomUUID } from 'node:crypto';
import {
  type CancellationReason,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  ThrottlingException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { S3ServiceException } from '@aws-sdk/client-s3';
import type {
  FinalizeHandler,
  FinalizeHandlerArguments,
  HandlerExecutionContext,
  InitializeHandler,
  InitializeHandlerArguments,
  MetadataBearer,
  MiddlewareStack,
} from '@smithy/types';

/** What a rule does to a matching call. */
export type FaultKind = 'throttle' | 'conflict' | 'timeoutAfterWrite' | 'slowDown';

/** The throttling errors DynamoDB returns. */
export type ThrottleErrorName =
  | 'ProvisionedThroughputExceededException'
  | 'ThrottlingException'
  | 'RequestLimitExceeded';

/** Where a rule sits in the SDK's middleware stack: above its retries or beneath them. */
export type FaultLayer = 'call' | 'attempt';

/** One rule of a plan. Mutable: a test may change `times` or `probability` between calls. */
export interface FaultRule {
  /** Operation names, with or without `Command`: `TransactWriteItems`, `PutItemCommand`. */
  commands: string[];
  fault: FaultKind;
  /** Fires on the next `times` matching calls, then never; unlimited when undefined. */
  times?: number;
  /** Fires on each matching call with this probability (the injector's seeded random); 1 when undefined. */
  probability?: number;
  /** @default 'call' */
  layer?: FaultLayer;
  /** The error a `throttle` throws. @default 'ProvisionedThroughputExceededException' */
  throttleError?: ThrottleErrorName;
  /**
   * The reasons a `conflict` reports, one per transaction item in request order. By default the
   * first item has `TransactionConflict` and the others `None`, as when another transaction holds
   * the first item (for Shoal, the partition head).
   */
  cancellationReasons?: CancellationReason[];
  /** How many times this rule has fired. */
  injected: number;
}

/** The rule fields a test gives; `injected` starts at 0. */
export type FaultRuleInput = Omit<FaultRule, 'injected'>;

/** The mutable plan an injector follows; rules are tried in order and the first that fires wins. */
export interface FaultPlan {
  rules: FaultRule[];
}

/** One injected fault, for assertions and debugging. */
export interface Injection {
  readonly command: string;
  readonly fault: FaultKind;
  readonly layer: FaultLayer;
}

/** Anything with an SDK v3 middleware stack: a DynamoDBClient (or an S3Client). */
export interface ClientWithMiddleware {
  readonly middlewareStack: Pick<MiddlewareStack<object, MetadataBearer>, 'add'>;
}

/** Middleware plus the plan that drives it; one per test file, installed on that file's runtime. */
export interface FaultInjector {
  readonly plan: FaultPlan;
  /** Every fault injected so far, in order. */
  readonly injections: readonly Injection[];
  /** Adds the middleware to a client; pass it as `decorateDynamoDb`. */
  install(client: ClientWithMiddleware): void;
  /** Appends a rule to the plan and returns it (live: its `injected` counts up). */
  add(rule: FaultRuleInput): FaultRule;
  /** Removes every rule and forgets every injection: call it in `beforeEach`. */
  reset(): void;
  /** How many faults were injected, of one kind or in all. */
  count(fault?: FaultKind): number;
}

/**
 * Creates an injector with an empty plan. `seed` makes `probability` rules repeatable.
 */
export function createFaultInjector(
  options: {
    readonly seed?: number;
    /** Called with each injection as it happens, inside the async context of the call it hits. */
    readonly onInject?: (injection: Injection) => void;
  } = {},
): FaultInjector {
  const plan: FaultPlan = { rules: [] };
  const injections: Injection[] = [];
  const random = mulberry32(options.seed ?? 1);

  /** Picks the rule that fires for this call, if any, and counts it. */
  const draw = (commandName: string | undefined, layer: FaultLayer): FaultRule | undefined => {
    if (commandName === undefined) return undefined;
    const command = operationName(commandName);
    for (const rule of plan.rules) {
      if ((rule.layer ?? 'call') !== layer) continue;
      if (!rule.commands.some((name) => operationName(name) === command)) continue;
      if (rule.times !== undefined && rule.times <= 0) continue;
      if (rule.probability !== undefined && random() >= rule.probability) continue;
      if (rule.times !== undefined) rule.times--;
      rule.injected++;
      const injection = { command, fault: rule.fault, layer };
      injections.push(injection);
      options.onInject?.(injection);
      return rule;
    }
    return undefined;
  };

  const inputs = new WeakMap<HandlerExecutionContext, unknown>();

  const callMiddleware =
    (next: InitializeHandler<object, MetadataBearer>, context: HandlerExecutionContext) =>
    async (args: InitializeHandlerArguments<object>) => {
      inputs.set(context, args.input);
      const rule = draw(context.commandName, 'call');
      if (rule === undefined) return next(args);
      return inject(rule, args.input, () => next(args));
    };

  const attemptMiddleware =
    (next: FinalizeHandler<object, MetadataBearer>, context: HandlerExecutionContext) =>
    async (args: FinalizeHandlerArguments<object>) => {
      const rule = draw(context.commandName, 'attempt');
      if (rule === undefined) return next(args);
      return inject(rule, inputs.get(context), () => next(args));
    };

  return {
    plan,
    injections,
    install(client) {
      client.middlewareStack.add(callMiddleware, {
        step: 'initialize',
        priority: 'high',
        name: 'shoalFaultsPerCall',
      });
      // Low priority in finalizeRequest: after the retry middleware, so once per attempt.
      client.middlewareStack.add(attemptMiddleware, {
        step: 'finalizeRequest',
        priority: 'low',
        name: 'shoalFaultsPerAttempt',
      });
    },
    add(input) {
      const rule: FaultRule = { ...input, commands: [...input.commands], injected: 0 };
      plan.rules.push(rule);
      return rule;
    },
    reset() {
      plan.rules.length = 0;
      injections.length = 0;
    },
    count(fault) {
      return injections.filter((injection) => fault === undefined || injection.fault === fault).length;
    },
  };
}

async function inject<T>(rule: FaultRule, input: unknown, send: () => Promise<T>): Promise<T> {
  switch (rule.fault) {
    case 'throttle':
      throw throttlingError(rule.throttleError ?? 'ProvisionedThroughputExceededException');
    case 'conflict':
      throw transactionConflict(rule.cancellationReasons ?? defaultReasons(input));
    case 'timeoutAfterWrite':
      await send();
      throw timeoutError();
    case 'slowDown':
      throw s3SlowDown();
  }
}

/**
 * Gives an exception the own fields the SDK's deserializer leaves on one from DynamoDB: `$metadata`
 * of an HTTP 400, `$retryable` undefined, the wire `__type`, an enumerable `message`, no `Message`,
 * and a hidden `$response`.
 */
function asDeserialized<E extends Error>(error: E): E {
  const requestId = randomUUID().replaceAll('-', '').toUpperCase();
  Object.assign(error, {
    $retryable: undefined,
    $metadata: {
      httpStatusCode: 400,
      requestId,
      extendedRequestId: undefined,
      cfId: undefined,
      attempts: 1,
      totalRetryDelay: 0,
    },
    __type: `com.amazonaws.dynamodb.v20120810#${error.name}`,
  });
  Object.defineProperty(error, 'message', {
    value: error.message,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  Object.defineProperty(error, '$response', {
    value: {
      statusCode: 400,
      reason: 'Bad Request',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId },
    },
    enumerable: false,
  });
  delete (error as { Message?: string }).Message;
  return error;
}

/** A throttling error as the SDK deserializes it, with DynamoDB's messages. */
export function throttlingError(name: ThrottleErrorName): Error {
  const $metadata = {};
  switch (name) {
    case 'ProvisionedThroughputExceededException':
      return asDeserialized(
        new ProvisionedThroughputExceededException({
          message:
            'The level of configured provisioned throughput for the table was exceeded. ' +
            'Consider increasing your provisioning level with the UpdateTable API.',
          $metadata,
        }),
      );
    case 'ThrottlingException':
      return asDeserialized(
        new ThrottlingException({
          message: 'Throughput exceeds the current capacity of your table or index.',
          $metadata,
        }),
      );
    case 'RequestLimitExceeded':
      return asDeserialized(
        new RequestLimitExceeded({
          message: 'Throughput exceeds the current throughput limit for your account.',
          $metadata,
        }),
      );
  }
}

/** A `TransactionCanceledException` as the SDK deserializes it. */
export function transactionConflict(reasons: CancellationReason[]): TransactionCanceledException {
  const codes = reasons.map((reason) => reason.Code ?? 'None').join(', ');
  return asDeserialized(
    new TransactionCanceledException({
      message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes}]`,
      CancellationReasons: reasons,
      $metadata: {},
    }),
  );
}

/** S3's throttling answer as the SDK deserializes it: an S3ServiceException named SlowDown, HTTP 503. */
export function s3SlowDown(): S3ServiceException {
  return new S3ServiceException({
    name: 'SlowDown',
    $fault: 'server',
    message: 'Please reduce your request rate.',
    $metadata: { httpStatusCode: 503, attempts: 3, totalRetryDelay: 0 },
  });
}

/** The error the SDK's node HTTP handler throws when a request exceeds its timeout. */
export function timeoutError(): Error {
  return Object.assign(
    new Error(
      '@smithy/node-http-handler - [ERROR] a request has exceeded the configured 3000 ms requestTimeout.',
    ),
    { name: 'TimeoutError', code: 'ETIMEDOUT', $metadata: { attempts: 1, totalRetryDelay: 0 } },
  );
}

function defaultReasons(input: unknown): CancellationReason[] {
  const items = (input as { TransactItems?: unknown[] } | undefined)?.TransactItems;
  const count = Array.isArray(items) && items.length > 0 ? items.length : 1;
  return Array.from({ length: count }, (_, index) =>
    index === 0
      ? { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' }
      : { Code: 'None' },
  );
}

/** `TransactWriteItemsCommand` and `TransactWriteItems` name the same operation. */
function operationName(name: string): string {
  return name.endsWith('Command') ? name.slice(0, -'Command'.length) : name;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same faults on every run. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
