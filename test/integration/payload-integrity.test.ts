/**
 * Guarantee 9 on the local stack: a record reads back exactly as it was accepted (keys, values and
 * headers byte for byte; a JSON value as the text received, big numbers, `1e400`, `-0`, escapes
 * and whitespace included), through fetch, the Kafka event of a subscribed function and the
 * dead-letter topic; what cannot round-trip (a lone surrogate in a STRING or a header name, a body
 * that is not UTF-8) is refused with a 400 problem and changes no partition.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spanAt } from '../../shared/http/json-span.js';
import { invocationsOf } from '../fixtures/subscribers/journal.js';
import {
  createTopic,
  eventually,
  readPartition,
  SUBSCRIBERS,
  type SubscriptionStack,
  startSubscriptionStack,
  subscribe,
} from '../support/subscriptions.js';

let stack: SubscriptionStack;
let baseUrl: string;

beforeAll(async () => {
  stack = await startSubscriptionStack('integrity');
  baseUrl = stack.url;
});
afterAll(() => stack.close());

interface RawAnswer {
  readonly status: number;
  readonly contentType: string | null;
  readonly headers: Headers;
  /** The body exactly as sent by the server. */
  readonly text: string;
}

/** Sends a body as is (text or bytes) and keeps the answer's text unparsed. */
async function call(
  method: string,
  path: string,
  body?: string | Uint8Array,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    headers: response.headers,
    text,
  };
}

/** One record of a produce body, written as text, with what must come back. */
interface RecordText {
  readonly text: string;
  readonly key: Expected;
  readonly value: Expected;
  readonly headers: readonly { readonly name: string; readonly value: string }[];
}

type Expected =
  | { readonly type: 'JSON'; readonly text: string }
  | { readonly type: 'STRING'; readonly data: string }
  | { readonly type: 'BINARY'; readonly data: string }
  | null;

/** JSON texts that a parse and re-serialization would change. */
const AWKWARD_JSON = [
  '12345678901234567890123',
  '-98765432109876543210.5e-3',
  '1e400',
  '-0',
  '1.0',
  '1E+2',
  '"\\u00e9\\ud83d\\ude00\\/ and é😀"',
  '"\\ud800 escaped lone surrogate"',
  '{"b":1,"a":{"id":12345678901234567890123}}',
  '{"a":1,"a":2}',
  '[ 1 ,\n\t2 , { "x" :  null } ]',
  `${'['.repeat(200)}0.10${']'.repeat(200)}`,
];

const whitespace = fc.string({ unit: fc.constantFrom(' ', '\n', '\r', '\t'), maxLength: 3 });

/** A JSON text: an awkward one, or any JSON value spelled with random whitespace, padded. */
const jsonText = fc
  .tuple(
    fc.oneof(
      fc.constantFrom(...AWKWARD_JSON),
      fc
        .tuple(fc.jsonValue({ maxDepth: 3 }), whitespace)
        .map(([value, pad]) => JSON.stringify(value, null, pad.length > 0 ? pad : undefined)),
    ),
    whitespace,
    whitespace,
  )
  .map(([text, before, after]) => ({ text, padded: `${before}${text}${after}` }));

/** Typed data as body text and what it must read back as. */
const typedText: fc.Arbitrary<{ text: string; expected: Expected }> = fc.oneof(
  jsonText.map(({ text, padded }) => ({
    text: `{"type":"JSON","data":${padded}}`,
    expected: { type: 'JSON' as const, text },
  })),
  fc.string({ unit: 'grapheme', maxLength: 40 }).map((data) => ({
    text: `{"data":${JSON.stringify(data)},"type":"STRING"}`,
    expected: { type: 'STRING' as const, data },
  })),
  fc.uint8Array({ maxLength: 40 }).map((bytes) => {
    const data = Buffer.from(bytes).toString('base64');
    return { text: `{"type":"BINARY","data":"${data}"}`, expected: { type: 'BINARY' as const, data } };
  }),
  fc.constant({ text: 'null', expected: null }),
);

const header = fc.record({
  name: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
  value: fc.uint8Array({ maxLength: 20 }).map((bytes) => Buffer.from(bytes).toString('base64')),
});

const recordText: fc.Arbitrary<RecordText> = fc
  .tuple(typedText, typedText, fc.array(header, { maxLength: 3 }))
  .filter(([key, value]) => key.expected !== null || value.expected !== null)
  .map(([key, value, headers]) => ({
    text: `{ "key" : ${key.text}, "value":${value.text},"headers":${JSON.stringify(headers)} }`,
    key: key.expected,
    value: value.expected,
    headers,
  }));

async function highWatermarks(topic: string): Promise<number[]> {
  const answer = await stack.api.get(`/v1/topics/${topic}`);
  expect(answer.status).toBe(200);
  return answer.body.partitions.map((partition: { highWatermark: number }) => partition.highWatermark);
}

/** Fetches from `offset` and returns the raw answer text with its parsed form. */
async function fetchRaw(topic: string, offset: number, maxRecords: number) {
  const answer = await call(
    'GET',
    `/v1/topics/${topic}/partitions/0/records?offset=${offset}&maxRecords=${maxRecords}`,
  );
  expect(answer.status, answer.text).toBe(200);
  expect(answer.contentType).toContain('application/json');
  return { text: answer.text, body: JSON.parse(answer.text) };
}

/** Asserts that a fetched record's key or value is exactly what was produced. */
function expectReadBack(
  text: string,
  index: number,
  field: 'key' | 'value',
  fetched: any,
  expected: Expected,
) {
  if (expected === null) {
    expect(fetched).toBeNull();
    return;
  }
  expect(fetched.type).toBe(expected.type);
  if (expected.type === 'JSON') {
    const span = spanAt(text, ['records', index, field, 'data']);
    expect(span && text.slice(span.start, span.end)).toBe(expected.text);
  } else {
    expect(fetched.data).toBe(expected.data);
  }
}

/** A 400 problem naming `field`, and no partition moved. */
async function expectRefused(answer: RawAnswer, field: string, topic: string, before: number[]) {
  expect(answer.status, answer.text).toBe(400);
  expect(answer.contentType).toBe('application/problem+json');
  const problem = JSON.parse(answer.text);
  expect(problem).toMatchObject({ status: 400, field });
  expect(problem.detail).toMatch(field === 'body' ? /not UTF-8/ : /lone surrogate/);
  expect(await highWatermarks(topic)).toEqual(before);
}

describe('a record reads back exactly as it was accepted', () => {
  it('round-trips every key, value and header byte for byte, JSON as the text received', async () => {
    // Prepare
    await createTopic(stack.api, 'exact');

    await fc.assert(
      fc.asyncProperty(fc.array(recordText, { minLength: 1, maxLength: 6 }), async (records) => {
        // Act
        const body = `{"records":[${records.map((record) => record.text).join(' , ')}]}`;
        const produced = await call('POST', '/v1/topics/exact/records', body);
        expect(produced.status, produced.text).toBe(200);
        const offset = JSON.parse(produced.text).records[0].offset;
        const { text, body: fetched } = await fetchRaw('exact', offset, records.length);

        // Assess
        expect(fetched.records).toHaveLength(records.length);
        records.forEach((record, index) => {
          const got = fetched.records[index];
          expectReadBack(text, index, 'key', got.key, record.key);
          expectReadBack(text, index, 'value', got.value, record.value);
          expect(got.headers).toEqual(record.headers);
        });
      }),
      { numRuns: 40 },
    );
  });

  it('reads back a JSON value with a 20-digit number and odd spacing as the exact text', async () => {
    // Prepare
    await createTopic(stack.api, 'big-numbers');
    const value = '{ "id" : 12345678901234567890,\n  "huge": 1e400, "zero": -0, "one": 1.0 }';

    // Act
    const produced = await call(
      'POST',
      '/v1/topics/big-numbers/records',
      `{"records":[{"value":{"type":"JSON","data":  ${value}  }}]}`,
    );
    const { text } = await fetchRaw('big-numbers', 0, 1);

    // Assess
    expect(produced.status, produced.text).toBe(200);
    expect(text).toContain(`"value":{"type":"JSON","data":${value}}`);
  });

  it('hands a subscribed function the exact bytes of a JSON value with a 20-digit number', async () => {
    // Prepare
    await createTopic(stack.api, 'event-bytes');
    await subscribe(stack.api, {
      name: 'event-bytes-sub',
      topic: 'event-bytes',
      target: { module: SUBSCRIBERS.recording },
      startingPosition: 'TRIM_HORIZON',
      maxBatchingWindowMs: 0,
    });
    const value = '{"orderId": 98765432109876543210, "total":1.50}';

    // Act
    const produced = await call(
      'POST',
      '/v1/topics/event-bytes/records',
      `{"records":[{"key":{"type":"JSON","data":12345678901234567890},"value":{"type":"JSON","data":${value}}}]}`,
    );

    // Assess
    expect(produced.status, produced.text).toBe(200);
    const [record] = await eventually(() => {
      const records = invocationsOf('event-bytes').flatMap((invocation) => invocation.records);
      return records.length > 0 && records;
    }, 'the record delivered');
    expect(Buffer.from(record?.value ?? '', 'base64').toString('utf8')).toBe(value);
    expect(Buffer.from(record?.key ?? '', 'base64').toString('utf8')).toBe('12345678901234567890');
  });

  it('copies the exact bytes of a JSON value into the dead-letter topic', async () => {
    // Prepare
    await createTopic(stack.api, 'poisoned');
    await createTopic(stack.api, 'poisoned-dlq');
    await subscribe(stack.api, {
      name: 'poisoned-sub',
      topic: 'poisoned',
      target: { module: SUBSCRIBERS.poison },
      startingPosition: 'TRIM_HORIZON',
      maxBatchingWindowMs: 0,
      retryAttempts: 0,
      onFailure: { topic: 'poisoned-dlq' },
    });
    const value = '{"poison": true, "id": 12345678901234567890123}';

    // Act
    const produced = await call(
      'POST',
      '/v1/topics/poisoned/records',
      `{"records":[{"value":{"type":"JSON","data":${value}}}]}`,
    );

    // Assess
    expect(produced.status, produced.text).toBe(200);
    await eventually(
      async () => (await readPartition(stack.api, 'poisoned-dlq')).length > 0,
      'a dead letter',
    );
    const { text } = await fetchRaw('poisoned-dlq', 0, 1);
    expect(text).toContain(`"value":{"type":"JSON","data":${value}}`);
  });
});

describe('what cannot round-trip is refused', () => {
  /** A body (text or bytes) that cannot be stored as sent, and the field the problem names. */
  const unstorable: fc.Arbitrary<{ body: string | Uint8Array; field: string }> = fc
    .tuple(
      fc.array(recordText, { maxLength: 3 }),
      fc.constantFrom('\\ud800', '\\udfff', '\\udc00\\ud800', 'a\\ud83d', '\\ude00b'),
      fc.constantFrom(
        [0xff],
        [0xc3, 0x28],
        [0xe2, 0x82],
        [0xed, 0xa0, 0x80],
        [0xc0, 0xaf],
        [0xf4, 0x90, 0x80, 0x80],
      ),
      fc.nat(3),
    )
    .map(([good, surrogate, badBytes, kind]) => {
      const at = good.length;
      const texts = good.map((record) => record.text);
      const records = (bad: string) => `{"records":[${[...texts, bad].join(',')}]}`;
      switch (kind) {
        case 0:
          return {
            body: records(`{"value":{"type":"STRING","data":"x${surrogate}"}}`),
            field: `records[${at}].value.data`,
          };
        case 1:
          return {
            body: records(`{"key":{"type":"STRING","data":"${surrogate}"},"value":null}`),
            field: `records[${at}].key.data`,
          };
        case 2:
          return {
            body: records(
              `{"value":null,"key":{"type":"JSON","data":1},"headers":[{"name":"n${surrogate}","value":""}]}`,
            ),
            field: `records[${at}].headers[0].name`,
          };
        default: {
          // NUL never stands raw in JSON text: a safe place holder for the bad bytes.
          const [before, after] = records('{"value":{"type":"STRING","data":"\u0000"}}').split('\u0000');
          const body = Buffer.concat([
            Buffer.from(before ?? ''),
            Buffer.from(badBytes),
            Buffer.from(after ?? ''),
          ]);
          return { body: new Uint8Array(body), field: 'body' };
        }
      }
    });

  it('refuses every request holding a lone surrogate or bytes that are not UTF-8, and appends nothing', async () => {
    // Prepare
    await createTopic(stack.api, 'refusals', 3);
    const before = await highWatermarks('refusals');

    await fc.assert(
      fc.asyncProperty(unstorable, async ({ body, field }) => {
        // Act
        const answer = await call('POST', '/v1/topics/refusals/records', body);

        // Assess
        await expectRefused(answer, field, 'refusals', before);
      }),
      { numRuns: 40 },
    );
  });

  it('fails when a STRING value has a lone surrogate', async () => {
    // Prepare
    await createTopic(stack.api, 'lone-value');

    // Act
    const answer = await call(
      'POST',
      '/v1/topics/lone-value/records',
      '{"records":[{"value":{"type":"STRING","data":"ok"}},{"value":{"type":"STRING","data":"a\\ud800b"}}]}',
    );

    // Assess
    await expectRefused(answer, 'records[1].value.data', 'lone-value', [0]);
    expect(JSON.parse(answer.text).detail).toContain('lone surrogate (\\ud800 at index 1)');
  });

  it('fails when a STRING key has a lone surrogate', async () => {
    // Prepare
    await createTopic(stack.api, 'lone-key');

    // Act
    const answer = await call(
      'POST',
      '/v1/topics/lone-key/records',
      '{"records":[{"key":{"type":"STRING","data":"\\udc00"},"value":null}]}',
    );

    // Assess
    await expectRefused(answer, 'records[0].key.data', 'lone-key', [0]);
  });

  it('fails when a header name has a lone surrogate', async () => {
    // Prepare
    await createTopic(stack.api, 'lone-header');

    // Act
    const answer = await call(
      'POST',
      '/v1/topics/lone-header/records',
      '{"records":[{"value":{"type":"JSON","data":1},"headers":[{"name":"ok","value":""},{"name":"t\\ud83d","value":"AQ=="}]}]}',
    );

    // Assess
    await expectRefused(answer, 'records[0].headers[1].name', 'lone-header', [0]);
  });

  it('fails when the body is not UTF-8', async () => {
    // Prepare
    await createTopic(stack.api, 'not-utf8');
    const body = Buffer.concat([
      Buffer.from('{"records":[{"value":{"type":"STRING","data":"caf'),
      Buffer.from([0xe9]), // Latin-1 'é'
      Buffer.from('"}}]}'),
    ]);

    // Act
    const answer = await call('POST', '/v1/topics/not-utf8/records', new Uint8Array(body));

    // Assess
    await expectRefused(answer, 'body', 'not-utf8', [0]);
  });

  it('accepts a JSON value with an escaped lone surrogate: its text round-trips byte for byte', async () => {
    // Prepare
    await createTopic(stack.api, 'escaped-surrogate');
    const value = '{"s":"\\ud800"}';

    // Act
    const produced = await call(
      'POST',
      '/v1/topics/escaped-surrogate/records',
      `{"records":[{"value":{"type":"JSON","data":${value}}}]}`,
    );
    const { text } = await fetchRaw('escaped-surrogate', 0, 1);

    // Assess
    expect(produced.status, produced.text).toBe(200);
    expect(text).toContain(`"data":${value}`);
  });
});

describe('idempotent produce compares what would be stored', () => {
  it('replays the same body sent again with the same Idempotency-Key', async () => {
    // Prepare
    await createTopic(stack.api, 'replay');
    const body = '{"records":[{"value":{"type":"JSON","data":{"n": 12345678901234567890123}}}]}';
    const first = await call('POST', '/v1/topics/replay/records', body, { 'idempotency-key': 'same' });

    // Act
    const second = await call('POST', '/v1/topics/replay/records', body, { 'idempotency-key': 'same' });

    // Assess
    expect(first.status, first.text).toBe(200);
    expect(second.status, second.text).toBe(200);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(JSON.parse(second.text).records).toEqual(JSON.parse(first.text).records);
    expect(await highWatermarks('replay')).toEqual([1]);
  });

  it('fails when an Idempotency-Key is reused with a JSON value spelled differently', async () => {
    // Prepare: the two values parse alike but would be stored as different bytes
    await createTopic(stack.api, 'respelled');
    const spelled = (data: string) => `{"records":[{"value":{"type":"JSON","data":${data}}}]}`;
    await call('POST', '/v1/topics/respelled/records', spelled('{"n":1.0}'), { 'idempotency-key': 'k' });

    // Act
    const answer = await call('POST', '/v1/topics/respelled/records', spelled('{"n":1}'), {
      'idempotency-key': 'k',
    });

    // Assess
    expect(answer.status, answer.text).toBe(422);
    expect(await highWatermarks('respelled')).toEqual([1]);
  });
});
