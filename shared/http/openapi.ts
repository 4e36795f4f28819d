/**
 * The OpenAPI 3.1 document, generated from the route table and the zod schemas that validate
 * requests, and served at `GET /openapi.json`.
 */
import * as z from 'zod';
import { requirementOf } from '../authorization/acl.js';
import { LIMITS } from '../domain/limits.js';
import { type OperationId, ROUTES } from './route-table.js';
import {
  CommitOffsetsRequest,
  CommitResponseSchema,
  CreateTopicRequest,
  FetchQuery,
  FetchResponseSchema,
  GroupDescriptionSchema,
  GroupListSchema,
  GroupName,
  HealthResponseSchema,
  HeartbeatRequest,
  IdempotencyKeyHeader,
  JoinGroupRequest,
  MemberAssignmentSchema,
  MemberId,
  OffsetResponseSchema,
  OffsetsQuery,
  PartitionParam,
  ProduceRequest,
  ProduceResponseSchema,
  ResetOffsetsRequest,
  TopicDescriptionSchema,
  TopicListSchema,
  TopicName,
  TransactionRequest,
  TransactionResponseSchema,
  UpdateTopicRequest,
  UploadRequest,
  UploadResponseSchema,
} from './schemas.js';
import {
  CreateSubscriptionRequest,
  SubscriptionDescriptionSchema,
  SubscriptionListSchema,
  SubscriptionName,
  SubscriptionSchema,
} from './subscription-schemas.js';
import { WATCH_API_DOCUMENT } from './watch-schemas.js';

interface OperationSchemas {
  readonly body?: z.ZodType;
  readonly query?: z.ZodObject;
  readonly headers?: Record<string, { schema: z.ZodType; description: string }>;
  readonly success: {
    status: number;
    schema?: z.ZodType;
    description: string;
    /** Response headers of the success answer, by name. */
    headers?: Record<string, { schema: Record<string, unknown>; description: string }>;
  };
  /** Problem statuses this operation can answer besides 400, 429, 500 and 503. */
  readonly problems: readonly number[];
}

/**
 * The schema each path parameter is parsed with (`parsePathParameter` in the functions): the
 * document states the same patterns and ranges the server enforces.
 */
const PATH_PARAMETERS: Readonly<Record<string, z.ZodType>> = {
  topic: TopicName,
  partition: PartitionParam,
  group: GroupName,
  memberId: MemberId,
  name: SubscriptionName,
};

/** Operations that touch no storage: nothing in them can be busy (503). */
const STORAGE_FREE: ReadonlySet<OperationId> = new Set(['getHealth', 'getOpenApi']);

/** `Retry-After` on every 429 and 503: whole seconds to wait before retrying. */
const RETRY_AFTER_HEADER = {
  'Retry-After': {
    description: 'Seconds to wait before trying again',
    schema: { type: 'string', pattern: '^[0-9]+$' },
  },
};

/** Per operation: what it takes and what it answers. Every operation in ROUTES must be here. */
const OPERATIONS: Record<OperationId, OperationSchemas> = {
  listGroups: { success: { status: 200, schema: GroupListSchema, description: 'Every group' }, problems: [] },
  describeGroup: {
    success: {
      status: 200,
      schema: GroupDescriptionSchema,
      description: 'State, generation, members, and per partition committed offset, high watermark and lag',
    },
    problems: [404],
  },
  deleteGroup: { success: { status: 204, description: 'Deleted' }, problems: [404, 409] },
  joinGroup: {
    body: JoinGroupRequest,
    success: {
      status: 200,
      schema: MemberAssignmentSchema,
      description: "The member's id, generation and assignments",
    },
    problems: [404, 409, 413, 503],
  },
  heartbeatGroup: {
    body: HeartbeatRequest,
    success: {
      status: 200,
      schema: MemberAssignmentSchema,
      description: 'The current generation and assignments (new ones after a rebalance)',
    },
    problems: [409, 503],
  },
  leaveGroup: { success: { status: 204, description: 'Left (or was not a member)' }, problems: [503] },
  commitOffsets: {
    body: CommitOffsetsRequest,
    success: { status: 200, schema: CommitResponseSchema, description: 'Committed, all offsets or none' },
    problems: [404, 409, 413, 422, 503],
  },
  produceTransaction: {
    body: TransactionRequest,
    headers: {
      'Idempotency-Key': {
        schema: IdempotencyKeyHeader,
        description: `Scoped to the group: a retry with the same key within ${LIMITS.idempotencyWindowMs / 3_600_000} h writes nothing and returns the first answer, even after a rebalance`,
      },
    },
    success: {
      status: 200,
      schema: TransactionResponseSchema,
      description:
        'Where each record landed (per topic, in request order) and the offsets committed, all in one transaction',
      headers: {
        'Idempotent-Replayed': {
          description:
            '`true` when the answer is the first answer to an earlier request with the same Idempotency-Key (nothing was written this time)',
          schema: { type: 'string', enum: ['true'] },
        },
      },
    },
    problems: [404, 409, 413, 422, 429, 503],
  },
  resetOffsets: {
    body: ResetOffsetsRequest,
    success: { status: 200, schema: CommitResponseSchema, description: 'The offsets now committed' },
    problems: [404, 409, 503],
  },
  createSubscription: {
    body: CreateSubscriptionRequest,
    success: {
      status: 201,
      schema: SubscriptionSchema,
      description: 'Created; delivery starts with the next append',
    },
    problems: [404, 409],
  },
  listSubscriptions: {
    success: { status: 200, schema: SubscriptionListSchema, description: 'Every subscription' },
    problems: [],
  },
  describeSubscription: {
    success: {
      status: 200,
      schema: SubscriptionDescriptionSchema,
      description:
        'Settings, and per partition committed offset, lag, counters, last error and oldest undelivered record',
    },
    problems: [404],
  },
  deleteSubscription: { success: { status: 204, description: 'Deleted' }, problems: [404] },
  getHealth: { success: { status: 200, schema: HealthResponseSchema, description: 'Alive' }, problems: [] },
  getOpenApi: {
    success: { status: 200, schema: z.record(z.string(), z.unknown()), description: 'This document' },
    problems: [],
  },
  createTopic: {
    body: CreateTopicRequest,
    success: { status: 201, schema: TopicDescriptionSchema, description: 'Created' },
    problems: [409],
  },
  listTopics: { success: { status: 200, schema: TopicListSchema, description: 'Every topic' }, problems: [] },
  describeTopic: {
    success: { status: 200, schema: TopicDescriptionSchema, description: 'The topic' },
    problems: [404],
  },
  updateTopic: {
    body: UpdateTopicRequest,
    success: { status: 200, schema: TopicDescriptionSchema, description: 'The changed topic' },
    problems: [404, 409],
  },
  deleteTopic: { success: { status: 204, description: 'Deleted' }, problems: [404] },
  produceRecords: {
    body: ProduceRequest,
    headers: {
      'Idempotency-Key': {
        schema: IdempotencyKeyHeader,
        description: `A retry with the same key within ${LIMITS.idempotencyWindowMs / 3_600_000} h appends nothing and returns the first answer`,
      },
    },
    success: {
      status: 200,
      schema: ProduceResponseSchema,
      description: 'Where each record landed, in request order',
      headers: {
        'Idempotent-Replayed': {
          description:
            '`true` when the answer is the first answer to an earlier request with the same Idempotency-Key (nothing was appended this time)',
          schema: { type: 'string', enum: ['true'] },
        },
      },
    },
    problems: [404, 413, 422, 429, 503],
  },
  createUpload: {
    body: UploadRequest,
    success: {
      status: 201,
      schema: UploadResponseSchema,
      description: 'Where to PUT the value (a presigned S3 URL) and the upload id to produce it with',
    },
    problems: [404, 413],
  },
  fetchRecords: {
    query: FetchQuery,
    success: {
      status: 200,
      schema: FetchResponseSchema,
      description: 'Records from the offset on, contiguous',
    },
    problems: [404, 416],
  },
  offsetForTimestamp: {
    query: OffsetsQuery,
    success: {
      status: 200,
      schema: OffsetResponseSchema,
      description:
        'The earliest offset whose timestamp is at or after the given time (the high watermark if none)',
    },
    problems: [404],
  },
};

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed request; `field` names the offending field',
  404: 'Topic (40401), partition (40402), consumer group (40404) or subscription (40405) not found',
  409: 'Conflicts with the current state; consumer groups: fenced for a stale generation (40910), an unknown member (40911) or a partition the member does not own (40912), a group with live members (40913), an offset that would move backwards (40914); a subscription that exists (40915)',
  401: 'No credentials, or credentials API Gateway does not accept (IAM signature or bearer token)',
  403: 'The credentials do not allow this route for this name',
  413: `Over a published limit: the body (over ${LIMITS.requestBodyBytesMax} bytes, \`limit\` \`requestBodyBytes\`), a record (over ${LIMITS.recordBytesMax} bytes, \`recordBytes\`), an upload (over ${LIMITS.uploadBytesMax} bytes, \`uploadBytes\`), or a list in it (\`limit\` names it, with \`value\` and \`max\`)`,
  416: 'Offset out of range; carries logStartOffset and highWatermark',
  415: 'Local stack only: a body sent without `Content-Type: application/json` (a browser form cannot reach the API)',
  422: 'Idempotency-Key reused with a different request; a committed offset above the high watermark (42202)',
  429: 'Throttled; see Retry-After',
  500: 'Internal error',
  503: 'Busy; see Retry-After',
};

const componentRef = (id: string) => `#/components/schemas/${id}`;

function strip(json: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _schema, $id: _id, ...rest } = json;
  return rest;
}

/** A reference to a named schema (`.meta({ id })`), or the schema inline. */
function schemaOf(schema: z.ZodType): Record<string, unknown> {
  const id = z.globalRegistry.get(schema)?.id;
  if (id) return { $ref: componentRef(id) };
  return strip(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>);
}

/** Every named schema, referencing each other through `#/components/schemas`. */
function componentSchemas(): Record<string, unknown> {
  const { schemas } = z.toJSONSchema(z.globalRegistry, {
    io: 'input',
    unrepresentable: 'any',
    uri: componentRef,
  });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, json]) => [id, strip(json as Record<string, unknown>)]),
  );
}

let built: Record<string, unknown> | undefined;

/** An operation's parameters: those in its path, then its query, then its headers. */
function parametersOf(path: string, operation: OperationSchemas): unknown[] {
  const parameters: unknown[] = [];
  for (const match of path.matchAll(/\{([^}]+)\}/g)) {
    const name = match[1] as string;
    const schema = PATH_PARAMETERS[name];
    if (!schema) throw new Error(`No schema for the path parameter {${name}} of ${path}`);
    parameters.push({ name, in: 'path', required: true, schema: schemaOf(schema) });
  }
  if (operation.query) {
    for (const [name, schema] of Object.entries(operation.query.shape as Record<string, z.ZodType>)) {
      const json = schemaOf(schema);
      parameters.push({
        name,
        in: 'query',
        required: !schema.safeParse(undefined).success,
        schema: json,
        ...(typeof json.description === 'string' ? { description: json.description } : {}),
      });
    }
  }
  for (const [name, header] of Object.entries(operation.headers ?? {})) {
    parameters.push({
      name,
      in: 'header',
      required: false,
      description: header.description,
      schema: schemaOf(header.schema),
    });
  }
  return parameters;
}

/** An operation's success answer and every problem it may answer. */
function responsesOf(
  operationId: OperationId,
  operation: OperationSchemas,
  isPublic: boolean,
): Record<string, unknown> {
  const { success } = operation;
  const responses: Record<string, unknown> = {
    [success.status]: {
      description: success.description,
      ...(success.headers ? { headers: success.headers } : {}),
      ...(success.schema ? { content: { 'application/json': { schema: schemaOf(success.schema) } } } : {}),
    },
  };
  // API Gateway refuses missing or insufficient credentials (401, 403) and throttles every method
  // (429); storage can be throttled (429) or busy (503); every body can be too large, or hold a
  // list longer than its limit (413), and on the local stack must be JSON (415).
  const statuses = new Set([
    400,
    ...(isPublic ? [] : [401, 403]),
    ...operation.problems,
    ...(operation.body ? [413, 415] : []),
    429,
    500,
    ...(STORAGE_FREE.has(operationId) ? [] : [503]),
  ]);
  for (const status of [...statuses].sort((a, b) => a - b)) {
    responses[status] = {
      description: PROBLEM_DESCRIPTIONS[status] ?? 'Problem',
      ...(status === 429 || status === 503 ? { headers: RETRY_AFTER_HEADER } : {}),
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    };
  }
  return responses;
}

/** The document, built once per process. */
export function openApiDocument(): Record<string, unknown> {
  built ??= buildDocument();
  return built;
}

function buildDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const operation = OPERATIONS[route.operationId];
    const parameters = parametersOf(route.path, operation);
    // A public route (the health check) takes no credentials at all.
    const isPublic = requirementOf(route).resourceType === 'public';
    paths[route.path] ??= {};
    (paths[route.path] as Record<string, unknown>)[route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: route.summary,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(operation.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: schemaOf(operation.body) } },
            },
          }
        : {}),
      responses: responsesOf(route.operationId, operation, isPublic),
      security: isPublic ? [] : [{ sigv4: [] }],
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Shoal',
      version: '1',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      description:
        "A serverless event log for AWS with Kafka's model: topics, partitions, dense offsets, keyed ordering, idempotent produce.",
    },
    servers: [
      { url: 'http://127.0.0.1:8092', description: 'The local stack (`npm start`)' },
      {
        url: 'https://{apiId}.execute-api.{region}.amazonaws.com/{stage}',
        description: 'A deployment (`npx cdk deploy` prints its URL as the REST API Endpoint output)',
        variables: {
          apiId: { default: 'API_ID', description: 'The REST API id' },
          region: { default: 'us-east-1', description: 'The AWS region' },
          stage: { default: 'prod', description: 'The stage name (`shoal:stageName`)' },
        },
      },
    ],
    paths,
    'x-shoal-watch': WATCH_API_DOCUMENT,
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          description: 'AWS IAM Signature Version 4 (API Gateway IAM authorization); none on the local stack',
        },
      },
    },
  };
}
