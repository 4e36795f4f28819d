/**
 * The one place that reads `process.env`. Every other module receives its settings from here, so a
 * missing variable fails at cold start with its name instead of deep inside a request.
 */

/** Settings every Lambda handler and the local stack need. */
export interface ShoalConfig {
  /** DynamoDB table holding the batches of every partition (the hot tier). */
  readonly logTableName: string;
  /** DynamoDB table holding topics, partition heads, idempotency keys and group state. */
  readonly metaTableName: string;
  /** S3 bucket holding archived segments. */
  readonly segmentBucketName: string;
  /** AWS region of the clients. */
  readonly region: string;
  /** Endpoint override for DynamoDB (the local stack); undefined in AWS. */
  readonly dynamodbEndpoint: string | undefined;
  /** Endpoint override for S3 (the local stack); undefined in AWS. */
  readonly s3Endpoint: string | undefined;
}

/** Environment variable names, shared with the CDK stack that sets them. */
export const ENV = {
  logTableName: 'SHOAL_LOG_TABLE',
  metaTableName: 'SHOAL_META_TABLE',
  segmentBucketName: 'SHOAL_SEGMENT_BUCKET',
  dynamodbEndpoint: 'SHOAL_DYNAMODB_ENDPOINT',
  s3Endpoint: 'SHOAL_S3_ENDPOINT',
  region: 'AWS_REGION',
  port: 'SHOAL_PORT',
  dataDir: 'SHOAL_DATA_DIR',
  archiveIntervalMs: 'SHOAL_ARCHIVE_INTERVAL_MS',
  logRequests: 'SHOAL_LOG_REQUESTS',
} as const;

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') {
    throw new Error(`Missing environment variable ${name}`);
  }
  return value;
}

/**
 * Reads the service settings from an environment (by default `process.env`).
 * @throws Error naming the first missing variable.
 */
export function readConfig(env: NodeJS.ProcessEnv = process.env): ShoalConfig {
  return {
    logTableName: required(env, ENV.logTableName),
    metaTableName: required(env, ENV.metaTableName),
    segmentBucketName: required(env, ENV.segmentBucketName),
    region: env[ENV.region] ?? 'us-east-1',
    dynamodbEndpoint: env[ENV.dynamodbEndpoint] || undefined,
    s3Endpoint: env[ENV.s3Endpoint] || undefined,
  };
}

/** Settings of the local stack (`npm start`). */
export interface LocalStackConfig {
  /** Port of the HTTP API on 127.0.0.1. @default 8092 */
  readonly port: number;
  /** Folder for DynamoDB Local's and the S3 server's files. @default .shoal */
  readonly dataDir: string;
  /** How often the archiver runs on the local stack. @default 5000 */
  readonly archiveIntervalMs: number;
  /** Print one line per HTTP request; on when set to anything but empty, `0` or `false`. @default false */
  readonly logRequests: boolean;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = env[name]?.trim().toLowerCase();
  return raw !== undefined && raw !== '' && raw !== '0' && raw !== 'false';
}

/** Reads the local stack's settings; throws with the variable's name when one is malformed. */
export function readLocalStackConfig(env: NodeJS.ProcessEnv = process.env): LocalStackConfig {
  return {
    port: integer(env, ENV.port, 8092, 0, 65535),
    dataDir: env[ENV.dataDir] || '.shoal',
    archiveIntervalMs: integer(env, ENV.archiveIntervalMs, 5000, 100, 3_600_000),
    logRequests: flag(env, ENV.logRequests),
  };
}
