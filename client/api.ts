/**
 * The HTTP API v1, one typed method per route. Request and answer types come from the very zod
 * schemas the server validates with (`shared/http/schemas.ts`), so client and server cannot drift
 * apart; small answers are also checked at run time. Fetch and produce answers, the hot path, are
 * trusted as they come.
 */
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { type OperationId, type RouteParameters, routeTo } from '../shared/http/route-table.js';
import {
  type CommitOffsetsRequest,
  CommitResponseSchema,
  type CreateTopicRequest,
  GroupDescriptionSchema,
  GroupListSchema,
  type Header,
  type JoinGroupRequest,
  MemberAssignmentSchema,
  OffsetResponseSchema,
  type ProduceRecordSchema,
  type ProduceResponseSchema,
  type ResetOffsetsRequest,
  TopicDescriptionSchema,
  TopicListSchema,
  type TransactionRequest,
  TransactionResponseSchema,
  type TypedData,
  type UpdateTopicRequest,
  UploadResponseSchema,
} from '../shared/http/schemas.js';
import {
  type CreateSubscriptionRequest,
  SubscriptionDescriptionSchema,
  SubscriptionListSchema,
  SubscriptionSchema,
} from '../shared/http/subscription-schemas.js';
import { followReferences, putUpload, type WireFetchAnswer } from './large-values.js';
import type { Answer, RequestOptions, Transport } from './transport.js';

/** A key or value on the wire: `{ type: 'JSON' | 'STRING' | 'BINARY', data }` (BINARY data is base64). */
export type TypedDataValue = z.output<typeof TypedData>;
/** A record header on the wire: a name and a base64 value. */
export type WireHeader = z.output<typeof Header>;
/** One record of a produce request. */
export type WireProduceRecord = z.input<typeof ProduceRecordSchema>;
export type CreateTopicInput = z.input<typeof CreateTopicRequest>;
export type UpdateTopicInput = z.input<typeof UpdateTopicRequest>;
export type JoinGroupInput = z.input<typeof JoinGroupRequest>;
export type CommitOffsetsInput = z.input<typeof CommitOffsetsRequest>;
export type ResetOffsetsInput = z.input<typeof ResetOffsetsRequest>;
export type TransactionInput = z.input<typeof TransactionRequest>;
export type TransactionAnswer = z.output<typeof TransactionResponseSchema>;

export type TopicDescription = z.output<typeof TopicDescriptionSchema>;
export type TopicSummary = z.output<typeof TopicListSchema>['topics'][number];
export type ProduceAnswer = z.output<typeof ProduceResponseSchema>;
/** A fetch answer as `ShoalApi.fetch` returns it: values answered by reference already read in. */
export type FetchAnswer = Awaited<ReturnType<typeof followReferences>>;
export type FetchedRecord = FetchAnswer['records'][number];
export type UploadAnswer = z.output<typeof UploadResponseSchema>;
export type MemberAssignment = z.output<typeof MemberAssignmentSchema>;
export type CommitAnswer = z.output<typeof CommitResponseSchema>;
export type GroupDescription = z.output<typeof GroupDescriptionSchema>;
export type GroupSummary = z.output<typeof GroupListSchema>['groups'][number];
export type CreateSubscriptionInput = z.input<typeof CreateSubscriptionRequest>;
export type Subscription = z.output<typeof SubscriptionSchema>;
export type SubscriptionDescription = z.output<typeof SubscriptionDescriptionSchema>;

/** Bounds of one fetch. */
export interface FetchInput {
  readonly offset: number;
  readonly maxRecords?: number;
  readonly maxBytes?: number;
  /** Long poll: wait up to this long when there is nothing at `offset` yet (at most 20000). */
  readonly waitMs?: number;
}

/** Typed calls to every route of the API. */
export class ShoalApi {
  constructor(readonly transport: Transport) {}

  /** Calls the route of `operationId`: its method and path come from the route table, never spelled here. */
  private call<O extends OperationId>(
    operationId: O,
    parameters: RouteParameters<O>,
    options: RequestOptions = {},
  ): Promise<Answer<unknown>> {
    const { method, path } = routeTo(operationId, parameters);
    return this.transport.request(method, path, options);
  }

  /** The OpenAPI document of the API. */
  async openApi(): Promise<Record<string, unknown>> {
    return (await this.call('getOpenApi', {})).body as Record<string, unknown>;
  }

  async health(signal?: AbortSignal): Promise<{ status: string }> {
    return (await this.call('getHealth', {}, { signal })).body as { status: string };
  }

  async createTopic(input: CreateTopicInput): Promise<TopicDescription> {
    const answer = await this.call('createTopic', {}, { body: input });
    return TopicDescriptionSchema.parse(answer.body);
  }

  async listTopics(): Promise<TopicSummary[]> {
    return TopicListSchema.parse((await this.call('listTopics', {})).body).topics;
  }

  async describeTopic(topic: string, signal?: AbortSignal): Promise<TopicDescription> {
    const answer = await this.call('describeTopic', { topic }, { signal });
    return TopicDescriptionSchema.parse(answer.body);
  }

  async updateTopic(topic: string, input: UpdateTopicInput): Promise<TopicDescription> {
    const answer = await this.call(
      'updateTopic',
      { topic },
      {
        body: input,
        idempotent: true,
      },
    );
    return TopicDescriptionSchema.parse(answer.body);
  }

  async deleteTopic(topic: string): Promise<void> {
    await this.call('deleteTopic', { topic }, {});
  }

  /**
   * Appends records atomically. `body` may be a prepared JSON string (the producer builds one from
   * per-record strings it measured). With an `idempotencyKey`, repeating the same request appends
   * nothing and returns the first answer, so the call is retried on any failure.
   */
  async produce(
    topic: string,
    body: string | { readonly records: readonly WireProduceRecord[] },
    idempotencyKey?: string,
    signal?: AbortSignal,
  ): Promise<ProduceAnswer> {
    const answer = await this.call(
      'produceRecords',
      { topic },
      {
        body,
        ...(idempotencyKey === undefined ? {} : { headers: { 'idempotency-key': idempotencyKey } }),
        signal,
      },
    );
    // The hot path: trusted as it comes (module comment).
    return answer.body as ProduceAnswer;
  }

  async fetch(
    topic: string,
    partition: number,
    input: FetchInput,
    signal?: AbortSignal,
  ): Promise<FetchAnswer> {
    const answer = await this.call(
      'fetchRecords',
      { topic, partition },
      {
        query: {
          offset: input.offset,
          maxRecords: input.maxRecords,
          maxBytes: input.maxBytes,
          waitMs: input.waitMs,
        },
        signal,
        extraTimeMs: input.waitMs ?? 0,
      },
    );
    return followReferences(answer.body as WireFetchAnswer, signal);
  }

  /**
   * Grants an upload of one record value of `bytes` bytes (for values too large for a produce
   * request). Not repeated after an unknown outcome: an unused grant costs nothing.
   */
  async createUpload(topic: string, bytes: number, signal?: AbortSignal): Promise<UploadAnswer> {
    const answer = await this.call('createUpload', { topic }, { body: { bytes }, signal });
    return UploadResponseSchema.parse(answer.body);
  }

  /** Uploads one record value to S3 and returns the upload id a produce names it by. */
  async uploadValue(topic: string, bytes: Uint8Array, signal?: AbortSignal): Promise<string> {
    const grant = await this.createUpload(topic, bytes.byteLength, signal);
    await putUpload(grant.url, grant.headers, bytes, signal);
    return grant.uploadId;
  }

  /** The earliest offset whose timestamp is at or after `timestamp` (the high watermark if none). */
  async offsetForTimestamp(topic: string, partition: number, timestamp: number | string): Promise<number> {
    const answer = await this.call(
      'offsetForTimestamp',
      { topic, partition },
      {
        query: { timestamp },
      },
    );
    return OffsetResponseSchema.parse(answer.body).offset;
  }

  async listGroups(): Promise<GroupSummary[]> {
    return GroupListSchema.parse((await this.call('listGroups', {})).body).groups;
  }

  async describeGroup(group: string, signal?: AbortSignal): Promise<GroupDescription> {
    const answer = await this.call('describeGroup', { group }, { signal });
    return GroupDescriptionSchema.parse(answer.body);
  }

  async deleteGroup(group: string): Promise<void> {
    await this.call('deleteGroup', { group }, {});
  }

  /**
   * Joins (or rejoins) a group. Not repeated after an unknown outcome: a join that did apply would
   * leave a second member behind until its session times out.
   */
  async joinGroup(group: string, input: JoinGroupInput, signal?: AbortSignal): Promise<MemberAssignment> {
    const answer = await this.call(
      'joinGroup',
      { group },
      {
        body: input,
        signal,
      },
    );
    return MemberAssignmentSchema.parse(answer.body);
  }

  async heartbeat(
    group: string,
    memberId: string,
    generation: number,
    signal?: AbortSignal,
  ): Promise<MemberAssignment> {
    const answer = await this.call(
      'heartbeatGroup',
      { group, memberId },
      {
        body: { generation },
        idempotent: true,
        signal,
      },
    );
    return MemberAssignmentSchema.parse(answer.body);
  }

  async leaveGroup(group: string, memberId: string): Promise<void> {
    await this.call('leaveGroup', { group, memberId }, {});
  }

  /** Commits next offsets to read; repeating a commit is harmless, so it is retried. */
  async commitOffsets(group: string, input: CommitOffsetsInput, signal?: AbortSignal): Promise<CommitAnswer> {
    const answer = await this.call(
      'commitOffsets',
      { group },
      {
        body: input,
        idempotent: true,
        signal,
      },
    );
    return CommitResponseSchema.parse(answer.body);
  }

  /**
   * Appends records to topics and commits the group's offsets in one transaction (exactly once).
   * Retried like a commit when the answer is lost: the Idempotency-Key (one per transaction, made
   * here when not given) makes a retry of an applied transaction write nothing and answer the same.
   */
  async produceTransaction(
    group: string,
    input: TransactionInput,
    idempotencyKey: string = randomUUID(),
    signal?: AbortSignal,
  ): Promise<TransactionAnswer> {
    const answer = await this.call(
      'produceTransaction',
      { group },
      { body: input, headers: { 'idempotency-key': idempotencyKey }, idempotent: true, signal },
    );
    return TransactionResponseSchema.parse(answer.body);
  }

  async resetOffsets(group: string, input: ResetOffsetsInput): Promise<CommitAnswer> {
    const answer = await this.call(
      'resetOffsets',
      { group },
      {
        body: input,
        idempotent: true,
      },
    );
    return CommitResponseSchema.parse(answer.body);
  }

  /** Binds a Lambda function (or, on the local stack, a module) to a topic through a consumer group. */
  async createSubscription(input: CreateSubscriptionInput): Promise<Subscription> {
    const answer = await this.call('createSubscription', {}, { body: input });
    return SubscriptionSchema.parse(answer.body);
  }

  async listSubscriptions(): Promise<Subscription[]> {
    return SubscriptionListSchema.parse((await this.call('listSubscriptions', {})).body).subscriptions;
  }

  /** Settings, and per partition lag, counters, retries and the last error. */
  async describeSubscription(name: string): Promise<SubscriptionDescription> {
    const answer = await this.call('describeSubscription', { name }, {});
    return SubscriptionDescriptionSchema.parse(answer.body);
  }

  async deleteSubscription(name: string): Promise<void> {
    await this.call('deleteSubscription', { name }, {});
  }
}

/**
 * The client method of every route in the table: a route added without a method here is a compile
 * error, as a route without its handler is on the server.
 */
export const CLIENT_METHODS = {
  getHealth: 'health',
  getOpenApi: 'openApi',
  createTopic: 'createTopic',
  listTopics: 'listTopics',
  describeTopic: 'describeTopic',
  updateTopic: 'updateTopic',
  deleteTopic: 'deleteTopic',
  produceRecords: 'produce',
  createUpload: 'createUpload',
  fetchRecords: 'fetch',
  offsetForTimestamp: 'offsetForTimestamp',
  listGroups: 'listGroups',
  describeGroup: 'describeGroup',
  deleteGroup: 'deleteGroup',
  joinGroup: 'joinGroup',
  heartbeatGroup: 'heartbeat',
  leaveGroup: 'leaveGroup',
  commitOffsets: 'commitOffsets',
  produceTransaction: 'produceTransaction',
  resetOffsets: 'resetOffsets',
  createSubscription: 'createSubscription',
  listSubscriptions: 'listSubscriptions',
  describeSubscription: 'describeSubscription',
  deleteSubscription: 'deleteSubscription',
} as const satisfies Record<OperationId, keyof ShoalApi>;
