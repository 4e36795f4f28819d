import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { removedBatchOf } from '../../functions/rescue-batches.js';
import { isTtlRemoval } from '../../local/background.js';

const TTL_IDENTITY = { type: 'Service', principalId: 'dynamodb.amazonaws.com' };

/** A stream record as Lambda delivers it: numbers as strings, binaries as base64. */
function removal(
  overrides: Partial<DynamoDBRecord> = {},
  image: Record<string, unknown> = {},
): DynamoDBRecord {
  return {
    eventName: 'REMOVE',
    userIdentity: TTL_IDENTITY,
    dynamodb: {
      SequenceNumber: '100',
      OldImage: {
        pk: { S: '3f1c-topic-id#7' },
        sk: { N: '41' },
        bo: { N: '40' },
        mt: { N: '1767225600000' },
        d: { B: Buffer.from([16, 2, 3]).toString('base64') },
        a: { S: 'append-id' },
        x: { N: '1767229200' },
        ...image,
      } as never,
    },
    ...overrides,
  };
}

describe('the rescue event', () => {
  it('reads the batch a TTL deletion removed from its old image', () => {
    expect(removedBatchOf(removal())).toEqual({
      topicId: '3f1c-topic-id',
      partition: 7,
      baseOffset: 40,
      lastOffset: 41,
      maxTimestampSoFar: 1_767_225_600_000,
      data: new Uint8Array([16, 2, 3]),
    });
  });

  it('reads where a batch of a large append has its bytes: a range of its payload object', () => {
    const image = { d: undefined, ps: { N: '2048' }, pn: { N: '512' }, pc: { N: '15' } };

    expect(removedBatchOf(removal({}, image))?.data).toEqual({
      appendId: 'append-id',
      classDays: 15,
      start: 2048,
      bytes: 512,
    });
    expect(removedBatchOf(removal({}, { ...image, pc: undefined }))).toBeUndefined();
    expect(removedBatchOf(removal({}, { ...image, pn: { N: '0' } }))).toBeUndefined();
  });

  it('ignores records that are not removals of batches', () => {
    expect(removedBatchOf(removal({ eventName: 'INSERT' }))).toBeUndefined();
    expect(removedBatchOf(removal({}, { pk: { S: 'H#topic#0' }, sk: { S: 'H' } }))).toBeUndefined();
    expect(removedBatchOf({ eventName: 'REMOVE', dynamodb: {} })).toBeUndefined();
  });

  it('selects deletions by TTL only, as the event source filter does', () => {
    expect(isTtlRemoval(removal())).toBe(true);
    expect(isTtlRemoval(removal({ userIdentity: undefined }))).toBe(false);
    expect(isTtlRemoval(removal({ eventName: 'MODIFY' }))).toBe(false);
  });
});
