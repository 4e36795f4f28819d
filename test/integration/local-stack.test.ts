import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLocalHttpServer, type LocalHttpServerOptions } from '../../local/http-server.js';
import { type LocalStack, LocalStackError, startLocalStack } from '../../local/stack.js';
import { ENV } from '../../shared/config.js';
import { LIMITS } from '../../shared/domain/limits.js';
import type { HttpHandler } from '../../shared/http/lambda-http.js';
import type { FunctionName } from '../../shared/http/route-table.js';
import { captureOutput } from '../support/stack-process.js';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'shoal-local-stack-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Serves a handler map on a free port; closed after each test. */
const servers: Server[] = [];
async function serve(
  handlers: Partial<Record<FunctionName, HttpHandler>>,
  options: LocalHttpServerOptions = {},
): Promise<string> {
  const server = createLocalHttpServer(handlers, options);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  vi.restoreAllMocks();
});

/** A handler that records what it was called with and answers `answer`. */
function recording(answer: APIGatewayProxyResult = { statusCode: 200, body: '{}' }) {
  const calls: { event: APIGatewayProxyEvent; context: Context | undefined; remainingMs: number }[] = [];
  const handler: HttpHandler = async (event, context) => {
    calls.push({ event, context, remainingMs: context?.getRemainingTimeInMillis() ?? -1 });
    return answer;
  };
  return { handler, calls };
}

/** A raw request, for what fetch cannot send: repeated headers, chunked bodies. */
function rawRequest(
  url: string,
  options: { method: string; headers?: Record<string, string | string[]>; chunks?: Buffer[] },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method, headers: options.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    for (const chunk of options.chunks ?? []) req.write(chunk);
    req.end();
  });
}

describe('local HTTP server', () => {
  it('passes a REST API proxy event with decoded path parameters, query and repeated headers', async () => {
    const { handler, calls } = recording();
    const url = await serve({ 'produce-records': handler });

    await rawRequest(`${url}/v1/topics/or%20ders/records?x=1&x=2&y=a%2Bb`, {
      method: 'POST',
      headers: { 'x-trace': ['first', 'second'], 'content-type': 'application/json' },
      chunks: [Buffer.from('{"records":[]}')],
    });

    expect(calls).toHaveLength(1);
    const { event, context, remainingMs } = calls[0] ?? expect.unreachable();
    expect(event).toMatchObject({
      resource: '/v1/topics/{topic}/records',
      path: '/v1/topics/or%20ders/records',
      httpMethod: 'POST',
      pathParameters: { topic: 'or ders' },
      queryStringParameters: { x: '2', y: 'a+b' },
      multiValueQueryStringParameters: { x: ['1', '2'], y: ['a+b'] },
      stageVariables: null,
      body: Buffer.from('{"records":[]}').toString('base64'),
      isBase64Encoded: true,
      requestContext: {
        stage: 'local',
        httpMethod: 'POST',
        resourcePath: '/v1/topics/{topic}/records',
        path: '/local/v1/topics/or%20ders/records',
        identity: { sourceIp: '127.0.0.1' },
      },
    });
    expect(event.headers['x-trace']).toBe('second');
    expect(event.multiValueHeaders['x-trace']).toEqual(['first', 'second']);
    expect(event.headers['content-type']).toBe('application/json');
    expect(event.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Math.abs(event.requestContext.requestTimeEpoch - Date.now())).toBeLessThan(5_000);
    expect(context?.functionName).toBe('produce-records');
    expect(context?.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(remainingMs).toBeGreaterThan(29_000);
    expect(remainingMs).toBeLessThanOrEqual(30_000);
  });

  it('passes null query maps, null body and the literal route for a plain GET', async () => {
    const { handler, calls } = recording();
    const url = await serve({ 'manage-topics': handler });

    await fetch(`${url}/v1/topics`);

    expect(calls[0]?.event).toMatchObject({
      resource: '/v1/topics',
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      pathParameters: null,
      body: null,
      isBase64Encoded: false,
    });
  });

  it('passes a body that is not UTF-8 text base64-encoded', async () => {
    const { handler, calls } = recording();
    const url = await serve({ 'produce-records': handler });
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x41]);

    await fetch(`${url}/v1/topics/t/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: bytes,
    });

    expect(calls[0]?.event.isBase64Encoded).toBe(true);
    expect(Buffer.from(calls[0]?.event.body ?? '', 'base64')).toEqual(bytes);
  });

  it('writes the status, single and repeated headers and a base64 body of the result', async () => {
    const { handler } = recording({
      statusCode: 201,
      headers: { 'content-type': 'application/octet-stream', 'x-one': 'a', 'x-both': 'single' },
      multiValueHeaders: { 'x-both': ['m1', 'm2'] },
      body: Buffer.from([1, 2, 3]).toString('base64'),
      isBase64Encoded: true,
    });
    const url = await serve({ 'manage-topics': handler });

    const answer = await rawRequest(`${url}/v1/topics`, { method: 'POST' });
    const bytes = Buffer.from(await (await fetch(`${url}/v1/topics`, { method: 'POST' })).arrayBuffer());

    expect(answer.status).toBe(201);
    expect(answer.headers['content-type']).toBe('application/octet-stream');
    expect(answer.headers['x-one']).toBe('a');
    expect(answer.headers['x-both']).toBe('m1, m2');
    expect(bytes).toEqual(Buffer.from([1, 2, 3]));
  });

  it('fails with a 404 problem for a path outside the route table', async () => {
    const url = await serve({});

    const answer = await fetch(`${url}/v2/nothing`);

    expect(answer.status).toBe(404);
    expect(answer.headers.get('content-type')).toBe('application/problem+json');
    expect(await answer.json()).toMatchObject({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      error_code: 404,
    });
  });

  it('fails with a 405 problem and Allow for a known path with another method', async () => {
    const url = await serve({});

    const answer = await fetch(`${url}/v1/topics/orders`, { method: 'POST' });

    expect(answer.status).toBe(405);
    expect(answer.headers.get('allow')).toBe('GET, PATCH, DELETE');
    expect(await answer.json()).toMatchObject({ status: 405, error_code: 405 });
  });

  it('fails with the same 413 problem as the handlers for a body over requestBodyBytesMax, without calling the function', async () => {
    const { handler, calls } = recording();
    const url = await serve({ 'produce-records': handler });

    const declared = await fetch(`${url}/v1/topics/t/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.alloc(LIMITS.requestBodyBytesMax + 1),
    });
    const chunked = await rawRequest(`${url}/v1/topics/t/records`, {
      method: 'POST',
      headers: { 'transfer-encoding': 'chunked' },
      chunks: Array.from({ length: 5 }, () => Buffer.alloc(1_048_576)),
    }).catch((error: unknown) => error);

    expect(declared.status).toBe(413);
    expect(declared.headers.get('content-type')).toBe('application/problem+json');
    expect(await declared.json()).toMatchObject({
      status: 413,
      error_code: 413,
      limit: 'requestBodyBytes',
      value: LIMITS.requestBodyBytesMax + 1,
      max: LIMITS.requestBodyBytesMax,
    });
    // A streamed body is cut off: the client sees the 413 or, if still writing, a closed connection.
    if (!(chunked instanceof Error)) expect(chunked).toMatchObject({ status: 413 });
    expect(calls).toHaveLength(0);
  });

  it('accepts a body of exactly requestBodyBytesMax, passed base64-encoded', async () => {
    const { handler, calls } = recording();
    const url = await serve({ 'produce-records': handler });

    const answer = await fetch(`${url}/v1/topics/t/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'x'.repeat(LIMITS.requestBodyBytesMax),
    });

    expect(answer.status).toBe(200);
    expect(calls[0]?.event.isBase64Encoded).toBe(true);
    expect(calls[0]?.event.body).toHaveLength((LIMITS.requestBodyBytesMax / 3) * 4);
  });

  it('fails with a generic 500 problem when the handler throws, logging the error with the request id', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const url = await serve({
      'manage-topics': async () => {
        throw new Error('secret internals');
      },
    });

    const answer = await fetch(`${url}/v1/topics`);
    const body = await answer.json();

    expect(answer.status).toBe(500);
    expect(answer.headers.get('content-type')).toBe('application/problem+json');
    expect(JSON.stringify(body)).not.toContain('secret');
    expect(body).toMatchObject({ status: 500, error_code: 500 });
    const requestId = answer.headers.get('x-amzn-requestid') ?? 'missing';
    expect(logged).toHaveBeenCalledWith(expect.stringContaining(requestId), expect.any(Error));
  });

  it('fails with 502 when the handler returns something that is not a proxy result', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const url = await serve({
      'manage-topics': async () => ({ body: 'no status' }) as unknown as APIGatewayProxyResult,
    });

    const answer = await fetch(`${url}/v1/topics`);

    expect(answer.status).toBe(502);
  });

  it('fails with 504 when the handler outlives the timeout', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const url = await serve(
      {
        'manage-topics': () =>
          new Promise((resolve) => setTimeout(() => resolve({ statusCode: 200, body: '' }), 2_000)),
      },
      { timeoutMs: 50 },
    );

    const answer = await fetch(`${url}/v1/topics`);

    expect(answer.status).toBe(504);
  });

  it('fails with 501 for a route whose function is not loaded', async () => {
    const url = await serve({});

    const answer = await fetch(`${url}/v1/topics`);

    expect(answer.status).toBe(501);
  });

  it('logs one line per request only when asked to', async () => {
    const written = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const quiet = await serve({});
    const loud = await serve({}, { logRequests: true });

    await fetch(`${quiet}/nothing`);
    await fetch(`${loud}/nothing`);
    await new Promise((resolve) => setTimeout(resolve, 20));

    const lines = written.mock.calls
      .map(([chunk]) => String(chunk))
      .filter((line) => line.includes('/nothing'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^GET \/nothing 404 \d+ms [0-9a-f-]{36}\n$/);
  });
});

/**
 * Process ids of running DynamoDB Local processes whose arguments contain `needle` (arguments
 * joined by spaces). Always positive: a pid of 0 or -1 would signal whole process groups.
 */
async function javaProcessesWith(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^[1-9]\d*$/.test(entry)) continue;
    const commandLine = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).replaceAll(
      '\0',
      ' ',
    );
    // Java itself, not the shell that ties it to the stack (its arguments name the jar too).
    const isJava = /^(\S*\/)?java /.test(commandLine);
    if (isJava && commandLine.includes('DynamoDBLocal.jar') && commandLine.includes(needle)) {
      pids.push(Number(entry));
    }
  }
  return pids;
}

/** Sends SIGKILL to one process found by {@link javaProcessesWith}, refusing anything but a positive pid. */
function killProcess(pid: number | undefined): void {
  if (pid === undefined || !Number.isInteger(pid) || pid <= 0)
    throw new Error(`refusing to signal pid ${pid}`);
  process.kill(pid, 'SIGKILL');
}

async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * Each start launches a JVM; on a loaded 2-core machine (CI with two test workers) one start can
 * take well over the default 30 s test timeout.
 */
const STACK_START_TIMEOUT_MS = 120_000;

describe('local stack', () => {
  const stacks: LocalStack[] = [];
  afterEach(async () => {
    for (const stack of stacks.splice(0)) await stack.stop();
  });

  it(
    'starts on free ports and serves the health route, and 404 and 405 problems, through the route table',
    async () => {
      const stack = await startLocalStack({ dataDir: join(scratch, 'unused'), port: 0, persistent: false });
      stacks.push(stack);

      const health = await fetch(`${stack.url}/v1/health`);
      const unknown = await fetch(`${stack.url}/v1/nothing`);
      const wrongMethod = await fetch(`${stack.url}/v1/health`, { method: 'DELETE' });

      expect(stack.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      expect(unknown.status).toBe(404);
      expect(wrongMethod.status).toBe(405);
      expect(wrongMethod.headers.get('allow')).toBe('GET');
    },
    STACK_START_TIMEOUT_MS,
  );

  it(
    'keeps table items and objects across a stop and a start on the same data folder',
    async () => {
      const dataDir = join(scratch, 'persistent');
      const first = await startLocalStack({ dataDir, port: 0, persistent: true });
      stacks.push(first);
      await first.runtime.documents.send(
        new PutCommand({
          TableName: first.config.metaTableName,
          Item: { pk: 'kept', sk: 'item', value: 42 },
        }),
      );
      await first.runtime.s3.send(
        new PutObjectCommand({ Bucket: first.config.segmentBucketName, Key: 'kept/segment', Body: 'bytes' }),
      );
      await first.stop();

      const second = await startLocalStack({ dataDir, port: 0, persistent: true });
      stacks.push(second);
      const item = await second.runtime.documents.send(
        new GetCommand({ TableName: second.config.metaTableName, Key: { pk: 'kept', sk: 'item' } }),
      );
      const object = await second.runtime.s3.send(
        new GetObjectCommand({ Bucket: second.config.segmentBucketName, Key: 'kept/segment' }),
      );

      expect(item.Item).toEqual({ pk: 'kept', sk: 'item', value: 42 });
      expect(await object.Body?.transformToString()).toBe('bytes');
    },
    2 * STACK_START_TIMEOUT_MS,
  );

  it('fails with a one-line error when a running process holds the data folder', async () => {
    const dataDir = join(scratch, 'locked');
    await mkdir(dataDir, { recursive: true });
    await writeFile(join(dataDir, '.lock'), String(process.pid));

    const error = await startLocalStack({ dataDir, port: 0, persistent: true }).catch(
      (caught: unknown) => caught,
    );

    expect(error).toBeInstanceOf(LocalStackError);
    expect((error as Error).message).toBe(
      `${dataDir} is used by another Shoal stack (pid ${process.pid}): stop it or set SHOAL_DATA_DIR to another folder`,
    );
  });

  it('fails with a one-line error naming the port when it is in use', async () => {
    const blocker = createNetServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = address !== null && typeof address === 'object' ? address.port : -1;

    const error = await startLocalStack({ dataDir: join(scratch, 'blocked'), port, persistent: false }).catch(
      (caught: unknown) => caught,
    );
    await new Promise((resolve) => blocker.close(resolve));

    expect(error).toBeInstanceOf(LocalStackError);
    expect((error as Error).message).toBe(`Port ${port} is in use: stop the other process or set SHOAL_PORT`);
  });

  it(
    'stops the rest and reports one line when DynamoDB Local dies',
    async () => {
      const stack = await startLocalStack({ dataDir: join(scratch, 'dies'), port: 0, persistent: false });
      stacks.push(stack);
      const dynamodbPort = new URL(stack.config.dynamodbEndpoint ?? 'http://missing').port;
      const pids = await javaProcessesWith(`-port ${dynamodbPort} `);
      expect(pids).toHaveLength(1);

      killProcess(pids[0]);
      const error = await stack.done.catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(LocalStackError);
      expect((error as Error).message).toMatch(
        /^DynamoDB Local \(pid \d+\) exited unexpectedly \(signal SIGKILL\): .+/,
      );
      expect((error as Error).message).not.toContain('\n');
      await expect(fetch(`${stack.url}/v1/health`)).rejects.toThrow();
    },
    STACK_START_TIMEOUT_MS,
  );

  it(
    'runs under npm start until SIGTERM, then exits 0 and leaves no DynamoDB Local behind',
    async () => {
      const dataDir = join(scratch, 'npm-start');
      const port = await freePort();
      const child: ChildProcess = spawn('npm', ['start'], {
        env: { ...process.env, [ENV.port]: String(port), [ENV.dataDir]: dataDir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const { stdout, stderr } = captureOutput(child);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        await vi.waitUntil(() => stdout().includes('Shoal is running') || child.exitCode !== null, {
          timeout: STACK_START_TIMEOUT_MS - 10_000,
          interval: 100,
        });
        const health = await fetch(`http://127.0.0.1:${port}/v1/health`);
        const javaWhileRunning = await javaProcessesWith(dataDir);

        child.kill('SIGTERM');
        const code = await exited;

        const readyLines = stdout()
          .split('\n')
          .filter((line) => line.startsWith('Shoal'));
        expect(readyLines, stderr()).toEqual([
          `Shoal is running at http://127.0.0.1:${port} (data in ${dataDir}; Ctrl-C to stop)`,
        ]);
        expect(health.status).toBe(200);
        expect(javaWhileRunning).toHaveLength(1);
        expect(code).toBe(0);
        expect(await javaProcessesWith(dataDir)).toEqual([]);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        for (const pid of await javaProcessesWith(dataDir)) killProcess(pid);
      }
    },
    STACK_START_TIMEOUT_MS,
  );
});
