import { describe, expect, it } from 'vitest';
import { type CandidateBatch, planSegment } from '../../shared/domain/archiver.js';
import { InvalidRequestError } from '../../shared/domain/errors.js';
import { LIMITS } from '../../shared/domain/limits.js';
import { planRetention } from '../../shared/domain/retention.js';
import { FRAME_HEADER_BYTES_MAX } from '../../shared/domain/segment-format.js';
import {
  PAYLOAD_KEEP_AFTER_TTL_MS,
  payloadClassDaysOf,
  payloadKey,
  payloadRetentionClassDays,
  RETENTION_CLASS_DAYS,
  RETENTION_CLASS_FOREVER,
  retentionClassDays,
  retentionClassTags,
} from '../../shared/domain/segment-keys.js';
import { LruCache } from '../../shared/domain/segment-reader.js';
import { resolveTopicConfig } from '../../shared/domain/topic.js';
import type { SegmentEntry } from '../../shared/ports/segment-archive.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = 1_800_000_000_000;
const LIMITS_OF_TEST = { expiryMarginMs: 60_000, batchesPerSegmentMax: 1000 };

/** Batches of `dataBytes` each, one record each, appended at the given running max timestamps. */
function batches(timestamps: readonly number[], dataBytes = 100, expiresAt = NOW + DAY): CandidateBatch[] {
  return timestamps.map((timestamp, offset) => ({
    baseOffset: offset,
    lastOffset: offset,
    maxTimestampSoFar: timestamp,
    data: new Uint8Array(dataBytes),
    expiresAt,
    rescued: false,
  }));
}

describe('segment rolls', () => {
  const config = { segmentMs: 60_000, segmentBytes: 10 * (100 + FRAME_HEADER_BYTES_MAX) };

  it('rolls by size when the next batch would not fit', () => {
    const plan = planSegment(batches(Array.from({ length: 12 }, () => NOW)), config, NOW, LIMITS_OF_TEST);

    expect(plan).toEqual({ batchCount: 10, reason: 'size' });
  });

  it('rolls by time when the next batch is segmentMs newer than the first', () => {
    const plan = planSegment(
      batches([NOW - 90_000, NOW - 80_000, NOW - 20_000]),
      config,
      NOW,
      LIMITS_OF_TEST,
    );

    expect(plan).toEqual({ batchCount: 2, reason: 'time' });
  });

  it('rolls an idle run whose first batch is segmentMs old', () => {
    const plan = planSegment(batches([NOW - 60_000, NOW - 59_000]), config, NOW, LIMITS_OF_TEST);

    expect(plan).toEqual({ batchCount: 2, reason: 'time' });
  });

  it('rolls a young run early when a TTL is due within the margin', () => {
    const plan = planSegment(batches([NOW - 1000], 100, NOW + 30_000), config, NOW, LIMITS_OF_TEST);

    expect(plan).toEqual({ batchCount: 1, reason: 'expiry' });
  });

  it('waits while the run is young, small and far from its TTL', () => {
    expect(planSegment(batches([NOW - 1000, NOW - 500]), config, NOW, LIMITS_OF_TEST)).toBeUndefined();
    expect(planSegment([], config, NOW, LIMITS_OF_TEST)).toBeUndefined();
  });

  it('gives a batch larger than segmentBytes a segment of its own', () => {
    const big = batches([NOW, NOW], config.segmentBytes * 2);

    expect(planSegment(big, config, NOW, LIMITS_OF_TEST)).toEqual({ batchCount: 1, reason: 'size' });
  });

  it('bounds the batches of one segment', () => {
    const many = batches(
      Array.from({ length: 5 }, () => NOW),
      1,
    );

    const plan = planSegment(many, { ...config, segmentBytes: 1 << 20 }, NOW, {
      ...LIMITS_OF_TEST,
      batchesPerSegmentMax: 3,
    });

    expect(plan).toEqual({ batchCount: 3, reason: 'size' });
  });
});

function entry(lastOffset: number, archivedAt: number, batchBytes = 100): SegmentEntry {
  return {
    baseOffset: lastOffset - 9,
    lastOffset,
    key: `k${lastOffset}`,
    objectBytes: batchBytes + 50,
    indexPosition: batchBytes,
    batchBytes,
    maxTimestampSoFar: archivedAt,
    archivedAt,
    retentionClassDays: 8,
  };
}

describe('retention plans', () => {
  const entries = [entry(9, NOW - 5 * DAY), entry(19, NOW - 3 * DAY), entry(29, NOW - DAY)];

  it('deletes the segments archived longer ago than retentionMs, oldest first', () => {
    const plan = planRetention(entries, 300, { retentionMs: 2 * DAY, retentionBytes: -1 }, 0, NOW);

    expect(plan).toEqual({ segmentCount: 2, releasedBytes: 200, logStartOffset: 20 });
  });

  it('keeps every segment archived within retentionMs, and everything with -1', () => {
    expect(
      planRetention(entries, 300, { retentionMs: 6 * DAY, retentionBytes: -1 }, 0, NOW).segmentCount,
    ).toBe(0);
    expect(planRetention(entries, 300, { retentionMs: -1, retentionBytes: -1 }, 0, NOW).segmentCount).toBe(0);
  });

  it('deletes the oldest segments while the rest still hold retentionBytes', () => {
    const plan = planRetention(entries, 300, { retentionMs: -1, retentionBytes: 150 }, 0, NOW);

    expect(plan).toEqual({ segmentCount: 1, releasedBytes: 100, logStartOffset: 10 });
  });

  it('stops at the first segment it keeps, even when a later one looks older', () => {
    const unordered = [entry(9, NOW), entry(19, NOW - 9 * DAY)];

    expect(planRetention(unordered, 200, { retentionMs: DAY, retentionBytes: -1 }, 0, NOW).segmentCount).toBe(
      0,
    );
  });
});

describe('lifecycle retention classes', () => {
  it('picks a class at least a day longer than the retention', () => {
    expect(retentionClassDays(60_000)).toBe(2);
    expect(retentionClassDays(DAY)).toBe(2);
    expect(retentionClassDays(DAY + 1)).toBe(3);
    expect(retentionClassDays(7 * DAY)).toBe(8);
    expect(retentionClassDays(LIMITS.retentionMsMax)).toBe(3651);
  });

  it('never expires segments of a topic kept forever, and tags nothing on them', () => {
    expect(retentionClassDays(-1)).toBe(RETENTION_CLASS_FOREVER);
    expect(retentionClassTags(RETENTION_CLASS_FOREVER)).toEqual({});
    expect(retentionClassTags(8)).toEqual({ 'shoal-retention-days': '8' });
  });

  it('keeps a payload object past its batch items TTL and the TTL stream, and never forever', () => {
    // The default local retention (a day) plus a week: the first class at least a day longer.
    expect(payloadRetentionClassDays(LIMITS.localRetentionMsDefault)).toBe(15);
    for (const localRetentionMs of [LIMITS.localRetentionMsMin, DAY, 30 * DAY, LIMITS.localRetentionMsMax]) {
      const days = payloadRetentionClassDays(localRetentionMs);
      expect(RETENTION_CLASS_DAYS).toContain(days);
      if (days !== RETENTION_CLASS_DAYS.at(-1)) {
        expect(days * DAY).toBeGreaterThanOrEqual(localRetentionMs + PAYLOAD_KEEP_AFTER_TTL_MS + DAY);
      }
    }
    expect(payloadRetentionClassDays(LIMITS.localRetentionMsMax)).toBe(3651);
  });

  it('names a payload object by its class, topic and append, and reads the class back', () => {
    const key = payloadKey('topic-id', 15, 'append-id');

    expect(key).toBe('payloads/15d/topic-id/append-id');
    expect(payloadClassDaysOf(key)).toBe(15);
    expect(payloadClassDaysOf('segments/topic-id/0/x.seg')).toBeUndefined();
  });

  it('has a class for every retention a topic may have', () => {
    for (const days of RETENTION_CLASS_DAYS) {
      expect(retentionClassDays((days - 1) * DAY)).toBe(days);
    }
  });
});

describe('topic configuration', () => {
  it('fills defaults in Kafka terms, keeping batches hot at most as long as the topic keeps them', () => {
    expect(resolveTopicConfig({})).toEqual({
      retentionMs: LIMITS.retentionMsDefault,
      retentionBytes: -1,
      segmentMs: LIMITS.segmentMsDefault,
      segmentBytes: LIMITS.segmentBytesDefault,
      localRetentionMs: LIMITS.localRetentionMsDefault,
    });
    expect(resolveTopicConfig({ retentionMs: 60_000 }).localRetentionMs).toBe(60_000);
  });

  it('lets a shorter retention pull localRetentionMs down, and keeps the rest on update', () => {
    const current = resolveTopicConfig({ segmentMs: 1000, localRetentionMs: 2 * DAY, retentionMs: 3 * DAY });

    const updated = resolveTopicConfig({ retentionMs: DAY }, current);

    expect(updated).toMatchObject({ retentionMs: DAY, localRetentionMs: DAY, segmentMs: 1000 });
  });

  it.each([
    [{ segmentMs: 999 }, 'segmentMs'],
    [{ segmentBytes: LIMITS.segmentBytesMax + 1 }, 'segmentBytes'],
    [{ retentionBytes: 0 }, 'retentionBytes'],
    [{ localRetentionMs: 1.5 }, 'localRetentionMs'],
    [{ retentionMs: 60_000, localRetentionMs: 120_000 }, 'localRetentionMs'],
  ])('fails when given %j, naming %s', (input, field) => {
    let error: unknown;
    try {
      resolveTopicConfig(input);
    } catch (thrown) {
      error = thrown;
    }

    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as InvalidRequestError).field).toBe(field);
  });
});

describe('the segment caches', () => {
  it('evicts the least recently used entries past its byte bound', () => {
    const cache = new LruCache<string>(10);
    cache.set('a', 'A', 4);
    cache.set('b', 'B', 4);
    cache.get('a');

    cache.set('c', 'C', 4);

    expect(cache.get('a')).toBe('A');
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('c')).toBe('C');
    expect(cache.bytes).toBe(8);
  });

  it('keeps nothing larger than its bound', () => {
    const cache = new LruCache<string>(10);

    cache.set('huge', 'H', 11);

    expect(cache.get('huge')).toBeUndefined();
  });
});
