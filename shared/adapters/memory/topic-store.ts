/**
 * Topics in memory, as `adapters/dynamodb/topic-store.ts` keeps them (one contract suite,
 * `test/contract/topic-store.contract.ts`): conditional on the name being free, and on the stored
 * incarnation and partition count for an update.
 */
import type { Topic, TopicConfig } from '../../domain/topic.js';
import type { TopicStore } from '../../ports/topic-store.js';

/** A deleted topic, as the reaper's list of remains names it. */
export interface MemoryDeletedTopic {
  readonly topic: Topic;
  readonly deletedAtMs: number;
}

export class MemoryTopicStore implements TopicStore {
  private readonly topics = new Map<string, Topic>();
  /** Deleted incarnations, oldest first (what `ports/topic-remains.ts` lists). */
  readonly deleted: MemoryDeletedTopic[] = [];

  async create(topic: Topic): Promise<boolean> {
    if (this.topics.has(topic.name)) return false;
    this.topics.set(topic.name, structuredClone(topic));
    return true;
  }

  async get(name: string): Promise<Topic | undefined> {
    const topic = this.topics.get(name);
    return topic ? structuredClone(topic) : undefined;
  }

  async list(limit: number): Promise<Topic[]> {
    return [...this.topics.keys()]
      .sort(byCodeUnits)
      .slice(0, limit)
      .map((name) => structuredClone(this.topics.get(name) as Topic));
  }

  async update(expected: Topic, changes: { partitionCount: number; config: TopicConfig }): Promise<boolean> {
    const stored = this.topics.get(expected.name);
    if (stored?.topicId !== expected.topicId || stored.partitionCount !== expected.partitionCount)
      return false;
    this.topics.set(expected.name, {
      ...stored,
      partitionCount: changes.partitionCount,
      config: { ...changes.config },
    });
    return true;
  }

  async delete(name: string, deletedAtMs: number): Promise<Topic | undefined> {
    const stored = this.topics.get(name);
    if (!stored) return undefined;
    this.topics.delete(name);
    this.deleted.push({ topic: stored, deletedAtMs });
    return structuredClone(stored);
  }
}

/** DynamoDB orders string sort keys by their UTF-8 bytes; for the ASCII of names, by code units. */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
