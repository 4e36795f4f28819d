/**
 * Deleting many items by key: BatchWriteItem 25 keys at a time, sending back what DynamoDB left
 * unprocessed for a bounded number of rounds. Shared by every adapter that deletes in bulk.
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
export async function deleteItems(
  documents: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Record<string, unknown>[],
): Promise<number> {
  let undeleted = 0;
  for (let start = 0; start < keys.length; start += BATCH_WRITE_ITEMS_MAX) {
    let requests: Record<string, unknown>[] | undefined = keys
      .slice(start, start + BATCH_WRITE_ITEMS_MAX)
      .map((Key) => ({ DeleteRequest: { Key } }));
    for (let round = 0; requests && requests.length > 0 && round < UNPROCESSED_ROUNDS_MAX; round++) {
      const result: BatchWriteCommandOutput = await documents.send(
        new BatchWriteCommand({ RequestItems: { [tableName]: requests } }),
      );
      requests = result.UnprocessedItems?.[tableName];
    }
    undeleted += requests?.length ?? 0;
  }
  return undeleted;
}
