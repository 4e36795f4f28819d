/**
 * Errors to HTTP: RFC 9457 problem details with the Confluent REST Proxy `error_code` where one
 * exists (otherwise the HTTP status). 4xx details are shown to the caller; 5xx bodies are generic
 * and the detail goes to the log.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import {
  ConflictError,
  FencedError,
  GroupNotEmptyError,
  GroupNotFoundError,
  IdempotencyKeyReusedError,
  InvalidCommitOffsetError,
  InvalidRequestError,
  LimitExceededError,
  OffsetOutOfRangeError,
  OffsetRegressionError,
  PartitionNotFoundError,
  RetryableError,
  type ShoalError,
  SubscriptionExistsError,
  SubscriptionNotFoundError,
  TopicExistsError,
  TopicNotFoundError,
} from '../domain/errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** A problem answer before serialization. */
export interface Problem {
  readonly status: number;
  readonly slug: string;
  readonly title: string;
  readonly detail: string;
  readonly errorCode: number;
  readonly extra?: Record<string, unknown>;
  readonly headers?: Record<string, string>;
}

/** The API Gateway answer for a problem. */
export function problemResult(problem: Problem, requestId?: string): APIGatewayProxyResult {
  return {
    statusCode: problem.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE, ...problem.headers },
    body: JSON.stringify({
      type: `urn:shoal:problem:${problem.slug}`,
      title: problem.title,
      status: problem.status,
      detail: problem.detail,
      error_code: problem.errorCode,
      ...problem.extra,
      ...(requestId ? { requestId } : {}),
    }),
  };
}

/**
 * Codes of fenced consumer group requests. Confluent's REST Proxy has none for these; Kafka's names
 * are ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID and, for a partition not assigned, a fenced commit.
 */
export const FENCED_ERROR_CODES = {
  'stale-generation': 40910,
  'unknown-member': 40911,
  'not-owner': 40912,
} as const;

/** A field of an answer: the same for every error of a class, or read from the error. */
type PerError<E, T> = T | ((error: E) => T);

/** How the errors of one class are answered (the `detail` is always the error's message). */
interface ProblemRow<E extends ShoalError> {
  readonly status: PerError<E, number>;
  readonly slug: PerError<E, string>;
  readonly title: PerError<E, string>;
  readonly errorCode: PerError<E, number>;
  /** Fields of the body after `error_code`, in this order. */
  readonly extra?: (error: E) => Record<string, unknown> | undefined;
  readonly headers?: (error: E) => Record<string, string>;
}

/** A row of the table: the problem for an error of its class, undefined for any other error. */
type ProblemMapping = (error: unknown) => Problem | undefined;

/** The row answering errors of `type` (and its subclasses) as `row` says. */
function answer<E extends ShoalError>(
  type: abstract new (...args: never[]) => E,
  row: ProblemRow<E>,
): ProblemMapping {
  const read = <T>(field: PerError<E, T>, error: E): T =>
    typeof field === 'function' ? (field as (error: E) => T)(error) : field;
  return (error) => {
    if (!(error instanceof type)) return undefined;
    const extra = row.extra?.(error);
    const headers = row.headers?.(error);
    return {
      status: read(row.status, error),
      slug: read(row.slug, error),
      title: read(row.title, error),
      detail: error.message,
      errorCode: read(row.errorCode, error),
      ...(extra ? { extra } : {}),
      ...(headers ? { headers } : {}),
    };
  };
}

const retryStatus = (error: RetryableError) => (error.reason === 'throttled' ? 429 : 503);

/** Error class to answer, first match wins. Codes above 999 are Confluent's (or Shoal's, for groups and subscriptions). */
const PROBLEM_TABLE: readonly ProblemMapping[] = [
  answer(InvalidRequestError, {
    status: 400,
    slug: 'invalid-request',
    title: 'Invalid request',
    errorCode: 400,
    extra: (error) => (error.field ? { field: error.field } : undefined),
  }),
  answer(LimitExceededError, {
    status: 413,
    slug: 'limit-exceeded',
    title: 'Request exceeds a limit',
    errorCode: 413,
    extra: (error) => ({ limit: error.limit, value: error.value, max: error.max }),
  }),
  answer(TopicNotFoundError, {
    status: 404,
    slug: 'topic-not-found',
    title: 'Topic not found',
    errorCode: 40401,
  }),
  answer(PartitionNotFoundError, {
    status: 404,
    slug: 'partition-not-found',
    title: 'Partition not found',
    errorCode: 40402,
  }),
  answer(OffsetOutOfRangeError, {
    status: 416,
    slug: 'offset-out-of-range',
    title: 'Offset out of range',
    errorCode: 416,
    extra: (error) => ({
      offset: error.offset,
      logStartOffset: error.logStartOffset,
      highWatermark: error.highWatermark,
    }),
  }),
  answer(TopicExistsError, {
    status: 409,
    slug: 'topic-exists',
    title: 'Topic already exists',
    errorCode: 409,
  }),
  answer(GroupNotFoundError, {
    status: 404,
    slug: 'group-not-found',
    title: 'Consumer group not found',
    errorCode: 40404,
  }),
  answer(SubscriptionNotFoundError, {
    status: 404,
    slug: 'subscription-not-found',
    title: 'Subscription not found',
    errorCode: 40405,
  }),
  answer(SubscriptionExistsError, {
    status: 409,
    slug: 'subscription-exists',
    title: 'Subscription already exists',
    errorCode: 40915,
  }),
  answer(FencedError, {
    status: 409,
    slug: (error) => `fenced-${error.reason}`,
    title: 'Fenced',
    errorCode: (error) => FENCED_ERROR_CODES[error.reason],
    extra: (error) => ({
      reason: error.reason,
      generation: error.generation,
      ...(error.memberId === undefined ? {} : { memberId: error.memberId }),
    }),
  }),
  answer(GroupNotEmptyError, {
    status: 409,
    slug: 'group-not-empty',
    title: 'Consumer group has live members',
    errorCode: 40913,
    extra: (error) => ({ liveMembers: error.liveMembers }),
  }),
  answer(OffsetRegressionError, {
    status: 409,
    slug: 'offset-regression',
    title: 'Committed offsets only move forward',
    errorCode: 40914,
    extra: (error) => ({
      topic: error.topic,
      partition: error.partition,
      offset: error.offset,
      committedOffset: error.committedOffset ?? null,
    }),
  }),
  answer(InvalidCommitOffsetError, {
    status: 422,
    slug: 'invalid-commit-offset',
    title: 'Offset cannot be committed',
    errorCode: 42202,
    extra: (error) => ({
      topic: error.topic,
      partition: error.partition,
      offset: error.offset,
      highWatermark: error.highWatermark,
    }),
  }),
  answer(ConflictError, { status: 409, slug: 'conflict', title: 'Conflict', errorCode: 409 }),
  answer(IdempotencyKeyReusedError, {
    status: 422,
    slug: 'idempotency-key-reused',
    title: 'Idempotency-Key reused with a different request',
    errorCode: 422,
  }),
  answer(RetryableError, {
    status: retryStatus,
    slug: (error) => error.reason,
    title: (error) => (retryStatus(error) === 429 ? 'Too many requests' : 'Service unavailable'),
    errorCode: retryStatus,
    headers: (error) => ({ 'retry-after': String(error.retryAfterSeconds) }),
  }),
];

/** Maps a Shoal error to its problem; undefined for anything else (a bug or an outage: 5xx). */
export function problemFor(error: unknown): Problem | undefined {
  for (const mapping of PROBLEM_TABLE) {
    const problem = mapping(error);
    if (problem) return problem;
  }
  return undefined;
}

/** The answer for a failure that is not the caller's fault; says nothing of internals. */
export function internalErrorResult(requestId: string | undefined): APIGatewayProxyResult {
  return problemResult(
    {
      status: 500,
      slug: 'internal',
      title: 'Internal error',
      detail:
        'The request failed inside Shoal; it has been logged. Retrying with the same Idempotency-Key is safe.',
      errorCode: 500,
    },
    requestId,
  );
}
