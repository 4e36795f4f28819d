import { describe, expect, it } from 'vitest';
import {
  compareCosts,
  type IdleDeployment,
  idleMonthlyCost,
  kinesisOnDemandCost,
  kinesisProvisionedCost,
  kinesisRecordsOf,
  MILLION_1KB_RECORDS,
  type ShoalUsage,
  sampledTraces,
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
  batchItemsPerProduceRequest: 1,
  storedBytesPerRecord: 200,
  hotStoredDays: 3,
  idempotencyItemBytes: 500,
  idempotencyStoredDays: 3,
  pitr: true,
  segmentBytesPerRecord: 190,
  segmentBytes: 64 * 1024 * 1024,
  segmentStoredDays: 37,
  s3PerProduce: { putRequests: 1, getRequests: 0, bytesPut: 20_000, tags: 1 },
  s3PerFetch: { putRequests: 0, getRequests: 10, bytesPut: 0, tags: 0 },
  payloadStoredDays: 45,
  produceLambda: { memoryMb: 1024, architecture: 'arm64', billedMs: 40 },
  fetchLambda: { memoryMb: 1024, architecture: 'arm64', billedMs: 20 },
  streamLambda: { memoryMb: 1024, architecture: 'arm64', billedMs: 100, pollsPerSecond: 4 },
  rescueLambda: { memoryMb: 512, architecture: 'arm64', billedMs: 100, batchSize: 100 },
  logBytesPerProduce: 500,
  logBytesPerFetch: 300,
  logEventsPerProduce: 4,
  logEventsPerFetch: 3,
  accessLogBytesPerRequest: 600,
  logRetentionDays: 30,
  customMetrics: 6,
  tracing: { reservoirPerSecond: 1, fixedRate: 0.05 },
};

/** One hour of the standard workload: 10,000 produce and 1,000 fetch requests. */
const PRODUCES = 10_000;
const FETCHES = 1_000;
const MONTH_DAYS = 30.4375;

const lineUsd = (cost: { lines: readonly { item: string; usd: number }[] }, prefix: string) =>
  cost.lines.find((line) => line.item.startsWith(prefix))?.usd;

describe('shoalCost', () => {
  it('prices every line item from the usage', () => {
    const cost = shoalCost(MILLION_1KB_RECORDS, usage);

    const hotGbMonths = ((1e6 * 200) / GIB) * (3 / MONTH_DAYS);
    const idempotencyGbMonths = ((PRODUCES * 500) / GIB) * (3 / MONTH_DAYS);
    const segments = Math.ceil((1e6 * 190) / (64 * 1024 * 1024));
    const logEvents = PRODUCES * 4 + FETCHES * 3 + PRODUCES + FETCHES;
    const logGb = (PRODUCES * 500 + FETCHES * 300 + 11_000 * 600 + logEvents * 26) / GIB;
    const expected: Record<string, number> = {
      'API Gateway REST requests': 11_000 * 3.5e-6,
      'Lambda invocations': (11_000 + PRODUCES + 100) * 0.2e-6,
      'Lambda duration, produce': PRODUCES * 0.04 * 0.0000133334,
      'Lambda duration, fetch': FETCHES * 0.02 * 0.0000133334,
      'Lambda duration, stream consumer': (PRODUCES * 0.1 + 100 * 0.5 * 0.1) * 0.0000133334,
      'DynamoDB writes (produce': PRODUCES * 50 * 0.625e-6,
      'DynamoDB reads (produce': (PRODUCES * 3 + FETCHES * 70) * 0.125e-6,
      'DynamoDB reads (archiver)': Math.ceil((1e6 * 200) / 4096) * 0.125e-6,
      'DynamoDB writes (archiver)': segments * 4 * 0.625e-6,
      'DynamoDB storage, log items': hotGbMonths * 0.25,
      'DynamoDB storage, idempotency': idempotencyGbMonths * 0.25,
      'DynamoDB point-in-time recovery': (hotGbMonths + idempotencyGbMonths) * 0.2,
      'S3 storage, segments': ((1e6 * 190) / GIB) * (37 / MONTH_DAYS) * 0.023,
      'S3 storage, payload objects': ((PRODUCES * 20_000) / GIB) * (45 / MONTH_DAYS) * 0.023,
      'S3 PUT requests': (segments + PRODUCES) * 0.005e-3,
      'S3 GET requests': (PRODUCES + FETCHES * 10) * 0.0004e-3,
      'S3 object tags': (PRODUCES * (45 / MONTH_DAYS) + segments * (37 / MONTH_DAYS)) * 1e-6,
      'CloudWatch Logs ingestion': logGb * 0.5,
      'CloudWatch Logs storage': logGb * (30 / MONTH_DAYS) * 0.03,
      'CloudWatch custom metrics': 6 * (1 / (MONTH_DAYS * 24)) * 0.3,
      'X-Ray traces recorded': (3600 + 0.05 * (11_000 - 3600)) * 5e-6,
    };
    for (const [prefix, usd] of Object.entries(expected)) {
      expect(lineUsd(cost, prefix), prefix).toBeCloseTo(usd, 12);
    }
    expect(cost.lines).toHaveLength(Object.keys(expected).length);
    expect(cost.totalUsd).toBeCloseTo(
      Object.values(expected).reduce((sum, usd) => sum + usd, 0),
      12,
    );
  });

  it('has no point-in-time recovery charge when it is off', () => {
    const cost = shoalCost(MILLION_1KB_RECORDS, { ...usage, pitr: false });

    expect(lineUsd(cost, 'DynamoDB point-in-time recovery')).toBe(0);
  });

  it('records no traces when tracing is off', () => {
    const cost = shoalCost(MILLION_1KB_RECORDS, { ...usage, tracing: null });

    expect(lineUsd(cost, 'X-Ray traces recorded')).toBe(0);
  });

  it('has no charge that runs by the hour: only metrics and traces follow the rate', () => {
    const flat = { ...usage, tracing: null, customMetrics: 0 };
    const slow = shoalCost({ ...MILLION_1KB_RECORDS, recordsPerSecond: 1 }, flat);

    expect(slow.totalUsd).toBeGreaterThan(0);
    expect(slow.totalUsd).toBeCloseTo(shoalCost(MILLION_1KB_RECORDS, flat).totalUsd, 10);
  });

  it('wakes the stream consumer at most four times a second', () => {
    const fast = shoalCost(
      { ...MILLION_1KB_RECORDS, recordsPerSecond: 10_000 },
      { ...usage, recordsPerProduceRequest: 1 },
    );

    const seconds = 100;
    expect(lineUsd(fast, 'Lambda invocations')).toBeCloseTo((1e6 + 1000 + 4 * seconds + 1e4) * 0.2e-6, 12);
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
  it('lists Shoal first, then Kinesis raw and KPL-style, then SQS', () => {
    const kpl = { label: 'KPL', recordsPerKinesisRecord: 100, compressedBytesPerByte: 0.2 };

    expect(compareCosts(MILLION_1KB_RECORDS, usage, kpl).map((cost) => cost.system)).toEqual([
      'Shoal',
      'Kinesis on-demand',
      'Kinesis on-demand (KPL)',
      'Kinesis provisioned',
      'Kinesis provisioned (KPL)',
      'SQS standard',
    ]);
  });
});

describe('Kinesis with an aggregating, compressing producer', () => {
  const kpl = { label: 'KPL', recordsPerKinesisRecord: 100, compressedBytesPerByte: 0.2 };

  it('packs a batch into one Kinesis record of the compressed bytes plus the aggregation frame', () => {
    expect(kinesisRecordsOf(MILLION_1KB_RECORDS, kpl)).toEqual({
      count: 10_000,
      bytes: Math.ceil(100 * (1024 * 0.2 + 20)),
    });
  });

  it('bills on-demand ingest, retrieval and retention on the compressed Kinesis records', () => {
    const cost = kinesisOnDemandCost(MILLION_1KB_RECORDS, PRICES, kpl);

    const bytes = Math.ceil(100 * (1024 * 0.2 + 20));
    expect(lineUsd(cost, 'data ingested')).toBeCloseTo(
      ((10_000 * Math.ceil(bytes / 1024) * 1024) / GIB) * 0.08,
      12,
    );
    expect(lineUsd(cost, 'data retrieved')).toBeCloseTo(((10_000 * bytes) / GIB) * 0.04, 12);
    expect(lineUsd(cost, 'extended retention')).toBeCloseTo(
      ((10_000 * bytes) / GIB) * (6 / MONTH_DAYS) * 0.1,
      12,
    );
  });

  it('bills provisioned PUT payload units per 25 KB of each Kinesis record', () => {
    const cost = kinesisProvisionedCost(MILLION_1KB_RECORDS, PRICES, kpl);

    expect(lineUsd(cost, 'PUT payload units')).toBeCloseTo(10_000 * 1 * 0.014e-6, 12);
    expect(cost.system).toBe('Kinesis provisioned (KPL)');
  });

  it('caps an aggregated record at 1 MB', () => {
    const huge = { label: 'KPL', recordsPerKinesisRecord: 10_000, compressedBytesPerByte: 1 };

    expect(kinesisRecordsOf(MILLION_1KB_RECORDS, huge).bytes).toBeLessThanOrEqual(1024 * 1024);
  });
});

describe('sampledTraces', () => {
  it('records the reservoir each second and the fixed rate of the rest', () => {
    expect(sampledTraces(36_000, 3600, { reservoirPerSecond: 1, fixedRate: 0.05 })).toBeCloseTo(
      3600 + 0.05 * 32_400,
      10,
    );
  });

  it('records every request when they come slower than the reservoir', () => {
    expect(sampledTraces(100, 3600, { reservoirPerSecond: 1, fixedRate: 0.05 })).toBe(100);
  });
});

describe('idleMonthlyCost', () => {
  const idle: IdleDeployment = {
    scheduled: [
      {
        description: 'archiver',
        invocationsPerMonth: 43_830,
        lambda: { memoryMb: 2048, architecture: 'arm64', billedMs: 100 },
        traced: true,
      },
    ],
    logBytesPerInvocation: 300,
    logEventsPerInvocation: 3,
    alarms: 5,
    dashboards: 1,
    tracing: { reservoirPerSecond: 1, fixedRate: 0.05 },
  };

  it('bills schedules, their logs and traces, alarms and dashboards', () => {
    const cost = idleMonthlyCost(idle);

    const expected =
      43_830 * 0.2e-6 +
      43_830 * 2 * 0.1 * 0.0000133334 +
      ((43_830 * (300 + 3 * 26)) / GIB) * 0.5 +
      43_830 * 5e-6 +
      5 * 0.1 +
      3;
    expect(cost.totalUsd).toBeCloseTo(expected, 10);
  });

  it('is zero for a deployment with no schedule, alarm or dashboard', () => {
    expect(idleMonthlyCost({ ...idle, scheduled: [], alarms: 0, dashboards: 0 }).totalUsd).toBe(0);
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
