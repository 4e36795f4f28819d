/** The client's HTTP layer on a scripted fetch: signing, headers, URLs and the retry rules. */
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { regionOfHost } from '../../client/auth.js';
import { ShoalApiError, ShoalConnectionError } from '../../client/index.js';
import { retryAfterMs, Transport } from '../../client/transport.js';

interface Sent {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  readonly body: string | undefined;
}

/** A fetch that records each request and answers from a script (the last answer repeats). */
function scriptedFetch(answers: (() => Response)[]): { fetch: typeof fetch; sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    sent,
    fetch: async (input, init) => {
      sent.push({
        url: String(input),
        method: init?.method ?? 'GET',
        headers: new Headers(init?.headers),
        body: typeof init?.body === 'string' ? init.body : undefined,
      });
      const answer = answers[Math.min(sent.length - 1, answers.length - 1)] as () => Response;
      return answer();
    },
  };
}

const ok =
  (body: unknown = { status: 'ok' }) =>
  () =>
    Response.json(body);
const problem =
  (status: number, headers: Record<string, string> = {}) =>
  () =>
    new Response(JSON.stringify({ title: 'x', detail: `status ${status}`, status, error_code: status }), {
      status,
      headers: { 'content-type': 'application/problem+json', ...headers },
    });
const noAnswer = () => () => {
  throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } });
};
const fast = { backoffInitialMs: 1, backoffMaxMs: 2 };

describe('signing', () => {
  const credentials = {
    accessKeyId: 'AKIDEXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    sessionToken: 'token-1',
  };

  it('signs with SigV4 for execute-api exactly as the algorithm prescribes', async () => {
    // Prepare
    const scripted = scriptedFetch([ok()]);
    const transport = new Transport({
      url: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod',
      auth: { type: 'iam', credentials },
      fetch: scripted.fetch,
    });

    // Act
    await transport.request('GET', '/v1/topics/orders/partitions/0/records', {
      query: { offset: 5, maxRecords: 10 },
    });

    // Assess: recompute the signature independently from what was sent.
    const [sent] = scripted.sent as [Sent];
    const amzDate = sent.headers.get('x-amz-date') as string;
    const authorization = sent.headers.get('authorization') as string;
    const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)?.[1] as string;
    const canonicalHeaders = signedHeaders
      .split(';')
      .map((name) => `${name}:${name === 'host' ? new URL(sent.url).host : sent.headers.get(name)}\n`)
      .join('');
    const canonicalRequest = [
      'GET',
      '/prod/v1/topics/orders/partitions/0/records',
      'maxRecords=10&offset=5',
      canonicalHeaders,
      signedHeaders,
      createHash('sha256').update('').digest('hex'),
    ].join('\n');
    const scope = `${amzDate.slice(0, 8)}/eu-west-1/execute-api/aws4_request`;
    const toSign = [
      'AWS4-HMAC-SHA256',
      amzDate,
      scope,
      createHash('sha256').update(canonicalRequest).digest('hex'),
    ].join('\n');
    const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
    let key = hmac(`AWS4${credentials.secretAccessKey}`, amzDate.slice(0, 8));
    for (const part of ['eu-west-1', 'execute-api', 'aws4_request']) key = hmac(key, part);
    const signature = createHmac('sha256', key).update(toSign).digest('hex');
    expect(authorization).toBe(
      `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    );
    expect(signedHeaders.split(';')).toContain('host');
    expect(sent.headers.get('x-amz-security-token')).toBe('token-1');
  });

  it('signs by default for an AWS host and not for the local stack', async () => {
    const aws = scriptedFetch([ok()]);
    const local = scriptedFetch([ok()]);
    await new Transport({
      url: 'https://abc123.execute-api.us-east-2.amazonaws.com/prod',
      auth: { type: 'iam', credentials },
      fetch: aws.fetch,
    }).request('GET', '/v1/health');
    await new Transport({ url: 'http://127.0.0.1:8092', fetch: local.fetch }).request('GET', '/v1/health');
    expect(aws.sent[0]?.headers.get('authorization')).toMatch(/us-east-2\/execute-api/);
    expect(local.sent[0]?.headers.get('authorization')).toBeNull();
  });

  it('finds the region in an execute-api host name', () => {
    expect(regionOfHost('abc123.execute-api.ap-southeast-2.amazonaws.com')).toBe('ap-southeast-2');
    expect(regionOfHost('shoal.example.com')).toBeUndefined();
  });
});

describe('requests', () => {
  it('sends custom headers and keeps the stage path of the base URL', async () => {
    const scripted = scriptedFetch([ok()]);
    await new Transport({
      url: 'https://shoal.example.com/prod/',
      auth: 'none',
      headers: { 'x-api-key': 'k' },
      fetch: scripted.fetch,
    }).request('GET', '/v1/topics/a%20b');
    expect(scripted.sent[0]?.url).toBe('https://shoal.example.com/prod/v1/topics/a%20b');
    expect(scripted.sent[0]?.headers.get('x-api-key')).toBe('k');
  });
});

describe('retries', () => {
  it('retries a 503 and a 429 until the answer comes', async () => {
    const scripted = scriptedFetch([problem(503), problem(429), ok()]);
    const answer = await new Transport({ fetch: scripted.fetch, retry: fast }).request(
      'POST',
      '/v1/groups/g/members',
      {
        body: {},
      },
    );
    expect(answer.status).toBe(200);
    expect(scripted.sent).toHaveLength(3);
  });

  it('fails when a request is refused for good, without retrying', async () => {
    const scripted = scriptedFetch([problem(400)]);
    const failure = new Transport({ fetch: scripted.fetch, retry: fast }).request('GET', '/v1/topics/x');
    await expect(failure).rejects.toBeInstanceOf(ShoalApiError);
    await expect(failure).rejects.toMatchObject({ status: 400, errorCode: 400 });
    expect(scripted.sent).toHaveLength(1);
  });

  it('fails after the bounded number of attempts', async () => {
    const scripted = scriptedFetch([problem(503)]);
    const failure = new Transport({ fetch: scripted.fetch, retry: { ...fast, retriesMax: 3 } }).request(
      'GET',
      '/v1/topics',
    );
    await expect(failure).rejects.toMatchObject({ status: 503 });
    expect(scripted.sent).toHaveLength(4);
  });

  it('repeats a keyed POST after no answer, with the same key', async () => {
    const scripted = scriptedFetch([noAnswer(), ok({ topic: 't', records: [] })]);
    await new Transport({ fetch: scripted.fetch, retry: fast }).request('POST', '/v1/topics/t/records', {
      body: '{"records":[]}',
      headers: { 'idempotency-key': 'p-1' },
    });
    expect(scripted.sent.map((sent) => sent.headers.get('idempotency-key'))).toEqual(['p-1', 'p-1']);
  });

  it('fails when a POST without a key got no answer, without repeating it', async () => {
    const scripted = scriptedFetch([noAnswer(), ok()]);
    const failure = new Transport({ fetch: scripted.fetch, retry: fast }).request(
      'POST',
      '/v1/groups/g/members',
      {
        body: {},
      },
    );
    await expect(failure).rejects.toBeInstanceOf(ShoalConnectionError);
    await expect(failure).rejects.toThrow('(ECONNRESET)');
    expect(scripted.sent).toHaveLength(1);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-21T10:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': '3' }), now)).toBe(3_000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Sat, 21 Nov 2026 10:00:05 GMT' }), now)).toBe(5_000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(retryAfterMs(new Headers(), now)).toBeUndefined();
  });
});
