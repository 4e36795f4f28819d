/**
 * JSON Web Token verification (RFC 7519) through `jose`, a well-kept, dependency-free library that
 * is audited and widely used: HS256 (a shared secret) and RS256 (an identity provider's RSA key,
 * usually from its JWKS). `jose` refuses an algorithm the deployment does not allow before it looks
 * for a key, a key of the wrong kind for the algorithm (an RS256 public key used as an HMAC secret:
 * "algorithm confusion"), `alg: none`, RSA keys under 2,048 bits and unknown critical header
 * parameters; this module adds the bounds and the claims Shoal requires on top.
 *
 * Failures are return values with a reason for the log, never thrown: a bad token is an expected
 * outcome of an authorizer.
 */
import type { KeyObject, webcrypto } from 'node:crypto';
import { errors, jwtVerify } from 'jose';
import type { JwtAlgorithm } from './jwt-settings.js';

/** The protected header fields the key lookup sees. */
export interface JwtHeader {
  readonly alg: JwtAlgorithm;
  readonly kid: string | undefined;
}

/** A key `jose` verifies with: a secret or RSA public `KeyObject`, or a WebCrypto key from a JWKS. */
export type JwtKey = KeyObject | webcrypto.CryptoKey;

/**
 * Finds the key for a token's header: a secret key for HS256, an RSA public key for RS256, or
 * undefined when there is none (an unknown `kid`).
 */
export type JwtKeyLookup = (header: JwtHeader) => Promise<JwtKey | undefined>;

/** What a token must satisfy. */
export interface JwtVerifyOptions {
  /** The exact `iss` claim. */
  readonly issuer: string;
  /** A value the `aud` claim (a string or an array) must hold. */
  readonly audience: string;
  /** Algorithms accepted; anything else, `none` included, is refused. */
  readonly algorithms: readonly JwtAlgorithm[];
  /** Tolerance for clocks that disagree, applied to `exp`, `nbf` and `iat`, in seconds. */
  readonly clockSkewS: number;
  readonly keys: JwtKeyLookup;
  /** Now, in epoch milliseconds. */
  readonly nowMs: number;
}

export type JwtVerification =
  | { readonly ok: true; readonly claims: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly reason: string };

/** Longer tokens are refused before any parsing (API Gateway caps headers at 10 KB anyway). */
export const JWT_BYTES_MAX = 8192;

/** Thrown by the key callback when the lookup finds no key, to be told apart from `jose`'s errors. */
class NoKeyError extends Error {}

/**
 * Verifies a compact JWS and its registered claims: signature, `iss`, `aud`, `exp` (required),
 * `nbf` and `iat` (when present; `iat` may not lie in the future).
 *
 * @example
 * const result = await verifyJwt(token, { issuer, audience, algorithms: ['RS256'], clockSkewS: 60, keys, nowMs: Date.now() });
 * if (!result.ok) logger.info('token refused', { reason: result.reason });
 */
export async function verifyJwt(token: string, options: JwtVerifyOptions): Promise<JwtVerification> {
  if (token.length > JWT_BYTES_MAX) return refuse(`the token is longer than ${JWT_BYTES_MAX} bytes`);
  try {
    const { payload } = await jwtVerify(
      token,
      async (header) => {
        const alg = header.alg as JwtAlgorithm;
        const key = await options.keys({ alg, kid: header.kid });
        if (!key)
          throw new NoKeyError(`no ${alg} key${header.kid === undefined ? '' : ` with kid "${header.kid}"`}`);
        return key;
      },
      {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: [...options.algorithms],
        clockTolerance: options.clockSkewS,
        currentDate: new Date(options.nowMs),
        requiredClaims: ['exp'],
      },
    );
    // `jose` checks a future `iat` only together with a maximum token age, which Shoal does not set.
    if (payload.iat !== undefined && payload.iat > options.nowMs / 1000 + options.clockSkewS) {
      return refuse('the token was issued in the future (iat)');
    }
    return { ok: true, claims: payload };
  } catch (error) {
    return refuse(reasonOf(error));
  }
}

/** A reason for the log: `jose`'s code and message, or the lookup's own words. */
function reasonOf(error: unknown): string {
  if (error instanceof NoKeyError) return error.message;
  if (error instanceof errors.JOSEError) return `${error.code}: ${error.message}`;
  // `jose` answers a key of the wrong kind or size with a TypeError naming it.
  if (error instanceof TypeError) return error.message;
  throw error;
}

function refuse(reason: string): JwtVerification {
  return { ok: false, reason };
}
