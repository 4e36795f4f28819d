import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ProduceRecord } from '../../shared/domain/log-service.js';
import type { Services } from '../../shared/services.js';
import { servicesFor } from '../../shared/services.js';
import { createTestRuntime } from '../support/local-aws.js';

let services: Services;
let topicCount = 0;

beforeAll(async () => {
  services = servicesFor(await createTestRuntime());
});

const PARTITIONS = 3;

const record = fc.record({
  partition: fc.integer({ min: 0, max: PARTITIONS - 1 }),
  value: fc.uint8Array({ maxLength: 300 }),
});
const requests = fc.array(fc.array(record, { minLength: 1, maxLength: 25 }), { minLength: 1, maxLength: 12 });
const fetches = fc.array(
  fc.record({
    partition: fc.integer({ min: 0, max: PARTITIONS - 1 }),
    offsetFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    recordsMax: fc.integer({ min: 1, max: 60 }),
    bytesMax: fc.integer({ min: 1, max: 4000 }),
  }),
  { minLength: 1, maxLength: 8 },
);

const toProduce = (input: { partition: number; value: Uint8Array }): ProduceRecord => ({
  key: null,
  value: { type: 'BINARY', bytes: input.value },
  headers: [],
  partition: input.partition,
});

describe('log invariants (property tests against DynamoDB Local)', () => {
  it('offsets are dense from 0 in append order, and any fetch is contiguous from its offset', async () => {
    await fc.assert(
      fc.asyncProperty(requests, fetches, async (produced, reads) => {
        const topic = `prop-${++topicCount}`;
        await services.topics.create({ name: topic, partitions: PARTITIONS });
        const expected: Uint8Array[][] = Array.from({ length: PARTITIONS }, () => []);

        for (const batch of produced) {
          const answer = await services.log.produce(topic, batch.map(toProduce));
          answer.records.forEach((position, i) => {
            const log = expected[position.partition] as Uint8Array[];
            expect(position.offset).toBe(log.length);
            log.push((batch[i] as { value: Uint8Array }).value);
          });
        }

        for (const read of reads) {
          const log = expected[read.partition] as Uint8Array[];
          const offset = Math.floor(read.offsetFraction * log.length);
          const result = await services.log.fetch(topic, read.partition, offset, {
            recordsMax: read.recordsMax,
            bytesMax: read.bytesMax,
            waitMs: 0,
          });
          expect(result.highWatermark).toBe(log.length);
          expect(result.records.map((r) => r.offset)).toEqual(result.records.map((_, i) => offset + i));
          expect(result.nextOffset).toBe(offset + result.records.length);
          if (offset < log.length) expect(result.records.length).toBeGreaterThan(0);
          expect(result.records.length).toBeLessThanOrEqual(read.recordsMax);
          for (const fetched of result.records) {
            expect(Buffer.from(fetched.value?.bytes ?? [])).toEqual(
              Buffer.from(log[fetched.offset] as Uint8Array),
            );
          }
        }
      }),
      { numRuns: 12 },
    );
  }, 120_000);
});
