/**
 * Retention's plan at its bounds (README guarantee 7): a segment goes once its archive time is
 * older than retentionMs, not a millisecond sooner, and while the rest still holds retentionBytes.
 */
import { describe, expect, it } from 'vitest';
import { planRetention, retentionApplies } from '../../shared/domain/retention.js';
import type { SegmentEntry } from '../../shared/ports/segment-archive.js';

const NOW = 10_000_000;

function segment(baseOffset: number, lastOffset: number, archivedAt: number, batchBytes = 100): SegmentEntry {
  return {
    baseOffset,
    lastOffset,
    key: `s/${baseOffset}`,
    objectBytes: batchBytes + 10,
    indexPosition: batchBytes,
    batchBytes,
    maxTimestampSoFar: 0,
    archivedAt,
    retentionClassDays: 7,
  };
}

const FOREVER = { retentionMs: -1, retentionBytes: -1 };

describe('planRetention by time', () => {
  const entries = [segment(0, 9, NOW - 5_000), segment(10, 19, NOW - 3_000), segment(20, 29, NOW - 1_000)];

  it('keeps a segment archived exactly retentionMs ago, and deletes it a millisecond later', () => {
    const atBound = planRetention(entries, 300, { retentionMs: 5_000, retentionBytes: -1 }, 0, NOW);
    const past = planRetention(entries, 300, { retentionMs: 4_999, retentionBytes: -1 }, 0, NOW);

    expect(atBound).toEqual({ segmentCount: 0, releasedBytes: 0, logStartOffset: 0 });
    expect(past).toEqual({ segmentCount: 1, releasedBytes: 100, logStartOffset: 10 });
  });

  it('deletes every segment older than retentionMs, oldest first, and stops at the first kept', () => {
    const plan = planRetention(entries, 300, { retentionMs: 2_000, retentionBytes: -1 }, 0, NOW);

    expect(plan).toEqual({ segmentCount: 2, releasedBytes: 200, logStartOffset: 20 });
  });

  it('stops at a young segment even when an older one follows it', () => {
    const shuffled = [segment(0, 9, NOW - 1_000), segment(10, 19, NOW - 9_000)];

    expect(
      planRetention(shuffled, 200, { retentionMs: 2_000, retentionBytes: -1 }, 0, NOW).segmentCount,
    ).toBe(0);
  });

  it('keeps everything with retentionMs -1', () => {
    expect(planRetention(entries, 300, FOREVER, 0, NOW)).toEqual({
      segmentCount: 0,
      releasedBytes: 0,
      logStartOffset: 0,
    });
  });

  it('leaves logStartOffset where it was when nothing goes', () => {
    expect(planRetention([], 0, { retentionMs: 1, retentionBytes: -1 }, 42, NOW).logStartOffset).toBe(42);
  });
});

describe('planRetention by size', () => {
  const entries = [segment(0, 9, NOW, 100), segment(10, 19, NOW, 150), segment(20, 29, NOW, 50)];

  it('deletes a segment while the rest still holds at least retentionBytes', () => {
    expect(planRetention(entries, 300, { retentionMs: -1, retentionBytes: 200 }, 0, NOW)).toEqual({
      segmentCount: 1,
      releasedBytes: 100,
      logStartOffset: 10,
    });
    expect(planRetention(entries, 300, { retentionMs: -1, retentionBytes: 50 }, 0, NOW)).toEqual({
      segmentCount: 2,
      releasedBytes: 250,
      logStartOffset: 20,
    });
  });

  it('keeps a segment whose deletion would leave less than retentionBytes', () => {
    expect(planRetention(entries, 300, { retentionMs: -1, retentionBytes: 201 }, 0, NOW).segmentCount).toBe(
      0,
    );
    expect(planRetention(entries, 300, { retentionMs: -1, retentionBytes: 51 }, 0, NOW).segmentCount).toBe(1);
  });

  it('deletes every segment for a bound of 0 bytes', () => {
    expect(planRetention(entries, 300, { retentionMs: -1, retentionBytes: 0 }, 0, NOW)).toEqual({
      segmentCount: 3,
      releasedBytes: 300,
      logStartOffset: 30,
    });
  });

  it('deletes what either bound asks for', () => {
    const aged = [segment(0, 9, NOW - 10_000, 10), segment(10, 19, NOW, 500), segment(20, 29, NOW, 50)];

    const plan = planRetention(aged, 560, { retentionMs: 5_000, retentionBytes: 50 }, 0, NOW);

    expect(plan).toEqual({ segmentCount: 2, releasedBytes: 510, logStartOffset: 20 });
  });
});

describe('retentionApplies', () => {
  it('answers whether either bound is set', () => {
    expect(retentionApplies(FOREVER)).toBe(false);
    expect(retentionApplies({ retentionMs: 1, retentionBytes: -1 })).toBe(true);
    expect(retentionApplies({ retentionMs: -1, retentionBytes: 0 })).toBe(true);
  });
});
