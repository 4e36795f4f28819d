/**
 * Samples the two lags an operator alarms on, on a schedule, whether or not anyone is producing or
 * consuming (a stalled consumer commits nothing, so lag measured at commit time would go silent
 * exactly when it matters):
 *
 * - consumer lag: highWatermark - committed offset, summed per group (where it is not zero), and
 *   the largest lag of one partition;
 * - archive lag: what DynamoDB holds that S3 does not yet, per topic: how many records, how old the
 *   oldest is, and how long until DynamoDB's TTL may delete it (the headroom; if it reaches zero,
 *   batches survive only through the stream rescue).
 *
 * Free of AWS: the sources are the domain's services and ports, the output the metrics port.
 */

import type { Topic } from '../domain/topic.js';
import type { HeadConsistency, PartitionHead } from '../ports/partition-log.js';
import { DIMENSION, METRIC, type Telemetry } from './telemetry.js';

/** One committed offset of a group. */
export interface CommittedPosition {
  readonly topic: string;
  /** The topic's id when the offset was committed: a topic deleted and created again is another topic. */
  readonly topicId: string;
  readonly partition: number;
  readonly offset: number;
}

/** What the monitor reads. */
export interface LagSources {
  listGroups(): Promise<readonly { readonly name: string }[]>;
  /** A group's committed offsets (one Query; no heads: the monitor reads each head once per sample). */
  readCommitted(group: string): Promise<readonly CommittedPosition[]>;
  listTopics(): Promise<readonly Topic[]>;
  readHeads(
    topic: Topic,
    partitions: readonly number[],
    consistency?: HeadConsistency,
  ): Promise<readonly PartitionHead[]>;
  /** When the oldest batch at or after `offset` may expire from DynamoDB (epoch ms); undefined if none or unknown. */
  expiryOfBatchAt(topic: Topic, partition: number, offset: number): Promise<number | undefined>;
}

/** What one sample found (also logged by the entry). */
export interface LagSample {
  readonly groups: number;
  readonly topics: number;
  /** The largest lag of one partition of one group, undefined when no group has committed anything. */
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
/** Topics whose heads a sample reads at the same time. */
const TOPICS_READ_AT_ONCE = 4;

/** The heads of one topic, as read once in a sample. */
interface TopicHeads {
  readonly topic: Topic;
  readonly heads: ReadonlyMap<number, PartitionHead>;
}

/**
 * Samples consumer and archive lag. Each head is read once per sample, eventually consistent (a
 * sample is a picture of the last few minutes, not of the last millisecond), and shared by the
 * archive lag and every group's lag. Metrics are published only where they carry information, and
 * aggregated so that their number follows what is behind, not the partition count (CloudWatch bills
 * every metric in each hour it is published):
 *
 * - `ConsumerLag` per group: the records the group is behind, summed over its partitions, when
 *   above zero; `ConsumerLagMax`: the largest lag of one partition, when above zero;
 * - `ArchiveLagRecords` and `ArchiveLagAgeMs` per topic (sum and oldest over its partitions), and
 *   the deployment's extremes, when something waits for S3.
 */
export class LagMonitor {
  constructor(
    private readonly sources: LagSources,
    private readonly telemetry: Telemetry,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Reads every topic and group (until `deadlineMs`) and reports their lags to the telemetry. */
  async sample(deadlineMs: number): Promise<LagSample> {
    const errors: { subject: string; error: unknown }[] = [];
    const topics = await this.sources.listTopics();
    const archive = await this.sampleArchiveLag(topics, deadlineMs, errors);
    const groups = await this.sources.listGroups();
    const consumer = archive.truncated
      ? { consumerLagMax: undefined, truncated: true }
      : await this.sampleConsumerLag(groups, archive.heads, deadlineMs, errors);
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

  /** Reports each group's lag (summed over its partitions) when above zero; returns the largest partition lag. */
  private async sampleConsumerLag(
    groups: readonly { readonly name: string }[],
    heads: ReadonlyMap<string, TopicHeads>,
    deadlineMs: number,
    errors: { subject: string; error: unknown }[],
  ): Promise<{ consumerLagMax: number | undefined; truncated: boolean }> {
    let consumerLagMax: number | undefined;
    for (const { name } of groups) {
      if (this.nowMs() >= deadlineMs) return { consumerLagMax, truncated: true };
      try {
        let groupLag = 0;
        for (const position of await this.sources.readCommitted(name)) {
          const read = heads.get(position.topic);
          const head =
            read?.topic.topicId === position.topicId ? read.heads.get(position.partition) : undefined;
          if (!head) continue; // the topic is gone (or another one now), or the partition unread
          const lag = Math.max(0, head.highWatermark - position.offset);
          consumerLagMax = Math.max(consumerLagMax ?? 0, lag);
          groupLag += lag;
        }
        if (groupLag > 0)
          this.telemetry.count(METRIC.consumerLag, groupLag, 'Count', { [DIMENSION.group]: name });
      } catch (error) {
        errors.push({ subject: `group ${name}`, error });
      }
    }
    return { consumerLagMax, truncated: false };
  }

  /** Reads every topic's heads and reports its archive lag; returns the heads, the oldest lag and the least headroom. */
  private async sampleArchiveLag(
    topics: readonly Topic[],
    deadlineMs: number,
    errors: { subject: string; error: unknown }[],
  ): Promise<{
    heads: Map<string, TopicHeads>;
    archiveLagAgeMsMax: number | undefined;
    archiveHeadroomMsMin: number | undefined;
    truncated: boolean;
  }> {
    const heads = new Map<string, TopicHeads>();
    let archiveLagAgeMsMax: number | undefined;
    let archiveHeadroomMsMin: number | undefined;
    let truncated = false;
    let next = 0;
    // A few topics at a time: a sample's time is mostly the round trips of its reads.
    const worker = async () => {
      for (let topic = topics[next++]; topic; topic = topics[next++]) {
        if (this.nowMs() >= deadlineMs) {
          truncated = true;
          return;
        }
        try {
          const read = await this.readTopicHeads(topic);
          heads.set(topic.name, read);
          const lag = await this.archiveLagOfTopic(topic, [...read.heads.values()]);
          if (!lag) continue;
          archiveLagAgeMsMax = Math.max(archiveLagAgeMsMax ?? 0, lag.ageMs);
          archiveHeadroomMsMin = Math.min(archiveHeadroomMsMin ?? Number.POSITIVE_INFINITY, lag.headroomMs);
        } catch (error) {
          errors.push({ subject: `topic ${topic.name}`, error });
        }
      }
    };
    await Promise.all(Array.from({ length: TOPICS_READ_AT_ONCE }, worker));
    return { heads, archiveLagAgeMsMax, archiveHeadroomMsMin, truncated };
  }

  private async readTopicHeads(topic: Topic): Promise<TopicHeads> {
    const heads = new Map<number, PartitionHead>();
    for (let first = 0; first < topic.partitionCount; first += HEADS_PER_READ_MAX) {
      const partitions = range(first, Math.min(topic.partitionCount, first + HEADS_PER_READ_MAX));
      for (const head of await this.sources.readHeads(topic, partitions, 'eventual')) {
        heads.set(head.partition, head);
      }
    }
    return { topic, heads };
  }

  /** Reports the sample's extremes (those it found, and lag only above zero) and flushes the telemetry. */
  private reportExtremes(
    consumerLagMax: number | undefined,
    archiveLagAgeMsMax: number | undefined,
    archiveHeadroomMsMin: number | undefined,
  ): void {
    // The lag alarm treats a missing sample as not breaching: a zero would be a metric billed for nothing.
    if (consumerLagMax) this.telemetry.count(METRIC.consumerLagMax, consumerLagMax);
    if (archiveLagAgeMsMax !== undefined) {
      this.telemetry.count(METRIC.archiveLagAgeMsMax, archiveLagAgeMsMax, 'Milliseconds');
    }
    if (archiveHeadroomMsMin !== undefined) {
      this.telemetry.count(METRIC.archiveHeadroomMsMin, Math.max(0, archiveHeadroomMsMin), 'Milliseconds');
    }
    this.telemetry.flush();
  }

  /**
   * The archive lag of one topic, reported per topic (records summed, age of the oldest); undefined
   * when all of it is in S3.
   */
  private async archiveLagOfTopic(
    topic: Topic,
    heads: readonly PartitionHead[],
  ): Promise<{ ageMs: number; headroomMs: number } | undefined> {
    let records = 0;
    let oldest: { ageMs: number; headroomMs: number } | undefined;
    for (const head of heads) {
      const unarchivedFrom = Math.max(head.archivedOffset, head.logStartOffset);
      if (head.highWatermark <= unarchivedFrom) continue;
      records += head.highWatermark - unarchivedFrom;
      const expiresAt = await this.sources.expiryOfBatchAt(topic, head.partition, unarchivedFrom);
      if (expiresAt === undefined) continue;
      const now = this.nowMs();
      // The batch was appended localRetentionMs before its expiry.
      const ageMs = Math.max(0, now - (expiresAt - topic.config.localRetentionMs));
      oldest = {
        ageMs: Math.max(oldest?.ageMs ?? 0, ageMs),
        headroomMs: Math.min(oldest?.headroomMs ?? Number.POSITIVE_INFINITY, expiresAt - now),
      };
    }
    if (records === 0) return undefined;
    const dimensions = { [DIMENSION.topic]: topic.name };
    this.telemetry.count(METRIC.archiveLagRecords, records, 'Count', dimensions);
    if (oldest) this.telemetry.count(METRIC.archiveLagAgeMs, oldest.ageMs, 'Milliseconds', dimensions);
    return oldest;
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, index) => from + index);
}
