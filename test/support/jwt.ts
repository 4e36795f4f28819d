/**
 * Token minting for tests of the JWT authorizer: HS256 and RS256 with node:crypto, plus the
 * key material and JWKS documents an identity provider would publish.
 */
import { createHmac, createSecretKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';

export interface RsaKeyPair {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function rsaKeyPair(kid: string, modulusLength = 2048): RsaKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength });
  return { kid, privateKey, publicKey };
}

/** A JWKS document with the public halves of `pairs`. */
export function jwksOf(...pairs: RsaKeyPair[]): { keys: Record<string, unknown>[] } {
  return {
    keys: pairs.map((pair) => ({
      ...pair.publicKey.export({ format: 'jwk' }),
      kid: pair.kid,
      use: 'sig',
      alg: 'RS256',
    })),
  };
}

export const HS256_SECRET = 'a-test-secret-of-at-least-32-bytes-long!';
export const hs256Key = (): KeyObject => createSecretKey(Buffer.from(HS256_SECRET, 'utf8'));

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Signs `claims` with an explicit header; `key` is a secret (HS256) or an RSA private key (RS256). */
export function signJwt(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  key: KeyObject | string,
): string {
  const input = `${encode(header)}.${encode(claims)}`;
  let signature: Buffer;
  if (header.alg === 'HS256') {
    signature = createHmac('sha256', key).update(input).digest();
  } else if (header.alg === 'RS256') {
    signature = sign('sha256', Buffer.from(input), key as KeyObject);
  } else {
    signature = Buffer.alloc(0);
  }
  return `${input}.${signature.toString('base64url')}`;
}

export const ISSUER = 'https://issuer.example';
export const AUDIENCE = 'shoal-api';
/** A fixed "now" for tests, in epoch seconds. */
export const NOW_S = 1_800_000_000;

/** Registered claims valid at {@link NOW_S} for {@link ISSUER} and {@link AUDIENCE}. */
export function validClaims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: NOW_S - 10, exp: NOW_S + 600, ...extra };
}
