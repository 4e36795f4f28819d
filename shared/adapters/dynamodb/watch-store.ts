/**
 * The watches of open WebSocket connections in the meta table: one item per topic and connection,
 * `pk = W#<topicId>`, `sk = <connectionId>`, `t` the topic's name, `x` the TTL (epoch seconds).
 * One Query per topic finds whom to notify of its appends (eventually consistent: a watch written a
 * moment before an append may miss that one notification, which the watch's own answer covers).
 * Connections that close leave their items to TTL, or to the first notification that finds them gone.
 */
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { TopicWatch, WatchStore } from '../../ports/topic-watch.js';
import { queryItems } from './query.js';

const watchPartitionKey = (topicId: string) => `W#${topicId}`;

/** A watch item as stored. */
interface WatchItem {
  readonly sk: string;
  readonly t: string;
  readonly x: number;
}

/** See the module comment. */
export class DynamoDbWatchStore implements WatchStore {
  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly metaTableName: string,
  ) {}

  async put(topicId: string, watch: TopicWatch, expiresAtMs: number): Promise<void> {
    await this.documents.send(
      new PutCommand({
        TableName: this.metaTableName,
        Item: {
          pk: watchPartitionKey(topicId),
          sk: watch.connectionId,
          t: watch.topic,
          x: Math.ceil(expiresAtMs / 1000),
        },
      }),
    );
  }

  async list(topicId: string, nowMs: number, limit: number): Promise<TopicWatch[]> {
    const items = await queryItems<WatchItem>(
      this.documents,
      {
        TableName: this.metaTableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': watchPartitionKey(topicId) },
      },
      limit,
    );
    // TTL deletes late: an expired item is still returned until then.
    return items
      .filter((item) => item.x * 1000 > nowMs)
      .map((item) => ({ connectionId: item.sk, topic: item.t }));
  }

  async delete(topicId: string, connectionId: string): Promise<void> {
    await this.documents.send(
      new DeleteCommand({
        TableName: this.metaTableName,
        Key: { pk: watchPartitionKey(topicId), sk: connectionId },
      }),
    );
  }
}
