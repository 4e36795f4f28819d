/**
 * Lambda entry of the optional JWT authorizer (an API Gateway REQUEST authorizer). It verifies the
 * bearer token, reads the principal's ACL from a claim, and allows or denies exactly the method ARN
 * of the request, by the same route permissions the IAM policies are generated from
 * (`shared/authorization/acl.ts`).
 *
 * The policy names the one method ARN asked about, never a wildcard: API Gateway caches it under
 * the token, method and path, and a policy reused for another request can then only deny.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { readSecretString } from '../shared/adapters/secrets-manager/secret-string.js';
import {
  ACL_ENTRIES_MAX,
  type AclEntry,
  formatAclEntry,
  isAllowed,
  parseAclEntry,
  requirementOf,
} from '../shared/authorization/acl.js';
import { type JwtKeyLookup, verifyJwt } from '../shared/authorization/jwt.js';
import {
  anyOfKeys,
  hmacSecretKey,
  remoteJwksKeys,
  staticJwksKeys,
} from '../shared/authorization/jwt-keys.js';
import { type AuthorizerConfig, readAuthorizerConfig } from '../shared/config.js';
import { findRoute } from '../shared/http/route-table.js';
import { createLogger } from '../shared/observability/logger.js';

const logger = createLogger();

/** What the authorizer needs; tests pass their own keys and clock. */
export interface AuthorizerDependencies {
  readonly config: AuthorizerConfig;
  readonly keys: JwtKeyLookup;
  readonly nowMs: () => number;
  /** Where refusals and denials are logged. @default a Powertools Logger (JSON lines) */
  readonly log?: Pick<Logger, 'info'>;
}

export type AuthorizerHandler = (
  event: APIGatewayRequestAuthorizerEvent,
) => Promise<APIGatewayAuthorizerResult>;

/** API Gateway answers 401 when an authorizer fails with exactly this message. */
const UNAUTHORIZED = 'Unauthorized';
/** A principal id longer than this is refused (it is logged and passed to the functions). */
const PRINCIPAL_LENGTH_MAX = 256;

/**
 * Builds the authorizer. A missing, malformed, expired or unverifiable token fails with
 * `Unauthorized` (401); a valid token whose ACL does not allow the route gets a Deny (403).
 */
export function createAuthorizer(dependencies: AuthorizerDependencies): AuthorizerHandler {
  const { config } = dependencies;
  const log = dependencies.log ?? logger;
  return async (event) => {
    const token = bearerTokenOf(event.headers ?? {});
    if (!token) throw new Error(UNAUTHORIZED);
    const verified = await verifyJwt(token, {
      issuer: config.issuer,
      audience: config.audience,
      algorithms: config.algorithms,
      clockSkewS: config.clockSkewS,
      keys: dependencies.keys,
      nowMs: dependencies.nowMs(),
    });
    if (!verified.ok) {
      log.info('Bearer token refused', {
        reason: verified.reason,
        requestId: event.requestContext?.requestId,
      });
      throw new Error(UNAUTHORIZED);
    }
    const principal = verified.claims[config.principalClaim];
    if (typeof principal !== 'string' || principal === '' || principal.length > PRINCIPAL_LENGTH_MAX) {
      log.info('Bearer token refused', { reason: `no ${config.principalClaim} claim` });
      throw new Error(UNAUTHORIZED);
    }
    const acl = aclOf(verified.claims[config.aclClaim]);
    const route = findRoute(event.httpMethod, event.resource);
    const pathParameters = Object.fromEntries(
      Object.entries(event.pathParameters ?? {}).filter(
        (entry): entry is [string, string] => entry[1] !== undefined,
      ),
    );
    const allowed = route !== undefined && isAllowed(acl, requirementOf(route), pathParameters);
    if (!allowed) {
      log.info('Request denied by ACL', {
        principal,
        operationId: route?.operationId,
        path: event.path,
        requestId: event.requestContext?.requestId,
      });
    }
    return {
      principalId: principal,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Action: 'execute-api:Invoke', Effect: allowed ? 'Allow' : 'Deny', Resource: event.methodArn },
        ],
      },
      // Reaches the functions as requestContext.authorizer, for their logs.
      context: { principal, acl: acl.map(formatAclEntry).join(' ') },
    };
  };
}

/** The token of an `Authorization: Bearer <token>` header (any header-name case). */
export function bearerTokenOf(headers: Readonly<Record<string, string | undefined>>): string | undefined {
  const value = Object.entries(headers).find(([name]) => name.toLowerCase() === 'authorization')?.[1];
  const match = value === undefined ? null : /^Bearer +([^ ]+) *$/i.exec(value);
  return match?.[1];
}

/**
 * The ACL entries of a claim: an array of strings, or one space-separated string (an OAuth `scope`).
 * Strings that are not ACL entries (`openid`) are ignored; past {@link ACL_ENTRIES_MAX} entries the
 * rest is ignored too.
 */
export function aclOf(claim: unknown): AclEntry[] {
  const texts = Array.isArray(claim)
    ? claim.filter((item): item is string => typeof item === 'string')
    : typeof claim === 'string'
      ? claim.split(' ')
      : [];
  return texts
    .slice(0, ACL_ENTRIES_MAX)
    .map(parseAclEntry)
    .filter((entry): entry is AclEntry => entry !== undefined);
}

/** The key sources the configuration names. */
export function keysFor(config: AuthorizerConfig): JwtKeyLookup {
  const lookups: JwtKeyLookup[] = [];
  if (config.jwks) lookups.push(staticJwksKeys(JSON.parse(config.jwks)));
  if (config.jwksUrl) lookups.push(remoteJwksKeys({ url: config.jwksUrl }));
  const secretArn = config.hs256SecretArn;
  if (secretArn) lookups.push(hmacSecretKey(() => readSecretString(secretArn, { region: config.region })));
  return anyOfKeys(lookups);
}

let built: AuthorizerHandler | undefined;

export const handler: AuthorizerHandler = (event) => {
  if (!built) {
    const config = readAuthorizerConfig();
    built = createAuthorizer({ config, keys: keysFor(config), nowMs: Date.now });
  }
  return built(event);
};
