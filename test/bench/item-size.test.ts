import { describe, expect, it } from 'vitest';
import {
  attributeValueBytes,
  billedStorageBytes,
  itemBytes,
  numberBytes,
  readUnits,
  transactionWriteUnits,
  writeUnits,
} from '../../bench/item-size.js';

describe('numberBytes', () => {
  it.each([
    ['1020', 3],
    ['7', 2],
    ['0', 2],
    ['123456', 4],
    ['-0.0015', 2],
    ['1.5E+3', 2],
    ['1763700000000', 4],
    ['1763712345678', 8],
  ])('sizes %s as %i bytes (1 per two significant digits, plus 1)', (text, bytes) => {
    expect(numberBytes(text)).toBe(bytes);
  });
});

describe('itemBytes', () => {
  it('adds attribute names to values, keys included', () => {
    // DynamoDB Local reported 1 write unit for this item and 2 for the same with 1020 bytes.
    const item = { pk: { S: 'a' }, sk: { N: '1000' }, d: { B: new Uint8Array(1000) } };

    expect(itemBytes(item)).toBe(3 + 4 + 1001);
    expect(writeUnits(itemBytes(item))).toBe(1);
    expect(writeUnits(itemBytes({ ...item, sk: { N: '1020' }, d: { B: new Uint8Array(1020) } }))).toBe(2);
  });

  it('counts strings in UTF-8 bytes', () => {
    expect(itemBytes({ c: { S: 'München' } })).toBe(1 + 8);
  });

  it('counts binary values by their raw bytes, not base64', () => {
    expect(attributeValueBytes({ B: new Uint8Array(300) })).toBe(300);
  });

  it('gives null and booleans 1 byte', () => {
    expect(itemBytes({ n: { NULL: true }, b: { BOOL: false } })).toBe(2 + 2);
  });

  it('gives lists and maps 3 bytes plus 1 per element, map names included', () => {
    expect(itemBytes({ l: { L: [{ N: '1' }, { BOOL: true }] } })).toBe(1 + 3 + (2 + 1) + (1 + 1));
    expect(itemBytes({ m: { M: { x: { S: 'ab' } } } })).toBe(1 + 3 + (1 + 2 + 1));
    expect(itemBytes({ e: { M: {} } })).toBe(1 + 3);
  });

  it('sums the elements of sets', () => {
    expect(itemBytes({ s: { SS: ['ab', 'c'] }, n: { NS: ['10', '200'] } })).toBe(1 + 3 + 1 + (2 + 2));
  });

  it('fails when a value has no known type', () => {
    expect(() => attributeValueBytes({} as never)).toThrow(TypeError);
  });
});

describe('capacity units', () => {
  it('takes one write unit per started KB, at least one, twice in a transaction', () => {
    expect(writeUnits(0)).toBe(1);
    expect(writeUnits(1024)).toBe(1);
    expect(writeUnits(1025)).toBe(2);
    expect(writeUnits(1025, { transactional: true })).toBe(4);
  });

  it('takes one read unit per started 4 KB', () => {
    expect(readUnits(4096)).toBe(1);
    expect(readUnits(4097)).toBe(2);
    expect(readUnits(100, { transactional: true })).toBe(2);
  });

  it('sizes each item of a transaction separately, an update by its larger image', () => {
    expect(transactionWriteUnits([{ afterBytes: 60, beforeBytes: 60 }, { afterBytes: 3000 }])).toBe(2 + 6);
    expect(transactionWriteUnits([{ afterBytes: 500, beforeBytes: 1500 }])).toBe(4);
    expect(transactionWriteUnits([{ afterBytes: 100 }, { afterBytes: 100 }])).toBe(4);
  });

  it('bills 100 bytes of storage overhead per item', () => {
    expect(billedStorageBytes(1000)).toBe(1100);
  });
});
