/**
 * The log table's partition key, `<topicId>#<partition>`: written by `logPartitionKey`, read back
 * from stream records by `parseLogPartitionKey` (the dispatcher's trigger, the TTL rescue).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  headKey,
  logPartitionKey,
  parseLogPartitionKey,
  segmentEntryPartitionKey,
} from '../../shared/adapters/dynamodb/keys.js';
import { LIMITS } from '../../shared/domain/limits.js';

describe('parseLogPartitionKey', () => {
  it('reads back the topic id and partition of every key logPartitionKey writes', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.integer({ min: 0, max: LIMITS.partitionsMax - 1 }), (topicId, partition) => {
        expect(parseLogPartitionKey(logPartitionKey(topicId, partition))).toEqual({ topicId, partition });
      }),
    );
  });

  it.each([
    ['a meta table head key', headKey('3f1c', 0).pk],
    ['a segment entry key', segmentEntryPartitionKey('3f1c', 0)],
    ['a key without partition', '3f1c'],
    ['a key without topic id', '#7'],
    ['a partition that is not a number', '3f1c#x'],
    ['a partition of ten digits', '3f1c#1234567890'],
  ])('finds no log partition in %s', (_name, pk) => {
    expect(parseLogPartitionKey(pk)).toBeUndefined();
  });
});
