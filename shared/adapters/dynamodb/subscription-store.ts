/**
 * Subscriptions and their per-partition delivery state in the meta table (see `keys.ts`):
 *
 * | item                | pk              | sk                      | attributes |
 * |---------------------|-----------------|-------------------------|------------|
 * | subscription        | `SUBS`          | name                    | sid (incarnation id), c (settings), g (group named by the request), ca |
 * | delivery state      | `SUB#<name>`    | `P#<partition, 5 digits>` | sid, lo/le (lease owner, until), rs/re/ra/rt (retry start, end, attempts, at), cd/ci/ce/cq/cf/cx (counters), em/ea/eo (last error), da (last delivered at) |
 *
 * The subscriptions share one partition key, so a list (what every dispatcher run reads) is one
 * Query. A partition's lease, retry state and counters are one item, and every write of a run is
 * conditional on its lease:
 *
 * ```
 * run A: acquire  (lo absent, or le < now, or lo = A)  → lo = A, le = now + timeout + margin
 * run B: acquire                                        → condition fails: A holds it
 * run A: save     (lo = A and sid = this incarnation)   → counters, retry, le extended
 * run A: release  (lo = A)                              → lo, le removed
 * run A dies mid-invocation: le passes after the invocation's timeout could have ended; then B may take it.
 * ```
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { RetryState } from '../../domain/delivery.js';
import { LIMITS } from '../../domain/limits.js';
import type { Subscription, SubscriptionConfig } from '../../domain/subscription.js';
import type {
  DeliveryCounters,
  PartitionDeliveryState,
  ProgressUpdate,
  SubscriptionStore,
} from '../../ports/subscription-store.js';
import { isConditionalCheckFailed } from '../sdk-errors.js';
import {
  SUBSCRIPTION_DIRECTORY_PK,
  subscriptionKey,
  subscriptionStateKey,
  subscriptionStatePartitionKey,
} from './keys.js';
import { queryItems } from './query.js';

/** State items read for one subscription name: two incarnations of the largest topic. */
const STATE_ITEMS_MAX = 2 * LIMITS.partitionsMax;

interface SubscriptionItem {
  readonly sk: string;
  readonly sid: string;
  readonly c: Omit<SubscriptionConfig, 'name'>;
  readonly g: boolean;
  readonly ca: number;
}

interface StateItem {
  readonly sk: string;
  readonly sid?: string;
  readonly lo?: string;
  readonly le?: number;
  readonly rs?: number;
  readonly re?: number;
  readonly ra?: number;
  readonly rt?: number;
  readonly cd?: number;
  readonly ci?: number;
  readonly ce?: number;
  readonly cq?: number;
  readonly cf?: number;
  readonly cx?: number;
  readonly em?: string;
  readonly ea?: number;
  readonly eo?: number;
  readonly da?: number;
}

/** Counter attributes, in `DeliveryCounters` order. */
const COUNTER_ATTRIBUTES = {
  delivered: 'cd',
  invocations: 'ci',
  errors: 'ce',
  deadLettered: 'cq',
  filtered: 'cf',
  discarded: 'cx',
} as const satisfies Record<keyof DeliveryCounters, string>;

const STATE_ATTRIBUTES = [
  'rs',
  're',
  'ra',
  'rt',
  'em',
  'ea',
  'eo',
  'da',
  ...Object.values(COUNTER_ATTRIBUTES),
];
const DELETE_CONCURRENCY = 8;

function toItem(subscription: Subscription): SubscriptionItem & { pk: string } {
  const { name, subscriptionId, consumerGroupIdGiven, createdAt, ...config } = subscription;
  return { ...subscriptionKey(name), sid: subscriptionId, c: config, g: consumerGroupIdGiven, ca: createdAt };
}

function fromItem(raw: Record<string, unknown>): Subscription {
  const item = raw as unknown as SubscriptionItem;
  return {
    ...item.c,
    name: item.sk,
    startingPositionTimestamp: item.c.startingPositionTimestamp,
    onFailure: item.c.onFailure,
    filters: item.c.filters ?? [],
    subscriptionId: item.sid,
    consumerGroupIdGiven: item.g,
    createdAt: item.ca,
  };
}

function partitionOf(sk: string): number {
  return Number(sk.slice(2));
}

function fromStateItem(raw: Record<string, unknown>): PartitionDeliveryState {
  const item = raw as unknown as StateItem;
  const retry: RetryState | undefined =
    item.rs === undefined || item.re === undefined
      ? undefined
      : { start: item.rs, end: item.re, attempts: item.ra ?? 0, retryAt: item.rt ?? 0 };
  return {
    partition: partitionOf(item.sk),
    lease: item.lo === undefined ? undefined : { owner: item.lo, until: item.le ?? 0 },
    retry,
    counters: {
      delivered: item.cd ?? 0,
      invocations: item.ci ?? 0,
      errors: item.ce ?? 0,
      deadLettered: item.cq ?? 0,
      filtered: item.cf ?? 0,
      discarded: item.cx ?? 0,
    },
    lastError:
      item.em === undefined ? undefined : { message: item.em, at: item.ea ?? 0, offset: item.eo ?? 0 },
    lastDeliveredAt: item.da,
  };
}

/** The subscription store on the meta table: see the file comment for items and conditions. */
export class DynamoDbSubscriptionStore implements SubscriptionStore {
  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(subscription: Subscription): Promise<boolean> {
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toItem(subscription),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async get(name: string): Promise<Subscription | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: subscriptionKey(name), ConsistentRead: true }),
    );
    return Item ? fromItem(Item) : undefined;
  }

  async list(limit: number): Promise<Subscription[]> {
    const items = await queryItems(
      this.documents,
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': SUBSCRIPTION_DIRECTORY_PK },
      },
      limit,
      200,
    );
    return items.map(fromItem);
  }

  async update(next: Subscription): Promise<boolean> {
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toItem(next),
          ConditionExpression: 'sid = :sid',
          ExpressionAttributeValues: { ':sid': next.subscriptionId },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async delete(subscription: Subscription): Promise<boolean> {
    try {
      await this.documents.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: subscriptionKey(subscription.name),
          ConditionExpression: 'sid = :sid',
          ExpressionAttributeValues: { ':sid': subscription.subscriptionId },
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
    // Every state item of the name, this incarnation's and any a crash left behind.
    const keys = await this.stateKeys(subscription.name);
    let next = 0;
    const worker = async () => {
      while (next < keys.length) {
        const key = keys[next++];
        if (key) await this.documents.send(new DeleteCommand({ TableName: this.tableName, Key: key }));
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, keys.length) }, worker));
    return true;
  }

  async readStates(subscription: Subscription): Promise<PartitionDeliveryState[]> {
    const items = await this.queryStates(subscription.name, false);
    return items.filter((item) => item.sid === subscription.subscriptionId).map(fromStateItem);
  }

  async acquireLease(
    subscription: Subscription,
    partition: number,
    owner: string,
    until: number,
    now: number,
  ): Promise<PartitionDeliveryState | undefined> {
    const key = subscriptionStateKey(subscription.name, partition);
    let attributes: Record<string, unknown> | undefined;
    try {
      ({ Attributes: attributes } = await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'SET lo = :me, le = :until',
          ConditionExpression: 'attribute_not_exists(lo) OR le < :now OR lo = :me',
          ExpressionAttributeValues: { ':me': owner, ':until': until, ':now': now },
          ReturnValues: 'ALL_NEW',
        }),
      ));
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    }
    if (attributes?.sid === subscription.subscriptionId) return fromStateItem(attributes);
    // A new item, or one left by an earlier subscription of this name: start from scratch.
    try {
      const { Attributes } = await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: `SET sid = :sid REMOVE ${STATE_ATTRIBUTES.join(', ')}`,
          ConditionExpression: 'lo = :me',
          ExpressionAttributeValues: { ':sid': subscription.subscriptionId, ':me': owner },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes ? fromStateItem(Attributes) : undefined;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    }
  }

  async saveProgress(
    subscription: Subscription,
    partition: number,
    owner: string,
    update: ProgressUpdate,
  ): Promise<boolean> {
    const set = ['le = :until'];
    const remove: string[] = [];
    const add: string[] = [];
    const values: Record<string, unknown> = {
      ':until': update.leaseUntil,
      ':me': owner,
      ':sid': subscription.subscriptionId,
    };
    if (update.retry) {
      set.push('rs = :rs', 're = :re', 'ra = :ra', 'rt = :rt');
      Object.assign(values, {
        ':rs': update.retry.start,
        ':re': update.retry.end,
        ':ra': update.retry.attempts,
        ':rt': update.retry.retryAt,
      });
    } else {
      remove.push('rs', 're', 'ra', 'rt');
    }
    if (update.lastError) {
      set.push('em = :em', 'ea = :ea', 'eo = :eo');
      Object.assign(values, {
        ':em': update.lastError.message,
        ':ea': update.lastError.at,
        ':eo': update.lastError.offset,
      });
    }
    if (update.lastDeliveredAt !== undefined) {
      set.push('da = :da');
      values[':da'] = update.lastDeliveredAt;
    }
    for (const [field, attribute] of Object.entries(COUNTER_ATTRIBUTES)) {
      const count = update.counters[field as keyof DeliveryCounters] ?? 0;
      if (count === 0) continue;
      add.push(`${attribute} :${attribute}`);
      values[`:${attribute}`] = count;
    }
    const expression = [
      `SET ${set.join(', ')}`,
      remove.length > 0 ? `REMOVE ${remove.join(', ')}` : '',
      add.length > 0 ? `ADD ${add.join(', ')}` : '',
    ]
      .filter((part) => part !== '')
      .join(' ');
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: subscriptionStateKey(subscription.name, partition),
          UpdateExpression: expression,
          ConditionExpression: 'lo = :me AND sid = :sid',
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async releaseLease(subscription: Subscription, partition: number, owner: string): Promise<void> {
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: subscriptionStateKey(subscription.name, partition),
          UpdateExpression: 'REMOVE lo, le',
          ConditionExpression: 'lo = :me',
          ExpressionAttributeValues: { ':me': owner },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  private async queryStates(name: string, keysOnly: boolean): Promise<Record<string, unknown>[]> {
    // One state item per partition of the topic, and any a crashed delete of an earlier
    // subscription of this name left behind.
    return queryItems(
      this.documents,
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': subscriptionStatePartitionKey(name) },
        ...(keysOnly ? { ProjectionExpression: 'pk, sk' } : {}),
      },
      STATE_ITEMS_MAX,
    );
  }

  private async stateKeys(name: string): Promise<{ pk: string; sk: string }[]> {
    const items = await this.queryStates(name, true);
    return items.map((item) => ({ pk: String(item.pk), sk: String(item.sk) }));
  }
}
