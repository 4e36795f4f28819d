/**
 * Small builders for the contract suites: topics of a fresh incarnation (so suites that share one
 * DynamoDB table never see each other's items) and batches of encoded records.
 */
import { randomUUID } from 'node:crypto';
import type { RecordInput } from '../../shared/domain/record.js';
import { encodeBatch } from '../../shared/domain/record-codec.js';
import { type Topic, withConfigDefaults } from '../../shared/domain/topic.js';
import type { BatchToWrite, PartitionHead } from '../../shared/ports/partition-log.js';

/** A topic no other test uses: a unique name and incarnation id. */
export function freshTopic(partitionCount = 2, createdAt = 1_000): Topic {
  const id = randomUUID();
  return {
    name: `contract-${id}`,
    topicId: id,
    partitionCount,
    config: withConfigDefaults({ retentionMs: 7 * 86_400_000 }),
    createdAt,
  };
}

/** A unique name for a group or subscription. */
export const freshName = (prefix: string) => `${prefix}-${randomUUID().slice(0, 13)}`;

/** `count` STRING records `v<i>` stamped `timestamp + i`. */
export function records(count: number, timestamp = 5_000): RecordInput[] {
  return Array.from({ length: count }, (_, i) => ({
    key: null,
    value: { type: 'STRING', bytes: new TextEncoder().encode(`v${i}`) },
    headers: [],
    timestamp: timestamp + i,
  }));
}

/** A batch of `count` records of `partition` at `baseOffset`. */
export function batch(
  partition: number,
  baseOffset: number,
  count: number,
  options: { maxTimestampSoFar?: number; expiresAt?: number; timestamp?: number } = {},
): BatchToWrite {
  const timestamp = options.timestamp ?? 5_000;
  return {
    partition,
    baseOffset,
    recordCount: count,
    data: encodeBatch(records(count, timestamp)),
    maxTimestampSoFar: options.maxTimestampSoFar ?? timestamp + count - 1,
    // In the future: DynamoDB Local's TTL would delete a batch that expired already.
    expiresAt: options.expiresAt ?? Date.now() + 86_400_000,
  };
}

/** The head of an empty partition, as readHeads answers it. */
export function emptyHead(partition: number): PartitionHead {
  return {
    partition,
    highWatermark: 0,
    logStartOffset: 0,
    archivedOffset: 0,
    maxTimestamp: 0,
    archivedBytes: 0,
    retentionClassFloorDays: 0,
  };
}

/** The value of a decoded STRING record, for compact assertions. */
export const text = (record: { value: { bytes: Uint8Array } | null }) =>
  record.value ? new TextDecoder().decode(record.value.bytes) : null;
