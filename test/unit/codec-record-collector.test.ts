/**
 * The records of one fetch answer (`RecordCollector`) and the payload bytes a record counts against
 * a fetch's `maxBytes` (`recordBytes`): the same limits whichever tier a batch comes from.
 */
import { describe, expect, it } from 'vitest';
import type { LogRecord, TypedBytes } from '../../shared/domain/record.js';
import { recordBytes } from '../../shared/domain/record.js';
import { RecordCollector } from '../../shared/domain/record-collector.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const binary = (length: number): TypedBytes => ({ type: 'BINARY', bytes: new Uint8Array(length) });

/** A record at `offset` whose payload is `valueBytes` bytes of value and nothing else. */
function record(offset: number, valueBytes = 10): LogRecord {
  return { offset, timestamp: 1_000 + offset, key: null, value: binary(valueBytes), headers: [] };
}

/** A batch of `count` records from `baseOffset`, each `valueBytes` bytes. */
function batch(baseOffset: number, count: number, valueBytes = 10) {
  return {
    baseOffset,
    records: Array.from({ length: count }, (_, i) => record(baseOffset + i, valueBytes)),
  };
}

const offsets = (collector: RecordCollector) => collector.records.map((r) => r.offset);

describe('recordBytes', () => {
  it('counts key, value, header names and header values', () => {
    // Prepare
    const logRecord: LogRecord = {
      offset: 0,
      timestamp: 0,
      key: { type: 'STRING', bytes: utf8('key') },
      value: { type: 'JSON', bytes: utf8('{"a":1}') },
      headers: [
        { name: 'trace', value: utf8('abcd') },
        { name: 'x', value: new Uint8Array(0) },
      ],
    };

    // Act
    const bytes = recordBytes(logRecord);

    // Assess
    expect(bytes).toBe(3 + 7 + 5 + 4 + 1);
  });

  it('counts a null key and a null value as no bytes', () => {
    // Act
    const bytes = recordBytes({ offset: 0, timestamp: 0, key: null, value: null, headers: [] });

    // Assess
    expect(bytes).toBe(0);
  });
});

describe('RecordCollector', () => {
  it('takes the records of a batch from the fetch offset on and moves nextOffset past them', () => {
    // Prepare
    const collector = new RecordCollector(12, { recordsMax: 100, bytesMax: 10_000 });

    // Act
    const more = collector.addBatch(batch(10, 5));

    // Assess
    expect(more).toBe(true);
    expect(collector.full).toBe(false);
    expect(offsets(collector)).toEqual([12, 13, 14]);
    expect(collector.nextOffset).toBe(15);
  });

  it('continues with the next batch where the previous one ended', () => {
    // Prepare
    const collector = new RecordCollector(0, { recordsMax: 100, bytesMax: 10_000 });
    collector.addBatch(batch(0, 2));

    // Act
    const more = collector.addBatch(batch(2, 2));

    // Assess
    expect(more).toBe(true);
    expect(offsets(collector)).toEqual([0, 1, 2, 3]);
    expect(collector.nextOffset).toBe(4);
  });

  it('fails when a batch starts past the next offset (a gap in the answer)', () => {
    // Prepare
    const collector = new RecordCollector(5, { recordsMax: 100, bytesMax: 10_000 });

    // Act
    const act = () => collector.addBatch(batch(6, 2));

    // Assess
    expect(act).toThrow(/continues with batch 6/);
    expect(collector.records).toEqual([]);
  });

  it('fails when the records of a batch skip an offset', () => {
    // Prepare
    const collector = new RecordCollector(0, { recordsMax: 100, bytesMax: 10_000 });

    // Act
    const act = () => collector.addBatch({ baseOffset: 0, records: [record(0), record(2)] });

    // Assess
    expect(act).toThrow();
  });

  it('stops at recordsMax in the middle of a batch', () => {
    // Prepare
    const collector = new RecordCollector(0, { recordsMax: 3, bytesMax: 10_000 });

    // Act
    const more = collector.addBatch(batch(0, 5));

    // Assess
    expect(more).toBe(false);
    expect(collector.full).toBe(true);
    expect(offsets(collector)).toEqual([0, 1, 2]);
    expect(collector.nextOffset).toBe(3);
  });

  it('is full once a batch ends exactly at recordsMax', () => {
    // Prepare
    const collector = new RecordCollector(0, { recordsMax: 3, bytesMax: 10_000 });

    // Act
    const more = collector.addBatch(batch(0, 3));

    // Assess
    expect(more).toBe(false);
    expect(collector.full).toBe(true);
    expect(offsets(collector)).toEqual([0, 1, 2]);
  });

  it('takes no more records once full', () => {
    // Prepare
    const collector = new RecordCollector(0, { recordsMax: 2, bytesMax: 10_000 });
    collector.addBatch(batch(0, 2));

    // Act
    const more = collector.addBatch(batch(2, 2));

    // Assess
    expect(more).toBe(false);
    expect(offsets(collector)).toEqual([0, 1]);
    expect(collector.nextOffset).toBe(2);
  });

  it('takes records up to exactly bytesMax and stops before the one that would pass it', () => {
    // Prepare
    const collector = new RecordCollector(0, { recordsMax: 100, bytesMax: 30 });

    // Act
    const more = collector.addBatch(batch(0, 4, 10));

    // Assess
    expect(more).toBe(false);
    expect(collector.full).toBe(true);
    expect(offsets(collector)).toEqual([0, 1, 2]);
    expect(collector.nextOffset).toBe(3);
  });

  it('takes a first record larger than bytesMax, so a fetch always makes progress', () => {
    // Prepare
    const collector = new RecordCollector(7, { recordsMax: 100, bytesMax: 5 });

    // Act
    const more = collector.addBatch(batch(7, 2, 50));

    // Assess
    expect(more).toBe(false);
    expect(offsets(collector)).toEqual([7]);
    expect(collector.nextOffset).toBe(8);
  });

  it('tells what is left of the limits', () => {
    // Prepare
    const collector = new RecordCollector(0, { recordsMax: 10, bytesMax: 100 });
    const before = collector.remaining;

    // Act
    collector.addBatch(batch(0, 3, 20));

    // Assess
    expect(before).toEqual({ recordsMax: 10, bytesMax: 100 });
    expect(collector.remaining).toEqual({ recordsMax: 7, bytesMax: 40 });
  });

  it('leaves at least one record and one byte in what is left', () => {
    // Prepare
    const collector = new RecordCollector(0, { recordsMax: 1, bytesMax: 5 });

    // Act
    collector.addBatch(batch(0, 1, 50));

    // Assess
    expect(collector.remaining).toEqual({ recordsMax: 1, bytesMax: 1 });
  });
});
