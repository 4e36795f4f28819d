/**
 * Topics cached per process, so that produce and fetch do not read the topic item on every request:
 * that strongly consistent read of one item is what capped one topic near 3,000 requests per second
 * (a DynamoDB partition's read limit), however many partitions it had.
 *
 * A cached copy is safe because the write checks what the cache cannot know:
 * - deleted (and maybe re-created): deleting a topic turns its heads into tombstones, and no append
 *   passes a tombstone (`ports/partition-log.ts`), so a stale copy's append is refused, noticed,
 *   and retried on a fresh read: 404, or the new incarnation;
 * - partitions added: a record for a partition the copy lacks is retried on a fresh read; keyed
 *   records follow the old count until the copy ages out (`LIMITS.topicCacheAgeMsMax`), as in a
 *   Kafka producer before its metadata refresh;
 * - configuration changed: the append's TTL and the fetch's limits follow the copy for as long.
 *
 * Changes made through this store forget the copy at once, so one process reads its own writes.
 */
import type { TopicFreshness, TopicStore } from '../ports/topic-store.js';
import type { Clock } from './clock.js';
import { LIMITS } from './limits.js';
import type { Topic, TopicConfig } from './topic.js';

export interface TopicCacheOptions {
  /** @default LIMITS.topicCacheAgeMsMax */
  readonly ageMsMax?: number;
  /** @default LIMITS.topicCacheEntriesMax */
  readonly entriesMax?: number;
}

interface CachedTopic {
  readonly topic: Topic;
  readonly readAt: number;
}

/** A {@link TopicStore} that answers `cached` reads from copies at most `ageMsMax` old. */
export class TopicCache implements TopicStore {
  private readonly entries = new Map<string, CachedTopic>();
  private readonly ageMsMax: number;
  private readonly entriesMax: number;

  constructor(
    private readonly store: TopicStore,
    private readonly clock: Clock,
    options: TopicCacheOptions = {},
  ) {
    this.ageMsMax = options.ageMsMax ?? LIMITS.topicCacheAgeMsMax;
    this.entriesMax = options.entriesMax ?? LIMITS.topicCacheEntriesMax;
  }

  async get(name: string, freshness: TopicFreshness = 'strong'): Promise<Topic | undefined> {
    const now = this.clock.now();
    const entry = this.entries.get(name);
    if (freshness === 'cached' && entry && now - entry.readAt < this.ageMsMax) return entry.topic;
    const topic = await this.store.get(name);
    this.entries.delete(name);
    // A missing topic is not remembered: one created a moment later must be found at once.
    if (topic) {
      if (this.entries.size >= this.entriesMax) this.evictOldest();
      this.entries.set(name, { topic, readAt: now });
    }
    return topic;
  }

  async create(topic: Topic): Promise<boolean> {
    this.entries.delete(topic.name);
    return this.store.create(topic);
  }

  list(limit: number): Promise<Topic[]> {
    return this.store.list(limit);
  }

  async update(expected: Topic, changes: { partitionCount: number; config: TopicConfig }): Promise<boolean> {
    try {
      return await this.store.update(expected, changes);
    } finally {
      this.entries.delete(expected.name);
    }
  }

  async delete(name: string, deletedAtMs: number): Promise<Topic | undefined> {
    try {
      return await this.store.delete(name, deletedAtMs);
    } finally {
      this.entries.delete(name);
    }
  }

  /** Map order is insertion order, and every store read re-inserts: the first entry is the oldest copy. */
  private evictOldest(): void {
    const oldest = this.entries.keys().next();
    if (!oldest.done) this.entries.delete(oldest.value);
  }
}
