/**
 * The composition root of the AWS side: builds the SDK clients once per process (module scope in a
 * Lambda, once per local stack) from the config, and hands them to the adapters. This module holds
 * the S3 clients; a function that never calls S3 builds its runtime from `core-runtime.ts` instead
 * and keeps the S3 client out of its bundle.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { readConfig, type ShoalConfig } from './config.js';
import { type CoreRuntime, type CoreRuntimeOptions, createCoreRuntime } from './core-runtime.js';
import { powertoolsTelemetry } from './observability/powertools-telemetry.js';
import { mapErrorStack } from './observability/source-maps.js';
import { s3ClientsFor } from './s3-clients.js';

/** What a handler that calls S3 needs: the core runtime, with the S3 clients behind its bucket. */
export interface Runtime extends CoreRuntime {
  readonly s3: S3Client;
  /**
   * Signs presigned URLs only: like `s3`, without the default request checksums, which would sign
   * a checksum of the empty body into an upload URL.
   */
  readonly s3Presigner: S3Client;
}

/** Options for tests and the local stack. */
export interface RuntimeOptions extends CoreRuntimeOptions {
  /** Called with the S3 client (not the presigner), e.g. to add fault-injecting middleware in tests. */
  readonly decorateS3?: (client: S3Client) => void;
}

/** Builds the clients for a config: endpoints and static credentials when it points at the local stack. */
export function createRuntime(config: ShoalConfig, options: RuntimeOptions = {}): Runtime {
  const clients = s3ClientsFor(config, options);
  return { ...createCoreRuntime(config, clients.bucket, options), ...clients };
}

let defaultRuntime: Runtime | undefined;

/**
 * The process-wide runtime from `process.env`, built on first use and reused by warm invocations;
 * only Lambda entries use it, so its metrics go to CloudWatch (EMF through Powertools).
 */
export function getDefaultRuntime(): Runtime {
  defaultRuntime ??= createRuntime(readConfig(), { telemetry: powertoolsTelemetry() });
  return defaultRuntime;
}

/**
 * The `handler` of a background function (archiver, rescue, dispatcher): built on first use from
 * the default runtime and reused while the Lambda stays warm, with the metrics the runtime's SDK
 * middleware counted during a run (DynamoDB retries and throttles) flushed after each run.
 * @example
 * export const handler = backgroundEntry(createHandler);
 */
export function backgroundEntry<Args extends unknown[], Result>(
  build: (runtime: Runtime) => (...args: Args) => Promise<Result>,
): (...args: Args) => Promise<Result> {
  let built: ((...args: Args) => Promise<Result>) | undefined;
  return async (...args) => {
    const runtime = getDefaultRuntime();
    built ??= build(runtime);
    try {
      return await built(...args);
    } catch (error) {
      // Lambda logs what the handler throws: with its stack mapped, it names the sources.
      throw mapErrorStack(error);
    } finally {
      runtime.telemetry.flush();
    }
  };
}
