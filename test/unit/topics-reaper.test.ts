/**
 * The topic reaper (`shared/domain/topic-reaper.ts`): a deleted topic's batches, manifest entries,
 * objects and committed offsets go in bounded steps; a run stops at its removal budget or its
 * deadline and the next run carries on; a topic is forgotten only once nothing of it is left.
 */
import { describe, expect, it } from 'vitest';
import { payloadKey, RETENTION_CLASS_DAYS, rescueKey, segmentKey } from '../../shared/domain/segment-keys.js';
import { objectPrefixesOf, TopicReaper, type TopicReaperOptions } from '../../shared/domain/topic-reaper.js';
import type { DeletedTopic } from '../../shared/ports/topic-remains.js';
import { type ManualClock, manualClock } from '../support/manual-clock.js';
import { MemoryObjectRemains, MemoryTopicRemains } from '../support/topics-remains.js';

const START = 1_800_000_000_000;

const deletedTopic = (topicId: string, partitionCount: number): DeletedTopic => ({
  topicId,
  name: `name-of-${topicId}`,
  partitionCount,
  deletedAtMs: START - 1_000,
});

/** Every object key a topic may have written: segments, rescued batches, payloads of every class. */
function objectKeysOf(topicId: string, partition: number): string[] {
  return [
    segmentKey(topicId, partition, 0, 99),
    segmentKey(topicId, partition, 100, 199),
    rescueKey(topicId, partition, 42),
    ...RETENTION_CLASS_DAYS.map((days) => payloadKey(topicId, days, `append-${partition}`)),
  ];
}

interface Remains {
  readonly batches?: number;
  readonly manifest?: number;
  readonly offsets?: number;
  readonly objects?: boolean;
}

function world(options: TopicReaperOptions = {}) {
  const clock: ManualClock = manualClock(START);
  const remains = new MemoryTopicRemains();
  const objects = new MemoryObjectRemains();
  const reaper = new TopicReaper(remains, objects, clock, options);
  /** Lists a deleted topic with these remains in each partition (offsets: over the topic). */
  const deleted = (topic: DeletedTopic, left: Remains = {}) => {
    remains.deleted.push(topic);
    for (let partition = 0; partition < topic.partitionCount; partition++) {
      remains.batches.set(`${topic.topicId}#${partition}`, left.batches ?? 0);
      remains.manifest.set(`${topic.topicId}#${partition}`, left.manifest ?? 0);
      if (left.objects) for (const key of objectKeysOf(topic.topicId, partition)) objects.keys.add(key);
    }
    remains.offsets.set(topic.topicId, left.offsets ?? 0);
    return topic;
  };
  return { clock, remains, objects, reaper, deleted };
}

describe('objectPrefixesOf', () => {
  it('covers every segment, rescued batch and payload object of the topic, and nothing of another', () => {
    const prefixes = objectPrefixesOf('t-1');
    const under = (key: string) => prefixes.filter((prefix) => key.startsWith(prefix)).length;

    for (const key of [...objectKeysOf('t-1', 0), ...objectKeysOf('t-1', 7)]) expect(under(key)).toBe(1);
    for (const key of [...objectKeysOf('t-10', 0), ...objectKeysOf('t', 0)]) expect(under(key)).toBe(0);
    expect(prefixes).toHaveLength(2 + RETENTION_CLASS_DAYS.length);
    expect(prefixes.slice(0, 3)).toEqual(['segments/t-1/', 'rescue/t-1/', 'payloads/2d/t-1/']);
  });
});

describe('TopicReaper.run', () => {
  it('removes everything a deleted topic left, forgets it, and leaves other topics alone', async () => {
    const { remains, objects, reaper, deleted } = world();
    const gone = deleted(deletedTopic('gone', 3), { batches: 5, manifest: 2, offsets: 4, objects: true });
    for (const key of objectKeysOf('kept', 0)) objects.keys.add(key);
    remains.batches.set('kept#0', 9);

    const report = await reaper.run();

    const objectCount = 3 * objectKeysOf('x', 0).length;
    expect(report).toEqual({
      topics: 1,
      reaped: 1,
      removedItems: 3 * 5 + 3 * 2 + 4,
      removedObjects: objectCount,
      cutShort: false,
    });
    expect(remains.itemsLeft(gone.topicId)).toBe(0);
    expect([...objects.keys].filter((key) => key.includes('/gone/'))).toEqual([]);
    expect(objects.keys.size).toBe(objectKeysOf('kept', 0).length);
    expect(remains.batches.get('kept#0')).toBe(9);
    expect(remains.deleted).toEqual([]);
  });

  it('removes the batches and manifest entries of each partition first, the objects next and the offsets last', async () => {
    const { remains, objects, reaper, deleted } = world();
    deleted(deletedTopic('t', 2), { batches: 1, manifest: 1, offsets: 1, objects: true });

    await reaper.run();

    expect(remains.steps.map((step) => `${step.kind} ${step.of}`)).toEqual([
      'batches t#0',
      'manifest t#0',
      'batches t#1',
      'manifest t#1',
      'offsets t',
    ]);
    expect(objects.steps.map((step) => step.of)).toEqual(objectPrefixesOf('t'));
  });

  it('forgets a topic that left nothing, after one look at each kind', async () => {
    const { remains, objects, reaper, deleted } = world();
    deleted(deletedTopic('empty', 1));

    const report = await reaper.run();

    expect(report).toEqual({ topics: 1, reaped: 1, removedItems: 0, removedObjects: 0, cutShort: false });
    expect(remains.steps).toHaveLength(3);
    expect(objects.steps).toHaveLength(objectPrefixesOf('empty').length);
    expect(remains.deleted).toEqual([]);
  });

  it('asks for at most 1000 removals per step', async () => {
    const { remains, reaper, deleted } = world();
    deleted(deletedTopic('t', 1), { batches: 2_500 });

    const report = await reaper.run();

    expect(remains.steps.filter((step) => step.kind === 'batches').map((step) => step.max)).toEqual([
      1_000, 1_000, 1_000,
    ]);
    expect(report).toMatchObject({ removedItems: 2_500, reaped: 1 });
  });

  it('stops at its removal budget, asking no step for more than is left of it', async () => {
    const { remains, reaper, deleted } = world({ removalsPerRunMax: 1_500 });
    deleted(deletedTopic('t', 1), { batches: 2_500 });

    const report = await reaper.run();

    expect(remains.steps.map((step) => step.max)).toEqual([1_000, 500]);
    expect(report).toEqual({ topics: 1, reaped: 0, removedItems: 1_500, removedObjects: 0, cutShort: true });
    expect(remains.deleted.map((topic) => topic.topicId)).toEqual(['t']);
  });

  it('removes at most 20,000 items and objects per run by default', async () => {
    const { reaper, deleted } = world();
    deleted(deletedTopic('t', 1), { batches: 20_001 });

    expect(await reaper.run()).toMatchObject({ removedItems: 20_000, reaped: 0, cutShort: true });
    expect(await reaper.run()).toMatchObject({ removedItems: 1, reaped: 1, cutShort: false });
  });

  it('counts removed objects against the budget too', async () => {
    const { objects, reaper, deleted } = world({ removalsPerRunMax: 10 });
    deleted(deletedTopic('t', 1), { objects: true });

    const report = await reaper.run();

    expect(report).toEqual({ topics: 1, reaped: 0, removedItems: 0, removedObjects: 10, cutShort: true });
    expect(objects.keys.size).toBe(objectKeysOf('t', 0).length - 10);
  });

  it('carries on where the last run stopped, and forgets the topic once it is all gone', async () => {
    const { remains, reaper, deleted } = world({ removalsPerRunMax: 5 });
    deleted(deletedTopic('t', 2), { batches: 3, manifest: 3, offsets: 2 });

    const runs = [await reaper.run(), await reaper.run(), await reaper.run()];

    expect(runs.map((run) => [run.removedItems, run.reaped, run.cutShort])).toEqual([
      [5, 0, true],
      [5, 0, true],
      [4, 1, false],
    ]);
    expect(remains.itemsLeft('t')).toBe(0);
    expect(remains.deleted).toEqual([]);
  });

  it('stops before another topic once the budget is spent, without touching it', async () => {
    const { remains, reaper, deleted } = world({ removalsPerRunMax: 4 });
    deleted(deletedTopic('first', 1), { offsets: 4 });
    deleted(deletedTopic('second', 1));

    const report = await reaper.run();

    expect(report).toEqual({ topics: 2, reaped: 1, removedItems: 4, removedObjects: 0, cutShort: true });
    expect(remains.steps.some((step) => step.of.startsWith('second'))).toBe(false);
    expect(remains.deleted.map((topic) => topic.topicId)).toEqual(['second']);
  });

  it('starts no step at or after its deadline', async () => {
    const { clock, remains, objects, reaper, deleted } = world({ runMsMax: 100 });
    deleted(deletedTopic('t', 3));
    remains.beforeStep = () => clock.advance(50);

    const report = await reaper.run();

    expect(remains.steps).toHaveLength(2);
    expect(objects.steps).toEqual([]);
    expect(report).toMatchObject({ reaped: 0, cutShort: true });
  });

  it('runs for up to a minute by default', async () => {
    const { clock, remains, reaper, deleted } = world();
    deleted(deletedTopic('t', 3));
    remains.beforeStep = () => clock.advance(20_000);

    const report = await reaper.run();

    expect(remains.steps).toHaveLength(3);
    expect(report.cutShort).toBe(true);
  });

  it('looks at 10 deleted topics per run by default, oldest first', async () => {
    const { remains, reaper, deleted } = world();
    for (let i = 0; i < 12; i++) deleted(deletedTopic(`t${i}`, 1));

    expect(await reaper.run()).toMatchObject({ topics: 10, reaped: 10, cutShort: false });
    expect(remains.deleted.map((topic) => topic.topicId)).toEqual(['t10', 't11']);
    expect(await reaper.run()).toMatchObject({ topics: 2, reaped: 2 });
  });

  it('looks at topicsPerRunMax deleted topics per run', async () => {
    const { reaper, deleted } = world({ topicsPerRunMax: 2 });
    for (let i = 0; i < 3; i++) deleted(deletedTopic(`t${i}`, 1));

    expect(await reaper.run()).toMatchObject({ topics: 2, reaped: 2 });
  });

  it('keeps a topic whose removal failed, for the next run to finish', async () => {
    const { remains, reaper, deleted } = world();
    deleted(deletedTopic('t', 1), { batches: 2, offsets: 1 });
    remains.beforeStep = () => {
      if (remains.steps.length === 2) throw new Error('ThrottlingException');
    };

    await expect(reaper.run()).rejects.toThrow('ThrottlingException');
    expect(remains.deleted).toHaveLength(1);

    remains.beforeStep = undefined;
    expect(await reaper.run()).toMatchObject({ reaped: 1, removedItems: 1 });
    expect(remains.itemsLeft('t')).toBe(0);
  });
});
