import { describe, expect, it } from 'vitest';
import {
  analyzeHistory,
  CHECKER_COLUMNS,
  type CheckerCounts,
  type History,
  isClean,
  type ProduceOperation,
  type ReadOperation,
} from '../../bench/consistency/history.js';

/**
 * A clean history: producer p1 sends a, c, e with key k1 (partition 0) and b, d with key k2
 * (partition 1); a group member and an independent reader each read everything; the group commits
 * to the high watermarks.
 */
function cleanHistory(): {
  produces: ProduceOperation[];
  reads: ReadOperation[];
  commits: History['commits'][number][];
  offsetObservations: History['offsetObservations'][number][];
  finalHighWatermarks: number[];
} {
  return {
    produces: [
      {
        producer: 'p1',
        idempotencyKey: 'i1',
        records: [
          { id: 'a', key: 'k1' },
          { id: 'b', key: 'k2' },
        ],
        acknowledged: [
          { partition: 0, offset: 0 },
          { partition: 1, offset: 0 },
        ],
      },
      {
        producer: 'p1',
        idempotencyKey: 'i2',
        records: [
          { id: 'c', key: 'k1' },
          { id: 'd', key: 'k2' },
        ],
        acknowledged: [
          { partition: 0, offset: 1 },
          { partition: 1, offset: 1 },
        ],
      },
      {
        producer: 'p1',
        idempotencyKey: 'i3',
        records: [{ id: 'e', key: 'k1' }],
        acknowledged: [{ partition: 0, offset: 2 }],
      },
    ],
    reads: [
      read('member', 0, 0, ['a', 'c', 'e'], 3, 10, 12, 'g'),
      read('member', 1, 0, ['b', 'd'], 2, 10, 12, 'g'),
      read('reader', 0, 0, ['a', 'c', 'e'], 3, 20, 22),
      read('reader', 1, 0, ['b', 'd'], 2, 20, 22),
    ],
    commits: [
      { group: 'g', member: 'm1', partition: 0, offset: 3, startedAtMs: 13, completedAtMs: 14 },
      { group: 'g', member: 'm1', partition: 1, offset: 2, startedAtMs: 13, completedAtMs: 14 },
    ],
    offsetObservations: [
      { group: 'g', partition: 0, committedOffset: 3, highWatermark: 3, atMs: 15 },
      { group: 'g', partition: 1, committedOffset: 2, highWatermark: 2, atMs: 15 },
    ],
    finalHighWatermarks: [3, 2],
  };
}

/** A read of consecutive offsets from `fromOffset` returning `ids`. */
function read(
  reader: string,
  partition: number,
  fromOffset: number,
  ids: string[],
  highWatermark: number,
  startedAtMs: number,
  completedAtMs: number,
  group?: string,
): ReadOperation {
  return {
    reader,
    ...(group === undefined ? {} : { group }),
    partition,
    fromOffset,
    records: ids.map((id, index) => ({ offset: fromOffset + index, id })),
    highWatermark,
    startedAtMs,
    completedAtMs,
  };
}

/** Every column zero except the ones given. */
function only(counts: Partial<CheckerCounts>): CheckerCounts {
  const zero = Object.fromEntries(CHECKER_COLUMNS.map((column) => [column.name, 0])) as Record<
    keyof CheckerCounts,
    number
  >;
  return { ...zero, ...counts };
}

describe('analyzeHistory', () => {
  it('finds nothing in a clean history where records are read more than once', () => {
    const history = cleanHistory();

    const counts = analyzeHistory(history);

    expect(counts).toEqual(only({}));
    expect(isClean(counts)).toBe(true);
  });

  it('counts an acknowledged record that no read returned as lost', () => {
    const history = cleanHistory();
    history.produces.push({
      producer: 'p1',
      idempotencyKey: 'i4',
      records: [{ id: 'f', key: 'k2' }],
      acknowledged: [{ partition: 1, offset: 2 }],
    });

    expect(analyzeHistory(history)).toEqual(only({ lost: 1 }));
  });

  it('does not count an unacknowledged record that never appeared as lost', () => {
    const history = cleanHistory();
    history.produces.push({ producer: 'p1', idempotencyKey: 'i4', records: [{ id: 'f', key: 'k2' }] });

    expect(analyzeHistory(history)).toEqual(only({}));
  });

  it('counts a record stored at a second offset as a duplicate', () => {
    const history = cleanHistory();
    history.reads[2] = read('reader', 0, 0, ['a', 'c', 'e', 'a'], 4, 20, 22);
    history.finalHighWatermarks[0] = 4;

    expect(analyzeHistory(history)).toEqual(only({ duplicates: 1 }));
  });

  it('counts an offset below the high watermark that reads skipped as a gap', () => {
    const history = cleanHistory();
    history.produces.push({ producer: 'p2', idempotencyKey: 'j1', records: [{ id: 'y', key: 'k3' }] });
    history.reads.push({ ...read('reader', 1, 2, [], 4, 23, 24), records: [{ offset: 3, id: 'y' }] });
    history.finalHighWatermarks[1] = 4;

    expect(analyzeHistory(history)).toEqual(only({ gaps: 1 }));
  });

  it('counts same-key records stored out of produce order', () => {
    const history = cleanHistory();
    history.produces.push(
      {
        producer: 'p1',
        idempotencyKey: 'i4',
        records: [{ id: 'g1', key: 'k1' }],
        acknowledged: [{ partition: 0, offset: 4 }],
      },
      {
        producer: 'p1',
        idempotencyKey: 'i5',
        records: [{ id: 'h1', key: 'k1' }],
        acknowledged: [{ partition: 0, offset: 3 }],
      },
    );
    history.reads.push(read('reader', 0, 3, ['h1', 'g1'], 5, 23, 24));
    history.finalHighWatermarks[0] = 5;

    expect(analyzeHistory(history)).toEqual(only({ keyOrderViolations: 1 }));
  });

  it('counts an offset where two readers saw different records as a disagreement', () => {
    const history = cleanHistory();
    history.produces.push({ producer: 'p2', idempotencyKey: 'j1', records: [{ id: 'z', key: 'k9' }] });
    history.reads.push(read('other', 1, 1, ['z'], 2, 23, 24));

    expect(analyzeHistory(history)).toEqual(only({ disagreements: 1 }));
  });

  it('counts a produce answer that places a record where readers found another as a disagreement', () => {
    const history = cleanHistory();
    const last = history.produces[2] as ProduceOperation;
    history.produces[2] = { ...last, acknowledged: [{ partition: 0, offset: 1 }] };

    expect(analyzeHistory(history).disagreements).toBe(1);
  });

  it('counts a read that sees a lower high watermark than an earlier finished read as non-monotonic', () => {
    const history = cleanHistory();
    history.reads.push(read('late', 0, 0, ['a', 'c'], 2, 30, 31));

    expect(analyzeHistory(history)).toEqual(only({ nonMonotonicReads: 1 }));
  });

  it('does not count overlapping reads with different high watermarks as non-monotonic', () => {
    const history = cleanHistory();
    history.reads.push(read('slow', 0, 0, ['a', 'c'], 2, 11, 25));

    expect(analyzeHistory(history)).toEqual(only({}));
  });

  it('counts a committed offset seen lower than before as moving backwards', () => {
    const history = cleanHistory();
    history.offsetObservations.push({
      group: 'g',
      partition: 0,
      committedOffset: 2,
      highWatermark: 3,
      atMs: 40,
    });

    expect(analyzeHistory(history)).toEqual(only({ commitsBackwards: 1 }));
  });

  it('does not count a committed offset moved back by an explicit reset', () => {
    const history: History = {
      ...cleanHistory(),
      offsetObservations: [
        ...cleanHistory().offsetObservations,
        { group: 'g', partition: 0, committedOffset: 0, highWatermark: 3, atMs: 40 },
      ],
      offsetResets: [{ group: 'g', partition: 0, atMs: 30 }],
    };

    expect(analyzeHistory(history).commitsBackwards).toBe(0);
  });

  it('counts an accepted commit below one that finished before it started as moving backwards', () => {
    const history = cleanHistory();
    history.commits.push({
      group: 'g',
      member: 'm1',
      partition: 0,
      offset: 1,
      startedAtMs: 16,
      completedAtMs: 17,
    });

    expect(analyzeHistory(history).commitsBackwards).toBe(1);
  });

  it('counts a committed offset above the high watermark', () => {
    const history = cleanHistory();
    history.offsetObservations.push({
      group: 'g',
      partition: 0,
      committedOffset: 4,
      highWatermark: 3,
      atMs: 40,
    });

    expect(analyzeHistory(history)).toEqual(only({ commitsBeyondHighWatermark: 1 }));
  });

  it('counts offsets a group committed past without any member reading them', () => {
    const history = cleanHistory();
    history.reads[1] = read('member', 1, 0, ['b'], 2, 10, 12, 'g');

    expect(analyzeHistory(history)).toEqual(only({ skippedByGroup: 1 }));
  });
});
