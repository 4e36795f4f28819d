/**
 * The benchmark's records: realistic, varied JSON events from `test/support/events.ts` (orders,
 * clicks, sensor readings with random ids and numbers), generated once per run from a seed and kept
 * both as the API's JSON (for Shoal) and as domain records (for the raw baseline), so both sides
 * store exactly the same bytes.
 */
import type { RecordInput } from '../shared/domain/record.js';
import { type EventSizeClass, makeEventRecords, seededRandom } from '../test/support/events.js';

/** A pool of events of one size class. */
export interface EventPool {
  readonly sizeClass: EventSizeClass;
  /** Domain records, for the raw baseline. */
  readonly records: readonly RecordInput[];
  /** Each record as the API's JSON object text, without a `partition` field. */
  readonly json: readonly string[];
  /** Logical bytes of each record: key + value + header names and values. */
  readonly logicalBytes: readonly number[];
  readonly meanLogicalBytes: number;
}

/** A slice of a pool: `count` records from `start`, wrapping around. */
export interface PoolSlice {
  readonly records: RecordInput[];
  readonly json: string[];
  readonly logicalBytes: number;
}

/** Logical bytes of a record, counted as `maxBytes` of a fetch counts them. */
export function logicalBytesOf(record: RecordInput): number {
  let bytes = (record.key?.bytes.byteLength ?? 0) + (record.value?.bytes.byteLength ?? 0);
  for (const header of record.headers) bytes += Buffer.byteLength(header.name) + header.value.byteLength;
  return bytes;
}

const decoder = new TextDecoder();

/** The API's JSON for a record (typed data as in Kafka REST v3), without partition. */
export function recordJson(record: RecordInput): string {
  const typed = (data: RecordInput['key']) => {
    if (data === null) return null;
    const text = decoder.decode(data.bytes);
    if (data.type === 'JSON') return { type: 'JSON', data: JSON.parse(text) as unknown };
    if (data.type === 'STRING') return { type: 'STRING', data: text };
    return { type: 'BINARY', data: Buffer.from(data.bytes).toString('base64') };
  };
  return JSON.stringify({
    key: typed(record.key),
    value: typed(record.value),
    headers: record.headers.map((header) => ({
      name: header.name,
      value: Buffer.from(header.value).toString('base64'),
    })),
    timestamp: record.timestamp,
  });
}

/** Generates a pool of `size` events of one class from `seed`. */
export function createEventPool(sizeClass: EventSizeClass, size: number, seed: number): EventPool {
  const records = makeEventRecords(seededRandom(seed), sizeClass, size, Date.now());
  const logicalBytes = records.map(logicalBytesOf);
  return {
    sizeClass,
    records,
    json: records.map(recordJson),
    logicalBytes,
    meanLogicalBytes: logicalBytes.reduce((sum, bytes) => sum + bytes, 0) / records.length,
  };
}

/** `count` consecutive records of a pool starting at `start` (wrapping around). */
export function takeFromPool(pool: EventPool, start: number, count: number): PoolSlice {
  const records: RecordInput[] = [];
  const json: string[] = [];
  let logicalBytes = 0;
  for (let i = 0; i < count; i++) {
    const index = (start + i) % pool.records.length;
    records.push(pool.records[index] as RecordInput);
    json.push(pool.json[index] as string);
    logicalBytes += pool.logicalBytes[index] as number;
  }
  return { records, json, logicalBytes };
}

/** A produce request body for records all sent to one partition. */
export function produceBody(json: readonly string[], partition?: number): string {
  const prefix = partition === undefined ? '' : `{"partition":${partition},`;
  const items = partition === undefined ? json : json.map((text) => prefix + text.slice(1));
  return `{"records":[${items.join(',')}]}`;
}
