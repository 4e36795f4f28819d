import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Assignment,
  type AssignmentMember,
  assignPartitions,
  countMoves,
  type TopicPartition,
} from '../../shared/domain/assignment.js';

const tps = (topic: string, count: number): TopicPartition[] =>
  Array.from({ length: count }, (_, partition) => ({ topic, partition }));
const member = (memberId: string, topics = ['t']): AssignmentMember => ({ memberId, topics });
const counts = (assignment: Assignment) => Object.values(assignment).map((owned) => owned.length);

/** Every partition has exactly one owner, and the owner subscribes to its topic. */
function expectExactCover(
  assignment: Assignment,
  members: readonly AssignmentMember[],
  partitions: readonly TopicPartition[],
) {
  const seen = new Map<string, string>();
  for (const [memberId, owned] of Object.entries(assignment)) {
    const topics = new Set(members.find((candidate) => candidate.memberId === memberId)?.topics);
    for (const tp of owned) {
      const key = `${tp.topic}#${tp.partition}`;
      expect(seen.has(key), `${key} assigned twice`).toBe(false);
      expect(topics.has(tp.topic), `${memberId} does not subscribe to ${tp.topic}`).toBe(true);
      seen.set(key, memberId);
    }
  }
  const coverable = partitions.filter((tp) =>
    members.some((candidate) => candidate.topics.includes(tp.topic)),
  );
  expect(seen.size).toBe(coverable.length);
}

/**
 * The fewest moves any balanced assignment needs, found by trying every choice of which members
 * get the larger share (independent of the assignor's greedy reasoning). Only for members that
 * all subscribe to every topic.
 */
function minimumMoves(
  previous: Assignment,
  memberIds: readonly string[],
  partitions: readonly TopicPartition[],
) {
  const valid = new Set(partitions.map((tp) => `${tp.topic}#${tp.partition}`));
  const kept = memberIds.map(
    (memberId) => (previous[memberId] ?? []).filter((tp) => valid.has(`${tp.topic}#${tp.partition}`)).length,
  );
  const share = Math.floor(partitions.length / memberIds.length);
  const larger = partitions.length % memberIds.length;
  let bestKept = 0;
  for (let mask = 0; mask < 1 << memberIds.length; mask++) {
    let bits = 0;
    for (let i = 0; i < memberIds.length; i++) if (mask & (1 << i)) bits++;
    if (bits !== larger) continue;
    let total = 0;
    kept.forEach((owned, i) => {
      total += Math.min(owned, share + (mask & (1 << i) ? 1 : 0));
    });
    bestKept = Math.max(bestKept, total);
  }
  return kept.reduce((sum, owned) => sum + owned, 0) - bestKept;
}

describe('assignPartitions', () => {
  it('splits 6 partitions 3 and 3 between two members, then 2, 2 and 2 among three', () => {
    const partitions = tps('orders', 6);
    const two = assignPartitions({
      members: [member('a', ['orders']), member('b', ['orders'])],
      partitions,
      previous: {},
    });

    const three = assignPartitions({
      members: [member('a', ['orders']), member('b', ['orders']), member('c', ['orders'])],
      partitions,
      previous: two,
    });

    expect(counts(two)).toEqual([3, 3]);
    expect(counts(three)).toEqual([2, 2, 2]);
    expect(countMoves(two, three)).toBe(2);
    expect(three.a?.every((tp) => two.a?.some((old) => old.partition === tp.partition))).toBe(true);
  });

  it('hands a leaving member’s partitions to the survivors without moving any other', () => {
    const partitions = tps('t', 6);
    const before = assignPartitions({
      members: [member('a'), member('b'), member('c')],
      partitions,
      previous: {},
    });

    const after = assignPartitions({ members: [member('a'), member('c')], partitions, previous: before });

    expect(countMoves(before, after)).toBe(0);
    expect(counts(after)).toEqual([3, 3]);
    expect(after.a).toEqual(expect.arrayContaining(before.a ?? []));
  });

  it('leaves members idle when there are more members than partitions', () => {
    const assignment = assignPartitions({
      members: ['a', 'b', 'c', 'd'].map((id) => member(id)),
      partitions: tps('t', 2),
      previous: {},
    });

    expect(counts(assignment).sort()).toEqual([0, 0, 1, 1]);
  });

  it('gives each member only partitions of the topics it subscribes to', () => {
    const members = [member('a', ['x']), member('b', ['x', 'y']), member('c', ['y'])];
    const partitions = [...tps('x', 4), ...tps('y', 2)];

    const assignment = assignPartitions({ members, partitions, previous: {} });

    expectExactCover(assignment, members, partitions);
    expect(counts(assignment)).toEqual([2, 2, 2]);
  });

  it('is the same whatever the order of its input', () => {
    const members = ['m3', 'm1', 'm2'].map((id) => member(id, ['x', 'y']));
    const partitions = [...tps('y', 3), ...tps('x', 4)];

    const one = assignPartitions({ members, partitions, previous: {} });
    const other = assignPartitions({
      members: [...members].reverse(),
      partitions: [...partitions].reverse(),
      previous: {},
    });

    expect(other).toEqual(one);
  });

  it('drops partitions that no longer exist and ignores a previous owner listed twice', () => {
    const assignment = assignPartitions({
      members: [member('a'), member('b')],
      partitions: tps('t', 2),
      previous: { a: tps('t', 4), b: [{ topic: 't', partition: 0 }] },
    });

    expect(assignment).toEqual({ a: [{ topic: 't', partition: 0 }], b: [{ topic: 't', partition: 1 }] });
  });

  // How fast is the benchmark's to measure; the test's timeout bounds a pathological slowdown.
  it('assigns 4096 partitions among 100 members, balanced', () => {
    const members = Array.from({ length: 100 }, (_, i) => member(`m${String(i).padStart(3, '0')}`));
    const partitions = tps('t', 4096);
    const first = assignPartitions({ members: members.slice(0, 1), partitions, previous: {} });

    const spread = assignPartitions({ members, partitions, previous: first });

    expect(Math.max(...counts(spread)) - Math.min(...counts(spread))).toBeLessThanOrEqual(1);
  });
});

/** A random group history: topics, then a sequence of joins and leaves. */
const history = fc.record({
  partitionCounts: fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 3 }),
  events: fc.array(
    fc.oneof(
      fc.record({ kind: fc.constant('join' as const), id: fc.integer({ min: 0, max: 9 }) }),
      fc.record({ kind: fc.constant('leave' as const), id: fc.integer({ min: 0, max: 9 }) }),
    ),
    { minLength: 1, maxLength: 25 },
  ),
});

describe('assignPartitions properties', () => {
  it('covers every partition exactly once, stays balanced and moves the fewest partitions, for any join/leave sequence', () => {
    fc.assert(
      fc.property(history, ({ partitionCounts, events }) => {
        const topics = partitionCounts.map((_, i) => `topic-${i}`);
        const partitions = partitionCounts.flatMap((count, i) => tps(`topic-${i}`, count));
        const memberIds = new Set<string>();
        let previous: Assignment = {};
        for (const event of events) {
          const id = `member-${event.id}`;
          if (event.kind === 'join') memberIds.add(id);
          else memberIds.delete(id);
          if (memberIds.size === 0) {
            previous = {};
            continue;
          }
          const members = [...memberIds].map((memberId) => member(memberId, topics));

          const next = assignPartitions({ members, partitions, previous });

          expectExactCover(next, members, partitions);
          const sizes = counts(next);
          expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
          expect(countMoves(previous, next)).toBe(minimumMoves(previous, [...memberIds], partitions));
          previous = next;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('with differing subscriptions gives each partition to one subscriber and leaves no move that evens the counts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 6 }),
        (partitionCounts, subscriptionBits) => {
          const partitions = partitionCounts.flatMap((count, i) => tps(`topic-${i}`, count));
          const members = subscriptionBits.map((bits, i) =>
            member(
              `member-${i}`,
              partitionCounts.map((_, t) => `topic-${t}`).filter((_, t) => bits[t]),
            ),
          );

          const assignment = assignPartitions({ members, partitions, previous: {} });

          expectExactCover(assignment, members, partitions);
          for (const donor of members) {
            for (const receiver of members) {
              const gap =
                (assignment[donor.memberId]?.length ?? 0) - (assignment[receiver.memberId]?.length ?? 0);
              const movable = assignment[donor.memberId]?.some((tp) => receiver.topics.includes(tp.topic));
              expect(gap >= 2 && movable).toBe(false);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is deterministic: the same previous assignment and members give the same next one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: 1000 }),
        (partitionCount, ids, seed) => {
          const members = ids.map((id) => member(`m${id}`));
          const partitions = tps('t', partitionCount);
          const previous = assignPartitions({
            members: members.slice(0, 1 + (seed % members.length)),
            partitions,
            previous: {},
          });
          const shuffled = [...members].sort(
            (a, b) => ((a.memberId.length * seed) % 7) - ((b.memberId.length * seed) % 7),
          );

          expect(assignPartitions({ members: shuffled, partitions, previous })).toEqual(
            assignPartitions({ members, partitions, previous }),
          );
        },
      ),
    );
  });
});
