/**
 * One HTTP call to the Shoal API with bounded, jittered retries.
 *
 * What is retried:
 * - 429 and 503: the API refused before doing anything; wait at least `Retry-After`, then again.
 * - no answer (connection refused or reset, timeout) and 500/502/504: only for idempotent requests
 *   (GET, DELETE, or any request carrying an `Idempotency-Key`), because the first attempt may have
 *   been applied. A produce always carries a key, so it is always safe to repeat.
 * Every wait and the whole retry loop are bounded (TIGER_STYLE: a limit on everything).
 */
import { type AuthOptions, createSigner, defaultAuthFor, type RequestSigner } from './auth.js';
import { ShoalApiError, ShoalClientStateError, ShoalConnectionError } from './errors.js';

/** The local stack's address, used when no URL is given. */
export const DEFAULT_URL = 'http://127.0.0.1:8092';

/** Bounds on retrying one request. */
export interface RetryOptions {
  /** Attempts after the first. @default 8 */
  readonly retriesMax?: number;
  /** First backoff; doubles each attempt, with full jitter. @default 100 */
  readonly backoffInitialMs?: number;
  /** Largest single backoff (a longer `Retry-After` is still honoured, within `retryTimeMaxMs`). @default 5000 */
  readonly backoffMaxMs?: number;
  /** Gives up once this long has passed since the first attempt. @default 60000 */
  readonly retryTimeMaxMs?: number;
}

/** How to reach the API. */
export interface TransportOptions {
  /** Base URL, with an API Gateway stage path if any. @default 'http://127.0.0.1:8092' */
  readonly url?: string;
  /** Sent with every request (an API key, a proxy's token...). */
  readonly headers?: Readonly<Record<string, string>>;
  /** @default 'iam' for `*.amazonaws.com` hosts, 'none' elsewhere */
  readonly auth?: AuthOptions;
  readonly retry?: RetryOptions;
  /** One attempt's time limit, on top of a fetch's long-poll wait. @default 30000 */
  readonly requestTimeoutMs?: number;
  /** The `fetch` to use (tests inject faults through it). @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /**
   * The watch WebSocket (`ws:` or `wss:`), over which idle consumers learn of new records instead of
   * long polling; false: never watch (idle consumers long poll, as before). A deployed stack prints
   * it as its `WatchUrl` output.
   * @default `/v1/watch` under `url` (the local stack), none for an `execute-api` host
   */
  readonly watchUrl?: string | false;
}

/** One request. */
export interface RequestOptions {
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  /** A JSON body: an object to serialize, or a string already serialized. */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Safe to repeat after an unknown outcome. @default true for GET, DELETE, PUT and keyed requests */
  readonly idempotent?: boolean;
  readonly signal?: AbortSignal;
  /** Added to the attempt's time limit (a long poll's wait). */
  readonly extraTimeMs?: number;
}

/** A successful answer. */
export interface Answer<T> {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON; undefined for an empty body (204). */
  readonly body: T;
}

const RETRY_DEFAULTS = {
  retriesMax: 8,
  backoffInitialMs: 100,
  backoffMaxMs: 5_000,
  retryTimeMaxMs: 60_000,
} as const;

/** Upper bounds on the options, so a typo cannot make a client wait for hours. */
const RETRIES_MAX_LIMIT = 100;
const RETRY_TIME_MAX_LIMIT_MS = 15 * 60 * 1000;

/** The HTTP layer every part of the client shares. */
export class Transport {
  readonly baseUrl: URL;
  /** Where idle consumers watch topics; undefined: nowhere (they long poll). */
  readonly watchUrl: URL | undefined;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly signer: RequestSigner | undefined;
  private readonly retry: Required<RetryOptions>;
  private readonly requestTimeoutMs: number;
  private readonly fetchFn: typeof fetch;

  constructor(options: TransportOptions = {}) {
    const url = options.url ?? DEFAULT_URL;
    let baseUrl: URL;
    try {
      baseUrl = new URL(url);
    } catch {
      throw new ShoalClientStateError(`Not a URL: '${url}'`);
    }
    if (baseUrl.protocol !== 'http:' && baseUrl.protocol !== 'https:') {
      throw new ShoalClientStateError(`The URL must be http or https, got '${url}'`);
    }
    this.baseUrl = baseUrl;
    this.watchUrl = watchUrlOf(baseUrl, options.watchUrl);
    this.headers = options.headers ?? {};
    this.signer = createSigner(options.auth ?? defaultAuthFor(baseUrl), baseUrl);
    this.retry = { ...RETRY_DEFAULTS, ...options.retry };
    checkWhole('retry.retriesMax', this.retry.retriesMax, 0, RETRIES_MAX_LIMIT);
    checkWhole('retry.retryTimeMaxMs', this.retry.retryTimeMaxMs, 0, RETRY_TIME_MAX_LIMIT_MS);
    checkWhole('retry.backoffInitialMs', this.retry.backoffInitialMs, 1, RETRY_TIME_MAX_LIMIT_MS);
    checkWhole('retry.backoffMaxMs', this.retry.backoffMaxMs, 1, RETRY_TIME_MAX_LIMIT_MS);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    checkWhole('requestTimeoutMs', this.requestTimeoutMs, 1, RETRY_TIME_MAX_LIMIT_MS);
    this.fetchFn = options.fetch ?? globalThis.fetch;
  }

  /**
   * Sends `method path`, retrying as described above, and returns the answer of a 2xx.
   *
   * @throws ShoalApiError for an error answer (after retries for 429/503), ShoalConnectionError
   *   when no answer came, the signal's reason when aborted
   */
  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<Answer<T>> {
    const url = this.urlFor(path, options.query);
    const body =
      options.body === undefined
        ? undefined
        : typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body);
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...this.headers,
      ...options.headers,
    };
    const idempotent =
      options.idempotent ??
      (method === 'GET' ||
        method === 'DELETE' ||
        method === 'PUT' ||
        Object.keys(headers).some((name) => name.toLowerCase() === 'idempotency-key'));
    const label = `${method} ${url.pathname}`;
    const startedAt = Date.now();
    for (let attempt = 0; ; attempt++) {
      options.signal?.throwIfAborted();
      let waitMs: number;
      try {
        const answer = await this.attempt(method, url, headers, body, options);
        if (answer.ok) return { status: answer.status, headers: answer.headers, body: answer.body as T };
        const error = toApiError(answer.status, answer.body, label);
        const retryable =
          answer.status === 429 ||
          answer.status === 503 ||
          (idempotent && (answer.status === 500 || answer.status === 502 || answer.status === 504));
        if (!retryable) throw error;
        waitMs = Math.max(retryAfterMs(answer.headers) ?? 0, this.backoffMs(attempt));
        if (!this.mayRetry(attempt, startedAt, waitMs)) throw error;
      } catch (error) {
        if (error instanceof ShoalApiError) throw error;
        if (options.signal?.aborted) throw options.signal.reason;
        const failure = new ShoalConnectionError(
          `${label}: no answer from ${this.baseUrl.origin} (${describeCause(error)})`,
          label,
          { cause: error },
        );
        if (!idempotent) throw failure;
        waitMs = this.backoffMs(attempt);
        if (!this.mayRetry(attempt, startedAt, waitMs)) throw failure;
      }
      await sleep(waitMs, options.signal);
    }
  }

  /** The headers of the WebSocket upgrade to `url`: the configured ones, signed like any request. */
  async upgradeHeaders(url: URL): Promise<Record<string, string>> {
    const headers = { ...this.headers };
    if (!this.signer) return headers;
    const signed = new URL(url.href);
    signed.protocol = url.protocol === 'ws:' ? 'http:' : 'https:';
    return this.signer({ method: 'GET', url: signed, headers, body: undefined });
  }

  private mayRetry(attempt: number, startedAt: number, waitMs: number): boolean {
    return attempt < this.retry.retriesMax && Date.now() - startedAt + waitMs <= this.retry.retryTimeMaxMs;
  }

  /** Full jitter: uniform in [0, min(max, initial * 2^attempt)], at least 1 ms. */
  private backoffMs(attempt: number): number {
    const ceiling = Math.min(
      this.retry.backoffMaxMs,
      this.retry.backoffInitialMs * 2 ** Math.min(attempt, 30),
    );
    return Math.max(1, Math.floor(Math.random() * ceiling));
  }

  private async attempt(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: string | undefined,
    options: RequestOptions,
  ): Promise<{ ok: boolean; status: number; headers: Headers; body: unknown }> {
    const sent = this.signer ? await this.signer({ method, url, headers, body }) : headers;
    const timeout = AbortSignal.timeout(this.requestTimeoutMs + (options.extraTimeMs ?? 0));
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const response = await this.fetchFn(url, {
      method,
      headers: sent,
      ...(body === undefined ? {} : { body }),
      signal,
    });
    const text = await response.text();
    let parsed: unknown;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { ok: response.ok, status: response.status, headers: response.headers, body: parsed };
  }

  private urlFor(path: string, query: RequestOptions['query']): URL {
    const base = this.baseUrl.pathname.replace(/\/+$/, '');
    const url = new URL(this.baseUrl.href);
    url.pathname = `${base}${path}`;
    url.search = '';
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    return url;
  }
}

/** See {@link TransportOptions.watchUrl}. */
function watchUrlOf(baseUrl: URL, option: string | false | undefined): URL | undefined {
  if (option === false) return undefined;
  if (option !== undefined) {
    let url: URL;
    try {
      url = new URL(option);
    } catch {
      throw new ShoalClientStateError(`watchUrl is not a URL: '${option}'`);
    }
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
      throw new ShoalClientStateError(`watchUrl must be ws or wss, got '${option}'`);
    }
    return url;
  }
  if (baseUrl.hostname.endsWith('.amazonaws.com')) return undefined;
  const url = new URL(baseUrl.href);
  url.protocol = baseUrl.protocol === 'http:' ? 'ws:' : 'wss:';
  url.pathname = `${baseUrl.pathname.replace(/\/+$/, '')}/v1/watch`;
  url.search = '';
  return url;
}

function toApiError(status: number, body: unknown, label: string): ShoalApiError {
  const problem: Record<string, unknown> =
    typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : { detail: body };
  const detail =
    typeof problem.detail === 'string' && problem.detail !== ''
      ? problem.detail
      : typeof problem.title === 'string'
        ? problem.title
        : typeof problem.message === 'string'
          ? problem.message
          : `HTTP ${status}`;
  const errorCode = typeof problem.error_code === 'number' ? problem.error_code : status;
  const type = typeof problem.type === 'string' ? problem.type : 'about:blank';
  return new ShoalApiError(
    `${detail} (${label}: ${status}, error_code ${errorCode})`,
    status,
    errorCode,
    type,
    problem,
    label,
  );
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or bad. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function describeCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  if (error.name === 'TimeoutError') return 'timed out';
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return error.message;
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Throws a clear error for an option outside [min, max] or not a whole number. */
export function checkWhole(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ShoalClientStateError(`${name} must be a whole number from ${min} to ${max}, got ${value}`);
  }
}
