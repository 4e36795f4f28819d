/**
 * The OpenAPI document matches the answers (issue 16): a third-party linter (Redocly's strictest
 * recommended rules) finds nothing in it, and every answer the service gives to a run of requests
 * over every operation (successes and problems) has a status the document lists for that operation,
 * the headers it declares (`Retry-After`, `Idempotent-Replayed`), and a body its schema accepts
 * (Ajv, JSON Schema 2020-12, formats checked).
 */
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../shared/http/openapi.js';
import { matchPath, ROUTES } from '../../shared/http/route-table.js';
import type { Runtime } from '../../shared/runtime.js';
import type { ApiAnswer, ApiClient } from '../support/http-client.js';
import { json, str } from '../support/http-client.js';
import { createTestRuntime, startApiClient } from '../support/local-aws.js';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

let runtime: Runtime;
let api: ApiClient;
let close: () => Promise<void>;

beforeAll(async () => {
  runtime = await createTestRuntime({ tablePrefix: 'openapi' });
  ({ api, close } = await startApiClient(runtime));
});
afterAll(() => close());

type Document = {
  paths: Record<string, Record<string, { operationId: string; responses: Record<string, ResponseObject> }>>;
};
type ResponseObject = {
  headers?: Record<string, unknown>;
  content?: Record<string, { schema: unknown }>;
};

/** One request the run makes, and the answer it got. */
interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly answer: ApiAnswer;
}

describe('the OpenAPI document', () => {
  it('passes Redocly lint with its recommended-strict rules', async () => {
    const config = await createConfig({
      extends: ['recommended-strict'],
      rules: {
        // The watch WebSocket's message schemas are referenced from `x-shoal-watch` (a WebSocket
        // API is not an OpenAPI operation), which linters do not follow.
        'no-unused-components': 'off',
      },
    });

    const problems = await lintFromString({
      source: JSON.stringify(openApiDocument()),
      absoluteRef: 'openapi.json',
      config,
    });

    expect(problems.map((problem) => `${problem.ruleId}: ${problem.message}`)).toEqual([]);
  });

  it('lists the status, headers and body schema of every answer to every operation', async () => {
    const recorded: Recorded[] = [];
    const call = async (
      method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
      path: string,
      body?: unknown,
      headers?: Record<string, string>,
    ) => {
      const answer =
        method === 'GET'
          ? await api.get(path)
          : method === 'POST'
            ? await api.post(path, body, headers)
            : method === 'PATCH'
              ? await api.patch(path, body)
              : await api.delete(path);
      recorded.push({ method, path, answer });
      return answer;
    };

    await call('GET', '/v1/health');
    await call('GET', '/openapi.json');
    await call('POST', '/v1/topics', { name: 'documented', partitions: 2 });
    await call('POST', '/v1/topics', { name: 'documented', partitions: 2 }); // 409
    await call('POST', '/v1/topics', { name: 'bad name', partitions: 2 }); // 400
    await call('GET', '/v1/topics');
    await call('GET', '/v1/topics/documented');
    await call('GET', '/v1/topics/missing'); // 404
    await call('PATCH', '/v1/topics/documented', { retentionMs: 86_400_000 });
    const records = [
      { key: str('k'), value: json({ n: 1 }) },
      { partition: 1, value: json({ n: 2 }) },
    ];
    await call('POST', '/v1/topics/documented/records', { records }, { 'idempotency-key': 'documented-1' });
    // The same key again: the first answer, replayed.
    await call('POST', '/v1/topics/documented/records', { records }, { 'idempotency-key': 'documented-1' });
    await call(
      'POST',
      '/v1/topics/documented/records',
      { records: [{ value: json({}) }] },
      { 'idempotency-key': 'documented-1' },
    ); // 422
    await call('POST', '/v1/topics/documented/records', {
      records: Array.from({ length: 10_001 }, () => ({ value: null })),
    }); // 413
    await call('POST', '/v1/topics/documented/uploads', { bytes: 1024 });
    await call('GET', '/v1/topics/documented/partitions/1/records?offset=0');
    await call('GET', '/v1/topics/documented/partitions/1/records?offset=99'); // 416
    await call('GET', '/v1/topics/documented/partitions/7/records?offset=0'); // 404
    await call('GET', '/v1/topics/documented/partitions/0/offsets?timestamp=2026-01-01T00:00:00Z');
    const joined = await call('POST', '/v1/groups/documented-g/members', { topics: ['documented'] });
    const member = joined.body as { memberId: string; generation: number };
    await call('POST', `/v1/groups/documented-g/members/${member.memberId}/heartbeat`, {
      generation: member.generation,
    });
    await call('POST', `/v1/groups/documented-g/members/${member.memberId}/heartbeat`, {
      generation: member.generation + 5,
    }); // 409
    await call('POST', '/v1/groups/documented-g/offsets', {
      memberId: member.memberId,
      generation: member.generation,
      offsets: [{ topic: 'documented', partition: 1, offset: 1 }],
    });
    const transaction = {
      memberId: member.memberId,
      generation: member.generation,
      topics: [{ topic: 'documented', records: [{ key: str('t'), value: json({ n: 3 }) }] }],
      offsets: [{ topic: 'documented', partition: 1, offset: 1 }],
    };
    await call('POST', '/v1/groups/documented-g/transactions', transaction, { 'idempotency-key': 'tx-1' });
    // The same key again: the first answer, replayed.
    await call('POST', '/v1/groups/documented-g/transactions', transaction, { 'idempotency-key': 'tx-1' });
    await call('POST', '/v1/groups/documented-g/transactions', {
      ...transaction,
      generation: member.generation + 5,
    }); // 409: a stale generation
    await call('POST', '/v1/groups/documented-g/transactions', {
      ...transaction,
      offsets: [{ topic: 'documented', partition: 1, offset: 99 }],
    }); // 422: past the high watermark
    await call('POST', '/v1/groups/documented-g/transactions', {
      ...transaction,
      topics: [{ topic: 'missing', records: [{ value: json({}) }] }],
    }); // 404
    await call('POST', '/v1/groups/documented-g/transactions', {
      ...transaction,
      offsets: Array.from({ length: 98 }, (_, partition) => ({ topic: 'documented', partition, offset: 0 })),
    }); // 413: more items than one transaction
    await call('GET', '/v1/groups');
    await call('GET', '/v1/groups/documented-g');
    await call('DELETE', '/v1/groups/documented-g'); // 409: a live member
    await call('DELETE', `/v1/groups/documented-g/members/${member.memberId}`);
    await call('POST', '/v1/groups/documented-g/offsets/reset', {
      topic: 'documented',
      to: 'earliest',
    });
    await call('DELETE', '/v1/groups/documented-g');
    await call('GET', '/v1/groups/missing-g'); // 404
    await call('POST', '/v1/subscriptions', {
      name: 'documented-s',
      topic: 'documented',
      target: { functionArn: 'arn:aws:lambda:us-east-1:111122223333:function:documented' },
      startingPosition: 'LATEST',
    });
    await call('GET', '/v1/subscriptions');
    await call('GET', '/v1/subscriptions/documented-s');
    await call('DELETE', '/v1/subscriptions/documented-s');
    await call('GET', '/v1/subscriptions/documented-s'); // 404
    await call('DELETE', '/v1/topics/documented');

    const document = openApiDocument() as Document;
    const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
    // zod names base64 strings with JSON Schema's `contentEncoding` and a `base64` format.
    ajv.addFormat('base64', /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/);
    ajv.addSchema(document as object, 'openapi');
    const mismatches: string[] = [];
    const operations = new Set<string>();
    for (const { method, path, answer } of recorded) {
      const match = matchPath(method, path.split('?')[0] as string);
      if (!match || !('route' in match)) throw new Error(`No route for ${method} ${path}`);
      const { route } = match;
      operations.add(route.operationId);
      const label = `${route.operationId} ${answer.status}`;
      const responses = document.paths[route.path]?.[method.toLowerCase()]?.responses ?? {};
      const response = responses[String(answer.status)];
      if (!response) {
        mismatches.push(`${label}: status not documented (${Object.keys(responses).join(', ')})`);
        continue;
      }
      // Retry-After is promised on every 429 and 503; Idempotent-Replayed only on a replay.
      if (response.headers?.['Retry-After'] && !answer.headers.has('retry-after')) {
        mismatches.push(`${label}: no Retry-After header`);
      }
      if (answer.headers.get('idempotent-replayed') !== null && !response.headers?.['Idempotent-Replayed']) {
        mismatches.push(`${label}: Idempotent-Replayed is not documented`);
      }
      const content = response.content ?? {};
      const mediaType = Object.keys(content)[0];
      if (mediaType === undefined) {
        if (answer.body !== '') mismatches.push(`${label}: a body the document does not describe`);
        continue;
      }
      const pointer = `openapi#/paths/${route.path.replaceAll('~', '~0').replaceAll('/', '~1')}/${method.toLowerCase()}/responses/${answer.status}/content/${mediaType.replaceAll('/', '~1')}/schema`;
      const validate = ajv.getSchema(pointer);
      if (!validate) throw new Error(`No schema at ${pointer}`);
      if (!validate(answer.body)) {
        mismatches.push(
          `${label}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(answer.body).slice(0, 300)}`,
        );
      }
    }

    expect(mismatches).toEqual([]);
    // Every operation answered at least once, and the problems with their own statuses too.
    expect([...operations].sort()).toEqual(ROUTES.map((route) => route.operationId).sort());
    const statuses = new Set(recorded.map(({ answer }) => answer.status));
    for (const status of [200, 201, 204, 400, 404, 409, 413, 416, 422]) expect(statuses).toContain(status);
    const replayed = recorded.find(({ answer }) => answer.headers.get('idempotent-replayed') === 'true');
    expect(replayed?.answer.status).toBe(200);
  });
});
