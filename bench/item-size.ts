/**
 * DynamoDB item sizes and capacity units by AWS's published rules
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html),
 * so the benchmark can size the items Shoal actually stored and turn them into write units and
 * billed storage without trusting anyone's estimate:
 *
 * - the size of an item is the sum, over its attributes, of the UTF-8 bytes of the attribute name
 *   plus the size of the value;
 * - string: UTF-8 bytes; binary: raw bytes (not base64); null and boolean: 1 byte;
 * - number: 1 byte per two significant digits (leading and trailing zeros trimmed), plus 1 byte;
 * - list and map: 3 bytes, plus each element's size plus 1 byte per element (a map element's
 *   size includes its name);
 * - sets: the sum of their elements (AWS documents no overhead for sets);
 * - writes take 1 unit per started KB of the item (the larger of the before and after image for an
 *   update), reads 1 unit per started 4 KB; transactional ones take twice as many;
 * - billed storage adds 100 bytes per item.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { BILLING_RULES } from './prices.js';

/** An item as DynamoDB returns it from the low-level client (not unmarshalled). */
export type DynamoDbItem = Record<string, AttributeValue>;

const utf8 = new TextEncoder();
const LIST_OR_MAP_OVERHEAD_BYTES = 3;
const ELEMENT_OVERHEAD_BYTES = 1;
const NULL_OR_BOOLEAN_BYTES = 1;

/** UTF-8 byte length of a string. */
export function utf8Bytes(text: string): number {
  return utf8.encode(text).byteLength;
}

/**
 * Size of a DynamoDB number given as its decimal text (`"1020"`, `"-0.0015"`, `"1.5E+3"`):
 * 1 byte per two significant digits, rounded up, plus 1.
 *
 * @example numberBytes('1020') // 3: significant digits "102"
 */
export function numberBytes(text: string): number {
  const mantissa = (text.trim().split(/[eE]/)[0] ?? '').replace(/^[+-]/, '').replace('.', '');
  const significant = mantissa.replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, significant.length) / 2) + 1;
}

/** Size of one attribute value (without its name). */
export function attributeValueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return utf8Bytes(value.S);
  if (value.N !== undefined) return numberBytes(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return NULL_OR_BOOLEAN_BYTES;
  if (value.SS !== undefined) return value.SS.reduce((sum, element) => sum + utf8Bytes(element), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, element) => sum + numberBytes(element), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, element) => sum + element.byteLength, 0);
  if (value.L !== undefined) {
    return value.L.reduce(
      (sum, element) => sum + attributeValueBytes(element) + ELEMENT_OVERHEAD_BYTES,
      LIST_OR_MAP_OVERHEAD_BYTES,
    );
  }
  if (value.M !== undefined) {
    return Object.entries(value.M).reduce(
      (sum, [name, element]) => sum + utf8Bytes(name) + attributeValueBytes(element) + ELEMENT_OVERHEAD_BYTES,
      LIST_OR_MAP_OVERHEAD_BYTES,
    );
  }
  throw new TypeError(`Unknown attribute value type: ${Object.keys(value).join(', ')}`);
}

/**
 * Size of an item: attribute names plus values, keys included.
 *
 * @example itemBytes({ pk: { S: 'a' }, sk: { N: '1020' } }) // (2 + 1) + (2 + 3) = 8
 */
export function itemBytes(item: DynamoDbItem): number {
  return Object.entries(item).reduce(
    (sum, [name, value]) => sum + utf8Bytes(name) + attributeValueBytes(value),
    0,
  );
}

/** Options of {@link writeUnits} and {@link readUnits}. */
export interface CapacityOptions {
  /** Part of a TransactWriteItems / TransactGetItems call: twice the units. @default false */
  readonly transactional?: boolean;
}

/**
 * Write units one item write takes: 1 per started KB (at least 1), doubled in a transaction.
 *
 * @example writeUnits(1025, { transactional: true }) // 4
 */
export function writeUnits(itemSizeBytes: number, options: CapacityOptions = {}): number {
  const { writeUnitBytes, transactionMultiplier } = BILLING_RULES.dynamodb;
  const units = Math.max(1, Math.ceil(itemSizeBytes / writeUnitBytes));
  return options.transactional ? units * transactionMultiplier : units;
}

/**
 * Strongly consistent read units for `bytes` read by one GetItem (item size) or one Query page
 * (sum of the page's item sizes): 1 per started 4 KB, at least 1, doubled in a transaction.
 */
export function readUnits(bytes: number, options: CapacityOptions = {}): number {
  const { readUnitBytes, transactionMultiplier } = BILLING_RULES.dynamodb;
  const units = Math.max(1, Math.ceil(bytes / readUnitBytes));
  return options.transactional ? units * transactionMultiplier : units;
}

/** Bytes of billed storage an item takes: its size plus 100 bytes of indexing overhead. */
export function billedStorageBytes(itemSizeBytes: number): number {
  return itemSizeBytes + BILLING_RULES.dynamodb.storageOverheadBytesPerItem;
}

/** One write in a transaction: an update is sized by the larger of its before and after images. */
export interface TransactionWrite {
  readonly afterBytes: number;
  /** Size before the write; 0 or absent for a new item. */
  readonly beforeBytes?: number;
}

/**
 * Write units of one TransactWriteItems call: every item's units, each doubled.
 *
 * @example transactionWriteUnits([{ afterBytes: 60, beforeBytes: 60 }, { afterBytes: 3000 }]) // 2 + 6
 */
export function transactionWriteUnits(writes: readonly TransactionWrite[]): number {
  return writes.reduce(
    (sum, write) =>
      sum + writeUnits(Math.max(write.afterBytes, write.beforeBytes ?? 0), { transactional: true }),
    0,
  );
}
