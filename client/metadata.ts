/**
 * Partition counts of topics, cached for a bounded time as Kafka's `metadata.max.age.ms`: the
 * producer needs them to route keyed records exactly as the server would.
 */
import type { ShoalApi } from './api.js';

interface Entry {
  readonly partitionCount: Promise<number>;
  readonly fetchedAt: number;
}

/** How many entries the cache holds before it drops the oldest. */
const TOPICS_CACHED_MAX = 10_000;

export class TopicMetadata {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly api: ShoalApi,
    private readonly maxAgeMs: number,
  ) {}

  /** The topic's partition count, from the cache when fresh. @throws ShoalApiError 40401 */
  partitionCount(topic: string): Promise<number> {
    const cached = this.entries.get(topic);
    if (cached && Date.now() - cached.fetchedAt < this.maxAgeMs) return cached.partitionCount;
    const partitionCount = this.api.describeTopic(topic).then((description) => description.partitionCount);
    // A failed lookup is not cached: the next call asks again.
    partitionCount.catch(() => this.entries.delete(topic));
    if (this.entries.size >= TOPICS_CACHED_MAX) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.delete(topic);
    this.entries.set(topic, { partitionCount, fetchedAt: Date.now() });
    return partitionCount;
  }

  /** Forgets a topic, e.g. after an answer said it or one of its partitions does not exist. */
  invalidate(topic: string): void {
    this.entries.delete(topic);
  }
}
