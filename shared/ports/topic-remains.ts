/**
 * What a deleted topic leaves behind, and how the reaper (`domain/topic-reaper.ts`) removes it a
 * bounded step at a time. Implemented by `adapters/dynamodb/topic-remains.ts` (items) and
 * `adapters/s3/object-remains.ts` (objects).
 */

/** A topic that was deleted and whose data has not all been removed yet. */
export interface DeletedTopic {
  readonly topicId: string;
  readonly name: string;
  readonly partitionCount: number;
  /** When the topic was deleted (epoch ms). */
  readonly deletedAtMs: number;
}

/** What one bounded step removed, and whether anything of its kind is left. */
export interface RemovalStep {
  readonly removed: number;
  readonly done: boolean;
}

/** The DynamoDB items a deleted topic leaves: batches, manifest entries, committed offsets. */
export interface TopicRemains {
  /**
   * Topics deleted and not yet forgotten, oldest first, at most `limit`. A topic's deletion and its
   * entry here are one transaction (`adapters/dynamodb/topic-store.ts`).
   */
  listDeleted(limit: number): Promise<DeletedTopic[]>;
  /** Deletes up to `itemsMax` batch items of one partition of the log table. */
  removeBatches(topic: DeletedTopic, partition: number, itemsMax: number): Promise<RemovalStep>;
  /** Deletes up to `itemsMax` manifest entries of one partition (their objects go by prefix). */
  removeManifestEntries(topic: DeletedTopic, partition: number, itemsMax: number): Promise<RemovalStep>;
  /**
   * Deletes up to `itemsMax` committed offsets of the topic, in every group. Only offsets committed
   * for this topic id go: a topic re-created under the same name keeps its own.
   */
  removeCommittedOffsets(topic: DeletedTopic, itemsMax: number): Promise<RemovalStep>;
  /** Removes the topic from the deleted list, once nothing of it is left. */
  forget(topic: DeletedTopic): Promise<void>;
}

/** The objects a deleted topic leaves in the segment bucket. */
export interface ObjectRemains {
  /** Deletes up to `keysMax` objects whose keys start with `prefix`. */
  removeUnder(prefix: string, keysMax: number): Promise<RemovalStep>;
}
