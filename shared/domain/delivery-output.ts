/**
 * Exactly-once pipelines: what a subscribed function returns to be appended to the subscription's
 * output topic. The answer is Lambda's usual one plus `records`, each record as a produce request
 * gives it (Kafka REST v3's typed data):
 *
 * ```json
 * { "records": [{ "key": { "type": "STRING", "data": "o-1" }, "value": { "type": "JSON", "data": { "total": 42 } },
 *                 "headers": [{ "name": "trace", "value": "dGFn" }] }],
 *   "batchItemFailures": [] }
 * ```
 *
 * The records are appended together with the commit of the batch that produced them, in one
 * transaction (`partition-delivery.ts`): a batch whose commit is not written has written no output,
 * so a retried, bisected or timed-out batch produces each output once.
 */
import { LIMITS } from './limits.js';
import type { DataType, ProduceRecord, RecordHeader, TypedBytes } from './record.js';

/** Why an answer's records cannot be appended: the batch then fails as if the function had thrown. */
export class OutputRecordsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputRecordsError';
  }
}

const DATA_TYPES: readonly DataType[] = ['JSON', 'STRING', 'BINARY'];

/**
 * The records of a function's answer; none when it has no `records`.
 * @throws OutputRecordsError naming the first record that is not a produce request's record
 */
export function outputRecordsOf(answer: unknown): ProduceRecord[] {
  if (typeof answer !== 'object' || answer === null || !('records' in answer)) return [];
  const { records } = answer as { records: unknown };
  if (!Array.isArray(records)) throw new OutputRecordsError('records must be an array');
  if (records.length > LIMITS.recordsPerRequestMax) {
    throw new OutputRecordsError(
      `records holds ${records.length} records; one batch outputs at most ${LIMITS.recordsPerRequestMax}`,
    );
  }
  return records.map((record: unknown, index) => outputRecord(record, `records[${index}]`));
}

function outputRecord(raw: unknown, path: string): ProduceRecord {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new OutputRecordsError(`${path} must be an object with value (and key, headers, partition)`);
  }
  const record = raw as Record<string, unknown>;
  for (const field of Object.keys(record)) {
    if (!['key', 'value', 'headers', 'partition'].includes(field)) {
      throw new OutputRecordsError(`${path}.${field} is not a field of a record`);
    }
  }
  const { partition } = record;
  if (partition !== undefined && !(Number.isInteger(partition) && (partition as number) >= 0)) {
    throw new OutputRecordsError(
      `${path}.partition must be a partition number, got ${JSON.stringify(partition)}`,
    );
  }
  return {
    key: typedData(record.key, `${path}.key`),
    value: typedData(record.value, `${path}.value`),
    headers: headersOf(record.headers, `${path}.headers`),
    ...(partition === undefined ? {} : { partition: partition as number }),
  };
}

function typedData(raw: unknown, path: string): TypedBytes | null {
  if (raw === undefined || raw === null) return null;
  const { type, data } = raw as { type?: unknown; data?: unknown };
  if (typeof raw !== 'object' || !DATA_TYPES.includes(type as DataType)) {
    throw new OutputRecordsError(`${path} must be {"type": "JSON" | "STRING" | "BINARY", "data": ...}`);
  }
  switch (type as DataType) {
    case 'JSON':
      if (data === undefined) throw new OutputRecordsError(`${path}.data is missing`);
      return { type: 'JSON', bytes: Buffer.from(JSON.stringify(data), 'utf8') };
    case 'STRING':
      if (typeof data !== 'string') throw new OutputRecordsError(`${path}.data must be a string`);
      return { type: 'STRING', bytes: Buffer.from(data, 'utf8') };
    case 'BINARY':
      return { type: 'BINARY', bytes: base64Of(data, `${path}.data`) };
  }
}

function headersOf(raw: unknown, path: string): RecordHeader[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw) || raw.length > LIMITS.headersPerRecordMax) {
    throw new OutputRecordsError(`${path} must be an array of at most ${LIMITS.headersPerRecordMax} headers`);
  }
  return raw.map((header: unknown, index) => {
    const { name, value } = (header ?? {}) as { name?: unknown; value?: unknown };
    if (typeof name !== 'string' || name.length === 0 || name.length > LIMITS.headerNameLengthMax) {
      throw new OutputRecordsError(
        `${path}[${index}].name must be 1 to ${LIMITS.headerNameLengthMax} characters`,
      );
    }
    return { name, value: base64Of(value, `${path}[${index}].value`) };
  });
}

function base64Of(raw: unknown, path: string): Uint8Array {
  if (typeof raw !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(raw) || raw.length % 4 !== 0) {
    throw new OutputRecordsError(`${path} must be base64`);
  }
  return Buffer.from(raw, 'base64');
}
