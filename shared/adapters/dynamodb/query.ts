/**
 * The bounded Query loops every store shares: DynamoDB answers a Query a page at a time (at most
 * 1 MB or `Limit` items), and each listing in Shoal reads pages only until it has what it needs.
 */
import {
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';

/** A Query without its paging fields, which the loops below set. */
export type QueryInput = Omit<QueryCommandInput, 'Limit' | 'ExclusiveStartKey'>;

/** Items one page asks for when the caller gives no other bound. */
const PAGE_ITEMS_MAX = 1000;

/**
 * The pages of a Query, in key order, until the key range ends or the caller stops iterating;
 * `pageItems(page)` bounds page number `page` (from 0), read when that page is requested.
 * @example
 * for await (const items of queryPages(documents, input, () => 100)) if (done(items)) break;
 */
export async function* queryPages<Item = Record<string, unknown>>(
  documents: DynamoDBDocumentClient,
  input: QueryInput,
  pageItems: (page: number) => number,
): AsyncGenerator<Item[]> {
  let startKey: QueryCommandOutput['LastEvaluatedKey'];
  let page = 0;
  do {
    const answer: QueryCommandOutput = await documents.send(
      new QueryCommand({ ...input, Limit: pageItems(page++), ExclusiveStartKey: startKey }),
    );
    // The caller names the item shape its key condition selects.
    yield (answer.Items ?? []) as Item[];
    startKey = answer.LastEvaluatedKey;
  } while (startKey);
}

/**
 * At most `itemsMax` items of a Query, in key order, reading pages of at most `pageItemsMax`.
 * @example
 * const items = await queryItems(documents, { TableName, KeyConditionExpression: 'pk = :pk', ... }, 500);
 */
export async function queryItems<Item = Record<string, unknown>>(
  documents: DynamoDBDocumentClient,
  input: QueryInput,
  itemsMax: number,
  pageItemsMax: number = PAGE_ITEMS_MAX,
): Promise<Item[]> {
  const items: Item[] = [];
  if (itemsMax <= 0) return items;
  for await (const page of queryPages<Item>(documents, input, () =>
    Math.min(pageItemsMax, itemsMax - items.length),
  )) {
    items.push(...page);
    if (items.length >= itemsMax) break;
  }
  return items;
}
