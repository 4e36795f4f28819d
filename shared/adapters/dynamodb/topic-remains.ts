/**
 * The DynamoDB items of deleted topics (see `ports/topic-remains.ts`): the deleted-topics list in
 * the meta table, batch items in the log table, manifest entries and committed offsets in the meta
 * table. Each removal step reads one bounded page and deletes what it found.
 */
import { DeleteCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DeletedTopic, RemovalStep, TopicRemains } from '../../ports/topic-remains.js';
import { isConditionalCheckFailed } from '../sdk-errors.js';
import { deleteItems } from './batch-delete.js';
import {
  DELETED_TOPICS_PK,
  deletedTopicKey,
  GROUP_DIRECTORY_PK,
  groupPartitionKey,
  logPartitionKey,
  OFFSET_SK_PREFIX,
  segmentEntryPartitionKey,
} from './keys.js';
import { queryPages } from './query.js';

/** Groups read per page of the group directory. */
const GROUPS_PER_PAGE = 100;

interface DeletedTopicItem {
  readonly id: string;
  readonly n: string;
  readonly pc: number;
  readonly da: number;
}

type ItemKey = Record<string, string | number>;

export class DynamoDbTopicRemains implements TopicRemains {
  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly options: { readonly metaTableName: string; readonly logTableName: string },
  ) {}

  async listDeleted(limit: number): Promise<DeletedTopic[]> {
    const answer = await this.documents.send(
      new QueryCommand({
        TableName: this.options.metaTableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': DELETED_TOPICS_PK },
        Limit: limit,
      }),
    );
    return ((answer.Items ?? []) as DeletedTopicItem[]).map((item) => ({
      topicId: item.id,
      name: item.n,
      partitionCount: item.pc,
      deletedAtMs: item.da,
    }));
  }

  removeBatches(topic: DeletedTopic, partition: number, itemsMax: number): Promise<RemovalStep> {
    return this.removePage(this.options.logTableName, logPartitionKey(topic.topicId, partition), itemsMax);
  }

  removeManifestEntries(topic: DeletedTopic, partition: number, itemsMax: number): Promise<RemovalStep> {
    return this.removePage(
      this.options.metaTableName,
      segmentEntryPartitionKey(topic.topicId, partition),
      itemsMax,
    );
  }

  async removeCommittedOffsets(topic: DeletedTopic, itemsMax: number): Promise<RemovalStep> {
    let removed = 0;
    const groups = queryPages<{ sk: string }>(
      this.documents,
      {
        TableName: this.options.metaTableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': GROUP_DIRECTORY_PK },
        ProjectionExpression: 'sk',
      },
      () => GROUPS_PER_PAGE,
    );
    for await (const page of groups) {
      for (const { sk: group } of page) {
        const offsets = queryPages<ItemKey>(
          this.documents,
          {
            TableName: this.options.metaTableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
            FilterExpression: 'tid = :tid',
            ExpressionAttributeValues: {
              ':pk': groupPartitionKey(group),
              ':prefix': `${OFFSET_SK_PREFIX}${topic.name}#`,
              ':tid': topic.topicId,
            },
            ProjectionExpression: 'pk, sk',
          },
          () => itemsMax - removed,
        );
        for await (const keys of offsets) {
          for (const key of keys) {
            if (await this.deleteOffset(key, topic.topicId)) removed++;
          }
          if (removed >= itemsMax) return { removed, done: false };
        }
      }
    }
    return { removed, done: true };
  }

  async forget(topic: DeletedTopic): Promise<void> {
    await this.documents.send(
      new DeleteCommand({
        TableName: this.options.metaTableName,
        Key: deletedTopicKey(topic.topicId, topic.deletedAtMs),
      }),
    );
  }

  /** Deletes a committed offset only while it still belongs to the deleted topic's incarnation. */
  private async deleteOffset(key: ItemKey, topicId: string): Promise<boolean> {
    try {
      await this.documents.send(
        new DeleteCommand({
          TableName: this.options.metaTableName,
          Key: key,
          ConditionExpression: 'tid = :tid',
          ExpressionAttributeValues: { ':tid': topicId },
        }),
      );
      return true;
    } catch (error) {
      // A topic re-created under the same name committed over it meanwhile: that offset is its own.
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** Deletes the first `itemsMax` items under one partition key; done when the page was the last. */
  private async removePage(tableName: string, pk: string, itemsMax: number): Promise<RemovalStep> {
    const answer = await this.documents.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ProjectionExpression: 'pk, sk',
        Limit: itemsMax,
      }),
    );
    const keys = (answer.Items ?? []) as ItemKey[];
    const undeleted = await deleteItems(this.documents, tableName, keys);
    if (undeleted > 0)
      throw new Error(`DynamoDB left ${undeleted} deletions unprocessed; the next run goes on`);
    return { removed: keys.length, done: answer.LastEvaluatedKey === undefined };
  }
}
