/**
 * What every TopicStore must do, run in memory (unit project) and against DynamoDB Local
 * (integration project): a name is taken once, an update is fenced by incarnation and partition
 * count, a deletion answers the topic it removed.
 */
import { describe, expect, it } from 'vitest';
import type { TopicStore } from '../../shared/ports/topic-store.js';
import { freshTopic } from './fixtures.js';

export function topicStoreContract(name: string, make: () => Promise<TopicStore>): void {
  describe(`TopicStore contract: ${name}`, () => {
    it('stores a topic under a free name and reads it back', async () => {
      const topics = await make();
      const topic = freshTopic(3);

      expect(await topics.create(topic)).toBe(true);

      expect(await topics.get(topic.name)).toEqual(topic);
      expect(await topics.get(`${topic.name}-absent`)).toBeUndefined();
    });

    it('fails to create a topic whose name is taken, and keeps the first', async () => {
      const topics = await make();
      const topic = freshTopic(3);
      await topics.create(topic);

      expect(await topics.create({ ...freshTopic(5), name: topic.name })).toBe(false);

      expect(await topics.get(topic.name)).toEqual(topic);
    });

    it('lists topics in name order, at most limit', async () => {
      const topics = await make();
      const listed = (await topics.list(1_000)).map((topic) => topic.name);
      const created = [freshTopic(), freshTopic(), freshTopic()];
      for (const topic of created) await topics.create(topic);

      const names = (await topics.list(1_000)).map((topic) => topic.name);

      expect(names).toEqual([...listed, ...created.map((topic) => topic.name)].sort());
      expect(await topics.list(2)).toHaveLength(2);
    });

    it('updates partition count and config of the incarnation it read', async () => {
      const topics = await make();
      const topic = freshTopic(2);
      await topics.create(topic);
      const config = { ...topic.config, retentionMs: 3_600_000, localRetentionMs: 3_600_000 };

      expect(await topics.update(topic, { partitionCount: 4, config })).toBe(true);

      expect(await topics.get(topic.name)).toEqual({ ...topic, partitionCount: 4, config });
    });

    it('fails to update when the partition count or the incarnation changed meanwhile', async () => {
      const topics = await make();
      const topic = freshTopic(2);
      await topics.create(topic);
      await topics.update(topic, { partitionCount: 3, config: topic.config });

      expect(await topics.update(topic, { partitionCount: 4, config: topic.config })).toBe(false);
      expect(
        await topics.update(
          { ...topic, partitionCount: 3, topicId: 'another' },
          { partitionCount: 4, config: topic.config },
        ),
      ).toBe(false);
      expect((await topics.get(topic.name))?.partitionCount).toBe(3);
    });

    it('deletes a topic and answers it; a second delete finds nothing', async () => {
      const topics = await make();
      const topic = freshTopic(2);
      await topics.create(topic);

      expect(await topics.delete(topic.name, 9_000)).toEqual(topic);
      expect(await topics.delete(topic.name, 9_001)).toBeUndefined();
      expect(await topics.get(topic.name)).toBeUndefined();
      expect((await topics.list(1_000)).map((listed) => listed.name)).not.toContain(topic.name);
    });

    it('lets a deleted name be created again as a new incarnation', async () => {
      const topics = await make();
      const topic = freshTopic(2);
      await topics.create(topic);
      await topics.delete(topic.name, 9_000);
      const again = { ...freshTopic(1), name: topic.name };

      expect(await topics.create(again)).toBe(true);
      expect(await topics.get(topic.name)).toEqual(again);
    });
  });
}
