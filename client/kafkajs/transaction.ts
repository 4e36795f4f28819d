/**
 * KafkaJS's transactions over Shoal's exactly-once request (`POST /v1/groups/{group}/transactions`):
 * `producer.transaction()` gives a transaction whose `send`, `sendBatch` and `sendOffsets` are
 * buffered here, and `commit()` sends them as one request, applied all or nothing in one DynamoDB
 * transaction; `abort()` drops them (nothing was written).
 *
 * The offsets are fenced by the consuming member's generation: `sendOffsets({ consumerGroupId })`
 * finds the consumer of that group made by the same `Kafka` instance and uses its member id and
 * generation (Kafka's `sendOffsetsToTransaction(offsets, consumer.groupMetadata())`). A member that
 * lost its partitions in a rebalance gets a `KafkaJSNonRetriableError` and writes nothing: its
 * `eachBatch` fails, and the batch is consumed again from the committed offset by its new owner.
 *
 * Limits of the one request: records of at most 16 topics (1,000 records in all), and what one
 * DynamoDB transaction holds (100 items: see docs/consumer-groups.md, "Exactly once"). A transaction without
 * `sendOffsets` writes one topic atomically; to several topics it needs the offsets (a group).
 *
 * @example exactly once, consume → transform → produce
 * await consumer.run({
 *   autoCommit: false, // the transaction commits the offsets
 *   eachBatch: async ({ batch }) => {
 *     const transaction = await producer.transaction();
 *     await transaction.send({ topic: 'totals', messages: batch.messages.map(transform) });
 *     await transaction.sendOffsets({
 *       consumerGroupId: 'billing',
 *       topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) }] }],
 *     });
 *     await transaction.commit();
 *   },
 * });
 */
import { randomUUID } from 'node:crypto';
import type { Shoal, ProducerRecord as ShoalRecord } from '../index.js';
import { toWireRecord } from '../index.js';
import { asKafkaJS, KafkaJSNonRetriableError } from './errors.js';
import { describe } from './messages.js';
import type { ProducerBatch, ProducerRecord, RecordMetadata } from './producer-types.js';

/** The member id and generation of each group's consumer, as the `Kafka` instance knows them. */
export class GroupMemberships {
  private readonly members = new Map<string, () => { memberId: string; generation: number } | undefined>();

  /** Registers the consumer of `groupId`; the last one registered answers for the group. */
  register(groupId: string, membership: () => { memberId: string; generation: number } | undefined): void {
    this.members.set(groupId, membership);
  }

  /** The group's consumer's current membership, or undefined (no consumer, or not joined). */
  of(groupId: string): { memberId: string; generation: number } | undefined {
    return this.members.get(groupId)?.();
  }
}

/** KafkaJS's `sendOffsets` argument. */
export interface TxnOffsetCommitRequest {
  consumerGroupId: string;
  topics: { topic: string; partitions: { partition: number; offset: string }[] }[];
}

/** What the transaction needs of its producer: records laid out as the producer sends them. */
export interface TransactionSender {
  /** The records of one send, routed (a custom partitioner applied). */
  records(batch: ProducerBatch, caller: string): Promise<{ topic: string; records: ShoalRecord[] }[]>;
  /** Appends one topic's records in one request (atomic), as a send outside a transaction. */
  sendRecords(topic: string, records: ShoalRecord[]): Promise<void>;
}

/** One transaction; see the module comment. */
export class Transaction {
  private readonly sends: { topic: string; records: ShoalRecord[] }[] = [];
  private offsets: TxnOffsetCommitRequest | undefined;
  private active = true;

  constructor(
    private readonly shoal: Shoal,
    private readonly sender: TransactionSender,
    private readonly memberships: GroupMemberships,
  ) {}

  /** Buffers the messages; they are written by `commit`. Resolves with no metadata. */
  async send(record: ProducerRecord): Promise<RecordMetadata[]> {
    if (typeof record !== 'object' || record === null) {
      throw new TypeError(`send takes { topic, messages }, got ${describe(record)}`);
    }
    return this.sendBatch({ topicMessages: [{ topic: record.topic, messages: record.messages }] });
  }

  async sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    this.requireActive('sendBatch');
    this.sends.push(...(await this.sender.records(batch, 'transaction.sendBatch')));
    return [];
  }

  /** Buffers the consumer group's offsets (next offsets to read), committed with the records. */
  async sendOffsets(request: TxnOffsetCommitRequest): Promise<void> {
    this.requireActive('sendOffsets');
    if (typeof request?.consumerGroupId !== 'string' || !Array.isArray(request.topics)) {
      throw new TypeError(`sendOffsets takes { consumerGroupId, topics }, got ${describe(request)}`);
    }
    if (this.offsets && this.offsets.consumerGroupId !== request.consumerGroupId) {
      throw new KafkaJSNonRetriableError(
        `sendOffsets: one transaction commits the offsets of one group (${this.offsets.consumerGroupId}), not also ${request.consumerGroupId}`,
      );
    }
    this.offsets = {
      consumerGroupId: request.consumerGroupId,
      topics: [...(this.offsets?.topics ?? []), ...request.topics],
    };
  }

  /** Writes every buffered record and offset in one request, all or nothing. */
  async commit(): Promise<void> {
    this.requireActive('commit');
    this.active = false;
    const topics = mergeByTopic(this.sends);
    const offsets = this.offsets;
    if (!offsets) {
      if (topics.length > 1) {
        throw new KafkaJSNonRetriableError(
          'commit: a transaction to several topics needs sendOffsets (its group makes it one request); send to one topic, or add the consumed offsets',
        );
      }
      const only = topics[0];
      if (only) await this.sender.sendRecords(only.topic, only.records);
      return;
    }
    const member = this.memberships.of(offsets.consumerGroupId);
    const wireOffsets = offsets.topics.flatMap(({ topic, partitions }) =>
      partitions.map(({ partition, offset }) => ({ topic, partition, offset: Number(offset) })),
    );
    await asKafkaJS(async () => {
      if (topics.length === 0) {
        await this.shoal.api.commitOffsets(offsets.consumerGroupId, {
          ...(member ?? {}),
          offsets: wireOffsets,
        });
        return;
      }
      await this.shoal.api.produceTransaction(
        offsets.consumerGroupId,
        {
          ...(member ?? {}),
          topics: topics.map(({ topic, records }) => ({
            topic,
            records: records.map((record, index) => toWireRecord(record, `${topic}[${index}]`)),
          })),
          offsets: wireOffsets,
        },
        randomUUID(),
      );
    });
  }

  /** Drops everything buffered: nothing was written. */
  async abort(): Promise<void> {
    this.requireActive('abort');
    this.active = false;
    this.sends.length = 0;
    this.offsets = undefined;
  }

  isActive(): boolean {
    return this.active;
  }

  private requireActive(operation: string): void {
    if (!this.active) {
      throw new KafkaJSNonRetriableError(`${operation}: the transaction was already committed or aborted`);
    }
  }
}

/** The sends grouped by topic, in the order topics were first sent to. */
function mergeByTopic(
  sends: readonly { topic: string; records: ShoalRecord[] }[],
): { topic: string; records: ShoalRecord[] }[] {
  const byTopic = new Map<string, ShoalRecord[]>();
  for (const { topic, records } of sends) byTopic.set(topic, [...(byTopic.get(topic) ?? []), ...records]);
  return [...byTopic.entries()].map(([topic, records]) => ({ topic, records }));
}
