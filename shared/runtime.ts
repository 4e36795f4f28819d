/**
 * The composition root of the AWS side: builds the SDK clients once per process (module scope in a
 * Lambda, once per local stack) from the config, and hands them to the adapters.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { translateThrottling } from './adapters/dynamodb/error-boundary.js';
import { instrumentDynamoDb } from './adapters/dynamodb/sdk-metrics.js';
import { readConfig, type ShoalConfig } from './config.js';
import { type Clock, systemClock } from './domain/clock.js';
import { powertoolsTelemetry } from './observability/powertools-telemetry.js';
import { noTelemetry, type Telemetry } from './observability/telemetry.js';

/** What every handler needs: the config and the clients built from it. */
export interface Runtime {
  readonly config: ShoalConfig;
  readonly dynamodb: DynamoDBClient;
  readonly documents: DynamoDBDocumentClient;
  readonly s3: S3Client;
  /**
   * Signs presigned URLs only: like `s3`, without the default request checksums, which would sign
   * a checksum of the empty body into an upload URL.
   */
  readonly s3Presigner: S3Client;
  /** Where handlers report metrics: EMF in Lambda, nowhere on the local stack. */
  readonly telemetry: Telemetry;
  /** Time and chance for every service built on this runtime; tests give a manual one. */
  readonly clock: Clock;
}

/** Options for tests and the local stack. */
export interface RuntimeOptions {
  /** Called with each new client, e.g. to add fault-injecting middleware in tests. */
  readonly decorateDynamoDb?: (client: DynamoDBClient) => void;
  readonly decorateS3?: (client: S3Client) => void;
  /** Where metrics go; with one, DynamoDB retries and throttles are counted too. @default noTelemetry */
  readonly telemetry?: Telemetry;
  /** The services' clock. @default systemClock */
  readonly clock?: Clock;
}

/** The local stack's fixed credentials; DynamoDB Local and the S3 server accept any. */
const LOCAL_CREDENTIALS = { accessKeyId: 'shoal', secretAccessKey: 'shoal-local' };

/** Builds the clients for a config: endpoints and static credentials when it points at the local stack. */
export function createRuntime(config: ShoalConfig, options: RuntimeOptions = {}): Runtime {
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
  const s3Settings = {
    region: config.region,
    ...(config.s3Endpoint
      ? { endpoint: config.s3Endpoint, credentials: LOCAL_CREDENTIALS, forcePathStyle: true }
      : {}),
  };
  const s3 = new S3Client(s3Settings);
  options.decorateS3?.(s3);
  const s3Presigner = new S3Client({
    ...s3Settings,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return { config, dynamodb, documents, s3, s3Presigner, telemetry, clock: options.clock ?? systemClock };
}

let defaultRuntime: Runtime | undefined;

/**
 * The process-wide runtime from `process.env`, built on first use and reused by warm invocations;
 * only Lambda entries use it, so its metrics go to CloudWatch (EMF through Powertools).
 */
export function getDefaultRuntime(): Runtime {
  defaultRuntime ??= createRuntime(readConfig(), { telemetry: powertoolsTelemetry() });
  return defaultRuntime;
}

/**
 * The `handler` of a background function (archiver, rescue, dispatcher): built on first use from
 * the default runtime and reused while the Lambda stays warm, with the metrics the runtime's SDK
 * middleware counted during a run (DynamoDB retries and throttles) flushed after each run.
 * @example
 * export const handler = backgroundEntry(createHandler);
 */
export function backgroundEntry<Args extends unknown[], Result>(
  build: (runtime: Runtime) => (...args: Args) => Promise<Result>,
): (...args: Args) => Promise<Result> {
  let built: ((...args: Args) => Promise<Result>) | undefined;
  return async (...args) => {
    const runtime = getDefaultRuntime();
    built ??= build(runtime);
    try {
      return await built(...args);
    } finally {
      runtime.telemetry.flush();
    }
  };
}
