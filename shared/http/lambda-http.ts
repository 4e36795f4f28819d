/**
 * The contract between API Gateway (REST API, Lambda proxy integration) and Shoal's handlers.
 * The local stack's HTTP server builds the same events, so one handler serves both.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { withSourceMappedErrors } from '../observability/source-maps.js';

/** A Lambda handler for API Gateway proxy events; `context` is absent in some local calls. */
export type HttpHandler = (event: APIGatewayProxyEvent, context?: Context) => Promise<APIGatewayProxyResult>;

/**
 * A handler built on first invocation and reused while the Lambda stays warm, so importing a
 * function module (as the local stack and tests do) reads no configuration. What it throws (a
 * failure to build it; operations' errors become answers) reaches Lambda's log with its stack
 * mapped to the sources.
 */
export function lazyHandler(build: () => HttpHandler): HttpHandler {
  let built: HttpHandler | undefined;
  return withSourceMappedErrors(async (event, context) => {
    built ??= build();
    return built(event, context);
  });
}
