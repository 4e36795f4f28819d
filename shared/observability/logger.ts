/**
 * The Powertools logger every Shoal function logs through: JSON lines named by the deployment
 * (`SERVICE_NAME`), and the stack of every error it logs mapped to the `.ts` sources
 * (`source-maps.ts`) as the line is written, instead of `--enable-source-maps` on every start.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { mapErrorStack } from './source-maps.js';
import { SERVICE_NAME } from './telemetry.js';

/**
 * Powertools calls this for every value it serializes, before its own rules format an `Error`
 * (name, location, message, stack, cause): a mapped stack gives both `stack` and `location`.
 */
const mapErrorStacks = (_key: string, value: unknown): unknown =>
  value instanceof Error ? mapErrorStack(value) : value;

export function createLogger(): Logger {
  return new Logger({ serviceName: SERVICE_NAME, jsonReplacerFn: mapErrorStacks });
}
