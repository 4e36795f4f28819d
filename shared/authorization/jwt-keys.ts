/**
 * Where the JWT authorizer finds its keys: an identity provider's JSON Web Key Set (given inline or
 * fetched from its `jwks_uri` and cached, both through `jose`), or a shared HS256 secret loaded once.
 */
import { createSecretKey, type KeyObject, type webcrypto } from 'node:crypto';
import { createLocalJWKSet, createRemoteJWKSet, errors, type JSONWebKeySet } from 'jose';
import type { JwtHeader, JwtKey, JwtKeyLookup } from './jwt.js';
import { countRs256Keys } from './jwt-settings.js';

/** HS256 secrets shorter than the hash (RFC 7518 section 3.2) are refused. */
export const HS256_SECRET_BYTES_MIN = 32;

/** A `jose` key set as a lookup: no match, or more than one for a token without `kid`, is no key. */
function lookupIn(
  set: (header: { alg: string; kid?: string }) => Promise<webcrypto.CryptoKey>,
): JwtKeyLookup {
  return async (header) => {
    if (header.alg !== 'RS256') return undefined;
    try {
      return await set({ alg: header.alg, ...(header.kid === undefined ? {} : { kid: header.kid }) });
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
        return undefined;
      throw error;
    }
  };
}

/** RS256 keys from a JWKS document known at deploy time. */
export function staticJwksKeys(document: unknown): JwtKeyLookup {
  countRs256Keys(document);
  return lookupIn(createLocalJWKSet(document as JSONWebKeySet));
}

/** Settings of {@link remoteJwksKeys}. */
export interface RemoteJwksOptions {
  readonly url: string;
  /** How long a fetched key set is used before it is fetched again. @default 600_000 */
  readonly cacheMs?: number;
  /**
   * A token naming an unknown `kid` (a rotated key) refetches the set, at most this often, so that
   * tokens with made-up kids cannot make the authorizer hammer the provider; a failed fetch is not
   * tried again sooner either. @default 30_000
   */
  readonly refetchIntervalMsMin?: number;
  /** @default 3000 */
  readonly timeoutMs?: number;
}

/**
 * RS256 keys from a provider's `jwks_uri` (Cognito, Auth0, Okta, Entra ID...), fetched and cached
 * by `jose` across invocations of a warm Lambda. A failed fetch keeps the keys fetched before (a
 * provider outage must not lock out tokens signed by known keys) and is retried after
 * `refetchIntervalMsMin`, so requests during an outage do not each wait for the provider.
 */
export function remoteJwksKeys(options: RemoteJwksOptions): JwtKeyLookup {
  const refetchIntervalMsMin = options.refetchIntervalMsMin ?? 30_000;
  const remote = createRemoteJWKSet(new URL(options.url), {
    cacheMaxAge: options.cacheMs ?? 600_000,
    cooldownDuration: refetchIntervalMsMin,
    timeoutDuration: options.timeoutMs ?? 3000,
  });
  const fromRemote = lookupIn(remote);
  let failedAtMs = Number.NEGATIVE_INFINITY;
  let known: { readonly jwks: JSONWebKeySet; readonly lookup: JwtKeyLookup } | undefined;

  return async (header) => {
    if (header.alg !== 'RS256') return undefined;
    if (Date.now() - failedAtMs >= refetchIntervalMsMin) {
      try {
        return await fromRemote(header);
      } catch {
        failedAtMs = Date.now();
      }
    }
    const jwks = remote.jwks();
    if (!jwks) return undefined;
    if (known?.jwks !== jwks) known = { jwks, lookup: lookupIn(createLocalJWKSet(jwks)) };
    return known.lookup(header);
  };
}

/** The HS256 secret, loaded on first use (e.g. from Secrets Manager) and kept while the Lambda is warm. */
export function hmacSecretKey(load: () => Promise<string>): JwtKeyLookup {
  let key: Promise<KeyObject> | undefined;
  return async (header) => {
    if (header.alg !== 'HS256') return undefined;
    key ??= load().then((secret) => {
      const bytes = Buffer.from(secret, 'utf8');
      if (bytes.length < HS256_SECRET_BYTES_MIN) {
        throw new Error(`The HS256 secret has ${bytes.length} bytes, fewer than ${HS256_SECRET_BYTES_MIN}`);
      }
      return createSecretKey(bytes);
    });
    // A failed load is retried by the next request rather than cached.
    try {
      return await key;
    } catch (error) {
      key = undefined;
      throw error;
    }
  };
}

/** Asks each lookup in turn; the first key found wins. */
export function anyOfKeys(lookups: readonly JwtKeyLookup[]): JwtKeyLookup {
  return async (header: JwtHeader): Promise<JwtKey | undefined> => {
    for (const lookup of lookups) {
      const key = await lookup(header);
      if (key) return key;
    }
    return undefined;
  };
}
