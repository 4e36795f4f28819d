import { describe, expect, it } from 'vitest';
import { buildBatchEvent, VALUE_OMITTED_HEADER } from '../../shared/domain/batch-invocation.js';
import type { LogRecord } from '../../shared/domain/record.js';
import { SUBSCRIPTION_LIMITS, type Subscription } from '../../shared/domain/subscription.js';

const input = {
  subscription: { maxRecordAgeMs: -1 } as Subscription,
  filter: () => true,
  topic: 'big',
  partition: 0,
  bootstrapServers: 'shoal',
  now: 0,
};

const record = (offset: number, valueBytes: number): LogRecord => ({
  offset,
  timestamp: 0,
  key: { type: 'STRING', bytes: new TextEncoder().encode('k') },
  value: { type: 'BINARY', bytes: new Uint8Array(valueBytes).fill(7) },
  headers: [{ name: 'trace', value: new Uint8Array([1]) }],
});

const eventRecords = (payload: string) =>
  (JSON.parse(payload) as { records: Record<string, { value?: string; headers: object[] }[]> }).records[
    'big-0'
  ] ?? [];

describe('buildBatchEvent and records up to 10 MiB', () => {
  it('delivers a 4 MiB value in the event, alone when the batch would not fit', () => {
    const batch = buildBatchEvent([record(0, 4 * 1024 * 1024), record(1, 4 * 1024 * 1024)], input);

    expect(batch.records.map((r) => r.offset)).toEqual([0]);
    expect(Buffer.byteLength(batch.payload)).toBeLessThanOrEqual(SUBSCRIPTION_LIMITS.eventBytesMax);
    expect(eventRecords(batch.payload)[0]?.value).toBe(Buffer.alloc(4 * 1024 * 1024, 7).toString('base64'));
  });

  it('delivers a record whose value no invocation holds without its value, a header naming its size', () => {
    const batch = buildBatchEvent([record(5, 10 * 1024 * 1024 - 64)], input);
    const [delivered] = eventRecords(batch.payload);

    expect(Buffer.byteLength(batch.payload)).toBeLessThanOrEqual(SUBSCRIPTION_LIMITS.eventBytesMax);
    expect(batch.records.map((r) => r.offset)).toEqual([5]);
    expect(delivered?.value).toBeUndefined();
    expect(delivered?.headers).toEqual([
      { trace: [1] },
      { [VALUE_OMITTED_HEADER]: [...Buffer.from(String(10 * 1024 * 1024 - 64))] },
    ]);
  });
});
