/**
 * The faults the consistency checker injects into the service's DynamoDB client, all through AWS
 * SDK v3 middleware:
 *
 * - throttling, transaction conflicts and timeouts after a successful write, from the shared test
 *   injector (`test/support/faults.ts`), both above the SDK's retries (the service sees them) and
 *   beneath them (the SDK's own retries see them);
 * - handler crashes part way: the handler dies right after its append transaction committed (so
 *   the client gets a 5xx for a write that happened and must retry), or before it wrote anything.
 *
 * Every probability can be switched off at once, so the final verification reads a quiet service.
 */
import type {
  HandlerExecutionContext,
  InitializeHandler,
  InitializeHandlerArguments,
  MetadataBearer,
} from '@smithy/types';
import { type ClientWithMiddleware, createFaultInjector, type FaultRule } from '../../test/support/faults.js';

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
}

/** The checker's default mix: roughly one append in three meets some fault. */
export const DEFAULT_FAULT_RATES: FaultRates = {
  throttle: 0.05,
  conflict: 0.1,
  timeoutAfterWrite: 0.06,
  crashAfterWrite: 0.06,
  crashBeforeWrite: 0.02,
};

/** Installed faults and their switch. */
export interface CheckFaults {
  /** Pass as `decorateDynamoDb`. */
  install(client: ClientWithMiddleware): void;
  /** Turns every fault on (at its rate) or off. */
  setEnabled(enabled: boolean): void;
  /** How many faults of each kind were injected so far. */
  counts(): Record<string, number>;
}

/**
 * Creates the checker's faults, switched off until `setEnabled(true)`. `seed` makes the sequence of
 * draws repeatable (the interleaving of concurrent calls still varies from run to run).
 */
export function createCheckFaults(seed: number, rates: FaultRates = DEFAULT_FAULT_RATES): CheckFaults {
  const injector = createFaultInjector({ seed });
  const writes = ['TransactWriteItems'];
  const reads = ['GetItem', 'BatchGetItem', 'Query'];
  const rules: { rule: FaultRule; probability: number }[] = [
    {
      rule: injector.add({ commands: writes, fault: 'throttle', probability: rates.throttle }),
      probability: rates.throttle,
    },
    {
      rule: injector.add({
        commands: writes,
        fault: 'throttle',
        probability: rates.throttle,
        layer: 'attempt',
      }),
      probability: rates.throttle,
    },
    {
      rule: injector.add({
        commands: reads,
        fault: 'throttle',
        probability: rates.throttle / 2,
        throttleError: 'ThrottlingException',
      }),
      probability: rates.throttle / 2,
    },
    {
      rule: injector.add({ commands: writes, fault: 'conflict', probability: rates.conflict }),
      probability: rates.conflict,
    },
    {
      rule: injector.add({
        commands: writes,
        fault: 'timeoutAfterWrite',
        probability: rates.timeoutAfterWrite,
      }),
      probability: rates.timeoutAfterWrite,
    },
    {
      rule: injector.add({
        commands: writes,
        fault: 'timeoutAfterWrite',
        probability: rates.timeoutAfterWrite / 2,
        layer: 'attempt',
      }),
      probability: rates.timeoutAfterWrite / 2,
    },
  ];
  let enabled = false;
  for (const { rule } of rules) rule.probability = 0;
  let crashesAfterWrite = 0;
  let crashesBeforeWrite = 0;
  let state = (seed ^ 0x5bd1e995) >>> 0;
  const random = () => {
    // xorshift32: the crash draws use their own sequence, apart from the injector's.
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4_294_967_296;
  };
  const crashMiddleware =
    (next: InitializeHandler<object, MetadataBearer>, context: HandlerExecutionContext) =>
    async (args: InitializeHandlerArguments<object>) => {
      const operation = (context.commandName ?? '').replace(/Command$/, '');
      if (enabled && operation === 'BatchGetItem' && random() < rates.crashBeforeWrite) {
        crashesBeforeWrite++;
        throw new InjectedHandlerCrash('Injected crash: the handler died before writing anything');
      }
      const result = await next(args);
      if (enabled && operation === 'TransactWriteItems' && random() < rates.crashAfterWrite) {
        crashesAfterWrite++;
        throw new InjectedHandlerCrash('Injected crash: the handler died after its append committed');
      }
      return result;
    };
  return {
    install(client) {
      injector.install(client);
      client.middlewareStack.add(crashMiddleware, {
        step: 'initialize',
        priority: 'low',
        name: 'shoalCheckHandlerCrash',
      });
    },
    setEnabled(on) {
      enabled = on;
      for (const { rule, probability } of rules) rule.probability = on ? probability : 0;
    },
    counts() {
      return {
        throttle: injector.count('throttle'),
        conflict: injector.count('conflict'),
        timeoutAfterWrite: injector.count('timeoutAfterWrite'),
        crashAfterWrite: crashesAfterWrite,
        crashBeforeWrite: crashesBeforeWrite,
      };
    },
  };
}
