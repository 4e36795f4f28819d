/**
 * Storage efficiency from the items Shoal actually wrote: produce typical events through the API,
 * read every item the append touched back from DynamoDB (the batch items, the partition head and
 * the idempotency item) and size them with AWS's rules (`item-size.ts`). The same appends are also
 * metered through `ReturnConsumedCapacity` (DynamoDB Local applies the same rules), as a cross-check.
 */
import { randomUUID } from 'node:crypto';
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  type QueryCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { headKey, idempotencyKey, logPartitionKey } from '../shared/adapters/dynamodb/keys.js';
import {
  billedStorageBytes,
  type DynamoDbItem,
  itemBytes,
  transactionWriteUnits,
  writeUnits,
} from './item-size.js';
import type { CapacityMeter } from './metering.js';
import { BILLING_RULES } from './prices.js';
import type { ProduceAnswer, ShoalClient } from './shoal-client.js';
import { MIB } from './stats.js';
import { type EventPool, type PoolSlice, produceBody, takeFromPool } from './workload.js';

/** Where to read the items back from. */
export interface StorageTarget {
  /** A low-level client (items come back as attribute values, not unmarshalled). */
  readonly dynamodb: DynamoDBClient;
  readonly logTableName: string;
  readonly metaTableName: string;
}

/** Storage figures for one batch size (typical events, one Idempotency-Key per request). */
export interface StorageRow {
  readonly batchRecords: number;
  readonly requests: number;
  readonly records: number;
  readonly logicalBytes: number;
  readonly batchItems: number;
  /** Sum of the batch items' sizes by AWS's rules (names, keys and values). */
  readonly batchItemBytes: number;
  /** Mean size of the partition head item and of one idempotency item. */
  readonly headItemBytes: number;
  readonly idempotencyItemBytes: number;
  /**
   * Encoded batch bytes per logical byte, wherever they are stored (in the batch items, or in a
   * payload object in S3 that the items point into): the encoding's and compression's ratio.
   */
  readonly storedBytesPerLogicalByte: number;
  /** Bytes of the encoded batches that went to payload objects in S3 rather than into items. */
  readonly payloadBytes: number;
  /** DynamoDB bytes of the batch items per logical byte, with the 100 bytes per item DynamoDB bills. */
  readonly billedStoredBytesPerLogicalByte: number;
  /** Write units of the appends by AWS's rules: head, batch items and idempotency item, all doubled. */
  readonly writeUnits: number;
  /**
   * The same appends as DynamoDB Local reported them (undefined when not metered). Informational
   * only: for TransactWriteItems, Local does not round item by item as AWS does (measured: three
   * 600-byte puts to one table in one transaction are reported as 2 units, AWS bills 6).
   */
  readonly writeUnitsMetered: number | undefined;
  readonly writeUnitsPerMib: number;
  readonly writeUnitsPerMibWithoutIdempotencyKey: number;
  /** The write units above by item: batch items (log table), partition head, idempotency item. */
  readonly logTableWriteUnits: number;
  readonly headWriteUnits: number;
  readonly idempotencyWriteUnits: number;
  /** Read units of the produce requests' reads (topic, key, head), per request, as metered. */
  readonly readUnitsPerRequestMetered: number | undefined;
  /** Log-table MiB/s one partition key takes at 1,000 write units per second. */
  readonly partitionCeilingMibPerSecond: number;
  /** Produce requests per second the partition head item takes (2 units per transactional update). */
  readonly partitionCeilingRequestsPerSecond: number;
}

const QUERY_PAGES_MAX = 1000;

/** Strings and numbers as attribute values (all Shoal's keys are made of these). */
function attributeValues(values: Record<string, string | number>): Record<string, AttributeValue> {
  return Object.fromEntries(
    Object.entries(values).map(([name, value]) => [
      name,
      typeof value === 'number' ? { N: String(value) } : { S: value },
    ]),
  );
}

async function queryBatchItems(
  target: StorageTarget,
  topicId: string,
  firstOffset: number,
  lastOffset: number,
): Promise<DynamoDbItem[]> {
  const items: DynamoDbItem[] = [];
  let startKey: QueryCommandOutput['LastEvaluatedKey'];
  for (let page = 0; page < QUERY_PAGES_MAX; page++) {
    const answer: QueryCommandOutput = await target.dynamodb.send(
      new QueryCommand({
        TableName: target.logTableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :first AND :last',
        ExpressionAttributeValues: attributeValues({
          ':pk': logPartitionKey(topicId, 0),
          ':first': firstOffset,
          ':last': lastOffset,
        }),
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    items.push(...(answer.Items ?? []));
    startKey = answer.LastEvaluatedKey;
    if (startKey === undefined) return items;
  }
  throw new Error(
    `More than ${QUERY_PAGES_MAX} pages of batch items between ${firstOffset} and ${lastOffset}`,
  );
}

async function getItem(
  target: StorageTarget,
  tableName: string,
  key: Record<string, string | number>,
): Promise<DynamoDbItem> {
  const answer = await target.dynamodb.send(
    new GetItemCommand({ TableName: tableName, Key: attributeValues(key), ConsistentRead: true }),
  );
  if (answer.Item === undefined) throw new Error(`No item ${JSON.stringify(key)} in ${tableName}`);
  return answer.Item;
}

/** What one append wrote, sized by AWS's rules, and what DynamoDB Local metered for it. */
interface Append {
  readonly logicalBytes: number;
  /** Sizes of the batch items the append wrote. */
  readonly sizes: readonly number[];
  /** Encoded bytes of its batches, in items and in payload objects. */
  readonly batchBytes: number;
  readonly payloadBytes: number;
  readonly headBytes: number;
  readonly idempotencyBytes: number;
  readonly writeUnitsMetered: number | undefined;
  readonly readUnitsMetered: number | undefined;
}

/** Sums over the appends of one batch size. */
interface Totals {
  logicalBytes: number;
  batchItems: number;
  batchItemBytes: number;
  batchBytes: number;
  payloadBytes: number;
  billedBytes: number;
  headBytes: number;
  idempotencyBytes: number;
  units: number;
  idempotencyUnits: number;
  logTableUnits: number;
  headUnits: number;
  metered: number | undefined;
  meteredReads: number | undefined;
}

function emptyTotals(metered: boolean): Totals {
  return {
    logicalBytes: 0,
    batchItems: 0,
    batchItemBytes: 0,
    batchBytes: 0,
    payloadBytes: 0,
    billedBytes: 0,
    headBytes: 0,
    idempotencyBytes: 0,
    units: 0,
    idempotencyUnits: 0,
    logTableUnits: 0,
    headUnits: 0,
    metered: metered ? 0 : undefined,
    meteredReads: metered ? 0 : undefined,
  };
}

/** Produces `slice` in one request with a fresh Idempotency-Key, then reads back every item it touched. */
async function appendOnce(
  client: ShoalClient,
  target: StorageTarget,
  topicId: string,
  path: string,
  slice: PoolSlice,
  meter: CapacityMeter | undefined,
): Promise<Append> {
  const key = `storage-${randomUUID()}`;
  meter?.reset();
  if (meter) meter.enabled = true;
  let answer: ProduceAnswer;
  try {
    answer = await client.expect<ProduceAnswer>(200, 'POST', path, {
      body: produceBody(slice.json, 0),
      headers: { 'idempotency-key': key },
      timeoutMs: 60_000,
    });
  } finally {
    if (meter) meter.enabled = false;
  }
  const writeUnitsMetered = meter?.total('TransactWriteItems');
  const readUnitsMetered =
    meter === undefined ? undefined : meter.total() - meter.total('TransactWriteItems');
  const offsets = answer.records.map((record) => record.offset);
  const items = await queryBatchItems(target, topicId, Math.min(...offsets), Math.max(...offsets));
  const headBytes = itemBytes(await getItem(target, target.metaTableName, headKey(topicId, 0)));
  const idempotencyBytes = itemBytes(
    await getItem(target, target.metaTableName, idempotencyKey(topicId, key)),
  );
  const payloadBytes = items.reduce((sum, item) => sum + Number(item.pn?.N ?? 0), 0);
  const inlineBytes = items.reduce((sum, item) => sum + (item.d?.B?.byteLength ?? 0), 0);
  return {
    logicalBytes: slice.logicalBytes,
    sizes: items.map(itemBytes),
    batchBytes: inlineBytes + payloadBytes,
    payloadBytes,
    headBytes,
    idempotencyBytes,
    writeUnitsMetered,
    readUnitsMetered,
  };
}

/** Adds one append to the totals; `headBefore` is the head item's size before it (an update's units count both). */
function addAppend(totals: Totals, append: Append, headBefore: number): void {
  const { sizes, headBytes: head, idempotencyBytes: idempotency } = append;
  if (totals.metered !== undefined && append.writeUnitsMetered !== undefined) {
    totals.metered += append.writeUnitsMetered;
  }
  if (totals.meteredReads !== undefined && append.readUnitsMetered !== undefined) {
    totals.meteredReads += append.readUnitsMetered;
  }
  totals.logicalBytes += append.logicalBytes;
  totals.batchItems += sizes.length;
  totals.batchItemBytes += sizes.reduce((sum, size) => sum + size, 0);
  totals.batchBytes += append.batchBytes;
  totals.payloadBytes += append.payloadBytes;
  totals.billedBytes += sizes.reduce((sum, size) => sum + billedStorageBytes(size), 0);
  totals.headBytes += head;
  totals.idempotencyBytes += idempotency;
  totals.units += transactionWriteUnits([
    { afterBytes: head, beforeBytes: headBefore },
    ...sizes.map((size) => ({ afterBytes: size })),
    { afterBytes: idempotency },
  ]);
  totals.idempotencyUnits += writeUnits(idempotency, { transactional: true });
  totals.headUnits += writeUnits(Math.max(head, headBefore), { transactional: true });
  totals.logTableUnits += sizes.reduce((sum, size) => sum + writeUnits(size, { transactional: true }), 0);
}

/** One batch size's row from its totals over `requests` appends. */
function storageRow(batchRecords: number, requests: number, totals: Totals): StorageRow {
  const { logicalBytes, batchItemBytes, headBytes, units, idempotencyUnits, logTableUnits } = totals;
  const mib = logicalBytes / MIB;
  const { partitionWriteUnitsPerSecondMax } = BILLING_RULES.dynamodb;
  return {
    batchRecords,
    requests,
    records: requests * batchRecords,
    logicalBytes,
    batchItems: totals.batchItems,
    batchItemBytes,
    headItemBytes: headBytes / requests,
    idempotencyItemBytes: totals.idempotencyBytes / requests,
    storedBytesPerLogicalByte: totals.batchBytes / logicalBytes,
    payloadBytes: totals.payloadBytes,
    billedStoredBytesPerLogicalByte: totals.billedBytes / logicalBytes,
    writeUnits: units,
    writeUnitsMetered: totals.metered,
    writeUnitsPerMib: units / mib,
    writeUnitsPerMibWithoutIdempotencyKey: (units - idempotencyUnits) / mib,
    logTableWriteUnits: logTableUnits,
    headWriteUnits: totals.headUnits,
    idempotencyWriteUnits: idempotencyUnits,
    readUnitsPerRequestMetered:
      totals.meteredReads === undefined ? undefined : totals.meteredReads / requests,
    partitionCeilingMibPerSecond: partitionWriteUnitsPerSecondMax / (logTableUnits / mib),
    partitionCeilingRequestsPerSecond:
      partitionWriteUnitsPerSecondMax / writeUnits(headBytes / requests, { transactional: true }),
  };
}

/**
 * Produces `requestsFor(batchRecords)` requests of typical events for each batch size into a fresh
 * one-partition topic, then sizes every item each request wrote.
 */
export async function measureStorage(
  client: ShoalClient,
  target: StorageTarget,
  pool: EventPool,
  batchSizes: readonly number[],
  requestsFor: (batchRecords: number) => number,
  meter: CapacityMeter | undefined,
): Promise<StorageRow[]> {
  const topic = `bench-storage-${randomUUID().slice(0, 8)}`;
  await client.createTopic(topic, 1);
  const { topicId } = await client.describeTopic(topic);
  if (topicId === undefined) throw new Error('The topic description has no topicId: cannot find its items');
  const path = `/v1/topics/${encodeURIComponent(topic)}/records`;
  let headBefore = 0;
  let cursor = 0;
  const rows: StorageRow[] = [];
  for (const batchRecords of batchSizes) {
    const totals = emptyTotals(meter !== undefined);
    const requests = requestsFor(batchRecords);
    for (let request = 0; request < requests; request++) {
      const slice = takeFromPool(pool, cursor, batchRecords);
      cursor += batchRecords;
      const append = await appendOnce(client, target, topicId, path, slice, meter);
      addAppend(totals, append, headBefore);
      headBefore = append.headBytes;
    }
    rows.push(storageRow(batchRecords, requests, totals));
  }
  return rows;
}
