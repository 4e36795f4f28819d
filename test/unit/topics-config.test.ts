/**
 * Topic names and configuration (`shared/domain/topic.ts`): Kafka's naming rules, the published
 * bounds of every configuration field (README, `LIMITS`), and how a change combines with the
 * current configuration. Each refusal names the offending field, which the 400 answer shows.
 */
import { describe, expect, it } from 'vitest';
import { InvalidRequestError, PartitionNotFoundError } from '../../shared/domain/errors.js';
import {
  requirePartition,
  resolveTopicConfig,
  type Topic,
  type TopicConfig,
  validateTopicName,
  withConfigDefaults,
} from '../../shared/domain/topic.js';

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

/** The error `act` throws (the test fails when it throws nothing). */
function thrown(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error('expected a refusal');
}

/** Asserts `act` is refused as an invalid request naming `field`, with a message matching `message`. */
function expectRefused(act: () => unknown, field: string, message: RegExp): void {
  const error = thrown(act);
  expect(error).toBeInstanceOf(InvalidRequestError);
  expect((error as InvalidRequestError).field).toBe(field);
  expect((error as Error).message).toMatch(message);
}

describe('validateTopicName (Kafka: 1 to 249 of [a-zA-Z0-9._-], not "." or "..")', () => {
  it.each(['a', 'orders', 'Orders.v2_EU-west-1', '...', '.hidden', '_', '-', 'a'.repeat(249)])(
    'accepts %j',
    (name) => {
      expect(() => validateTopicName(name)).not.toThrow();
    },
  );

  it('fails when the name is empty', () => {
    expectRefused(() => validateTopicName(''), 'name', /^Topic name must be 1 to 249 characters, got 0$/);
  });

  it('fails when the name has 250 characters', () => {
    expectRefused(
      () => validateTopicName('a'.repeat(250)),
      'name',
      /^Topic name must be 1 to 249 characters, got 250$/,
    );
  });

  it.each(['.', '..'])('fails when the name is %j', (name) => {
    expectRefused(() => validateTopicName(name), 'name', new RegExp(`^Topic name cannot be '\\${name[0]}`));
  });

  it.each(['with space', 'slash/topic', 'colon:topic', 'ümlaut', 'star*', 'new\nline', 'orders\n'])(
    'fails when the name %j holds a character Kafka refuses',
    (name) => {
      expectRefused(
        () => validateTopicName(name),
        'name',
        /may contain only ASCII letters, digits, '\.', '_' and '-'$/,
      );
    },
  );
});

describe('resolveTopicConfig for a new topic', () => {
  it('gives the published defaults when nothing is set', () => {
    expect(resolveTopicConfig({})).toEqual({
      retentionMs: 7 * DAY_MS,
      retentionBytes: -1,
      segmentMs: HOUR_MS,
      segmentBytes: 64 * 1024 * 1024,
      localRetentionMs: DAY_MS,
    });
  });

  it('keeps every field given within its bounds', () => {
    const config = {
      retentionMs: 3 * DAY_MS,
      retentionBytes: 5_000_000,
      segmentMs: 10_000,
      segmentBytes: 2048,
      localRetentionMs: 2 * HOUR_MS,
    };
    expect(resolveTopicConfig(config)).toEqual(config);
  });

  /** Each field: its least and greatest accepted value. */
  const bounds: [keyof TopicConfig, number, number][] = [
    ['retentionMs', 60_000, 10 * 365 * DAY_MS],
    ['retentionBytes', 1024, Number.MAX_SAFE_INTEGER],
    ['segmentMs', 1_000, 7 * DAY_MS],
    ['segmentBytes', 1024, 256 * 1024 * 1024],
    ['localRetentionMs', 1_000, 10 * 365 * DAY_MS],
  ];

  it.each(bounds)('accepts %s at its bounds %d and %d', (field, min, max) => {
    // localRetentionMs may not pass retentionMs: let the topic keep records forever.
    const base = field === 'localRetentionMs' ? { retentionMs: -1 } : {};
    expect(resolveTopicConfig({ ...base, [field]: min })[field]).toBe(min);
    expect(resolveTopicConfig({ ...base, [field]: max })[field]).toBe(max);
  });

  it.each(bounds)('fails when %s is one below %d', (field, min) => {
    expectRefused(
      () => resolveTopicConfig({ retentionMs: -1, [field]: min - 1 }),
      field,
      new RegExp(`^${field} must be`),
    );
  });

  it.each(bounds.filter(([field]) => field !== 'retentionBytes'))(
    'fails when %s is one above %d',
    (field, _min, max) => {
      expectRefused(
        () => resolveTopicConfig({ retentionMs: -1, [field]: max + 1 }),
        field,
        new RegExp(`^${field} must be`),
      );
    },
  );

  it.each(bounds)('fails when %s is not a whole number', (field) => {
    for (const value of [1500.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expectRefused(
        () => resolveTopicConfig({ retentionMs: -1, [field]: value }),
        field,
        new RegExp(`got ${value}$`),
      );
    }
  });

  it('fails when retentionBytes is past the largest safe integer', () => {
    expectRefused(
      () => resolveTopicConfig({ retentionBytes: 2 ** 53 }),
      'retentionBytes',
      /^retentionBytes must be -1 \(no bound\) or a whole number of bytes from 1024 to 9007199254740991, got 9007199254740992$/,
    );
  });

  it('accepts -1 for retentionMs (forever) and retentionBytes (no bound), and says so when refusing', () => {
    expect(resolveTopicConfig({ retentionMs: -1, retentionBytes: -1 })).toMatchObject({
      retentionMs: -1,
      retentionBytes: -1,
    });
    expectRefused(
      () => resolveTopicConfig({ retentionMs: -2 }),
      'retentionMs',
      /^retentionMs must be -1 \(forever\) or a whole number of ms from 60000 to 315360000000, got -2$/,
    );
    expectRefused(
      () => resolveTopicConfig({ retentionBytes: 0 }),
      'retentionBytes',
      /^retentionBytes must be -1 \(no bound\) or a whole number of bytes from 1024 to /,
    );
  });

  it.each(['segmentMs', 'segmentBytes', 'localRetentionMs'] as const)(
    'fails when %s is -1: it has no "unbounded" value',
    (field) => {
      expectRefused(
        () => resolveTopicConfig({ retentionMs: -1, [field]: -1 }),
        field,
        new RegExp(`^${field} must be a whole number from \\d+ to \\d+, got -1$`),
      );
    },
  );

  it('fails when localRetentionMs exceeds retentionMs (Kafka refuses local.retention.ms above retention.ms)', () => {
    expectRefused(
      () => resolveTopicConfig({ retentionMs: 2 * HOUR_MS, localRetentionMs: 2 * HOUR_MS + 1 }),
      'localRetentionMs',
      /^localRetentionMs \(7200001\) cannot exceed retentionMs \(7200000\)/,
    );
  });

  it('accepts localRetentionMs equal to retentionMs, and any localRetentionMs when records are kept forever', () => {
    expect(resolveTopicConfig({ retentionMs: HOUR_MS, localRetentionMs: HOUR_MS }).localRetentionMs).toBe(
      HOUR_MS,
    );
    expect(resolveTopicConfig({ retentionMs: -1, localRetentionMs: 365 * DAY_MS }).localRetentionMs).toBe(
      365 * DAY_MS,
    );
  });

  it('lowers the default localRetentionMs to a shorter retentionMs, and keeps it under -1', () => {
    expect(resolveTopicConfig({ retentionMs: HOUR_MS }).localRetentionMs).toBe(HOUR_MS);
    expect(resolveTopicConfig({ retentionMs: -1 }).localRetentionMs).toBe(DAY_MS);
  });

  it('names the first field out of bounds, in the order retentionMs, retentionBytes, segmentMs, segmentBytes', () => {
    const allWrong = {
      retentionMs: 1,
      retentionBytes: 1,
      segmentMs: 1,
      segmentBytes: 1,
      localRetentionMs: 1,
    };
    expectRefused(() => resolveTopicConfig(allWrong), 'retentionMs', /^retentionMs/);
    expectRefused(
      () => resolveTopicConfig({ ...allWrong, retentionMs: -1 }),
      'retentionBytes',
      /^retentionBytes/,
    );
    expectRefused(
      () => resolveTopicConfig({ ...allWrong, retentionMs: -1, retentionBytes: -1 }),
      'segmentMs',
      /^segmentMs/,
    );
  });
});

describe('resolveTopicConfig for a change', () => {
  const current: TopicConfig = {
    retentionMs: 3 * DAY_MS,
    retentionBytes: 10_000,
    segmentMs: 5_000,
    segmentBytes: 4096,
    localRetentionMs: 2 * DAY_MS,
  };

  it('keeps every field the change leaves out, not the defaults', () => {
    expect(resolveTopicConfig({}, current)).toEqual(current);
  });

  it('changes only the fields given', () => {
    expect(resolveTopicConfig({ segmentBytes: 8192, retentionBytes: -1 }, current)).toEqual({
      ...current,
      segmentBytes: 8192,
      retentionBytes: -1,
    });
  });

  it('brings the current localRetentionMs down to a shorter retentionMs, and never back up', () => {
    const shorter = resolveTopicConfig({ retentionMs: DAY_MS }, current);
    expect(shorter.localRetentionMs).toBe(DAY_MS);
    expect(resolveTopicConfig({ retentionMs: 30 * DAY_MS }, shorter).localRetentionMs).toBe(DAY_MS);
  });

  it('checks a new localRetentionMs against the current retentionMs', () => {
    expectRefused(
      () => resolveTopicConfig({ localRetentionMs: 3 * DAY_MS + 1 }, current),
      'localRetentionMs',
      /cannot exceed retentionMs/,
    );
  });
});

describe('withConfigDefaults (a topic stored before a field existed)', () => {
  it('fills the missing fields with the defaults, localRetentionMs at most retentionMs', () => {
    expect(withConfigDefaults({ retentionMs: HOUR_MS })).toEqual({
      retentionMs: HOUR_MS,
      retentionBytes: -1,
      segmentMs: HOUR_MS,
      segmentBytes: 64 * 1024 * 1024,
      localRetentionMs: HOUR_MS,
    });
    expect(withConfigDefaults({ retentionMs: -1 }).localRetentionMs).toBe(DAY_MS);
    expect(withConfigDefaults({ retentionMs: 7 * DAY_MS }).localRetentionMs).toBe(DAY_MS);
  });

  it('keeps every stored field', () => {
    const stored: TopicConfig = {
      retentionMs: -1,
      retentionBytes: 2048,
      segmentMs: 2_000,
      segmentBytes: 1024,
      localRetentionMs: 5_000,
    };
    expect(withConfigDefaults(stored)).toEqual(stored);
  });
});

describe('requirePartition', () => {
  const topic: Topic = {
    name: 'orders',
    topicId: 'id-1',
    partitionCount: 3,
    config: {
      retentionMs: -1,
      retentionBytes: -1,
      segmentMs: 1_000,
      segmentBytes: 1024,
      localRetentionMs: 1_000,
    },
    createdAt: 0,
  };

  it('accepts partitions 0 to partitionCount - 1', () => {
    for (const partition of [0, 1, 2]) expect(() => requirePartition(topic, partition)).not.toThrow();
  });

  it.each([3, -1, 1.5, Number.NaN])(
    'fails when the partition is %d, naming the partitions there are',
    (partition) => {
      const error = thrown(() => requirePartition(topic, partition));
      expect(error).toBeInstanceOf(PartitionNotFoundError);
      expect(error).toMatchObject({ topic: 'orders', partition, partitionCount: 3 });
      expect((error as Error).message).toBe(
        `Topic 'orders' has no partition ${partition}: it has partitions 0 to 2`,
      );
    },
  );
});
