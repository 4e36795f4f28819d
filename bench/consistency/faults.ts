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
 * Every probability can be switched off at once, so the final verification reads a quiet service,
 * and every kind of fault happens at least once per run, however short.
 */
import type {
  HandlerExecutionContext,
  InitializeHandler,
  InitializeHandlerArguments,
  MetadataBearer,
} from '@smithy/types';
import { seededRandom } from '../../test/support/events.js';
import {
  type ClientWithMiddleware,
  createFaultInjector,
  type FaultInjector,
  type FaultRule,
  type FaultRuleInput,
  s3SlowDown,
  timeoutError,
} from '../../test/support/faults.js';

/** The error an injected crash throws; no AWS error name, so the service treats it as a bug (5xx). */
export class InjectedHandlerCrash extends Error {
  override readonly name = 'InjectedHandlerCrash';
}

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
 * Each kind of fault is forced once, on this many matching calls after faults are switched on, if
 * its rate has not produced one by then: a short run still meets every kind.
 */
const GUARANTEED_FAULT_CALL = 5;

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
}

/** An injector rule and how it is switched on: at its rate, or (`once`) on one call so every kind occurs. */
interface SwitchedRule {
  readonly rule: FaultRule;
  readonly probability: number;
  readonly once: boolean;
}

/** The injector's rules, all added switched off: throttling, conflicts and timeouts after a write. */
function addRules(injector: FaultInjector, rates: FaultRates): SwitchedRule[] {
  const writes = ['TransactWriteItems'];
  const reads = ['GetItem', 'BatchGetItem', 'Query'];
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
  ]
    .map(({ input, probability }) => ({
      rule: injector.add({ ...(input as FaultRuleInput), probability: 0 }),
      probability,
      once: false,
    }))
    .concat(
      (['throttle', 'conflict', 'timeoutAfterWrite'] as const).map((fault) => ({
        rule: injector.add({ commands: writes, fault, times: 0 }),
        probability: 0,
        once: true,
      })),
    );
}

/**
 * Handler crashes as middleware: before anything is written (on the head read, a BatchGetItem) or
 * right after the append transaction committed.
 */
class HandlerCrashes {
  enabled = false;
  afterWrite = 0;
  beforeWrite = 0;
  private writesSinceEnabled = 0;
  private headReadsSinceEnabled = 0;

  constructor(
    private readonly random: () => number,
    private readonly rates: FaultRates,
  ) {}

  readonly middleware =
    (next: InitializeHandler<object, MetadataBearer>, context: HandlerExecutionContext) =>
    async (args: InitializeHandlerArguments<object>) => {
      const operation = (context.commandName ?? '').replace(/Command$/, '');
      if (this.enabled && operation === 'BatchGetItem') {
        this.headReadsSinceEnabled++;
        const forced = this.beforeWrite === 0 && this.headReadsSinceEnabled === GUARANTEED_FAULT_CALL;
        if (forced || this.random() < this.rates.crashBeforeWrite) {
          this.beforeWrite++;
          throw new InjectedHandlerCrash('Injected crash: the handler died before writing anything');
        }
      }
      const result = await next(args);
      if (this.enabled && operation === 'TransactWriteItems') {
        this.writesSinceEnabled++;
        const forced = this.afterWrite === 0 && this.writesSinceEnabled === GUARANTEED_FAULT_CALL;
        if (forced || this.random() < this.rates.crashAfterWrite) {
          this.afterWrite++;
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
        throw s3SlowDown();
      }
      const result = await next(args);
      if (kind === 's3TimeoutAfterWrite') {
        this.injected.s3TimeoutAfterWrite++;
        throw timeoutError();
      }
      if (kind === 'crashAfterPayload') {
        this.injected.crashAfterPayload++;
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
  const injector = createFaultInjector({ seed });
  const rules = addRules(injector, rates);
  const crashes = new HandlerCrashes(seededRandom(seed ^ 0x5bd1e995), rates);
  const payloads = new PayloadFaults(seededRandom(seed ^ 0x2545f491), rates.payloadWrite);
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
      client.middlewareStack.add(crashes.middleware, {
        step: 'initialize',
        priority: 'low',
        name: 'shoalCheckHandlerCrash',
      });
    },
    setEnabled(on) {
      crashes.enabled = on;
      payloads.enabled = on;
      for (const { rule, probability, once } of rules) {
        if (once) rule.times = on && rule.injected === 0 ? 1 : 0;
        else rule.probability = on ? probability : 0;
      }
    },
    counts() {
      return {
        throttle: injector.count('throttle'),
        conflict: injector.count('conflict'),
        timeoutAfterWrite: injector.count('timeoutAfterWrite'),
        crashAfterWrite: crashes.afterWrite,
        crashBeforeWrite: crashes.beforeWrite,
        ...payloads.injected,
      };
    },
  };
}
