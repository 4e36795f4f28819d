import { describe, expect, it } from 'vitest';
import type { Topic } from '../../shared/domain/topic.js';
import { LagMonitor, type LagSources } from '../../shared/observability/lag-monitor.js';
import { METRIC, RecordingTelemetry } from '../../shared/observability/telemetry.js';
import type { PartitionHead } from '../../shared/ports/partition-log.js';

const HOUR = 3_600_000;
const NOW = 1_800_000_000_000;

const topic = (name: string, partitionCount: number): Topic =>
  ({
    name,
    partitionCount,
    topicId: `${name}-id`,
    config: { localRetentionMs: 24 * HOUR },
  }) as unknown as Topic;

const head = (partition: number, highWatermark: number, archivedOffset: number): PartitionHead =>
  ({ partition, highWatermark, archivedOffset, logStartOffset: 0 }) as unknown as PartitionHead;

function sources(overrides: Partial<LagSources> = {}): LagSources {
  return {
    listGroups: async () => [{ name: 'billing' }, { name: 'audit' }],
    readCommitted: async (group) =>
      group === 'billing'
        ? [
            { topic: 'orders', topicId: 'orders-id', partition: 0, offset: 10 },
            { topic: 'orders', topicId: 'orders-id', partition: 1, offset: 6 },
          ]
        : [],
    listTopics: async () => [topic('orders', 2)],
    readHeads: async (_, partitions) => partitions.map((p) => (p === 0 ? head(0, 10, 10) : head(1, 10, 6))),
    // The batch at offset 6 of partition 1 was appended 2 hours ago: 22 hours before its TTL.
    expiryOfBatchAt: async () => NOW - 2 * HOUR + 24 * HOUR,
    ...overrides,
  };
}

describe('LagMonitor', () => {
  it('publishes lag per group only for groups behind, and the largest lag of a partition', async () => {
    const telemetry = new RecordingTelemetry();
    const behind = sources({
      readCommitted: async (group) =>
        group === 'billing'
          ? [
              { topic: 'orders', topicId: 'orders-id', partition: 0, offset: 7 },
              { topic: 'orders', topicId: 'orders-id', partition: 1, offset: 6 },
            ]
          : [{ topic: 'orders', topicId: 'orders-id', partition: 0, offset: 10 }],
    });

    const sample = await new LagMonitor(behind, telemetry, () => NOW).sample(NOW + 60_000);

    expect(sample.consumerLagMax).toBe(4);
    expect(telemetry.flushed.filter((metric) => metric.name === METRIC.consumerLag)).toEqual([
      { name: METRIC.consumerLag, value: 7, unit: 'Count', dimensions: { group: 'billing' } },
    ]);
    expect(telemetry.total(METRIC.consumerLagMax)).toBe(4);
  });

  it('publishes no consumer lag metric at all when every group is caught up', async () => {
    const telemetry = new RecordingTelemetry();
    const caughtUp = sources({
      readCommitted: async () =>
        [0, 1].map((partition) => ({ topic: 'orders', topicId: 'orders-id', partition, offset: 10 })),
      readHeads: async (_, partitions) => partitions.map((p) => head(p, 10, 10)),
    });

    const sample = await new LagMonitor(caughtUp, telemetry, () => NOW).sample(NOW + 60_000);

    expect(sample.consumerLagMax).toBe(0);
    expect(telemetry.flushed).toEqual([]);
  });

  it('reads every head once per sample, eventually consistent, whatever the groups read', async () => {
    const reads: [string, readonly number[], string | undefined][] = [];
    const counting = sources({
      readHeads: async (topic, partitions, consistency) => {
        reads.push([topic.name, partitions, consistency]);
        return partitions.map((p) => head(p, 10, 10));
      },
    });

    await new LagMonitor(counting, new RecordingTelemetry(), () => NOW).sample(NOW + 60_000);

    expect(reads).toEqual([['orders', [0, 1], 'eventual']]);
  });

  it('ignores offsets committed to an earlier topic of the same name', async () => {
    const telemetry = new RecordingTelemetry();
    const stale = sources({
      readCommitted: async () => [{ topic: 'orders', topicId: 'deleted-orders-id', partition: 1, offset: 0 }],
    });

    const sample = await new LagMonitor(stale, telemetry, () => NOW).sample(NOW + 60_000);

    expect(sample.consumerLagMax).toBeUndefined();
    expect(telemetry.total(METRIC.consumerLag, { group: 'billing' })).toBe(0);
  });

  it('publishes archive lag of the partitions with records not yet in S3', async () => {
    const telemetry = new RecordingTelemetry();

    const sample = await new LagMonitor(sources(), telemetry, () => NOW).sample(NOW + 60_000);

    expect(telemetry.total(METRIC.archiveLagRecords, { topic: 'orders' })).toBe(4);
    expect(telemetry.total(METRIC.archiveLagAgeMs, { topic: 'orders' })).toBe(2 * HOUR);
    expect(sample.archiveHeadroomMsMin).toBe(22 * HOUR);
    expect(telemetry.total(METRIC.archiveHeadroomMsMin)).toBe(22 * HOUR);
  });

  it('publishes no lag maximum when nothing is committed and nothing waits for S3', async () => {
    const telemetry = new RecordingTelemetry();
    const quiet = sources({
      listGroups: async () => [],
      readHeads: async (_, partitions) => partitions.map((p) => head(p, 5, 5)),
    });

    await new LagMonitor(quiet, telemetry, () => NOW).sample(NOW + 60_000);

    expect(telemetry.flushed).toEqual([]);
  });

  it('reports a group it could not read and measures the others', async () => {
    const telemetry = new RecordingTelemetry();
    const failing = sources({
      readCommitted: async (group) => {
        if (group === 'audit') throw new Error('throttled');
        return [{ topic: 'orders', topicId: 'orders-id', partition: 1, offset: 3 }];
      },
    });

    const sample = await new LagMonitor(failing, telemetry, () => NOW).sample(NOW + 60_000);

    expect(sample.errors.map((error) => error.subject)).toEqual(['group audit']);
    expect(sample.consumerLagMax).toBe(7);
  });

  it('stops at its deadline and says so', async () => {
    const telemetry = new RecordingTelemetry();

    const sample = await new LagMonitor(sources(), telemetry, () => NOW).sample(NOW);

    expect(sample.truncated).toBe(true);
    expect(telemetry.flushed).toEqual([]);
  });
});
