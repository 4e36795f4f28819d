/**
 * Item keys and attribute names of Shoal's items. Short attribute names keep stored bytes (and
 * so write units) down; this file is their dictionary.
 *
 * Meta table:
 * | item              | pk                          | sk     | attributes                              |
 * |-------------------|-----------------------------|--------|-----------------------------------------|
 * | topic             | `T#<name>`                  | `T`    | id, pc (partitions), ret, ca            |
 * | topic directory   | `TOPICS`                    | name   | same as topic (so a list is one Query)  |
 * | partition head    | `H#<topicId>#<partition>`   | `H`    | hw, lso, ao, mt (max timestamp so far)  |
 * | idempotency key   | `I#<topicId>#<key>`         | `I`    | h (request hash), r (answer), xm, x     |
 *
 * Log table: pk `<topicId>#<partition>`, sk = last offset of the batch; bo (base offset),
 * mt (max timestamp so far), d (encoded records), a (append id), x (TTL, epoch seconds).
 */

export const TOPIC_DIRECTORY_PK = 'TOPICS';

export const topicKey = (name: string) => ({ pk: `T#${name}`, sk: 'T' });
export const topicDirectoryKey = (name: string) => ({ pk: TOPIC_DIRECTORY_PK, sk: name });
export const headKey = (topicId: string, partition: number) => ({ pk: `H#${topicId}#${partition}`, sk: 'H' });
export const idempotencyKey = (topicId: string, key: string) => ({ pk: `I#${topicId}#${key}`, sk: 'I' });
export const logPartitionKey = (topicId: string, partition: number) => `${topicId}#${partition}`;
export const batchKey = (topicId: string, partition: number, lastOffset: number) => ({
  pk: logPartitionKey(topicId, partition),
  sk: lastOffset,
});
