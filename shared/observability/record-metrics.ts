/**
 * The produce and fetch metrics, counted at the handler edge from what the log service answered, so
 * the domain stays free of metrics.
 */
import { DIMENSION, METRIC, type Telemetry } from './telemetry.js';

/** The parts of a record whose bytes count: key, value and headers (as Kafka's record size does). */
export interface RecordPayload {
  readonly key: { readonly bytes: { readonly byteLength: number } } | null;
  readonly value: { readonly bytes: { readonly byteLength: number } } | null;
  readonly headers: readonly { readonly name: string; readonly value: Uint8Array }[];
}

/** Key, value and header bytes of one record. */
export function payloadBytes(record: RecordPayload): number {
  let bytes = (record.key?.bytes.byteLength ?? 0) + (record.value?.bytes.byteLength ?? 0);
  for (const header of record.headers)
    bytes += Buffer.byteLength(header.name, 'utf8') + header.value.byteLength;
  return bytes;
}

/** A produce request appended `records` to `topic` (an idempotent replay appended nothing: not counted). */
export function countProduced(telemetry: Telemetry, topic: string, records: readonly RecordPayload[]): void {
  const dimensions = { [DIMENSION.topic]: topic };
  telemetry.count(METRIC.producedRecords, records.length, 'Count', dimensions);
  telemetry.count(METRIC.producedBytes, sum(records), 'Bytes', dimensions);
}

/** A fetch of `topic` answered `records`. */
export function countFetched(telemetry: Telemetry, topic: string, records: readonly RecordPayload[]): void {
  const dimensions = { [DIMENSION.topic]: topic };
  telemetry.count(METRIC.fetches, 1, 'Count', dimensions);
  telemetry.count(METRIC.fetchedRecords, records.length, 'Count', dimensions);
  telemetry.count(METRIC.fetchedBytes, sum(records), 'Bytes', dimensions);
}

function sum(records: readonly RecordPayload[]): number {
  return records.reduce((total, record) => total + payloadBytes(record), 0);
}
