/**
 * What integration tests use to reach the real local parts started once by `global-setup.ts`:
 * a {@link Runtime} on fresh tables and a fresh bucket of their own, and the HTTP API served from
 * the very handlers that run in Lambda.
 *
 * @example
 * const faults = createFaultInjector({ seed: 7 });
 * const runtime = await createTestRuntime({ decorateDynamoDb: faults.install });
 * const api = await startTestApi(runtime);
 * afterAll(() => api.close());
 * const answer = await fetch(`${api.url}/v1/health`);
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { inject } from 'vitest';
import { createLocalHttpServer } from '../../local/http-server.js';
import { provision } from '../../local/provision.js';
import { loadHandlers } from '../../local/stack.js';
import type { ShoalConfig } from '../../shared/config.js';
import type { HttpHandler } from '../../shared/http/lambda-http.js';
import type { FunctionName } from '../../shared/http/route-table.js';
import { createRuntime, type Runtime, type RuntimeOptions } from '../../shared/runtime.js';
import { type ApiClient, apiClient } from './http-client.js';

/** Options of {@link createTestRuntime}. */
export interface TestRuntimeOptions extends RuntimeOptions {
  /** Start of the table and bucket names, to tell them apart when debugging. @default 'test' */
  readonly tablePrefix?: string;
  /** Another DynamoDB Local than the run's shared one (e.g. a test's own, for TTL timing). */
  readonly dynamodbEndpoint?: string;
}

/** The endpoints of the run's DynamoDB Local and S3 server. */
export function localEndpoints(): { readonly dynamodbEndpoint: string; readonly s3Endpoint: string } {
  return { dynamodbEndpoint: inject('dynamodbEndpoint'), s3Endpoint: inject('s3Endpoint') };
}

/**
 * Creates uniquely named log and meta tables and segment bucket, and returns a runtime on them. Call
 * it once per test file (in `beforeAll`), or once per test that needs an empty log.
 * The tables are created through undecorated clients, so fault plans see only the test's calls.
 */
export async function createTestRuntime(options: TestRuntimeOptions = {}): Promise<Runtime> {
  const { tablePrefix = 'test', dynamodbEndpoint, ...runtimeOptions } = options;
  const id = randomBytes(5).toString('hex');
  const bucketPrefix = tablePrefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  const config: ShoalConfig = {
    logTableName: `${tablePrefix}-${id}-log`,
    metaTableName: `${tablePrefix}-${id}-meta`,
    segmentBucketName: `${bucketPrefix || 'test'}-${id}-segments`,
    region: 'us-east-1',
    ...localEndpoints(),
    ...(dynamodbEndpoint ? { dynamodbEndpoint } : {}),
  };
  await provision(config);
  return createRuntime(config, runtimeOptions);
}

/** A running test API. */
export interface TestApi {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves the HTTP API on 127.0.0.1 and a free port: every function's `createHandler(runtime)`, or
 * the given handlers instead.
 */
export async function startTestApi(
  runtime: Runtime,
  options: { readonly handlers?: Partial<Record<FunctionName, HttpHandler>> } = {},
): Promise<TestApi> {
  const handlers = options.handlers ?? (await loadHandlers(runtime)).handlers;
  const server = createLocalHttpServer(handlers);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('The test API has no port');
  return { url: `http://127.0.0.1:${address.port}`, close: () => closeServer(server) };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

/** The test API on `runtime` (every function's handler) and a JSON client of it. */
export async function startApiClient(
  runtime: Runtime,
): Promise<{ api: ApiClient; close: () => Promise<void> }> {
  const server = await startTestApi(runtime);
  return { api: apiClient(server.url), close: server.close };
}
