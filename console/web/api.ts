/**
 * The console's only way to Shoal: the public HTTP API, on the origin the page came from. Every
 * call goes through {@link request}, which signs it as the user chose ({@link Credentials}) and
 * turns a refusal into an {@link ApiProblem} carrying the API's own title and detail, so the page
 * shows the same validation messages the API gives curl.
 */

/** How calls are authorized: not at all (the local stack), a JWT bearer token, or SigV4. */
export type Credentials =
  | { readonly kind: 'none' }
  | { readonly kind: 'bearer'; readonly token: string }
  | {
      readonly kind: 'sigv4';
      readonly region: string;
      readonly accessKeyId: string;
      readonly secretAccessKey: string;
      readonly sessionToken?: string;
    };

/** Where the credentials live: this tab's session only, never written to disk by the page. */
const CREDENTIALS_KEY = 'shoal.console.credentials';

let credentials: Credentials = readCredentials();

function readCredentials(): Credentials {
  try {
    const stored = sessionStorage.getItem(CREDENTIALS_KEY);
    return stored === null ? { kind: 'none' } : (JSON.parse(stored) as Credentials);
  } catch {
    return { kind: 'none' };
  }
}

/** The credentials calls are made with now. */
export function currentCredentials(): Credentials {
  return credentials;
}

/** Replaces the credentials (kept for this tab's session). */
export function useCredentials(next: Credentials): void {
  credentials = next;
  if (next.kind === 'none') sessionStorage.removeItem(CREDENTIALS_KEY);
  else sessionStorage.setItem(CREDENTIALS_KEY, JSON.stringify(next));
}

/**
 * The API's base URL: the folder above the console's own (`/console/` is served beside `/v1/`, under
 * the deployed API's stage prefix too).
 */
export const API_BASE = new URL('../', window.location.href);

/** An answer that is not a success: the problem document's title and detail (RFC 9457). */
export class ApiProblem extends Error {
  override readonly name = 'ApiProblem';
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly body: Record<string, unknown>,
  ) {
    super(`${title}: ${detail}`);
  }
}

/** Longest a call may take before the page gives up on it and says so. */
const REQUEST_TIMEOUT_MS = 30_000;

async function problemOf(response: Response): Promise<ApiProblem> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const title = typeof body.title === 'string' ? body.title : response.statusText || 'Error';
    const detail =
      typeof body.detail === 'string' ? body.detail : typeof body.message === 'string' ? body.message : '';
    return new ApiProblem(response.status, title, detail, body);
  } catch {
    return new ApiProblem(response.status, response.statusText || 'Error', text.slice(0, 300), {});
  }
}

/**
 * Calls the API and returns its JSON answer (undefined for 204).
 *
 * @throws ApiProblem for an answer that is not 2xx, and for a network failure or timeout (status 0)
 */
export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const url = new URL(path.replace(/^\//, ''), API_BASE);
  const headers: Record<string, string> = { accept: 'application/json' };
  const text = body === undefined ? undefined : JSON.stringify(body);
  if (text !== undefined) headers['content-type'] = 'application/json';
  if (credentials.kind === 'bearer') headers.authorization = `Bearer ${credentials.token}`;
  if (credentials.kind === 'sigv4') {
    // The signer is loaded the first time it is needed: the local stack never needs it.
    const { signRequest } = await import('./sigv4.js');
    Object.assign(headers, await signRequest(credentials, method, url, headers, text ?? ''));
  }
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: text,
      credentials: 'omit',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ApiProblem(0, 'The API could not be reached', `${method} ${url.pathname}: ${reason}`, {});
  }
  if (!response.ok) throw await problemOf(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** A path segment: topic, group and subscription names are URL-encoded. */
export const seg = (name: string | number): string => encodeURIComponent(String(name));

// The answers the console reads (a subset of the OpenAPI document's schemas).

export interface TopicConfig {
  readonly retentionMs: number;
  readonly retentionBytes: number;
  readonly segmentMs: number;
  readonly segmentBytes: number;
  readonly localRetentionMs: number;
}

export interface TopicSummary {
  readonly name: string;
  readonly partitionCount: number;
  readonly config: TopicConfig;
  readonly createdAt: string;
}

export interface PartitionState {
  readonly partition: number;
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly archivedOffset: number;
  readonly archivedBytes?: number;
}

export interface TopicDescription extends TopicSummary {
  readonly partitions: readonly PartitionState[];
}

export interface TypedData {
  readonly type: 'JSON' | 'STRING' | 'BINARY';
  readonly data: unknown;
}

export interface FetchedRecord {
  readonly offset: number;
  readonly timestamp: string;
  readonly key: TypedData | null;
  readonly value: TypedData | null;
  readonly headers: readonly { readonly name: string; readonly value: string }[];
}

export interface FetchAnswer {
  readonly records: readonly FetchedRecord[];
  readonly nextOffset: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
}

export interface GroupOffset {
  readonly topic: string;
  readonly partition: number;
  readonly committedOffset: number | null;
  readonly highWatermark: number;
  readonly lag: number | null;
}

export interface GroupMember {
  readonly memberId: string;
  readonly topics: readonly string[];
  readonly sessionTimeoutMs: number;
  readonly joinedAt: string;
  readonly lastHeartbeat: string;
  readonly assignments: readonly { readonly topic: string; readonly partition: number }[];
}

export interface GroupDescription {
  readonly group: string;
  readonly state: string;
  readonly generation: number;
  readonly members: readonly GroupMember[];
  readonly offsets: readonly GroupOffset[];
}

export interface SubscriptionSummary {
  readonly name: string;
  readonly topic: string;
  readonly state: string;
  readonly consumerGroupId: string;
  readonly onFailure: { readonly topic: string } | null;
  readonly target: Record<string, unknown>;
  readonly batchSize: number;
  readonly retryAttempts: number;
}

export interface SubscriptionPartition {
  readonly partition: number;
  readonly committedOffset: number | null;
  readonly highWatermark: number;
  readonly lag: number;
  readonly delivered: number;
  readonly errors: number;
  readonly deadLettered: number;
  readonly lastError: { readonly message: string; readonly at: string; readonly offset: number } | null;
  readonly lastDeliveredAt: string | null;
}

export interface SubscriptionDescription extends SubscriptionSummary {
  readonly totals: {
    readonly lag: number;
    readonly delivered: number;
    readonly errors: number;
    readonly deadLettered: number;
    readonly oldestUndeliveredAgeMs: number;
  };
  readonly partitions: readonly SubscriptionPartition[];
}
