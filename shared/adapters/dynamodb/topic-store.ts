import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError } from '../../domain/errors.js';
import { type Topic, type TopicConfig, withConfigDefaults } from '../../domain/topic.js';
import type { TopicStore } from '../../ports/topic-store.js';
import { anyConditionFailed, conditionFailedAt } from '../sdk-errors.js';
import { deletedTopicKey, TOPIC_DIRECTORY_PK, topicDirectoryKey, topicKey } from './keys.js';
import { queryItems } from './query.js';

/** Reads and deletes of one topic deletion, at most: each lost only to a concurrent update. */
const DELETE_ATTEMPTS_MAX = 3;

/** Config attributes are absent on topics stored before the attribute existed. */
interface TopicItem {
  readonly id: string;
  readonly pc: number;
  readonly ret: number;
  readonly rb?: number;
  readonly sm?: number;
  readonly sb?: number;
  readonly lr?: number;
  readonly ca: number;
  readonly name: string;
}

/** The config attributes of a topic item (see `keys.ts`). */
function configAttributes(config: TopicConfig) {
  return {
    ret: config.retentionMs,
    rb: config.retentionBytes,
    sm: config.segmentMs,
    sb: config.segmentBytes,
    lr: config.localRetentionMs,
  };
}

function toItem(topic: Topic): TopicItem {
  return {
    id: topic.topicId,
    pc: topic.partitionCount,
    ...configAttributes(topic.config),
    ca: topic.createdAt,
    name: topic.name,
  };
}

function fromItem(item: Record<string, unknown>): Topic {
  const stored = item as unknown as TopicItem;
  return {
    name: stored.name,
    topicId: stored.id,
    partitionCount: stored.pc,
    config: withConfigDefaults({
      retentionMs: stored.ret,
      ...(stored.rb === undefined ? {} : { retentionBytes: stored.rb }),
      ...(stored.sm === undefined ? {} : { segmentMs: stored.sm }),
      ...(stored.sb === undefined ? {} : { segmentBytes: stored.sb }),
      ...(stored.lr === undefined ? {} : { localRetentionMs: stored.lr }),
    }),
    createdAt: stored.ca,
  };
}

/**
 * Topics in the meta table: the topic item (read by produce and fetch, through each process's
 * `TopicCache`; keyed by name so reads spread over partitions) and a copy under one directory key so listing is a single Query, never
 * a Scan. Both change together in one transaction.
 */
export class DynamoDbTopicStore implements TopicStore {
  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(topic: Topic): Promise<boolean> {
    const item = toItem(topic);
    try {
      await this.documents.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: { ...topicKey(topic.name), ...item },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: { ...topicDirectoryKey(topic.name), ...item },
              },
            },
          ],
        }),
      );
      return true;
    } catch (error) {
      if (conditionFailedAt(error, 0)) return false;
      throw error;
    }
  }

  /** Always strongly consistent: this store keeps no copies (see `TopicFreshness`). */
  async get(name: string): Promise<Topic | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: topicKey(name), ConsistentRead: true }),
    );
    return Item ? fromItem(Item) : undefined;
  }

  async list(limit: number): Promise<Topic[]> {
    const items = await queryItems(
      this.documents,
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': TOPIC_DIRECTORY_PK },
      },
      limit,
    );
    return items.map(fromItem);
  }

  async update(expected: Topic, changes: { partitionCount: number; config: TopicConfig }): Promise<boolean> {
    const config = configAttributes(changes.config);
    const update = (key: { pk: string; sk: string }) => ({
      Update: {
        TableName: this.tableName,
        Key: key,
        UpdateExpression: `SET pc = :pc, ${Object.keys(config)
          .map((name) => `${name} = :${name}`)
          .join(', ')}`,
        ConditionExpression: 'id = :id AND pc = :expectedPc',
        ExpressionAttributeValues: {
          ':pc': changes.partitionCount,
          ...Object.fromEntries(Object.entries(config).map(([name, value]) => [`:${name}`, value])),
          ':id': expected.topicId,
          ':expectedPc': expected.partitionCount,
        },
      },
    });
    try {
      await this.documents.send(
        new TransactWriteCommand({
          TransactItems: [update(topicKey(expected.name)), update(topicDirectoryKey(expected.name))],
        }),
      );
      return true;
    } catch (error) {
      if (anyConditionFailed(error)) return false;
      throw error;
    }
  }

  /**
   * Deletes the incarnation and partition count it read, so the topic it answers names every
   * partition to close (`PartitionLog.closePartitions`); a concurrent change is read again.
   */
  async delete(name: string, deletedAtMs: number): Promise<Topic | undefined> {
    for (let attempt = 1; attempt <= DELETE_ATTEMPTS_MAX; attempt++) {
      const topic = await this.get(name);
      if (!topic) return undefined;
      const remove = (key: { pk: string; sk: string }) => ({
        Delete: {
          TableName: this.tableName,
          Key: key,
          ConditionExpression: 'id = :id AND pc = :pc',
          ExpressionAttributeValues: { ':id': topic.topicId, ':pc': topic.partitionCount },
        },
      });
      try {
        await this.documents.send(
          new TransactWriteCommand({
            TransactItems: [
              remove(topicKey(name)),
              remove(topicDirectoryKey(name)),
              { Put: { TableName: this.tableName, Item: deletedTopicItem(topic, deletedAtMs) } },
            ],
          }),
        );
        return topic;
      } catch (error) {
        if (!anyConditionFailed(error)) throw error;
      }
    }
    throw new ConflictError(`Topic '${name}' kept changing while it was being deleted; try again`);
  }
}

/** The deleted-topics entry written with a topic's deletion (read by `topic-remains.ts`). */
function deletedTopicItem(topic: Topic, deletedAtMs: number) {
  return {
    ...deletedTopicKey(topic.topicId, deletedAtMs),
    id: topic.topicId,
    n: topic.name,
    pc: topic.partitionCount,
    da: deletedAtMs,
  };
}
