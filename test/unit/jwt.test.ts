import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type JwtKeyLookup, type JwtVerifyOptions, verifyJwt } from '../../shared/authorization/jwt.js';
import { hmacSecretKey, remoteJwksKeys, staticJwksKeys } from '../../shared/authorization/jwt-keys.js';
import {
  AUDIENCE,
  HS256_SECRET,
  hs256Key,
  ISSUER,
  jwksOf,
  NOW_S,
  rsaKeyPair,
  signJwt,
  validClaims,
} from '../support/jwt.js';

const rsa = rsaKeyPair('key-1');
const rotated = rsaKeyPair('key-2');

function options(keys: JwtKeyLookup, overrides: Partial<JwtVerifyOptions> = {}): JwtVerifyOptions {
  return {
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ['HS256', 'RS256'],
    clockSkewS: 30,
    keys,
    nowMs: NOW_S * 1000,
    ...overrides,
  };
}

const hmacKeys: JwtKeyLookup = async (header) => (header.alg === 'HS256' ? hs256Key() : undefined);
const rsaKeys = staticJwksKeys(jwksOf(rsa));

describe('verifyJwt', () => {
  it('accepts an HS256 token with valid claims and returns its claims', async () => {
    const token = signJwt(
      { alg: 'HS256', typ: 'JWT' },
      validClaims({ shoal_acl: ['topic:orders:Write'] }),
      hs256Key(),
    );

    const result = await verifyJwt(token, options(hmacKeys));

    expect(result).toEqual({
      ok: true,
      claims: expect.objectContaining({ sub: 'alice', shoal_acl: ['topic:orders:Write'] }),
    });
  });

  it('accepts an RS256 token signed by the key its kid names', async () => {
    const token = signJwt({ alg: 'RS256', kid: 'key-1' }, validClaims(), rsa.privateKey);

    const result = await verifyJwt(token, options(rsaKeys));

    expect(result.ok).toBe(true);
  });

  it('accepts an audience given as an array that holds the API', async () => {
    const token = signJwt({ alg: 'HS256' }, validClaims({ aud: ['other', AUDIENCE] }), hs256Key());

    expect((await verifyJwt(token, options(hmacKeys))).ok).toBe(true);
  });

  it('accepts a token expired by less than the clock skew', async () => {
    const token = signJwt({ alg: 'HS256' }, validClaims({ exp: NOW_S - 29 }), hs256Key());

    expect((await verifyJwt(token, options(hmacKeys))).ok).toBe(true);
  });

  it.each([
    ['expired beyond the skew', { exp: NOW_S - 31 }, /^ERR_JWT_EXPIRED: "exp"/],
    ['has no exp', { exp: undefined }, /missing required "exp"/],
    ['is not valid yet', { nbf: NOW_S + 31 }, /"nbf" claim timestamp check failed/],
    ['was issued in the future', { iat: NOW_S + 31 }, /future/],
    ['comes from another issuer', { iss: 'https://evil.example' }, /"iss" claim/],
    ['is for another audience', { aud: 'other-api' }, /"aud" claim/],
  ])('fails when the token %s', async (_, claims, reason) => {
    const token = signJwt({ alg: 'HS256' }, validClaims(claims), hs256Key());

    const result = await verifyJwt(token, options(hmacKeys));

    expect(result).toEqual({ ok: false, reason: expect.stringMatching(reason) });
  });

  it('fails when the payload was changed after signing', async () => {
    const token = signJwt({ alg: 'HS256' }, validClaims(), hs256Key());
    const [header, , signature] = token.split('.');
    const forged = Buffer.from(JSON.stringify(validClaims({ shoal_acl: ['cluster:*:All'] }))).toString(
      'base64url',
    );

    const result = await verifyJwt(`${header}.${forged}.${signature}`, options(hmacKeys));

    expect(result).toEqual({
      ok: false,
      reason: expect.stringMatching(/^ERR_JWS_SIGNATURE_VERIFICATION_FAILED/),
    });
  });

  it('fails when the token says alg none', async () => {
    const token = signJwt({ alg: 'none' }, validClaims(), hs256Key());

    expect(await verifyJwt(token, options(hmacKeys))).toEqual({
      ok: false,
      reason: expect.stringMatching(/^ERR_JOSE_ALG_NOT_ALLOWED/),
    });
  });

  it('fails when an algorithm the deployment does not accept is used', async () => {
    const token = signJwt({ alg: 'HS256' }, validClaims(), hs256Key());

    const result = await verifyJwt(token, options(hmacKeys, { algorithms: ['RS256'] }));

    expect(result).toEqual({ ok: false, reason: expect.stringMatching(/^ERR_JOSE_ALG_NOT_ALLOWED/) });
  });

  it('fails when an HS256 token is signed with the RSA public key as secret (algorithm confusion)', async () => {
    const publicPem = rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const token = signJwt({ alg: 'HS256', kid: 'key-1' }, validClaims(), publicPem);
    // A lookup that hands out the RSA key whatever the algorithm, as a careless one would.
    const careless: JwtKeyLookup = async () => rsa.publicKey;

    const result = await verifyJwt(token, options(careless));

    expect(result).toEqual({
      ok: false,
      reason: expect.stringMatching(/must be of type "secret" for the HS256 algorithm/),
    });
  });

  it('fails when the kid names no known key', async () => {
    const token = signJwt({ alg: 'RS256', kid: 'key-9' }, validClaims(), rsa.privateKey);

    expect(await verifyJwt(token, options(rsaKeys))).toEqual({
      ok: false,
      reason: 'no RS256 key with kid "key-9"',
    });
  });

  it('fails when the RSA key is shorter than 2048 bits', async () => {
    const weak = rsaKeyPair('weak', 1024);
    const token = signJwt({ alg: 'RS256', kid: 'weak' }, validClaims(), weak.privateKey);

    const result = await verifyJwt(token, options(staticJwksKeys(jwksOf(weak))));

    expect(result).toEqual({ ok: false, reason: expect.stringMatching(/2048 bits or larger/) });
  });

  it.each([
    ['is not three parts', 'a.b'],
    ['has non-base64url characters', 'a.b+c.d'],
    ['has a header that is not JSON', `${Buffer.from('nope').toString('base64url')}.e30.`],
    ['is longer than 8192 bytes', 'a'.repeat(8193)],
  ])('fails when the token %s', async (_, token) => {
    expect((await verifyJwt(token, options(hmacKeys))).ok).toBe(false);
  });

  it('fails when the header has critical extensions', async () => {
    const token = signJwt({ alg: 'HS256', crit: ['exp'] }, validClaims(), hs256Key());

    expect(await verifyJwt(token, options(hmacKeys))).toEqual({
      ok: false,
      reason: expect.stringMatching(/^ERR_JOSE_NOT_SUPPORTED|^ERR_JWS_INVALID/),
    });
  });
});

describe('key lookups', () => {
  let server: Server;
  let url: string;
  let served = jwksOf(rsa);
  let failing = false;
  let requests = 0;

  beforeAll(async () => {
    server = createServer((_, response) => {
      requests++;
      response.statusCode = failing ? 503 : 200;
      response.setHeader('content-type', 'application/json');
      response.end(failing ? '{}' : JSON.stringify(served));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  beforeEach(() => {
    // Only Date moves: the fetch's own timeout keeps real timers.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(0);
    served = jwksOf(rsa);
    failing = false;
    requests = 0;
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('fetches a remote JWKS once and refetches it for a rotated key, at most once per interval', async () => {
    const keys = remoteJwksKeys({ url, refetchIntervalMsMin: 30_000 });
    const rotatedToken = signJwt({ alg: 'RS256', kid: 'key-2' }, validClaims(), rotated.privateKey);

    expect(await keys({ alg: 'RS256', kid: 'key-1' })).toBeDefined();
    expect(await keys({ alg: 'RS256', kid: 'key-2' })).toBeUndefined();
    served = jwksOf(rsa, rotated);
    vi.setSystemTime(10_000);
    expect(await keys({ alg: 'RS256', kid: 'key-2' })).toBeUndefined();
    vi.setSystemTime(31_000);
    const result = await verifyJwt(rotatedToken, options(keys));

    expect(result.ok).toBe(true);
    expect(requests).toBe(2);
  });

  it('refetches the set once it is older than the cache time', async () => {
    const keys = remoteJwksKeys({ url, cacheMs: 60_000 });
    await keys({ alg: 'RS256', kid: 'key-1' });
    vi.setSystemTime(59_000);
    await keys({ alg: 'RS256', kid: 'key-1' });
    expect(requests).toBe(1);

    vi.setSystemTime(61_000);
    await keys({ alg: 'RS256', kid: 'key-1' });

    expect(requests).toBe(2);
  });

  it('keeps the known keys when the JWKS endpoint fails, and asks it again only after the interval', async () => {
    const keys = remoteJwksKeys({ url, cacheMs: 1000, refetchIntervalMsMin: 30_000 });
    await keys({ alg: 'RS256', kid: 'key-1' });
    failing = true;
    vi.setSystemTime(5000);

    expect(await keys({ alg: 'RS256', kid: 'key-1' })).toBeDefined();
    expect(await keys({ alg: 'RS256', kid: 'key-1' })).toBeDefined();
    expect(await keys({ alg: 'RS256', kid: 'key-9' })).toBeUndefined();
    expect(requests).toBe(2);

    vi.setSystemTime(36_000);
    failing = false;
    served = jwksOf(rotated);
    expect(await keys({ alg: 'RS256', kid: 'key-2' })).toBeDefined();
    expect(requests).toBe(3);
  });

  it('finds no key when the endpoint never answered', async () => {
    failing = true;
    const keys = remoteJwksKeys({ url });

    expect(await keys({ alg: 'RS256', kid: 'key-1' })).toBeUndefined();
  });

  it('loads the HS256 secret once and refuses RS256 lookups', async () => {
    let loads = 0;
    const keys = hmacSecretKey(async () => {
      loads++;
      return HS256_SECRET;
    });

    await keys({ alg: 'HS256', kid: undefined });
    await keys({ alg: 'HS256', kid: undefined });

    expect(loads).toBe(1);
    expect(await keys({ alg: 'RS256', kid: undefined })).toBeUndefined();
  });

  it('fails when the HS256 secret is shorter than 32 bytes', async () => {
    const keys = hmacSecretKey(async () => 'short');

    await expect(keys({ alg: 'HS256', kid: undefined })).rejects.toThrow(/5 bytes, fewer than 32/);
  });
});
