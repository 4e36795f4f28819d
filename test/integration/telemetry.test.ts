/**
 * The metrics the handlers publish, against the real local parts: produced and fetched records and
 * bytes per topic, answers the API gave as busy or failed, and the DynamoDB retries and throttles
 * the SDK would otherwise hide.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHandler as createLagHandler } from '../../functions/measure-lag.js';
import { METRIC, RecordingTelemetry } from '../../shared/observability/telemetry.js';
import type { Runtime } from '../../shared/runtime.js';
import { createFaultInjector, type FaultInjector } from '../support/faults.js';
import { type ApiClient, apiClient, str } from '../support/http-client.js';
import { createTestRuntime, startTestApi } from '../support/local-aws.js';

let api: ApiClient;
let faults: FaultInjector;
let telemetry: RecordingTelemetry;
let close: () => Promise<void>;
let runtime: Runtime;

beforeAll(async () => {
  faults = createFaultInjector({ seed: 3 });
  telemetry = new RecordingTelemetry();
  runtime = await createTestRuntime({
    decorateDynamoDb: faults.install,
    telemetry,
    tablePrefix: 'telemetry',
  });
  const server = await startTestApi(runtime);
  api = apiClient(server.url);
  close = server.close;
  expect((await api.post('/v1/topics', { name: 'metered', partitions: 1 })).status).toBe(201);
});
afterAll(() => close());
beforeEach(() => {
  faults.reset();
  telemetry.flushed.length = 0;
});

describe('handler metrics', () => {
  it('counts produced records and their key, value and header bytes per topic', async () => {
    const answer = await api.post('/v1/topics/metered/records', {
      records: [
        { key: str('k1'), value: str('hello') },
        { value: str('abc'), headers: [{ name: 'h', value: Buffer.from('xy').toString('base64') }] },
      ],
    });

    expect(answer.status).toBe(200);
    expect(telemetry.total(METRIC.producedRecords, { topic: 'metered' })).toBe(2);
    // k1 + hello, then abc + header name h + value xy
    expect(telemetry.total(METRIC.producedBytes, { topic: 'metered' })).toBe(2 + 5 + 3 + 1 + 2);
  });

  it('does not count an idempotent replay as produced again', async () => {
    const body = { records: [{ value: str('once') }] };
    await api.post('/v1/topics/metered/records', body, { 'idempotency-key': 'replayed-1' });
    telemetry.flushed.length = 0;

    const replay = await api.post('/v1/topics/metered/records', body, { 'idempotency-key': 'replayed-1' });

    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(telemetry.total(METRIC.producedRecords, { topic: 'metered' })).toBe(0);
  });

  it('counts fetches and the records and bytes they returned per topic', async () => {
    const answer = await api.get('/v1/topics/metered/partitions/0/records?offset=0&maxRecords=2');

    expect(answer.body.records).toHaveLength(2);
    expect(telemetry.total(METRIC.fetches, { topic: 'metered' })).toBe(1);
    expect(telemetry.total(METRIC.fetchedRecords, { topic: 'metered' })).toBe(2);
    expect(telemetry.total(METRIC.fetchedBytes, { topic: 'metered' })).toBe(2 + 5 + 3 + 1 + 2);
  });

  it('counts the retries of a throttled DynamoDB call and each throttled attempt', async () => {
    faults.add({ commands: ['TransactWriteItems'], fault: 'throttle', times: 2, layer: 'attempt' });

    const answer = await api.post('/v1/topics/metered/records', { records: [{ value: str('late') }] });

    expect(answer.status).toBe(200);
    expect(telemetry.total(METRIC.dynamoDbThrottles)).toBe(2);
    expect(telemetry.total(METRIC.dynamoDbRetries)).toBe(2);
  });

  it('counts a request answered 429 when DynamoDB keeps refusing for capacity', async () => {
    faults.add({ commands: ['TransactWriteItems'], fault: 'throttle' });

    const answer = await api.post('/v1/topics/metered/records', { records: [{ value: str('refused') }] });

    expect(answer.status).toBe(429);
    expect(telemetry.total(METRIC.throttledRequests)).toBe(1);
    expect(telemetry.total(METRIC.serverErrors)).toBe(0);
  });
});

describe('lag monitor', () => {
  it('publishes consumer lag per group, and the largest lag of a partition', async () => {
    expect((await api.post('/v1/topics', { name: 'lagging', partitions: 2 })).status).toBe(201);
    const records = Array.from({ length: 5 }, (_, index) => ({ value: str(`r${index}`), partition: 0 }));
    expect((await api.post('/v1/topics/lagging/records', { records })).status).toBe(200);
    const commit = await api.post('/v1/groups/readers/offsets', {
      offsets: [{ topic: 'lagging', partition: 0, offset: 2 }],
    });
    expect(commit.status).toBe(200);
    telemetry.flushed.length = 0;

    const sample = await createLagHandler(runtime)();

    expect(sample.errors).toBe(0);
    expect(telemetry.total(METRIC.consumerLag, { group: 'readers' })).toBe(3);
    expect(telemetry.flushed.filter((metric) => metric.name === METRIC.consumerLag)).toHaveLength(1);
    expect(telemetry.total(METRIC.consumerLagMax)).toBe(3);
  });

  it('publishes archive lag: records not in S3, the age of the oldest and the headroom before its TTL', async () => {
    expect((await api.post('/v1/topics', { name: 'unarchived', partitions: 1 })).status).toBe(201);
    expect(
      (
        await api.post('/v1/topics/unarchived/records', {
          records: [{ value: str('a') }, { value: str('b') }],
        })
      ).status,
    ).toBe(200);
    const later = Date.now() + 60_000;
    telemetry.flushed.length = 0;

    await createLagHandler(runtime, { nowMs: () => later })();

    const dimensions = { topic: 'unarchived' };
    const age = telemetry.total(METRIC.archiveLagAgeMs, dimensions);
    expect(telemetry.total(METRIC.archiveLagRecords, dimensions)).toBe(2);
    // TTLs are stored in whole seconds, rounded up.
    expect(age).toBeGreaterThanOrEqual(59_000);
    expect(age).toBeLessThan(120_000);
    // The default hot-tier retention is one day: the headroom is what is left of it.
    expect(telemetry.total(METRIC.archiveHeadroomMsMin)).toBeLessThanOrEqual(24 * 3600_000 - 60_000);
    expect(telemetry.total(METRIC.archiveLagAgeMsMax)).toBeGreaterThanOrEqual(age);
  });

  it('measures the archive lag of a batch stored in a payload object, which the lag monitor cannot read', async () => {
    expect((await api.post('/v1/topics', { name: 'unarchived-large', partitions: 1 })).status).toBe(201);
    // Batches over PAYLOAD_INLINE_BYTES_MAX (4 KiB) keep their bytes in a payload object: random
    // text, so that compression leaves it that large.
    const value = randomBytes(15_000).toString('base64');
    expect(
      (await api.post('/v1/topics/unarchived-large/records', { records: [{ value: str(value) }] })).status,
    ).toBe(200);
    const later = Date.now() + 60_000;
    telemetry.flushed.length = 0;

    const sample = await createLagHandler(runtime, { nowMs: () => later })();

    expect(sample.errors).toBe(0);
    const dimensions = { topic: 'unarchived-large' };
    expect(telemetry.total(METRIC.archiveLagRecords, dimensions)).toBe(1);
    expect(telemetry.total(METRIC.archiveLagAgeMs, dimensions)).toBeGreaterThanOrEqual(59_000);
  });
});
