/**
 * The watch items in DynamoDB Local: a watch is listed until it expires (TTL deletes late, so the
 * store filters), renewing rewrites it, and a connection found gone is forgotten.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbWatchStore } from '../../shared/adapters/dynamodb/watch-store.js';
import { createTestRuntime } from '../support/local-aws.js';

let store: DynamoDbWatchStore;

beforeAll(async () => {
  const runtime = await createTestRuntime({ tablePrefix: 'watch-store' });
  store = new DynamoDbWatchStore(runtime.documents, runtime.config.metaTableName);
});

describe('DynamoDbWatchStore', () => {
  it('lists the unexpired watches of a topic only', async () => {
    await store.put('topic-a', { connectionId: 'live', topic: 'a' }, 20_000);
    await store.put('topic-a', { connectionId: 'stale', topic: 'a' }, 5_000);
    await store.put('topic-b', { connectionId: 'other', topic: 'b' }, 20_000);

    const watches = await store.list('topic-a', 10_000, 100);

    expect(watches).toEqual([{ connectionId: 'live', topic: 'a' }]);
  });

  it('keeps a renewed watch past its first expiry', async () => {
    await store.put('topic-c', { connectionId: 'renewed', topic: 'c' }, 5_000);
    await store.put('topic-c', { connectionId: 'renewed', topic: 'c' }, 30_000);

    expect(await store.list('topic-c', 10_000, 100)).toEqual([{ connectionId: 'renewed', topic: 'c' }]);
  });

  it('forgets the watch of a connection that is gone', async () => {
    await store.put('topic-d', { connectionId: 'gone', topic: 'd' }, 20_000);

    await store.delete('topic-d', 'gone');

    expect(await store.list('topic-d', 10_000, 100)).toEqual([]);
  });
});
