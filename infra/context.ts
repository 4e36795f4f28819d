/**
 * Deployment settings from CDK context, so that `cdk deploy` of this repository needs no code
 * change: put them in `cdk.context.json`, in `cdk.json`, or on the command line
 * (`-c shoal:webAclArn=arn:...`; objects as JSON: `-c 'shoal:accessPolicies={"OrdersProducer":["topic:orders:Write"]}'`).
 * Every key is optional; `docs/deploy.md` lists them.
 */
import { Duration, type StackProps } from 'aws-cdk-lib';
import type { Node } from 'constructs';
import { parseAcl } from '../shared/authorization/acl.js';
import { JWT_ALGORITHMS, type JwtAlgorithm } from '../shared/authorization/jwt-settings.js';
import type { ShoalJwtAuthorizerProps } from './authorization.js';
import type { ShoalApiProps, ShoalStatelessStackProps } from './shoal-api.js';
import type { ShoalStatefulStackProps } from './shoal-storage.js';

/** The context keys this app reads. */
export const CONTEXT_KEYS = {
  deletionProtection: 'shoal:deletionProtection',
  segmentObjectLock: 'shoal:segmentObjectLock',
  stageName: 'shoal:stageName',
  throttlingRateLimit: 'shoal:throttlingRateLimit',
  throttlingBurstLimit: 'shoal:throttlingBurstLimit',
  throttling: 'shoal:throttling',
  traceSampleRate: 'shoal:traceSampleRate',
  traceReservoirPerSecond: 'shoal:traceReservoirPerSecond',
  webAclArn: 'shoal:webAclArn',
  jwt: 'shoal:jwt',
  accessPolicies: 'shoal:accessPolicies',
  alarmTopicArn: 'shoal:alarmTopicArn',
  consumerLagThreshold: 'shoal:consumerLagThreshold',
  observability: 'shoal:observability',
  /** Read where it is used (`deploymentNameOf` in `shoal-function.ts`). */
  deployment: 'shoal:deployment',
} as const;

/** The settings of both stacks, read from context. */
export interface ShoalContext {
  readonly stateful: Omit<ShoalStatefulStackProps, keyof StackProps>;
  readonly stateless: Omit<ShoalStatelessStackProps, 'storage' | keyof StackProps>;
}

/**
 * Reads and checks the `shoal:*` context keys.
 * @throws Error naming the key and showing the bad value
 */
export function readShoalContext(node: Node): ShoalContext {
  const { get, string, number, boolean } = contextReader(node);
  const deletionProtection = boolean(CONTEXT_KEYS.deletionProtection);
  const segmentObjectLock = objectLockOf(get(CONTEXT_KEYS.segmentObjectLock));
  const stageName = string(CONTEXT_KEYS.stageName);
  const throttlingRateLimit = number(CONTEXT_KEYS.throttlingRateLimit);
  const throttlingBurstLimit = number(CONTEXT_KEYS.throttlingBurstLimit);
  const throttling = throttlingOf(get(CONTEXT_KEYS.throttling));
  const traceSampleRate = number(CONTEXT_KEYS.traceSampleRate);
  const traceReservoirPerSecond = number(CONTEXT_KEYS.traceReservoirPerSecond);
  const webAclArn = string(CONTEXT_KEYS.webAclArn);
  const jwtAuthorizer = jwtOf(get(CONTEXT_KEYS.jwt));
  const accessPolicies = accessPoliciesOf(get(CONTEXT_KEYS.accessPolicies));
  const alarmTopicArn = string(CONTEXT_KEYS.alarmTopicArn);
  const consumerLagThreshold = number(CONTEXT_KEYS.consumerLagThreshold);
  const observabilityOn = boolean(CONTEXT_KEYS.observability);

  return {
    stateful:
      deletionProtection === undefined && segmentObjectLock === undefined
        ? {}
        : {
            storage: {
              ...(deletionProtection === undefined ? {} : { deletionProtection }),
              ...(segmentObjectLock === undefined ? {} : { segmentObjectLock }),
            },
          },
    stateless: {
      api: {
        ...(stageName === undefined ? {} : { stageName }),
        ...(throttlingRateLimit === undefined ? {} : { throttlingRateLimit }),
        ...(throttlingBurstLimit === undefined ? {} : { throttlingBurstLimit }),
        ...(throttling === undefined ? {} : { throttling }),
        ...(traceSampleRate === undefined ? {} : { traceSampleRate }),
        ...(traceReservoirPerSecond === undefined ? {} : { traceReservoirPerSecond }),
        ...(webAclArn === undefined ? {} : { webAclArn }),
        ...(jwtAuthorizer === undefined ? {} : { jwtAuthorizer }),
      },
      ...(accessPolicies === undefined ? {} : { accessPolicies }),
      observability:
        observabilityOn === false
          ? false
          : {
              ...(alarmTopicArn === undefined ? {} : { alarmTopicArn }),
              ...(consumerLagThreshold === undefined ? {} : { consumerLagThreshold }),
            },
    },
  };
}

/** Typed readers of `shoal:*` context values: `-c key=value` strings are parsed as JSON where they look like it. */
function contextReader(node: Node) {
  const get = (key: string): unknown => {
    const value = node.tryGetContext(key);
    // Values from `-c key=value` arrive as strings; objects, numbers and booleans may be JSON.
    if (typeof value === 'string' && /^[[{]|^(true|false|-?\d+(\.\d+)?)$/.test(value.trim())) {
      try {
        return JSON.parse(value);
      } catch {
        throw new Error(`Context ${key} is not valid JSON: ${value}`);
      }
    }
    return value;
  };
  const string = (key: string): string | undefined => {
    const value = get(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value === '')
      throw new Error(`Context ${key} must be a string, got ${JSON.stringify(value)}`);
    return value;
  };
  const number = (key: string): number | undefined => {
    const value = get(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new Error(`Context ${key} must be a number, got ${JSON.stringify(value)}`);
    }
    return value;
  };
  const boolean = (key: string): boolean | undefined => {
    const value = get(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean')
      throw new Error(`Context ${key} must be true or false, got ${JSON.stringify(value)}`);
    return value;
  };
  return { get, string, number, boolean };
}

const JWT_FIELDS = [
  'issuer',
  'audience',
  'jwksUrl',
  'hs256SecretArn',
  'algorithms',
  'aclClaim',
  'principalClaim',
  'clockSkewSeconds',
  'resultsCacheTtlSeconds',
] as const;

/** `shoal:jwt`: `{ issuer, audience, jwksUrl | hs256SecretArn, algorithms?, aclClaim?, principalClaim?, clockSkewSeconds?, resultsCacheTtlSeconds? }`. */
function jwtOf(value: unknown): ShoalJwtAuthorizerProps | undefined {
  if (value === undefined) return undefined;
  const key = CONTEXT_KEYS.jwt;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`Context ${key} must be an object, got ${JSON.stringify(value)}`);
  }
  const object = value as Record<string, unknown>;
  const unknown = Object.keys(object).filter((field) => !(JWT_FIELDS as readonly string[]).includes(field));
  if (unknown.length > 0)
    throw new Error(
      `Context ${key} has unknown fields ${unknown.join(', ')}; known: ${JWT_FIELDS.join(', ')}`,
    );
  const text = (field: string, required = false): string | undefined => {
    const item = object[field];
    if (item === undefined && !required) return undefined;
    if (typeof item !== 'string' || item === '')
      throw new Error(`Context ${key}.${field} must be a string, got ${JSON.stringify(item)}`);
    return item;
  };
  const seconds = (field: string): Duration | undefined => {
    const item = object[field];
    if (item === undefined) return undefined;
    if (typeof item !== 'number' || !Number.isInteger(item) || item < 0) {
      throw new Error(
        `Context ${key}.${field} must be a whole number of seconds, got ${JSON.stringify(item)}`,
      );
    }
    return Duration.seconds(item);
  };
  const algorithms = object.algorithms;
  if (
    algorithms !== undefined &&
    !(Array.isArray(algorithms) && algorithms.every((item) => JWT_ALGORITHMS.includes(item as JwtAlgorithm)))
  ) {
    throw new Error(
      `Context ${key}.algorithms must list ${JWT_ALGORITHMS.join(' or ')}, got ${JSON.stringify(algorithms)}`,
    );
  }
  const props: ShoalJwtAuthorizerProps = {
    issuer: text('issuer', true) as string,
    audience: text('audience', true) as string,
  };
  const jwksUrl = text('jwksUrl');
  const hs256SecretArn = text('hs256SecretArn');
  const aclClaim = text('aclClaim');
  const principalClaim = text('principalClaim');
  const clockSkew = seconds('clockSkewSeconds');
  const resultsCacheTtl = seconds('resultsCacheTtlSeconds');
  return {
    ...props,
    ...(jwksUrl === undefined ? {} : { jwksUrl }),
    ...(hs256SecretArn === undefined ? {} : { hs256SecretArn }),
    ...(algorithms === undefined ? {} : { algorithms: algorithms as JwtAlgorithm[] }),
    ...(aclClaim === undefined ? {} : { aclClaim }),
    ...(principalClaim === undefined ? {} : { principalClaim }),
    ...(clockSkew === undefined ? {} : { clockSkew }),
    ...(resultsCacheTtl === undefined ? {} : { resultsCacheTtl }),
  };
}

/** `shoal:accessPolicies`: `{ "<Name>": ["topic:orders:Write", ...] }`, each entry checked now. */
function accessPoliciesOf(value: unknown): Record<string, string[]> | undefined {
  if (value === undefined) return undefined;
  const key = CONTEXT_KEYS.accessPolicies;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`Context ${key} must be an object of ACL lists, got ${JSON.stringify(value)}`);
  }
  const policies: Record<string, string[]> = {};
  for (const [name, acl] of Object.entries(value as Record<string, unknown>)) {
    if (!Array.isArray(acl) || !acl.every((entry) => typeof entry === 'string')) {
      throw new Error(`Context ${key}.${name} must be a list of ACL entries, got ${JSON.stringify(acl)}`);
    }
    parseAcl(acl);
    policies[name] = acl;
  }
  return policies;
}

/** `shoal:segmentObjectLock`: `{ "mode": "governance" | "compliance", "retentionDays": 30 }`. */
function objectLockOf(
  value: unknown,
): { mode: 'governance' | 'compliance'; retention: Duration } | undefined {
  if (value === undefined) return undefined;
  const { mode, retentionDays } = (value ?? {}) as { mode?: unknown; retentionDays?: unknown };
  if (
    (mode !== 'governance' && mode !== 'compliance') ||
    typeof retentionDays !== 'number' ||
    !Number.isInteger(retentionDays) ||
    retentionDays < 1
  ) {
    throw new Error(
      `Context ${CONTEXT_KEYS.segmentObjectLock} must be {"mode":"governance"|"compliance","retentionDays":<days>}, ` +
        `got ${JSON.stringify(value)}`,
    );
  }
  return { mode, retention: Duration.days(retentionDays) };
}

/**
 * `shoal:throttling`: an object of function names to `{ rateLimit, burstLimit }`; the API checks the
 * names and numbers (and names the bad one).
 */
function throttlingOf(value: unknown): ShoalApiProps['throttling'] {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(
      `Context ${CONTEXT_KEYS.throttling} must be an object such as {"fetch-records":{"rateLimit":2000,"burstLimit":4000}}, got ${JSON.stringify(value)}`,
    );
  }
  return value as ShoalApiProps['throttling'];
}
