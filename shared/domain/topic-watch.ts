/**
 * Watching topics over a WebSocket: an idle consumer holds one connection, names the topics it
 * reads, and is told when a partition's high watermark moves, instead of paying for long polls
 * while nothing happens (see `docs/consumer-groups.md`, "What an idle consumer costs").
 *
 * ```
 * client ──watch [orders]──► watch item W#<topicId> / <connectionId> (TTL)   ◄─ reply: heads now
 * producer ──append──► log table ──stream INSERT──► notify: Query W#<topicId> ──post──► client
 * client ──fetch (only the partitions whose high watermark passed its position)──► records
 * ```
 *
 * Notifications are hints: a lost one only delays (the client also asks again now and then), and
 * a notification never carries records, so every fetch guarantee stays with the fetch.
 */

import type { ConnectionPoster, WatchStore } from '../ports/topic-watch.js';
import type { Clock } from './clock.js';
import type { TopicService } from './topic-service.js';

/** Limits of watching (TIGER_STYLE: a limit on everything). */
export const WATCH_LIMITS = {
  /** Topics one `watch` message names. */
  topicsMax: 32,
  /**
   * A watch outlives its connection by at most this long: API Gateway closes a connection after
   * 2 hours, and the client renews its watches well before (each `watch` message rewrites them).
   */
  watchTtlMs: 2 * 60 * 60 * 1000 + 10 * 60 * 1000,
  /** Connections told about one topic's appends per notification. */
  watchersPerTopicMax: 1_000,
} as const;

/** One partition's high watermark as a notification carries it. */
export interface PartitionMark {
  readonly partition: number;
  readonly highWatermark: number;
}

/** The message a watching connection receives: these partitions have records up to these marks. */
export interface HeadsMessage {
  readonly type: 'heads';
  readonly topic: string;
  readonly partitions: readonly PartitionMark[];
}

/** An append the log table's stream reported: the batch that ends just before `highWatermark`. */
export interface AppendMark extends PartitionMark {
  readonly topicId: string;
}

/** What a notification run did. */
export interface NotifyReport {
  readonly topics: number;
  readonly sent: number;
  readonly gone: number;
  readonly failed: number;
}

/** See the module comment. */
export class TopicWatchService {
  constructor(
    private readonly topics: TopicService,
    private readonly store: WatchStore,
    private readonly clock: Clock,
  ) {}

  /**
   * Records that `connectionId` watches `topics` and answers each topic's high watermarks now, so
   * anything appended before the watch existed is seen too.
   * @throws TopicNotFoundError for a topic that does not exist
   */
  async watch(connectionId: string, topics: readonly string[]): Promise<HeadsMessage[]> {
    const expiresAtMs = this.clock.now() + WATCH_LIMITS.watchTtlMs;
    return Promise.all(
      topics.map(async (name) => {
        const { topic, partitions } = await this.topics.describe(name);
        await this.store.put(topic.topicId, { connectionId, topic: topic.name }, expiresAtMs);
        return {
          type: 'heads' as const,
          topic: topic.name,
          partitions: partitions.map(({ partition, highWatermark }) => ({ partition, highWatermark })),
        };
      }),
    );
  }

  /**
   * Tells every connection watching a topic of `appends` the new high watermarks, one message per
   * connection and topic; forgets the watches of connections that are gone. A failed post is
   * counted, never thrown: notifications are hints, and the caller's other work must go on.
   */
  async notify(appends: readonly AppendMark[], poster: ConnectionPoster): Promise<NotifyReport> {
    const byTopic = new Map<string, Map<number, number>>();
    for (const { topicId, partition, highWatermark } of appends) {
      const marks = byTopic.get(topicId) ?? new Map<number, number>();
      marks.set(partition, Math.max(marks.get(partition) ?? 0, highWatermark));
      byTopic.set(topicId, marks);
    }
    const counts = { topics: byTopic.size, sent: 0, gone: 0, failed: 0 };
    await Promise.all(
      [...byTopic].map(async ([topicId, marks]) => {
        const partitions = [...marks].map(([partition, highWatermark]) => ({ partition, highWatermark }));
        const watches = await this.store.list(topicId, this.clock.now(), WATCH_LIMITS.watchersPerTopicMax);
        await Promise.all(
          watches.map(async ({ connectionId, topic }) => {
            const message: HeadsMessage = { type: 'heads', topic, partitions };
            try {
              const outcome = await poster.post(connectionId, JSON.stringify(message));
              counts[outcome]++;
              if (outcome === 'gone') await this.store.delete(topicId, connectionId);
            } catch {
              counts.failed++;
            }
          }),
        );
      }),
    );
    return counts;
  }
}
