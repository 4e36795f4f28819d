/**
 * The proxy event an API Gateway REST API (v1) hands a Lambda function, built field by field as
 * API Gateway builds it for Shoal's API (`binaryMediaTypes: ['*\/*']`, so every body is
 * base64-encoded), with the headers API Gateway adds itself: what Lambda counts against its
 * 6,291,456-byte payload limit is `JSON.stringify` of this.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';

/** What a client sends. Header names as sent; repeated headers as arrays. */
export interface ClientRequest {
  readonly method: string;
  /** The route, e.g. `/v1/topics/{topic}/records`. */
  readonly resource: string;
  readonly pathParameters: Readonly<Record<string, string>>;
  /** Decoded query parameters, each with its values in order. */
  readonly query?: Readonly<Record<string, readonly string[]>>;
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  readonly body?: Uint8Array;
  /** The context a Lambda authorizer returned (the JWT authorizer's principal and ACL). */
  readonly authorizerContext?: Readonly<Record<string, string>>;
}

const STAGE = 'prod';
const API_ID = 'a1b2c3d4e5';

/** The headers API Gateway adds to every request it passes on (Regional endpoint). */
const GATEWAY_HEADERS: Readonly<Record<string, string>> = {
  Host: `${API_ID}.execute-api.eu-west-1.amazonaws.com`,
  'X-Amzn-Trace-Id': 'Root=1-67891233-abcdef012345678912345678',
  'X-Forwarded-For': '203.0.113.195, 198.51.100.17',
  'X-Forwarded-Port': '443',
  'X-Forwarded-Proto': 'https',
};

/** The proxy event API Gateway builds for `request`. */
export function restProxyEvent(request: ClientRequest): APIGatewayProxyEvent {
  const path = request.resource.replace(/\{([^}]+)\}/g, (_, name: string) =>
    encodeURIComponent(request.pathParameters[name] ?? ''),
  );
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of Object.entries({ ...request.headers, ...GATEWAY_HEADERS })) {
    const values = typeof value === 'string' ? [value] : [...value];
    headers[name] = values.at(-1) ?? '';
    multiValueHeaders[name] = values;
  }
  const query = Object.entries(request.query ?? {});
  const userAgent = headers['User-Agent'] ?? headers['user-agent'] ?? null;
  const now = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
  return {
    resource: request.resource,
    path,
    httpMethod: request.method,
    headers,
    multiValueHeaders,
    queryStringParameters:
      query.length === 0
        ? null
        : Object.fromEntries(query.map(([name, values]) => [name, values.at(-1) ?? ''])),
    multiValueQueryStringParameters:
      query.length === 0 ? null : Object.fromEntries(query.map(([name, values]) => [name, [...values]])),
    pathParameters: { ...request.pathParameters },
    stageVariables: null,
    requestContext: {
      resourceId: 'x1y2z3',
      resourcePath: request.resource,
      httpMethod: request.method,
      extendedRequestId: 'Ab1CdEfGhIjKlM=',
      requestTime: '02/Jan/2026:03:04:05 +0000',
      path: `/${STAGE}${path}`,
      accountId: '123456789012',
      protocol: 'HTTP/1.1',
      stage: STAGE,
      domainPrefix: API_ID,
      requestTimeEpoch: now,
      requestId: '8f2c7c3e-4b1d-4f0e-9a7b-1c2d3e4f5a6b',
      identity: {
        cognitoIdentityPoolId: null,
        accountId: '123456789012',
        cognitoIdentityId: null,
        caller: 'AROAEXAMPLEEXAMPLE12:producer-session',
        sourceIp: '203.0.113.195',
        principalOrgId: 'o-exampleorgid',
        accessKey: 'ASIAEXAMPLEEXAMPLE12',
        cognitoAuthenticationType: null,
        cognitoAuthenticationProvider: null,
        userArn: 'arn:aws:sts::123456789012:assumed-role/shoal-producer-role/producer-session',
        userAgent,
        user: 'AROAEXAMPLEEXAMPLE12:producer-session',
        apiKey: null,
        apiKeyId: null,
        clientCert: null,
      },
      domainName: GATEWAY_HEADERS.Host as string,
      apiId: API_ID,
      authorizer:
        request.authorizerContext === undefined
          ? null
          : {
              principalId: request.authorizerContext.principal ?? '',
              integrationLatency: 12,
              ...request.authorizerContext,
            },
    },
    body: request.body === undefined ? null : Buffer.from(request.body).toString('base64'),
    isBase64Encoded: request.body !== undefined,
  };
}

/** The bytes Lambda counts for an event or a result: its JSON. */
export function payloadBytes(payload: unknown): number {
  return Buffer.byteLength(JSON.stringify(payload), 'utf8');
}

/**
 * Bytes of a request's request line and headers on the wire, which API Gateway caps at 10,240
 * (`METHOD /stage/path?query HTTP/1.1` and `Name: value` lines).
 */
export function requestLineAndHeadersBytes(request: ClientRequest): number {
  const path = request.resource.replace(/\{([^}]+)\}/g, (_, name: string) =>
    encodeURIComponent(request.pathParameters[name] ?? ''),
  );
  const query = Object.entries(request.query ?? {})
    .flatMap(([name, values]) => values.map((value) => `${name}=${encodeURIComponent(value)}`))
    .join('&');
  let bytes = Buffer.byteLength(`${request.method} /${STAGE}${path}${query ? `?${query}` : ''} HTTP/1.1`);
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    for (const one of typeof value === 'string' ? [value] : value)
      bytes += Buffer.byteLength(`${name}: ${one}`);
  }
  return bytes;
}
