/**
 * KafkaJS's error classes, with its names and fields, so `catch (e) { if (e instanceof
 * KafkaJSProtocolError && e.type === 'UNKNOWN_TOPIC_OR_PARTITION') ... }` works unchanged. Every
 * error the adapter throws for an API answer is one of these, with the Shoal error as `cause`.
 */
import { ERROR_CODES, ShoalApiError, ShoalConnectionError } from '../index.js';

interface ErrorMetadata {
  readonly retriable?: boolean;
  readonly cause?: unknown;
}

/** The base of every KafkaJS error. `retriable` says whether trying again may succeed. */
export class KafkaJSError extends Error {
  override readonly name: string = 'KafkaJSError';
  readonly retriable: boolean;
  readonly helpUrl?: string;
  override readonly cause?: Error;

  constructor(e: Error | string, metadata: ErrorMetadata = {}) {
    super(typeof e === 'string' ? e : e.message);
    this.retriable = metadata.retriable ?? true;
    const cause = metadata.cause ?? (typeof e === 'string' ? undefined : e);
    if (cause instanceof Error) this.cause = cause;
  }
}

export class KafkaJSNonRetriableError extends KafkaJSError {
  override readonly name: string = 'KafkaJSNonRetriableError';
  constructor(e: Error | string, metadata: ErrorMetadata = {}) {
    super(e, { ...metadata, retriable: false });
  }
}

/** An error answer, named as Kafka's protocol names it (`type`) with Kafka's error `code`. */
export class KafkaJSProtocolError extends KafkaJSError {
  override readonly name: string = 'KafkaJSProtocolError';
  readonly code: number;
  readonly type: string;
  constructor(e: Error | string, metadata: ErrorMetadata & { code?: number; type?: string } = {}) {
    super(e, metadata);
    this.code = metadata.code ?? -1;
    this.type = metadata.type ?? 'UNKNOWN_SERVER_ERROR';
  }
}

export class KafkaJSOffsetOutOfRange extends KafkaJSProtocolError {
  override readonly name: string = 'KafkaJSOffsetOutOfRange';
  readonly topic: string;
  readonly partition: number;
  constructor(e: Error | string, metadata: ErrorMetadata & { topic?: string; partition?: number } = {}) {
    super(e, { ...metadata, code: 1, type: 'OFFSET_OUT_OF_RANGE', retriable: false });
    this.topic = metadata.topic ?? '';
    this.partition = metadata.partition ?? -1;
  }
}

/** No answer from the API (refused, reset, timed out) after the bounded retries. */
export class KafkaJSConnectionError extends KafkaJSError {
  override readonly name: string = 'KafkaJSConnectionError';
  readonly broker: string;
  readonly code?: string;
  constructor(e: Error | string, metadata: ErrorMetadata & { broker?: string; code?: string } = {}) {
    super(e, metadata);
    this.broker = metadata.broker ?? '';
    if (metadata.code !== undefined) this.code = metadata.code;
  }
}

export class KafkaJSNumberOfRetriesExceeded extends KafkaJSNonRetriableError {
  override readonly name: string = 'KafkaJSNumberOfRetriesExceeded';
  readonly retryCount: number;
  readonly retryTime: number;
  constructor(e: Error | string, metadata: { retryCount?: number; retryTime?: number } = {}) {
    super(e);
    this.retryCount = metadata.retryCount ?? 0;
    this.retryTime = metadata.retryTime ?? 0;
  }
}

/**
 * A KafkaJS feature with no meaning in Shoal (ACLs, broker configs, partition reassignments...) or
 * not built yet (transactions). The message says which and what to use instead.
 */
export class KafkaJSNotImplemented extends KafkaJSNonRetriableError {
  override readonly name: string = 'KafkaJSNotImplemented';
}

export class KafkaJSTimeout extends KafkaJSNonRetriableError {
  override readonly name: string = 'KafkaJSTimeout';
}

export class KafkaJSAggregateError extends Error {
  override readonly name: string = 'KafkaJSAggregateError';
  readonly errors: (Error | string)[];
  constructor(message: Error | string, errors: (Error | string)[]) {
    super(typeof message === 'string' ? message : message.message);
    this.errors = errors;
  }
}

export class KafkaJSDeleteGroupsError extends KafkaJSError {
  override readonly name: string = 'KafkaJSDeleteGroupsError';
  readonly groups: { groupId: string; errorCode: number; error: KafkaJSError }[];
  constructor(e: Error | string, groups: { groupId: string; errorCode: number; error: KafkaJSError }[] = []) {
    super(e, { retriable: false });
    this.groups = groups;
  }
}

/** Shoal's `error_code`s as Kafka's protocol errors: [Kafka error code, type, retriable]. */
const PROTOCOL_ERRORS: Readonly<Record<number, readonly [number, string, boolean]>> = {
  [ERROR_CODES.topicNotFound]: [3, 'UNKNOWN_TOPIC_OR_PARTITION', true],
  [ERROR_CODES.partitionNotFound]: [3, 'UNKNOWN_TOPIC_OR_PARTITION', true],
  [ERROR_CODES.groupNotFound]: [69, 'GROUP_ID_NOT_FOUND', false],
  [ERROR_CODES.staleGeneration]: [22, 'ILLEGAL_GENERATION', false],
  [ERROR_CODES.unknownMember]: [25, 'UNKNOWN_MEMBER_ID', false],
  [ERROR_CODES.notOwner]: [27, 'REBALANCE_IN_PROGRESS', false],
  [ERROR_CODES.groupNotEmpty]: [68, 'NON_EMPTY_GROUP', false],
  [ERROR_CODES.offsetRegression]: [12, 'OFFSET_METADATA_TOO_LARGE', false],
  [ERROR_CODES.topicExists]: [36, 'TOPIC_ALREADY_EXISTS', false],
  400: [42, 'INVALID_REQUEST', false],
  413: [10, 'MESSAGE_TOO_LARGE', false],
  422: [42, 'INVALID_REQUEST', false],
  42206: [2, 'CORRUPT_MESSAGE', false],
  429: [89, 'THROTTLING_QUOTA_EXCEEDED', true],
  503: [7, 'REQUEST_TIMED_OUT', true],
  401: [58, 'SASL_AUTHENTICATION_FAILED', false],
  403: [29, 'TOPIC_AUTHORIZATION_FAILED', false],
};

/**
 * What a Shoal client error is in KafkaJS's terms; anything that is not a Shoal API or connection
 * error (a TypeError for misuse, a handler's own error) is returned as it is.
 */
export function toKafkaJSError(error: unknown): unknown {
  if (error instanceof KafkaJSError) return error;
  if (error instanceof ShoalConnectionError) {
    const code = (error.cause as { cause?: { code?: unknown } } | undefined)?.cause?.code;
    return new KafkaJSConnectionError(error.message, {
      broker: error.request,
      cause: error,
      ...(typeof code === 'string' ? { code } : {}),
    });
  }
  if (error instanceof ShoalApiError) {
    if (error.errorCode === ERROR_CODES.offsetOutOfRange) {
      return new KafkaJSOffsetOutOfRange(error.message, {
        cause: error,
        ...(typeof error.problem.topic === 'string' ? { topic: error.problem.topic } : {}),
        ...(typeof error.problem.partition === 'number' ? { partition: error.problem.partition } : {}),
      });
    }
    const [code, type, retriable] = PROTOCOL_ERRORS[error.errorCode] ??
      PROTOCOL_ERRORS[error.status] ?? [-1, 'UNKNOWN_SERVER_ERROR', error.status >= 500];
    return new KafkaJSProtocolError(error.message, { code, type, retriable, cause: error });
  }
  return error;
}

/** Runs `action`, rethrowing Shoal errors as KafkaJS errors. */
export async function asKafkaJS<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw toKafkaJSError(error);
  }
}
