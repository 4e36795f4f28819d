import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiClient, apiClient, json, str } from '../support/http-client.js';
import { createTestRuntime, startTestApi } from '../support/local-aws.js';

let api: ApiClient;
let close: () => Promise<void>;

beforeAll(async () => {
  const server = await startTestApi(await createTestRuntime());
  api = apiClient(server.url);
  close = server.close;
});
afterAll(() => close());

const PRODUCERS = 8;
const RECORDS_PER_PRODUCER = 500;

/** Sends one request until it is acknowledged, retrying 429/503 with the same Idempotency-Key. */
async function produceAcknowledged(topic: string, records: unknown[], idempotencyKey: string) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const answer = await api.post(
      `/v1/topics/${topic}/records`,
      { records },
      { 'Idempotency-Key': idempotencyKey },
    );
    if (answer.status === 200) return answer.body.records as { partition: number; offset: number }[];
    expect([429, 503]).toContain(answer.status);
    await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 40));
  }
  throw new Error(`request ${idempotencyKey} was never acknowledged`);
}

describe('concurrent producers on one partition', () => {
  it(`${PRODUCERS} producers × ${RECORDS_PER_PRODUCER} records get dense offsets, each record once, per-key order kept`, async () => {
    await api.post('/v1/topics', { name: 'contended', partitions: 1 });
    const acknowledged = new Map<string, number>();

    await Promise.all(
      Array.from({ length: PRODUCERS }, async (_, producer) => {
        let sequence = 0;
        let request = 0;
        while (sequence < RECORDS_PER_PRODUCER) {
          const size = Math.min(RECORDS_PER_PRODUCER - sequence, 1 + ((producer * 7 + request * 13) % 20));
          const records = Array.from({ length: size }, (_, i) => ({
            key: str(`producer-${producer}`),
            value: json({ producer, sequence: sequence + i }),
          }));
          const positions = await produceAcknowledged('contended', records, `p${producer}-r${request}`);
          for (const [i, position] of positions.entries()) {
            acknowledged.set(`${producer}/${sequence + i}`, position.offset);
          }
          sequence += size;
          request++;
        }
      }),
    );

    const fetched: { offset: number; value: { data: { producer: number; sequence: number } } }[] = [];
    for (let offset = 0; ; ) {
      const page = await api.get(
        `/v1/topics/contended/partitions/0/records?offset=${offset}&maxRecords=1000`,
      );
      fetched.push(...page.body.records);
      offset = page.body.nextOffset;
      if (offset >= page.body.highWatermark) break;
    }
    const total = PRODUCERS * RECORDS_PER_PRODUCER;
    expect(fetched.map((record) => record.offset)).toEqual(Array.from({ length: total }, (_, i) => i));
    const seen = new Map<string, number>();
    for (const record of fetched) {
      const id = `${record.value.data.producer}/${record.value.data.sequence}`;
      expect(seen.has(id), `duplicate ${id}`).toBe(false);
      seen.set(id, record.offset);
    }
    expect(seen).toEqual(acknowledged);
    for (let producer = 0; producer < PRODUCERS; producer++) {
      const sequences = fetched
        .filter((r) => r.value.data.producer === producer)
        .map((r) => r.value.data.sequence);
      expect(sequences).toEqual(Array.from({ length: RECORDS_PER_PRODUCER }, (_, i) => i));
    }
  }, 120_000);
});
