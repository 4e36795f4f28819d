import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type JsonPathStep, produceDataSpans, spanAt, valueEnd } from '../../shared/http/json-span.js';

type Json = null | boolean | number | string | Json[] | { [name: string]: Json };

/** JSON whitespace, as runs of any length (mostly short). */
const whitespace = fc.string({ unit: fc.constantFrom(' ', '\n', '\r', '\t'), maxLength: 3 });

/** Serializes like `JSON.stringify`, with `pad()` (random whitespace) between every two tokens. */
function spaced(value: Json, pad: () => string): string {
  if (Array.isArray(value)) {
    return `[${pad()}${value.map((item) => `${spaced(item, pad)}${pad()}`).join(`,${pad()}`)}]`;
  }
  if (value !== null && typeof value === 'object') {
    const members = Object.entries(value).map(
      ([name, item]) => `${JSON.stringify(name)}${pad()}:${pad()}${spaced(item, pad)}${pad()}`,
    );
    return `{${pad()}${members.join(`,${pad()}`)}}`;
  }
  return JSON.stringify(value);
}

/** A document and a path to one of its sub-values (chosen by `choices`), with that sub-value. */
function pick(document: Json, choices: readonly number[]): { path: JsonPathStep[]; value: Json } {
  const path: JsonPathStep[] = [];
  let value = document;
  for (const choice of choices) {
    if (Array.isArray(value) && value.length > 0) {
      const index = choice % value.length;
      path.push(index);
      value = value[index] as Json;
    } else if (value !== null && typeof value === 'object' && Object.keys(value).length > 0) {
      const names = Object.keys(value);
      const name = names[choice % names.length] as string;
      path.push(name);
      value = (value as { [name: string]: Json })[name] as Json;
    } else break;
  }
  return { path, value };
}

const documentAndPath = fc
  .tuple(fc.jsonValue({ maxDepth: 5, stringUnit: 'binary' }), fc.array(fc.nat(), { maxLength: 6 }))
  .map(([document, choices]) => ({ document: document as Json, ...pick(document as Json, choices) }));

/** The value as parsing its JSON text gives it back (`-0` is written `0`, which toEqual tells apart). */
const parsedAlike = (value: Json): Json => JSON.parse(JSON.stringify(value));

const slice = (text: string, span: { start: number; end: number } | undefined) =>
  span === undefined ? undefined : text.slice(span.start, span.end);

describe('spanAt', () => {
  it('finds the exact JSON.stringify text of any sub-value of a compact document', () => {
    fc.assert(
      fc.property(documentAndPath, ({ document, path, value }) => {
        // Prepare
        const text = JSON.stringify(document);

        // Act
        const span = spanAt(text, path);

        // Assess
        expect(slice(text, span)).toBe(JSON.stringify(value));
      }),
      { numRuns: 500 },
    );
  });

  it('finds a span that parses to the sub-value in a document with random whitespace', () => {
    fc.assert(
      fc.property(documentAndPath, fc.infiniteStream(whitespace), ({ document, path, value }, pads) => {
        // Prepare
        const text = `${pads.next().value}${spaced(document, () => pads.next().value)}${pads.next().value}`;

        // Act
        const found = slice(text, spanAt(text, path));

        // Assess: no whitespace around the span, and it is the value
        expect(found).toBeDefined();
        expect(found).toBe(found?.trim());
        expect(JSON.parse(found as string)).toEqual(parsedAlike(value));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps the text of numbers that JSON.parse would change, and inner whitespace', () => {
    // Prepare
    const text =
      '{ "id" : 12345678901234567890123 , "big": 1e400, "z": -0, "f": 1.0,\n "o" : { "a" :  [ 1 ,2 ] } }';

    // Act
    const found = ['id', 'big', 'z', 'f', 'o'].map((name) => slice(text, spanAt(text, [name])));

    // Assess
    expect(found).toEqual(['12345678901234567890123', '1e400', '-0', '1.0', '{ "a" :  [ 1 ,2 ] }']);
  });

  it('skips strings with escaped quotes and backslashes and brackets inside', () => {
    // Prepare
    const text = '{"a":"x\\"]}\\\\","b":["\\\\\\"{",{"c":"}"}],"d":true}';

    // Act
    const found = ['a', 'b', 'd'].map((name) => slice(text, spanAt(text, [name])));

    // Assess
    expect(found).toEqual(['"x\\"]}\\\\"', '["\\\\\\"{",{"c":"}"}]', 'true']);
  });

  it('takes the last of duplicate names, as JSON.parse does', () => {
    expect(slice('{"a":1,"a":[2]}', spanAt('{"a":1,"a":[2]}', ['a']))).toBe('[2]');
  });

  it('matches names by their decoded text, as JSON.parse does', () => {
    const text = '{"d\\u0061ta":7,"\\"q":8}';
    expect(slice(text, spanAt(text, ['data']))).toBe('7');
    expect(slice(text, spanAt(text, ['"q']))).toBe('8');
  });

  it('finds nothing where the path leads nowhere', () => {
    expect(spanAt('{"a":[1]}', ['b'])).toBeUndefined();
    expect(spanAt('{"a":[1]}', ['a', 1])).toBeUndefined();
    expect(spanAt('{"a":[1]}', ['a', 'x'])).toBeUndefined();
    expect(spanAt('{}', ['a'])).toBeUndefined();
  });

  it('reaches values thousands of levels deep without recursion', () => {
    // Prepare
    const depth = 50_000;
    const text = `{"a":${'['.repeat(depth)}${']'.repeat(depth)},"b":2}`;

    // Act
    const found = slice(text, spanAt(text, ['b']));

    // Assess
    expect(found).toBe('2');
  });

  it('fails when the text is not JSON (the caller must validate first)', () => {
    expect(() => valueEnd('[1,2', 0)).toThrow(/not the valid JSON/);
    expect(() => valueEnd('"abc', 0)).toThrow(/not the valid JSON/);
    expect(() => spanAt('{"a" 1}', ['a'])).toThrow(/not the valid JSON/);
  });
});

/** Typed data of a produce request: JSON with any value, STRING or BINARY, or null. */
const typedData = fc.oneof(
  fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' }).map((data) => ({ type: 'JSON', data: data as Json })),
  fc.string({ unit: 'binary' }).map((data) => ({ type: 'STRING', data })),
  fc.base64String().map((data) => ({ type: 'BINARY', data })),
  fc.constant(null),
);

/** A produce record with members in any order, some absent, and `type` before or after `data`. */
const produceRecord = fc
  .record(
    {
      key: typedData,
      value: typedData,
      headers: fc.array(fc.record({ name: fc.string({ minLength: 1 }), value: fc.base64String() }), {
        maxLength: 2,
      }),
      partition: fc.nat(5),
    },
    { requiredKeys: [] },
  )
  .chain((record) =>
    fc.shuffledSubarray(Object.keys(record), { minLength: Object.keys(record).length }).chain((order) =>
      fc.boolean().map((dataFirst) => {
        const typed = (data: { type: string; data: Json } | null | undefined) =>
          data && dataFirst ? { data: data.data, type: data.type } : data;
        const shuffled: Record<string, unknown> = {};
        for (const name of order) {
          const member = record[name as keyof typeof record];
          shuffled[name] = name === 'key' || name === 'value' ? typed(member as never) : member;
        }
        return shuffled;
      }),
    ),
  );

const produceBody = fc.record({ records: fc.array(produceRecord, { minLength: 1, maxLength: 5 }) });

describe('produceDataSpans', () => {
  it('finds the JSON.stringify text of every key and value data in a compact body', () => {
    fc.assert(
      fc.property(produceBody, (body) => {
        // Prepare
        const text = JSON.stringify(body);

        // Act
        const spans = produceDataSpans(text);

        // Assess
        expect(spans).toHaveLength(body.records.length);
        body.records.forEach((record, index) => {
          for (const field of ['key', 'value'] as const) {
            const data = record[field] as { data: Json } | null | undefined;
            const expected = data ? JSON.stringify(data.data) : undefined;
            expect(slice(text, spans[index]?.[field])).toBe(expected);
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  it('finds spans that parse to the data in a body with random whitespace', () => {
    fc.assert(
      fc.property(produceBody, fc.infiniteStream(whitespace), (body, pads) => {
        // Prepare
        const text = `${pads.next().value}${spaced(body as never, () => pads.next().value)}`;

        // Act
        const spans = produceDataSpans(text);

        // Assess
        body.records.forEach((record, index) => {
          for (const field of ['key', 'value'] as const) {
            const data = record[field] as { data: Json } | null | undefined;
            const found = slice(text, spans[index]?.[field]);
            if (!data) expect(found).toBeUndefined();
            else expect(JSON.parse(found as string)).toEqual(parsedAlike(data.data));
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  it('takes the last of duplicate records, key and data members, as JSON.parse does', () => {
    // Prepare
    const text =
      '{"records":[{"value":{"data":1}}],"records":[{"key":{"data":2},"key":null,"value":{"data":3,"data":[4]}}]}';

    // Act
    const spans = produceDataSpans(text);

    // Assess
    expect(spans.map((span) => [slice(text, span.key), slice(text, span.value)])).toEqual([
      [undefined, '[4]'],
    ]);
  });

  it('finds no records in a body without a records array', () => {
    expect(produceDataSpans('{"records":{}}')).toEqual([]);
    expect(produceDataSpans('[1]')).toEqual([]);
  });
});
