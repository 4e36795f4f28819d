import assert from 'node:assert/strict';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { RetryableError } from '../../domain/errors.js';
import { LIMITS } from '../../domain/limits.js';
import { BATCH_HEADER_BYTES_MAX, decodeBatch, decodeBatchAt } from '../../domain/record-codec.js';
import { payloadKey, payloadRetentionClassDays } from '../../domain/segment-keys.js';
import type { Topic } from '../../domain/topic.js';
import type {
  AppendOutcome,
  AppendRequest,
  AppendWithCommitOutcome,
  AppendWithCommitRequest,
  BatchToWrite,
  HeadConsistency,
  IdempotencyRecord,
  PartitionHead,
  PartitionLog,
  PayloadObjects,
  StoredBatch,
  StoredEncodedBatch,
  TransactionalLog,
} from '../../ports/partition-log.js';
import {
  anyConditionFailed,
  conditionFailedAt,
  isAmbiguousFailure,
  isTransactionConflict,
  s3WriteFailureAsRetryable,
} from '../sdk-errors.js';
import { putItems } from './batch-delete.js';
import { commitRefusal, commitTransactItems } from './group-store.js';
import { batchKey, commitIdempotencyKey, headKey, idempotencyKey, logPartitionKey } from './keys.js';
import { type QueryInput, queryPages } from './query.js';

/** Keys asked of one BatchGetItem (DynamoDB's limit). */
const BATCH_GET_KEYS_MAX = 100;
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
/**
 * An append whose batches encode to more bytes than this writes them to one payload object in S3
 * and only small batch items (a byte range each) to DynamoDB. The break-even at list prices: a
 * transaction bills 2 write units per KB, $1.25 per million KB on demand, against one S3 PUT ($5
 * per million) plus a GET when it is read ($0.40 per million), so items pay up to about 4 KB more
 * than the object; above it every KB costs the item and nothing more in S3.
 */
export const PAYLOAD_INLINE_BYTES_MAX = 4096;
/** The most a batch item's bytes take: a record stored apart is larger, and needs a payload object. */
const BATCH_ITEM_DATA_BYTES_MAX = 1 + BATCH_HEADER_BYTES_MAX + LIMITS.batchItemBytesMax;
/** Payload objects read at once by one read of batches. */
const PAYLOAD_READS_CONCURRENT_MAX = 8;

interface HeadItem {
  readonly hw?: number;
  readonly lso?: number;
  readonly ao?: number;
  readonly mt?: number;
  readonly ab?: number;
  readonly tc?: number;
  /** Deleted at (epoch ms): the head is a tombstone (`closePartitions`). */
  readonly dl?: number;
}

/**
 * A batch item: its bytes inline (`d`), or, for an append written through a payload object, the
 * byte range `ps`..`ps + pn` of `payloadKey(topicId, pc, a)` (`segment-keys.ts`).
 */
interface BatchItem {
  readonly sk: number;
  readonly bo: number;
  readonly mt: number;
  readonly d?: Uint8Array;
  readonly a: string;
  readonly x?: number;
  readonly ps?: number;
  readonly pn?: number;
  readonly pc?: number;
}

export interface DynamoDbPartitionLogOptions {
  readonly logTableName: string;
  readonly metaTableName: string;
  /** Epoch ms now; injectable for tests of expiry. */
  readonly now?: () => number;
  /**
   * Where the batch bytes of large appends go. Without it every append keeps its bytes in the
   * batch items, and reading a batch stored in a payload object fails.
   */
  readonly payloads?: PayloadObjects;
  /** @default PAYLOAD_INLINE_BYTES_MAX */
  readonly payloadInlineBytesMax?: number;
}

/**
 * The hot tier in DynamoDB. An append is one TransactWriteItems:
 *
 * ```
 *  meta  H#<topicId>#<p>   UPDATE hw := hw + n     IF hw = expected   (or absent, and no tombstone, when expected = 0)
 *  log   <topicId>#<p>,sk  PUT batch (sk = last)   IF attribute_not_exists(pk)
 *  meta  I#<topicId>#<key> PUT answer              IF attribute_not_exists(pk) OR xm < now
 *
 *  producer A: read hw=10 ─── transact(expect 10 → 13) ✓
 *  producer B: read hw=10 ─────── transact(expect 10 → 12) ✗ head moved → re-read hw=13 → (13 → 15) ✓
 * ```
 *
 * All items of a request commit together or not at all, so offsets stay dense and a request atomic.
 *
 * An append whose batches encode to more than `payloadInlineBytesMax` bytes first writes them, one
 * after the other, to one payload object named by the append id; its batch items then hold a byte
 * range instead of the bytes. The object is invisible until the transaction commits (nothing points
 * to it before), and an attempt that never commits leaves an object that nothing ever points to,
 * which the bucket's lifecycle rule for its retention class deletes.
 */
export class DynamoDbPartitionLog implements PartitionLog, TransactionalLog {
  private readonly now: () => number;

  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly options: DynamoDbPartitionLogOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  async readHeads(
    topic: Topic,
    partitions: readonly number[],
    consistency: HeadConsistency = 'strong',
  ): Promise<PartitionHead[]> {
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
            RequestItems: {
              [this.options.metaTableName]: { Keys: keys, ConsistentRead: consistency === 'strong' },
            },
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
        ...(item?.dl === undefined ? {} : { deleted: true as const }),
      };
    });
  }

  async append(request: AppendRequest): Promise<AppendOutcome> {
    const { topic } = request;
    const headUpdates = this.headUpdates(topic, request.expectedHeads, request.batches);
    // A retry of a large append whose Idempotency-Key is stored already writes an object too, which
    // nothing will point to: reading the key first would cost every large append a round trip and a
    // read, to spare the rare retry a PUT.
    const batchPuts = await this.batchPuts(topic, request.appendId, request.batches);
    const idempotency = request.idempotency
      ? [this.idempotencyPut(idempotencyKey(topic.topicId, request.idempotency.key), request.idempotency)]
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

  /**
   * The conditional head updates of an append to one topic: each head moves from the high
   * watermark read to past the partition's last batch.
   */
  private headUpdates(
    topic: Topic,
    expectedHeads: readonly PartitionHead[],
    batches: readonly BatchToWrite[],
  ) {
    return expectedHeads.map((head) => {
      const ofPartition = batches.filter((batch) => batch.partition === head.partition);
      const last = ofPartition[ofPartition.length - 1];
      assert.ok(last, 'every expected head has at least one batch');
      const recordCount = ofPartition.reduce((sum, batch) => sum + batch.recordCount, 0);
      return {
        Update: {
          TableName: this.options.metaTableName,
          Key: headKey(topic.topicId, head.partition),
          UpdateExpression: 'SET hw = :next, mt = :mt',
          // A tombstone (`dl`, no `hw`) fails both: a deleted topic takes no append.
          ConditionExpression:
            head.highWatermark === 0
              ? 'attribute_not_exists(dl) AND (attribute_not_exists(hw) OR hw = :expected)'
              : 'hw = :expected',
          ExpressionAttributeValues: {
            ':next': head.highWatermark + recordCount,
            ':mt': last.maxTimestampSoFar,
            ':expected': head.highWatermark,
          },
        },
      };
    });
  }

  /**
   * The batch items of an append to one topic, after writing their bytes to a payload object when
   * they are too large to keep in items.
   */
  private async batchPuts(topic: Topic, appendId: string, batches: readonly BatchToWrite[]) {
    const batchBytes = batches.reduce((sum, batch) => sum + batch.data.byteLength, 0);
    const payload = this.payloadNeeded(batchBytes)
      ? await this.writePayload(topic, appendId, batches, batchBytes)
      : undefined;
    if (!payload && batches.some((batch) => batch.data.byteLength > BATCH_ITEM_DATA_BYTES_MAX)) {
      throw new Error('A record stored apart needs a payload store, and this log was built without one');
    }
    return batches.map((batch, index) => ({
      Put: {
        TableName: this.options.logTableName,
        Item: {
          ...batchKey(topic.topicId, batch.partition, batch.baseOffset + batch.recordCount - 1),
          bo: batch.baseOffset,
          mt: batch.maxTimestampSoFar,
          ...(payload
            ? { ps: payload.starts[index], pn: batch.data.byteLength, pc: payload.classDays }
            : { d: batch.data }),
          a: appendId,
          x: Math.ceil(batch.expiresAt / 1000),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    }));
  }

  /** The idempotency record's item: written unless a live one holds the key. */
  private idempotencyPut(key: { pk: string; sk: string }, record: IdempotencyRecord) {
    return {
      Put: {
        TableName: this.options.metaTableName,
        Item: {
          ...key,
          h: record.requestHash,
          r: record.response,
          xm: record.expiresAt,
          x: Math.ceil(record.expiresAt / 1000),
        },
        ConditionExpression: 'attribute_not_exists(pk) OR xm < :now',
        ExpressionAttributeValues: { ':now': this.now() },
      },
    };
  }

  /**
   * Appends to one or more topics and commits a consumer group's offsets in one TransactWriteItems
   * (guarantee 10):
   *
   * ```
   *  meta  G#g, G            CONDITION gid = :gid AND gen = :gen        the commit's fence (group-store.ts)
   *  meta  G#g, M#m          UPDATE dl, hb  IF dl >= now                the member is alive
   *  meta  G#g, O#t#p        UPDATE c := n  IF c <= n (or another incarnation's)
   *  meta  H#<topicId>#<p>   UPDATE hw := hw + n  IF hw = expected      per partition appended to
   *  log   <topicId>#<p>,sk  PUT batch  IF attribute_not_exists(pk)
   *  meta  I#G#<gid>#<key>   PUT answer IF attribute_not_exists(pk) OR xm < now
   *
   *  member A (gen 5): consume a[0..10) ── transact(gen 5, a-p0 := 10, b-p3 hw 40 → 50) ✓
   *  zombie Z (gen 4): consume a[0..10) ─────── transact(gen 4, ...) ✗ fenced: nothing appended, nothing committed
   * ```
   *
   * Either every record is appended and every offset committed, or nothing is written.
   */
  async appendWithCommit(request: AppendWithCommitRequest): Promise<AppendWithCommitOutcome> {
    const commitItems = commitTransactItems(this.options.metaTableName, request.commit);
    const headUpdates = request.appends.flatMap((append) =>
      this.headUpdates(append.topic, append.expectedHeads, append.batches),
    );
    const batchPuts: Awaited<ReturnType<DynamoDbPartitionLog['batchPuts']>> = [];
    for (const append of request.appends) {
      batchPuts.push(...(await this.batchPuts(append.topic, request.appendId, append.batches)));
    }
    const idempotency = request.idempotency
      ? [
          this.idempotencyPut(
            commitIdempotencyKey(request.commit.groupId, request.idempotency.key),
            request.idempotency,
          ),
        ]
      : [];
    const items = [...commitItems, ...headUpdates, ...batchPuts, ...idempotency];
    if (items.length > LIMITS.transactionItemsMax) {
      throw new Error(`An append with a commit of ${items.length} items does not fit one transaction`);
    }
    try {
      await this.documents.send(
        new TransactWriteCommand({ TransactItems: items, ClientRequestToken: request.appendId }),
      );
      return { kind: 'appended' };
    } catch (error) {
      const refused = commitRefusal(error, request.commit, 0);
      if (refused) return refused;
      const outcome = classifyAppendFailure(error, items.length - idempotency.length, idempotency.length > 0);
      return outcome;
    }
  }

  async readCommitIdempotency(
    groupId: string,
    key: string,
    now: number,
  ): Promise<IdempotencyRecord | undefined> {
    return this.readIdempotencyItem(commitIdempotencyKey(groupId, key), key, now);
  }

  /** Whether batches of `batchBytes` in all are too large to keep in items (and there is a payload store). */
  private payloadNeeded(batchBytes: number): boolean {
    return (
      this.options.payloads !== undefined &&
      batchBytes > (this.options.payloadInlineBytesMax ?? PAYLOAD_INLINE_BYTES_MAX)
    );
  }

  /**
   * Writes an append's batches of one topic, one after the other, to its payload object: the
   * object's retention class and the start of each batch in it, in the order of `batches`.
   */
  private async writePayload(
    topic: Topic,
    appendId: string,
    batches: readonly BatchToWrite[],
    batchBytes: number,
  ): Promise<{ classDays: number; starts: number[] }> {
    const { payloads } = this.options;
    assert.ok(payloads, 'payloadNeeded said there is a payload store');
    const object = new Uint8Array(batchBytes);
    const starts: number[] = [];
    let position = 0;
    for (const batch of batches) {
      starts.push(position);
      object.set(batch.data, position);
      position += batch.data.byteLength;
    }
    const classDays = payloadRetentionClassDays(topic.config.localRetentionMs);
    try {
      await payloads.putObject(payloadKey(topic.topicId, classDays, appendId), object, {});
    } catch (error) {
      throw s3WriteFailureAsRetryable(error) ?? error;
    }
    return { classDays, starts };
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
    return this.readIdempotencyItem(idempotencyKey(topic.topicId, key), key, now);
  }

  private async readIdempotencyItem(
    itemKey: { pk: string; sk: string },
    key: string,
    now: number,
  ): Promise<IdempotencyRecord | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.options.metaTableName, Key: itemKey, ConsistentRead: true }),
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
    let records = 0;
    let bytes = 0;
    // Pages grow from a few batches (most fetches need one or two) to a bound.
    const pages = queryPages<BatchItem>(
      this.documents,
      this.batchesFrom(topic, partition, fromOffset),
      (page) => Math.min(QUERY_BATCHES_PER_PAGE * 2 ** page, QUERY_BATCHES_PER_PAGE_MAX),
    );
    const items: BatchItem[] = [];
    collect: for await (const page of pages) {
      for (const item of page) {
        items.push(item);
        records += item.sk + 1 - Math.max(item.bo, fromOffset);
        bytes += storedBytesOf(item);
        if (records >= limits.recordsMax || bytes >= limits.bytesMax) break collect;
      }
    }
    const data = await this.batchBytes(topic, items);
    return items.map((item, index) => toStoredBatch(topic, item, data[index] as Uint8Array));
  }

  async readEncodedBatches(
    topic: Topic,
    partition: number,
    fromOffset: number,
    limits: { batchesMax: number; bytesMax: number },
  ): Promise<StoredEncodedBatch[]> {
    const items: BatchItem[] = [];
    let bytes = 0;
    const pages = queryPages<BatchItem>(this.documents, this.batchesFrom(topic, partition, fromOffset), () =>
      Math.min(ARCHIVE_QUERY_BATCHES_PER_PAGE, limits.batchesMax - items.length),
    );
    collect: for await (const page of pages) {
      for (const item of page) {
        items.push(item);
        bytes += storedBytesOf(item);
        if (items.length >= limits.batchesMax || bytes >= limits.bytesMax) break collect;
      }
    }
    const data = await this.batchBytes(topic, items);
    return items.map((item, index) => ({
      baseOffset: item.bo,
      lastOffset: item.sk,
      maxTimestampSoFar: item.mt,
      data: data[index] as Uint8Array,
      expiresAt: item.x === undefined ? undefined : item.x * 1000,
    }));
  }
  /**
   * The TTL (epoch ms) of the batch holding `offset`, or of the first after it: one item's key and
   * TTL read, never its bytes (which may be in a payload object). Undefined past the end, or for a
   * batch stored without a TTL.
   */
  async readExpiryAt(topic: Topic, partition: number, offset: number): Promise<number | undefined> {
    const page = await this.documents.send(
      new QueryCommand({
        ...this.batchesFrom(topic, partition, offset),
        Limit: 1,
        ProjectionExpression: 'x',
      }),
    );
    const expiresAtS = page.Items?.[0]?.x;
    return typeof expiresAtS === 'number' ? expiresAtS * 1000 : undefined;
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
    const item = page.Items?.[0] as BatchItem | undefined;
    if (!item) return undefined;
    const [data] = await this.batchBytes(topic, [item]);
    return toStoredBatch(topic, item, data as Uint8Array);
  }

  /**
   * The bytes of each item, in order: inline ones as they are, the others read from their payload
   * objects with one ranged GET per object (covering every range this read needs of it).
   */
  private async batchBytes(topic: Topic, items: readonly BatchItem[]): Promise<Uint8Array[]> {
    const byObject = new Map<string, number[]>();
    items.forEach((item, index) => {
      if (item.d !== undefined) return;
      const key = payloadKey(topic.topicId, item.pc ?? 0, item.a);
      const indexes = byObject.get(key) ?? [];
      indexes.push(index);
      byObject.set(key, indexes);
    });
    const data: Uint8Array[] = items.map((item) => item.d ?? new Uint8Array(0));
    if (byObject.size === 0) return data;
    const { payloads } = this.options;
    if (!payloads)
      throw new Error('A batch is stored in a payload object, and this log was built without them');
    const objects = [...byObject.entries()];
    for (let start = 0; start < objects.length; start += PAYLOAD_READS_CONCURRENT_MAX) {
      await Promise.all(
        objects.slice(start, start + PAYLOAD_READS_CONCURRENT_MAX).map(async ([key, indexes]) => {
          const ranges = indexes.map((index) => payloadRangeOf(items[index] as BatchItem));
          const first = Math.min(...ranges.map((range) => range.start));
          const end = Math.max(...ranges.map((range) => range.end));
          const bytes = await payloads.readRange(key, first, end);
          indexes.forEach((index, i) => {
            const range = ranges[i] as { start: number; end: number };
            data[index] = bytes.subarray(range.start - first, range.end - first);
          });
        }),
      );
    }
    return data;
  }

  async closePartitions(topic: Topic, deletedAtMs: number): Promise<void> {
    // A tombstone replaces the head whole: no `hw`, so no append's condition passes it (headUpdates).
    const tombstones = Array.from({ length: topic.partitionCount }, (_, partition) => ({
      ...headKey(topic.topicId, partition),
      dl: deletedAtMs,
      x: Math.ceil((deletedAtMs + LIMITS.headTombstoneMs) / 1000),
    }));
    const open = await putItems(this.documents, this.options.metaTableName, tombstones);
    if (open > 0) {
      throw new RetryableError(
        `DynamoDB left ${open} of ${topic.name}'s ${topic.partitionCount} partitions open; the topic is deleted, its partitions are not closed yet`,
        'throttled',
        1,
      );
    }
  }
}

/**
 * Decodes a batch item, whether or not its TTL has passed: until DynamoDB deletes it, an expired
 * batch at or above archivedOffset is the one copy of its records (see the port), and the domain
 * never reads the hot tier below archivedOffset.
 */
function toStoredBatch(topic: Topic, item: BatchItem, data: Uint8Array): StoredBatch {
  return {
    baseOffset: item.bo,
    lastOffset: item.sk,
    maxTimestampSoFar: item.mt,
    records:
      item.d === undefined
        ? decodeBatchAt(data, item.bo, payloadKey(topic.topicId, item.pc ?? 0, item.a), item.ps ?? 0)
        : decodeBatch(data, item.bo),
    storedBytes: data.byteLength,
  };
}

/** The encoded size of a batch item's batch, inline or in a payload object. */
function storedBytesOf(item: BatchItem): number {
  return item.d?.byteLength ?? item.pn ?? 0;
}

/** Where a batch item's bytes are in its payload object. */
function payloadRangeOf(item: BatchItem): { start: number; end: number } {
  const { ps, pn } = item;
  if (!(Number.isSafeInteger(ps) && Number.isSafeInteger(pn) && (ps as number) >= 0 && (pn as number) > 0)) {
    throw new Error(`Batch item ${item.bo}..${item.sk} has neither bytes nor a payload range`);
  }
  return { start: ps as number, end: (ps as number) + (pn as number) };
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
