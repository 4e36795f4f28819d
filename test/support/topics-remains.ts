/**
 * What a deleted topic leaves behind, in memory, for the reaper's tests (`ports/topic-remains.ts`):
 * item and object counts that each step takes down, as the DynamoDB and S3 adapters delete one
 * page at a time. Every step is recorded, so a test can see what the reaper asked for and in which
 * order.
 */
import type {
  DeletedTopic,
  ObjectRemains,
  RemovalStep,
  TopicRemains,
} from '../../shared/ports/topic-remains.js';

/** One step asked of the stores: which kind, of what, and how many removals at most. */
export interface RemainsStep {
  readonly kind: 'batches' | 'manifest' | 'offsets' | 'objects';
  /** `topicId#partition`, a topic id, or an object prefix. */
  readonly of: string;
  readonly max: number;
}

/** Takes up to `max` from `counts[key]`; done when nothing is left. */
function take(counts: Map<string, number>, key: string, max: number): RemovalStep {
  const left = counts.get(key) ?? 0;
  const removed = Math.min(left, max);
  counts.set(key, left - removed);
  return { removed, done: left - removed === 0 };
}

export class MemoryTopicRemains implements TopicRemains {
  readonly deleted: DeletedTopic[] = [];
  /** Batch items per `topicId#partition`. */
  readonly batches = new Map<string, number>();
  /** Manifest entries per `topicId#partition`. */
  readonly manifest = new Map<string, number>();
  /** Committed offsets per topic id. */
  readonly offsets = new Map<string, number>();
  readonly steps: RemainsStep[] = [];
  /** Runs before each step: a test's clock moving, or a failure. */
  beforeStep: (() => void) | undefined;

  async listDeleted(limit: number): Promise<DeletedTopic[]> {
    return this.deleted.slice(0, limit);
  }

  async removeBatches(topic: DeletedTopic, partition: number, itemsMax: number): Promise<RemovalStep> {
    return this.step('batches', `${topic.topicId}#${partition}`, itemsMax, this.batches);
  }

  async removeManifestEntries(
    topic: DeletedTopic,
    partition: number,
    itemsMax: number,
  ): Promise<RemovalStep> {
    return this.step('manifest', `${topic.topicId}#${partition}`, itemsMax, this.manifest);
  }

  async removeCommittedOffsets(topic: DeletedTopic, itemsMax: number): Promise<RemovalStep> {
    return this.step('offsets', topic.topicId, itemsMax, this.offsets);
  }

  async forget(topic: DeletedTopic): Promise<void> {
    const index = this.deleted.findIndex((each) => each.topicId === topic.topicId);
    if (index >= 0) this.deleted.splice(index, 1);
  }

  /** Items of any kind still stored for the topic id. */
  itemsLeft(topicId: string): number {
    let left = this.offsets.get(topicId) ?? 0;
    for (const counts of [this.batches, this.manifest]) {
      for (const [key, count] of counts) if (key.startsWith(`${topicId}#`)) left += count;
    }
    return left;
  }

  private step(kind: RemainsStep['kind'], of: string, max: number, counts: Map<string, number>): RemovalStep {
    this.beforeStep?.();
    this.steps.push({ kind, of, max });
    return take(counts, of, max);
  }
}

/** Objects by key, removed by prefix a page at a time. */
export class MemoryObjectRemains implements ObjectRemains {
  readonly keys = new Set<string>();
  readonly steps: RemainsStep[] = [];
  beforeStep: (() => void) | undefined;

  async removeUnder(prefix: string, keysMax: number): Promise<RemovalStep> {
    this.beforeStep?.();
    this.steps.push({ kind: 'objects', of: prefix, max: keysMax });
    const under = [...this.keys].filter((key) => key.startsWith(prefix)).sort();
    const page = under.slice(0, keysMax);
    for (const key of page) this.keys.delete(key);
    return { removed: page.length, done: page.length === under.length };
  }
}
