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

/** Maps a Shoal error to its problem; undefined for anything else (a bug or an outage: 5xx). */
export function problemFor(error: unknown): Problem | undefined {
  if (error instanceof InvalidRequestError) {
    return {
      status: 400,
      slug: 'invalid-request',
      title: 'Invalid request',
      detail: error.message,
      errorCode: 400,
      ...(error.field ? { extra: { field: error.field } } : {}),
    };
  }
  if (error instanceof LimitExceededError) {
    return {
      status: 413,
      slug: 'limit-exceeded',
      title: 'Request exceeds a limit',
      detail: error.message,
      errorCode: 413,
      extra: { limit: error.limit, value: error.value, max: error.max },
    };
  }
  if (error instanceof TopicNotFoundError) {
    return {
      status: 404,
      slug: 'topic-not-found',
      title: 'Topic not found',
      detail: error.message,
      errorCode: 40401,
    };
  }
  if (error instanceof PartitionNotFoundError) {
    return {
      status: 404,
      slug: 'partition-not-found',
      title: 'Partition not found',
      detail: error.message,
      errorCode: 40402,
    };
  }
  if (error instanceof OffsetOutOfRangeError) {
    return {
      status: 416,
      slug: 'offset-out-of-range',
      title: 'Offset out of range',
      detail: error.message,
      errorCode: 416,
      extra: {
        offset: error.offset,
        logStartOffset: error.logStartOffset,
        highWatermark: error.highWatermark,
      },
    };
  }
  if (error instanceof TopicExistsError) {
    return {
      status: 409,
      slug: 'topic-exists',
      title: 'Topic already exists',
      detail: error.message,
      errorCode: 409,
    };
  }
  if (error instanceof GroupNotFoundError) {
    return {
      status: 404,
      slug: 'group-not-found',
      title: 'Consumer group not found',
      detail: error.message,
      errorCode: 40404,
    };
  }
  if (error instanceof SubscriptionNotFoundError) {
    return {
      status: 404,
      slug: 'subscription-not-found',
      title: 'Subscription not found',
      detail: error.message,
      errorCode: 40405,
    };
  }
  if (error instanceof SubscriptionExistsError) {
    return {
      status: 409,
      slug: 'subscription-exists',
      title: 'Subscription already exists',
      detail: error.message,
      errorCode: 40915,
    };
  }
  if (error instanceof FencedError) {
    return {
      status: 409,
      slug: `fenced-${error.reason}`,
      title: 'Fenced',
      detail: error.message,
      errorCode: FENCED_ERROR_CODES[error.reason],
      extra: {
        reason: error.reason,
        generation: error.generation,
        ...(error.memberId === undefined ? {} : { memberId: error.memberId }),
      },
    };
  }
  if (error instanceof GroupNotEmptyError) {
    return {
      status: 409,
      slug: 'group-not-empty',
      title: 'Consumer group has live members',
      detail: error.message,
      errorCode: 40913,
      extra: { liveMembers: error.liveMembers },
    };
  }
  if (error instanceof OffsetRegressionError) {
    return {
      status: 409,
      slug: 'offset-regression',
      title: 'Committed offsets only move forward',
      detail: error.message,
      errorCode: 40914,
      extra: {
        topic: error.topic,
        partition: error.partition,
        offset: error.offset,
        committedOffset: error.committedOffset ?? null,
      },
    };
  }
  if (error instanceof InvalidCommitOffsetError) {
    return {
      status: 422,
      slug: 'invalid-commit-offset',
      title: 'Offset cannot be committed',
      detail: error.message,
      errorCode: 42202,
      extra: {
        topic: error.topic,
        partition: error.partition,
        offset: error.offset,
        highWatermark: error.highWatermark,
      },
    };
  }
  if (error instanceof ConflictError) {
    return { status: 409, slug: 'conflict', title: 'Conflict', detail: error.message, errorCode: 409 };
  }
  if (error instanceof IdempotencyKeyReusedError) {
    return {
      status: 422,
      slug: 'idempotency-key-reused',
      title: 'Idempotency-Key reused with a different request',
      detail: error.message,
      errorCode: 422,
    };
  }
  if (error instanceof RetryableError) {
    const status = error.reason === 'throttled' ? 429 : 503;
    return {
      status,
      slug: error.reason,
      title: status === 429 ? 'Too many requests' : 'Service unavailable',
      detail: error.message,
      errorCode: status,
      headers: { 'retry-after': String(error.retryAfterSeconds) },
    };
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
