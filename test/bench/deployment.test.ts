import { describe, expect, it } from 'vitest';
import { type CfnTemplate, deployedSettings, invocationsPerMonth } from '../../bench/deployment.js';
import { accessLogLineBytes, emfMetricKeys, s3RequestUse } from '../../bench/handler-usage.js';
import { bodyBytes, parseTagging } from '../../bench/metering.js';
import { costTable } from '../../bench/report.js';

const fn = (description: string, memory: number, extra: Record<string, unknown> = {}) => ({
  Type: 'AWS::Lambda::Function',
  Properties: {
    Description: description,
    MemorySize: memory,
    Architectures: ['arm64'],
    TracingConfig: { Mode: 'Active' },
    LoggingConfig: { LogGroup: { Ref: 'Logs' } },
    ...extra,
  },
});

const stateful: CfnTemplate = {
  Resources: {
    Log: {
      Type: 'AWS::DynamoDB::Table',
      Properties: {
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { Enabled: true },
      },
    },
    Meta: { Type: 'AWS::DynamoDB::Table', Properties: {} },
    Segments: {
      Type: 'AWS::S3::Bucket',
      Properties: {
        VersioningConfiguration: { Status: 'Enabled' },
        LifecycleConfiguration: {
          Rules: [
            { NoncurrentVersionExpiration: { NoncurrentDays: 30 } },
            { Prefix: 'payloads/', NoncurrentVersionExpiration: { NoncurrentDays: 1 } },
          ],
        },
      },
    },
  },
};

const stateless: CfnTemplate = {
  Resources: {
    Produce: fn('Shoal produce-records: produceRecords', 1024),
    Fetch: fn('Shoal fetch-records: fetchRecords', 512, {
      Environment: { Variables: { POWERTOOLS_LOG_LEVEL: 'WARN' } },
    }),
    Archiver: fn('Shoal archive-segments: ...', 2048),
    Logs: { Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } },
    // Two rules for API stages: the one with the lower priority number applies.
    Sampling: {
      Type: 'AWS::XRay::SamplingRule',
      Properties: {
        SamplingRule: {
          ServiceType: 'AWS::ApiGateway::Stage',
          Priority: 1000,
          FixedRate: 0.05,
          ReservoirSize: 0,
        },
      },
    },
    Broader: {
      Type: 'AWS::XRay::SamplingRule',
      Properties: {
        SamplingRule: {
          ServiceType: 'AWS::ApiGateway::Stage',
          Priority: 5000,
          FixedRate: 0.5,
          ReservoirSize: 3,
        },
      },
    },
    Schedule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        ScheduleExpression: 'rate(1 minute)',
        Targets: [{ Arn: { 'Fn::GetAtt': ['Archiver', 'Arn'] } }],
      },
    },
    Stage: { Type: 'AWS::ApiGateway::Stage', Properties: { TracingEnabled: true } },
    Alarm: { Type: 'AWS::CloudWatch::Alarm', Properties: {} },
    // Billed per metric: two metrics and the expression over them.
    MathAlarm: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        Metrics: [
          { Id: 'a', MetricStat: {} },
          { Id: 'b', MetricStat: {} },
          { Id: 'sum', Expression: 'a + b' },
        ],
      },
    },
    QueryAlarm: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: { Metrics: [{ Id: 'q', Expression: 'SELECT 1' }] },
    },
  },
};

describe('deployedSettings', () => {
  it('reads memory, tracing, log level and retention of the produce and fetch functions', () => {
    const settings = deployedSettings(stateful, stateless);

    expect(settings.produce).toMatchObject({
      memoryMb: 1024,
      architecture: 'arm64',
      tracingActive: true,
      logLevel: 'INFO',
    });
    expect(settings.fetch).toMatchObject({ memoryMb: 512, logLevel: 'WARN', logRetentionDays: 30 });
  });

  it('reads PITR, TTL, versioning, schedules, alarm metrics and dashboards', () => {
    const settings = deployedSettings(stateful, stateless);

    expect(settings).toMatchObject({
      tables: 2,
      pitrTables: 1,
      ttlTables: 1,
      segmentBucketVersioned: true,
      noncurrentVersionDays: 30,
      // The shorter of the two rules that cover payload objects.
      payloadNoncurrentVersionDays: 1,
      apiTracing: true,
      apiSampling: { reservoirPerSecond: 0, fixedRate: 0.05 },
      alarms: 4,
      dashboards: 0,
    });
    expect(
      settings.scheduled.map((entry) => [entry.name, entry.function.memoryMb, entry.invocationsPerMonth]),
    ).toEqual([['archive-segments', 2048, 43_830]]);
  });

  it('fails when the produce function is missing', () => {
    const { Produce: _, ...rest } = stateless.Resources;

    expect(() => deployedSettings(stateful, { Resources: rest })).toThrow(/produce-records/);
  });
});

describe('invocationsPerMonth', () => {
  it('turns rate expressions into invocations of an average month', () => {
    expect(invocationsPerMonth('rate(5 minutes)')).toBeCloseTo(8766, 6);
    expect(invocationsPerMonth('rate(1 hour)')).toBeCloseTo(730.5, 6);
  });

  it('fails on a cron expression', () => {
    expect(() => invocationsPerMonth('cron(0 * * * ? *)')).toThrow(/Unsupported/);
  });
});

describe('S3 metering helpers', () => {
  it('counts tags and the retention class of a PutObject Tagging string and a TagSet', () => {
    expect(parseTagging('shoal-retention-days=15&owner=x')).toEqual({ tags: 2, retentionClassDays: 15 });
    expect(parseTagging({ TagSet: [{ Key: 'shoal-retention-days', Value: '8' }] })).toEqual({
      tags: 1,
      retentionClassDays: 8,
    });
    expect(parseTagging(undefined)).toEqual({ tags: 0, retentionClassDays: undefined });
  });

  it('sizes string and byte bodies', () => {
    expect(bodyBytes('é')).toBe(2);
    expect(bodyBytes(new Uint8Array(7))).toBe(7);
  });

  it('classes PUT-like and GET-like requests and leaves deletes free', () => {
    const use = s3RequestUse({
      PutObject: { calls: 2, bytesSent: 100, bytesReceived: 0, tags: 2, retentionClassDays: [15] },
      GetObject: { calls: 3, bytesSent: 0, bytesReceived: 50, tags: 0, retentionClassDays: [] },
      DeleteObject: { calls: 4, bytesSent: 0, bytesReceived: 0, tags: 0, retentionClassDays: [] },
    });

    expect(use).toEqual({ putRequests: 2, getRequests: 3, bytesPut: 100, tags: 2 });
  });
});

describe('emfMetricKeys', () => {
  it('names each metric with its namespace and dimension values', () => {
    const line = JSON.stringify({
      _aws: {
        Timestamp: 1,
        CloudWatchMetrics: [
          { Namespace: 'Shoal', Dimensions: [['service', 'topic']], Metrics: [{ Name: 'a' }, { Name: 'b' }] },
        ],
      },
      service: 'shoal',
      topic: 'orders',
      a: 1,
      b: 2,
    });

    expect(emfMetricKeys(line)).toEqual([
      'Shoal|a|service=shoal|topic=orders',
      'Shoal|b|service=shoal|topic=orders',
    ]);
    expect(emfMetricKeys('plain text')).toEqual([]);
  });
});

describe('accessLogLineBytes', () => {
  it('fills the format with sample values and counts the newline', () => {
    expect(accessLogLineBytes('{"status":"$context.status"}')).toBe('{"status":"200"}'.length + 1);
    expect(accessLogLineBytes(undefined)).toBe(0);
  });
});

describe('costTable', () => {
  it('shows one row per batch size with dollars, write units and the latency ratio', () => {
    const table = costTable(
      ['Shoal', 'Kinesis'],
      [{ batchRecords: 100, usd: [0.25, 0.17], writeUnitsPerMib: 455, p50Ratio: 2.345 }],
    );

    expect(table.split('\n')[2]).toMatch(/^100\s+\$0\.25\s+\$0\.17\s+455\s+2\.35x$/);
  });
});
