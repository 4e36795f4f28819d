/**
 * `shoal subscriptions` run as a user runs it (a separate process) against the real handlers: a
 * module bound to a topic on the local stack, listed, described with its lag, and deleted.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Shoal } from '../../client/index.js';
import { createTestRuntime, startTestApi, type TestApi } from '../support/local-aws.js';
import { type Run, runShoal } from './run-shoal.js';

const SUBSCRIBER = fileURLToPath(new URL('./fixtures/noop-subscriber.mjs', import.meta.url));

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi(await createTestRuntime({ tablePrefix: 'cli-subscriptions' }));
});
afterAll(() => api?.close());

const shoal = (args: readonly string[]): Promise<Run> => runShoal(api.url, args);

/** Four `shoal` processes, each a TypeScript start: about 25 s on a loaded 2-core machine. */
const FOUR_RUNS_TIMEOUT_MS = 120_000;

describe('shoal subscriptions', () => {
  it('creates, lists, describes with lag and deletes a subscription', {
    timeout: FOUR_RUNS_TIMEOUT_MS,
  }, async () => {
    // Prepare: a topic with five records and a dead-letter topic.
    const client = new Shoal({ url: api.url });
    await client.admin().createTopic({ name: 'invoices', partitions: 2 });
    await client.admin().createTopic({ name: 'invoices-dlq', partitions: 1 });
    await client.admin().createTopic({ name: 'invoices-out', partitions: 1 });
    await client.producer().send({
      topic: 'invoices',
      records: Array.from({ length: 5 }, (_, i) => ({ value: `invoice ${i}`, partition: i % 2 })),
    });

    // Act
    const created = await shoal([
      'subscriptions',
      'create',
      'invoicing',
      '--topic',
      'invoices',
      '--module',
      SUBSCRIBER,
      '--starting-position',
      'trim-horizon',
      '--batch-size',
      '10',
      '--retry-attempts',
      '2',
      '--dead-letter-topic',
      'invoices-dlq',
      '--output-topic',
      'invoices-out',
      '--json',
    ]);
    const listed = await shoal(['subscriptions', 'list', '--json']);
    const described = await shoal(['subscriptions', 'describe', 'invoicing', '--json']);
    const deleted = await shoal(['subscriptions', 'delete', 'invoicing']);

    // Assess
    expect(created.stderr).toBe('');
    expect(JSON.parse(created.stdout)).toMatchObject({
      name: 'invoicing',
      topic: 'invoices',
      target: { module: SUBSCRIBER, handler: 'handler' },
      startingPosition: 'TRIM_HORIZON',
      batchSize: 10,
      retryAttempts: 2,
      onFailure: { topic: 'invoices-dlq' },
      outputTopic: 'invoices-out',
    });
    expect(JSON.parse(listed.stdout).subscriptions.map((s: any) => s.name)).toEqual(['invoicing']);
    const description = JSON.parse(described.stdout);
    expect(description.partitions.map((p: any) => p.highWatermark)).toEqual([3, 2]);
    expect(deleted.code).toBe(0);
    expect(await client.admin().listSubscriptions()).toEqual([]);
  });

  it('fails with a usage error when the target is missing', async () => {
    const run = await shoal(['subscriptions', 'create', 'x', '--topic', 'invoices']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /^shoal: subscriptions create needs --function-arn <arn> \(AWS\) or --module <file>/,
    );
  });
});
