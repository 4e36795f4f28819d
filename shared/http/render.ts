/**
 * Between the API's typed data (Kafka REST v3: JSON, STRING, BINARY) and the domain's bytes.
 */
import assert from 'node:assert/strict';
import type { z } from 'zod';
import { InvalidRequestError } from '../domain/errors.js';
import { LIMITS } from '../domain/limits.js';
import type { FetchResult, ProduceRecordInput, RecordPosition } from '../domain/log-service.js';
import {
  type LogRecord,
  type RecordHeader,
  recordBytes,
  type TypedBytes,
  type ValueLocation,
} from '../domain/record.js';
import type { Topic } from '../domain/topic.js';
import type { TopicDescription } from '../domain/topic-service.js';
import { produceDataSpans, type RecordDataSpans, type TextSpan } from './json-span.js';
import { JsonText } from './json-text.js';
import { jsonStringBytes } from './payload-size.js';
import type { Header, ProduceRecordSchema, ProduceRequest, TypedData } from './schemas.js';

type TypedDataInput = z.output<typeof TypedData>;

/**
 * API typed data to bytes: JSON as its UTF-8 text, STRING as UTF-8, BINARY decoded from base64.
 * `jsonText` is the exact text the JSON data was received as; without it (a client computing the
 * bytes the server will store for a value it built) the data is serialized with `JSON.stringify`,
 * which is the text a compact `JSON.stringify` of the whole request contains.
 */
export function toTypedBytes(data: TypedDataInput | null | undefined, jsonText?: string): TypedBytes | null {
  if (data === null || data === undefined) return null;
  switch (data.type) {
    case 'JSON':
      return { type: 'JSON', bytes: Buffer.from(jsonText ?? JSON.stringify(data.data), 'utf8') };
    case 'STRING':
      return { type: 'STRING', bytes: Buffer.from(data.data, 'utf8') };
    case 'BINARY':
      return { type: 'BINARY', bytes: Buffer.from(data.data, 'base64') };
  }
}

function toHeader(header: z.output<typeof Header>): RecordHeader {
  return { name: header.name, value: Buffer.from(header.value, 'base64') };
}

/**
 * A validated produce request to the domain's produce input. `text` is the request body the
 * request was parsed from: each JSON key and value is stored as its exact text there (guarantee 9),
 * found by {@link produceDataSpans}.
 *
 * @throws InvalidRequestError when a record has neither key nor value, or a STRING key or value or
 *   a header name is not well-formed Unicode (a lone surrogate, sent as a `\ud800` escape), which
 *   UTF-8 cannot store: it would read back as U+FFFD.
 */
export function toProduceRecords(
  request: z.output<typeof ProduceRequest>,
  text: string,
): ProduceRecordInput[] {
  const spans = produceDataSpans(text);
  assert.equal(spans.length, request.records.length, 'the scanner finds every record of the request');
  return request.records.map((record, index) =>
    toProduceRecord(record, index, text, spans[index] ?? NO_SPANS),
  );
}

const NO_SPANS: RecordDataSpans = { key: undefined, value: undefined };

function toProduceRecord(
  record: z.output<typeof ProduceRecordSchema>,
  index: number,
  text: string,
  spans: RecordDataSpans,
): ProduceRecordInput {
  if (record.key === undefined && record.value === undefined) {
    throw new InvalidRequestError(`records[${index}]: give a key or a value`, `records[${index}]`);
  }
  const headers = record.headers ?? [];
  requireUnicode(record.key, `records[${index}].key.data`);
  const { value } = record;
  const uploaded = value !== null && value !== undefined && 'uploadId' in value;
  if (!uploaded) requireUnicode(value, `records[${index}].value.data`);
  for (const [h, header] of headers.entries()) {
    requireWellFormed(header.name, `records[${index}].headers[${h}].name`);
  }
  return {
    key: toTypedBytes(record.key, jsonSource(record.key, text, spans.key)),
    value: uploaded
      ? { type: value.type, uploadId: value.uploadId }
      : toTypedBytes(value, jsonSource(value, text, spans.value)),
    headers: headers.map(toHeader),
    ...(record.timestamp === undefined ? {} : { timestamp: record.timestamp }),
    ...(record.partition === undefined ? {} : { partition: record.partition }),
  };
}

/** The exact text of JSON data in the request body. */
function jsonSource(
  data: TypedDataInput | null | undefined,
  text: string,
  span: TextSpan | undefined,
): string | undefined {
  if (data?.type !== 'JSON') return undefined;
  assert.ok(span !== undefined, 'the scanner finds the text of every JSON key and value');
  return text.slice(span.start, span.end);
}

function requireUnicode(data: TypedDataInput | null | undefined, field: string): void {
  if (data?.type === 'STRING') requireWellFormed(data.data, field);
}

/**
 * Refuses a string UTF-8 cannot hold. JSON data needs no check: its text is stored as received,
 * and the request body was checked to be UTF-8, so an escaped lone surrogate in it is six ASCII
 * characters that read back as they came.
 */
function requireWellFormed(value: string, field: string): void {
  const lone = LONE_SURROGATE.exec(value);
  if (lone === null) return;
  const unit = value.charCodeAt(lone.index).toString(16).padStart(4, '0');
  throw new InvalidRequestError(
    `${field}: has a lone surrogate (\\u${unit} at index ${lone.index}), which is not Unicode text and cannot be stored as UTF-8; send such data as BINARY`,
    field,
  );
}

/** A UTF-16 surrogate that is not half of a pair (in a `u` regex a pair is one code point, not Cs). */
const LONE_SURROGATE = /\p{Cs}/u;

export const isoTime = (epochMs: number) => new Date(epochMs).toISOString();

export function renderPosition(position: RecordPosition) {
  return { partition: position.partition, offset: position.offset, timestamp: isoTime(position.timestamp) };
}

/** A fetch answer rendered, and the records it holds. */
export interface RenderedFetch {
  readonly body: JsonText;
  /** The result's records from the first on: all of them, or as many as fit (see {@link renderFetchResult}). */
  readonly records: readonly LogRecord[];
}

/**
 * A fetch answer (`FetchResponse` in the OpenAPI document) as JSON text, built directly: each JSON
 * key and value is spliced in as the exact text it was produced as (guarantee 9), which
 * `JSON.stringify` of parsed values cannot do (it rounds big numbers, writes `1e400` as `null`).
 *
 * The answer holds the result's records from the first on while it stays within `jsonBytesMax`
 * bytes as a JSON string (how Lambda counts it in the proxy result); `nextOffset` then names the
 * first record left out, so the consumer reads it next. The first record is always in: one of at
 * most `recordBytesMax` bytes takes under half of `responseBodyJsonBytesMax` (see
 * `LIMITS.fetchBytesMax`), and the edge answers 500 for a body over the limit anyway.
 *
 * A stored JSON value that is not valid JSON text (no release wrote one; only corruption or a bug
 * could) is rendered as BINARY with its exact bytes, so the answer stays valid JSON and the rest of
 * the partition stays readable; `onInvalidJson` hears of it.
 */
export function renderFetchResult(
  result: FetchResult,
  onInvalidJson: (offset: number, field: 'key' | 'value') => void = () => {},
  jsonBytesMax: number = LIMITS.responseBodyJsonBytesMax,
  references: ValueReferences = NO_REFERENCES,
): RenderedFetch {
  const head = `{"topic":${JSON.stringify(result.topic)},"partition":${result.partition},"records":[`;
  let jsonBytes = jsonStringBytes(head) + TAIL_JSON_BYTES_MAX;
  const parts: string[] = [];
  let nextOffset = result.nextOffset;
  for (const record of result.records) {
    // The comma before every record but the first.
    const comma = parts.length > 0 ? 1 : 0;
    const url = references.urls.get(record.offset);
    // Rendering never takes fewer bytes than the data: a value too large by that count goes by reference.
    const byReference =
      url !== undefined &&
      (recordBytes(record) > references.bytesMax || recordBytes(record) > jsonBytesMax - jsonBytes - comma);
    let part = renderRecord(record, onInvalidJson, byReference ? url : undefined);
    let partBytes = jsonStringBytes(part) + comma;
    if (url !== undefined && !byReference && jsonBytes + partBytes > jsonBytesMax) {
      part = renderRecord(record, onInvalidJson, url);
      partBytes = jsonStringBytes(part) + comma;
    }
    if (parts.length > 0 && jsonBytes + partBytes > jsonBytesMax) {
      nextOffset = record.offset;
      break;
    }
    parts.push(part);
    jsonBytes += partBytes;
  }
  const body = new JsonText(
    `${head}${parts.join(',')}${tail(nextOffset, result.highWatermark, result.logStartOffset)}`,
  );
  return { body, records: result.records.slice(0, parts.length) };
}

/**
 * Presigned GET URLs of the values stored apart (`LogRecord.valueAt`) in a fetch result, by offset,
 * and the fetch's `maxBytes`: such a value is answered by reference (`ReferencedData`) when the
 * record is larger than `bytesMax` or its rendering would not fit the answer.
 */
export interface ValueReferences {
  readonly urls: ReadonlyMap<number, string>;
  readonly bytesMax: number;
}

const NO_REFERENCES: ValueReferences = { urls: new Map(), bytesMax: Number.POSITIVE_INFINITY };

function renderRecord(
  record: LogRecord,
  onInvalidJson: (offset: number, field: 'key' | 'value') => void,
  valueUrl?: string,
) {
  const key = renderTyped(record.key, () => onInvalidJson(record.offset, 'key'));
  const value =
    valueUrl !== undefined && record.valueAt !== undefined && record.value !== null
      ? renderReference(record.value.type, valueUrl, record.valueAt)
      : renderTyped(record.value, () => onInvalidJson(record.offset, 'value'));
  let headers = '';
  for (const header of record.headers) {
    if (headers !== '') headers += ',';
    headers += `{"name":${JSON.stringify(header.name)},"value":"${base64(header.value)}"}`;
  }
  return `{"offset":${record.offset},"timestamp":"${isoTime(record.timestamp)}","key":${key},"value":${value},"headers":[${headers}]}`;
}

const tail = (nextOffset: number, highWatermark: number, logStartOffset: number) =>
  `],"nextOffset":${nextOffset},"highWatermark":${highWatermark},"logStartOffset":${logStartOffset}}`;

/** The most the end of a fetch answer takes as a JSON string: offsets have at most 16 digits. */
const TAIL_JSON_BYTES_MAX = jsonStringBytes(
  tail(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
);

/** A value as a reference: GET `range` of `url` (`ReferencedData` in the OpenAPI document). */
function renderReference(type: TypedBytes['type'], url: string, at: ValueLocation): string {
  return `{"type":"${type}","url":${JSON.stringify(url)},"range":"bytes=${at.start}-${at.end - 1}","bytes":${at.end - at.start}}`;
}

/** Typed bytes as the API's typed data, in JSON text. */
function renderTyped(data: TypedBytes | null, onInvalidJson: () => void): string {
  if (data === null) return 'null';
  switch (data.type) {
    case 'JSON': {
      const text = jsonTextOf(data.bytes);
      if (text !== undefined) return `{"type":"JSON","data":${text}}`;
      onInvalidJson();
      return `{"type":"BINARY","data":"${base64(data.bytes)}"}`;
    }
    case 'STRING':
      return `{"type":"STRING","data":${JSON.stringify(asBuffer(data.bytes).toString('utf8'))}}`;
    case 'BINARY':
      return `{"type":"BINARY","data":"${base64(data.bytes)}"}`;
  }
}

/** Stored JSON bytes as text, when they are UTF-8 and one valid JSON value; undefined if not. */
function jsonTextOf(bytes: Uint8Array): string | undefined {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
    JSON.parse(text);
  } catch {
    return undefined;
  }
  return text;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const base64 = (bytes: Uint8Array) => asBuffer(bytes).toString('base64');

export function renderTopicSummary(topic: Topic) {
  return {
    name: topic.name,
    partitionCount: topic.partitionCount,
    config: topic.config,
    createdAt: isoTime(topic.createdAt),
  };
}

export function renderTopic(description: TopicDescription) {
  const { topic, partitions } = description;
  return {
    name: topic.name,
    topicId: topic.topicId,
    partitionCount: topic.partitionCount,
    partitions,
    config: topic.config,
    createdAt: isoTime(topic.createdAt),
  };
}
