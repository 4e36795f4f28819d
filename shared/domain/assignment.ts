/**
 * Partition assignment for consumer groups: pure, deterministic and sticky, in the spirit of
 * Kafka's (cooperative) sticky assignor.
 *
 * 1. Every member keeps the partitions it owned in the previous generation, as long as the
 *    partition still exists and the member still subscribes to its topic.
 * 2. Partitions without an owner (new partitions, or those of members that left) go one by one to
 *    the eligible member with the fewest partitions, the most constrained partitions first.
 * 3. While some member holds two or more partitions more than another member that could take one
 *    of them, one partition moves from the most loaded member to the least loaded one.
 *
 * When every member subscribes to the same topics the result is balanced (counts differ by at
 * most one) and moves as few partitions as any balanced assignment could: a member loses
 * partitions only while it holds more than its share. With differing subscriptions each partition
 * still goes to exactly one member that subscribes to its topic, and no single move could make
 * the counts more even.
 *
 * The same members, partitions and previous assignment always give the same answer, whatever
 * their order: every Lambda that computes a generation computes the same one.
 *
 * @example
 * assignPartitions({
 *   members: [{ memberId: 'a', topics: ['orders'] }, { memberId: 'b', topics: ['orders'] }],
 *   partitions: [0, 1, 2].map((partition) => ({ topic: 'orders', partition })),
 *   previous: { a: [{ topic: 'orders', partition: 0 }, { topic: 'orders', partition: 1 }, { topic: 'orders', partition: 2 }] },
 * });
 * // → { a: [orders-0, orders-1], b: [orders-2] }: one partition moved, two stayed.
 */
import assert from 'node:assert/strict';

/** One partition of one topic. */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** A member as the assignor sees it. */
export interface AssignmentMember {
  readonly memberId: string;
  /** Topics the member subscribes to. */
  readonly topics: readonly string[];
}

export interface AssignmentInput {
  readonly members: readonly AssignmentMember[];
  /** Every partition of every subscribed topic that exists now. */
  readonly partitions: readonly TopicPartition[];
  /** Owners in the previous generation, by member id; members that left may still appear. */
  readonly previous: Readonly<Record<string, readonly TopicPartition[]>>;
}

/** Partitions by member id; every member of the input appears, sorted by topic and partition. */
export type Assignment = Record<string, TopicPartition[]>;

/** Topic names cannot hold '#', so this key is unambiguous. */
const keyOf = (tp: TopicPartition) => `${tp.topic}#${tp.partition}`;

/** Orders partitions by topic name, then partition number. */
export function compareTopicPartitions(a: TopicPartition, b: TopicPartition): number {
  if (a.topic !== b.topic) return a.topic < b.topic ? -1 : 1;
  return a.partition - b.partition;
}

const compareIds = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Computes the next generation's assignment. See the module comment for the rules. */
export function assignPartitions(input: AssignmentInput): Assignment {
  const members = [...input.members].sort((a, b) => compareIds(a.memberId, b.memberId));
  for (let i = 1; i < members.length; i++) {
    assert.notEqual(members[i]?.memberId, members[i - 1]?.memberId, 'member ids are unique');
  }
  const subscriptions = new Map(members.map((member) => [member.memberId, new Set(member.topics)]));
  const partitions = new Map<string, TopicPartition>();
  for (const tp of [...input.partitions].sort(compareTopicPartitions)) partitions.set(keyOf(tp), tp);

  const partitionOf = (key: string) => partitions.get(key) as TopicPartition;
  const owner = new Map<string, string>();
  /** Keys in the order they were given: kept ones sorted, then orphans, then moved-in ones. */
  const owned = new Map<string, string[]>(members.map((member) => [member.memberId, []]));
  const eligible = (memberId: string, key: string) =>
    subscriptions.get(memberId)?.has(partitionOf(key).topic) ?? false;
  const give = (memberId: string, key: string) => {
    owner.set(key, memberId);
    owned.get(memberId)?.push(key);
  };
  const count = (memberId: string) => owned.get(memberId)?.length ?? 0;

  // 1. Sticky: keep what is still valid. A partition listed twice goes to the first member in id order.
  for (const member of members) {
    const kept = [...(input.previous[member.memberId] ?? [])].sort(compareTopicPartitions);
    for (const tp of kept) {
      const key = keyOf(tp);
      if (partitions.has(key) && !owner.has(key) && eligible(member.memberId, key))
        give(member.memberId, key);
    }
  }

  // 2. Orphans to the least loaded eligible member, the partitions with the fewest candidates first.
  const orphans = [...partitions.keys()]
    .filter((key) => !owner.has(key))
    .map((key) => ({ key, candidates: members.filter((member) => eligible(member.memberId, key)) }))
    .sort((a, b) => a.candidates.length - b.candidates.length);
  for (const { key, candidates } of orphans) {
    let best: string | undefined;
    for (const candidate of candidates) {
      if (best === undefined || count(candidate.memberId) < count(best)) best = candidate.memberId;
    }
    if (best !== undefined) give(best, key);
  }

  // 3. Even out: move one partition at a time from the most loaded member to the least loaded one
  // that can take it. Each move lowers the sum of squared counts, so the loop ends.
  const movesMax = partitions.size * Math.max(1, members.length);
  for (let moves = 0; moves <= movesMax; moves++) {
    const move = nextMove(members, owned, eligible);
    if (!move) break;
    assert.ok(moves < movesMax, 'balancing ends: every move lowers the sum of squared counts');
    owned.get(move.from)?.splice(move.index, 1);
    give(move.to, move.key);
  }

  const assignment: Assignment = {};
  for (const member of members) {
    assignment[member.memberId] = [...(owned.get(member.memberId) ?? [])]
      .map(partitionOf)
      .sort(compareTopicPartitions);
  }
  return assignment;
}

/**
 * The move that evens out the most: from the most loaded member to the least loaded one that
 * subscribes to one of its partitions (its most recently given such partition), while their counts
 * differ by two or more; undefined when no move helps.
 */
function nextMove(
  members: readonly AssignmentMember[],
  owned: ReadonlyMap<string, readonly string[]>,
  eligible: (memberId: string, key: string) => boolean,
): { index: number; key: string; from: string; to: string } | undefined {
  const count = (memberId: string) => owned.get(memberId)?.length ?? 0;
  const byLoadDescending = [...members].sort(
    (a, b) => count(b.memberId) - count(a.memberId) || compareIds(a.memberId, b.memberId),
  );
  const byLoadAscending = [...byLoadDescending].reverse();
  for (const donor of byLoadDescending) {
    for (const receiver of byLoadAscending) {
      if (count(donor.memberId) - count(receiver.memberId) < 2) break;
      const donorKeys = owned.get(donor.memberId) ?? [];
      for (let index = donorKeys.length - 1; index >= 0; index--) {
        const key = donorKeys[index] as string;
        if (eligible(receiver.memberId, key))
          return { index, key, from: donor.memberId, to: receiver.memberId };
      }
    }
  }
  return undefined;
}

/**
 * Partitions that changed hands between two assignments although their previous owner is still a
 * member and could have kept them: the cost of a rebalance (each one is a revocation).
 */
export function countMoves(
  previous: Readonly<Record<string, readonly TopicPartition[]>>,
  next: Readonly<Record<string, readonly TopicPartition[]>>,
): number {
  const nextOwner = new Map<string, string>();
  for (const [memberId, tps] of Object.entries(next))
    for (const tp of tps) nextOwner.set(keyOf(tp), memberId);
  let moves = 0;
  for (const [memberId, tps] of Object.entries(previous)) {
    if (!(memberId in next)) continue;
    for (const tp of tps) {
      const now = nextOwner.get(keyOf(tp));
      if (now !== undefined && now !== memberId) moves++;
    }
  }
  return moves;
}
