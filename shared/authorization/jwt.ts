/**
 * JSON Web Token verification (RFC 7519) with node:crypto only: HS256 (a shared secret) and RS256
 * (an identity provider's RSA key, usually from its JWKS). A token is accepted only when its
 * algorithm is one the deployment allows AND matches the kind of key found for it, so an RS256
 * public key can never be used as an HMAC secret ("algorithm confusion") and `alg: none` never
 * verifies.
 *
 * Failures are return values with a reason for the log, never thrown: a bad token is an expected
 * outcome of an authorizer.
 */
import { createHmac, type KeyObject, timingSafeEqual, verify } from 'node:crypto';

/** The algorithms Shoal verifies. */
export type JwtAlgorithm = 'HS256' | 'RS256';

export const JWT_ALGORITHMS: readonly JwtAlgorithm[] = ['HS256', 'RS256'];

/** The protected header fields the key lookup sees. */
export interface JwtHeader {
  readonly alg: JwtAlgorithm;
  readonly kid: string | undefined;
}

/**
 * Finds the key for a token's header: a secret key for HS256, an RSA public key for RS256, or
 * undefined when there is none (an unknown `kid`).
 */
export type JwtKeyLookup = (header: JwtHeader) => Promise<KeyObject | undefined>;

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
/** The upper bound of a configured clock skew: more would keep expired tokens alive. */
export const JWT_CLOCK_SKEW_S_MAX = 300;
/** RSA keys shorter than this are refused (NIST SP 800-131A). */
const RSA_MODULUS_BITS_MIN = 2048;

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Verifies a compact JWS and its registered claims: signature, `iss`, `aud`, `exp` (required),
 * `nbf` and `iat` (when present).
 *
 * @example
 * const result = await verifyJwt(token, { issuer, audience, algorithms: ['RS256'], clockSkewS: 60, keys, nowMs: Date.now() });
 * if (!result.ok) logger.info('token refused', { reason: result.reason });
 */
export async function verifyJwt(token: string, options: JwtVerifyOptions): Promise<JwtVerification> {
  if (token.length > JWT_BYTES_MAX) return refuse(`the token is longer than ${JWT_BYTES_MAX} bytes`);
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((part) => BASE64URL.test(part))) {
    return refuse('not a compact JWS (three base64url parts)');
  }
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  const header = parseJson(encodedHeader);
  if (!header) return refuse('the header is not a JSON object');
  if (header.crit !== undefined) return refuse('the header has critical extensions');
  const alg = header.alg;
  if (typeof alg !== 'string' || !options.algorithms.includes(alg as JwtAlgorithm)) {
    return refuse(`algorithm ${JSON.stringify(alg)} is not accepted`);
  }
  const kid = header.kid;
  if (kid !== undefined && typeof kid !== 'string') return refuse('kid is not a string');

  const key = await options.keys({ alg: alg as JwtAlgorithm, kid });
  if (!key) return refuse(`no ${alg} key${kid === undefined ? '' : ` with kid "${kid}"`}`);
  const signingInput = Buffer.from(`${encodedHeader}.${encodedPayload}`, 'ascii');
  const signature = Buffer.from(encodedSignature, 'base64url');
  const valid =
    alg === 'HS256' ? verifyHs256(key, signingInput, signature) : verifyRs256(key, signingInput, signature);
  if (valid !== true) return refuse(valid);

  const claims = parseJson(encodedPayload);
  if (!claims) return refuse('the payload is not a JSON object');
  return checkClaims(claims, options);
}

function checkClaims(claims: Record<string, unknown>, options: JwtVerifyOptions): JwtVerification {
  const now = options.nowMs / 1000;
  const skew = options.clockSkewS;
  if (claims.iss !== options.issuer) return refuse(`issuer ${JSON.stringify(claims.iss)} is not accepted`);
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(options.audience)) return refuse('the audience does not include this API');
  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) return refuse('exp is missing');
  if (now > claims.exp + skew) return refuse('the token has expired');
  if (claims.nbf !== undefined) {
    if (typeof claims.nbf !== 'number') return refuse('nbf is not a number');
    if (now < claims.nbf - skew) return refuse('the token is not valid yet (nbf)');
  }
  if (claims.iat !== undefined) {
    if (typeof claims.iat !== 'number') return refuse('iat is not a number');
    if (claims.iat > now + skew) return refuse('the token was issued in the future (iat)');
  }
  return { ok: true, claims };
}

function verifyHs256(key: KeyObject, input: Buffer, signature: Buffer): true | string {
  if (key.type !== 'secret') return 'an HS256 token needs a secret key';
  const expected = createHmac('sha256', key).update(input).digest();
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
    return 'the signature does not verify';
  }
  return true;
}

function verifyRs256(key: KeyObject, input: Buffer, signature: Buffer): true | string {
  if (key.type !== 'public' || key.asymmetricKeyType !== 'rsa')
    return 'an RS256 token needs an RSA public key';
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < RSA_MODULUS_BITS_MIN) return `the RSA key has ${bits} bits, fewer than ${RSA_MODULUS_BITS_MIN}`;
  return verify('sha256', input, key, signature) ? true : 'the signature does not verify';
}

function parseJson(encoded: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function refuse(reason: string): JwtVerification {
  return { ok: false, reason };
}
