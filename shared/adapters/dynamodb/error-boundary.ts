/**
 * The one translation of DynamoDB errors that every adapter shares, installed as AWS SDK v3
 * middleware on the client (the document client shares its stack): a call DynamoDB refused for
 * capacity, after the SDK's own retries, becomes a {@link RetryableError} (429 with Retry-After at
 * the HTTP edge), whichever adapter made it and whether it was a read, a write or a transaction
 * with a throttled item. Adapters therefore only classify what is theirs to classify (a failed
 * condition, a conflict, an outcome the caller cannot know) and never see throttling.
 *
 * ```
 * adapter ──send──► [shoalThrottling] ──► [retry metrics] ──► [SDK retries] ──► DynamoDB
 *                        ▲ throttled after the retries: RetryableError('throttled')
 * ```
 */
import type { InitializeHandler, InitializeHandlerArguments, MetadataBearer } from '@smithy/types';
import { throttlingAsRetryable } from '../sdk-errors.js';

/** The part of a client this needs (a DynamoDBClient). */
export interface ClientWithInitializeMiddleware {
  readonly middlewareStack: {
    add(middleware: unknown, options: { step: 'initialize'; priority: 'high'; name: string }): void;
  };
}

const translated = new WeakSet<object>();

/**
 * Adds the translation to a client once (a second call does nothing). Install it before any other
 * middleware of the `initialize` step, so that it is the outermost and sees every error, also those
 * that tests inject beneath it.
 * @example
 * const dynamodb = new DynamoDBClient({});
 * translateThrottling(dynamodb);
 */
export function translateThrottling(client: ClientWithInitializeMiddleware): void {
  if (translated.has(client)) return;
  translated.add(client);
  client.middlewareStack.add(
    (next: InitializeHandler<object, MetadataBearer>) => async (args: InitializeHandlerArguments<object>) => {
      try {
        return await next(args);
      } catch (error) {
        throw throttlingAsRetryable(error) ?? error;
      }
    },
    { step: 'initialize', priority: 'high', name: 'shoalThrottling' },
  );
}
