/**
 * The consistency checker's verdict, computed from a recorded history alone (Jepsen's approach):
 * what producers sent and were told, what readers saw, what consumer groups committed. Pure: no I/O,
 * so each column can be tested with a planted anomaly.
 *
 * Producers must send same-key records one request at a time (waiting for each answer) for the
 * per-key order column to mean anything; keys are compared within one producer only.
 */

/** One record a producer sent; `id` is unique across the whole run. */
export interface SentRecord {
  readonly id: string;
  readonly key: string;
}

/** A position in the log. */
export interface Position {
  readonly partition: number;
  readonly offset: number;
}

/** One produce request (all its attempts, which reuse one Idempotency-Key and one body). */
export interface ProduceOperation {
  readonly producer: string;
  readonly idempotencyKey: string;
  /** In request order. */
  readonly records: readonly SentRecord[];
  /** The positions a 200 answer gave, in request order; undefined when no attempt got one. */
  readonly acknowledged?: readonly Position[];
}

/** One fetch answer as a reader saw it. */
export interface ReadOperation {
  readonly reader: string;
  /** The consumer group the reader reads for, if any (a member processes what it reads). */
  readonly group?: string;
  readonly partition: number;
  readonly fromOffset: number;
  /** In answer order. */
  readonly records: readonly { readonly offset: number; readonly id: string }[];
  readonly highWatermark: number;
  /** Client clock (ms) when the request was sent and when the answer arrived. */
  readonly startedAtMs: number;
  readonly completedAtMs: number;
}

/** A commit the service accepted (2xx). */
export interface CommitOperation {
  readonly group: string;
  readonly member: string;
  readonly partition: number;
  readonly offset: number;
  readonly startedAtMs: number;
  readonly completedAtMs: number;
}

/** A group's committed offset and the partition's high watermark, as one answer showed them. */
export interface OffsetObservation {
  readonly group: string;
  readonly partition: number;
  readonly committedOffset: number;
  readonly highWatermark: number;
  readonly atMs: number;
}

/** Everything the checker recorded. Operations of each kind are in the order they completed. */
export interface History {
  readonly produces: readonly ProduceOperation[];
  readonly reads: readonly ReadOperation[];
  readonly commits: readonly CommitOperation[];
  readonly offsetObservations: readonly OffsetObservation[];
  /** The high watermark of every partition once all producers stopped (index = partition). */
  readonly finalHighWatermarks: readonly number[];
  /** Explicit offset resets (`POST .../offsets/reset`), after which a commit may move back. */
  readonly offsetResets?: readonly {
    readonly group: string;
    readonly partition: number;
    readonly atMs: number;
  }[];
}

/** The checker's columns; every one must be zero. */
export interface CheckerCounts {
  /** Acknowledged records that no read returned. */
  readonly lost: number;
  /** Extra positions at which an already placed record was found again. */
  readonly duplicates: number;
  /**
   * Produce requests, acknowledged or not, of which readers found some records but not all: one
   * request is atomic, so one that failed part-way must be wholly visible or wholly absent.
   */
  readonly partialRequests: number;
  /** Offsets below the high watermark that no read returned, or that a read skipped. */
  readonly gaps: number;
  /** Positions where readers (or a produce answer) saw different records. */
  readonly disagreements: number;
  /** Reads that went back in time: a lower high watermark than one seen before, or offsets going back. */
  readonly nonMonotonicReads: number;
  /** Same-key records (of one producer) stored out of the order they were produced in. */
  readonly keyOrderViolations: number;
  /** Committed offsets that moved backwards without an explicit reset. */
  readonly commitsBackwards: number;
  /** Committed offsets above the partition's high watermark. */
  readonly commitsBeyondHighWatermark: number;
  /** Offsets below a group's committed offset that no member of the group read. */
  readonly skippedByGroup: number;
}

/** Column names with a one-line meaning, in table order. */
export const CHECKER_COLUMNS: readonly { readonly name: keyof CheckerCounts; readonly meaning: string }[] = [
  { name: 'lost', meaning: 'acknowledged records no reader ever got' },
  { name: 'duplicates', meaning: 'records stored at more than one offset' },
  { name: 'partialRequests', meaning: 'produce requests found in part, not all or nothing' },
  { name: 'gaps', meaning: 'offsets below the high watermark never returned or skipped' },
  { name: 'disagreements', meaning: 'offsets where readers or the produce answer disagree' },
  { name: 'nonMonotonicReads', meaning: 'reads that went back in time' },
  { name: 'keyOrderViolations', meaning: 'same-key records out of produce order' },
  { name: 'commitsBackwards', meaning: 'committed offsets that moved back' },
  { name: 'commitsBeyondHighWatermark', meaning: 'committed offsets above the high watermark' },
  { name: 'skippedByGroup', meaning: 'offsets a group committed past that no member read' },
];

const positionKey = (partition: number, offset: number) => `${partition}:${offset}`;

/**
 * Counts every anomaly in a history.
 *
 * @example
 * const counts = analyzeHistory(history);
 * const clean = Object.values(counts).every((count) => count === 0);
 */
export function analyzeHistory(history: History): CheckerCounts {
  const observed = observedPositions(history);
  return {
    lost: countLost(history, observed.positionsById),
    duplicates: countDuplicates(observed.positionsById),
    partialRequests: countPartialRequests(history, observed.positionsById),
    gaps: countGaps(history, observed.idsByPosition),
    disagreements: countDisagreements(history, observed.idsByPosition),
    nonMonotonicReads: countNonMonotonicReads(history.reads),
    keyOrderViolations: countKeyOrderViolations(history, observed.positionsById),
    commitsBackwards: countCommitsBackwards(history),
    commitsBeyondHighWatermark: countCommitsBeyondHighWatermark(history),
    skippedByGroup: countSkippedByGroup(history),
  };
}

/** True when every column is zero. */
export function isClean(counts: CheckerCounts): boolean {
  return Object.values(counts).every((count) => count === 0);
}

interface Observed {
  /** Every position each record id was read at. */
  readonly positionsById: Map<string, Map<string, Position>>;
  /** Every record id read at each position. */
  readonly idsByPosition: Map<string, Set<string>>;
}

function observedPositions(history: History): Observed {
  const positionsById = new Map<string, Map<string, Position>>();
  const idsByPosition = new Map<string, Set<string>>();
  for (const read of history.reads) {
    for (const record of read.records) {
      const key = positionKey(read.partition, record.offset);
      const positions = positionsById.get(record.id) ?? new Map<string, Position>();
      positions.set(key, { partition: read.partition, offset: record.offset });
      positionsById.set(record.id, positions);
      const ids = idsByPosition.get(key) ?? new Set<string>();
      ids.add(record.id);
      idsByPosition.set(key, ids);
    }
  }
  return { positionsById, idsByPosition };
}

function countLost(history: History, positionsById: Map<string, Map<string, Position>>): number {
  let lost = 0;
  for (const produce of history.produces) {
    if (produce.acknowledged === undefined) continue;
    for (const record of produce.records) {
      if (!positionsById.has(record.id)) lost++;
    }
  }
  return lost;
}

function countDuplicates(positionsById: Map<string, Map<string, Position>>): number {
  let duplicates = 0;
  for (const positions of positionsById.values()) duplicates += positions.size - 1;
  return duplicates;
}

/** Needs every stored record read once at least (the verifier reads each partition to its end). */
function countPartialRequests(history: History, positionsById: Map<string, Map<string, Position>>): number {
  let partial = 0;
  for (const produce of history.produces) {
    const found = produce.records.filter((record) => positionsById.has(record.id)).length;
    if (found > 0 && found < produce.records.length) partial++;
  }
  return partial;
}

function countGaps(history: History, idsByPosition: Map<string, Set<string>>): number {
  const gaps = new Set<string>();
  history.finalHighWatermarks.forEach((highWatermark, partition) => {
    for (let offset = 0; offset < highWatermark; offset++) {
      if (!idsByPosition.has(positionKey(partition, offset))) gaps.add(positionKey(partition, offset));
    }
  });
  // A read must start exactly at the offset asked for and be contiguous (guarantee 4).
  for (const read of history.reads) {
    let expected = read.fromOffset;
    for (const record of read.records) {
      for (let offset = expected; offset < record.offset; offset++)
        gaps.add(positionKey(read.partition, offset));
      expected = Math.max(expected, record.offset + 1);
    }
  }
  return gaps.size;
}

function countDisagreements(history: History, idsByPosition: Map<string, Set<string>>): number {
  const seen = new Map<string, Set<string>>();
  for (const [key, ids] of idsByPosition) seen.set(key, new Set(ids));
  for (const produce of history.produces) {
    produce.acknowledged?.forEach((position, index) => {
      const record = produce.records[index];
      if (record === undefined) return;
      const key = positionKey(position.partition, position.offset);
      const ids = seen.get(key) ?? new Set<string>();
      ids.add(record.id);
      seen.set(key, ids);
    });
    // An answer with a different number of positions than records is itself a disagreement.
    if (produce.acknowledged !== undefined && produce.acknowledged.length !== produce.records.length) {
      seen.set(`answer:${produce.idempotencyKey}`, new Set(['records', 'positions']));
    }
  }
  let disagreements = 0;
  for (const ids of seen.values()) if (ids.size > 1) disagreements++;
  return disagreements;
}

/**
 * Reads are strongly consistent, so the high watermark a read sees may never be lower than one a
 * read that finished earlier (in real time) saw, and offsets within an answer only go up from the
 * offset asked for.
 */
function countNonMonotonicReads(reads: readonly ReadOperation[]): number {
  const violating = new Set<ReadOperation>();
  const byPartition = new Map<number, ReadOperation[]>();
  for (const read of reads) {
    const list = byPartition.get(read.partition) ?? [];
    list.push(read);
    byPartition.set(read.partition, list);
    let previous = read.fromOffset - 1;
    for (const record of read.records) {
      if (record.offset <= previous) violating.add(read);
      previous = record.offset;
    }
  }
  for (const list of byPartition.values()) {
    const byStart = [...list].sort((a, b) => a.startedAtMs - b.startedAtMs);
    const byEnd = [...list].sort((a, b) => a.completedAtMs - b.completedAtMs);
    let endIndex = 0;
    let highestFinished = -1;
    for (const read of byStart) {
      while (endIndex < byEnd.length && (byEnd[endIndex] as ReadOperation).completedAtMs < read.startedAtMs) {
        highestFinished = Math.max(highestFinished, (byEnd[endIndex] as ReadOperation).highWatermark);
        endIndex++;
      }
      if (read.highWatermark < highestFinished) violating.add(read);
    }
  }
  return violating.size;
}

function countKeyOrderViolations(
  history: History,
  positionsById: Map<string, Map<string, Position>>,
): number {
  // Where each record is: the position readers saw it at (the first, if duplicated), else its ack.
  const located = (record: SentRecord, ack: Position | undefined): Position | undefined => {
    const positions = positionsById.get(record.id);
    if (positions !== undefined && positions.size > 0) {
      return [...positions.values()].sort((a, b) => a.offset - b.offset)[0];
    }
    return ack;
  };
  const lastByKey = new Map<string, Position>();
  let violations = 0;
  for (const produce of history.produces) {
    if (produce.acknowledged === undefined) continue;
    produce.records.forEach((record, index) => {
      const position = located(record, produce.acknowledged?.[index]);
      if (position === undefined) return;
      const key = `${produce.producer}\u0000${record.key}`;
      const last = lastByKey.get(key);
      if (last !== undefined && (last.partition !== position.partition || position.offset <= last.offset)) {
        violations++;
      }
      lastByKey.set(key, position);
    });
  }
  return violations;
}

function countCommitsBackwards(history: History): number {
  const resets = history.offsetResets ?? [];
  const resetBetween = (group: string, partition: number, fromMs: number, toMs: number) =>
    resets.some(
      (reset) =>
        reset.group === group && reset.partition === partition && reset.atMs >= fromMs && reset.atMs <= toMs,
    );
  let backwards = 0;
  // Observations in time order: a committed offset seen lower than one seen before it.
  const lastSeen = new Map<string, OffsetObservation>();
  for (const observation of [...history.offsetObservations].sort((a, b) => a.atMs - b.atMs)) {
    const key = `${observation.group}\u0000${observation.partition}`;
    const last = lastSeen.get(key);
    if (
      last !== undefined &&
      observation.committedOffset < last.committedOffset &&
      !resetBetween(observation.group, observation.partition, last.atMs, observation.atMs)
    ) {
      backwards++;
    }
    lastSeen.set(key, observation);
  }
  // Accepted commits: one that started after another finished may not set a lower offset.
  const byGroupPartition = new Map<string, CommitOperation[]>();
  for (const commit of history.commits) {
    const key = `${commit.group}\u0000${commit.partition}`;
    byGroupPartition.set(key, [...(byGroupPartition.get(key) ?? []), commit]);
  }
  for (const commits of byGroupPartition.values()) {
    const byStart = [...commits].sort((a, b) => a.startedAtMs - b.startedAtMs);
    for (const commit of byStart) {
      const earlier = commits.filter(
        (other) =>
          other.completedAtMs < commit.startedAtMs &&
          other.offset > commit.offset &&
          !resetBetween(commit.group, commit.partition, other.completedAtMs, commit.startedAtMs),
      );
      if (earlier.length > 0) backwards++;
    }
  }
  return backwards;
}

function countCommitsBeyondHighWatermark(history: History): number {
  let beyond = 0;
  for (const observation of history.offsetObservations) {
    if (observation.committedOffset > observation.highWatermark) beyond++;
  }
  for (const commit of history.commits) {
    const highWatermark = history.finalHighWatermarks[commit.partition];
    if (highWatermark !== undefined && commit.offset > highWatermark) beyond++;
  }
  return beyond;
}

/**
 * At least once: every offset below the highest offset a group committed (capped at the high
 * watermark) must have been read by some member of the group.
 */
function countSkippedByGroup(history: History): number {
  const frontiers = new Map<string, Map<number, number>>();
  const raise = (group: string, partition: number, offset: number) => {
    const byPartition = frontiers.get(group) ?? new Map<number, number>();
    byPartition.set(partition, Math.max(byPartition.get(partition) ?? 0, offset));
    frontiers.set(group, byPartition);
  };
  for (const observation of history.offsetObservations) {
    raise(observation.group, observation.partition, observation.committedOffset);
  }
  for (const commit of history.commits) raise(commit.group, commit.partition, commit.offset);
  const readByGroup = new Map<string, Set<string>>();
  for (const read of history.reads) {
    if (read.group === undefined) continue;
    const positions = readByGroup.get(read.group) ?? new Set<string>();
    for (const record of read.records) positions.add(positionKey(read.partition, record.offset));
    readByGroup.set(read.group, positions);
  }
  let skipped = 0;
  for (const [group, byPartition] of frontiers) {
    const positions = readByGroup.get(group) ?? new Set<string>();
    for (const [partition, frontier] of byPartition) {
      const end = Math.min(frontier, history.finalHighWatermarks[partition] ?? frontier);
      for (let offset = 0; offset < end; offset++) {
        if (!positions.has(positionKey(partition, offset))) skipped++;
      }
    }
  }
  return skipped;
}
