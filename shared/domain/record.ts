/**
 * Records as the domain sees them. Keys and values keep the type they were produced with
 * (Kafka REST v3's JSON, STRING, BINARY), so a fetch returns what was produced and the Lambda
 * event carries the exact bytes.
 */

/** How a key or value was produced; decides how its bytes are rendered on fetch. */
export type DataType = 'JSON' | 'STRING' | 'BINARY';

/** A key or value: its type and its bytes (UTF-8 JSON text for JSON, UTF-8 for STRING). */
export interface TypedBytes {
  readonly type: DataType;
  readonly bytes: Uint8Array;
}

/** A record header: a name and raw bytes, as in Kafka. */
export interface RecordHeader {
  readonly name: string;
  readonly value: Uint8Array;
}

/** A record to append: offset not yet known. `null` key or value is Kafka's null. */
export interface RecordInput {
  readonly key: TypedBytes | null;
  readonly value: TypedBytes | null;
  readonly headers: readonly RecordHeader[];
  /** Epoch milliseconds (CreateTime); the append time when the producer gave none. */
  readonly timestamp: number;
}

/**
 * Where the value of a record stored apart (over `recordInlineBytesMax`, alone and uncompressed in
 * its batch) lies in an object of the segment bucket: bytes `start` (inclusive) to `end`
 * (exclusive) of `objectKey`, a payload object, a segment or a rescued batch.
 */
export interface ValueLocation {
  readonly objectKey: string;
  readonly start: number;
  readonly end: number;
}

/** A stored record: a `RecordInput` at its offset. */
export interface LogRecord extends RecordInput {
  readonly offset: number;
  /** Set by the readers for a record stored apart, so a fetch can answer its value by reference. */
  readonly valueAt?: ValueLocation;
}

/** A record as a producer sends it: partition and timestamp optional. */
export interface ProduceRecord {
  readonly key: TypedBytes | null;
  readonly value: TypedBytes | null;
  readonly headers: readonly RecordHeader[];
  /** Epoch ms given by the producer (CreateTime); the append time when absent. */
  readonly timestamp?: number;
  readonly partition?: number;
}

/** A value a client uploaded (`record-uploads.ts`), named in a produce request instead of its bytes. */
export interface UploadReference {
  readonly type: DataType;
  readonly uploadId: string;
}

/** A record as a produce request gives it: its value may name an upload. */
export interface ProduceRecordInput extends Omit<ProduceRecord, 'value'> {
  readonly value: TypedBytes | UploadReference | null;
}

/** Where one produced record landed. */
export interface RecordPosition {
  readonly partition: number;
  readonly offset: number;
  /** Epoch ms. */
  readonly timestamp: number;
}

/** Bytes of a record's payload (key, value, header names and values) as counted against a fetch's `maxBytes`. */
export function recordBytes(record: LogRecord): number {
  let bytes = (record.key?.bytes.byteLength ?? 0) + (record.value?.bytes.byteLength ?? 0);
  for (const header of record.headers) bytes += header.name.length + header.value.byteLength;
  return bytes;
}
