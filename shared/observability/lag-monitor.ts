/**
 * Samples the two lags an operator alarms on, on a schedule, whether or not anyone is producing or
 * consuming (a stalled consumer commits nothing, so lag measured at commit time would go silent
 * exactly when it matters):
 *
 * - consumer lag: highWatermark - committed offset, per group, topic and partition (where it is
 *   not zero), and its largest value;
 * - archive lag: what DynamoDB holds that S3 does not yet, per topic and partition: how many
 *   records, how old the oldest is, and how long until DynamoDB's TTL may delete it (the headroom;
 *   if it reaches zero, batches survive only through the stream rescue).
 *
 * Free of AWS: the sources are the domain's services and ports, the output the metrics port.
 */

import type { Topic } from '../domain/topic.js';
import type { PartitionHead } from '../ports/partition-log.js';
import { DIMENSION, METRIC, type Telemetry } from './telemetry.js';

/** What the monitor reads. */
export interface LagSources {
  listGroups(): Promise<readonly { readonly name: string }[]>;
  /** The committed offsets of a group with their lag (null where nothing is committed). */
  describeGroup(group: string): Promise<{
    readonly offsets: readonly { topic: string; partition: number; lag: number | null }[];
  }>;
  listTopics(): Promise<readonly Topic[]>;
  readHeads(topic: Topic, partitions: readonly number[]): Promise<readonly PartitionHead[]>;
  /** When the oldest batch at or after `offset` may expire from DynamoDB (epoch ms); undefined if none or unknown. */
  expiryOfBatchAt(topic: Topic, partition: number, offset: number): Promise<number | undefined>;
}

/** What one sample found (also logged by the entry). */
export interface LagSample {
  readonly groups: number;
  readonly topics: number;
  /** The largest consumer lag, undefined when no group has committed anything. */
  readonly consumerLagMax: number | undefined;
  /** The oldest record not yet archived, undefined when everything is archived. */
  readonly archiveLagAgeMsMax: number | undefined;
  /** The least time left before a not-yet-archived batch may expire, undefined when everything is archived. */
  readonly archiveHeadroomMsMin: number | undefined;
  /** Groups or topics that could not be read (deleted meanwhile, throttled); the next sample retries. */
  readonly errors: readonly { readonly subject: string; readonly error: unknown }[];
  /** True when the sample stopped at its deadline before reading everything. */
  readonly truncated: boolean;
}

/** Partitions read per `readHeads` call (one BatchGetItem holds at most 100 keys). */
const HEADS_PER_READ_MAX = 100;

export class LagMonitor {
  constructor(
    private readonly sources: LagSources,
    private readonly telemetry: Telemetry,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Reads every group and topic (until `deadlineMs`) and reports their lags to the telemetry. */
  async sample(deadlineMs: number): Promise<LagSample> {
    const errors: { subject: string; error: unknown }[] = [];
    const groups = await this.sources.listGroups();
    const consumer = await this.sampleConsumerLag(groups, deadlineMs, errors);
    const topics = await this.sources.listTopics();
    const archive = await this.sampleArchiveLag(topics, deadlineMs, errors);
    const { consumerLagMax } = consumer;
    const { archiveLagAgeMsMax, archiveHeadroomMsMin } = archive;
    this.reportExtremes(consumerLagMax, archiveLagAgeMsMax, archiveHeadroomMsMin);
    return {
      groups: groups.length,
      topics: topics.length,
      consumerLagMax,
      archiveLagAgeMsMax,
      archiveHeadroomMsMin,
      errors,
      truncated: consumer.truncated || archive.truncated,
    };
  }

  /** Reports each group's non-zero lags per partition; returns the largest lag seen. */
  private async sampleConsumerLag(
    groups: readonly { readonly name: string }[],
    deadlineMs: number,
    errors: { subject: string; error: unknown }[],
  ): Promise<{ consumerLagMax: number | undefined; truncated: boolean }> {
    let consumerLagMax: number | undefined;
    for (const { name } of groups) {
      if (this.nowMs() >= deadlineMs) return { consumerLagMax, truncated: true };
      try {
        const { offsets } = await this.sources.describeGroup(name);
        for (const offset of offsets) {
          if (offset.lag === null) continue;
          consumerLagMax = Math.max(consumerLagMax ?? 0, offset.lag);
          // CloudWatch bills each metric in the hours it is published: a partition that is caught up
          // publishes nothing, so a quiet deployment pays for one series, not one per partition.
          if (offset.lag === 0) continue;
          this.telemetry.count(METRIC.consumerLag, offset.lag, 'Count', {
            [DIMENSION.group]: name,
            [DIMENSION.topic]: offset.topic,
            [DIMENSION.partition]: String(offset.partition),
          });
        }
      } catch (error) {
        errors.push({ subject: `group ${name}`, error });
      }
    }
    return { consumerLagMax, truncated: false };
  }

  /** Reports each topic's archive lag per partition; returns the oldest lag and the least headroom. */
  private async sampleArchiveLag(
    topics: readonly Topic[],
    deadlineMs: number,
    errors: { subject: string; error: unknown }[],
  ): Promise<{
    archiveLagAgeMsMax: number | undefined;
    archiveHeadroomMsMin: number | undefined;
    truncated: boolean;
  }> {
    let archiveLagAgeMsMax: number | undefined;
    let archiveHeadroomMsMin: number | undefined;
    for (const topic of topics) {
      if (this.nowMs() >= deadlineMs) return { archiveLagAgeMsMax, archiveHeadroomMsMin, truncated: true };
      try {
        for (let first = 0; first < topic.partitionCount; first += HEADS_PER_READ_MAX) {
          const partitions = range(first, Math.min(topic.partitionCount, first + HEADS_PER_READ_MAX));
          for (const head of await this.sources.readHeads(topic, partitions)) {
            const lag = await this.archiveLagOf(topic, head);
            if (!lag) continue;
            archiveLagAgeMsMax = Math.max(archiveLagAgeMsMax ?? 0, lag.ageMs);
            archiveHeadroomMsMin = Math.min(archiveHeadroomMsMin ?? Number.POSITIVE_INFINITY, lag.headroomMs);
          }
        }
      } catch (error) {
        errors.push({ subject: `topic ${topic.name}`, error });
      }
    }
    return { archiveLagAgeMsMax, archiveHeadroomMsMin, truncated: false };
  }

  /** Reports the sample's extremes (those it found) and flushes the telemetry. */
  private reportExtremes(
    consumerLagMax: number | undefined,
    archiveLagAgeMsMax: number | undefined,
    archiveHeadroomMsMin: number | undefined,
  ): void {
    if (consumerLagMax !== undefined) this.telemetry.count(METRIC.consumerLagMax, consumerLagMax);
    if (archiveLagAgeMsMax !== undefined) {
      this.telemetry.count(METRIC.archiveLagAgeMsMax, archiveLagAgeMsMax, 'Milliseconds');
    }
    if (archiveHeadroomMsMin !== undefined) {
      this.telemetry.count(METRIC.archiveHeadroomMsMin, Math.max(0, archiveHeadroomMsMin), 'Milliseconds');
    }
    this.telemetry.flush();
  }

  /** The archive lag of one partition, reported per partition; undefined when all of it is in S3. */
  private async archiveLagOf(
    topic: Topic,
    head: PartitionHead,
  ): Promise<{ ageMs: number; headroomMs: number } | undefined> {
    const unarchivedFrom = Math.max(head.archivedOffset, head.logStartOffset);
    const records = head.highWatermark - unarchivedFrom;
    if (records <= 0) return undefined;
    const dimensions = { [DIMENSION.topic]: topic.name, [DIMENSION.partition]: String(head.partition) };
    this.telemetry.count(METRIC.archiveLagRecords, records, 'Count', dimensions);
    const expiresAt = await this.sources.expiryOfBatchAt(topic, head.partition, unarchivedFrom);
    if (expiresAt === undefined) return undefined;
    const now = this.nowMs();
    // The batch was appended localRetentionMs before its expiry.
    const ageMs = Math.max(0, now - (expiresAt - topic.config.localRetentionMs));
    this.telemetry.count(METRIC.archiveLagAgeMs, ageMs, 'Milliseconds', dimensions);
    return { ageMs, headroomMs: expiresAt - now };
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, index) => from + index);
}
