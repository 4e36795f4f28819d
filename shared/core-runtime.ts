/**
 * The part of the composition root that every function needs: the config, the DynamoDB clients,
 * the telemetry and the clock, with the segment bucket reached through ports only. It imports
 * nothing of the S3 client, so a function that builds its runtime here and never names
 * `runtime.ts` leaves @aws-sdk/client-s3 out of its bundle (esbuild bundles what is referenced):
 * 13-19% of every bundle, and the time to evaluate it at each cold start (BENCHMARKS.md, cold
 * starts). `runtime.ts` builds the whole runtime, S3 clients included, on top of this one.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { translateThrottling } from './adapters/dynamodb/error-boundary.js';
import { instrumentDynamoDb } from './adapters/dynamodb/sdk-metrics.js';
import { readConfig, type ShoalConfig } from './config.js';
import { type Clock, systemClock } from './domain/clock.js';
import { powertoolsTelemetry } from './observability/powertools-telemetry.js';
import { noTelemetry, type Telemetry } from './observability/telemetry.js';
import type { PayloadObjects } from './ports/partition-log.js';
import type { PresignedObjects } from './ports/record-uploads.js';
import type { SegmentObjects } from './ports/segment-archive.js';

/**
 * The segment bucket as the services use it: segments, rescued batches and the payload objects of
 * large appends (`objects`), and presigned URLs with the reads of uploads (`presigned`).
 */
export interface SegmentBucket {
  readonly objects: SegmentObjects & PayloadObjects;
  readonly presigned: PresignedObjects;
}

/** What every handler needs: the config, the DynamoDB clients built from it, and the bucket's ports. */
export interface CoreRuntime {
  readonly config: ShoalConfig;
  readonly dynamodb: DynamoDBClient;
  readonly documents: DynamoDBDocumentClient;
  /** The segment bucket: S3 adapters (`runtime.ts`), or refused ({@link noBucket}). */
  readonly bucket: SegmentBucket;
  /** Where handlers report metrics: EMF in Lambda, nowhere on the local stack. */
  readonly telemetry: Telemetry;
  /** Time and chance for every service built on this runtime; tests give a manual one. */
  readonly clock: Clock;
}

/** Options for tests and the local stack. */
export interface CoreRuntimeOptions {
  /** Called with each new client, e.g. to add fault-injecting middleware in tests. */
  readonly decorateDynamoDb?: (client: DynamoDBClient) => void;
  /** Where metrics go; with one, DynamoDB retries and throttles are counted too. @default noTelemetry */
  readonly telemetry?: Telemetry;
  /** The services' clock. @default systemClock */
  readonly clock?: Clock;
}

/** The local stack's fixed credentials; DynamoDB Local and the S3 server accept any. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'shoal', secretAccessKey: 'shoal-local' };

/** Builds the DynamoDB clients for a config: endpoint and static credentials when it points at the local stack. */
export function createCoreRuntime(
  config: ShoalConfig,
  bucket: SegmentBucket,
  options: CoreRuntimeOptions = {},
): CoreRuntime {
  const dynamodb = new DynamoDBClient({
    region: config.region,
    ...(config.dynamodbEndpoint ? { endpoint: config.dynamodbEndpoint, credentials: LOCAL_CREDENTIALS } : {}),
    maxAttempts: 4,
  });
  translateThrottling(dynamodb);
  options.decorateDynamoDb?.(dynamodb);
  const telemetry = options.telemetry ?? noTelemetry;
  if (options.telemetry) instrumentDynamoDb(dynamodb, telemetry);
  const documents = DynamoDBDocumentClient.from(dynamodb, {
    marshallOptions: { removeUndefinedValues: true },
  });
  return { config, dynamodb, documents, bucket, telemetry, clock: options.clock ?? systemClock };
}

let defaultCoreRuntime: CoreRuntime | undefined;

/**
 * The process-wide runtime from `process.env` of a function that never calls S3, built
 * on first use and reused by warm invocations; its metrics go to CloudWatch (EMF through
 * Powertools). `bucketFor` says how it reaches the bucket ({@link noBucket}).
 */
export function getDefaultCoreRuntime(bucketFor: (config: ShoalConfig) => SegmentBucket): CoreRuntime {
  if (!defaultCoreRuntime) {
    const config = readConfig();
    defaultCoreRuntime = createCoreRuntime(config, bucketFor(config), { telemetry: powertoolsTelemetry() });
  }
  return defaultCoreRuntime;
}

/**
 * The bucket of a function that may not touch it (its role has no S3 access): every call fails
 * with an error naming the function, instead of S3's AccessDenied after a cold S3 client.
 */
export function noBucket(functionName: string): SegmentBucket {
  const refuse = async (): Promise<never> => {
    throw new Error(`${functionName} has no access to the segment bucket; this request needs it`);
  };
  return {
    objects: {
      putSegment: refuse,
      readRange: refuse,
      tagSegment: refuse,
      deleteObjects: refuse,
      putRescued: refuse,
      getRescued: refuse,
      listRescued: refuse,
      putObject: refuse,
    },
    presigned: { presignPut: refuse, presignGet: refuse, readUpload: refuse },
  };
}
