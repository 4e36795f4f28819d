/**
 * The HTTP API v1, one typed method per route. Request and answer types come from the very zod
 * schemas the server validates with (`shared/http/schemas.ts`), so client and server cannot drift
 * apart; small answers are also checked at run time. Fetch and produce answers, the hot path, are
 * trusted as they come.
 */
import type { z } from 'zod';
import {
  type CommitOffsetsRequest,
  CommitResponseSchema,
  type CreateTopicRequest,
  type FetchResponseSchema,
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
  type TypedData,
  type UpdateTopicRequest,
} from '../shared/http/schemas.js';
import {
  type CreateSubscriptionRequest,
  SubscriptionDescriptionSchema,
  SubscriptionListSchema,
  SubscriptionSchema,
} from '../shared/http/subscription-schemas.js';
import { pathOf, type Transport } from './transport.js';

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

export type TopicDescription = z.output<typeof TopicDescriptionSchema>;
export type TopicSummary = z.output<typeof TopicListSchema>['topics'][number];
export type ProduceAnswer = z.output<typeof ProduceResponseSchema>;
export type FetchAnswer = z.output<typeof FetchResponseSchema>;
export type FetchedRecord = FetchAnswer['records'][number];
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

  async health(signal?: AbortSignal): Promise<{ status: string }> {
    return (await this.transport.request<{ status: string }>('GET', '/v1/health', { signal })).body;
  }

  async createTopic(input: CreateTopicInput): Promise<TopicDescription> {
    const answer = await this.transport.request('POST', '/v1/topics', { body: input });
    return TopicDescriptionSchema.parse(answer.body);
  }

  async listTopics(): Promise<TopicSummary[]> {
    return TopicListSchema.parse((await this.transport.request('GET', '/v1/topics')).body).topics;
  }

  async describeTopic(topic: string, signal?: AbortSignal): Promise<TopicDescription> {
    const answer = await this.transport.request('GET', pathOf`/v1/topics/${topic}`, { signal });
    return TopicDescriptionSchema.parse(answer.body);
  }

  async updateTopic(topic: string, input: UpdateTopicInput): Promise<TopicDescription> {
    const answer = await this.transport.request('PATCH', pathOf`/v1/topics/${topic}`, {
      body: input,
      idempotent: true,
    });
    return TopicDescriptionSchema.parse(answer.body);
  }

  async deleteTopic(topic: string): Promise<void> {
    await this.transport.request('DELETE', pathOf`/v1/topics/${topic}`);
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
    const answer = await this.transport.request<ProduceAnswer>('POST', pathOf`/v1/topics/${topic}/records`, {
      body,
      ...(idempotencyKey === undefined ? {} : { headers: { 'idempotency-key': idempotencyKey } }),
      signal,
    });
    return answer.body;
  }

  async fetch(
    topic: string,
    partition: number,
    input: FetchInput,
    signal?: AbortSignal,
  ): Promise<FetchAnswer> {
    const answer = await this.transport.request<FetchAnswer>(
      'GET',
      pathOf`/v1/topics/${topic}/partitions/${partition}/records`,
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
    return answer.body;
  }

  /** The earliest offset whose timestamp is at or after `timestamp` (the high watermark if none). */
  async offsetForTimestamp(topic: string, partition: number, timestamp: number | string): Promise<number> {
    const answer = await this.transport.request(
      'GET',
      pathOf`/v1/topics/${topic}/partitions/${partition}/offsets`,
      {
        query: { timestamp },
      },
    );
    return OffsetResponseSchema.parse(answer.body).offset;
  }

  async listGroups(): Promise<GroupSummary[]> {
    return GroupListSchema.parse((await this.transport.request('GET', '/v1/groups')).body).groups;
  }

  async describeGroup(group: string, signal?: AbortSignal): Promise<GroupDescription> {
    const answer = await this.transport.request('GET', pathOf`/v1/groups/${group}`, { signal });
    return GroupDescriptionSchema.parse(answer.body);
  }

  async deleteGroup(group: string): Promise<void> {
    await this.transport.request('DELETE', pathOf`/v1/groups/${group}`);
  }

  /**
   * Joins (or rejoins) a group. Not repeated after an unknown outcome: a join that did apply would
   * leave a second member behind until its session times out.
   */
  async joinGroup(group: string, input: JoinGroupInput, signal?: AbortSignal): Promise<MemberAssignment> {
    const answer = await this.transport.request('POST', pathOf`/v1/groups/${group}/members`, {
      body: input,
      signal,
    });
    return MemberAssignmentSchema.parse(answer.body);
  }

  async heartbeat(
    group: string,
    memberId: string,
    generation: number,
    signal?: AbortSignal,
  ): Promise<MemberAssignment> {
    const answer = await this.transport.request(
      'POST',
      pathOf`/v1/groups/${group}/members/${memberId}/heartbeat`,
      {
        body: { generation },
        idempotent: true,
        signal,
      },
    );
    return MemberAssignmentSchema.parse(answer.body);
  }

  async leaveGroup(group: string, memberId: string): Promise<void> {
    await this.transport.request('DELETE', pathOf`/v1/groups/${group}/members/${memberId}`);
  }

  /** Commits next offsets to read; repeating a commit is harmless, so it is retried. */
  async commitOffsets(group: string, input: CommitOffsetsInput, signal?: AbortSignal): Promise<CommitAnswer> {
    const answer = await this.transport.request('POST', pathOf`/v1/groups/${group}/offsets`, {
      body: input,
      idempotent: true,
      signal,
    });
    return CommitResponseSchema.parse(answer.body);
  }

  async resetOffsets(group: string, input: ResetOffsetsInput): Promise<CommitAnswer> {
    const answer = await this.transport.request('POST', pathOf`/v1/groups/${group}/offsets/reset`, {
      body: input,
      idempotent: true,
    });
    return CommitResponseSchema.parse(answer.body);
  }

  /** Binds a Lambda function (or, on the local stack, a module) to a topic through a consumer group. */
  async createSubscription(input: CreateSubscriptionInput): Promise<Subscription> {
    const answer = await this.transport.request('POST', '/v1/subscriptions', { body: input });
    return SubscriptionSchema.parse(answer.body);
  }

  async listSubscriptions(): Promise<Subscription[]> {
    return SubscriptionListSchema.parse((await this.transport.request('GET', '/v1/subscriptions')).body)
      .subscriptions;
  }

  /** Settings, and per partition lag, counters, retries and the last error. */
  async describeSubscription(name: string): Promise<SubscriptionDescription> {
    const answer = await this.transport.request('GET', pathOf`/v1/subscriptions/${name}`);
    return SubscriptionDescriptionSchema.parse(answer.body);
  }

  async deleteSubscription(name: string): Promise<void> {
    await this.transport.request('DELETE', pathOf`/v1/subscriptions/${name}`);
  }
}
