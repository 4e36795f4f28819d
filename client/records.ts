/**
 * Keys, values and headers between application values and the API's typed data (Kafka REST v3:
 * JSON, STRING, BINARY). A plain string is sent as STRING, bytes as BINARY; wrap anything else with
 * {@link json}. Partitioning hashes the same bytes the server stores (`toTypedBytes`), so a key
 * lands in the partition the server would pick.
 */
import { toTypedBytes } from '../shared/http/render.js';
import type { TypedDataValue, WireHeader, WireProduceRecord } from './api.js';
import { shown } from './validate.js';

/** A key or value as an application gives it. */
export type RecordData = string | Uint8Array | TypedDataValue | null;

/** Headers as a map (one value per name) or a list (names may repeat, as in Kafka). */
export type RecordHeaders =
  | Readonly<Record<string, string | Uint8Array>>
  | readonly { readonly name: string; readonly value: string | Uint8Array }[];

/** A record to produce. */
export interface ProducerRecord {
  readonly key?: RecordData;
  readonly value?: RecordData;
  readonly headers?: RecordHeaders;
  /** Overrides the partitioner. */
  readonly partition?: number;
  /** CreateTime: epoch milliseconds, a Date or ISO-8601; the append time when absent. */
  readonly timestamp?: number | Date | string;
}

/** A record read back. */
export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** ISO-8601. */
  readonly timestamp: string;
  readonly key: TypedDataValue | null;
  readonly value: TypedDataValue | null;
  readonly headers: readonly { readonly name: string; readonly value: Buffer }[];
}

/** A JSON key or value. @example producer.send({ topic, records: [{ value: json({ id: 42 }) }] }) */
export function json(data: unknown): TypedDataValue {
  return { type: 'JSON', data } as TypedDataValue;
}

/** A STRING key or value (what a plain string becomes anyway). */
export function string(data: string): TypedDataValue {
  return { type: 'STRING', data };
}

/** A BINARY key or value. */
export function binary(bytes: Uint8Array): TypedDataValue {
  return { type: 'BINARY', data: toBuffer(bytes).toString('base64') };
}

/** Application data to the wire's typed data; anything else is a TypeError naming `where`. */
export function toWireData(data: RecordData | undefined, where = 'data'): TypedDataValue | null {
  if (data === undefined || data === null) return null;
  if (typeof data === 'string') return string(data);
  if (data instanceof Uint8Array) return binary(data);
  const type = typeof data === 'object' ? (data as { type?: unknown }).type : undefined;
  if (type !== 'JSON' && type !== 'STRING' && type !== 'BINARY') {
    throw new TypeError(
      `${where} must be a string, bytes, null or typed data (json(...), string(...), binary(...)), got ${shown(data)}`,
    );
  }
  return data;
}

/** The bytes the server stores for typed data (and hashes, for a key). */
export function dataBytes(data: TypedDataValue | null): Buffer | null {
  const typed = toTypedBytes(data);
  return typed === null ? null : toBuffer(typed.bytes);
}

/** Typed data as text: STRING as is, JSON serialized, BINARY decoded as UTF-8. */
export function dataText(data: TypedDataValue | null): string | null {
  if (data === null) return null;
  switch (data.type) {
    case 'STRING':
      return data.data;
    case 'JSON':
      return JSON.stringify(data.data);
    case 'BINARY':
      return Buffer.from(data.data, 'base64').toString('utf8');
  }
}

/** A producer record to its wire form (without partition: the producer sets it). */
export function toWireRecord(record: ProducerRecord, where = 'record'): WireProduceRecord {
  const wire: { -readonly [K in keyof WireProduceRecord]: WireProduceRecord[K] } = {};
  if (record.key !== undefined) wire.key = toWireData(record.key, `${where}.key`);
  if (record.value !== undefined) wire.value = toWireData(record.value, `${where}.value`);
  const headers = toWireHeaders(record.headers, `${where}.headers`);
  if (headers.length > 0) wire.headers = headers;
  if (record.timestamp !== undefined) {
    wire.timestamp =
      record.timestamp instanceof Date
        ? record.timestamp.getTime()
        : typeof record.timestamp === 'string'
          ? record.timestamp
          : record.timestamp;
  }
  return wire;
}

function toWireHeaders(headers: RecordHeaders | undefined, where: string): WireHeader[] {
  if (headers === undefined) return [];
  if (typeof headers !== 'object' || headers === null) {
    throw new TypeError(
      `${where} must be an object of names to values or a list of { name, value }, got ${shown(headers)}`,
    );
  }
  const list = Array.isArray(headers)
    ? (headers as readonly { name: string; value: string | Uint8Array }[])
    : Object.entries(headers as Record<string, string | Uint8Array>).map(([name, value]) => ({
        name,
        value,
      }));
  return list.map(({ name, value }) => {
    if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
      throw new TypeError(`${where}.${name} must be a string or bytes, got ${shown(value)}`);
    }
    return {
      name,
      value: (typeof value === 'string' ? Buffer.from(value, 'utf8') : toBuffer(value)).toString('base64'),
    };
  });
}

/** A fetched record to the client's form: headers decoded to bytes. */
export function toConsumedRecord(
  topic: string,
  partition: number,
  record: {
    offset: number;
    timestamp: string;
    key: TypedDataValue | null;
    value: TypedDataValue | null;
    headers: readonly WireHeader[];
  },
): ConsumedRecord {
  return {
    topic,
    partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: record.key,
    value: record.value,
    headers: record.headers.map((header) => ({
      name: header.name,
      value: Buffer.from(header.value, 'base64'),
    })),
  };
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
