/**
 * Where tiered storage puts things in the segment bucket (`segment-keys.ts`): keys that list in
 * offset order, the rescue and payload keys read back by the S3 adapter and the lifecycle rules
 * (a foreign key is never mistaken for one of ours), and the retention class each retention gets,
 * always at least a day longer, so that S3's backstop never deletes what a topic still keeps.
 */
import { describe, expect, it } from 'vitest';
import {
  baseOffsetOfRescueKey,
  PAYLOAD_KEEP_AFTER_TTL_MS,
  paddedOffset,
  payloadClassDaysOf,
  payloadClassPrefix,
  payloadKey,
  payloadRetentionClassDays,
  RETENTION_CLASS_DAYS,
  RETENTION_CLASS_FOREVER,
  rescueKey,
  rescuePrefix,
  retentionClassDays,
  retentionClassTags,
  segmentKey,
  uploadKey,
} from '../../shared/domain/segment-keys.js';

const DAY = 24 * 60 * 60 * 1000;

describe('segment bucket keys', () => {
  it('names a segment by its partition and offset range, zero-padded to 16 digits', () => {
    expect(segmentKey('t-1', 3, 5, 1234)).toBe('segments/t-1/3/0000000000000005-0000000000001234.seg');
    expect(paddedOffset(2 ** 53 - 1)).toBe('9007199254740991');
  });

  it('lists segments and rescued batches in offset order', () => {
    const offsets = [0, 9, 10, 99, 100, 12_345, 2 ** 40];
    const segments = offsets.map((offset) => segmentKey('t', 0, offset, offset + 1));
    const rescued = offsets.map((offset) => rescueKey('t', 0, offset));

    expect([...segments].sort()).toEqual(segments);
    expect([...rescued].sort()).toEqual(rescued);
  });

  it('puts a rescued batch in its partition folder, and reads its base offset back from the key', () => {
    const key = rescueKey('t-1', 2, 42);

    expect(rescuePrefix('t-1', 2)).toBe('rescue/t-1/2/');
    expect(key).toBe('rescue/t-1/2/0000000000000042.batch');
    expect(baseOffsetOfRescueKey(key)).toBe(42);
    expect(baseOffsetOfRescueKey(rescueKey('t', 0, 2 ** 50))).toBe(2 ** 50);
  });

  it('reads no base offset from a key that is not a rescued batch', () => {
    for (const foreign of [
      'rescue/t/0/000000000000042.batch',
      'rescue/t/0/00000000000000042.batch',
      'rescue/t/0/0000000000000042.batch.tmp',
      'rescue/t/0/0000000000000042xbatch',
      'rescue/t/0/00000000000000a2.batch',
      'rescue/t/0/x0000000000000042.batch',
      segmentKey('t', 0, 42, 42),
    ]) {
      expect(baseOffsetOfRescueKey(foreign), foreign).toBeUndefined();
    }
  });

  it('names uploads and payload objects by topic, and a payload object by its class first', () => {
    expect(uploadKey('t-1', 'u-9')).toBe('uploads/t-1/u-9');
    expect(payloadClassPrefix(15)).toBe('payloads/15d/');
    expect(payloadKey('t-1', 15, 'a-7')).toBe('payloads/15d/t-1/a-7');
  });

  it('reads the class of a payload key, and none of any other key', () => {
    expect(payloadClassDaysOf(payloadKey('t', 8, 'a'))).toBe(8);
    expect(payloadClassDaysOf(payloadKey('t', 3651, 'a'))).toBe(3651);
    expect(payloadClassDaysOf('payloads/1234567d/t/a')).toBe(1_234_567);
    for (const foreign of [
      'payloads/12345678d/t/a',
      'payloads/d/t/a',
      'payloads/8/t/a',
      'payloads/8dx/t/a',
      'x/payloads/8d/t/a',
      'uploads/t/a',
    ]) {
      expect(payloadClassDaysOf(foreign), foreign).toBeUndefined();
    }
  });
});

describe('retention classes', () => {
  it('gives each retention the smallest class at least a day longer', () => {
    expect(retentionClassDays(1)).toBe(2);
    expect(retentionClassDays(DAY)).toBe(2);
    expect(retentionClassDays(DAY + 1)).toBe(3);
    expect(retentionClassDays(7 * DAY)).toBe(8);
    expect(retentionClassDays(7 * DAY + 1)).toBe(15);
    expect(retentionClassDays(3650 * DAY)).toBe(3651);
  });

  it('never expires segments kept forever or longer than every class', () => {
    expect(retentionClassDays(-1)).toBe(RETENTION_CLASS_FOREVER);
    expect(retentionClassDays(3650 * DAY + 1)).toBe(RETENTION_CLASS_FOREVER);
  });

  it('tags a segment with its class, and a segment kept forever with nothing', () => {
    expect(retentionClassTags(31)).toEqual({ 'shoal-retention-days': '31' });
    expect(retentionClassTags(RETENTION_CLASS_FOREVER)).toEqual({});
  });

  it('keeps a payload object a week past its TTL, and never forever', () => {
    expect(payloadRetentionClassDays(DAY)).toBe(retentionClassDays(DAY + PAYLOAD_KEEP_AFTER_TTL_MS));
    expect(payloadRetentionClassDays(DAY)).toBe(15);
    expect(payloadRetentionClassDays(3650 * DAY)).toBe(RETENTION_CLASS_DAYS.at(-1));
  });
});
