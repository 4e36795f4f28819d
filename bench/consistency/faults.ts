/**
 * The faults the consistency checker injects into the service's DynamoDB client, all through AWS
 * SDK v3 middleware:
 *
 * - throttling, transaction conflicts and timeouts after a successful write, from the shared test
 *   injector (`test/support/faults.ts`), both above the SDK's retries (the service sees them) and
 *   beneath them (the SDK's own retries see them);
 * - handler crashes part way: the handler dies right after its append transaction committed (so
 *   the client gets a 5xx for a write that happened and must retry), or before it wrote anything;
 * - on the S3 client, the PUT of a large append's payload object: S3's throttling (`SlowDown`), a
 *   timeout after the object was written, and a crash between the payload write and the commit.
 *
 * Every probability can be switched off at once, so the final verification reads a quiet service.
 * Each injection is tallied by the operation it hit (the API operation whose handler made the call,
 * see {@link trackOperations}, or `archive`), and each kind of fault is forced once on each path it
 * belongs to (produce and commit for writes, fetch for reads) if its rate has not hit that path by
 * then: a short run still meets every kind where it matters, not only on the group joins that come
 * first.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type {
  HandlerExecutionContext,
  InitializeHandler,
  InitializeHandlerArguments,
  MetadataBearer,
} from '@smithy/types';
import type { HttpHandler } from '../../shared/http/lambda-http.js';
import { seededRandom } from '../../test/support/events.js';
import {
  type ClientWithMiddleware,
  createFaultInjector,
  type FaultInjector,
  type FaultRule,
  type FaultRuleInput,
  s3SlowDown,
  throttlingError,
  timeoutError,
  transactionConflict,
} from '../../test/support/faults.js';

/** The operation each SDK call is made for, carried through the async context of its handler. */
const callOperation = new AsyncLocalStorage<string>();

/** The operation of a call made outside any tracked handler. */
export const UNATTRIBUTED = 'unattributed';

/** The operation of the current call: an OpenAPI operationId, `archive`, or {@link UNATTRIBUTED}. */
export function currentOperation(): string {
  return callOperation.getStore() ?? UNATTRIBUTED;
}

/** Runs `work` as `operation`: faults it meets are tallied under that name. */
export function asOperation<T>(operation: string, work: () => Promise<T>): Promise<T> {
  return callOperation.run(operation, work);
}

/**
 * Wraps API handlers so that the SDK calls each makes are tallied under the operation of its route
 * (`requestContext.resourceId`, the OpenAPI operationId on the local HTTP server).
 */
export function trackOperations<K extends string>(
  handlers: Readonly<Partial<Record<K, HttpHandler>>>,
): Partial<Record<K, HttpHandler>> {
  const tracked: Partial<Record<K, HttpHandler>> = {};
  for (const [name, handler] of Object.entries(handlers) as [K, HttpHandler | undefined][]) {
    if (handler === undefined) continue;
    tracked[name] = (event, context) =>
      callOperation.run(event.requestContext?.resourceId ?? 'unknown', () => handler(event, context));
  }
  return tracked;
}

/** The operations whose paths every kind of fault must reach (see {@link FORCED_FAULTS}). */
export const OPERATIONS = {
  produce: 'produceRecords',
  fetch: 'fetchRecords',
  commit: 'commitOffsets',
} as const;

/** Injections by kind of fault, then by the operation they hit. */
export type FaultHits = Record<string, Record<string, number>>;

/** The error an injected crash throws; no AWS error name, so the service treats it as a bug (5xx). */
export class InjectedHandlerCrash extends Error {
  override readonly name = 'InjectedHandlerCrash';
}

/** Every kind of fault the checker injects, as `counts()` and `hits()` name them. */
export const FAULT_KINDS = [
  'throttle',
  'conflict',
  'timeoutAfterWrite',
  'crashAfterWrite',
  'crashBeforeWrite',
  's3SlowDown',
  's3TimeoutAfterWrite',
  'crashAfterPayload',
] as const;

/** Fault probabilities per DynamoDB call. */
export interface FaultRates {
  readonly throttle: number;
  readonly conflict: number;
  readonly timeoutAfterWrite: number;
  readonly crashAfterWrite: number;
  readonly crashBeforeWrite: number;
  /** Each of the payload object faults (SlowDown, timeout after the PUT, crash before the commit). */
  readonly payloadWrite: number;
}

/** The checker's default mix: roughly one append in three meets some fault. */
export const DEFAULT_FAULT_RATES: FaultRates = {
  throttle: 0.05,
  conflict: 0.1,
  timeoutAfterWrite: 0.06,
  crashAfterWrite: 0.06,
  crashBeforeWrite: 0.02,
  payloadWrite: 0.04,
};

/**
 * Each kind of fault is forced on the path of an operation once, on this many matching calls of
 * that operation after faults are switched on, if its rate has not hit that operation by then.
 */
const GUARANTEED_FAULT_CALL = 5;

const WRITES = ['TransactWriteItems'];
const READS = ['GetItem', 'BatchGetItem', 'Query'];

/**
 * Which kind of fault is forced on which operation's calls. Calls of handlers that are not tracked
 * (a whole local stack's) are `unattributed`: every kind is forced there once instead.
 */
const FORCED_FAULTS: readonly {
  readonly fault: 'throttle' | 'conflict' | 'timeoutAfterWrite';
  readonly operation: string;
  readonly commands: readonly string[];
}[] = [
  ...(['throttle', 'conflict', 'timeoutAfterWrite'] as const).flatMap((fault) =>
    [OPERATIONS.produce, OPERATIONS.commit, UNATTRIBUTED].map((operation) => ({
      fault,
      operation,
      commands: WRITES,
    })),
  ),
  { fault: 'throttle', operation: OPERATIONS.fetch, commands: READS },
];

/** Installed faults and their switch. */
export interface CheckFaults {
  /** Pass as `decorateDynamoDb`. */
  install(client: ClientWithMiddleware): void;
  /** Pass as `decorateS3`. */
  installS3(client: ClientWithMiddleware): void;
  /** Turns every fault on (at its rate) or off. */
  setEnabled(enabled: boolean): void;
  /** How many faults of each kind were injected so far. */
  counts(): Record<string, number>;
  /** How many faults of each kind hit each operation so far. */
  hits(): FaultHits;
}

/** Counts injections by kind and by the operation of the call they hit. */
class HitTally {
  readonly hits: FaultHits = {};

  add(fault: string): void {
    const byOperation = this.hits[fault] ?? {};
    const operation = currentOperation();
    byOperation[operation] = (byOperation[operation] ?? 0) + 1;
    this.hits[fault] = byOperation;
  }

  of(fault: string, operation: string): number {
    return this.hits[fault]?.[operation] ?? 0;
  }

  total(fault: string): number {
    return Object.values(this.hits[fault] ?? {}).reduce((sum, count) => sum + count, 0);
  }
}

/** An injector rule and the rate it fires at while faults are on. */
interface SwitchedRule {
  readonly rule: FaultRule;
  readonly probability: number;
}

/** The injector's rules, all added switched off: throttling, conflicts and timeouts after a write. */
function addRules(injector: FaultInjector, rates: FaultRates): SwitchedRule[] {
  const writes = WRITES;
  const reads = READS;
  return [
    { input: { commands: writes, fault: 'throttle' }, probability: rates.throttle },
    { input: { commands: writes, fault: 'throttle', layer: 'attempt' }, probability: rates.throttle },
    {
      input: { commands: reads, fault: 'throttle', throttleError: 'ThrottlingException' },
      probability: rates.throttle / 2,
    },
    { input: { commands: writes, fault: 'conflict' }, probability: rates.conflict },
    { input: { commands: writes, fault: 'timeoutAfterWrite' }, probability: rates.timeoutAfterWrite },
    {
      input: { commands: writes, fault: 'timeoutAfterWrite', layer: 'attempt' },
      probability: rates.timeoutAfterWrite / 2,
    },
  ].map(({ input, probability }) => ({
    rule: injector.add({ ...(input as FaultRuleInput), probability: 0 }),
    probability,
  }));
}

/**
 * The faults of {@link FORCED_FAULTS}, each injected on the {@link GUARANTEED_FAULT_CALL}th
 * matching call of its operation unless that operation met it already.
 */
class ForcedFaults {
  enabled = false;
  private readonly calls = new Map<string, number>();

  constructor(private readonly tally: HitTally) {}

  readonly middleware =
    (next: InitializeHandler<object, MetadataBearer>, context: HandlerExecutionContext) =>
    async (args: InitializeHandlerArguments<object>) => {
      if (!this.enabled) return next(args);
      const command = (context.commandName ?? '').replace(/Command$/, '');
      const operation = currentOperation();
      const forced = FORCED_FAULTS.find((candidate) => {
        if (candidate.operation !== operation || !candidate.commands.includes(command)) return false;
        const key = `${candidate.fault}\u0000${operation}`;
        const calls = (this.calls.get(key) ?? 0) + 1;
        this.calls.set(key, calls);
        return calls >= GUARANTEED_FAULT_CALL && this.tally.of(candidate.fault, operation) === 0;
      });
      if (forced === undefined) return next(args);
      this.tally.add(forced.fault);
      switch (forced.fault) {
        case 'throttle':
          throw throttlingError(
            command === 'TransactWriteItems'
              ? 'ProvisionedThroughputExceededException'
              : 'ThrottlingException',
          );
        case 'conflict': {
          const items = (args.input as { TransactItems?: unknown[] }).TransactItems ?? [undefined];
          throw transactionConflict(
            items.map((_, index) =>
              index === 0
                ? { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' }
                : { Code: 'None' },
            ),
          );
        }
        case 'timeoutAfterWrite':
          await next(args);
          throw timeoutError();
      }
    };
}

/**
 * Handler crashes as middleware: before anything is written (on the head read, a BatchGetItem) or
 * right after the append transaction committed.
 */
class HandlerCrashes {
  enabled = false;
  private readonly calls = new Map<string, number>();

  constructor(
    private readonly random: () => number,
    private readonly rates: FaultRates,
    private readonly tally: HitTally,
  ) {}

  /**
   * Whether this call of the current operation is the one to crash on regardless of the rate:
   * crashes after a write are forced on produce and commit, crashes before one on produce.
   */
  private forced(fault: 'crashAfterWrite' | 'crashBeforeWrite'): boolean {
    const operation = currentOperation();
    const paths: readonly string[] =
      fault === 'crashAfterWrite'
        ? [OPERATIONS.produce, OPERATIONS.commit, UNATTRIBUTED]
        : [OPERATIONS.produce, UNATTRIBUTED];
    if (!paths.includes(operation)) return false;
    const key = `${fault}\u0000${operation}`;
    const calls = (this.calls.get(key) ?? 0) + 1;
    this.calls.set(key, calls);
    return calls >= GUARANTEED_FAULT_CALL && this.tally.of(fault, operation) === 0;
  }

  readonly middleware =
    (next: InitializeHandler<object, MetadataBearer>, context: HandlerExecutionContext) =>
    async (args: InitializeHandlerArguments<object>) => {
      const operation = (context.commandName ?? '').replace(/Command$/, '');
      if (this.enabled && operation === 'BatchGetItem') {
        if (this.forced('crashBeforeWrite') || this.random() < this.rates.crashBeforeWrite) {
          this.tally.add('crashBeforeWrite');
          throw new InjectedHandlerCrash('Injected crash: the handler died before writing anything');
        }
      }
      const result = await next(args);
      if (this.enabled && operation === 'TransactWriteItems') {
        if (this.forced('crashAfterWrite') || this.random() < this.rates.crashAfterWrite) {
          this.tally.add('crashAfterWrite');
          throw new InjectedHandlerCrash('Injected crash: the handler died after its append committed');
        }
      }
      return result;
    };
}

/** The payload object faults, on PutObject of `payloads/` keys only (segment uploads are the archiver's). */
class PayloadFaults {
  enabled = false;
  readonly injected = { s3SlowDown: 0, s3TimeoutAfterWrite: 0, crashAfterPayload: 0 };

  constructor(
    private readonly random: () => number,
    private readonly rate: number,
    private readonly tally: HitTally,
  ) {}

  readonly middleware =
    (next: InitializeHandler<object, MetadataBearer>, context: HandlerExecutionContext) =>
    async (args: InitializeHandlerArguments<object>) => {
      const key = (args.input as { Key?: unknown }).Key;
      const operation = (context.commandName ?? '').replace(/Command$/, '');
      if (
        !this.enabled ||
        operation !== 'PutObject' ||
        typeof key !== 'string' ||
        !key.startsWith('payloads/')
      ) {
        return next(args);
      }
      const kind = this.draw();
      if (kind === 's3SlowDown') {
        this.injected.s3SlowDown++;
        this.tally.add('s3SlowDown');
        throw s3SlowDown();
      }
      const result = await next(args);
      if (kind === 's3TimeoutAfterWrite') {
        this.injected.s3TimeoutAfterWrite++;
        this.tally.add('s3TimeoutAfterWrite');
        throw timeoutError();
      }
      if (kind === 'crashAfterPayload') {
        this.injected.crashAfterPayload++;
        this.tally.add('crashAfterPayload');
        throw new InjectedHandlerCrash(
          'Injected crash: the handler died between its payload write and the commit',
        );
      }
      return result;
    };

  /**
   * The fault of this PUT: large requests are a minority, so each kind not injected yet is forced,
   * one per PUT, before any is drawn at `rate`; every kind occurs in the first three payload writes.
   */
  private draw(): keyof PayloadFaults['injected'] | undefined {
    const kinds = ['s3SlowDown', 's3TimeoutAfterWrite', 'crashAfterPayload'] as const;
    const missing = kinds.find((kind) => this.injected[kind] === 0);
    if (missing !== undefined) return missing;
    return kinds.find(() => this.random() < this.rate);
  }
}

/**
 * Creates the checker's faults, switched off until `setEnabled(true)`. `seed` makes the sequence of
 * draws repeatable (the interleaving of concurrent calls still varies from run to run).
 */
export function createCheckFaults(seed: number, rates: FaultRates = DEFAULT_FAULT_RATES): CheckFaults {
  const tally = new HitTally();
  const injector = createFaultInjector({ seed, onInject: (injection) => tally.add(injection.fault) });
  const rules = addRules(injector, rates);
  const forced = new ForcedFaults(tally);
  const crashes = new HandlerCrashes(seededRandom(seed ^ 0x5bd1e995), rates, tally);
  const payloads = new PayloadFaults(seededRandom(seed ^ 0x2545f491), rates.payloadWrite, tally);
  return {
    installS3(client) {
      client.middlewareStack.add(payloads.middleware, {
        step: 'initialize',
        priority: 'low',
        name: 'shoalCheckPayloadFaults',
      });
    },
    install(client) {
      injector.install(client);
      client.middlewareStack.add(forced.middleware, {
        step: 'initialize',
        priority: 'high',
        name: 'shoalCheckForcedFaults',
      });
      client.middlewareStack.add(crashes.middleware, {
        step: 'initialize',
        priority: 'low',
        name: 'shoalCheckHandlerCrash',
      });
    },
    setEnabled(on) {
      forced.enabled = on;
      crashes.enabled = on;
      payloads.enabled = on;
      for (const { rule, probability } of rules) rule.probability = on ? probability : 0;
    },
    counts() {
      return Object.fromEntries(FAULT_KINDS.map((kind) => [kind, tally.total(kind)]));
    },
    hits() {
      return structuredClone(tally.hits);
    },
  };
}
