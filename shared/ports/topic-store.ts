import type { Topic, TopicConfig } from '../domain/topic.js';

/** Where topics are kept. Implemented by `adapters/dynamodb/topic-store.ts`. */
export interface TopicStore {
  /** Stores a new topic; `false` when one of that name exists already. */
  create(topic: Topic): Promise<boolean>;
  get(name: string): Promise<Topic | undefined>;
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
