/**
 * Counts what the SDK hides: attempts DynamoDB refused for capacity and requests the SDK retried.
 * Both are AWS SDK v3 middleware on the client (the document client shares its stack), so every
 * adapter call is counted without the adapters knowing.
 */
import type {
  FinalizeHandler,
  FinalizeHandlerArguments,
  InitializeHandler,
  InitializeHandlerArguments,
  MetadataBearer,
} from '@smithy/types';
import { METRIC, type Telemetry } from '../../observability/telemetry.js';
import { isThrottling } from '../sdk-errors.js';

/** The part of a client this needs (a DynamoDBClient, or any SDK v3 client). */
export interface ClientWithMiddleware {
  readonly middlewareStack: {
    add(middleware: unknown, options: { step: 'initialize'; priority: 'high'; name: string }): void;
    addRelativeTo(
      middleware: unknown,
      options: { relation: 'after'; toMiddleware: string; name: string },
    ): void;
  };
}

const instrumented = new WeakSet<object>();

/** Adds the counting middleware to a client once (a second call does nothing). */
export function instrumentDynamoDb(client: ClientWithMiddleware, telemetry: Telemetry): void {
  if (instrumented.has(client)) return;
  instrumented.add(client);
  // Per call, outside the retry middleware: how many attempts the call took.
  client.middlewareStack.add(
    (next: InitializeHandler<object, MetadataBearer>) => async (args: InitializeHandlerArguments<object>) => {
      try {
        const result = await next(args);
        countRetries(telemetry, result.output?.$metadata?.attempts);
        return result;
      } catch (error) {
        countRetries(telemetry, (error as Partial<MetadataBearer> | null)?.$metadata?.attempts);
        throw error;
      }
    },
    { step: 'initialize', priority: 'high', name: 'shoalRetryMetrics' },
  );
  // Per attempt, right inside the retry middleware: each refusal for capacity.
  client.middlewareStack.addRelativeTo(
    (next: FinalizeHandler<object, MetadataBearer>) => async (args: FinalizeHandlerArguments<object>) => {
      try {
        return await next(args);
      } catch (error) {
        if (isThrottling(error)) telemetry.count(METRIC.dynamoDbThrottles, 1);
        throw error;
      }
    },
    { relation: 'after', toMiddleware: 'retryMiddleware', name: 'shoalThrottleMetrics' },
  );
}

function countRetries(telemetry: Telemetry, attempts: number | undefined): void {
  if (attempts !== undefined && attempts > 1) telemetry.count(METRIC.dynamoDbRetries, attempts - 1);
}
