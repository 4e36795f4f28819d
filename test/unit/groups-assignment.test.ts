/**
 * The assignor (assignment.ts), pure, beside assignment.test.ts: the module's own example, the same
 * answer whatever the order of the members and of each member's previous partitions (every Lambda
 * computes the same generation), partitions dealt in member id order, a partition listed for two
 * previous owners kept by the first in id order, a member that stops subscribing to a topic giving
 * its partitions up, each member's partitions answered in topic and partition order, duplicate
 * member ids refused, and what `countMoves` counts as the cost of a rebalance.
 */
import { describe, expect, it } from 'vitest';
import {
  type AssignmentMember,
  assignPartitions,
  compareTopicPartitions,
  countMoves,
  type TopicPartition,
} from '../../shared/domain/assignment.js';

const tp = (topic: string, partition: number): TopicPartition => ({ topic, partition });
const tps = (topic: string, ...partitions: number[]) => partitions.map((p) => tp(topic, p));
const member = (memberId: string, topics = ['t']): AssignmentMember => ({ memberId, topics });

describe('assignPartitions', () => {
  it('answers the module example: a member joining takes one partition, two stay', () => {
    const assignment = assignPartitions({
      members: [member('a', ['orders']), member('b', ['orders'])],
      partitions: tps('orders', 0, 1, 2),
      previous: { a: tps('orders', 0, 1, 2) },
    });

    expect(assignment).toEqual({ a: tps('orders', 0, 1), b: tps('orders', 2) });
  });

  it('gives the same answer whatever the order of a member previous partitions', () => {
    const members = [member('a'), member('b')];
    const partitions = tps('t', 0, 1, 2, 3);

    const sorted = assignPartitions({ members, partitions, previous: { a: tps('t', 0, 1, 2, 3) } });
    const shuffled = assignPartitions({ members, partitions, previous: { a: tps('t', 3, 0, 2, 1) } });

    expect(shuffled).toEqual(sorted);
    expect(sorted).toEqual({ a: tps('t', 0, 1), b: tps('t', 2, 3) });
  });

  it('deals new partitions to the member with the fewest, in member id order on a tie', () => {
    const members = [
      member('c', ['x', 'y', 'z']),
      member('a', ['x', 'y', 'z']),
      member('b', ['x', 'y', 'z']),
    ];
    const partitions = [...tps('x', 0, 1), ...tps('y', 0, 1), ...tps('z', 0, 1)];

    const assignment = assignPartitions({ members, partitions, previous: {} });

    expect(assignment).toEqual({
      a: [tp('x', 0), tp('y', 1)],
      b: [tp('x', 1), tp('z', 0)],
      c: [tp('y', 0), tp('z', 1)],
    });
  });

  it('keeps a partition listed for two previous owners with the first in id order, whatever the input order', () => {
    const partitions = tps('t', 0, 1);
    const previous = { b: tps('t', 0), a: tps('t', 0) };

    for (const members of [
      [member('a'), member('b')],
      [member('b'), member('a')],
    ]) {
      expect(assignPartitions({ members, partitions, previous })).toEqual({ a: tps('t', 0), b: tps('t', 1) });
    }
  });

  it('evens out a tie in load by member id whatever the input order', () => {
    const partitions = tps('t', 0, 1, 2, 3, 4);
    const previous = { a: tps('t', 0, 1, 2, 3, 4) };

    const one = assignPartitions({ members: [member('a'), member('b'), member('c')], partitions, previous });
    const other = assignPartitions({
      members: [member('c'), member('b'), member('a')],
      partitions,
      previous,
    });

    expect(other).toEqual(one);
    expect(one).toEqual({ a: tps('t', 0, 1), b: tps('t', 3), c: tps('t', 2, 4) });
  });

  it('takes from a member the partitions of a topic it no longer subscribes to, and lets it keep the rest', () => {
    const assignment = assignPartitions({
      members: [member('a', ['t']), member('b', ['t', 'u'])],
      partitions: [...tps('t', 0, 1), ...tps('u', 0)],
      previous: { a: [tp('t', 0), tp('u', 0)], b: [tp('t', 1)] },
    });

    expect(assignment).toEqual({ a: [tp('t', 0)], b: [tp('t', 1), tp('u', 0)] });
  });

  it('answers each member partitions in topic and partition order, those moved in among those kept', () => {
    const assignment = assignPartitions({
      members: [member('b', ['s', 't'])],
      partitions: [...tps('s', 0), ...tps('t', 0, 1, 2, 3)],
      previous: { a: [tp('s', 0), tp('t', 0), tp('t', 1)], b: tps('t', 3, 2) },
    });

    expect(assignment).toEqual({ b: [tp('s', 0), ...tps('t', 0, 1, 2, 3)] });
  });

  it('refuses a member id given twice', () => {
    expect(() =>
      assignPartitions({
        members: [member('a'), member('b'), member('a')],
        partitions: tps('t', 0),
        previous: {},
      }),
    ).toThrow('member ids are unique');
  });
});

describe('compareTopicPartitions', () => {
  it('orders by topic name, then by partition number', () => {
    const sorted = [tp('b', 10), tp('a', 2), tp('b', 9), tp('a', 10)].sort(compareTopicPartitions);

    expect(sorted).toEqual([tp('a', 2), tp('a', 10), tp('b', 9), tp('b', 10)]);
  });
});

describe('countMoves', () => {
  it('counts partitions that went from one staying member to another', () => {
    expect(countMoves({ a: tps('t', 0, 1, 2), b: [] }, { a: tps('t', 0), b: tps('t', 1, 2) })).toBe(2);
  });

  it('does not count the partitions of a member that left, nor partitions that no longer exist', () => {
    const previous = { a: tps('t', 0, 1), gone: tps('t', 2, 3), b: tps('t', 4, 5) };
    const next = { a: tps('t', 0, 1, 2), b: tps('t', 3, 4) };

    expect(countMoves(previous, next)).toBe(0);
  });

  it('is 0 when nothing changed hands', () => {
    expect(countMoves({ a: tps('t', 0), b: tps('t', 1) }, { a: tps('t', 0), b: tps('t', 1) })).toBe(0);
  });
});
