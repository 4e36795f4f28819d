/**
 * The deployed console's Lambda function: answers `GET /`, `/console` and `/console/{file}` of the
 * REST API with the console's files, as the local stack does (`console/serve.ts`). The files are
 * built at synth by `infra/shoal-console.ts` into `assets/` beside this handler's bundle and read
 * once, at the cold start.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { ConsoleAssets, ConsoleFile } from './assets.js';
import { answerConsole } from './serve.js';

/** The folder of the built files, beside the bundle. */
const ASSETS_DIR = join(import.meta.dirname, 'assets');

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

function loadAssets(): ConsoleAssets {
  const files = new Map<string, ConsoleFile>();
  for (const name of readdirSync(ASSETS_DIR)) {
    const contentType = CONTENT_TYPES[extname(name)];
    if (contentType === undefined) continue;
    files.set(name, { name, body: readFileSync(join(ASSETS_DIR, name)), contentType });
  }
  return files;
}

const assets = loadAssets();

/**
 * API Gateway's proxy event to the console's answer. Every file is text, returned as text
 * (`isBase64Encoded: false`), which API Gateway passes on as it is.
 */
export async function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const answer = answerConsole(assets, event.httpMethod, event.path);
  return {
    statusCode: answer.statusCode,
    headers: { ...answer.headers },
    body: event.httpMethod === 'HEAD' ? '' : answer.body.toString('utf8'),
    isBase64Encoded: false,
  };
}
