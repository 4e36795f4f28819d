/**
 * Watching topics over a WebSocket (`shared/domain/topic-watch.ts`): a watch answers the topic's
 * high watermarks at once and lasts 2 h 10 min unless renewed; each append notifies every watching
 * connection once per topic with the highest mark of each partition; a gone connection's watch is
 * forgotten, and a failed post is counted, never thrown.
 */
import { describe, expect, it } from 'vitest';
import { MemoryPartitionLog } from '../../shared/adapters/memory/partition-log.js';
import { MemoryTopicStore } from '../../shared/adapters/memory/topic-store.js';
import { TopicNotFoundError } from '../../shared/domain/errors.js';
import { LogService, type ProduceRecordInput } from '../../shared/domain/log-service.js';
import { TopicService } from '../../shared/domain/topic-service.js';
import { type AppendMark, TopicWatchService } from '../../shared/domain/topic-watch.js';
import type {
  ConnectionPoster,
  PostOutcome,
  TopicWatch,
  WatchStore,
} from '../../shared/ports/topic-watch.js';
import { manualClock } from '../support/manual-clock.js';

const START = 1_800_000_000_000;
const WATCH_TTL_MS = 2 * 60 * 60 * 1000 + 10 * 60 * 1000;

/** Watches in memory, as the DynamoDB store keeps them: by topic id, in connection id order. */
class MemoryWatchStore implements WatchStore {
  readonly watches = new Map<string, Map<string, { topic: string; expiresAtMs: number }>>();

  async put(topicId: string, watch: TopicWatch, expiresAtMs: number): Promise<void> {
    const ofTopic = this.watches.get(topicId) ?? new Map();
    ofTopic.set(watch.connectionId, { topic: watch.topic, expiresAtMs });
    this.watches.set(topicId, ofTopic);
  }

  async list(topicId: string, nowMs: number, limit: number): Promise<TopicWatch[]> {
    return [...(this.watches.get(topicId) ?? new Map<string, { topic: string; expiresAtMs: number }>())]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .slice(0, limit)
      .filter(([, watch]) => watch.expiresAtMs > nowMs)
      .map(([connectionId, { topic }]) => ({ connectionId, topic }));
  }

  async delete(topicId: string, connectionId: string): Promise<void> {
    this.watches.get(topicId)?.delete(connectionId);
  }

  connectionsOf(topicId: string): string[] {
    return [...(this.watches.get(topicId)?.keys() ?? [])];
  }
}

/** Records what each connection was sent; `gone` connections no longer exist, `broken` ones fail. */
class RecordingPoster implements ConnectionPoster {
  readonly sent: { connectionId: string; message: unknown }[] = [];
  readonly gone = new Set<string>();
  readonly broken = new Set<string>();

  async post(connectionId: string, text: string): Promise<PostOutcome> {
    if (this.broken.has(connectionId)) throw new Error('InternalServerErrorException');
    if (this.gone.has(connectionId)) return 'gone';
    this.sent.push({ connectionId, message: JSON.parse(text) });
    return 'sent';
  }
}

async function world() {
  const clock = manualClock(START);
  const store = new MemoryTopicStore();
  const log = new MemoryPartitionLog({ now: clock.now });
  const topics = new TopicService(store, log, clock);
  const watches = new MemoryWatchStore();
  const orders = (await topics.create({ name: 'orders', partitions: 3 })).topic;
  const audit = (await topics.create({ name: 'audit', partitions: 1 })).topic;
  return {
    clock,
    topics,
    watches,
    orders,
    audit,
    records: new LogService(store, log, clock),
    service: new TopicWatchService(topics, watches, clock),
    poster: new RecordingPoster(),
  };
}

const record = (partition: number): ProduceRecordInput => ({
  key: null,
  value: { type: 'STRING', bytes: new TextEncoder().encode('v') },
  headers: [],
  partition,
});

describe('TopicWatchService.watch', () => {
  it("answers each topic's high watermarks now, in the order asked", async () => {
    const { records, service } = await world();
    await records.produce('orders', [record(0), record(0), record(2)]);

    const heads = await service.watch('c-1', ['orders', 'audit']);

    expect(heads).toEqual([
      {
        type: 'heads',
        topic: 'orders',
        partitions: [
          { partition: 0, highWatermark: 2 },
          { partition: 1, highWatermark: 0 },
          { partition: 2, highWatermark: 1 },
        ],
      },
      { type: 'heads', topic: 'audit', partitions: [{ partition: 0, highWatermark: 0 }] },
    ]);
  });

  it('records the watch by topic id until 2 h 10 min from now, and renews it when asked again', async () => {
    const { clock, watches, orders, service } = await world();
    await service.watch('c-1', ['orders']);
    expect(watches.watches.get(orders.topicId)?.get('c-1')).toEqual({
      topic: 'orders',
      expiresAtMs: START + WATCH_TTL_MS,
    });

    clock.advance(60 * 60 * 1000);
    await service.watch('c-1', ['orders']);

    expect(watches.watches.get(orders.topicId)?.get('c-1')?.expiresAtMs).toBe(
      START + 60 * 60 * 1000 + WATCH_TTL_MS,
    );
  });

  it('fails when a topic does not exist', async () => {
    const { service } = await world();

    await expect(service.watch('c-1', ['orders', 'missing'])).rejects.toBeInstanceOf(TopicNotFoundError);
  });

  it('watches the incarnation of a topic created again, not the deleted one', async () => {
    const { topics, watches, orders, service } = await world();
    await topics.delete('orders');
    const again = (await topics.create({ name: 'orders', partitions: 1 })).topic;

    await service.watch('c-1', ['orders']);

    expect(watches.connectionsOf(again.topicId)).toEqual(['c-1']);
    expect(watches.connectionsOf(orders.topicId)).toEqual([]);
  });
});

describe('TopicWatchService.notify', () => {
  it('tells each watching connection once per topic the highest mark of each partition appended to', async () => {
    const { orders, audit, service, poster } = await world();
    await service.watch('c-1', ['orders', 'audit']);
    await service.watch('c-2', ['orders']);
    const appends: AppendMark[] = [
      { topicId: orders.topicId, partition: 2, highWatermark: 7 },
      { topicId: orders.topicId, partition: 0, highWatermark: 4 },
      { topicId: orders.topicId, partition: 2, highWatermark: 5 },
      { topicId: audit.topicId, partition: 0, highWatermark: 1 },
      { topicId: orders.topicId, partition: 0, highWatermark: 9 },
    ];

    const report = await service.notify(appends, poster);

    expect(report).toEqual({ topics: 2, sent: 3, gone: 0, failed: 0 });
    const ordersMessage = {
      type: 'heads',
      topic: 'orders',
      partitions: [
        { partition: 2, highWatermark: 7 },
        { partition: 0, highWatermark: 9 },
      ],
    };
    expect(poster.sent).toHaveLength(3);
    expect(poster.sent).toEqual(
      expect.arrayContaining([
        { connectionId: 'c-1', message: ordersMessage },
        { connectionId: 'c-2', message: ordersMessage },
        {
          connectionId: 'c-1',
          message: { type: 'heads', topic: 'audit', partitions: [{ partition: 0, highWatermark: 1 }] },
        },
      ]),
    );
  });

  it('forgets the watch of a connection that is gone, and keeps telling the others', async () => {
    const { orders, watches, service, poster } = await world();
    for (const connectionId of ['c-1', 'c-2', 'c-3']) await service.watch(connectionId, ['orders']);
    poster.gone.add('c-2');

    const report = await service.notify(
      [{ topicId: orders.topicId, partition: 1, highWatermark: 3 }],
      poster,
    );

    expect(report).toEqual({ topics: 1, sent: 2, gone: 1, failed: 0 });
    expect(watches.connectionsOf(orders.topicId)).toEqual(['c-1', 'c-3']);
  });

  it('counts a failed post without throwing, keeps its watch, and still tells the others', async () => {
    const { orders, watches, service, poster } = await world();
    for (const connectionId of ['c-1', 'c-2']) await service.watch(connectionId, ['orders']);
    poster.broken.add('c-1');

    const report = await service.notify(
      [{ topicId: orders.topicId, partition: 0, highWatermark: 1 }],
      poster,
    );

    expect(report).toEqual({ topics: 1, sent: 1, gone: 0, failed: 1 });
    expect(poster.sent.map((sent) => sent.connectionId)).toEqual(['c-2']);
    expect(watches.connectionsOf(orders.topicId)).toEqual(['c-1', 'c-2']);
  });

  it('tells no connection whose watch expired', async () => {
    const { clock, orders, service, poster } = await world();
    await service.watch('c-1', ['orders']);
    clock.advance(WATCH_TTL_MS - 1);
    await service.watch('c-2', ['orders']);
    clock.advance(1);

    const report = await service.notify(
      [{ topicId: orders.topicId, partition: 0, highWatermark: 1 }],
      poster,
    );

    expect(report).toEqual({ topics: 1, sent: 1, gone: 0, failed: 0 });
    expect(poster.sent.map((sent) => sent.connectionId)).toEqual(['c-2']);
  });

  it('tells at most 1000 connections per topic and notification', async () => {
    const { orders, watches, service, poster } = await world();
    for (let i = 0; i < 1_001; i++) {
      const connectionId = `c-${String(i).padStart(4, '0')}`;
      await watches.put(orders.topicId, { connectionId, topic: 'orders' }, START + WATCH_TTL_MS);
    }

    const report = await service.notify(
      [{ topicId: orders.topicId, partition: 0, highWatermark: 1 }],
      poster,
    );

    expect(report.sent).toBe(1_000);
    expect(poster.sent.some((sent) => sent.connectionId === 'c-1000')).toBe(false);
  });

  it('sends nothing for a topic nobody watches, or for no appends', async () => {
    const { audit, service, poster } = await world();
    await service.watch('c-1', ['orders']);

    expect(
      await service.notify([{ topicId: audit.topicId, partition: 0, highWatermark: 2 }], poster),
    ).toEqual({
      topics: 1,
      sent: 0,
      gone: 0,
      failed: 0,
    });
    expect(await service.notify([], poster)).toEqual({ topics: 0, sent: 0, gone: 0, failed: 0 });
    expect(poster.sent).toEqual([]);
  });
});
