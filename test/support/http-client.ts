/** A small JSON client for integration tests: every answer with status, headers and parsed body. */

export interface ApiAnswer<T = any> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

export interface ApiClient {
  get<T = any>(path: string): Promise<ApiAnswer<T>>;
  post<T = any>(path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiAnswer<T>>;
  patch<T = any>(path: string, body?: unknown): Promise<ApiAnswer<T>>;
  delete<T = any>(path: string): Promise<ApiAnswer<T>>;
  /** Sends a raw body as is (malformed JSON, oversized payloads). */
  raw<T = any>(method: string, path: string, body: string | Uint8Array): Promise<ApiAnswer<T>>;
}

export function apiClient(baseUrl: string): ApiClient {
  const call = async (
    method: string,
    path: string,
    body?: string | Uint8Array,
    headers?: Record<string, string>,
  ) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body }),
    });
    const text = await response.text();
    let parsed: unknown = text;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        // left as text: the test asserts on it
      }
    }
    return { status: response.status, headers: response.headers, body: parsed as any };
  };
  return {
    get: (path) => call('GET', path),
    post: (path, body, headers) =>
      call('POST', path, body === undefined ? undefined : JSON.stringify(body), headers),
    patch: (path, body) => call('PATCH', path, JSON.stringify(body)),
    delete: (path) => call('DELETE', path),
    raw: (method, path, body) => call(method, path, body),
  };
}

/** Typed data helpers for request bodies. */
export const json = (data: unknown) => ({ type: 'JSON', data });
export const str = (data: string) => ({ type: 'STRING', data });
export const bin = (bytes: Uint8Array) => ({ type: 'BINARY', data: Buffer.from(bytes).toString('base64') });
