/**
 * Helpers for tests of tiered storage: topics as the archiver sees them, the S3 objects and
 * manifest entries of a partition, and the answer a fetch must give computed from the records
 * produced (the reference every tier is compared against).
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { logPartitionKey } from '../../shared/adapters/dynamodb/keys.js';
import { DynamoDbSegmentManifest } from '../../shared/adapters/dynamodb/segment-manifest.js';
import { DynamoDbTopicStore } from '../../shared/adapters/dynamodb/topic-store.js';
import { rescuePrefix, SEGMENT_KEY_PREFIX } from '../../shared/domain/segment-keys.js';
import type { Topic } from '../../shared/domain/topic.js';
import type { SegmentEntry } from '../../shared/ports/segment-archive.js';
import type { Runtime } from '../../shared/runtime.js';

/** The stored topic (with its id and config), as the archiver reads it. */
export async function storedTopic(runtime: Runtime, name: string): Promise<Topic> {
  const topic = await new DynamoDbTopicStore(runtime.documents, runtime.config.metaTableName).get(name);
  if (!topic) throw new Error(`Topic ${name} does not exist`);
  return topic;
}

/** Keys and sizes of the objects under a prefix of the segment bucket. */
export async function listObjects(
  runtime: Runtime,
  prefix: string,
): Promise<{ key: string; size: number }[]> {
  const objects: { key: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const page = await runtime.s3.send(
      new ListObjectsV2Command({
        Bucket: runtime.config.segmentBucketName,
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const object of page.Contents ?? []) objects.push({ key: object.Key ?? '', size: object.Size ?? 0 });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

/** The segment objects of one partition. */
export function segmentObjects(runtime: Runtime, topic: Topic, partition: number) {
  return listObjects(runtime, `${SEGMENT_KEY_PREFIX}${topic.topicId}/${partition}/`);
}

/** The rescued batches of one partition. */
export function rescuedObjects(runtime: Runtime, topic: Topic, partition: number) {
  return listObjects(runtime, rescuePrefix(topic.topicId, partition));
}

/** Every manifest entry of a partition, in offset order. */
export function manifestEntries(runtime: Runtime, topic: Topic, partition: number): Promise<SegmentEntry[]> {
  return new DynamoDbSegmentManifest(runtime.documents, {
    metaTableName: runtime.config.metaTableName,
  }).segmentsFrom(topic, partition, 0, 100_000);
}

/** How many batch items of a partition DynamoDB still holds (expired or not). */
export async function hotItemCount(runtime: Runtime, topic: Topic, partition: number): Promise<number> {
  let count = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await runtime.documents.send(
      new QueryCommand({
        TableName: runtime.config.logTableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': logPartitionKey(topic.topicId, partition) },
        Select: 'COUNT',
        ExclusiveStartKey: startKey,
      }),
    );
    count += page.Count ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return count;
}

/** A record as the API renders it. */
export interface ApiRecord {
  readonly offset: number;
  readonly timestamp: string;
  readonly key: unknown;
  readonly value: unknown;
  readonly headers: readonly { name: string; value: string }[];
}

/** Bytes of a rendered record's payload, as a fetch counts them against `maxBytes`. */
export function apiRecordBytes(record: ApiRecord): number {
  const bytesOf = (data: unknown): number => {
    if (data === null || data === undefined) return 0;
    const typed = data as { type: string; data: unknown };
    if (typed.type === 'BINARY') return Buffer.from(String(typed.data), 'base64').byteLength;
    if (typed.type === 'STRING') return Buffer.byteLength(String(typed.data), 'utf8');
    return Buffer.byteLength(JSON.stringify(typed.data), 'utf8');
  };
  let bytes = bytesOf(record.key) + bytesOf(record.value);
  for (const header of record.headers)
    bytes += header.name.length + Buffer.from(header.value, 'base64').byteLength;
  return bytes;
}

/**
 * The records a fetch from `offset` must return, from the full list of a partition's records: as
 * many as fit `maxRecords` and (past the first) `maxBytes`.
 */
export function expectedAnswer(
  all: readonly ApiRecord[],
  offset: number,
  maxRecords: number,
  maxBytes: number,
): ApiRecord[] {
  const answer: ApiRecord[] = [];
  let bytes = 0;
  for (const record of all.slice(offset)) {
    const size = apiRecordBytes(record);
    if (answer.length >= maxRecords || (answer.length > 0 && bytes + size > maxBytes)) break;
    answer.push(record);
    bytes += size;
  }
  return answer;
}

/** Waits until `check` returns a value other than undefined, polling; fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
  pollMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
