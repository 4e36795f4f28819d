/**
 * The one place in the service (handlers, background functions, the local stack) that reads
 * `process.env`. Every other module receives its settings from here, so a missing variable fails at
 * cold start with its name instead of deep inside a request. The client and the CLI, which run in
 * the user's process as a separate package, read their own few (`AWS_REGION` for signing in
 * `client/auth.ts`, the CLI's options in `cli/`).
 */
import { realpathSync, statSync } from 'node:fs';
import { delimiter, resolve } from 'node:path';
import { JWT_ALGORITHMS, JWT_CLOCK_SKEW_S_MAX, type JwtAlgorithm } from './authorization/jwt-settings.js';
import type { OutboxMapping } from './domain/outbox-relay.js';

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
  /**
   * Folders whose files subscriptions may target as modules (the local stack; AWS invokes functions
   * only). Absolute; checked again through realpath at creation and at each invocation.
   * @default the working directory
   */
  readonly moduleDirs?: readonly string[];
  /**
   * The management endpoint of the watch WebSocket API (`https://<id>.execute-api.<region>.amazonaws.com/<stage>`),
   * through which the dispatcher notifies watching consumers of appends; undefined: nobody to notify
   * (the local stack notifies through its own WebSocket server).
   */
  readonly watchEndpoint?: string;
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
  moduleDirs: 'SHOAL_MODULE_DIRS',
  watchEndpoint: 'SHOAL_WATCH_ENDPOINT',
  jwtIssuer: 'SHOAL_JWT_ISSUER',
  jwtAudience: 'SHOAL_JWT_AUDIENCE',
  jwtAlgorithms: 'SHOAL_JWT_ALGORITHMS',
  jwtClockSkewS: 'SHOAL_JWT_CLOCK_SKEW_S',
  jwtJwks: 'SHOAL_JWT_JWKS',
  jwtJwksUrl: 'SHOAL_JWT_JWKS_URL',
  jwtSecretArn: 'SHOAL_JWT_SECRET_ARN',
  jwtAclClaim: 'SHOAL_JWT_ACL_CLAIM',
  jwtPrincipalClaim: 'SHOAL_JWT_PRINCIPAL_CLAIM',
  outboxTopic: 'SHOAL_OUTBOX_TOPIC',
  outboxKeyAttribute: 'SHOAL_OUTBOX_KEY_ATTRIBUTE',
  outboxValueAttribute: 'SHOAL_OUTBOX_VALUE_ATTRIBUTE',
  outboxStringValueType: 'SHOAL_OUTBOX_STRING_VALUE_TYPE',
  outboxRelays: 'SHOAL_OUTBOX_RELAYS',
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
    ...(env[ENV.watchEndpoint] ? { watchEndpoint: env[ENV.watchEndpoint] } : {}),
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
  /**
   * The only folders subscription modules may be loaded from, as real paths (symlinks resolved), so
   * nothing outside them can be named, not even through a symlink or `..`. Listed in
   * `SHOAL_MODULE_DIRS`, separated by the path delimiter (`:`; `;` on Windows), relative ones from
   * the working directory; each must exist.
   * @default the working directory of `npm start`
   */
  readonly moduleDirs: readonly string[];
  /**
   * Tables of this DynamoDB whose outbox items the stack relays to topics, as `ShoalOutbox` does in
   * AWS: a JSON list in `SHOAL_OUTBOX_RELAYS`, e.g.
   * `[{"tableName":"orders","topic":"order-events","keyAttribute":"orderId","valueAttribute":"event"}]`
   * (`stringValueType` is optional, `JSON` by default).
   * @default none
   */
  readonly outboxRelays: readonly LocalOutboxRelay[];
}

/** One relay of the local stack: the table whose stream it follows, and its mapping. */
export interface LocalOutboxRelay extends OutboxMapping {
  readonly tableName: string;
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
    moduleDirs: folders(env, ENV.moduleDirs),
    outboxRelays: localOutboxRelays(env),
  };
}

/** Attribute names: what DynamoDB allows (1 to 255 bytes; a key attribute's), checked as characters. */
const ATTRIBUTE_NAME_LENGTH_MAX = 255;
/** Kafka's topic names, as the topics API checks them. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/**
 * Reads the settings of the outbox relay (`functions/relay-outbox.ts`), which `ShoalOutbox` sets.
 * @throws Error naming the variable that is missing or malformed
 */
export function readOutboxConfig(env: NodeJS.ProcessEnv = process.env): OutboxMapping {
  return outboxMappingOf(
    {
      topic: required(env, ENV.outboxTopic),
      keyAttribute: required(env, ENV.outboxKeyAttribute),
      valueAttribute: required(env, ENV.outboxValueAttribute),
      stringValueType: env[ENV.outboxStringValueType] || 'JSON',
    },
    (field) =>
      ({
        topic: ENV.outboxTopic,
        keyAttribute: ENV.outboxKeyAttribute,
        valueAttribute: ENV.outboxValueAttribute,
        stringValueType: ENV.outboxStringValueType,
      })[field],
  );
}

/** Checks one mapping's fields; `nameOf` says how the message names a field. */
function outboxMappingOf(
  fields: Record<'topic' | 'keyAttribute' | 'valueAttribute' | 'stringValueType', unknown>,
  nameOf: (field: keyof typeof fields) => string,
): OutboxMapping {
  const { topic, keyAttribute, valueAttribute, stringValueType } = fields;
  if (typeof topic !== 'string' || !TOPIC_NAME.test(topic)) {
    throw new Error(
      `${nameOf('topic')} must be a topic name ([a-zA-Z0-9._-], 1 to 249), got ${JSON.stringify(topic)}`,
    );
  }
  for (const [field, value] of [
    ['keyAttribute', keyAttribute],
    ['valueAttribute', valueAttribute],
  ] as const) {
    if (typeof value !== 'string' || value.length === 0 || value.length > ATTRIBUTE_NAME_LENGTH_MAX) {
      throw new Error(
        `${nameOf(field)} must be an attribute name of 1 to ${ATTRIBUTE_NAME_LENGTH_MAX} characters, got ${JSON.stringify(value)}`,
      );
    }
  }
  if (stringValueType !== 'JSON' && stringValueType !== 'STRING') {
    throw new Error(
      `${nameOf('stringValueType')} must be JSON or STRING, got ${JSON.stringify(stringValueType)}`,
    );
  }
  return {
    topic,
    keyAttribute: keyAttribute as string,
    valueAttribute: valueAttribute as string,
    stringValueType,
  };
}

/** The most relays one local stack runs (one stream follower each). */
const LOCAL_OUTBOX_RELAYS_MAX = 20;

function localOutboxRelays(env: NodeJS.ProcessEnv): LocalOutboxRelay[] {
  const raw = env[ENV.outboxRelays];
  if (raw === undefined || raw.trim() === '') return [];
  let listed: unknown;
  try {
    listed = JSON.parse(raw);
  } catch {
    throw new Error(`${ENV.outboxRelays} must be a JSON list of relays, got "${raw}"`);
  }
  if (!Array.isArray(listed) || listed.length > LOCAL_OUTBOX_RELAYS_MAX) {
    throw new Error(
      `${ENV.outboxRelays} must be a JSON list of at most ${LOCAL_OUTBOX_RELAYS_MAX} relays, got "${raw}"`,
    );
  }
  return listed.map((entry: unknown, index) => {
    const relay = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    const { tableName } = relay;
    if (typeof tableName !== 'string' || !/^[a-zA-Z0-9_.-]{3,255}$/.test(tableName)) {
      throw new Error(
        `${ENV.outboxRelays}[${index}].tableName must be a DynamoDB table name, got ${JSON.stringify(tableName)}`,
      );
    }
    const mapping = outboxMappingOf(
      {
        topic: relay.topic,
        keyAttribute: relay.keyAttribute,
        valueAttribute: relay.valueAttribute,
        stringValueType: relay.stringValueType ?? 'JSON',
      },
      (field) => `${ENV.outboxRelays}[${index}].${field}`,
    );
    return { tableName, ...mapping };
  });
}

/** Real paths of the folders listed in `name`, or of the working directory when it is unset. */
function folders(env: NodeJS.ProcessEnv, name: string): string[] {
  const raw = env[name];
  const listed = (raw ?? '')
    .split(delimiter)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (listed.length === 0) return [realpathSync(process.cwd())];
  return listed.map((entry) => {
    const path = resolve(entry);
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      throw new Error(`${name} lists ${path}, which does not exist`);
    }
    if (!statSync(real).isDirectory()) throw new Error(`${name} lists ${path}, which is not a folder`);
    return real;
  });
}

/** Settings of the JWT authorizer (`functions/authorize-token.ts`); `infra/authorization.ts` sets them. */
export interface AuthorizerConfig {
  /** The exact `iss` claim tokens must carry. */
  readonly issuer: string;
  /** A value tokens' `aud` claim must hold. */
  readonly audience: string;
  /** Accepted signature algorithms (comma-separated in the environment). */
  readonly algorithms: readonly JwtAlgorithm[];
  /** Tolerated clock difference, in seconds. @default 60 */
  readonly clockSkewS: number;
  /** An inline JWKS document (JSON) with the RS256 keys. */
  readonly jwks: string | undefined;
  /** The provider's `jwks_uri`, fetched and cached. */
  readonly jwksUrl: string | undefined;
  /** ARN of the Secrets Manager secret holding the HS256 key. */
  readonly hs256SecretArn: string | undefined;
  /** The claim listing the principal's ACL entries (an array, or a space-separated string such as `scope`). @default 'shoal_acl' */
  readonly aclClaim: string;
  /** The claim naming the principal. @default 'sub' */
  readonly principalClaim: string;
  readonly region: string;
}

/**
 * Reads the authorizer's settings.
 * @throws Error naming the variable that is missing or malformed, or the key source that is missing
 */
export function readAuthorizerConfig(env: NodeJS.ProcessEnv = process.env): AuthorizerConfig {
  const algorithms = required(env, ENV.jwtAlgorithms)
    .split(',')
    .map((algorithm) => algorithm.trim());
  for (const algorithm of algorithms) {
    if (!JWT_ALGORITHMS.includes(algorithm as JwtAlgorithm)) {
      throw new Error(`${ENV.jwtAlgorithms} may list ${JWT_ALGORITHMS.join(', ')}, got "${algorithm}"`);
    }
  }
  const config: AuthorizerConfig = {
    issuer: required(env, ENV.jwtIssuer),
    audience: required(env, ENV.jwtAudience),
    algorithms: algorithms as JwtAlgorithm[],
    clockSkewS: integer(env, ENV.jwtClockSkewS, 60, 0, JWT_CLOCK_SKEW_S_MAX),
    jwks: env[ENV.jwtJwks] || undefined,
    jwksUrl: env[ENV.jwtJwksUrl] || undefined,
    hs256SecretArn: env[ENV.jwtSecretArn] || undefined,
    aclClaim: env[ENV.jwtAclClaim] || 'shoal_acl',
    principalClaim: env[ENV.jwtPrincipalClaim] || 'sub',
    region: env[ENV.region] ?? 'us-east-1',
  };
  if (config.algorithms.includes('RS256') && !config.jwks && !config.jwksUrl) {
    throw new Error(`RS256 needs keys: set ${ENV.jwtJwks} or ${ENV.jwtJwksUrl}`);
  }
  if (config.algorithms.includes('HS256') && !config.hs256SecretArn) {
    throw new Error(`HS256 needs a secret: set ${ENV.jwtSecretArn}`);
  }
  return config;
}
