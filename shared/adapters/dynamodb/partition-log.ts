import assert from 'node:assert/strict';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  BatchWriteCommand,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { RetryableError } from '../../domain/errors.js';
import { decodeBatch } from '../../domain/record-codec.js';
import type { Topic } from '../../domain/topic.js';
import type {
  AppendOutcome,
  AppendRequest,
  BatchToWrite,
  IdempotencyRecord,
  PartitionHead,
  PartitionLog,
  StoredBatch,
  StoredEncodedBatch,
} from '../../ports/partition-log.js';
import {
  anyConditionFailed,
  conditionFailedAt,
  isAmbiguousFailure,
  isTransactionConflict,
} from '../sdk-errors.js';
import { batchKey, headKey, idempotencyKey, logPartitionKey } from './keys.js';
import { type QueryInput, queryPages } from './query.js';

/** Keys asked of one BatchGetItem (DynamoDB's limit). */
const BATCH_GET_KEYS_MAX = 100;
/** Items deleted by one BatchWriteItem (DynamoDB's limit). */
const BATCH_WRITE_ITEMS_MAX = 25;
/** Rounds spent on UnprocessedKeys / UnprocessedItems before giving up. */
const UNPROCESSED_ROUNDS_MAX = 8;
/**
 * Batches asked of the first Query page when reading records; later pages of the same read ask for
 * twice as many as the one before, up to {@link QUERY_BATCHES_PER_PAGE_MAX}, so a read of many
 * small batches takes a few round trips and a read of a few large ones reads (and pays for) little
 * more than it returns.
 */
const QUERY_BATCHES_PER_PAGE = 16;
const QUERY_BATCHES_PER_PAGE_MAX = 256;
/** Batches asked of one Query page by the archiver (DynamoDB stops a page at 1 MB anyway). */
const ARCHIVE_QUERY_BATCHES_PER_PAGE = 1000;

interface HeadItem {
  readonly hw?: number;
  readonly lso?: number;
  readonly ao?: number;
  readonly mt?: number;
  readonly ab?: number;
  readonly tc?: number;
}

interface BatchItem {
  readonly sk: number;
  readonly bo: number;
  readonly mt: number;
  readonly d: Uint8Array;
  readonly a: string;
  readonly x?: number;
}

export interface DynamoDbPartitionLogOptions {
  readonly logTableName: string;
  readonly metaTableName: string;
  /** Epoch ms now; injectable for tests of expiry. */
  readonly now?: () => number;
}

/**
 * The hot tier in DynamoDB. An append is one TransactWriteItems:
 *
 * ```
 *  meta  H#<topicId>#<p>   UPDATE hw := hw + n     IF hw = expected   (or absent when expected = 0)
 *  log   <topicId>#<p>,sk  PUT batch (sk = last)   IF attribute_not_exists(pk)
 *  meta  I#<topicId>#<key> PUT answer              IF attribute_not_exists(pk) OR xm < now
 *
 *  producer A: read hw=10 ─── transact(expect 10 → 13) ✓
 *  producer B: read hw=10 ─────── transact(expect 10 → 12) ✗ head moved → re-read hw=13 → (13 → 15) ✓
 * ```
 *
 * All items of a request commit together or not at all, so offsets stay dense and a request atomic.
 */
export class DynamoDbPartitionLog implements PartitionLog {
  private readonly now: () => number;

  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly options: DynamoDbPartitionLogOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  async readHeads(topic: Topic, partitions: readonly number[]): Promise<PartitionHead[]> {
    const found = new Map<number, HeadItem>();
    for (let start = 0; start < partitions.length; start += BATCH_GET_KEYS_MAX) {
      let keys: Record<string, unknown>[] | undefined = partitions
        .slice(start, start + BATCH_GET_KEYS_MAX)
        .map((partition) => headKey(topic.topicId, partition));
      for (let round = 0; keys && keys.length > 0; round++) {
        if (round >= UNPROCESSED_ROUNDS_MAX) {
          throw new RetryableError('DynamoDB left partition heads unread; try again', 'throttled', 1);
        }
        const result: BatchGetCommandOutput = await this.documents.send(
          new BatchGetCommand({
            RequestItems: { [this.options.metaTableName]: { Keys: keys, ConsistentRead: true } },
          }),
        );
        for (const item of result.Responses?.[this.options.metaTableName] ?? []) {
          const partition = Number(String(item.pk).slice(String(item.pk).lastIndexOf('#') + 1));
          found.set(partition, item as HeadItem);
        }
        keys = result.UnprocessedKeys?.[this.options.metaTableName]?.Keys;
      }
    }
    return partitions.map((partition) => {
      const item = found.get(partition);
      return {
        partition,
        highWatermark: item?.hw ?? 0,
        logStartOffset: item?.lso ?? 0,
        archivedOffset: item?.ao ?? 0,
        maxTimestamp: item?.mt ?? 0,
        archivedBytes: item?.ab ?? 0,
        retentionClassFloorDays: item?.tc ?? 0,
      };
    });
  }

  async append(request: AppendRequest): Promise<AppendOutcome> {
    const { topic } = request;
    const { logTableName, metaTableName } = this.options;
    const headUpdates = request.expectedHeads.map((head) => {
      const batches = request.batches.filter((batch) => batch.partition === head.partition);
      const last = batches[batches.length - 1];
      assert.ok(last, 'every expected head has at least one batch');
      const recordCount = batches.reduce((sum, batch) => sum + batch.recordCount, 0);
      return {
        Update: {
          TableName: metaTableName,
          Key: headKey(topic.topicId, head.partition),
          UpdateExpression: 'SET hw = :next, mt = :mt',
          ConditionExpression:
            head.highWatermark === 0 ? 'attribute_not_exists(hw) OR hw = :expected' : 'hw = :expected',
          ExpressionAttributeValues: {
            ':next': head.highWatermark + recordCount,
            ':mt': last.maxTimestampSoFar,
            ':expected': head.highWatermark,
          },
        },
      };
    });
    const batchPuts = request.batches.map((batch) => ({
      Put: {
        TableName: logTableName,
        Item: {
          ...batchKey(topic.topicId, batch.partition, batch.baseOffset + batch.recordCount - 1),
          bo: batch.baseOffset,
          mt: batch.maxTimestampSoFar,
          d: batch.data,
          a: request.appendId,
          x: Math.ceil(batch.expiresAt / 1000),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    }));
    const idempotency = request.idempotency
      ? [
          {
            Put: {
              TableName: metaTableName,
              Item: {
                ...idempotencyKey(topic.topicId, request.idempotency.key),
                h: request.idempotency.requestHash,
                r: request.idempotency.response,
                xm: request.idempotency.expiresAt,
                x: Math.ceil(request.idempotency.expiresAt / 1000),
              },
              ConditionExpression: 'attribute_not_exists(pk) OR xm < :now',
              ExpressionAttributeValues: { ':now': this.now() },
            },
          },
        ]
      : [];
    try {
      await this.documents.send(
        new TransactWriteCommand({
          TransactItems: [...headUpdates, ...batchPuts, ...idempotency],
          ClientRequestToken: request.appendId,
        }),
      );
      return { kind: 'appended' };
    } catch (error) {
      return classifyAppendFailure(error, headUpdates.length + batchPuts.length, idempotency.length > 0);
    }
  }

  async appendLanded(topic: Topic, appendId: string, firstBatch: BatchToWrite): Promise<boolean> {
    const { Item } = await this.documents.send(
      new GetCommand({
        TableName: this.options.logTableName,
        Key: batchKey(
          topic.topicId,
          firstBatch.partition,
          firstBatch.baseOffset + firstBatch.recordCount - 1,
        ),
        ConsistentRead: true,
        ProjectionExpression: 'a',
      }),
    );
    return Item?.a === appendId;
  }

  async readIdempotency(topic: Topic, key: string, now: number): Promise<IdempotencyRecord | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({
        TableName: this.options.metaTableName,
        Key: idempotencyKey(topic.topicId, key),
        ConsistentRead: true,
      }),
    );
    // TTL deletes lazily (up to days late): an expired item still reads, so filter it here.
    if (!Item || (Item.xm as number) < now) return undefined;
    return {
      key,
      requestHash: Item.h as string,
      response: Item.r as Uint8Array,
      expiresAt: Item.xm as number,
    };
  }

  async readBatches(
    topic: Topic,
    partition: number,
    fromOffset: number,
    limits: { recordsMax: number; bytesMax: number },
  ): Promise<StoredBatch[]> {
    const batches: StoredBatch[] = [];
    let records = 0;
    let bytes = 0;
    // Pages grow from a few batches (most fetches need one or two) to a bound.
    const pages = queryPages<BatchItem>(
      this.documents,
      this.batchesFrom(topic, partition, fromOffset),
      (page) => Math.min(QUERY_BATCHES_PER_PAGE * 2 ** page, QUERY_BATCHES_PER_PAGE_MAX),
    );
    for await (const items of pages) {
      for (const item of items) {
        const batch = this.toStoredBatch(item);
        batches.push(batch);
        records += batch.lastOffset + 1 - Math.max(batch.baseOffset, fromOffset);
        bytes += batch.storedBytes;
        if (records >= limits.recordsMax || bytes >= limits.bytesMax) return batches;
      }
    }
    return batches;
  }

  async readEncodedBatches(
    topic: Topic,
    partition: number,
    fromOffset: number,
    limits: { batchesMax: number; bytesMax: number },
  ): Promise<StoredEncodedBatch[]> {
    const batches: StoredEncodedBatch[] = [];
    let bytes = 0;
    const pages = queryPages<BatchItem>(this.documents, this.batchesFrom(topic, partition, fromOffset), () =>
      Math.min(ARCHIVE_QUERY_BATCHES_PER_PAGE, limits.batchesMax - batches.length),
    );
    for await (const items of pages) {
      for (const item of items) {
        batches.push({
          baseOffset: item.bo,
          lastOffset: item.sk,
          maxTimestampSoFar: item.mt,
          data: item.d,
          expiresAt: item.x === undefined ? undefined : item.x * 1000,
        });
        bytes += item.d.byteLength;
        if (batches.length >= limits.batchesMax || bytes >= limits.bytesMax) return batches;
      }
    }
    return batches;
  }
  /** The Query of a partition's batches whose last offset is at or after `fromOffset`. */
  private batchesFrom(topic: Topic, partition: number, fromOffset: number): QueryInput {
    return {
      TableName: this.options.logTableName,
      KeyConditionExpression: 'pk = :pk AND sk >= :offset',
      ExpressionAttributeValues: { ':pk': logPartitionKey(topic.topicId, partition), ':offset': fromOffset },
      ConsistentRead: true,
    };
  }

  async readBatchAt(topic: Topic, partition: number, offset: number): Promise<StoredBatch | undefined> {
    const page = await this.documents.send(
      new QueryCommand({
        TableName: this.options.logTableName,
        KeyConditionExpression: 'pk = :pk AND sk >= :offset',
        ExpressionAttributeValues: { ':pk': logPartitionKey(topic.topicId, partition), ':offset': offset },
        ConsistentRead: true,
        Limit: 1,
      }),
    );
    const item = page.Items?.[0];
    return item ? this.toStoredBatch(item as BatchItem) : undefined;
  }

  async deletePartitionHeads(topic: Topic): Promise<void> {
    const keys = Array.from({ length: topic.partitionCount }, (_, partition) =>
      headKey(topic.topicId, partition),
    );
    for (let start = 0; start < keys.length; start += BATCH_WRITE_ITEMS_MAX) {
      let requests: Record<string, unknown>[] | undefined = keys
        .slice(start, start + BATCH_WRITE_ITEMS_MAX)
        .map((key) => ({ DeleteRequest: { Key: key } }));
      for (let round = 0; requests && requests.length > 0 && round < UNPROCESSED_ROUNDS_MAX; round++) {
        const result: BatchWriteCommandOutput = await this.documents.send(
          new BatchWriteCommand({ RequestItems: { [this.options.metaTableName]: requests } }),
        );
        requests = result.UnprocessedItems?.[this.options.metaTableName];
      }
    }
  }

  /**
   * Decodes a batch item, whether or not its TTL has passed: until DynamoDB deletes it, an expired
   * batch at or above archivedOffset is the one copy of its records (see the port), and the domain
   * never reads the hot tier below archivedOffset.
   */
  private toStoredBatch(item: BatchItem): StoredBatch {
    return {
      baseOffset: item.bo,
      lastOffset: item.sk,
      maxTimestampSoFar: item.mt,
      records: decodeBatch(item.d, item.bo),
      storedBytes: item.d.byteLength,
    };
  }
}

/**
 * Turns a failed append transaction into an expected outcome, or rethrows. Items are ordered
 * heads, batches, then the idempotency record (last).
 */
export function classifyAppendFailure(
  error: unknown,
  itemsBeforeIdempotency: number,
  hasIdempotency: boolean,
): AppendOutcome {
  if (hasIdempotency && conditionFailedAt(error, itemsBeforeIdempotency)) {
    return { kind: 'idempotency-key-exists' };
  }
  if (anyConditionFailed(error) || isTransactionConflict(error)) return { kind: 'head-moved' };
  if (isAmbiguousFailure(error)) return { kind: 'unknown', cause: error };
  throw error;
}
