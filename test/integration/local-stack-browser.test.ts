/**
 * The local stack serves the developer's tools, not the web pages open in their browser: requests
 * naming another Host (DNS rebinding), coming from another Origin, or carrying a body that is not
 * `application/json` (what a page can send without a CORS preflight) are refused before any
 * handler runs, and subscriptions may run modules only from the folders the stack was started with.
 * Each refusal is shown to change nothing, next to a request that does change something.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../local/stack.js';
import { CreateSubscriptionRequest, toSubscriptionInput } from '../../shared/http/subscription-schemas.js';
import { subscriptionServicesFor } from '../../shared/subscription-services.js';
import { type ApiClient, apiClient, json } from '../support/http-client.js';
import {
  createTopic,
  describeSubscription,
  eventually,
  produce,
  SUBSCRIBERS,
  subscribe,
} from '../support/subscriptions.js';

/** Each start launches a JVM; a loaded 2-core machine may need a minute or more. */
const STACK_START_TIMEOUT_MS = 120_000;

let scratch: string;
let allowedDir: string;
let outsideDir: string;
let stack: LocalStack;
let api: ApiClient;
let port: number;

beforeAll(async () => {
  scratch = await realpath(await mkdtemp(join(tmpdir(), 'shoal-browser-')));
  allowedDir = join(scratch, 'allowed');
  outsideDir = join(scratch, 'outside');
  await mkdir(allowedDir);
  await mkdir(outsideDir);
  await mkdir(join(scratch, 'markers'));
  stack = await startLocalStack({
    dataDir: join(scratch, 'data'),
    port: 0,
    persistent: false,
    moduleDirs: [allowedDir],
    archiveIntervalMs: 0,
    dispatchSweepIntervalMs: 200,
  });
  api = apiClient(stack.url);
  port = Number(new URL(stack.url).port);
}, STACK_START_TIMEOUT_MS);
afterAll(async () => {
  await stack?.stop();
  await rm(scratch, { recursive: true, force: true });
});

interface Answer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly text: string;
}

/** A request with any Host, Origin and Content-Type (fetch may not set Host). */
function send(
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = {
      ...(options.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(options.body)) }),
      ...options.headers,
    };
    const req = httpRequest(`${stack.url}${path}`, { method: options.method ?? 'GET', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], text }),
      );
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Asserts an RFC 9457 problem with Shoal's `error_code`, and returns it. */
function expectProblem(answer: Answer, status: number): Record<string, unknown> {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.contentType).toBe('application/problem+json');
  const problem = JSON.parse(answer.text) as Record<string, unknown>;
  expect(problem).toMatchObject({ status, error_code: status });
  expect(typeof problem.type).toBe('string');
  expect(typeof problem.title).toBe('string');
  expect(typeof problem.detail).toBe('string');
  return problem;
}

let names = 0;
/** A name no other test uses. */
const unique = (prefix: string) => `${prefix}-${++names}`;

async function highWatermark(topic: string): Promise<number> {
  const answer = await api.get(`/v1/topics/${topic}`);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body.partitions[0].highWatermark;
}

/** A module whose handler appends each event's offsets to its own marker file. */
async function markerModule(dir: string, name: string): Promise<{ module: string; marker: string }> {
  const module = join(dir, `${name}.mjs`);
  const marker = join(scratch, 'markers', name);
  await writeFile(
    module,
    [
      "import { appendFileSync } from 'node:fs';",
      'export async function handler(event) {',
      '  const offsets = Object.values(event.records).flat().map((record) => record.offset);',
      `  appendFileSync(${JSON.stringify(marker)}, JSON.stringify(offsets) + '\\n');`,
      '}',
      '',
    ].join('\n'),
  );
  return { module, marker };
}

const subscription = (name: string, topic: string, module: string) => ({
  name,
  topic,
  target: { module },
  startingPosition: 'TRIM_HORIZON',
  maxBatchingWindowMs: 0,
});

/**
 * A topic with a control subscription to a marker module inside the allowed folder: once its marker
 * exists, the dispatcher has delivered the topic's first record.
 */
async function topicWithControl(prefix: string): Promise<{ topic: string; control: { marker: string } }> {
  const topic = unique(prefix);
  await createTopic(api, topic);
  const control = await markerModule(allowedDir, unique('control'));
  await subscribe(api, subscription(unique('control-sub'), topic, control.module));
  return { topic, control };
}

describe('requests a page of another site can make', () => {
  it.each([
    ['another site', 'https://evil.example'],
    ['an opaque origin (sandboxed frame, file: page)', 'null'],
    ['another port of this machine', 'http://127.0.0.1:1'],
    ['https on this port', 'https://127.0.0.1:PORT'],
    ['a look-alike name', 'http://localhost.evil.example:PORT'],
  ])('fails when the Origin is %s: 403, and the topic is not created', async (_, origin) => {
    const topic = unique('cross-origin');

    const answer = await send('/v1/topics', {
      method: 'POST',
      headers: { origin: origin.replace('PORT', String(port)), 'content-type': 'application/json' },
      body: JSON.stringify({ name: topic, partitions: 1 }),
    });

    expectProblem(answer, 403);
    expect((await api.get(`/v1/topics/${topic}`)).status).toBe(404);
  });

  it('fails when a produce comes from another origin: 403, and the high watermark does not move', async () => {
    const topic = unique('cross-origin-produce');
    await createTopic(api, topic);

    const answer = await send(`/v1/topics/${topic}/records`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
      body: JSON.stringify({ records: [{ value: json({ stolen: true }) }] }),
    });

    expectProblem(answer, 403);
    expect(await highWatermark(topic)).toBe(0);
  });

  it.each([
    ['text/plain (a fetch or form without preflight)', 'text/plain'],
    ['text/plain with a charset', 'text/plain;charset=UTF-8'],
    ['a form (what curl -d sends)', 'application/x-www-form-urlencoded'],
    ['multipart', 'multipart/form-data; boundary=x'],
    ['missing', undefined],
  ])('fails when the Content-Type of a body is %s: 415, and nothing is appended', async (_, contentType) => {
    const topic = unique('plain-produce');
    await createTopic(api, topic);

    const answer = await send(`/v1/topics/${topic}/records`, {
      method: 'POST',
      headers: contentType === undefined ? {} : { 'content-type': contentType },
      body: JSON.stringify({ records: [{ value: json({ n: 1 }) }] }),
    });

    expectProblem(answer, 415);
    expect(await highWatermark(topic)).toBe(0);
  });

  it('fails when a text/plain body asks for a topic: 415, and the topic is not created', async () => {
    const topic = unique('plain-topic');

    const answer = await send('/v1/topics', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ name: topic, partitions: 1 }),
    });

    expect(expectProblem(answer, 415).detail).toContain("-H 'Content-Type: application/json'");
    expect((await api.get(`/v1/topics/${topic}`)).status).toBe(404);
  });

  it.each([
    ['a rebound domain', 'rebound.example:PORT'],
    ['another loopback address', '127.0.0.2:PORT'],
    ['another port', 'localhost:1'],
    ['no port', '127.0.0.1'],
  ])('fails when the Host is %s: 403, and no record is read', async (_, host) => {
    const topic = unique('rebound');
    await createTopic(api, topic);
    await produce(api, topic, [{ value: json({ secret: 'do-not-leak' }) }]);

    const answer = await send(`/v1/topics/${topic}/partitions/0/records?offset=0`, {
      headers: { host: host.replace('PORT', String(port)) },
    });

    expectProblem(answer, 403);
    expect(answer.text).not.toContain('do-not-leak');
    expect(answer.text).not.toContain(Buffer.from('{"secret"').toString('base64').slice(0, 8));
  });

  it('fails when a rebound page asks for a topic: 403, and the topic is not created', async () => {
    const topic = unique('rebound-topic');

    const answer = await send('/v1/topics', {
      method: 'POST',
      headers: { host: `rebound.example:${port}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: topic, partitions: 1 }),
    });

    expectProblem(answer, 403);
    expect((await api.get(`/v1/topics/${topic}`)).status).toBe(404);
  });
});

describe('requests of the stack own origin and of tools', () => {
  it.each(['127.0.0.1', 'localhost', '[::1]'])(
    'serves a page of http://%s:<port> (a console on this port)',
    async (host) => {
      const originHost = host;
      const topic = unique('console');

      const created = await send('/v1/topics', {
        method: 'POST',
        headers: {
          host: `${host}:${port}`,
          origin: `http://${originHost}:${port}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ name: topic, partitions: 1 }),
      });
      const produced = await send(`/v1/topics/${topic}/records`, {
        method: 'POST',
        headers: {
          host: `${host}:${port}`,
          origin: `http://${originHost}:${port}`,
          'content-type': 'application/json; charset=utf-8',
        },
        body: JSON.stringify({ records: [{ value: json({ n: 1 }) }] }),
      });

      expect(created.status, created.text).toBe(201);
      expect(produced.status, produced.text).toBe(200);
      expect(await highWatermark(topic)).toBe(1);
    },
  );

  it('serves a tool that sends no Origin and a JSON body, as curl -H "Content-Type: application/json" does', async () => {
    const topic = unique('curl');

    const answer = await send('/v1/topics', {
      method: 'POST',
      headers: { host: `localhost:${port}`, 'content-type': 'application/json', 'user-agent': 'curl/7.88.1' },
      body: JSON.stringify({ name: topic, partitions: 1 }),
    });

    expect(answer.status, answer.text).toBe(201);
  });
});

describe('module targets', () => {
  it('runs a module inside the folders the stack was started with', async () => {
    const topic = unique('allowed');
    await createTopic(api, topic);
    const allowed = await markerModule(allowedDir, unique('allowed-module'));
    await subscribe(api, subscription(unique('allowed-sub'), topic, allowed.module));

    await produce(api, topic, [{ value: json({ n: 0 }) }]);

    await eventually(() => existsSync(allowed.marker), 'the allowed module to run');
    expect(await readFile(allowed.marker, 'utf8')).toBe('[0]\n');
  });

  const ways: [string, (module: string) => Promise<string>][] = [
    ['an absolute path', async (module) => module],
    ['a relative path from the working directory', async (module) => relative(process.cwd(), module)],
    ['a path that climbs out with ..', async (module) => `${allowedDir}/../outside/${basename(module)}`],
    [
      'a symlink inside the folder',
      async (module) => {
        const link = join(allowedDir, `link-${++names}.mjs`);
        await symlink(module, link);
        return link;
      },
    ],
    [
      'a folder allowed by default but not by this stack (the working directory)',
      async () => SUBSCRIBERS.recording,
    ],
  ];

  it.each(ways)(
    'fails when the module is outside the folders, given as %s: 400, and no subscription',
    async (_, pathOf) => {
      const topic = unique('outside');
      await createTopic(api, topic);
      const outside = await markerModule(outsideDir, unique('outside-module'));
      const name = unique('outside-sub');

      const answer = await send('/v1/subscriptions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(subscription(name, topic, await pathOf(outside.module))),
      });

      expect(expectProblem(answer, 400)).toMatchObject({ field: 'target.module' });
      expect(String(JSON.parse(answer.text).detail)).toContain('outside the folders');
      expect((await api.get(`/v1/subscriptions/${name}`)).status).toBe(404);
    },
  );

  it('fails when a page of another site subscribes a module: 403, and it never runs', async () => {
    // Prepare: a module the stack would run, and a subscription that proves deliveries happen.
    const { topic, control } = await topicWithControl('cross-origin-subscribe');
    const planted = await markerModule(allowedDir, unique('planted'));
    const name = unique('planted-sub');

    // Act: the exploit, a simple request without preflight.
    const answer = await send('/v1/subscriptions', {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'text/plain' },
      body: JSON.stringify(subscription(name, topic, planted.module)),
    });
    await produce(api, topic, [{ value: json({ n: 0 }) }]);

    // Assess
    expectProblem(answer, 403);
    expect((await api.get(`/v1/subscriptions/${name}`)).status).toBe(404);
    await eventually(() => existsSync(control.marker), 'the control module to run');
    expect(existsSync(planted.marker)).toBe(false);
  });

  it('fails to invoke a stored subscription whose module is outside the folders: it never runs, the error says why', async () => {
    // Prepare: a subscription stored without the creation check (as one made before the folders
    // changed), failing for good at once, and a control subscription on the same topic.
    const { topic, control } = await topicWithControl('stored-outside');
    const outside = await markerModule(outsideDir, unique('stored-module'));
    const name = unique('stored-sub');
    const unchecked = subscriptionServicesFor(stack.runtime, { checkTarget: async () => undefined });
    const stored = { ...subscription(name, topic, outside.module), retryAttempts: 0 };
    await unchecked.subscriptions.create(toSubscriptionInput(CreateSubscriptionRequest.parse(stored)));

    // Act
    await produce(api, topic, [{ value: json({ n: 0 }) }]);

    // Assess: the dispatcher tried it and refused; the control shows that deliveries happen.
    const lastError = await eventually(async () => {
      const row = (await describeSubscription(api, name)).partitions[0];
      return row.lastError?.message as string | undefined;
    }, 'the refusal to be recorded');
    await eventually(() => existsSync(control.marker), 'the control module to run');
    expect(lastError).toContain('outside the folders modules may be loaded from');
    expect(existsSync(outside.marker)).toBe(false);
  });
});
