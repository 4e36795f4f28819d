import { randomUUID } from 'node:crypto';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { RetryableError } from '../../domain/errors.js';
import { paddedOffset } from '../../domain/segment-keys.js';
import type { Topic } from '../../domain/topic.js';
import type { RecordSegmentOutcome, SegmentEntry, SegmentManifest } from '../../ports/segment-archive.js';
import { anyConditionFailed, isConditionalCheckFailed, isTransactionConflict } from '../sdk-errors.js';
import { deleteItems } from './batch-delete.js';
import { headKey, segmentEntryKey, segmentEntryPartitionKey } from './keys.js';
import { queryItems } from './query.js';

/** Segment entries asked of one Query page. */
const QUERY_ENTRIES_PER_PAGE = 100;

/** A manifest item (see `keys.ts`). */
interface SegmentItem {
  readonly sk: string;
  readonly bo: number;
  readonly k: string;
  readonly ob: number;
  readonly ip: number;
  readonly bb: number;
  readonly mt: number;
  readonly at: number;
  readonly rc: number;
}

export interface DynamoDbSegmentManifestOptions {
  readonly metaTableName: string;
}

/**
 * The manifest in the meta table: one item per segment under `S#<topicId>#<partition>`, sorted by
 * the segment's zero-padded last offset, so that `sk >= pad(N)` with `Limit 1` finds the segment
 * holding offset N (as the log table finds a batch). Recording a segment is one transaction with
 * the partition head:
 *
 * ```
 *  meta  H#<topicId>#<p>      UPDATE ao := last + 1   IF ao = base (absent when base = 0) AND hw > last
 *  meta  S#<topicId>#<p>,last PUT segment             IF attribute_not_exists(pk)
 *
 *  archiver A: read ao=100 ── upload 100..199 ── transact(ao 100 → 200) ✓
 *  archiver B: read ao=100 ── upload 100..180 ──────── transact(ao 100 → 181) ✗ moved: its object is an orphan
 *  archiver B: read ao=200 ── upload 200..260 ── transact(ao 200 → 261) ✓
 * ```
 *
 * so two archivers never record overlapping segments and never skip an offset: a segment is
 * recorded only where the previous one ended. The append transaction changes `hw` and `mt` of the
 * same head item and never `ao` or `lso`; the two only collide as a transaction conflict, which
 * the loser retries.
 */
export class DynamoDbSegmentManifest implements SegmentManifest {
  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly options: DynamoDbSegmentManifestOptions,
  ) {}

  async segmentsFrom(
    topic: Topic,
    partition: number,
    offset: number,
    limit: number,
  ): Promise<SegmentEntry[]> {
    const items = await queryItems<SegmentItem>(
      this.documents,
      {
        TableName: this.options.metaTableName,
        KeyConditionExpression: 'pk = :pk AND sk >= :offset',
        ExpressionAttributeValues: {
          ':pk': segmentEntryPartitionKey(topic.topicId, partition),
          ':offset': paddedOffset(offset),
        },
        ConsistentRead: true,
      },
      limit,
      QUERY_ENTRIES_PER_PAGE,
    );
    return items.map(fromItem);
  }

  async recordSegment(
    topic: Topic,
    partition: number,
    entry: SegmentEntry,
    retentionClassFloorDays: number,
  ): Promise<RecordSegmentOutcome> {
    const { metaTableName } = this.options;
    try {
      await this.documents.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: metaTableName,
                Key: headKey(topic.topicId, partition),
                UpdateExpression: 'SET ao = :next, ab = if_not_exists(ab, :zero) + :bytes, tc = :floor',
                ConditionExpression: `attribute_exists(hw) AND hw > :last AND ${
                  entry.baseOffset === 0 ? '(attribute_not_exists(ao) OR ao = :base)' : 'ao = :base'
                }`,
                ExpressionAttributeValues: {
                  ':next': entry.lastOffset + 1,
                  ':last': entry.lastOffset,
                  ':base': entry.baseOffset,
                  ':zero': 0,
                  ':bytes': entry.batchBytes,
                  ':floor': retentionClassFloorDays,
                },
              },
            },
            {
              Put: {
                TableName: metaTableName,
                Item: {
                  ...segmentEntryKey(topic.topicId, partition, paddedOffset(entry.lastOffset)),
                  ...toItem(entry),
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
          // The SDK's retries of this call reuse the token: a retry after a write that applied
          // succeeds instead of failing its own condition.
          ClientRequestToken: randomUUID(),
        }),
      );
      return 'recorded';
    } catch (error) {
      if (anyConditionFailed(error)) return 'archived-offset-moved';
      if (isTransactionConflict(error)) return 'conflict';
      throw error;
    }
  }

  async advanceLogStartOffset(
    topic: Topic,
    partition: number,
    expected: number,
    next: number,
    releasedBytes: number,
  ): Promise<boolean> {
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.options.metaTableName,
          Key: headKey(topic.topicId, partition),
          UpdateExpression: 'SET lso = :next, ab = if_not_exists(ab, :zero) - :released',
          ConditionExpression: `attribute_exists(hw) AND ao >= :next AND ${
            expected === 0 ? '(attribute_not_exists(lso) OR lso = :expected)' : 'lso = :expected'
          }`,
          ExpressionAttributeValues: {
            ':next': next,
            ':expected': expected,
            ':zero': 0,
            ':released': releasedBytes,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async setRetentionClass(topic: Topic, partition: number, entry: SegmentEntry, days: number): Promise<void> {
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.options.metaTableName,
          Key: segmentEntryKey(topic.topicId, partition, paddedOffset(entry.lastOffset)),
          UpdateExpression: 'SET rc = :rc',
          ConditionExpression: 'k = :key',
          ExpressionAttributeValues: { ':key': entry.key, ':rc': days },
        }),
      );
    } catch (error) {
      // Retention removed the entry meanwhile: nothing left to classify.
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async setRetentionClassFloor(
    topic: Topic,
    partition: number,
    archivedOffset: number,
    days: number,
  ): Promise<boolean> {
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.options.metaTableName,
          Key: headKey(topic.topicId, partition),
          UpdateExpression: 'SET tc = :floor',
          ConditionExpression: 'attribute_exists(hw) AND ao = :ao',
          ExpressionAttributeValues: { ':floor': days, ':ao': archivedOffset },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async removeSegments(topic: Topic, partition: number, entries: readonly SegmentEntry[]): Promise<void> {
    const keys = entries.map((entry) =>
      segmentEntryKey(topic.topicId, partition, paddedOffset(entry.lastOffset)),
    );
    if ((await deleteItems(this.documents, this.options.metaTableName, keys)) > 0) {
      throw new RetryableError(
        'DynamoDB left segment entries undeleted; the next run retries',
        'throttled',
        1,
      );
    }
  }

  async archivedOffsetOf(topicId: string, partition: number): Promise<number | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({
        TableName: this.options.metaTableName,
        Key: headKey(topicId, partition),
        ConsistentRead: true,
        ProjectionExpression: 'hw, ao',
      }),
    );
    if (!Item || Item.hw === undefined) return undefined;
    return (Item.ao as number | undefined) ?? 0;
  }
}

function toItem(entry: SegmentEntry): Omit<SegmentItem, 'sk'> {
  return {
    bo: entry.baseOffset,
    k: entry.key,
    ob: entry.objectBytes,
    ip: entry.indexPosition,
    bb: entry.batchBytes,
    mt: entry.maxTimestampSoFar,
    at: entry.archivedAt,
    rc: entry.retentionClassDays,
  };
}

function fromItem(item: SegmentItem): SegmentEntry {
  return {
    baseOffset: item.bo,
    lastOffset: Number(item.sk),
    key: item.k,
    objectBytes: item.ob,
    indexPosition: item.ip,
    batchBytes: item.bb,
    maxTimestampSoFar: item.mt,
    archivedAt: item.at,
    retentionClassDays: item.rc,
  };
}
