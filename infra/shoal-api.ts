/**
 * Shoal's stateless layer: one Lambda function per entry of `FUNCTION_NAMES` and a REST API whose
 * resources and methods are built from `ROUTES`. Adding a route or a function to the route table
 * (and its access below) is all it takes to deploy it.
 */
import {
  type CfnElement,
  Duration,
  Names,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as xray from 'aws-cdk-lib/aws-xray';
import { Construct, type IConstruct } from 'constructs';
import { requirementOf } from '../shared/authorization/acl.js';
import {
  FUNCTION_NAMES,
  type FunctionName,
  ROUTES,
  type Route,
  routesOf,
} from '../shared/http/route-table.js';
import {
  type AclInput,
  createAccessPolicies,
  type ShoalAccessPolicy,
  ShoalJwtAuthorizer,
  type ShoalJwtAuthorizerProps,
} from './authorization.js';
import { backgroundWatchOf, type ObservabilitySettings, ShoalObservability } from './observability.js';
import { addProblemGatewayResponses, associateWebAcl } from './protection.js';
import { deploymentNameOf, ShoalFunction, shoalEnvironment } from './shoal-function.js';
import type { ShoalStorage } from './shoal-storage.js';
import { type IShoalLog, ShoalSubscriptions, type ShoalSubscriptionsProps } from './shoal-subscriptions.js';
import { ShoalTieredStorage, type ShoalTieredStorageProps } from './shoal-tiered-storage.js';
import { ShoalWatch } from './shoal-watch.js';

/** How much of one table a function may touch. */
export type TableAccess = 'none' | 'read' | 'readWrite';

/** What one function may do with each store. Data-access grants derive from this and nothing else. */
export interface FunctionAccess {
  readonly logTable: TableAccess;
  readonly metaTable: TableAccess;
  /** Segments are written only by the archiver, so API functions at most read them. */
  readonly segments: 'none' | 'read';
  /** The payload objects of large appends (`payloads/` in the segment bucket): written by produce. */
  readonly payloads: 'none' | 'write';
}

/**
 * The least privilege of each function. Typed by `FunctionName`, so a function added to the route
 * table does not compile until its access is declared here.
 */
export const FUNCTION_ACCESS: Readonly<Record<FunctionName, FunctionAccess>> = {
  'manage-topics': { logTable: 'readWrite', metaTable: 'readWrite', segments: 'none', payloads: 'none' },
  'produce-records': { logTable: 'readWrite', metaTable: 'readWrite', segments: 'none', payloads: 'write' },
  'fetch-records': { logTable: 'read', metaTable: 'read', segments: 'read', payloads: 'none' },
  // Groups, members and offsets live in the meta table; resetting to a timestamp looks the offset
  // up in the log, which may reach archived segments, as fetch-records' offsetForTimestamp does.
  'manage-groups': { logTable: 'read', metaTable: 'readWrite', segments: 'read', payloads: 'none' },
  // Subscriptions and their consumer groups live in the meta table; starting AT_TIMESTAMP and the
  // age of the oldest undelivered record read the log, which may reach archived segments.
  'manage-subscriptions': { logTable: 'read', metaTable: 'readWrite', segments: 'read', payloads: 'none' },
};

/** Settings of {@link ShoalApi}. */
export interface ShoalApiProps {
  /** The tables and the segment bucket the functions use, in this stack or another one. */
  readonly storage: ShoalStorage;
  /**
   * Name of the API Gateway stage (the first segment of every URL path).
   * @default 'prod'
   */
  readonly stageName?: string;
  /**
   * Steady-state requests per second each method accepts before answering 429, for the methods of
   * every function that {@link throttling} does not name. Given, it replaces the per-function
   * defaults of {@link FUNCTION_THROTTLING_DEFAULTS}.
   * @default the function's entry of FUNCTION_THROTTLING_DEFAULTS
   */
  readonly throttlingRateLimit?: number;
  /**
   * Requests each method accepts in a burst above the steady rate, for the methods of every
   * function that {@link throttling} does not name (as {@link throttlingRateLimit}).
   * @default the function's entry of FUNCTION_THROTTLING_DEFAULTS
   */
  readonly throttlingBurstLimit?: number;
  /**
   * Throttles of the methods of one function, each method on its own (API Gateway counts every
   * method of a stage separately), e.g. `{ 'fetch-records': { rateLimit: 2000, burstLimit: 4000 } }`.
   * Every method shares the account's regional limit (10,000 requests per second, burst 5,000, by
   * default) with every other API of the account.
   * @default FUNCTION_THROTTLING_DEFAULTS
   */
  readonly throttling?: Partial<Readonly<Record<FunctionName, MethodThrottle>>>;
  /**
   * Retention of the function log groups and of the API access log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Memory of each function, in MiB; Lambda allots CPU in proportion, which compression needs.
   * @default 1024
   */
  readonly memorySize?: number;
  /**
   * Timeout of each function. API Gateway gives up on an integration after 29 seconds, so a longer
   * timeout would only bill work whose answer nobody receives.
   * @default Duration.seconds(29)
   */
  readonly timeout?: Duration;
  /**
   * Whether to create the IAM role API Gateway uses to write CloudWatch logs, and register it in the
   * region's API Gateway account settings. The setting is one per account and region: turn this off
   * when another stack already manages it (execution and access logging need it).
   * @default true
   */
  readonly cloudWatchRole?: boolean;
  /**
   * Accept bearer JWTs instead of SigV4 on every method: a Lambda authorizer verifies each token and
   * applies the ACL in one of its claims to the route (see `docs/authorization.md`).
   * @default IAM (SigV4) authorization on every method
   */
  readonly jwtAuthorizer?: ShoalJwtAuthorizerProps;
  /**
   * ARN of a WAFv2 web ACL (scope REGIONAL, in the stack's region) to associate with the stage, e.g.
   * one with AWS managed rule groups and a rate-based rule per source IP.
   * @default no web ACL
   */
  readonly webAclArn?: string;
  /**
   * The share of API requests X-Ray traces (the stage decides, and the functions follow its
   * decision), through a sampling rule for this stage. X-Ray's default rule would trace the first
   * request of every second as well, which at a steady trickle is nearly every request and $5 per
   * million of them: at 1,000 records per request, a quarter of the bill.
   * @default 0.05
   */
  readonly traceSampleRate?: number;
  /**
   * Requests per second traced before `traceSampleRate` applies (X-Ray's reservoir).
   * @default 0
   */
  readonly traceReservoirPerSecond?: number;
  /**
   * The fetch function's reserved concurrency: the most fetches that run at once, or `false` for no
   * bound. A fetch may wait up to 20 seconds for records (`waitMs`), so without a bound consumers
   * that wait could take every unreserved Lambda execution of the account and leave produce, the
   * archiver and the TTL rescue throttled; beyond the bound, fetches are throttled instead. The
   * executions are also kept for fetches alone, and Lambda requires 100 of the account's to stay
   * unreserved: an account with a lower concurrency quota needs a smaller value or `false`.
   * @default 100
   */
  readonly fetchConcurrency?: number | false;
}

/** Every media type: see `LIMITS.requestBodyBytesMax`. */
export const BINARY_MEDIA_TYPES_ALL = '*/*';

const STAGE_NAME_DEFAULT = 'prod';
/** A method's throttle: steady requests per second, and the burst above it. */
export interface MethodThrottle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/**
 * Each method's throttle by the function that serves it, sized so that a small team does not meet
 * it: a consumer long-polls each of its partitions and heartbeats every few seconds, so fetches
 * and group calls grow with consumers and partitions, produce with traffic, and administration
 * (topics, health, the OpenAPI document, subscriptions) stays rare. The stage's old single default
 * (100 and 200 on every method) capped one fetch route at 100 requests per second for all
 * consumers together: 25 idle consumers long-polling 8 partitions at 2-second waits.
 */
export const FUNCTION_THROTTLING_DEFAULTS: Readonly<Record<FunctionName, MethodThrottle>> = {
  'manage-topics': { rateLimit: 100, burstLimit: 200 },
  'produce-records': { rateLimit: 1000, burstLimit: 2000 },
  'fetch-records': { rateLimit: 1000, burstLimit: 2000 },
  'manage-groups': { rateLimit: 500, burstLimit: 1000 },
  'manage-subscriptions': { rateLimit: 20, burstLimit: 40 },
};
const TRACE_SAMPLE_RATE_DEFAULT = 0.05;
/** A tenth of the default account quota (1,000): 100 consumers long-polling at once. */
const FETCH_CONCURRENCY_DEFAULT = 100;
const TRACE_RESERVOIR_PER_SECOND_DEFAULT = 0;
/** A bound on the reservoir: beyond the stage's own throttle it traces everything anyway. */
const TRACE_RESERVOIR_PER_SECOND_MAX = 10_000;
/** Ahead of X-Ray's default rule (priority 10000); rules are tried lowest first. */
const TRACE_SAMPLING_RULE_PRIORITY = 1000;
const LOG_RETENTION_DEFAULT = logs.RetentionDays.ONE_MONTH;
const MEMORY_SIZE_DEFAULT = 1024;
/** API Gateway REST integrations time out after 29 seconds by default. */
const INTEGRATION_TIMEOUT_MAX = Duration.seconds(29);
const MEMORY_SIZE_MIN = 128;
const MEMORY_SIZE_MAX = 10_240;
/** API Gateway's account-level ceiling; a stage limit above it has no effect. */
const THROTTLING_RATE_LIMIT_MAX = 10_000;
const THROTTLING_BURST_LIMIT_MAX = 5_000;

/**
 * The Shoal HTTP API: a Regional REST API, IAM-authorized on every method, in front of one
 * Lambda function per `FunctionName`, each granted only the access {@link FUNCTION_ACCESS} declares.
 *
 * @example
 * const storage = new ShoalStorage(statefulStack, 'Storage');
 * new ShoalApi(statelessStack, 'Api', { storage, throttlingRateLimit: 500 });
 */
export class ShoalApi extends Construct {
  /** The functions, by name. */
  readonly functions: Readonly<Record<FunctionName, nodejs.NodejsFunction>>;
  readonly restApi: apigateway.RestApi;
  /** Receives one JSON line per request (see {@link ACCESS_LOG_FIELDS}). */
  readonly accessLogGroup: logs.LogGroup;
  /** The bearer-token authorizer, when `jwtAuthorizer` is set. */
  readonly jwtAuthorizer: ShoalJwtAuthorizer | undefined;
  /** Which of the stage's requests X-Ray traces (see `traceSampleRate`). */
  readonly traceSamplingRule: xray.CfnSamplingRule;

  constructor(scope: Construct, id: string, props: ShoalApiProps) {
    super(scope, id);
    validateProps(props);
    const logRetention = props.logRetention ?? LOG_RETENTION_DEFAULT;

    this.functions = Object.fromEntries(
      FUNCTION_NAMES.map((name) => [name, this.createFunction(name, props, logRetention)]),
    ) as Record<FunctionName, nodejs.NodejsFunction>;

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.restApi = this.createRestApi(props);
    this.traceSamplingRule = this.createTraceSamplingRule(props);
    this.jwtAuthorizer = props.jwtAuthorizer
      ? new ShoalJwtAuthorizer(this, 'JwtAuthorizer', { logRetention, ...props.jwtAuthorizer })
      : undefined;
    this.addRoutes();
    addProblemGatewayResponses(this.restApi);
    if (props.webAclArn) associateWebAcl(this, this.restApi, props.webAclArn);
  }

  /** One {@link ShoalFunction} per function name, granted what {@link FUNCTION_ACCESS} declares. */
  private createFunction(
    name: FunctionName,
    props: ShoalApiProps,
    logRetention: logs.RetentionDays,
  ): nodejs.NodejsFunction {
    const id = constructIdOf(name);
    const shoalFunction = new ShoalFunction(this, id, {
      name,
      description: `Shoal ${name}: ${routesOf(name)
        .map((route) => route.operationId)
        .join(', ')}`,
      invocation: 'synchronous',
      memorySize: props.memorySize ?? MEMORY_SIZE_DEFAULT,
      timeout: props.timeout ?? INTEGRATION_TIMEOUT_MAX,
      logRetention,
      environment: shoalEnvironment(props.storage),
      // Fetches wait for records: bounded, they cannot starve the rest of Lambda concurrency.
      ...(name === 'fetch-records' && props.fetchConcurrency !== false
        ? { reservedConcurrentExecutions: props.fetchConcurrency ?? FETCH_CONCURRENCY_DEFAULT }
        : {}),
    });
    grantAccess(shoalFunction.role, FUNCTION_ACCESS[name], props.storage);
    keepLogicalIds(this, id, shoalFunction);
    return shoalFunction.function;
  }

  /** The X-Ray sampling rule of this stage: a fixed share of requests, no per-second reservoir by default. */
  private createTraceSamplingRule(props: ShoalApiProps): xray.CfnSamplingRule {
    const stage = this.restApi.deploymentStage;
    return new xray.CfnSamplingRule(this, 'TraceSampling', {
      samplingRule: {
        // Sampling rules are named per account and region: one name per deployment.
        ruleName: Names.uniqueResourceName(this, { maxLength: 32, separator: '-' }),
        priority: TRACE_SAMPLING_RULE_PRIORITY,
        fixedRate: props.traceSampleRate ?? TRACE_SAMPLE_RATE_DEFAULT,
        reservoirSize: props.traceReservoirPerSecond ?? TRACE_RESERVOIR_PER_SECOND_DEFAULT,
        serviceType: 'AWS::ApiGateway::Stage',
        serviceName: '*',
        resourceArn: Stack.of(this).formatArn({
          service: 'apigateway',
          account: '',
          resource: '/restapis',
          resourceName: `${this.restApi.restApiId}/stages/${stage.stageName}`,
        }),
        host: '*',
        httpMethod: '*',
        urlPath: '*',
        version: 1,
      },
    });
  }

  private createRestApi(props: ShoalApiProps): apigateway.RestApi {
    const cloudWatchRole = props.cloudWatchRole ?? true;
    const api = new apigateway.RestApi(this, 'RestApi', {
      restApiName: Names.uniqueResourceName(this, { maxLength: 128, separator: '-' }),
      description: 'Shoal event log HTTP API v1 (JSON over HTTPS, SigV4-signed requests)',
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      // Every body reaches the functions base64-encoded, whatever its Content-Type: 4 bytes for 3
      // of any content (as text, escaping could make it 6 for 1 and pass Lambda's payload limit),
      // and invalid UTF-8 arrives as sent instead of replaced. Results the functions return as text
      // (`isBase64Encoded: false`, all of Shoal's) still go out as text.
      binaryMediaTypes: [BINARY_MEDIA_TYPES_ALL],
      cloudWatchRole,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: props.stageName ?? STAGE_NAME_DEFAULT,
        tracingEnabled: true,
        // Execution logs of errors only: INFO and data traces would copy record payloads into logs.
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        // The stage default, for any method without its own setting; every route gets its own below.
        throttlingRateLimit: FUNCTION_THROTTLING_DEFAULTS['manage-topics'].rateLimit,
        throttlingBurstLimit: FUNCTION_THROTTLING_DEFAULTS['manage-topics'].burstLimit,
        methodOptions: methodThrottles(props),
        accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogGroup),
        // `service` names the deployment in every line, for the metric filter that counts its 429s.
        accessLogFormat: apigateway.AccessLogFormat.custom(
          JSON.stringify({ ...ACCESS_LOG_FIELDS, service: deploymentNameOf(this) }),
        ),
      },
    });

    Validations.of(api).acknowledge(
      {
        id: 'AwsSolutions-APIG2',
        reason:
          'The request validator checks the required path parameters; bodies and query strings are validated ' +
          'by the handlers with the zod schemas that also generate the OpenAPI document, so the rules live in ' +
          'one place and failures get the problem+json answer with error_code that the API contract promises.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason:
          'Every method uses AWS_IAM authorization (SigV4), or the JWT Lambda authorizer when configured: callers ' +
          'are IAM principals or bearers of tokens from any OpenID provider, so a Cognito user pool authorizer does not apply.',
      },
    );
    if (!props.webAclArn) {
      Validations.of(api).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason:
          'No WAF web ACL by default: every method requires SigV4-signed IAM credentials (or a verified JWT), the ' +
          "stage is throttled, and a web ACL's monthly charge breaks Shoal's zero cost at zero traffic; set " +
          'webAclArn to associate one.',
      });
    }
    const role = api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole && role) {
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          "This role is registered in the region's API Gateway account settings and serves every API of the " +
          'account, whose log groups are not known here; the AWS-managed policy is the one API Gateway documents ' +
          'for it and is kept current by AWS. Only apigateway.amazonaws.com can assume the role.',
      });
    }
    return api;
  }

  /** Walks `ROUTES`: each path segment becomes a nested resource and each route one method. */
  private addRoutes(): void {
    const validator = this.restApi.addRequestValidator('PathParameters', {
      validateRequestParameters: true,
      validateRequestBody: false,
    });
    const integrations = new Map<FunctionName, apigateway.LambdaIntegration>();
    for (const route of ROUTES) {
      const segments = pathSegmentsOf(route);
      let resource: apigateway.IResource = this.restApi.root;
      for (const segment of segments) {
        resource = resource.getResource(segment) ?? resource.addResource(segment);
      }
      let integration = integrations.get(route.functionName);
      if (!integration) {
        // One resource-policy statement per method, allowing exactly that method and stage.
        integration = new apigateway.LambdaIntegration(this.functions[route.functionName], {
          proxy: true,
          allowTestInvoke: false,
        });
        integrations.set(route.functionName, integration);
      }
      const pathParameters = segments.filter(isPathParameter).map((segment) => segment.slice(1, -1));
      const isPublic = requirementOf(route).resourceType === 'public';
      const method = resource.addMethod(route.method, integration, {
        operationName: route.operationId,
        ...(isPublic
          ? { authorizationType: apigateway.AuthorizationType.NONE }
          : this.jwtAuthorizer
            ? {
                authorizationType: apigateway.AuthorizationType.CUSTOM,
                authorizer: this.jwtAuthorizer.authorizer,
              }
            : { authorizationType: apigateway.AuthorizationType.IAM }),
        requestValidator: validator,
        requestParameters: Object.fromEntries(
          pathParameters.map((parameter) => [`method.request.path.${parameter}`, true]),
        ),
      });
      if (isPublic) {
        const reason =
          `${route.method} ${route.path} reveals nothing (it answers {"status":"ok"} and reads no data), so a load ` +
          `balancer or uptime check can call it without credentials; its own throttle (${PUBLIC_ROUTE_THROTTLE.rateLimit} ` +
          'requests a second) bounds what an anonymous caller can cost.';
        Validations.of(method).acknowledge(
          { id: 'AwsSolutions-APIG4', reason },
          { id: 'AwsSolutions-COG4', reason },
        );
      }
    }
  }
}

/**
 * One JSON object per request in the access log. Latencies and the integration status separate
 * API Gateway's share of a slow or failed request from the function's; `userArn` names the IAM caller.
 */
export const ACCESS_LOG_FIELDS = {
  requestId: apigateway.AccessLogField.contextRequestId(),
  extendedRequestId: apigateway.AccessLogField.contextExtendedRequestId(),
  requestTimeEpoch: apigateway.AccessLogField.contextRequestTimeEpoch(),
  httpMethod: apigateway.AccessLogField.contextHttpMethod(),
  resourcePath: apigateway.AccessLogField.contextResourcePath(),
  path: apigateway.AccessLogField.contextPath(),
  protocol: apigateway.AccessLogField.contextProtocol(),
  status: apigateway.AccessLogField.contextStatus(),
  responseLength: apigateway.AccessLogField.contextResponseLength(),
  responseLatency: apigateway.AccessLogField.contextResponseLatency(),
  integrationStatus: apigateway.AccessLogField.contextIntegrationStatus(),
  integrationLatency: apigateway.AccessLogField.contextIntegrationLatency(),
  integrationErrorMessage: apigateway.AccessLogField.contextIntegrationErrorMessage(),
  errorMessage: apigateway.AccessLogField.contextErrorMessageString(),
  errorResponseType: apigateway.AccessLogField.contextErrorResponseType(),
  sourceIp: apigateway.AccessLogField.contextIdentitySourceIp(),
  userAgent: apigateway.AccessLogField.contextIdentityUserAgent(),
  userArn: apigateway.AccessLogField.contextIdentityUserArn(),
  xrayTraceId: apigateway.AccessLogField.contextXrayTraceId(),
} as const;

function grantAccess(role: iam.IRole, access: FunctionAccess, storage: ShoalStorage): void {
  grantTable(role, access.logTable, storage.logTable);
  grantTable(role, access.metaTable, storage.metaTable);
  if (access.segments === 'read') role.addManagedPolicy(storage.segmentReadPolicy);
  if (access.payloads === 'write') role.addManagedPolicy(storage.payloadWritePolicy);
}

function grantTable(role: iam.IRole, access: TableAccess, table: dynamodb.ITable): void {
  switch (access) {
    case 'none':
      return;
    case 'read':
      table.grantReadData(role);
      return;
    case 'readWrite':
      table.grantReadWriteData(role);
      return;
  }
}

/**
 * Keeps the logical ids the API's functions had before they were built by {@link ShoalFunction}:
 * then the function, its log group and its role were siblings in this construct (`<Id>`,
 * `<Id>Logs`, `<Id>Role`), and logical ids derive from construct paths. With the old ids a
 * deployed stack updates these resources in place, instead of replacing every API function and
 * leaving its retained log group behind.
 */
function keepLogicalIds(scope: Construct, id: string, shoalFunction: ShoalFunction): void {
  const defaultPolicy = shoalFunction.role.node.findChild('DefaultPolicy');
  const legacyPaths: [IConstruct, string[]][] = [
    [shoalFunction.function, [id]],
    [shoalFunction.logGroup, [`${id}Logs`]],
    [shoalFunction.role, [`${id}Role`]],
    [defaultPolicy, [`${id}Role`, 'DefaultPolicy']],
  ];
  for (const [construct, path] of legacyPaths) {
    (construct.node.defaultChild as CfnElement).overrideLogicalId(logicalIdAt(scope, [...path, 'Resource']));
  }
}

/**
 * The logical id a stack allocates by default to an element at `path` below `scope`: the one
 * algorithm of `Names.uniqueId`, over the path below the stack. It is computed on a detached tree,
 * so nothing is added to the app. (A stack that overrides `allocateLogicalId` gets these default
 * ids for the API functions' four resources.)
 */
function logicalIdAt(scope: Construct, path: readonly string[]): string {
  const below = scope.node.scopes.slice(Stack.of(scope).node.scopes.length).map((node) => node.node.id);
  let node = new Construct(undefined as unknown as Construct, '');
  for (const id of [...below, ...path]) node = new Construct(node, id);
  return Names.uniqueId(node);
}

/** `produce-records` → `ProduceRecords`: construct ids, hence logical ids, derive from the function name. */
function constructIdOf(name: FunctionName): string {
  return name
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}

const PATH_PARAMETER = /^\{[A-Za-z0-9_]+\}$/;
const LITERAL_SEGMENT = /^[A-Za-z0-9._-]+$/;

function isPathParameter(segment: string): boolean {
  return PATH_PARAMETER.test(segment);
}

/** Splits a route path into segments, rejecting what API Gateway or the local matcher would not. */
function pathSegmentsOf(route: Route): string[] {
  const segments = route.path.split('/').slice(1);
  const valid =
    route.path.startsWith('/') &&
    segments.length > 0 &&
    segments.every((segment) => isPathParameter(segment) || LITERAL_SEGMENT.test(segment));
  if (!valid) {
    throw new Error(
      `Route ${route.method} "${route.path}" (${route.operationId}) must be "/" followed by non-empty segments, ` +
        'each a literal of [A-Za-z0-9._-] or a {parameter} of [A-Za-z0-9_]',
    );
  }
  return segments;
}

/** The throttle of a route anyone may call (`public` in `acl.ts`), whatever its function's. */
export const PUBLIC_ROUTE_THROTTLE: MethodThrottle = { rateLimit: 10, burstLimit: 20 };

/** The throttle of one function's methods: its own setting, else the stage-wide props, else its default. */
export function throttleOf(props: ShoalApiProps, name: FunctionName): MethodThrottle {
  const own = props.throttling?.[name];
  if (own) return own;
  const fallback = FUNCTION_THROTTLING_DEFAULTS[name];
  return {
    rateLimit: props.throttlingRateLimit ?? fallback.rateLimit,
    burstLimit: props.throttlingBurstLimit ?? fallback.burstLimit,
  };
}

/** API Gateway method settings (`<resource path>/<METHOD>`) throttling every route by its function. */
function methodThrottles(props: ShoalApiProps): Record<string, apigateway.MethodDeploymentOptions> {
  return Object.fromEntries(
    ROUTES.map((route) => {
      const throttle =
        requirementOf(route).resourceType === 'public'
          ? PUBLIC_ROUTE_THROTTLE
          : throttleOf(props, route.functionName);
      return [
        `${route.path}/${route.method}`,
        { throttlingRateLimit: throttle.rateLimit, throttlingBurstLimit: throttle.burstLimit },
      ];
    }),
  );
}

function validateProps(props: ShoalApiProps): void {
  const { stageName, memorySize, timeout } = props;
  if (stageName !== undefined && !/^[A-Za-z0-9_-]{1,128}$/.test(stageName)) {
    throw new Error(`stageName must be 1 to 128 characters of [A-Za-z0-9_-], got "${stageName}"`);
  }
  checkSetting(
    'throttlingRateLimit',
    props.throttlingRateLimit,
    (value) => Number.isFinite(value) && value > 0 && value <= THROTTLING_RATE_LIMIT_MAX,
    `above 0 and at most ${THROTTLING_RATE_LIMIT_MAX}`,
  );
  checkSetting(
    'throttlingBurstLimit',
    props.throttlingBurstLimit,
    (value) => Number.isInteger(value) && value >= 1 && value <= THROTTLING_BURST_LIMIT_MAX,
    `a whole number from 1 to ${THROTTLING_BURST_LIMIT_MAX}`,
  );
  for (const [name, throttle] of Object.entries(props.throttling ?? {})) {
    if (!FUNCTION_NAMES.includes(name as FunctionName)) {
      throw new Error(`throttling names "${name}", which is not one of ${FUNCTION_NAMES.join(', ')}`);
    }
    checkSetting(
      `throttling.${name}.rateLimit`,
      throttle?.rateLimit ?? Number.NaN,
      (value) => Number.isFinite(value) && value > 0 && value <= THROTTLING_RATE_LIMIT_MAX,
      `above 0 and at most ${THROTTLING_RATE_LIMIT_MAX}`,
    );
    checkSetting(
      `throttling.${name}.burstLimit`,
      throttle?.burstLimit ?? Number.NaN,
      (value) => Number.isInteger(value) && value >= 1 && value <= THROTTLING_BURST_LIMIT_MAX,
      `a whole number from 1 to ${THROTTLING_BURST_LIMIT_MAX}`,
    );
  }
  checkSetting(
    'traceSampleRate',
    props.traceSampleRate,
    (value) => Number.isFinite(value) && value >= 0 && value <= 1,
    'from 0 to 1',
  );
  checkSetting(
    'traceReservoirPerSecond',
    props.traceReservoirPerSecond,
    (value) => Number.isInteger(value) && value >= 0 && value <= TRACE_RESERVOIR_PER_SECOND_MAX,
    `a whole number from 0 to ${TRACE_RESERVOIR_PER_SECOND_MAX}`,
  );
  checkSetting(
    'fetchConcurrency',
    props.fetchConcurrency === false ? undefined : props.fetchConcurrency,
    (value) => Number.isInteger(value) && value >= 1,
    'a whole number, at least 1, or false',
  );
  checkSetting(
    'memorySize',
    memorySize,
    (value) => Number.isInteger(value) && value >= MEMORY_SIZE_MIN && value <= MEMORY_SIZE_MAX,
    `a whole number of MiB from ${MEMORY_SIZE_MIN} to ${MEMORY_SIZE_MAX}`,
  );
  if (timeout !== undefined && !timeout.isUnresolved()) {
    const milliseconds = timeout.toMilliseconds();
    if (milliseconds < 1000 || milliseconds > INTEGRATION_TIMEOUT_MAX.toMilliseconds()) {
      throw new Error(
        `timeout must be from 1 second to ${INTEGRATION_TIMEOUT_MAX.toHumanString()} (the API Gateway ` +
          `integration timeout), got ${timeout.toHumanString()}`,
      );
    }
  }
}

/** @throws Error "`name` must be `rule`, got `value`" when `value` is given and `valid` says no. */
function checkSetting(
  name: string,
  value: number | undefined,
  valid: (value: number) => boolean,
  rule: string,
): void {
  if (value !== undefined && !valid(value)) throw new Error(`${name} must be ${rule}, got ${value}`);
}

/** Settings of {@link ShoalStatelessStack}. */
export interface ShoalStatelessStackProps extends StackProps {
  /** The tables and bucket, usually `ShoalStatefulStack.storage`. */
  readonly storage: ShoalStorage;
  /**
   * Settings of the functions and the API.
   * @default the {@link ShoalApiProps} defaults
   */
  readonly api?: Omit<ShoalApiProps, 'storage'>;
  /**
   * Settings of the archiver and the TTL rescue.
   * @default the {@link ShoalTieredStorageProps} defaults
   */
  readonly tieredStorage?: Omit<ShoalTieredStorageProps, 'storage'>;
  /**
   * Settings of the dispatcher that delivers topics to subscribed functions.
   * @default the {@link ShoalSubscriptionsProps} defaults
   */
  readonly subscriptions?: Omit<ShoalSubscriptionsProps, 'storage'>;
  /**
   * Lag monitor, dashboard and alarms, or `false` for none of them.
   * @default the {@link ShoalObservabilityProps} defaults
   */
  readonly observability?: ObservabilitySettings | false;
  /**
   * Managed policies to create, by name, each granting an ACL on the API (e.g.
   * `{ OrdersProducer: ['topic:orders:Write'] }`); their ARNs are stack outputs.
   * @default none
   */
  readonly accessPolicies?: Readonly<Record<string, AclInput>>;
}

/**
 * The stack of code and routing: it holds no data, so it can be replaced at any time. It is the
 * `log` of `new ShoalEventSource(log, ...)` for functions in the same app.
 */
export class ShoalStatelessStack extends Stack implements IShoalLog {
  readonly api: ShoalApi;
  readonly tieredStorage: ShoalTieredStorage;
  readonly subscriptions: ShoalSubscriptions;
  /** The watch WebSocket API of idle consumers. */
  readonly watch: ShoalWatch;
  readonly accessPolicies: Readonly<Record<string, ShoalAccessPolicy>>;
  readonly observability: ShoalObservability | undefined;

  constructor(scope: Construct, id: string, props: ShoalStatelessStackProps) {
    const { storage, api, tieredStorage, subscriptions, observability, accessPolicies, ...stackProps } =
      props;
    super(scope, id, {
      description: 'Shoal event log: functions and HTTP API (stateless)',
      ...stackProps,
    });
    this.api = new ShoalApi(this, 'Api', { ...api, storage });
    this.tieredStorage = new ShoalTieredStorage(this, 'TieredStorage', { ...tieredStorage, storage });
    this.subscriptions = new ShoalSubscriptions(this, 'Subscriptions', { ...subscriptions, storage });
    this.watch = new ShoalWatch(this, 'Watch', { storage, notifier: this.subscriptions.dispatcher });
    this.accessPolicies = createAccessPolicies(this, this.api.restApi, accessPolicies ?? {}, this.watch);
    // Keep last: the dashboard graphs every function created before it.
    this.observability =
      observability === false
        ? undefined
        : new ShoalObservability(this, 'Observability', {
            ...observability,
            storage,
            restApi: this.api.restApi,
            functions: this.node.findAll().filter((child) => child instanceof lambda.Function),
            ...backgroundWatchOf(this),
          });
  }

  get dispatcherRole(): iam.IRole {
    return this.subscriptions.dispatcherRole;
  }

  get subscriptionServiceToken(): string {
    return this.subscriptions.subscriptionServiceToken;
  }
}
