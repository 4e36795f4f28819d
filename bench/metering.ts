/**
 * Capacity metering through AWS SDK v3 middleware: while switched on, every DynamoDB call asks for
 * `ReturnConsumedCapacity: TOTAL` and the units DynamoDB (Local) reports are added up per operation.
 * DynamoDB Local sizes items by the same rules as the service (1 KB per write unit, 4 KB per read
 * unit, transactions twice), so this is a second, independent figure next to the benchmark's own
 * item-size accounting.
 *
 * @example
 * const meter = createCapacityMeter();
 * const runtime = createRuntime(config, { decorateDynamoDb: meter.install });
 * meter.enabled = true; await work(); meter.enabled = false;
 * meter.total('TransactWriteItems');
 */
import type {
  HandlerExecutionContext,
  InitializeHandler,
  InitializeHandlerArguments,
  MetadataBearer,
  MiddlewareStack,
} from '@smithy/types';

/** Capacity units reported for one operation name. */
export interface MeteredOperation {
  readonly calls: number;
  readonly capacityUnits: number;
}

/** A switchable meter. */
export interface CapacityMeter {
  /** Only calls made while this is true are metered (and asked for their capacity). */
  enabled: boolean;
  /** Adds the middleware to a client; pass it as `decorateDynamoDb`. */
  install(client: { readonly middlewareStack: Pick<MiddlewareStack<object, MetadataBearer>, 'add'> }): void;
  /** Units so far for one operation (`TransactWriteItems`, `Query`, ...), or for all of them. */
  total(operation?: string): number;
  /** Everything metered so far, by operation. */
  snapshot(): Record<string, MeteredOperation>;
  /** Forgets everything metered so far. */
  reset(): void;
}

interface ConsumedCapacityLike {
  readonly CapacityUnits?: number;
}

function unitsOf(output: unknown): number {
  const consumed = (
    output as { ConsumedCapacity?: ConsumedCapacityLike | ConsumedCapacityLike[] } | undefined
  )?.ConsumedCapacity;
  if (consumed === undefined) return 0;
  const list = Array.isArray(consumed) ? consumed : [consumed];
  return list.reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
}

/** Creates a meter, switched off. */
export function createCapacityMeter(): CapacityMeter {
  const byOperation = new Map<string, { calls: number; capacityUnits: number }>();
  const meter: CapacityMeter = {
    enabled: false,
    install(client) {
      client.middlewareStack.add(
        (next: InitializeHandler<object, MetadataBearer>, context: HandlerExecutionContext) =>
          async (args: InitializeHandlerArguments<object>) => {
            if (!meter.enabled) return next(args);
            const input = args.input as Record<string, unknown>;
            const result = await next({ ...args, input: { ...input, ReturnConsumedCapacity: 'TOTAL' } });
            const operation = (context.commandName ?? 'unknown').replace(/Command$/, '');
            const entry = byOperation.get(operation) ?? { calls: 0, capacityUnits: 0 };
            entry.calls++;
            entry.capacityUnits += unitsOf(result.output);
            byOperation.set(operation, entry);
            return result;
          },
        { step: 'initialize', priority: 'low', name: 'shoalBenchCapacityMeter' },
      );
    },
    total(operation) {
      if (operation !== undefined) return byOperation.get(operation)?.capacityUnits ?? 0;
      return [...byOperation.values()].reduce((sum, entry) => sum + entry.capacityUnits, 0);
    },
    snapshot() {
      return Object.fromEntries([...byOperation].map(([name, entry]) => [name, { ...entry }]));
    },
    reset() {
      byOperation.clear();
    },
  };
  return meter;
}
