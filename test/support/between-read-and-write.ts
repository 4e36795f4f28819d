/**
 * Races made to order: AWS SDK v3 middleware that runs another client's work right before a
 * chosen write leaves the client under test. The service has already read what it checks (a
 * partition head, a group's generation), so its read-side check has passed; what refuses the stale
 * write, if anything, is the condition inside the DynamoDB transaction itself. The middleware
 * keeps the error (or success) of every write it held back, so a test can show that DynamoDB's
 * own cancellation was what stopped it.
 *
 * @example
 * const races = createRaces();
 * const runtime = await createTestRuntime({ decorateDynamoDb: races.install });
 * const race = races.before('TransactWriteItems', async () => { await other.produce(...); });
 * // ... act through `runtime` ...
 * expect(race.outcomes[0]).toMatchObject({ error: 'TransactionCanceledException' });
 */
import type {
  HandlerExecutionContext,
  InitializeHandler,
  InitializeHandlerArguments,
  MetadataBearer,
} from '@smithy/types';
import type { ClientWithMiddleware } from './faults.js';

/** How a held-back write ended: its error's name and cancellation codes, or success. */
export interface WriteOutcome {
  readonly error?: string;
  /** `CancellationReasons[].Code` of a cancelled transaction, in item order. */
  readonly reasons?: readonly string[];
}

/** One planned intervention, live: `outcomes` fills as held-back writes end. */
export interface Race {
  /** Writes still to hold back. */
  times: number;
  readonly outcomes: WriteOutcome[];
}

export interface Races {
  /** Adds the middleware to a DynamoDB client; pass it as `decorateDynamoDb`. */
  install(client: ClientWithMiddleware): void;
  /**
   * Runs `intervene` before each of the next `times` calls of `command` (e.g. `TransactWriteItems`)
   * whose input `matches`, then sends the call and records how it ended.
   */
  before(
    command: string,
    intervene: () => Promise<void>,
    options?: { readonly times?: number; readonly matches?: (input: unknown) => boolean },
  ): Race;
}

interface Planned {
  readonly command: string;
  readonly intervene: () => Promise<void>;
  readonly matches: (input: unknown) => boolean;
  readonly race: Race;
}

export function createRaces(): Races {
  const planned: Planned[] = [];
  const middleware =
    (next: InitializeHandler<object, MetadataBearer>, context: HandlerExecutionContext) =>
    async (args: InitializeHandlerArguments<object>) => {
      const command = (context.commandName ?? '').replace(/Command$/, '');
      const plan = planned.find(
        (candidate) =>
          candidate.race.times > 0 && candidate.command === command && candidate.matches(args.input),
      );
      if (plan === undefined) return next(args);
      plan.race.times--;
      await plan.intervene();
      try {
        const result = await next(args);
        plan.race.outcomes.push({});
        return result;
      } catch (error) {
        const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons;
        plan.race.outcomes.push({
          error: (error as Error).name,
          ...(reasons ? { reasons: reasons.map((reason) => reason.Code ?? 'None') } : {}),
        });
        throw error;
      }
    };
  return {
    install(client) {
      client.middlewareStack.add(middleware, { step: 'initialize', priority: 'high', name: 'shoalRaces' });
    },
    before(command, intervene, options = {}) {
      const race: Race = { times: options.times ?? 1, outcomes: [] };
      planned.push({
        command: command.replace(/Command$/, ''),
        intervene,
        matches: options.matches ?? (() => true),
        race,
      });
      return race;
    },
  };
}

/**
 * True for a TransactWriteItems input one of whose items has a key whose `pk` and `sk` start with
 * the given prefixes (plain or marshalled, as the input reaches the middleware).
 */
export function touchesKey(pkPrefix: string, skPrefix = ''): (input: unknown) => boolean {
  const text = (value: unknown) =>
    String(typeof value === 'object' && value !== null && 'S' in value ? value.S : (value ?? ''));
  return (input) => {
    const items = (input as { TransactItems?: Record<string, { Key?: { pk?: unknown; sk?: unknown } }>[] })
      .TransactItems;
    return (items ?? []).some((item) =>
      Object.values(item).some(
        (action) =>
          action.Key !== undefined &&
          text(action.Key.pk).startsWith(pkPrefix) &&
          text(action.Key.sk).startsWith(skPrefix),
      ),
    );
  };
}
