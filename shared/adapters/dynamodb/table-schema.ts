/**
 * The physical shape of Shoal's two DynamoDB tables, shared by the CDK stack, the local stack's
 * table creation and the adapters, so the three can never disagree.
 *
 * Attribute names are short on purpose: DynamoDB bills item size including attribute names, and a
 * batch item is written once per produce request.
 */

/** Log table: one item per stored batch. */
export const LOG_TABLE = {
  /** `<topicId>#<partition>` (string). */
  partitionKey: 'pk',
  /** The batch's last offset (number), so `sk >= N` with `Limit 1` finds the batch holding offset N. */
  sortKey: 'sk',
  /** Epoch seconds after which DynamoDB TTL may delete the item. */
  ttlAttribute: 'x',
  /** Archiving and the dispatcher need both images; TTL deletions arrive as REMOVE records. */
  streamView: 'NEW_AND_OLD_IMAGES',
} as const;

/** Meta table: topics, partition heads, idempotency keys, groups; generic string keys. */
export const META_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'x',
} as const;
