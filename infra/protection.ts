/**
 * What the gateway itself answers and filters, before any function runs: the API contract's
 * problem+json bodies for the gateway's own errors (401/403 from authorization, 429 from
 * throttling, 413 for oversized requests, 5xx when an integration fails), and an optional WAF web
 * ACL on the stage.
 */
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import { ResponseType } from 'aws-cdk-lib/aws-apigateway';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';
import { PROBLEM_CONTENT_TYPE } from '../shared/http/problem.js';

/** One gateway response: the status it keeps, and the problem it answers with. */
interface GatewayProblem {
  readonly type: ResponseType;
  readonly status: number;
  readonly slug: string;
  readonly title: string;
  /** Confluent's code where it has one, else the status (as the functions do). */
  readonly errorCode: number;
  readonly headers?: Record<string, string>;
}

/**
 * Seconds a client throttled by the gateway is told to wait. The stage's token bucket refills
 * every second, so one second is the honest answer (429 and 503 always carry Retry-After).
 */
const THROTTLED_RETRY_AFTER_S = 1;

/** The gateway errors a client can meet, each with the status API Gateway gives it. */
export const GATEWAY_PROBLEMS: readonly GatewayProblem[] = [
  {
    type: ResponseType.UNAUTHORIZED,
    status: 401,
    slug: 'unauthorized',
    title: 'Unauthorized',
    errorCode: 40101,
  },
  {
    type: ResponseType.MISSING_AUTHENTICATION_TOKEN,
    status: 403,
    slug: 'missing-authentication',
    title: 'Missing authentication or unknown route',
    errorCode: 40301,
  },
  {
    type: ResponseType.INVALID_SIGNATURE,
    status: 403,
    slug: 'invalid-signature',
    title: 'Invalid signature',
    errorCode: 40301,
  },
  {
    type: ResponseType.EXPIRED_TOKEN,
    status: 403,
    slug: 'expired-token',
    title: 'Expired credentials',
    errorCode: 40301,
  },
  {
    type: ResponseType.ACCESS_DENIED,
    status: 403,
    slug: 'access-denied',
    title: 'Access denied',
    errorCode: 40301,
  },
  {
    type: ResponseType.WAF_FILTERED,
    status: 403,
    slug: 'request-filtered',
    title: 'Request filtered',
    errorCode: 40301,
  },
  {
    type: ResponseType.BAD_REQUEST_PARAMETERS,
    status: 400,
    slug: 'invalid-request',
    title: 'Invalid request',
    errorCode: 400,
  },
  {
    type: ResponseType.BAD_REQUEST_BODY,
    status: 400,
    slug: 'invalid-request',
    title: 'Invalid request',
    errorCode: 400,
  },
  {
    type: ResponseType.REQUEST_TOO_LARGE,
    status: 413,
    slug: 'limit-exceeded',
    title: 'Request too large',
    errorCode: 413,
  },
  {
    type: ResponseType.THROTTLED,
    status: 429,
    slug: 'throttled',
    title: 'Too many requests',
    errorCode: 42901,
    headers: { 'Retry-After': String(THROTTLED_RETRY_AFTER_S) },
  },
  {
    type: ResponseType.QUOTA_EXCEEDED,
    status: 429,
    slug: 'throttled',
    title: 'Quota exceeded',
    errorCode: 42901,
    headers: { 'Retry-After': String(THROTTLED_RETRY_AFTER_S) },
  },
  {
    type: ResponseType.INTEGRATION_TIMEOUT,
    status: 504,
    slug: 'timeout',
    title: 'The request timed out',
    errorCode: 50401,
  },
  {
    type: ResponseType.DEFAULT_4XX,
    status: 400,
    slug: 'invalid-request',
    title: 'Invalid request',
    errorCode: 400,
  },
  { type: ResponseType.DEFAULT_5XX, status: 500, slug: 'internal', title: 'Internal error', errorCode: 500 },
];

/**
 * A problem+json body in API Gateway's template language. `$context.error.messageString` is the
 * gateway's message, already quoted; the request id lets support find the access log line.
 */
function problemTemplate(problem: GatewayProblem, keepsStatus: boolean): string {
  // The catch-all responses stand for several statuses and a template cannot read which: they
  // leave `status` out (RFC 9457 makes it optional; the HTTP status line is authoritative).
  const status = keepsStatus ? '' : `"status":${problem.status},`;
  return (
    `{"type":"urn:shoal:problem:${problem.slug}","title":"${problem.title}",${status}` +
    `"detail":$context.error.messageString,"error_code":${problem.errorCode},"requestId":"$context.requestId"}`
  );
}

/**
 * Makes the gateway answer its own errors in the contract's shape. DEFAULT_4XX and DEFAULT_5XX keep
 * the status of the error they stand for; the others have one fixed status.
 */
export function addProblemGatewayResponses(api: apigateway.RestApi): void {
  for (const problem of GATEWAY_PROBLEMS) {
    const keepsStatus =
      problem.type === ResponseType.DEFAULT_4XX || problem.type === ResponseType.DEFAULT_5XX;
    api.addGatewayResponse(`Problem${problem.type.responseType}`, {
      type: problem.type,
      ...(keepsStatus ? {} : { statusCode: String(problem.status) }),
      responseHeaders: Object.fromEntries(
        Object.entries({ 'Content-Type': PROBLEM_CONTENT_TYPE, ...problem.headers }).map(([name, value]) => [
          name,
          `'${value}'`,
        ]),
      ),
      templates: { 'application/json': problemTemplate(problem, keepsStatus) },
    });
  }
}

/**
 * Associates a WAFv2 web ACL (scope REGIONAL, same region) with the API's stage, e.g. one with AWS
 * managed rule groups and a rate-based rule per source IP.
 */
export function associateWebAcl(
  scope: Construct,
  api: apigateway.RestApi,
  webAclArn: string,
): wafv2.CfnWebACLAssociation {
  return new wafv2.CfnWebACLAssociation(scope, 'WebAclAssociation', {
    resourceArn: api.deploymentStage.stageArn,
    webAclArn,
  });
}
