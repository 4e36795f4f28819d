/**
 * The published request and response limits hold in Lambda: a produce body at
 * `requestBodyBytesMax` makes, with any content and the most headers API Gateway lets through, a
 * proxy event within Lambda's 6,291,456-byte payload limit, so the handler sees it and answers 413
 * one byte later; and a fetch at the maximum settings, of records full of what JSON escapes, makes
 * a proxy result within the same limit. The events are built as API Gateway builds them and handed
 * to the real handlers.
 */
import { createHash } from 'node:crypto';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHandler as createFetchHandler } from '../../functions/fetch-records.js';
import { createHandler as createProduceHandler } from '../../functions/produce-records.js';
import { LIMITS } from '../../shared/domain/limits.js';
import type { ProduceRecord } from '../../shared/domain/record.js';
import type { HttpHandler } from '../../shared/http/lambda-http.js';
import { servicesFor } from '../../shared/services.js';
import {
  type ClientRequest,
  payloadBytes,
  requestLineAndHeadersBytes,
  restProxyEvent,
} from '../support/api-gateway-event.js';
import { createTestRuntime } from '../support/local-aws.js';

/** API Gateway REST: the request line and the headers of a request together, at most. */
const REQUEST_LINE_AND_HEADERS_BYTES_MAX = 10_240;

/** Stored bytes of one worst-case record: under `recordInlineBytesMax` with the record's framing, so records share batches. */
const RECORD_DATA_BYTES = LIMITS.recordInlineBytesMax - 1_000;

let produce: HttpHandler;
let fetchRecords: HttpHandler;
let services: ReturnType<typeof servicesFor>;

beforeAll(async () => {
  const runtime = await createTestRuntime({ tablePrefix: 'proxy-limits' });
  produce = createProduceHandler(runtime);
  fetchRecords = createFetchHandler(runtime);
  services = servicesFor(runtime);
});

/**
 * A produce body of exactly `bytes` bytes: STRING records whose data is `unit` (one stored
 * character, as written in JSON) repeated, each under the record limit, and spaces to fill.
 */
function produceBody(unit: string, unitStoredBytes: number, bytes: number): Buffer {
  const perRecord = Math.floor(RECORD_DATA_BYTES / unitStoredBytes);
  const open = '{"records":[';
  const close = ']}';
  const recordText = (units: number) => `{"value":{"type":"STRING","data":"${unit.repeat(units)}"}}`;
  const unitBytes = Buffer.byteLength(unit);
  const parts: string[] = [];
  let used = Buffer.byteLength(open + close);
  for (;;) {
    const comma = parts.length > 0 ? 1 : 0;
    const room = bytes - used - comma - Buffer.byteLength(recordText(0));
    const units = Math.min(perRecord, Math.floor(room / unitBytes));
    if (units <= 0) break;
    const text = recordText(units);
    parts.push(text);
    used += comma + Buffer.byteLength(text);
  }
  const body = Buffer.from(`${open}${parts.join(',')}${' '.repeat(bytes - used)}${close}`);
  expect(body.length).toBe(bytes);
  return body;
}

/** Header values API Gateway passes on that take 2 bytes each in JSON. */
const QUOTES = '"';

/**
 * A produce request to `topic` with `body`, whose request line and headers take exactly the
 * 10,240 bytes API Gateway allows, laid out as `layout` says:
 * - `user-agent`: one long User-Agent of `"` (it appears three times in the event);
 * - `many-headers`: as many short headers as fit (each costs the event its framing twice);
 * - `query`: a query string of `%01`, a control character (6 bytes in JSON) in two maps;
 * - `bearer`: a long bearer token whose ACL the JWT authorizer passes on in its context.
 */
function maximalRequest(
  topic: string,
  body: Buffer,
  layout: 'user-agent' | 'many-headers' | 'query' | 'bearer',
): ClientRequest {
  const base: ClientRequest = {
    method: 'POST',
    resource: '/v1/topics/{topic}/records',
    pathParameters: { topic },
    headers: {
      'Content-Type': 'application/json',
      'Content-Length': String(body.length),
      'X-Amz-Date': '20260102T030405Z',
      'X-Amz-Security-Token': 'IQoJb3JpZ2luX2VjE'.repeat(40),
      Authorization:
        'AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEEXAMPLE12/20260102/eu-west-1/execute-api/aws4_request, ' +
        'SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=' +
        'f'.repeat(64),
    },
    body,
  };
  const room = (request: ClientRequest) =>
    REQUEST_LINE_AND_HEADERS_BYTES_MAX - requestLineAndHeadersBytes(request);
  switch (layout) {
    case 'user-agent': {
      const withAgent = { ...base, headers: { ...base.headers, 'User-Agent': '' } };
      return { ...base, headers: { ...base.headers, 'User-Agent': QUOTES.repeat(room(withAgent)) } };
    }
    case 'many-headers': {
      const headers: Record<string, string | readonly string[]> = { ...base.headers };
      for (let index = 0; ; index++) {
        const name = `x${index.toString(36)}`;
        if (room({ ...base, headers }) < Buffer.byteLength(`${name}: ${QUOTES}`)) break;
        headers[name] = QUOTES;
      }
      return { ...base, headers };
    }
    case 'query': {
      const withQuery = { ...base, query: { q: [''] } };
      return { ...base, query: { q: ['\u0001'.repeat(Math.floor(room(withQuery) / 3))] } };
    }
    case 'bearer': {
      const unsigned = { 'Content-Type': 'application/json', 'Content-Length': String(body.length) };
      const withToken = { ...base, headers: { ...unsigned, Authorization: 'Bearer ' } };
      const token = 'e'.repeat(room(withToken));
      return {
        ...base,
        headers: { ...unsigned, Authorization: `Bearer ${token}` },
        // The ACL claim is inside the token, so its text is shorter than the token.
        authorizerContext: { principal: 'producer', acl: 'topic:orders:write '.repeat(token.length / 19) },
      };
    }
  }
}

const WORST_CONTENTS = [
  { name: 'control characters', unit: '\\u0001', storedBytes: 1 },
  { name: 'quotes', unit: '\\"', storedBytes: 1 },
  { name: 'backslashes', unit: '\\\\', storedBytes: 1 },
  { name: '4-byte UTF-8', unit: '\u{1F600}', storedBytes: 4 },
] as const;

const LAYOUTS = ['user-agent', 'many-headers', 'query', 'bearer'] as const;

describe('request limit in Lambda', () => {
  beforeAll(async () => {
    await services.topics.create({ name: 'at-limit', partitions: 1 });
  });

  it.each(LAYOUTS)(
    'keeps the event of any body at requestBodyBytesMax with maximal headers (%s) within Lambda’s limit',
    (layout) => {
      // Prepare
      for (const content of WORST_CONTENTS) {
        const request = maximalRequest(
          'at-limit',
          produceBody(content.unit, content.storedBytes, LIMITS.requestBodyBytesMax),
          layout,
        );
        expect(requestLineAndHeadersBytes(request)).toBeLessThanOrEqual(REQUEST_LINE_AND_HEADERS_BYTES_MAX);

        // Act
        const bytes = payloadBytes(restProxyEvent(request));

        // Assess
        expect(bytes, content.name).toBeLessThanOrEqual(LIMITS.lambdaPayloadBytesMax);
      }
    },
  );

  it.each(WORST_CONTENTS)(
    'appends a body of $name at requestBodyBytesMax, read back as sent',
    async (content) => {
      // Prepare
      const body = produceBody(content.unit, content.storedBytes, LIMITS.requestBodyBytesMax);
      const event = restProxyEvent(maximalRequest('at-limit', body, 'user-agent'));

      // Act
      const answer = await produce(event);

      // Assess
      expect(answer.statusCode, answer.body).toBe(200);
      const offsets: number[] = JSON.parse(answer.body).records.map((r: { offset: number }) => r.offset);
      const first = await fetchRecords(fetchEvent('at-limit', offsets[0] ?? 0, { maxRecords: 1 }));
      const sent = JSON.parse(body.toString('utf8')).records[0].value.data;
      expect(JSON.parse(first.body).records[0].value.data === sent).toBe(true);
    },
  );

  it('shows why bodies go base64: a body of escaped quotes at the limit, as text, would not fit', () => {
    const body = produceBody('\\"', 1, LIMITS.requestBodyBytesMax);
    const event = restProxyEvent({
      method: 'POST',
      resource: '/v1/topics/{topic}/records',
      pathParameters: { topic: 'at-limit' },
    });

    const bytes = payloadBytes({ ...event, body: body.toString('utf8'), isBase64Encoded: false });

    expect(bytes).toBeGreaterThan(LIMITS.lambdaPayloadBytesMax);
  });

  it.each(LAYOUTS)(
    'fails with 413 naming the limit when the body is one byte over, an event Lambda still delivers (%s)',
    async (layout) => {
      // Prepare
      const atLimit = produceBody('\\"', 1, LIMITS.requestBodyBytesMax);
      const body = Buffer.concat([Buffer.from(' '), atLimit]);
      const event = restProxyEvent(maximalRequest('at-limit', body, layout));
      expect(payloadBytes(event)).toBeLessThanOrEqual(LIMITS.lambdaPayloadBytesMax);

      // Act
      const answer = await produce(event);

      // Assess
      expect(answer.statusCode).toBe(413);
      expect(answer.headers?.['content-type']).toBe('application/problem+json');
      expect(JSON.parse(answer.body)).toMatchObject({
        status: 413,
        error_code: 413,
        limit: 'requestBodyBytes',
        value: LIMITS.requestBodyBytesMax + 1,
        max: LIMITS.requestBodyBytesMax,
      });
    },
  );

  it('fails with 400 when a base64 body is not UTF-8', async () => {
    const event = restProxyEvent({
      method: 'POST',
      resource: '/v1/topics/{topic}/records',
      pathParameters: { topic: 'at-limit' },
      headers: { 'Content-Type': 'application/json' },
      body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
    });

    const answer = await produce(event);

    expect(answer.statusCode).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ field: 'body' });
  });
});

/** A fetch event for `topic` partition 0 from `offset`. */
function fetchEvent(topic: string, offset: number, settings: { maxRecords?: number; maxBytes?: number }) {
  const query: Record<string, string[]> = { offset: [String(offset)] };
  if (settings.maxRecords !== undefined) query.maxRecords = [String(settings.maxRecords)];
  if (settings.maxBytes !== undefined) query.maxBytes = [String(settings.maxBytes)];
  return restProxyEvent({
    method: 'GET',
    resource: '/v1/topics/{topic}/partitions/{partition}/records',
    pathParameters: { topic, partition: '0' },
    query,
  });
}

/** A record whose STRING value is `RECORD_DATA_BYTES` bytes of `character`. */
function worstRecord(character: string): ProduceRecord {
  const data = character.repeat(RECORD_DATA_BYTES / Buffer.byteLength(character));
  return { key: null, value: { type: 'STRING', bytes: Buffer.from(data, 'utf8') }, headers: [] };
}

describe('fetch response limit in Lambda', () => {
  const characters = ['\u0001', '"', '\\', '\n', '\u0001', '"', '\u0001', '\\', '\u0001', '"'];

  beforeAll(async () => {
    await services.topics.create({ name: 'escaped', partitions: 1 });
    for (const character of characters) await services.log.produce('escaped', [worstRecord(character)]);
  });

  it('keeps every answer at the maximum settings within Lambda’s limit, reading every record in order', async () => {
    // Prepare
    const seen: number[] = [];
    const hashes: string[] = [];
    let offset = 0;

    // Act
    while (offset < characters.length) {
      const answer: APIGatewayProxyResult = await fetchRecords(
        fetchEvent('escaped', offset, { maxRecords: LIMITS.fetchRecordsMax, maxBytes: LIMITS.fetchBytesMax }),
      );

      // Assess
      expect(answer.statusCode).toBe(200);
      expect(payloadBytes(answer)).toBeLessThanOrEqual(LIMITS.lambdaPayloadBytesMax);
      const page = JSON.parse(answer.body);
      expect(page.records.length).toBeGreaterThan(0);
      for (const record of page.records) {
        seen.push(record.offset);
        hashes.push(createHash('sha256').update(record.value.data).digest('hex'));
      }
      expect(page.nextOffset).toBe(offset + page.records.length);
      offset = page.nextOffset;
    }
    expect(seen).toEqual(characters.map((_, index) => index));
    const expected = characters.map((character) =>
      createHash('sha256').update(character.repeat(RECORD_DATA_BYTES)).digest('hex'),
    );
    expect(hashes).toEqual(expected);
  });
});
