/**
 * What a deployment's JWT settings may hold, checked at synth time by the CDK app and at cold start
 * by the authorizer, without loading the verification library.
 */

/** The algorithms Shoal verifies. */
export type JwtAlgorithm = 'HS256' | 'RS256';

export const JWT_ALGORITHMS: readonly JwtAlgorithm[] = ['HS256', 'RS256'];

/** The upper bound of a configured clock skew: more would keep expired tokens alive. */
export const JWT_CLOCK_SKEW_S_MAX = 300;

/** A key set larger than this is refused: providers publish a handful of keys. */
const JWKS_KEYS_MAX = 20;
/**
 * Checks a JWKS document's shape and counts the keys an RS256 token could be verified with (RSA,
 * for signatures, RS256 or no algorithm named).
 *
 * @throws Error when the document is not a key set or holds more than 20 keys
 */
export function countRs256Keys(document: unknown): number {
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error('A JWKS document is an object with a "keys" array');
  if (keys.length > JWKS_KEYS_MAX)
    throw new Error(`A JWKS holds at most ${JWKS_KEYS_MAX} keys, got ${keys.length}`);
  return (keys as { kty?: unknown; use?: unknown; alg?: unknown; n?: unknown; e?: unknown }[]).filter(
    (jwk) =>
      jwk.kty === 'RSA' &&
      (jwk.use === undefined || jwk.use === 'sig') &&
      (jwk.alg === undefined || jwk.alg === 'RS256') &&
      typeof jwk.n === 'string' &&
      typeof jwk.e === 'string',
  ).length;
}
