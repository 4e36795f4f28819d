/**
 * Where the JWT authorizer finds its keys: an identity provider's JSON Web Key Set (given inline or
 * fetched from its `jwks_uri` and cached), or a shared HS256 secret loaded once.
 */
import { createPublicKey, createSecretKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { JwtHeader, JwtKeyLookup } from './jwt.js';

/** A key set larger than this is refused: providers publish a handful of keys. */
const JWKS_KEYS_MAX = 20;
/** A JWKS document larger than this is refused before parsing. */
const JWKS_BYTES_MAX = 65_536;
/** HS256 secrets shorter than the hash (RFC 7518 section 3.2) are refused. */
export const HS256_SECRET_BYTES_MIN = 32;

/** RS256 keys of a JWKS document by `kid`. @throws Error when the document is not a key set */
export function parseJwks(document: unknown): Map<string | undefined, KeyObject> {
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error('A JWKS document is an object with a "keys" array');
  if (keys.length > JWKS_KEYS_MAX)
    throw new Error(`A JWKS holds at most ${JWKS_KEYS_MAX} keys, got ${keys.length}`);
  const byKid = new Map<string | undefined, KeyObject>();
  for (const jwk of keys as (JsonWebKey & { kid?: unknown; use?: unknown; alg?: unknown })[]) {
    if (jwk.kty !== 'RSA') continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    if (jwk.alg !== undefined && jwk.alg !== 'RS256') continue;
    const kid = typeof jwk.kid === 'string' ? jwk.kid : undefined;
    byKid.set(kid, createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' }));
  }
  return byKid;
}

/** Picks the RS256 key for a header: by `kid`, or the only key when the token names none. */
function pick(keys: Map<string | undefined, KeyObject>, header: JwtHeader): KeyObject | undefined {
  if (header.kid !== undefined) return keys.get(header.kid);
  return keys.size === 1 ? keys.values().next().value : undefined;
}

/** RS256 keys from a JWKS document known at deploy time. */
export function staticJwksKeys(document: unknown): JwtKeyLookup {
  const keys = parseJwks(document);
  return async (header) => (header.alg === 'RS256' ? pick(keys, header) : undefined);
}

/** Settings of {@link remoteJwksKeys}. */
export interface RemoteJwksOptions {
  readonly url: string;
  readonly fetch: typeof fetch;
  readonly nowMs: () => number;
  /** How long a fetched key set is used before it is fetched again. @default 600_000 */
  readonly cacheMs?: number;
  /**
   * A token naming an unknown `kid` (a rotated key) refetches the set, at most this often, so that
   * tokens with made-up kids cannot make the authorizer hammer the provider. @default 30_000
   */
  readonly refetchIntervalMsMin?: number;
  /** @default 3000 */
  readonly timeoutMs?: number;
}

/**
 * RS256 keys from a provider's `jwks_uri` (Cognito, Auth0, Okta, Entra ID...), cached across
 * invocations of a warm Lambda. A failed fetch keeps the previous keys and refuses unknown kids.
 */
export function remoteJwksKeys(options: RemoteJwksOptions): JwtKeyLookup {
  const cacheMs = options.cacheMs ?? 600_000;
  const refetchIntervalMsMin = options.refetchIntervalMsMin ?? 30_000;
  const timeoutMs = options.timeoutMs ?? 3000;
  let keys = new Map<string | undefined, KeyObject>();
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<void> | undefined;

  const refresh = async () => {
    fetchedAt = options.nowMs();
    const response = await options.fetch(options.url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new Error(`JWKS ${options.url} answered ${response.status}`);
    const text = await response.text();
    if (text.length > JWKS_BYTES_MAX) throw new Error(`JWKS ${options.url} is over ${JWKS_BYTES_MAX} bytes`);
    keys = parseJwks(JSON.parse(text));
  };
  const refreshOnce = () => {
    inFlight ??= refresh().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  return async (header) => {
    if (header.alg !== 'RS256') return undefined;
    const age = options.nowMs() - fetchedAt;
    if (age > cacheMs || (!pick(keys, header) && age > refetchIntervalMsMin)) {
      try {
        await refreshOnce();
      } catch {
        // Keep the keys we had: a provider outage must not lock out tokens signed by known keys.
      }
    }
    return pick(keys, header);
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
  return async (header: JwtHeader) => {
    for (const lookup of lookups) {
      const key = await lookup(header);
      if (key) return key;
    }
    return undefined;
  };
}
