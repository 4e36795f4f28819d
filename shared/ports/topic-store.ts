import type { Topic, TopicConfig } from '../domain/topic.js';

/**
 * How fresh a topic read must be: `strong` reads the stored topic; `cached` lets a store that keeps
 * copies (`domain/topic-cache.ts`) answer one up to its age limit, for the hot paths that notice a
 * stale copy themselves (a deleted incarnation's heads are tombstones no append passes).
 */
export type TopicFreshness = 'strong' | 'cached';

/** Where topics are kept. Implemented by `adapters/dynamodb/topic-store.ts`. */
export interface TopicStore {
  /** Stores a new topic; `false` when one of that name exists already. */
  create(topic: Topic): Promise<boolean>;
  /** The topic, read strongly consistent unless `freshness` is `cached` (stores without a cache ignore it). */
  get(name: string, freshness?: TopicFreshness): Promise<Topic | undefined>;
  /** Topics in name order, at most `limit`. */
  list(limit: number): Promise<Topic[]>;
  /**
   * Changes partition count and config only if the stored topic still has `expected`'s incarnation
   * and partition count; `false` when it changed meanwhile.
   */
  update(expected: Topic, changes: { partitionCount: number; config: TopicConfig }): Promise<boolean>;
  /**
   * Removes the topic (undefined when it did not exist) and, in the same write, lists it among the
   * deleted topics whose data the reaper removes (`ports/topic-remains.ts`).
   */
  delete(name: string, deletedAtMs: number): Promise<Topic | undefined>;
}
