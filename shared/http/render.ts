/**
 * Between the API's typed data (Kafka REST v3: JSON, STRING, BINARY) and the domain's bytes.
 */
import type { z } from 'zod';
import { InvalidRequestError } from '../domain/errors.js';
import type { ProduceRecord, RecordPosition } from '../domain/log-service.js';
import type { LogRecord, RecordHeader, TypedBytes } from '../domain/record.js';
import type { Topic } from '../domain/topic.js';
import type { TopicDescription } from '../domain/topic-service.js';
import type { Header, ProduceRecordSchema, TypedData } from './schemas.js';

type TypedDataInput = z.output<typeof TypedData>;

/** API typed data to bytes: JSON as its UTF-8 text, STRING as UTF-8, BINARY decoded from base64. */
export function toTypedBytes(data: TypedDataInput | null | undefined): TypedBytes | null {
  if (data === null || data === undefined) return null;
  switch (data.type) {
    case 'JSON':
      return { type: 'JSON', bytes: Buffer.from(JSON.stringify(data.data), 'utf8') };
    case 'STRING':
      return { type: 'STRING', bytes: Buffer.from(data.data, 'utf8') };
    case 'BINARY':
      return { type: 'BINARY', bytes: Buffer.from(data.data, 'base64') };
  }
}

/** Bytes back to API typed data. */
export function fromTypedBytes(data: TypedBytes | null): TypedDataInput | null {
  if (data === null) return null;
  const buffer = Buffer.from(data.bytes.buffer, data.bytes.byteOffset, data.bytes.byteLength);
  switch (data.type) {
    case 'JSON':
      return { type: 'JSON', data: JSON.parse(buffer.toString('utf8')) };
    case 'STRING':
      return { type: 'STRING', data: buffer.toString('utf8') };
    case 'BINARY':
      return { type: 'BINARY', data: buffer.toString('base64') };
  }
}

function toHeader(header: z.output<typeof Header>): RecordHeader {
  return { name: header.name, value: Buffer.from(header.value, 'base64') };
}

/** A validated API record to the domain's produce input. */
export function toProduceRecord(record: z.output<typeof ProduceRecordSchema>, index: number): ProduceRecord {
  if (record.key === undefined && record.value === undefined) {
    throw new InvalidRequestError(`records[${index}]: give a key or a value`, `records[${index}]`);
  }
  return {
    key: toTypedBytes(record.key),
    value: toTypedBytes(record.value),
    headers: (record.headers ?? []).map(toHeader),
    ...(record.timestamp === undefined ? {} : { timestamp: record.timestamp }),
    ...(record.partition === undefined ? {} : { partition: record.partition }),
  };
}

export const isoTime = (epochMs: number) => new Date(epochMs).toISOString();

export function renderPosition(position: RecordPosition) {
  return { partition: position.partition, offset: position.offset, timestamp: isoTime(position.timestamp) };
}

export function renderRecord(record: LogRecord) {
  return {
    offset: record.offset,
    timestamp: isoTime(record.timestamp),
    key: fromTypedBytes(record.key),
    value: fromTypedBytes(record.value),
    headers: record.headers.map((header) => ({
      name: header.name,
      value: Buffer.from(header.value.buffer, header.value.byteOffset, header.value.byteLength).toString(
        'base64',
      ),
    })),
  };
}

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
