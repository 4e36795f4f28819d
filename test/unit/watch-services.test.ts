import { describe, expect, it } from 'vitest';
import { appendMarksOf } from '../../shared/watch-services.js';

const record = (eventName: string, pk: string, sk: string) => ({
  eventName,
  dynamodb: { Keys: { pk: { S: pk }, sk: { N: sk } } },
});

describe('appendMarksOf', () => {
  it('takes each inserted batch item as a high watermark one past its last offset', () => {
    const marks = appendMarksOf({
      Records: [record('INSERT', 'topic-id#3', '41'), record('INSERT', 'other#0', '0')],
    });

    expect(marks).toEqual([
      { topicId: 'topic-id', partition: 3, highWatermark: 42 },
      { topicId: 'other', partition: 0, highWatermark: 1 },
    ]);
  });

  it('ignores TTL removals, keys of other items and events without records', () => {
    const marks = appendMarksOf({
      Records: [record('REMOVE', 'topic-id#3', '41'), record('INSERT', 'H#topic-id#3', '41')],
    });

    expect(marks).toEqual([]);
    expect(appendMarksOf({ source: 'aws.events' })).toEqual([]);
    expect(appendMarksOf(null)).toEqual([]);
  });
});
