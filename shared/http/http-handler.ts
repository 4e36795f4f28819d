/**
 * Turns a table of operations into an API Gateway proxy handler: finds the route, hands the
 * operation a parsed request, maps its answer or error to HTTP. Handlers stay thin.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { z } from 'zod';
import { InvalidRequestError, LimitExceededError } from '../domain/errors.js';
import { LIMITS } from '../domain/limits.js';
import { createLogger } from '../observability/logger.js';
import { METRIC, noTelemetry, type Telemetry } from '../observability/telemetry.js';
import { JsonText } from './json-text.js';
import type { HttpHandler } from './lambda-http.js';
import { jsonStringBytes, jsonTextJsonStringBytesMax } from './payload-size.js';
import { internalErrorResult, problemFor, problemResult } from './problem.js';
import { type FunctionName, findRoute, type OperationId, type OperationIdOf } from './route-table.js';

const logger = createLogger();

/** What an operation sees of a request. */
export interface HttpRequest {
  readonly pathParameters: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  /** Lower-cased names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
  readonly requestId: string | undefined;
}

/** What an operation answers. */
export interface HttpAnswer {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

export type Operation = (request: HttpRequest) => Promise<HttpAnswer>;

/** Options of {@link createHttpHandler}. */
export interface HttpHandlerOptions {
  /**
   * Where the edge counts 5xx and busy (429, 503) answers; it is flushed after every request, so
   * the operations' own metrics are published with them. @default noTelemetry
   */
  readonly telemetry?: Telemetry;
}

/**
 * Builds the Lambda handler of one function from an operation for each route the table gives that
 * function: a route without its operation, or an operation without its route, is a compile error.
 * A request for another function's route answers 404.
 * @example
 * createHttpHandler('fetch-records', { fetchRecords: ..., offsetForTimestamp: ... });
 */
export function createHttpHandler<F extends FunctionName>(
  functionName: F,
  operations: Record<OperationIdOf<F>, Operation>,
  options: HttpHandlerOptions = {},
): HttpHandler {
  const telemetry = options.telemetry ?? noTelemetry;
  const handle = createDispatch(functionName, operations);
  return async (event, context) => {
    // Lambda's request id (function_request_id) and cold start on every line; one request at a time.
    if (context) logger.addContext(context);
    try {
      const result = await handle(event);
      if (result.statusCode >= 500 && result.statusCode !== 503) telemetry.count(METRIC.serverErrors, 1);
      if (result.statusCode === 429 || result.statusCode === 503)
        telemetry.count(METRIC.throttledRequests, 1);
      return result;
    } finally {
      telemetry.flush();
    }
  };
}

function createDispatch(
  functionName: FunctionName,
  operations: Partial<Record<OperationId, Operation>>,
): HttpHandler {
  return async (event) => {
    const requestId = event.requestContext?.requestId;
    const found = findRoute(event.httpMethod, event.resource);
    const route = found?.functionName === functionName ? found : undefined;
    const operation = route ? operations[route.operationId as OperationId] : undefined;
    if (!operation) {
      return problemResult(
        {
          status: 404,
          slug: 'not-found',
          title: 'Not found',
          detail: `No route ${event.httpMethod} ${event.path}`,
          errorCode: 404,
        },
        requestId,
      );
    }
    try {
      const answer = await operation(toRequest(event));
      return toResult(answer, requestId);
    } catch (error) {
      const problem = problemFor(error);
      if (problem) return problemResult(problem, requestId);
      logger.error('request failed', {
        error: error as Error,
        requestId,
        route: route?.path,
        principal: event.requestContext?.authorizer?.principal ?? event.requestContext?.identity?.userArn,
      });
      return internalErrorResult(requestId);
    }
  };
}

function toRequest(event: APIGatewayProxyEvent): HttpRequest {
  const headers = ownEntries(event.headers, (name) => name.toLowerCase());
  const body = requestBodyText(event);
  const query = ownEntries(event.queryStringParameters);
  const pathParameters = ownEntries(event.pathParameters);
  return { pathParameters, query, headers, body, requestId: event.requestContext?.requestId };
}

/**
 * Copies a map of the event into an object without prototype, so that names such as `__proto__`,
 * `constructor` or `toString` are plain entries (which the strict schemas then refuse) and never
 * reach or shadow `Object.prototype`.
 */
function ownEntries(
  values: Readonly<Record<string, string | undefined>> | null | undefined,
  nameOf: (name: string) => string = (name) => name,
): Record<string, string> {
  const entries: Record<string, string> = Object.create(null);
  for (const [name, value] of Object.entries(values ?? {})) {
    if (value !== undefined) entries[nameOf(name)] = value;
  }
  return entries;
}

/**
 * The body as text, once it is known to be within `requestBodyBytesMax` bytes as received. API
 * Gateway and the local stack pass every body base64-encoded (the REST API's binary media types
 * are `*\/*`), which also keeps invalid UTF-8 as it was sent: a body that is not UTF-8 is refused,
 * never decoded with U+FFFD in place of the bad bytes (guarantee 9). A body passed as text (a
 * handler called directly) is taken as it is, unless it holds a lone surrogate, which no UTF-8
 * bytes decode to.
 * @throws LimitExceededError naming `requestBodyBytes`
 * @throws InvalidRequestError
 */
function requestBodyText(event: APIGatewayProxyEvent): string | undefined {
  const body = event.body ?? undefined;
  if (body === undefined) return undefined;
  if (!event.isBase64Encoded) {
    requireBodyWithinLimit(Buffer.byteLength(body, 'utf8'));
    if (LONE_SURROGATE.test(body)) {
      throw new InvalidRequestError('The request body is not UTF-8 text', 'body');
    }
    return body;
  }
  // The decoded length, computed without decoding: an oversized body is refused before it is copied.
  requireBodyWithinLimit(Buffer.byteLength(body, 'base64'));
  try {
    return strictUtf8.decode(Buffer.from(body, 'base64'));
  } catch {
    throw new InvalidRequestError('The request body is not UTF-8 text', 'body');
  }
}

/** @throws LimitExceededError when a body of `bytes` bytes is over `requestBodyBytesMax` */
function requireBodyWithinLimit(bytes: number): void {
  if (bytes > LIMITS.requestBodyBytesMax) throw requestBodyOverLimit(bytes);
}

/**
 * The error, answered 413, for a request body of `bytes` bytes (as received) over
 * `requestBodyBytesMax`; the local stack answers a body it stops reading with the same problem.
 */
export function requestBodyOverLimit(bytes: number): LimitExceededError {
  return new LimitExceededError(
    `The request body (${bytes} bytes received) is over the limit, requestBodyBytesMax: ${LIMITS.requestBodyBytesMax} bytes`,
    'requestBodyBytes',
    bytes,
    LIMITS.requestBodyBytesMax,
  );
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const LONE_SURROGATE = /\p{Cs}/u;

function toResult(answer: HttpAnswer, requestId: string | undefined): APIGatewayProxyResult {
  if (answer.body === undefined)
    return { statusCode: answer.status, headers: { ...answer.headers }, body: '' };
  const body = answer.body instanceof JsonText ? answer.body.text : JSON.stringify(answer.body);
  const bodyJsonBytes = responseBodyJsonBytes(body);
  if (bodyJsonBytes !== undefined) {
    // Lambda would refuse the result and API Gateway answer 502: say why in the log instead.
    logger.error('response body over the Lambda payload limit: answered 500', {
      requestId,
      status: answer.status,
      bodyJsonBytes,
      responseBodyJsonBytesMax: LIMITS.responseBodyJsonBytesMax,
    });
    return internalErrorResult(requestId);
  }
  return {
    statusCode: answer.status,
    headers: { 'content-type': 'application/json', ...answer.headers },
    body,
  };
}

/**
 * The bytes a JSON response body takes as a string in the proxy result when they are over
 * `responseBodyJsonBytesMax`; undefined when within (measured only when the cheap bound passes it).
 */
function responseBodyJsonBytes(body: string): number | undefined {
  if (jsonTextJsonStringBytesMax(body) <= LIMITS.responseBodyJsonBytesMax) return undefined;
  const bytes = jsonStringBytes(body);
  return bytes > LIMITS.responseBodyJsonBytesMax ? bytes : undefined;
}

/** Describes the first zod issue as `field: message`, naming the field by its path (`records[2].value`). */
function describeIssue(error: z.ZodError): { message: string; field: string } {
  const { issue, path } = innermost(error.issues[0]);
  const field = fieldOf(path);
  return { message: `${field}: ${issue?.message ?? 'invalid'}`, field };
}

/**
 * An issue of a union that no option matched stands for the issue of the option that came closest
 * (the fewest issues; the first on a tie), so the field named is the one to fix: `{"type": "XML",
 * "data": ...}` as a value (typed data or an upload) names `records[0].value.type`.
 */
function innermost(issue: z.core.$ZodIssue | undefined): {
  issue: z.core.$ZodIssue | undefined;
  path: readonly PropertyKey[];
} {
  if (issue?.code !== 'invalid_union' || issue.errors.length === 0) return { issue, path: issue?.path ?? [] };
  const closest = issue.errors.reduce((best, option) => (option.length < best.length ? option : best));
  const inner = innermost(closest[0]);
  return { issue: inner.issue, path: [...issue.path, ...inner.path] };
}

/** A zod issue path as the field name shown to users: `records[2].value`, or `body` for the root. */
function fieldOf(path: readonly PropertyKey[]): string {
  let field = '';
  for (const part of path) {
    field += typeof part === 'number' ? `[${part}]` : field === '' ? String(part) : `.${String(part)}`;
  }
  return field || 'body';
}

/** Parses the JSON body with a schema. @throws InvalidRequestError naming the field */
export function parseBody<S extends z.ZodType>(schema: S, request: HttpRequest): z.output<S> {
  if (request.body === undefined || request.body.trim() === '') {
    throw new InvalidRequestError('The request needs a JSON body', 'body');
  }
  let json: unknown;
  try {
    json = JSON.parse(request.body);
  } catch (error) {
    throw new InvalidRequestError(`The request body is not valid JSON: ${(error as Error).message}`, 'body');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throwOverLimit(parsed.error, json);
    const { message, field } = describeIssue(parsed.error);
    throw new InvalidRequestError(message, field);
  }
  return parsed.data;
}

/**
 * A list in the body with more entries than its published maximum (records per request, headers
 * per record, offsets per commit...) is a request too large for the service, 413, not malformed.
 * @throws LimitExceededError naming the list as the limit
 */
function throwOverLimit(error: z.ZodError, json: unknown): void {
  const issue = error.issues.find(
    (candidate) => candidate.code === 'too_big' && candidate.origin === 'array',
  );
  if (issue?.code !== 'too_big') return;
  const field = fieldOf(issue.path);
  const max = Number(issue.maximum);
  let list: unknown = json;
  for (const part of issue.path) list = (list as Record<PropertyKey, unknown>)[part];
  const count = Array.isArray(list) ? list.length : max + 1;
  throw new LimitExceededError(`${field}: holds ${count} entries; the limit is ${max}`, field, count, max);
}

/** Parses query parameters (or path parameters) with a schema. @throws InvalidRequestError */
export function parseParameters<S extends z.ZodType>(
  schema: S,
  values: Readonly<Record<string, string>>,
): z.output<S> {
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    const { message, field } = describeIssue(parsed.error);
    throw new InvalidRequestError(message, field);
  }
  return parsed.data;
}

/** Parses one path parameter with a schema. @throws InvalidRequestError */
export function parsePathParameter<S extends z.ZodType>(
  schema: S,
  request: HttpRequest,
  name: string,
): z.output<S> {
  const parsed = schema.safeParse(request.pathParameters[name]);
  if (!parsed.success) {
    throw new InvalidRequestError(`${name}: ${parsed.error.issues[0]?.message ?? 'invalid'}`, name);
  }
  return parsed.data;
}
