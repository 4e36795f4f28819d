import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { publishDeliveryMetrics, triggerOf } from '../../functions/dispatch-subscriptions.js';

describe('triggerOf', () => {
  it('asks for the partitions of the batches a stream event inserted', () => {
    const record = (eventName: string, pk: string) => ({
      eventName,
      dynamodb: { Keys: { pk: { S: pk }, sk: { N: '9' } } },
    });
    const trigger = triggerOf({
      Records: [
        record('INSERT', 'topic-a#0'),
        record('INSERT', 'topic-a#0'),
        record('MODIFY', 'topic-b#12'),
        record('REMOVE', 'topic-c#1'),
        record('INSERT', 'malformed'),
      ],
    });
    expect(trigger).toEqual({
      kind: 'appends',
      partitions: [
        { topicId: 'topic-a', partition: 0 },
        { topicId: 'topic-b', partition: 12 },
      ],
    });
  });

  it.each([{}, { source: 'aws.events', 'detail-type': 'Scheduled Event' }, null, 'x'])(
    'sweeps for %j',
    (event) => {
      expect(triggerOf(event)).toEqual({ kind: 'sweep' });
    },
  );
});

describe('publishDeliveryMetrics', () => {
  afterEach(() => vi.restoreAllMocks());

  it('writes one EMF document per subscription, with the Subscription dimension', () => {
    // Prepare
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    const metrics = new Metrics({ namespace: 'Shoal', serviceName: 'shoal' });
    const counters = { delivered: 5, invocations: 2, errors: 1, deadLettered: 1, filtered: 3, discarded: 0 };

    // Act
    publishDeliveryMetrics(metrics, {
      subscriptions: [
        {
          subscription: 'billing',
          topic: 'orders',
          counters,
          partitions: 2,
          lag: 4,
          oldestUndeliveredAgeMs: 1500,
        },
        {
          subscription: 'audit',
          topic: 'orders',
          counters,
          partitions: 1,
          lag: 0,
          oldestUndeliveredAgeMs: 0,
        },
      ],
      failures: [],
      durationMs: 10,
    });

    // Assess
    const documents = lines
      .flatMap((line) => line.split('\n'))
      .filter((line) => line.includes('_aws'))
      .map((line) => JSON.parse(line));
    expect(documents).toHaveLength(2);
    expect(documents[0]).toMatchObject({
      Subscription: 'billing',
      DeliveredRecords: 5,
      Lag: 4,
      OldestUndeliveredRecordAgeMs: 1500,
    });
    expect(documents[0]._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'Shoal',
      Dimensions: [expect.arrayContaining(['Subscription'])],
    });
    expect(documents[1]).toMatchObject({ Subscription: 'audit', DeadLetteredRecords: 1 });
  });
});
