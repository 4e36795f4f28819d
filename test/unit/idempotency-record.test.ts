/**
 * What an Idempotency-Key is stored with (log-service.ts): the fingerprint of the request, which
 * tells a retry of the same records (answered with the first answer) from other records under the
 * same key (refused, guarantee 9), and the compact form of the first answer. Pure functions.
 */
import { brotliDecompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  deserializePositions,
  hashProduceRequest,
  serializePositions,
} from '../../shared/domain/log-service.js';
import type { ProduceRecordInput } from '../../shared/domain/record.js';

const utf8 = (text: string) => new TextEncoder().encode(text);

const base: ProduceRecordInput = {
  key: { type: 'STRING', bytes: utf8('k') },
  value: { type: 'JSON', bytes: utf8('{"n":1}') },
  headers: [{ name: 'trace', value: utf8('abc') }],
  partition: 1,
  timestamp: 42,
};

const hash = (...records: ProduceRecordInput[]) => hashProduceRequest('t', records);

describe('hashProduceRequest', () => {
  it('is the same for the same records, in fresh copies', () => {
    expect(hash(base)).toBe(hash(structuredClone(base)));
    expect(hash(base, base)).toBe(hash(structuredClone(base), structuredClone(base)));
  });

  it('tells apart records that differ in any one field', () => {
    const variants: ProduceRecordInput[] = [
      { ...base, partition: 2 },
      { ...base, partition: undefined },
      { ...base, timestamp: 43 },
      { ...base, timestamp: undefined },
      { ...base, key: null },
      { ...base, key: { type: 'BINARY', bytes: utf8('k') } },
      { ...base, key: { type: 'STRING', bytes: utf8('K') } },
      { ...base, value: null },
      { ...base, value: { type: 'STRING', bytes: utf8('{"n":1}') } },
      { ...base, value: { type: 'JSON', bytes: utf8('{"n":1.0}') } },
      { ...base, headers: [] },
      { ...base, headers: [{ name: 'trace', value: utf8('abd') }] },
      { ...base, headers: [{ name: 'Trace', value: utf8('abc') }] },
      { ...base, headers: [...base.headers, ...base.headers] },
      { ...base, value: { type: 'JSON', uploadId: `${'a'.repeat(32)}-7` } },
    ];

    const hashes = new Set([hash(base), ...variants.map((variant) => hash(variant))]);

    expect(hashes.size).toBe(variants.length + 1);
  });

  it('tells apart the topic, the number of records and where one field ends and the next begins', () => {
    const split = (name: string, value: string): ProduceRecordInput => ({
      ...base,
      headers: [{ name, value: utf8(value) }],
    });

    expect(hashProduceRequest('t', [base])).not.toBe(hashProduceRequest('u', [base]));
    expect(hash(base)).not.toBe(hash(base, base));
    expect(hash(split('ab', 'c'))).not.toBe(hash(split('a', 'bc')));
  });

  it('tells an upload from bytes given inline that spell its type and id', () => {
    const uploadId = `${'b'.repeat(32)}-3`;
    const upload: ProduceRecordInput = { ...base, value: { type: 'BINARY', uploadId } };
    const inline: ProduceRecordInput = { ...base, value: { type: 'BINARY', bytes: utf8(uploadId) } };
    const otherUpload: ProduceRecordInput = {
      ...base,
      value: { type: 'BINARY', uploadId: `${'c'.repeat(32)}-3` },
    };
    const otherType: ProduceRecordInput = { ...base, value: { type: 'STRING', uploadId } };

    expect(new Set([hash(upload), hash(inline), hash(otherUpload), hash(otherType)]).size).toBe(4);
  });
});

describe('serializePositions', () => {
  const decoded = (data: Uint8Array) => JSON.parse(brotliDecompressSync(data).toString('utf8'));

  it('stores one timestamp when every record has the same, and the first offset per partition', () => {
    const positions = [
      { partition: 0, offset: 5, timestamp: 1_000 },
      { partition: 1, offset: 9, timestamp: 1_000 },
      { partition: 0, offset: 6, timestamp: 1_000 },
    ];

    const data = serializePositions(positions);

    expect(decoded(data)).toEqual({ p: [0, 1, 0], b: { 0: 5, 1: 9 }, t: 1_000 });
    expect(deserializePositions(data)).toEqual(positions);
  });

  it('stores differences from the record before when producer timestamps differ', () => {
    const positions = [
      { partition: 0, offset: 0, timestamp: 1_000 },
      { partition: 0, offset: 1, timestamp: 990 },
      { partition: 0, offset: 2, timestamp: 1_005 },
    ];

    const data = serializePositions(positions);

    expect(decoded(data)).toEqual({ p: [0, 0, 0], b: { 0: 0 }, d: [1_000, -10, 15] });
    expect(deserializePositions(data)).toEqual(positions);
  });
});
