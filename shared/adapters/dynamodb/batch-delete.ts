/**
 * Deleting (or overwriting) many items: BatchWriteItem 25 items at a time, sending back what
 * DynamoDB left unprocessed for a bounded number of rounds. Shared by every adapter that writes in
 * bulk.
 */
import {
  BatchWriteCommand,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';

/** Items deleted by one BatchWriteItem (DynamoDB's limit). */
const BATCH_WRITE_ITEMS_MAX = 25;
/** Rounds spent on UnprocessedItems of one chunk before giving up on it. */
const UNPROCESSED_ROUNDS_MAX = 8;

/**
 * Deletes the items with these keys from `tableName`.
 *
 * @returns how many keys are left undeleted after the bounded rounds (0 when all went); the caller
 *   decides whether that fails its step.
 */
export function deleteItems(
  documents: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Record<string, unknown>[],
): Promise<number> {
  return writeBatches(
    documents,
    tableName,
    keys.map((Key) => ({ DeleteRequest: { Key } })),
  );
}

/**
 * Writes these whole items to `tableName`, replacing any item with the same key.
 *
 * @returns how many items are left unwritten after the bounded rounds (0 when all were written).
 */
export function putItems(
  documents: DynamoDBDocumentClient,
  tableName: string,
  items: readonly Record<string, unknown>[],
): Promise<number> {
  return writeBatches(
    documents,
    tableName,
    items.map((Item) => ({ PutRequest: { Item } })),
  );
}

async function writeBatches(
  documents: DynamoDBDocumentClient,
  tableName: string,
  writes: readonly Record<string, unknown>[],
): Promise<number> {
  let unwritten = 0;
  for (let start = 0; start < writes.length; start += BATCH_WRITE_ITEMS_MAX) {
    let requests: Record<string, unknown>[] | undefined = writes.slice(start, start + BATCH_WRITE_ITEMS_MAX);
    for (let round = 0; requests && requests.length > 0 && round < UNPROCESSED_ROUNDS_MAX; round++) {
      const result: BatchWriteCommandOutput = await documents.send(
        new BatchWriteCommand({ RequestItems: { [tableName]: requests } }),
      );
      requests = result.UnprocessedItems?.[tableName];
    }
    unwritten += requests?.length ?? 0;
  }
  return unwritten;
}
