/**
 * The one route table. The CDK stack builds API Gateway resources and methods from it, the local
 * stack's HTTP server matches requests against it, each Lambda entry must implement exactly the
 * operations it gives that function (`createHttpHandler` is typed by it) and the client reaches
 * every route through `routeTo` with a method per operation (`CLIENT_METHODS` is typed by it), so
 * a route added here without its handler or client method does not compile.
 */

/** A Lambda function that serves a group of routes; its entry is `functions/<name>.ts`. */
export type FunctionName =
  | 'manage-topics'
  | 'produce-records'
  | 'fetch-records'
  | 'manage-groups'
  | 'manage-subscriptions';

/** Every function, in a stable order (CDK construct ids derive from it). */
export const FUNCTION_NAMES: readonly FunctionName[] = [
  'manage-topics',
  'produce-records',
  'fetch-records',
  'manage-groups',
  'manage-subscriptions',
];

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** One route: an API Gateway resource path (with `{param}` segments) and method. */
export interface Route {
  readonly method: HttpMethod;
  /** API Gateway resource path, e.g. `/v1/topics/{topic}`. */
  readonly path: string;
  /** Stable name used by handlers and as the OpenAPI operationId. */
  readonly operationId: string;
  readonly functionName: FunctionName;
  readonly summary: string;
}

export const ROUTES = [
  {
    method: 'GET',
    path: '/v1/health',
    operationId: 'getHealth',
    functionName: 'manage-topics',
    summary: 'Liveness check',
  },
  {
    method: 'GET',
    path: '/openapi.json',
    operationId: 'getOpenApi',
    functionName: 'manage-topics',
    summary: 'This OpenAPI document',
  },
  {
    method: 'POST',
    path: '/v1/topics',
    operationId: 'createTopic',
    functionName: 'manage-topics',
    summary: 'Create a topic',
  },
  {
    method: 'GET',
    path: '/v1/topics',
    operationId: 'listTopics',
    functionName: 'manage-topics',
    summary: 'List topics',
  },
  {
    method: 'GET',
    path: '/v1/topics/{topic}',
    operationId: 'describeTopic',
    functionName: 'manage-topics',
    summary: 'Describe a topic and its partitions',
  },
  {
    method: 'PATCH',
    path: '/v1/topics/{topic}',
    operationId: 'updateTopic',
    functionName: 'manage-topics',
    summary: 'Change retention or add partitions',
  },
  {
    method: 'DELETE',
    path: '/v1/topics/{topic}',
    operationId: 'deleteTopic',
    functionName: 'manage-topics',
    summary: 'Delete a topic and its records',
  },
  {
    method: 'POST',
    path: '/v1/topics/{topic}/records',
    operationId: 'produceRecords',
    functionName: 'produce-records',
    summary: 'Append records',
  },
  {
    method: 'POST',
    path: '/v1/topics/{topic}/uploads',
    operationId: 'createUpload',
    functionName: 'produce-records',
    summary: 'Get a presigned URL to upload one record value too large for a produce request',
  },
  {
    method: 'GET',
    path: '/v1/topics/{topic}/partitions/{partition}/records',
    operationId: 'fetchRecords',
    functionName: 'fetch-records',
    summary: 'Read records from an offset',
  },
  {
    method: 'GET',
    path: '/v1/topics/{topic}/partitions/{partition}/offsets',
    operationId: 'offsetForTimestamp',
    functionName: 'fetch-records',
    summary: 'Earliest offset at or after a timestamp',
  },
  {
    method: 'GET',
    path: '/v1/groups',
    operationId: 'listGroups',
    functionName: 'manage-groups',
    summary: 'List consumer groups',
  },
  {
    method: 'GET',
    path: '/v1/groups/{group}',
    operationId: 'describeGroup',
    functionName: 'manage-groups',
    summary: 'Describe a group: state, members, committed offsets and lag',
  },
  {
    method: 'DELETE',
    path: '/v1/groups/{group}',
    operationId: 'deleteGroup',
    functionName: 'manage-groups',
    summary: 'Delete a group without live members, with its committed offsets',
  },
  {
    method: 'POST',
    path: '/v1/groups/{group}/members',
    operationId: 'joinGroup',
    functionName: 'manage-groups',
    summary: "Join (or rejoin) a group and get this generation's assignments",
  },
  {
    method: 'POST',
    path: '/v1/groups/{group}/members/{memberId}/heartbeat',
    operationId: 'heartbeatGroup',
    functionName: 'manage-groups',
    summary: 'Stay alive and learn the current generation and assignments',
  },
  {
    method: 'DELETE',
    path: '/v1/groups/{group}/members/{memberId}',
    operationId: 'leaveGroup',
    functionName: 'manage-groups',
    summary: 'Leave a group at once',
  },
  {
    method: 'POST',
    path: '/v1/groups/{group}/offsets',
    operationId: 'commitOffsets',
    functionName: 'manage-groups',
    summary: 'Commit next offsets to read; fenced by generation and ownership',
  },
  {
    method: 'POST',
    path: '/v1/groups/{group}/transactions',
    operationId: 'produceTransaction',
    functionName: 'produce-records',
    summary: "Append records to topics and commit the group's offsets in one transaction (exactly once)",
  },
  {
    method: 'POST',
    path: '/v1/groups/{group}/offsets/reset',
    operationId: 'resetOffsets',
    functionName: 'manage-groups',
    summary: "Move a topic's committed offsets while the group has no live members",
  },
  {
    method: 'POST',
    path: '/v1/subscriptions',
    operationId: 'createSubscription',
    functionName: 'manage-subscriptions',
    summary: 'Subscribe a function to a topic (an event source mapping)',
  },
  {
    method: 'GET',
    path: '/v1/subscriptions',
    operationId: 'listSubscriptions',
    functionName: 'manage-subscriptions',
    summary: 'List subscriptions',
  },
  {
    method: 'GET',
    path: '/v1/subscriptions/{name}',
    operationId: 'describeSubscription',
    functionName: 'manage-subscriptions',
    summary:
      'Describe a subscription: settings, and per partition lag, errors, dead letters, oldest undelivered record',
  },
  {
    method: 'DELETE',
    path: '/v1/subscriptions/{name}',
    operationId: 'deleteSubscription',
    functionName: 'manage-subscriptions',
    summary: 'Delete a subscription (and its consumer group, unless it was named by the request)',
  },
] as const satisfies readonly Route[];

export type OperationId = (typeof ROUTES)[number]['operationId'];

/** The `{param}` names of a path template. */
type ParametersOf<P extends string> = P extends `${string}{${infer Name}}${infer Rest}`
  ? Name | ParametersOf<Rest>
  : never;

/** The path parameters an operation's route needs, by name. */
export type RouteParameters<O extends OperationId> = Record<
  ParametersOf<Extract<(typeof ROUTES)[number], { readonly operationId: O }>['path']>,
  string | number
>;

/**
 * The method and concrete path of an operation, its parameters percent-encoded: how a client
 * reaches a route without spelling its path again.
 * @example
 * routeTo('describeTopic', { topic: 'orders' }); // { method: 'GET', path: '/v1/topics/orders' }
 */
export function routeTo<O extends OperationId>(
  operationId: O,
  parameters: RouteParameters<O>,
): { readonly method: HttpMethod; readonly path: string } {
  const route = ROUTES.find((candidate) => candidate.operationId === operationId) as Route;
  const values = parameters as Record<string, string | number>;
  const path = route.path.replace(/\{([^}]+)\}/g, (_, name: string) =>
    encodeURIComponent(String(values[name])),
  );
  return { method: route.method, path };
}

/** The operations of the routes one function serves: its handler must implement each of them. */
export type OperationIdOf<F extends FunctionName> = Extract<
  (typeof ROUTES)[number],
  { readonly functionName: F }
>['operationId'];

/** The routes one function serves. */
export function routesOf(functionName: FunctionName): Route[] {
  return ROUTES.filter((route) => route.functionName === functionName);
}

/** Finds the route for a method and an API Gateway resource path (not a concrete URL path). */
export function findRoute(method: string, resourcePath: string): Route | undefined {
  return ROUTES.find((route) => route.method === method && route.path === resourcePath);
}

/**
 * Matches a concrete URL path (`/v1/topics/orders`) against the table, as API Gateway would,
 * returning the route and the decoded path parameters. Literal segments win over `{param}` ones.
 */
export function matchPath(
  method: string,
  urlPath: string,
): { route: Route; pathParameters: Record<string, string> } | { allowedMethods: HttpMethod[] } | undefined {
  const segments = urlPath.split('/').filter((segment) => segment !== '');
  const allowedMethods: HttpMethod[] = [];
  let best: { route: Route; pathParameters: Record<string, string>; literals: number } | undefined;
  for (const route of ROUTES) {
    const pattern = route.path.split('/').filter((segment) => segment !== '');
    if (pattern.length !== segments.length) continue;
    const pathParameters: Record<string, string> = {};
    let literals = 0;
    let matched = true;
    for (let i = 0; i < pattern.length; i++) {
      const expected = pattern[i] as string;
      const actual = segments[i] as string;
      if (expected.startsWith('{') && expected.endsWith('}')) {
        let decoded: string;
        try {
          decoded = decodeURIComponent(actual);
        } catch {
          matched = false;
          break;
        }
        pathParameters[expected.slice(1, -1)] = decoded;
      } else if (expected === actual) {
        literals++;
      } else {
        matched = false;
        break;
      }
    }
    if (!matched) continue;
    if (route.method !== method) {
      allowedMethods.push(route.method);
      continue;
    }
    if (!best || literals > best.literals) best = { route, pathParameters, literals };
  }
  if (best) return { route: best.route, pathParameters: best.pathParameters };
  return allowedMethods.length > 0 ? { allowedMethods } : undefined;
}
