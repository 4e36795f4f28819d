/**
 * The few HTTP calls the benchmark and the checker make, with a bound on every wait. Bodies are
 * sent as prepared strings, so the client spends as little CPU as possible in the process that may
 * also host the service.
 */

/** An answer: status, the headers that matter and the body as text. */
export interface Answer {
  readonly status: number;
  readonly text: string;
  readonly retryAfterSeconds: number | undefined;
}

/** A failure to get any answer (connection refused, reset, client timeout). */
export class NoAnswerError extends Error {
  override readonly name = 'NoAnswerError';
}

/** Options of one call. */
export interface CallOptions {
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Abandons the request after this long. @default 30000 */
  readonly timeoutMs?: number;
}

/** A client for one Shoal URL. */
export class ShoalClient {
  constructor(readonly baseUrl: string) {}

  /** Sends one request; throws {@link NoAnswerError} when no answer arrives in time. */
  async call(method: string, path: string, options: CallOptions = {}): Promise<Answer> {
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...options.headers },
        ...(options.body === undefined ? {} : { body: options.body }),
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
      text = await response.text();
    } catch (error) {
      throw new NoAnswerError(`${method} ${path}: ${(error as Error).message}`, { cause: error });
    }
    const retryAfter = Number(response.headers.get('retry-after'));
    return {
      status: response.status,
      text,
      retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    };
  }

  /** Like {@link call} but throws unless the status is `expected`; returns the parsed body. */
  async expect<T>(expected: number, method: string, path: string, options: CallOptions = {}): Promise<T> {
    const answer = await this.call(method, path, options);
    if (answer.status !== expected) {
      throw new Error(
        `${method} ${path}: expected ${expected}, got ${answer.status}: ${answer.text.slice(0, 300)}`,
      );
    }
    return (answer.text === '' ? undefined : JSON.parse(answer.text)) as T;
  }

  /** Creates a topic, with configuration fields (`segmentMs`, `retentionMs`, ...) when given. */
  createTopic(
    name: string,
    partitions: number,
    config: Readonly<Record<string, number>> = {},
  ): Promise<TopicAnswer> {
    return this.expect(201, 'POST', '/v1/topics', { body: JSON.stringify({ name, partitions, ...config }) });
  }

  /** Describes a topic: partitions with their high watermarks, and its id. */
  describeTopic(name: string): Promise<TopicAnswer> {
    return this.expect(200, 'GET', `/v1/topics/${encodeURIComponent(name)}`);
  }

  /** One fetch; the caller checks the status. */
  fetchRecords(
    topic: string,
    partition: number,
    offset: number,
    limits: { readonly maxRecords?: number; readonly maxBytes?: number; readonly waitMs?: number } = {},
    timeoutMs?: number,
  ): Promise<Answer> {
    const query = new URLSearchParams({ offset: String(offset) });
    if (limits.maxRecords !== undefined) query.set('maxRecords', String(limits.maxRecords));
    if (limits.maxBytes !== undefined) query.set('maxBytes', String(limits.maxBytes));
    if (limits.waitMs !== undefined) query.set('waitMs', String(limits.waitMs));
    return this.call(
      'GET',
      `/v1/topics/${encodeURIComponent(topic)}/partitions/${partition}/records?${query}`,
      timeoutMs === undefined ? {} : { timeoutMs },
    );
  }
}

/** The parts of a topic description the benchmark reads. */
export interface TopicAnswer {
  readonly name: string;
  readonly topicId?: string;
  readonly partitions: readonly {
    readonly partition: number;
    readonly highWatermark: number;
    readonly archivedOffset?: number;
  }[];
}

/** The parts of a fetch answer the benchmark reads. */
export interface FetchAnswer {
  readonly records: readonly {
    readonly offset: number;
    readonly key: { readonly type: string; readonly data: unknown } | null;
    readonly value: { readonly type: string; readonly data: unknown } | null;
  }[];
  readonly nextOffset: number;
  readonly highWatermark: number;
}

/** The parts of a produce answer the benchmark reads. */
export interface ProduceAnswer {
  readonly records: readonly { readonly partition: number; readonly offset: number }[];
}
