import { describe, expect, it } from 'vitest';
import { analyzeHistory, type History, type ProduceOperation } from '../../bench/consistency/history.js';

/**
 * One request of three records (a, b, c) across partitions 0 and 1, never acknowledged (every
 * attempt timed out, say), and readers that read both partitions to their ends.
 */
function unacknowledgedRequest(found: Record<number, string[]>): History {
  const produce: ProduceOperation = {
    producer: 'p1',
    idempotencyKey: 'i1',
    records: [
      { id: 'a', key: 'k1' },
      { id: 'b', key: 'k2' },
      { id: 'c', key: 'k1' },
    ],
  };
  const partitions = [0, 1];
  return {
    produces: [produce],
    reads: partitions.map((partition) => ({
      reader: 'verifier',
      partition,
      fromOffset: 0,
      records: (found[partition] ?? []).map((id, offset) => ({ offset, id })),
      highWatermark: (found[partition] ?? []).length,
      startedAtMs: 10,
      completedAtMs: 11,
    })),
    commits: [],
    offsetObservations: [],
    finalHighWatermarks: partitions.map((partition) => (found[partition] ?? []).length),
  };
}

describe('analyzeHistory: one request, all or nothing', () => {
  it('finds nothing when an unacknowledged request is wholly visible', () => {
    expect(analyzeHistory(unacknowledgedRequest({ 0: ['a', 'c'], 1: ['b'] })).partialRequests).toBe(0);
  });

  it('finds nothing when an unacknowledged request is wholly absent', () => {
    expect(analyzeHistory(unacknowledgedRequest({})).partialRequests).toBe(0);
  });

  it('counts an unacknowledged request whose records are found on one partition and not the other', () => {
    expect(analyzeHistory(unacknowledgedRequest({ 0: ['a', 'c'] })).partialRequests).toBe(1);
  });

  it('counts a request found in part within one partition', () => {
    expect(analyzeHistory(unacknowledgedRequest({ 0: ['a'], 1: ['b'] })).partialRequests).toBe(1);
  });
});
