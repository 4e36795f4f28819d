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
import { payloadClassDaysOf, RETENTION_CLASS_TAG } from '../shared/domain/segment-keys.js';

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

/** S3 requests of one operation name, with the payload bytes they carried. */
export interface MeteredS3Operation {
  readonly calls: number;
  /** Bytes sent (PutObject and UploadPart bodies). */
  readonly bytesSent: number;
  /** Bytes received (GetObject bodies, ranged or whole). */
  readonly bytesReceived: number;
  /** Object tags set by the calls (the `Tagging` of PutObject and CreateMultipartUpload). */
  readonly tags: number;
  /** The retention class each call tagged its object with (`shoal-retention-days`), when it did. */
  readonly retentionClassDays: readonly number[];
}

/** A switchable count of S3 requests: the same idea as {@link CapacityMeter}, for S3 clients. */
export interface S3Meter {
  enabled: boolean;
  /** Adds the middleware to a client; pass it as `decorateS3`. */
  install(client: { readonly middlewareStack: Pick<MiddlewareStack<object, MetadataBearer>, 'add'> }): void;
  /** Everything metered so far, by operation (`PutObject`, `GetObject`, ...). */
  snapshot(): Record<string, MeteredS3Operation>;
  reset(): void;
}

/** The number of bytes of a request body as the SDK was given it, when it can be known without reading it. */
export function bodyBytes(body: unknown): number {
  if (typeof body === 'string') return Buffer.byteLength(body, 'utf8');
  if (body instanceof Uint8Array) return body.byteLength;
  if (body instanceof ArrayBuffer) return body.byteLength;
  return 0;
}

/**
 * The tags of an S3 `Tagging` value (a URL query string such as `a=1&b=2` on PutObject, or a
 * `TagSet` on PutObjectTagging) and the retention class among them.
 */
export function parseTagging(tagging: unknown): { tags: number; retentionClassDays: number | undefined } {
  let pairs: [string, string][] = [];
  if (typeof tagging === 'string') pairs = [...new URLSearchParams(tagging)];
  const tagSet = (tagging as { TagSet?: { Key?: string; Value?: string }[] } | undefined)?.TagSet;
  if (Array.isArray(tagSet)) pairs = tagSet.map((tag) => [tag.Key ?? '', tag.Value ?? '']);
  const days = Number(pairs.find(([key]) => key === RETENTION_CLASS_TAG)?.[1]);
  return { tags: pairs.length, retentionClassDays: Number.isFinite(days) && days > 0 ? days : undefined };
}

/** Creates an S3 meter, switched off. */
export function createS3Meter(): S3Meter {
  const byOperation = new Map<
    string,
    { calls: number; bytesSent: number; bytesReceived: number; tags: number; retentionClassDays: number[] }
  >();
  const meter: S3Meter = {
    enabled: false,
    install(client) {
      client.middlewareStack.add(
        (next: InitializeHandler<object, MetadataBearer>, context: HandlerExecutionContext) =>
          async (args: InitializeHandlerArguments<object>) => {
            if (!meter.enabled) return next(args);
            const input = args.input as { Body?: unknown; Tagging?: unknown; Key?: unknown };
            const result = await next(args);
            const operation = (context.commandName ?? 'unknown').replace(/Command$/, '');
            const entry = byOperation.get(operation) ?? {
              calls: 0,
              bytesSent: 0,
              bytesReceived: 0,
              tags: 0,
              retentionClassDays: [],
            };
            const tagging = parseTagging(input.Tagging);
            entry.calls++;
            entry.bytesSent += bodyBytes(input.Body);
            entry.bytesReceived += (result.output as { ContentLength?: number }).ContentLength ?? 0;
            entry.tags += tagging.tags;
            // Segments carry their class in a tag, payload objects in their key.
            const classDays =
              tagging.retentionClassDays ??
              (typeof input.Key === 'string' ? payloadClassDaysOf(input.Key) : undefined);
            if (classDays !== undefined) entry.retentionClassDays.push(classDays);
            byOperation.set(operation, entry);
            return result;
          },
        { step: 'initialize', priority: 'low', name: 'shoalBenchS3Meter' },
      );
    },
    snapshot() {
      return Object.fromEntries(
        [...byOperation].map(([name, entry]) => [
          name,
          { ...entry, retentionClassDays: [...entry.retentionClassDays] },
        ]),
      );
    },
    reset() {
      byOperation.clear();
    },
  };
  return meter;
}
