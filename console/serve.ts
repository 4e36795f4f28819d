/**
 * How the console's files are answered, the same way by the local stack (`local/http-server.ts`)
 * and by the deployed API's console function (`console/serve-console.ts`): `/` and `/console`
 * redirect to `/console/`, which is the page; `/console/<file>` is one of its files.
 *
 * Every answer carries a Content-Security-Policy that lets the page load its own files and talk to
 * its own origin only, and refuses to be framed (the console has buttons that delete topics, so
 * another site must not be able to overlay it: clickjacking).
 */
import type { ConsoleAssets } from './assets.js';

/** The path prefix of the console's files. */
export const CONSOLE_PATH = '/console/';

/** The policy of every console answer. */
export const CONSOLE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  // Rebuilt at every start of the local stack and every deployment: revalidate each time.
  'cache-control': 'no-cache',
};

/** An answer to a request for the console. */
export interface ConsoleAnswer {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** Whether a GET of `path` is the console's (the rest are the API's). */
export function isConsolePath(path: string): boolean {
  return path === '/' || path === '/console' || path.startsWith(CONSOLE_PATH);
}

function problem(status: number, title: string, detail: string): ConsoleAnswer {
  const body = Buffer.from(
    JSON.stringify({ type: 'about:blank', title, status, detail, error_code: status }),
  );
  return {
    statusCode: status,
    headers: { ...CONSOLE_SECURITY_HEADERS, 'content-type': 'application/problem+json' },
    body,
  };
}

/**
 * The answer to a GET or HEAD of a console path (see {@link isConsolePath}); HEAD gets the GET's
 * headers with the body left to the server to drop. Redirects are relative, so that they stay
 * under the API's stage prefix when deployed (`/prod/` redirects to `/prod/console/`).
 */
export function answerConsole(assets: ConsoleAssets, method: string, path: string): ConsoleAnswer {
  if (method !== 'GET' && method !== 'HEAD') {
    return {
      ...problem(405, 'Method Not Allowed', `${method} is not allowed on ${path}; allowed: GET, HEAD.`),
      headers: {
        ...CONSOLE_SECURITY_HEADERS,
        'content-type': 'application/problem+json',
        allow: 'GET, HEAD',
      },
    };
  }
  if (path === '/' || path === '/console') {
    const location = path === '/' ? 'console/' : 'console/';
    return { statusCode: 302, headers: { ...CONSOLE_SECURITY_HEADERS, location }, body: Buffer.alloc(0) };
  }
  const name = path === CONSOLE_PATH ? 'index.html' : path.slice(CONSOLE_PATH.length);
  const file = assets.get(name);
  if (file === undefined)
    return problem(404, 'Not Found', `The console has no file ${JSON.stringify(name)}.`);
  return {
    statusCode: 200,
    headers: { ...CONSOLE_SECURITY_HEADERS, 'content-type': file.contentType },
    body: file.body,
  };
}
