/**
 * Bad input, as a hostile client would send it, to every route of the API: each request is built
 * to be wrong (a broken field, an unknown field, a name that collides with a built-in object
 * property, a timestamp outside the range a record can hold, nesting thousands deep, a list over
 * its limit, a name that does not exist) and must get a 4xx problem+json and change nothing: no
 * topic, partition high watermark, group member, committed offset or subscription moves.
 */
import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/domain/limits.js';
import { ROUTES } from '../../shared/http/route-table.js';
import { type ApiClient, apiClient, json, str } from '../support/http-client.js';
import { createTestRuntime, startTestApi, type TestApi } from '../support/local-aws.js';
import { SUBSCRIBERS } from '../support/subscriptions.js';

const TOPIC = 'fuzz';
const PARTITIONS = 3;
const GROUP = 'fuzz-group';
const SUBSCRIPTION = 'fuzz-subscription';

/** Names that shadow or reach `Object.prototype` when used as keys of a plain object. */
const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];

/** Timestamps no record can hold (before 1970, year 0, past 9999), as epoch ms or ISO-8601. */
const BAD_TIMESTAMPS: unknown[] = [
  -1,
  -62_167_219_200_000,
  253_402_300_800_000,
  1e300,
  1.5,
  '1969-12-31T23:59:59Z',
  '0000-01-01T00:00:00Z',
  '+275760-09-13T00:00:00Z',
  '10000-01-01T00:00:00Z',
  'yesterday',
  null,
];

/** A JSON text nested `depth` levels deep around `inner`. */
const nested = (depth: number, inner = '0') => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;

/**
 * Stands for `{"a":{"a":...[1]...}}` 5,000 objects deep in a body: the body's JSON text gets the deep
 * text in its place. Writing such an object out with JSON.stringify inside fast-check's generators
 * overflowed the stack now and then, so the text is built once, by repetition.
 */
const DEEP_OBJECT = '\u0000deep-object\u0000';
const DEEP_OBJECT_TEXT = `${'{"a":'.repeat(5_000)}[1]${'}'.repeat(5_000)}`;

/** A body's JSON text, with {@link DEEP_OBJECT} written out. */
function bodyText(body: unknown): string {
  return JSON.stringify(body).replaceAll(JSON.stringify(DEEP_OBJECT), DEEP_OBJECT_TEXT);
}

interface BadRequest {
  readonly method: string;
  /** Path and query, already encoded. */
  readonly url: string;
  /** The body text, sent as is. */
  readonly body?: string;
  readonly why: string;
  /**
   * A query parameter on a route that takes none: ignored, as API Gateway and most HTTP APIs do, so
   * the answer need not be a 4xx, but it must not be a 5xx or change anything.
   */
  readonly ignored?: boolean;
}

/** A path segment as a client sends it: `.` and `..` escaped so that no URL parser drops them. */
const segment = (text: string) => encodeURIComponent(text).replaceAll('.', '%2E');

let api: TestApi;
let client: ApiClient;
let memberId: string;
let generation: number;

beforeAll(async () => {
  const runtime = await createTestRuntime({ tablePrefix: 'bad-input' });
  api = await startTestApi(runtime);
  client = apiClient(api.url);
  expect((await client.post('/v1/topics', { name: TOPIC, partitions: PARTITIONS })).status).toBe(201);
  const records = Array.from({ length: 6 }, (_, i) => ({ partition: i % PARTITIONS, value: json({ i }) }));
  expect((await client.post(`/v1/topics/${TOPIC}/records`, { records })).status).toBe(200);
  const joined = await client.post(`/v1/groups/${GROUP}/members`, {
    topics: [TOPIC],
    sessionTimeoutMs: 300_000,
  });
  expect(joined.status).toBe(200);
  ({ memberId, generation } = joined.body);
  const committed = await client.post(`/v1/groups/${GROUP}/offsets`, {
    memberId,
    generation,
    offsets: [{ topic: TOPIC, partition: 0, offset: 1 }],
  });
  expect(committed.status).toBe(200);
  const subscribed = await client.post('/v1/subscriptions', {
    name: SUBSCRIPTION,
    topic: TOPIC,
    target: { module: SUBSCRIBERS.recording },
    enabled: false,
  });
  expect(subscribed.status).toBe(201);
});
afterAll(() => api?.close());

/** Everything a bad request must leave as it was. */
async function snapshot(): Promise<unknown> {
  const topics = await client.get('/v1/topics');
  const topic = await client.get(`/v1/topics/${TOPIC}`);
  const group = await client.get(`/v1/groups/${GROUP}`);
  const subscriptions = await client.get('/v1/subscriptions');
  return {
    topics: topics.body.topics,
    partitions: topic.body.partitions,
    config: topic.body.config,
    group: {
      generation: group.body.generation,
      members: group.body.members.map((member: { memberId: string }) => member.memberId),
      offsets: group.body.offsets,
    },
    subscriptions: subscriptions.body.subscriptions,
  };
}

/** Sends the request exactly as built: node:http, unlike fetch, leaves `.` and `%2E` segments alone. */
async function send(request: BadRequest): Promise<{ status: number; type: string; body: any }> {
  const { port } = new URL(api.url);
  const { status, type, text } = await new Promise<{ status: number; type: string; text: string }>(
    (resolve, reject) => {
      const outgoing = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: request.method,
          path: request.url,
          headers: { 'content-type': 'application/json' },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              type: response.headers['content-type'] ?? '',
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          response.on('error', reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(request.body);
    },
  );
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // asserted below: a problem is always JSON
  }
  return { status, type, body };
}

// Generators. Each one yields requests that are wrong by construction, never a valid one.

const badTopicName = fc.oneof(
  fc.string({ minLength: 1, maxLength: 20 }).filter((name) => !/^[a-zA-Z0-9._-]+$/.test(name)),
  fc.constantFrom('.', '..', 'x'.repeat(LIMITS.topicNameLengthMax + 1), ...PROTOTYPE_NAMES),
  fc.stringMatching(/^[a-z]{1,12}$/).map((name) => `missing-${name}`),
);

const badPartition = fc.oneof(
  fc.constantFrom(
    '-1',
    '1.5',
    'abc',
    '1e3',
    '0x1',
    '99999999999999999999',
    String(PARTITIONS),
    ...PROTOTYPE_NAMES,
  ),
  fc.integer({ min: PARTITIONS, max: 2 ** 31 }).map(String),
);

const queryName = fc.oneof(fc.constantFrom(...PROTOTYPE_NAMES), fc.stringMatching(/^[a-zA-Z_]{1,12}$/));

/** A query string with one parameter the route does not take (strict: refused). */
const withUnknownParameter = (known: Record<string, string>) =>
  fc
    .tuple(queryName, fc.string({ maxLength: 8 }))
    .filter(([name]) => !(name in known) || PROTOTYPE_NAMES.includes(name))
    .map(([name, value]) => new URLSearchParams([...Object.entries(known), [name, value]]).toString());

const badWholeNumber = fc.constantFrom(
  '-1',
  '',
  ' ',
  '1.5',
  'NaN',
  '1e3',
  '99999999999999999',
  'abc',
  '0x10',
);

/** A JSON value of any shape, or text that is not JSON at all. */
const notTheBody = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
  fc.constantFrom(
    '',
    '{',
    '{"a":}',
    '[1,]',
    'null',
    'true',
    '"text"',
    nested(5_000),
    `{"a":${nested(5_000)}}`,
  ),
  fc.string({ maxLength: 40 }).filter((text) => {
    try {
      JSON.parse(text);
      return false;
    } catch {
      return true;
    }
  }),
);

/** Replaces `field` of a valid body with each wrong value, or adds an unknown field, or drops a required one. */
function mutations(valid: Record<string, unknown>, wrong: Record<string, unknown[]>, required: string[]) {
  const replace = fc
    .constantFrom(...Object.keys(wrong))
    .chain((field) =>
      fc.constantFrom(...(wrong[field] as unknown[])).map((value) => ({ ...valid, [field]: value })),
    );
  const unknownField = fc
    .constantFrom(...PROTOTYPE_NAMES.filter((name) => name !== '__proto__'), 'extra', 'Records', 'value')
    .filter((name) => !(name in valid))
    .map((name) => ({ ...valid, [name]: 1 }));
  const protoField = fc.constant(`{"__proto__":{"polluted":1},${JSON.stringify(valid).slice(1)}`);
  const missing = required.map((field) => {
    const { [field]: _dropped, ...rest } = valid;
    return fc.constant(rest);
  });
  return fc.oneof(fc.oneof(replace, unknownField, ...missing).map(bodyText), protoField, notTheBody);
}

const goodRecord = { key: str('k'), value: json({ ok: true }) };

/** A produce record broken in one place. */
const badRecord = fc.oneof(
  fc.constantFrom(
    {},
    { value: { type: 'JSON' } },
    { value: { type: 'XML', data: '<a/>' } },
    { value: { type: 'BINARY', data: 'not base64!' } },
    { value: { type: 'STRING', data: 7 } },
    { value: json(1), headers: [{ name: '', value: '' }] },
    { value: json(1), headers: [{ name: 'h'.repeat(LIMITS.headerNameLengthMax + 1), value: '' }] },
    { value: json(1), headers: [{ name: 'h', value: '***' }] },
    { value: json(1), partition: -1 },
    { value: json(1), partition: PARTITIONS },
    { value: json(1), partition: 1.5 },
    { value: json(1), extra: true },
    // Uploads: a malformed id, one never uploaded, a wrong type, data next to the id.
    { value: { type: 'BINARY', uploadId: '../segments/x' } },
    { value: { type: 'JSON', uploadId: `${'0'.repeat(32)}-5` } },
    { value: { type: 'XML', uploadId: `${'0'.repeat(32)}-5` } },
    { value: { type: 'STRING', uploadId: `${'0'.repeat(32)}-5`, data: 'x' } },
    { key: { type: 'STRING', uploadId: `${'0'.repeat(32)}-5` }, value: json(1) },
  ),
  fc.constantFrom(...BAD_TIMESTAMPS).map((timestamp) => ({ value: json(1), timestamp })),
  fc.constantFrom(...PROTOTYPE_NAMES).map((name) => ({ value: json(1), [name]: 1 })),
);

/** A produce body with one bad record among good ones, or one list over its limit. */
const badProduceBody = fc.oneof(
  fc.tuple(badRecord, fc.nat({ max: 3 }), fc.nat({ max: 3 })).map(([record, before, after]) =>
    JSON.stringify({
      records: [...Array(before).fill(goodRecord), record, ...Array(after).fill(goodRecord)],
    }),
  ),
  fc.constant(JSON.stringify({ records: [] })),
  fc.constant(JSON.stringify({ records: Array(LIMITS.recordsPerRequestMax + 1).fill({ value: json(1) }) })),
  fc.constant(
    JSON.stringify({
      records: [
        { value: json(1), headers: Array(LIMITS.headersPerRecordMax + 1).fill({ name: 'h', value: '' }) },
      ],
    }),
  ),
  fc.constant(`{"records":[{"value":{"type":"JSON","data":1}}],"records":{}}`),
  fc.constant(
    JSON.stringify({
      records: Array.from({ length: LIMITS.uploadsPerRequestMax + 1 }, () => ({
        value: { type: 'BINARY', uploadId: `${'0'.repeat(32)}-5` },
      })),
    }),
  ),
  fc.constant(
    JSON.stringify({
      records: [1, 2, 3].map(() => ({
        value: { type: 'BINARY', uploadId: `${'0'.repeat(32)}-${LIMITS.uploadBytesMax}` },
      })),
    }),
  ),
  mutations({ records: [goodRecord] }, { records: [null, {}, 'x', [null]] }, ['records']),
);

const produce = (body: string, why: string): BadRequest => ({
  method: 'POST',
  url: `/v1/topics/${TOPIC}/records`,
  body,
  why,
});

/** Wrong requests for every route, keyed by operation id (a route missing here fails the test). */
function badRequests(): Record<string, fc.Arbitrary<BadRequest>> {
  const topicPath = (name: string) => `/v1/topics/${segment(name)}`;
  const fetchPath = (partition: string) => `/v1/topics/${TOPIC}/partitions/${segment(partition)}`;
  const topicConfigWrong = {
    retentionMs: [0, -2, 1.5, '60000', LIMITS.retentionMsMax + 1, null],
    retentionBytes: [0, -2, 'x'],
    segmentMs: [0, LIMITS.segmentMsMax + 1],
    segmentBytes: [1, LIMITS.segmentBytesMax + 1],
    localRetentionMs: [0, -1],
  };
  const groupPath = `/v1/groups/${GROUP}`;
  return {
    getHealth: queryOnly('GET', '/v1/health', {}),
    getOpenApi: queryOnly('GET', '/openapi.json', {}),
    createTopic: mutations(
      { name: 'fuzz-new', partitions: 2 },
      {
        name: [
          '',
          '.',
          'a b',
          'x'.repeat(LIMITS.topicNameLengthMax + 1),
          7,
          null,
          ...PROTOTYPE_NAMES.map((n) => [n]),
        ],
        partitions: [0, -1, 1.5, LIMITS.partitionsMax + 1, '2', null],
        ...topicConfigWrong,
      },
      ['name', 'partitions'],
    ).map((body) => ({ method: 'POST', url: '/v1/topics', body, why: 'create' })),
    listTopics: queryOnly('GET', '/v1/topics', {}),
    describeTopic: badTopicName.map((name) => ({ method: 'GET', url: topicPath(name), why: 'describe' })),
    updateTopic: fc.oneof(
      mutations(
        { retentionMs: 3_600_000 },
        { partitions: [1, 0, LIMITS.partitionsMax + 1], ...topicConfigWrong },
        [],
      ).map((body) => ({ method: 'PATCH', url: topicPath(TOPIC), body, why: 'update' })),
      fc.constant({ method: 'PATCH', url: topicPath(TOPIC), body: '{}', why: 'update nothing' }),
      badTopicName.map((name) => ({
        method: 'PATCH',
        url: topicPath(name),
        body: '{"partitions":9}',
        why: 'update',
      })),
    ),
    deleteTopic: badTopicName.map((name) => ({ method: 'DELETE', url: topicPath(name), why: 'delete' })),
    produceRecords: fc.oneof(
      badProduceBody.map((body) => produce(body, 'produce')),
      badTopicName.map((name) => ({
        method: 'POST',
        url: `${topicPath(name)}/records`,
        body: JSON.stringify({ records: [goodRecord] }),
        why: 'produce to a bad topic',
      })),
    ),
    createUpload: fc.oneof(
      mutations({ bytes: 10 }, { bytes: [0, -1, 1.5, '10', null, LIMITS.uploadBytesMax + 1] }, ['bytes']).map(
        (body) => ({ method: 'POST', url: `${topicPath(TOPIC)}/uploads`, body, why: 'upload' }),
      ),
      badTopicName.map((name) => ({
        method: 'POST',
        url: `${topicPath(name)}/uploads`,
        body: '{"bytes":10}',
        why: 'upload to a bad topic',
      })),
    ),
    fetchRecords: fc.oneof(
      withUnknownParameter({ offset: '0' }).map((query) => ({
        method: 'GET',
        url: `${fetchPath('0')}/records?${query}`,
        why: 'fetch',
      })),
      fc
        .tuple(fc.constantFrom('offset', 'maxRecords', 'maxBytes', 'waitMs'), badWholeNumber)
        .map(([name, value]) => ({
          method: 'GET',
          url: `${fetchPath('0')}/records?${new URLSearchParams({ offset: '0', [name]: value })}`,
          why: 'fetch',
        })),
      badPartition.map((partition) => ({
        method: 'GET',
        url: `${fetchPath(partition)}/records?offset=0`,
        why: 'fetch',
      })),
      fc.constant({ method: 'GET', url: `${fetchPath('0')}/records?offset=999`, why: 'fetch past the end' }),
      fc.constant({ method: 'GET', url: `${fetchPath('0')}/records`, why: 'fetch without offset' }),
    ),
    offsetForTimestamp: fc.oneof(
      withUnknownParameter({ timestamp: '0' }).map((query) => ({
        method: 'GET',
        url: `${fetchPath('0')}/offsets?${query}`,
        why: 'offsets',
      })),
      fc.constantFrom(...BAD_TIMESTAMPS.map(String), '').map((timestamp) => ({
        method: 'GET',
        url: `${fetchPath('0')}/offsets?${new URLSearchParams({ timestamp })}`,
        why: 'offsets',
      })),
      badPartition.map((partition) => ({
        method: 'GET',
        url: `${fetchPath(partition)}/offsets?timestamp=0`,
        why: 'offsets',
      })),
    ),
    listGroups: queryOnly('GET', '/v1/groups', {}),
    describeGroup: badGroupName().map((name) => ({
      method: 'GET',
      url: `/v1/groups/${name}`,
      why: 'describe group',
    })),
    deleteGroup: fc.oneof(
      badGroupName().map((name) => ({ method: 'DELETE', url: `/v1/groups/${name}`, why: 'delete group' })),
      fc.constant({ method: 'DELETE', url: groupPath, why: 'delete a group with live members' }),
    ),
    joinGroup: mutations(
      { topics: [TOPIC] },
      {
        topics: [[], ['missing-topic'], [''], 'fuzz', Array(LIMITS.groupTopicsPerMemberMax + 1).fill(TOPIC)],
        sessionTimeoutMs: [0, 1.5, LIMITS.sessionTimeoutMsMax + 1],
        memberId: ['', 'not a member id!', 'unknown-member'],
      },
      ['topics'],
    ).map((body) => ({ method: 'POST', url: `${groupPath}/members`, body, why: 'join' })),
    heartbeatGroup: fc.oneof(
      mutations({ generation: 0 }, { generation: [-1, 1.5, 'x', null] }, ['generation']).map((body) => ({
        method: 'POST',
        url: `${groupPath}/members/${memberIdInPath()}/heartbeat`,
        body,
        why: 'heartbeat',
      })),
      badMemberId().map((id) => ({
        method: 'POST',
        url: `${groupPath}/members/${segment(id)}/heartbeat`,
        body: '{"generation":0}',
        why: 'heartbeat a stranger',
      })),
    ),
    leaveGroup: badMemberIdFormat().map((id) => ({
      method: 'DELETE',
      url: `${groupPath}/members/${segment(id)}`,
      why: 'leave',
    })),
    commitOffsets: fc
      .oneof(
        fc
          .constantFrom<[string, unknown]>(
            ['offset', -1],
            ['offset', 1.5],
            ['offset', 10_000],
            ['offset', 0],
            ['partition', PARTITIONS],
            ['partition', -1],
            ['topic', 'missing-topic'],
            ['metadata', 'm'.repeat(LIMITS.commitMetadataLengthMax + 1)],
            ['extra', 1],
          )
          .map(([field, value]) =>
            JSON.stringify({
              memberId,
              generation,
              offsets: [{ topic: TOPIC, partition: 0, offset: 1, [field]: value }],
            }),
          ),
        fc.constant(
          JSON.stringify({
            memberId,
            generation: generation + 1,
            offsets: [{ topic: TOPIC, partition: 0, offset: 2 }],
          }),
        ),
        fc.constant(JSON.stringify({ offsets: [{ topic: TOPIC, partition: 0, offset: 2 }] })),
        fc.constant(
          JSON.stringify({
            memberId,
            generation,
            offsets: Array(LIMITS.commitOffsetsPerRequestMax + 1).fill({
              topic: TOPIC,
              partition: 0,
              offset: 1,
            }),
          }),
        ),
        mutations({ memberId: 'x', generation: 0, offsets: [] }, { offsets: [[], null, 'x'] }, ['offsets']),
      )
      .map((body) => ({ method: 'POST', url: `${groupPath}/offsets`, body, why: 'commit' })),
    produceTransaction: mutations(
      {
        memberId,
        generation,
        topics: [{ topic: TOPIC, records: [goodRecord] }],
        // Valid but for the field each mutation breaks: the member's partition 0 from 1 to 2.
        offsets: [{ topic: TOPIC, partition: 0, offset: 2 }],
      },
      {
        memberId: ['', 'unknown-member'],
        generation: [generation + 1, -1, 'x'],
        topics: [
          [],
          [{ topic: 'missing-topic', records: [goodRecord] }],
          [{ topic: TOPIC, records: [] }],
          [{ topic: TOPIC, records: [{ ...goodRecord, partition: PARTITIONS }] }],
          [{ topic: TOPIC, records: [{ value: { type: 'JSON', uploadId: 'not-an-upload' } }] }],
          [
            { topic: TOPIC, records: [goodRecord] },
            { topic: TOPIC, records: [goodRecord] },
          ],
          Array(LIMITS.transactionTopicsMax + 1).fill({ topic: TOPIC, records: [goodRecord] }),
        ],
        offsets: [
          [],
          [{ topic: TOPIC, partition: 0, offset: 3 }],
          [{ topic: TOPIC, partition: 0, offset: 0 }],
          [{ topic: TOPIC, partition: PARTITIONS, offset: 0 }],
          [{ topic: 'missing-topic', partition: 0, offset: 0 }],
          Array.from({ length: LIMITS.commitOffsetsPerRequestMax }, (_, partition) => ({
            topic: TOPIC,
            partition,
            offset: 0,
          })),
        ],
      },
      ['topics', 'offsets'],
    ).map((body) => ({ method: 'POST', url: `${groupPath}/transactions`, body, why: 'transaction' })),
    resetOffsets: mutations(
      { topic: TOPIC, to: 'earliest' },
      {
        topic: ['missing-topic', '', null],
        to: ['start', { offset: -1 }, { timestamp: -1 }, { timestamp: '0000-01-01T00:00:00Z' }, {}, null],
        partitions: [[], [-1], [PARTITIONS], 'all'],
      },
      ['topic', 'to'],
    ).map((body) => ({ method: 'POST', url: `${groupPath}/offsets/reset`, body, why: 'reset' })),
    createSubscription: mutations(
      { name: 'fuzz-sub-new', topic: TOPIC, target: { module: SUBSCRIBERS.recording } },
      {
        name: ['', 'a b', SUBSCRIPTION],
        topic: ['missing-topic', ''],
        target: [
          {},
          { module: '' },
          { functionArn: 'x' },
          { module: SUBSCRIBERS.recording, functionArn: 'arn' },
        ],
        batchSize: [0, -1, 1.5, 1e9],
        startingPosition: ['NOW'],
        startingPositionTimestamp: BAD_TIMESTAMPS,
        filters: [
          [{ pattern: '{' }],
          [{ pattern: { value: { a: ['x'.repeat(5_000)] } } }],
          [{ pattern: { value: DEEP_OBJECT } }],
          [{ pattern: { other: [1] } }],
        ],
        retryAttempts: [-2, 1.5],
      },
      ['name', 'topic', 'target'],
    ).map((body) => ({ method: 'POST', url: '/v1/subscriptions', body, why: 'subscribe' })),
    listSubscriptions: queryOnly('GET', '/v1/subscriptions', {}),
    describeSubscription: badSubscriptionName().map((name) => ({
      method: 'GET',
      url: `/v1/subscriptions/${name}`,
      why: 'describe subscription',
    })),
    deleteSubscription: badSubscriptionName().map((name) => ({
      method: 'DELETE',
      url: `/v1/subscriptions/${name}`,
      why: 'delete subscription',
    })),
  };
}

/** A GET that takes no query: any parameter is unknown. */
function queryOnly(method: string, path: string, known: Record<string, string>) {
  return withUnknownParameter(known).map((query) => ({
    method,
    url: `${path}?${query}`,
    why: 'query',
    ignored: true,
  }));
}

function badGroupName() {
  return badTopicName.map((name) => segment(name.replace('missing-', 'missing-group-')));
}

function badSubscriptionName() {
  return badTopicName.map((name) => segment(name.replace('missing-', 'missing-sub-')));
}

function badMemberIdFormat() {
  return fc.constantFrom(
    'a b',
    '!',
    'x'.repeat(65),
    '%20',
    ...PROTOTYPE_NAMES.filter((n) => n.includes('_')),
  );
}

function badMemberId() {
  return fc.oneof(badMemberIdFormat(), fc.constantFrom('unknown-member', 'constructor', 'toString'));
}

function memberIdInPath() {
  return memberId;
}

describe('bad input to every route', () => {
  it('covers every route of the table', () => {
    // Assess
    expect(Object.keys(badRequests()).sort()).toEqual(ROUTES.map((route) => route.operationId).sort());
  });

  it.each(ROUTES.map((route) => [route.operationId, route.method, route.path]))(
    'fails when %s (%s %s) gets bad input: a 4xx problem and nothing changed',
    async (operationId) => {
      // Prepare
      const before = await snapshot();
      const requests = badRequests()[operationId] as fc.Arbitrary<BadRequest>;

      // Act + Assess
      await fc.assert(
        fc.asyncProperty(requests, async (request) => {
          const answer = await send(request);
          const context = `${request.why}: ${request.method} ${request.url.slice(0, 200)} ${request.body?.slice(0, 200) ?? ''}`;
          expect(answer.status, context).toBeLessThan(500);
          if (request.ignored && answer.status < 400) return;
          expect(answer.status, context).toBeGreaterThanOrEqual(400);
          expect(answer.type, context).toContain('application/problem+json');
          expect(answer.body, context).toMatchObject({ status: answer.status, type: expect.any(String) });
          expect(typeof answer.body.title, context).toBe('string');
          expect(typeof answer.body.detail, context).toBe('string');
          expect(Number.isInteger(answer.body.error_code), context).toBe(true);
        }),
        { numRuns: 40 },
      );
      expect(await snapshot()).toEqual(before);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    },
  );
});
