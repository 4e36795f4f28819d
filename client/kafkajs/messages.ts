/**
 * KafkaJS messages to Shoal records and back. Keys, values and header values are bytes to KafkaJS:
 * a string goes out as STRING and a Buffer as BINARY, so the server stores (and the partitioner
 * hashes) the same bytes KafkaJS would send; what comes back is always a Buffer, whatever type the
 * record was written with (a JSON value as the text received), as KafkaJS gives it.
 */
import { type ConsumedRecord, dataBytes, type ProducerRecord } from '../index.js';

/** A header map as KafkaJS has it: a repeated name holds an array. */
export interface IHeaders {
  [key: string]: Buffer | string | (Buffer | string)[] | undefined;
}

/** A message to send, as KafkaJS's `Message`. */
export interface Message {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  partition?: number;
  headers?: IHeaders;
  /** Epoch milliseconds, as a string. */
  timestamp?: string;
}

/** A message read, as KafkaJS's record-batch entry: offsets and timestamps are strings. */
export interface KafkaMessage {
  key: Buffer | null;
  value: Buffer | null;
  /** Epoch milliseconds, as a string. */
  timestamp: string;
  attributes: number;
  offset: string;
  headers: IHeaders;
  size?: never;
}

/** A KafkaJS message as a Shoal record; a bad field is a TypeError that names it. */
export function toShoalRecord(message: Message, where: string): ProducerRecord {
  if (typeof message !== 'object' || message === null) {
    throw new TypeError(`${where}: a message is an object with a value, got ${describe(message)}`);
  }
  const record: { -readonly [K in keyof ProducerRecord]: ProducerRecord[K] } = {};
  if (message.key !== undefined && message.key !== null)
    record.key = bytesOrString(message.key, `${where}.key`);
  if (message.value !== undefined && message.value !== null) {
    record.value = bytesOrString(message.value, `${where}.value`);
  }
  if (record.key === undefined && record.value === undefined) {
    throw new TypeError(`${where}: give a key or a value (Shoal stores no record without both)`);
  }
  if (message.partition !== undefined && message.partition !== null) {
    if (!Number.isSafeInteger(message.partition) || message.partition < 0) {
      throw new TypeError(
        `${where}.partition must be a whole number from 0, got ${describe(message.partition)}`,
      );
    }
    record.partition = message.partition;
  }
  if (message.timestamp !== undefined && message.timestamp !== null) {
    const timestamp = Number(message.timestamp);
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
      throw new TypeError(
        `${where}.timestamp must be epoch milliseconds as a string, got ${describe(message.timestamp)}`,
      );
    }
    record.timestamp = timestamp;
  }
  if (message.headers !== undefined && message.headers !== null) {
    record.headers = toShoalHeaders(message.headers, `${where}.headers`);
  }
  return record;
}

function toShoalHeaders(headers: IHeaders, where: string): { name: string; value: string | Uint8Array }[] {
  if (typeof headers !== 'object' || Array.isArray(headers)) {
    throw new TypeError(`${where} must be an object of names to values, got ${describe(headers)}`);
  }
  const list: { name: string; value: string | Uint8Array }[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) {
      list.push({ name, value: bytesOrString(one, `${where}.${name}`) });
    }
  }
  return list;
}

function bytesOrString(value: unknown, where: string): string | Uint8Array {
  if (typeof value === 'string' || value instanceof Uint8Array) return value;
  throw new TypeError(`${where} must be a Buffer, a string or null, got ${describe(value)}`);
}

/** A consumed Shoal record as KafkaJS gives a message. */
export function toKafkaMessage(record: ConsumedRecord): KafkaMessage {
  const headers: IHeaders = {};
  for (const { name, value } of record.headers) {
    const existing = headers[name];
    if (existing === undefined) headers[name] = value;
    else headers[name] = [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return {
    key: dataBytes(record.key),
    value: dataBytes(record.value),
    timestamp: String(Date.parse(record.timestamp)),
    attributes: 0,
    offset: String(record.offset),
    headers,
  };
}

/** A KafkaJS offset string (`'42'`) as a number; a TypeError naming the field otherwise. */
export function parseOffset(offset: unknown, where: string): number {
  const value =
    typeof offset === 'string' && /^\d+$/.test(offset)
      ? Number(offset)
      : typeof offset === 'number'
        ? offset
        : Number.NaN;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(
      `${where} must be an offset as a string of digits, e.g. '42', got ${describe(offset)}`,
    );
  }
  return value;
}

/** A value as an error message shows it. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Buffer.isBuffer(value)) return `a Buffer of ${value.length} bytes`;
  if (typeof value === 'string') return `'${value.length > 60 ? `${value.slice(0, 60)}...` : value}'`;
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `${typeof value} ${String(value)}`;
}
