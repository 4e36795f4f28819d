import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aclOf, bearerTokenOf, createAuthorizer } from '../../functions/authorize-token.js';
import { readSecretString } from '../../shared/adapters/secrets-manager/secret-string.js';
import {
  implies,
  parseAcl,
  parseAclEntry,
  patternCovers,
  patternMatches,
  patternsOverlap,
  ROUTE_ACL,
} from '../../shared/authorization/acl.js';
import { readAuthorizerConfig } from '../../shared/config.js';
import { ROUTES } from '../../shared/http/route-table.js';
import { AUDIENCE, hs256Key, ISSUER, NOW_S, signJwt, validClaims } from '../support/jwt.js';

describe('ACL entries', () => {
  it('parses literal, prefix and wildcard entries of each resource type', () => {
    expect(parseAcl(['topic:orders:Write', 'group:billing-*:Read', 'cluster:*:Create'])).toEqual([
      { resourceType: 'topic', pattern: 'orders', operation: 'Write' },
      { resourceType: 'group', pattern: 'billing-*', operation: 'Read' },
      { resourceType: 'cluster', pattern: '*', operation: 'Create' },
    ]);
  });

  it.each([
    'topic:orders',
    'topic:orders:write',
    'queue:orders:Read',
    'topic:or*ders:Read',
    'topic:a/b:Read',
    'cluster:main:Create',
    'topic::Read',
  ])('ignores "%s", which is not an entry', (text) => {
    expect(parseAclEntry(text)).toBeUndefined();
  });

  it('fails on a malformed entry in configuration, naming it', () => {
    expect(() => parseAcl(['topic:orders:Write', 'topic:orders:Produce'])).toThrow(/"topic:orders:Produce"/);
  });

  it('implies Describe from Read, Write, Delete and Alter, and everything from All, as Kafka does', () => {
    expect(['Read', 'Write', 'Delete', 'Alter', 'All'].every((op) => implies(op as never, 'Describe'))).toBe(
      true,
    );
    expect(implies('Create', 'Describe')).toBe(false);
    expect(implies('Describe', 'Read')).toBe(false);
    expect(implies('Write', 'Read')).toBe(false);
    expect(implies('All', 'Create')).toBe(true);
  });

  it('matches names by literal, prefix and *', () => {
    expect(patternMatches('orders', 'orders')).toBe(true);
    expect(patternMatches('orders', 'ordersx')).toBe(false);
    expect(patternMatches('orders.*', 'orders.eu')).toBe(true);
    expect(patternMatches('orders.*', 'orders')).toBe(false);
    expect(patternMatches('*', 'anything')).toBe(true);
  });

  it('relates patterns by cover and overlap', () => {
    expect(patternCovers('orders*', 'orders.eu*')).toBe(true);
    expect(patternCovers('orders.eu*', 'orders*')).toBe(false);
    expect(patternCovers('orders*', '*')).toBe(false);
    expect(patternsOverlap('orders.eu*', 'orders*')).toBe(true);
    expect(patternsOverlap('orders', 'payments*')).toBe(false);
  });

  it('names a permission for every route of the route table', () => {
    expect(Object.keys(ROUTE_ACL).sort()).toEqual(ROUTES.map((route) => route.operationId).sort());
  });
});

describe('JWT authorizer', () => {
  const config = {
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ['HS256'] as const,
    clockSkewS: 60,
    jwks: undefined,
    jwksUrl: undefined,
    hs256SecretArn: 'unused',
    aclClaim: 'scope',
    principalClaim: 'sub',
    region: 'eu-west-1',
  };
  const logged: string[] = [];
  const authorize = createAuthorizer({
    config,
    keys: async (header) => (header.alg === 'HS256' ? hs256Key() : undefined),
    nowMs: () => NOW_S * 1000,
    log: { info: (message: string) => logged.push(message) },
  });
  const methodArn = 'arn:aws:execute-api:eu-west-1:111122223333:abc/prod/POST/v1/topics/orders/records';
  const event = (headers: Record<string, string>): APIGatewayRequestAuthorizerEvent =>
    ({
      type: 'REQUEST',
      methodArn,
      resource: '/v1/topics/{topic}/records',
      path: '/v1/topics/orders/records',
      httpMethod: 'POST',
      headers,
      pathParameters: { topic: 'orders' },
      requestContext: { requestId: 'r-1' },
    }) as unknown as APIGatewayRequestAuthorizerEvent;
  const token = (claims: Record<string, unknown>) =>
    signJwt({ alg: 'HS256' }, validClaims(claims), hs256Key());

  it('allows the method ARN for a scope claim holding the entry among other scopes', async () => {
    const answer = await authorize(
      event({ authorization: `Bearer ${token({ scope: 'openid topic:orders:Write email' })}` }),
    );

    expect(answer).toEqual({
      principalId: 'alice',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: methodArn }],
      },
      context: { principal: 'alice', acl: 'topic:orders:Write' },
    });
  });

  it('denies (403) a valid token whose ACL does not allow the route', async () => {
    const answer = await authorize(
      event({ Authorization: `Bearer ${token({ scope: 'topic:orders:Read' })}` }),
    );

    expect(answer.policyDocument.Statement).toEqual([
      { Action: 'execute-api:Invoke', Effect: 'Deny', Resource: methodArn },
    ]);
  });

  it.each([
    ['no Authorization header', {}],
    ['a Basic scheme', { Authorization: 'Basic YWxpY2U6cGFzcw==' }],
    ['an expired token', { Authorization: `Bearer ${token({ exp: NOW_S - 3600 })}` }],
    ['a token without a subject', { Authorization: `Bearer ${token({ sub: undefined })}` }],
  ])('fails with Unauthorized (401) for %s', async (_, headers) => {
    await expect(authorize(event(headers))).rejects.toThrow(/^Unauthorized$/);
  });

  it('reads the bearer token whatever the case of the header and scheme', () => {
    expect(bearerTokenOf({ AUTHORIZATION: 'bearer abc.def.ghi' })).toBe('abc.def.ghi');
    expect(bearerTokenOf({ authorization: 'Bearer a b' })).toBeUndefined();
  });

  it('reads ACL entries from an array claim and ignores anything else', () => {
    expect(aclOf(['topic:orders:Read', 42, 'nonsense'])).toEqual([
      { resourceType: 'topic', pattern: 'orders', operation: 'Read' },
    ]);
    expect(aclOf({ topic: 'orders' })).toEqual([]);
  });
});

describe('authorizer configuration', () => {
  const base = {
    SHOAL_JWT_ISSUER: ISSUER,
    SHOAL_JWT_AUDIENCE: AUDIENCE,
    SHOAL_JWT_ALGORITHMS: 'RS256',
    SHOAL_JWT_JWKS_URL: 'https://issuer.example/jwks.json',
  };

  it('reads the settings with their defaults', () => {
    expect(readAuthorizerConfig(base)).toMatchObject({
      algorithms: ['RS256'],
      clockSkewS: 60,
      aclClaim: 'shoal_acl',
      principalClaim: 'sub',
    });
  });

  it('fails when HS256 is accepted without a secret', () => {
    expect(() => readAuthorizerConfig({ ...base, SHOAL_JWT_ALGORITHMS: 'RS256,HS256' })).toThrow(
      /HS256 needs a secret: set SHOAL_JWT_SECRET_ARN/,
    );
  });

  it('fails when the clock skew is above five minutes', () => {
    expect(() => readAuthorizerConfig({ ...base, SHOAL_JWT_CLOCK_SKEW_S: '600' })).toThrow(
      /SHOAL_JWT_CLOCK_SKEW_S must be a whole number from 0 to 300, got "600"/,
    );
  });
});

describe('Secrets Manager secret reader', () => {
  let server: Server;
  let endpoint: string;
  let seen: { headers: IncomingMessage['headers']; body: string } | undefined;

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        seen = { headers: request.headers, body };
        const { SecretId } = JSON.parse(body) as { SecretId: string };
        response.setHeader('content-type', 'application/x-amz-json-1.1');
        if (SecretId === 'missing') {
          response.statusCode = 400;
          response.end(JSON.stringify({ __type: 'ResourceNotFoundException' }));
          return;
        }
        response.end(JSON.stringify({ SecretString: `value-of-${SecretId}` }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

  it('sends one SigV4-signed GetSecretValue and returns the SecretString', async () => {
    const value = await readSecretString('jwt-key', { region: 'eu-west-1', endpoint, credentials });

    expect(value).toBe('value-of-jwt-key');
    expect(seen?.headers['x-amz-target']).toBe('secretsmanager.GetSecretValue');
    expect(seen?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/secretsmanager\/aws4_request/,
    );
  });

  it('fails with the service error type when the secret does not exist', async () => {
    await expect(readSecretString('missing', { region: 'eu-west-1', endpoint, credentials })).rejects.toThrow(
      'GetSecretValue failed: ResourceNotFoundException',
    );
  });
});
