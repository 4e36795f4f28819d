/**
 * The topic reaper: removes what a deleted topic leaves behind (batch items, S3 segments, rescued
 * batches and payload objects, manifest entries, committed offsets) in bounded, resumable steps.
 * Deleting a topic removes its name and turns its partition heads into tombstones at once, so
 * nothing can read or write it (the tombstones expire by TTL a day later); the rest is only storage
 * to stop paying for. Every step deletes what is still there, so a run cut
 * short (its budget, its deadline, a failure) is finished by the next one; a topic is forgotten only
 * after a pass finds nothing left. Idempotency items are not listed by topic: their TTL (24 h)
 * removes them.
 */

import type { DeletedTopic, ObjectRemains, RemovalStep, TopicRemains } from '../ports/topic-remains.js';
import type { Clock } from './clock.js';
import {
  PAYLOAD_KEY_PREFIX,
  RESCUE_KEY_PREFIX,
  RETENTION_CLASS_DAYS,
  SEGMENT_KEY_PREFIX,
} from './segment-keys.js';

/** Bounds of one run. */
export interface TopicReaperOptions {
  /** Items and objects removed by one run, at most. @default 20_000 */
  readonly removalsPerRunMax?: number;
  /** A run starts no step later than this after it starts. @default 60_000 */
  readonly runMsMax?: number;
  /** Deleted topics looked at by one run. @default 10 */
  readonly topicsPerRunMax?: number;
}

/** What a run did. */
export interface ReapReport {
  /** Topics looked at. */
  readonly topics: number;
  /** Topics with nothing left, now forgotten. */
  readonly reaped: number;
  readonly removedItems: number;
  readonly removedObjects: number;
  /** The run stopped at its budget or deadline with work left for the next one. */
  readonly cutShort: boolean;
}

/** Removals asked of one step: small enough that a step ends long before the deadline. */
const STEP_REMOVALS_MAX = 1000;

/** The key prefixes under which a topic's objects live (`segment-keys.ts`). */
export function objectPrefixesOf(topicId: string): string[] {
  return [
    `${SEGMENT_KEY_PREFIX}${topicId}/`,
    `${RESCUE_KEY_PREFIX}${topicId}/`,
    ...RETENTION_CLASS_DAYS.map((days) => `${PAYLOAD_KEY_PREFIX}${days}d/${topicId}/`),
  ];
}

/** See the module comment. */
export class TopicReaper {
  private readonly removalsPerRunMax: number;
  private readonly runMsMax: number;
  private readonly topicsPerRunMax: number;

  constructor(
    private readonly remains: TopicRemains,
    private readonly objects: ObjectRemains,
    private readonly clock: Clock,
    options: TopicReaperOptions = {},
  ) {
    this.removalsPerRunMax = options.removalsPerRunMax ?? 20_000;
    this.runMsMax = options.runMsMax ?? 60_000;
    this.topicsPerRunMax = options.topicsPerRunMax ?? 10;
  }

  /** One pass over the deleted topics, within the run's bounds. */
  async run(): Promise<ReapReport> {
    const deadline = this.clock.now() + this.runMsMax;
    let budget = this.removalsPerRunMax;
    let removedItems = 0;
    let removedObjects = 0;
    let reaped = 0;
    let cutShort = false;
    const topics = await this.remains.listDeleted(this.topicsPerRunMax);

    /** Repeats a step until it is done; false when the run's budget or deadline stopped it first. */
    const drain = async (kind: 'items' | 'objects', step: (max: number) => Promise<RemovalStep>) => {
      for (;;) {
        if (budget <= 0 || this.clock.now() >= deadline) return false;
        const result = await step(Math.min(STEP_REMOVALS_MAX, budget));
        budget -= result.removed;
        if (kind === 'items') removedItems += result.removed;
        else removedObjects += result.removed;
        if (result.done) return true;
      }
    };

    for (const topic of topics) {
      if (!(await this.reapTopic(topic, drain))) {
        cutShort = true;
        break;
      }
      await this.remains.forget(topic);
      reaped++;
    }
    return { topics: topics.length, reaped, removedItems, removedObjects, cutShort };
  }

  /** Removes everything of one topic; false when the run ran out before it was all gone. */
  private async reapTopic(
    topic: DeletedTopic,
    drain: (kind: 'items' | 'objects', step: (max: number) => Promise<RemovalStep>) => Promise<boolean>,
  ): Promise<boolean> {
    // Batches first: once they are gone no TTL removal of this topic can reach the rescue.
    for (let partition = 0; partition < topic.partitionCount; partition++) {
      if (!(await drain('items', (max) => this.remains.removeBatches(topic, partition, max)))) return false;
      if (!(await drain('items', (max) => this.remains.removeManifestEntries(topic, partition, max))))
        return false;
    }
    for (const prefix of objectPrefixesOf(topic.topicId)) {
      if (!(await drain('objects', (max) => this.objects.removeUnder(prefix, max)))) return false;
    }
    return drain('items', (max) => this.remains.removeCommittedOffsets(topic, max));
  }
}
