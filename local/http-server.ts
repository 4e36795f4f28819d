/**
 * The local stack's stand-in for API Gateway: a node HTTP server that matches each request against
 * the shared route table, turns it into the very event a REST API (v1) Lambda proxy integration
 * sends, calls the function's handler and writes its answer back. One handler therefore serves both
 * AWS and `npm start`, and the few places where API Gateway itself answers (unknown path, wrong
 * method, a failed or timed-out function) answer the same way here. A body over `requestBodyBytesMax`
 * is answered 413 here before it is read whole, with the problem the handlers answer it with.
 *
 * Unlike API Gateway, which signs or authorizes every request, this server trusts whoever reaches
 * it, and a web page open in the developer's browser reaches 127.0.0.1 too. So before routing it
 * refuses what only a browser driven by another site sends (see {@link refuseForeign}), and it
 * passes on bodies that are `application/json` only (see {@link refuseBody}).
 *
 * It also serves the web console (`console/`) at `/` and `/console/`, behind the same guards: the
 * console's page and its calls come from this very origin, so nothing is relaxed for it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { ConsoleAssets } from '../console/assets.js';
import { answerConsole, isConsolePath } from '../console/serve.js';
import { LIMITS } from '../shared/domain/limits.js';
import { requestBodyOverLimit } from '../shared/http/http-handler.js';
import type { HttpHandler } from '../shared/http/lambda-http.js';
import { problemFor, problemResult } from '../shared/http/problem.js';
import { type FunctionName, matchPath, type Route } from '../shared/http/route-table.js';

/**
 * The largest request body: the handlers' own limit, on the same measure (the bytes received), so
 * the local stack refuses what the deployed API refuses (see `LIMITS.requestBodyBytesMax`).
 */
export const REQUEST_BODY_BYTES_MAX = LIMITS.requestBodyBytesMax;

/** The function timeout the local stack reports through `context.getRemainingTimeInMillis()`. */
export const FUNCTION_TIMEOUT_MS = 30_000;

/** How long an idle keep-alive connection stays open. */
const IDLE_CONNECTION_MS_MAX = 65_000;

/** The stage name in `requestContext.stage`. */
const STAGE = 'local';

/** Options of {@link createLocalHttpServer}. */
export interface LocalHttpServerOptions {
  /** Print one line per request to stdout. @default false */
  readonly logRequests?: boolean;
  /** Time a handler may take before the request is answered 504. @default FUNCTION_TIMEOUT_MS */
  readonly timeoutMs?: number;
  /** The web console's files, served at `/` and `/console/`. @default none: those paths answer 404 */
  readonly console?: ConsoleAssets;
}

/**
 * Builds the HTTP server of the local stack. It is not listening yet: call `listen(port, '127.0.0.1')`.
 * A route whose function has no handler in `handlers` answers 501.
 *
 * @example
 * const server = createLocalHttpServer({ 'manage-topics': createHandler(runtime) });
 * server.listen(8092, '127.0.0.1');
 */
export function createLocalHttpServer(
  handlers: Partial<Record<FunctionName, HttpHandler>>,
  options: LocalHttpServerOptions = {},
): Server {
  const settings = {
    logRequests: options.logRequests ?? false,
    timeoutMs: options.timeoutMs ?? FUNCTION_TIMEOUT_MS,
    console: options.console,
  };
  const server = createServer((request, response) => {
    const startedAt = performance.now();
    const requestId = randomUUID();
    response.setHeader('x-amzn-requestid', requestId);
    if (settings.logRequests) {
      response.once('finish', () => {
        const elapsedMs = Math.round(performance.now() - startedAt);
        process.stdout.write(
          `${request.method} ${request.url} ${response.statusCode} ${elapsedMs}ms ${requestId}\n`,
        );
      });
    }
    serve(request, response, requestId, handlers, settings).catch((error: unknown) => {
      console.error(
        `[shoal] request ${requestId} (${request.method} ${request.url}) failed in the server:`,
        error,
      );
      if (!response.headersSent) sendProblem(response, 500, 'The server failed to handle the request.');
      else response.destroy();
    });
  });
  // Node closes idle keep-alive sockets after 5 s and fetch reuses them until 4 s: on a loaded
  // machine the two race and a request fails with "other side closed". Idle sockets are cheap here.
  server.keepAliveTimeout = IDLE_CONNECTION_MS_MAX;
  return server;
}

interface Settings {
  readonly timeoutMs: number;
  readonly console: ConsoleAssets | undefined;
}

async function serve(
  request: IncomingMessage,
  response: ServerResponse,
  requestId: string,
  handlers: Partial<Record<FunctionName, HttpHandler>>,
  settings: Settings,
): Promise<void> {
  const method = request.method ?? 'GET';
  const url = new URL(request.url ?? '/', 'http://localhost');
  const path = rawPath(request);
  const foreign = refuseForeign(request);
  if (foreign !== undefined) {
    request.resume();
    sendProblem(response, 403, foreign);
    return;
  }
  if (settings.console !== undefined && isConsolePath(path)) {
    request.resume();
    const answer = answerConsole(settings.console, method, path);
    response.statusCode = answer.statusCode;
    for (const [name, value] of Object.entries(answer.headers)) response.setHeader(name, value);
    response.setHeader('content-length', answer.body.length);
    response.end(method === 'HEAD' ? undefined : answer.body);
    return;
  }
  const match = matchPath(method, path);
  if (match === undefined) {
    request.resume();
    sendProblem(response, 404, `No route matches ${path}.`);
    return;
  }
  if ('allowedMethods' in match) {
    request.resume();
    const allow = match.allowedMethods.join(', ');
    sendProblem(response, 405, `${method} is not allowed on ${path}; allowed: ${allow}.`, { allow });
    return;
  }
  const body = await readBody(request, REQUEST_BODY_BYTES_MAX);
  if (typeof body === 'number') {
    // Stop reading: the rest of the body is never buffered, and the connection closes after the answer.
    request.pause();
    response.setHeader('connection', 'close');
    const problem = problemFor(requestBodyOverLimit(body));
    assert.ok(problem !== undefined, 'a LimitExceededError is answered with a problem');
    writeResult(response, problemResult(problem, requestId), requestId, match.route.functionName);
    response.once('finish', () => request.socket.destroySoon());
    return;
  }
  const unsupported = refuseBody(request, body);
  if (unsupported !== undefined) {
    sendProblem(response, 415, unsupported);
    return;
  }
  const { route, pathParameters } = match;
  const handler = handlers[route.functionName];
  if (handler === undefined) {
    sendProblem(response, 501, `The function ${route.functionName} that serves ${route.path} is not loaded.`);
    return;
  }
  const event = buildEvent(request, url, route, pathParameters, body, requestId);
  const outcome = await invoke(handler, event, route.functionName, settings.timeoutMs);
  switch (outcome.kind) {
    case 'result':
      writeResult(response, outcome.result, requestId, route.functionName);
      return;
    case 'error':
      console.error(
        `[shoal] request ${requestId} (${method} ${path}) failed in ${route.functionName}:`,
        outcome.error,
      );
      sendProblem(response, 500, 'The server failed to handle the request.');
      return;
    case 'timeout':
      console.error(
        `[shoal] request ${requestId} (${method} ${path}) timed out in ${route.functionName} after ${settings.timeoutMs} ms`,
      );
      sendProblem(response, 504, `The function did not answer within ${settings.timeoutMs} ms.`);
      return;
  }
}

/** The loopback names and addresses of this server, with its port: what its own URLs start with. */
function ownAuthorities(port: number | undefined): Set<string> {
  const hosts = ['127.0.0.1', 'localhost', '[::1]'];
  // URLs, and so Host and Origin, leave out the default port.
  return new Set([...hosts.map((host) => `${host}:${port}`), ...(port === 80 ? hosts : [])]);
}

/** A header value fit to show in a problem: at most 100 characters. */
const shown = (value: string): string =>
  JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}...` : value);

/**
 * Why a request must not be served because a page of another site may have sent it; undefined when
 * it may be served.
 *
 * - Host must name this server (127.0.0.1, localhost or [::1] with its port). A page on a domain
 *   that the attacker rebinds to 127.0.0.1 (DNS rebinding) becomes same-origin with the stack in
 *   the browser's eyes, but its requests still carry the attacker's domain in Host.
 * - Origin, when present, must be this server's own (http://127.0.0.1:<port>,
 *   http://localhost:<port>): browsers send it with every cross-origin request and every POST,
 *   PATCH and DELETE, so a page elsewhere is refused while a console served from this port is not.
 *   `Origin: null` (sandboxed frames, file: pages) is refused too. curl and SDKs send no Origin.
 */
export function refuseForeign(request: IncomingMessage): string | undefined {
  const own = ownAuthorities(request.socket.localPort);
  const host = request.headers.host;
  if (host === undefined || !own.has(host.toLowerCase())) {
    return (
      `The Host header ${host === undefined ? '(none)' : shown(host)} does not name this server: ` +
      `use http://127.0.0.1:${request.socket.localPort} or http://localhost:${request.socket.localPort}.`
    );
  }
  const origin = request.headers.origin;
  if (origin === undefined) return undefined;
  const lower = origin.toLowerCase();
  if (lower.startsWith('http://') && own.has(lower.slice('http://'.length))) return undefined;
  return `Requests from the origin ${shown(origin)} are not served: the local stack answers pages of its own origin only.`;
}

/**
 * Why a body must not be passed on; undefined when there is none or it is `application/json`.
 *
 * A page can send a body to any site without asking first (no CORS preflight) only as
 * `text/plain`, `application/x-www-form-urlencoded`, `multipart/form-data` or without a
 * Content-Type; anything else, `application/json` included, needs a preflight that this server
 * never grants. Requiring `application/json` therefore stops such a body even from a browser that
 * sends no Origin, so it holds whatever the Origin. It binds curl too, whose `-d` sends
 * `application/x-www-form-urlencoded`: curl needs `-H 'Content-Type: application/json'` (or
 * `--json`), as the README's examples show. Exempting form bodies that carry no Origin would have
 * kept bare `-d` working, but only as long as every browser sends Origin on every form post.
 */
function refuseBody(request: IncomingMessage, body: Buffer): string | undefined {
  if (body.length === 0) return undefined;
  const contentType = request.headers['content-type'];
  if (contentType?.split(';')[0]?.trim().toLowerCase() === 'application/json') return undefined;
  return (
    `The request body must be application/json, not ${contentType === undefined ? 'without a Content-Type' : shown(contentType)}: ` +
    `send Content-Type: application/json (with curl, -H 'Content-Type: application/json'; -d alone sends a form).`
  );
}

/**
 * Reads the whole body, or stops as soon as it is known to exceed `bytesMax` and resolves to the
 * bytes known then: the declared Content-Length, or what was read before the limit was passed.
 */
function readBody(request: IncomingMessage, bytesMax: number): Promise<Buffer | number> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > bytesMax) return Promise.resolve(declared);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > bytesMax) {
        cleanup();
        chunks.length = 0;
        resolve(bytes);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, bytes));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
    };
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
  });
}

/**
 * The path as sent. The URL parser would resolve `.`, `..` and `%2E` segments and so route
 * `/v1/topics/%2E` to `/v1/topics`; API Gateway hands such a segment to the route as a parameter.
 */
function rawPath(request: IncomingMessage): string {
  return (request.url ?? '/').split('?', 1)[0] as string;
}

/** A header or query parameter map: single-value (the last value) and multi-value (all of them). */
interface ValueMaps {
  readonly single: Record<string, string>;
  readonly multi: Record<string, string[]>;
}

/** The request's headers as API Gateway passes them, both maps without prototype. */
function headerMaps(request: IncomingMessage): ValueMaps {
  // Without prototype, so that a name such as `__proto__` or `constructor` is just a name.
  const single: Record<string, string> = Object.create(null);
  const multi: Record<string, string[]> = Object.create(null);
  for (const [name, values] of Object.entries(request.headersDistinct)) {
    if (values === undefined || values.length === 0) continue;
    single[name] = values[values.length - 1] as string;
    multi[name] = [...values];
  }
  return { single, multi };
}

/** The query parameters as API Gateway passes them, both maps without prototype. */
function queryMaps(url: URL): ValueMaps {
  const single: Record<string, string> = Object.create(null);
  const multi: Record<string, string[]> = Object.create(null);
  for (const [name, value] of url.searchParams) {
    single[name] = value;
    multi[name] = [...(multi[name] ?? []), value];
  }
  return { single, multi };
}

/**
 * The body as API Gateway passes it: base64-encoded, since the REST API treats every media type as
 * binary (`binaryMediaTypes: ['*\/*']`) and every body here has a Content-Type (see {@link refuseBody}).
 */
function eventBody(body: Buffer): { text: string | null; isBase64Encoded: boolean } {
  if (body.length === 0) return { text: null, isBase64Encoded: false };
  return { text: body.toString('base64'), isBase64Encoded: true };
}

/**
 * The REST API (v1) proxy event: single-value maps hold the last value of a repeated header or
 * query parameter, multi-value maps hold all of them, both are null when there is none.
 */
function buildEvent(
  request: IncomingMessage,
  url: URL,
  route: Route,
  pathParameters: Record<string, string>,
  body: Buffer,
  requestId: string,
): APIGatewayProxyEvent {
  const path = rawPath(request);
  const headers = headerMaps(request);
  const query = queryMaps(url);
  const hasQuery = Object.keys(query.single).length > 0;
  const { text, isBase64Encoded } = eventBody(body);
  const method = request.method ?? 'GET';
  return {
    resource: route.path,
    path,
    httpMethod: method,
    headers: headers.single,
    multiValueHeaders: headers.multi,
    queryStringParameters: hasQuery ? query.single : null,
    multiValueQueryStringParameters: hasQuery ? query.multi : null,
    pathParameters: Object.keys(pathParameters).length > 0 ? pathParameters : null,
    stageVariables: null,
    body: text,
    isBase64Encoded,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      protocol: `HTTP/${request.httpVersion}`,
      httpMethod: method,
      identity: localIdentity(request, headers.single),
      path: `/${STAGE}${path}`,
      stage: STAGE,
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: route.operationId,
      resourcePath: route.path,
    },
  };
}

/** The caller's identity in the event: only the source IP and user agent are known locally. */
function localIdentity(
  request: IncomingMessage,
  headers: Record<string, string>,
): APIGatewayProxyEvent['requestContext']['identity'] {
  return {
    accessKey: null,
    accountId: null,
    apiKey: null,
    apiKeyId: null,
    caller: null,
    clientCert: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
    user: null,
    userAgent: headers['user-agent'] ?? null,
    userArn: null,
  };
}

type Outcome =
  | { readonly kind: 'result'; readonly result: unknown }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'timeout' };

async function invoke(
  handler: HttpHandler,
  event: APIGatewayProxyEvent,
  functionName: FunctionName,
  timeoutMs: number,
): Promise<Outcome> {
  const deadline = Date.now() + timeoutMs;
  const context = createContext(functionName, deadline);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timeout' }), timeoutMs);
  });
  const run = (async (): Promise<Outcome> => {
    try {
      return { kind: 'result', result: await handler(event, context) };
    } catch (error) {
      return { kind: 'error', error };
    }
  })();
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A Lambda context good enough for handlers: ids, names and the remaining time. */
function createContext(functionName: FunctionName, deadline: number): Context {
  const unsupported = (): never => {
    throw new Error('The local stack supports async handlers only: return a promise');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

/** Headers API Gateway sets itself, whatever the function returns. */
const HOP_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection']);

type HeaderValue = boolean | number | string;

function writeResult(
  response: ServerResponse,
  result: unknown,
  requestId: string,
  functionName: FunctionName,
) {
  if (!isProxyResult(result)) {
    // API Gateway answers 502 "Malformed Lambda proxy response" in this case.
    console.error(`[shoal] request ${requestId}: ${functionName} returned a malformed proxy result:`, result);
    sendProblem(response, 502, 'The function returned a malformed response.');
    return;
  }
  const merged = new Map<string, { name: string; values: string[] }>();
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    merged.set(name.toLowerCase(), { name, values: [String(value)] });
  }
  // Values in multiValueHeaders replace the single value of the same header, as API Gateway does.
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
    merged.set(name.toLowerCase(), { name, values: values.map(String) });
  }
  const body =
    result.body === undefined
      ? Buffer.alloc(0)
      : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  response.statusCode = result.statusCode;
  for (const [lowerName, { name, values }] of merged) {
    if (!HOP_HEADERS.has(lowerName)) response.setHeader(name, values);
  }
  if (!merged.has('content-type') && body.length > 0) response.setHeader('content-type', 'application/json');
  response.setHeader('content-length', body.length);
  response.end(body);
}

function isProxyResult(value: unknown): value is APIGatewayProxyResult {
  if (typeof value !== 'object' || value === null) return false;
  const result = value as Record<string, unknown>;
  const statusCode = result.statusCode;
  if (
    typeof statusCode !== 'number' ||
    !Number.isInteger(statusCode) ||
    statusCode < 100 ||
    statusCode > 599
  ) {
    return false;
  }
  if (result.body !== undefined && typeof result.body !== 'string') return false;
  const isHeaderValue = (item: unknown): item is HeaderValue =>
    typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean';
  if (result.headers !== undefined) {
    if (typeof result.headers !== 'object' || result.headers === null) return false;
    if (!Object.values(result.headers).every(isHeaderValue)) return false;
  }
  if (result.multiValueHeaders !== undefined) {
    if (typeof result.multiValueHeaders !== 'object' || result.multiValueHeaders === null) return false;
    for (const values of Object.values(result.multiValueHeaders)) {
      if (!Array.isArray(values) || !values.every(isHeaderValue)) return false;
    }
  }
  return true;
}

const TITLES: Record<number, string> = {
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  504: 'Gateway Timeout',
};

/** Writes an RFC 9457 problem with Shoal's `error_code` (the HTTP status for these gateway errors). */
function sendProblem(
  response: ServerResponse,
  status: number,
  detail: string,
  headers: Record<string, string> = {},
): void {
  const body = Buffer.from(
    JSON.stringify({
      type: 'about:blank',
      title: TITLES[status] ?? 'Error',
      status,
      detail,
      error_code: status,
    }),
  );
  response.statusCode = status;
  for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
  response.setHeader('content-type', 'application/problem+json');
  response.setHeader('content-length', body.length);
  response.end(body);
}
