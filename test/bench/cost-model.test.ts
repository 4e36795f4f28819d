import { describe, expect, it } from 'vitest';
import {
  compareCosts,
  kinesisOnDemandCost,
  kinesisProvisionedCost,
  MILLION_1KB_RECORDS,
  type ShoalUsage,
  shoalCost,
  sqsCost,
} from '../../bench/cost-model.js';
import { PRICES, PRICES_CHECKED_ON } from '../../bench/prices.js';

const GIB = 2 ** 30;

const usage: ShoalUsage = {
  recordsPerProduceRequest: 100,
  recordsPerFetchRequest: 1000,
  writeUnitsPerProduceRequest: 50,
  readUnitsPerProduceRequest: 3,
  readUnitsPerFetchRequest: 70,
  storedBytesPerRecord: 200,
  hotStoredDays: 2,
  segmentBytesPerRecord: 190,
  segmentBytes: 64 * 1024 * 1024,
  idempotencyItemBytes: 500,
  idempotencyStoredDays: 2,
  lambdaMemoryMb: 1024,
  lambdaArchitecture: 'arm64',
  produceDurationMs: 40,
  fetchDurationMs: 40,
};

const lineUsd = (cost: { lines: readonly { item: string; usd: number }[] }, prefix: string) =>
  cost.lines.find((line) => line.item.startsWith(prefix))?.usd;

describe('shoalCost', () => {
  it('adds requests, Lambda, write and read units, the hot tier and the S3 segments', () => {
    const cost = shoalCost(MILLION_1KB_RECORDS, usage);

    const hotGbMonths = ((1e6 * 200) / GIB) * (2 / 30.4375);
    const idempotencyGbMonths = ((10_000 * 500) / GIB) * (2 / 30.4375);
    const segmentGbMonths = ((1e6 * 190) / GIB) * (7 / 30.4375);
    const segments = Math.ceil((1e6 * 190) / (64 * 1024 * 1024));
    const archiverReads = Math.ceil((1e6 * 200) / 4096);
    const expected =
      11_000 * 3.5e-6 +
      11_000 * 0.2e-6 +
      440 * 0.0000133334 +
      (500_000 + segments * 4) * 0.625e-6 +
      (100_000 + archiverReads) * 0.125e-6 +
      (hotGbMonths + idempotencyGbMonths) * 0.25 +
      segmentGbMonths * 0.023 +
      segments * 0.005e-3;
    expect(cost.totalUsd).toBeCloseTo(expected, 10);
    expect(lineUsd(cost, 'DynamoDB writes')).toBeCloseTo(0.3125, 10);
  });

  it('has no charge that runs by the hour, so a slower arrival rate costs the same', () => {
    const slow = shoalCost({ ...MILLION_1KB_RECORDS, recordsPerSecond: 1 }, usage);

    expect(slow.totalUsd).toBeCloseTo(shoalCost(MILLION_1KB_RECORDS, usage).totalUsd, 10);
  });

  it('fails when the workload has a non-positive figure', () => {
    expect(() => shoalCost({ ...MILLION_1KB_RECORDS, recordsPerSecond: 0 }, usage)).toThrow(RangeError);
  });
});

describe('kinesisOnDemandCost', () => {
  it('bills the stream-hours, ingest, retrieval and the six extra retention days', () => {
    const cost = kinesisOnDemandCost(MILLION_1KB_RECORDS);

    const gib = (1e6 * 1024) / GIB;
    expect(lineUsd(cost, 'stream-hours')).toBeCloseTo(0.04, 10);
    expect(lineUsd(cost, 'data ingested')).toBeCloseTo(gib * 0.08, 10);
    expect(lineUsd(cost, 'data retrieved')).toBeCloseTo(gib * 0.04, 10);
    expect(lineUsd(cost, 'extended retention')).toBeCloseTo(gib * (6 / 30.4375) * 0.1, 10);
  });

  it('rounds each record up to a whole KB of ingest', () => {
    const cost = kinesisOnDemandCost({ ...MILLION_1KB_RECORDS, recordBytes: 1025 });

    expect(lineUsd(cost, 'data ingested')).toBeCloseTo(((1e6 * 2048) / GIB) * 0.08, 10);
  });

  it('charges twice the stream-hours when records arrive at half the rate', () => {
    const cost = kinesisOnDemandCost({ ...MILLION_1KB_RECORDS, recordsPerSecond: 1e6 / 7200 });

    expect(lineUsd(cost, 'stream-hours')).toBeCloseTo(0.08, 10);
  });
});

describe('kinesisProvisionedCost', () => {
  it('uses one shard for 278 records/s and adds extended retention for 7 days', () => {
    const cost = kinesisProvisionedCost(MILLION_1KB_RECORDS);

    expect(cost.totalUsd).toBeCloseTo(0.015 + 0.014 + 0.02, 10);
  });

  it('adds shards for the byte rate and the record rate', () => {
    const hours = (rate: number) => 1e6 / rate / 3600;
    expect(
      lineUsd(kinesisProvisionedCost({ ...MILLION_1KB_RECORDS, recordsPerSecond: 1500 }), 'shard-hours (2'),
    ).toBeCloseTo(2 * hours(1500) * 0.015, 10);
    expect(
      lineUsd(
        kinesisProvisionedCost({ ...MILLION_1KB_RECORDS, recordBytes: 100, recordsPerSecond: 2500 }),
        'shard-hours (3',
      ),
    ).toBeCloseTo(3 * hours(2500) * 0.015, 10);
  });

  it('has no retention charge when records are kept a day', () => {
    const cost = kinesisProvisionedCost({ ...MILLION_1KB_RECORDS, retentionDays: 1 });

    expect(lineUsd(cost, 'extended retention')).toBeUndefined();
  });
});

describe('sqsCost', () => {
  it('bills send, receive and delete batches of ten', () => {
    expect(sqsCost(MILLION_1KB_RECORDS).totalUsd).toBeCloseTo(300_000 * 0.4e-6, 10);
  });
});

describe('compareCosts', () => {
  it('lists Shoal first, then Kinesis on-demand, Kinesis provisioned and SQS', () => {
    expect(compareCosts(MILLION_1KB_RECORDS, usage).map((cost) => cost.system)).toEqual([
      'Shoal',
      'Kinesis on-demand',
      'Kinesis provisioned',
      'SQS standard',
    ]);
  });
});

describe('PRICES', () => {
  it('names a date and an AWS page for every price, and no package registry', () => {
    const prices = Object.values(PRICES).flatMap((service) => Object.values(service));

    expect(PRICES_CHECKED_ON).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const price of prices) {
      expect(price.usd).toBeGreaterThan(0);
      expect(price.source).toMatch(/https:\/\/aws\.amazon\.com\//);
      expect(price.source).not.toMatch(/npmjs|registry\.|pypi|crates\.io/);
    }
  });
});
