import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../local/stack.js';
import { type ApiClient, apiClient, json, str } from '../support/http-client.js';
import { eventually, segmentObjects, storedTopic } from '../support/tiered-storage.js';

let stack: LocalStack;
let api: ApiClient;
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'shoal-tiered-'));
  stack = await startLocalStack({ dataDir: scratch, port: 0, persistent: false, archiveIntervalMs: 250 });
  api = apiClient(stack.url);
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  await rm(scratch, { recursive: true, force: true });
});

describe('the local stack archiver', () => {
  it('moves records into S3 segments on its timer once segmentMs (a second) has passed', async () => {
    await api.post('/v1/topics', { name: 'rolling', partitions: 2, segmentMs: 1000 });
    const records = Array.from({ length: 40 }, (_, i) => ({ key: str(`k${i % 7}`), value: json({ i }) }));
    expect((await api.post('/v1/topics/rolling/records', { records })).status).toBe(200);
    const produced = await api.get('/v1/topics/rolling');

    const archived = await eventually(
      async () => {
        const described = await api.get('/v1/topics/rolling');
        const partitions = described.body.partitions as { archivedOffset: number; highWatermark: number }[];
        return partitions.every((p) => p.archivedOffset === p.highWatermark) ? partitions : undefined;
      },
      20_000,
      'archivedOffset to reach the high watermark',
    );
    const topic = await storedTopic(stack.runtime, 'rolling');

    expect(archived.map((p) => p.highWatermark)).toEqual(
      produced.body.partitions.map((p: { highWatermark: number }) => p.highWatermark),
    );
    for (const partition of [0, 1]) {
      const { highWatermark } = archived[partition] as { highWatermark: number };
      if (highWatermark === 0) continue;
      expect((await segmentObjects(stack.runtime, topic, partition)).length).toBeGreaterThan(0);
      const page = await api.get(`/v1/topics/rolling/partitions/${partition}/records?offset=0`);
      expect(page.body.records).toHaveLength(highWatermark);
    }
  });
});
