/**
 * What every PartitionLog must do, run against the in-memory log (unit project) and the DynamoDB
 * one (integration project): the append conditions that keep offsets dense (guarantee 1), the
 * idempotency window from both sides, and reads that start at the batch holding an offset.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { PartitionHead, PartitionLog } from '../../shared/ports/partition-log.js';
import type { ManualClock } from '../support/manual-clock.js';
import { batch, emptyHead, freshTopic, text } from './fixtures.js';

/** One log to test, with the clock its idempotency conditions read. */
export interface PartitionLogUnderTest {
  readonly log: PartitionLog;
  readonly clock: ManualClock;
}

const NO_LIMITS = { recordsMax: 10_000, bytesMax: 10_000_000 };

export function partitionLogContract(name: string, make: () => Promise<PartitionLogUnderTest>): void {
  describe(`PartitionLog contract: ${name}`, () => {
    it('reads an absent partition as empty', async () => {
      const { log } = await make();
      const topic = freshTopic();

      expect(await log.readHeads(topic, [0, 1])).toEqual([emptyHead(0), emptyHead(1)]);
    });

    it('appends after the expected head and moves it past the batches', async () => {
      const { log } = await make();
      const topic = freshTopic();

      const outcome = await log.append({
        topic,
        appendId: randomUUID(),
        expectedHeads: [emptyHead(0)],
        batches: [batch(0, 0, 2, { maxTimestampSoFar: 7_000 }), batch(0, 2, 3, { maxTimestampSoFar: 7_500 })],
      });

      expect(outcome).toEqual({ kind: 'appended' });
      const [head] = await log.readHeads(topic, [0]);
      expect(head).toEqual({ ...emptyHead(0), highWatermark: 5, maxTimestamp: 7_500 });
    });

    it('fails when the head moved since it was read, and writes nothing', async () => {
      const { log } = await make();
      const topic = freshTopic();
      await log.append({
        topic,
        appendId: randomUUID(),
        expectedHeads: [emptyHead(0)],
        batches: [batch(0, 0, 2)],
      });

      const outcome = await log.append({
        topic,
        appendId: randomUUID(),
        expectedHeads: [emptyHead(0)],
        batches: [batch(0, 0, 1)],
      });

      expect(outcome).toEqual({ kind: 'head-moved' });
      expect((await log.readHeads(topic, [0]))[0]?.highWatermark).toBe(2);
      expect(await log.readBatches(topic, 0, 0, NO_LIMITS)).toMatchObject([{ baseOffset: 0, lastOffset: 1 }]);
    });

    it('fails when the expected head is ahead of the stored one', async () => {
      const { log } = await make();
      const topic = freshTopic();
      await log.append({
        topic,
        appendId: randomUUID(),
        expectedHeads: [emptyHead(0)],
        batches: [batch(0, 0, 2)],
      });

      const outcome = await log.append({
        topic,
        appendId: randomUUID(),
        expectedHeads: [{ ...emptyHead(0), highWatermark: 3 }],
        batches: [batch(0, 3, 1)],
      });

      expect(outcome).toEqual({ kind: 'head-moved' });
    });

    it('applies an append to several partitions all or nothing', async () => {
      const { log } = await make();
      const topic = freshTopic();
      await log.append({
        topic,
        appendId: randomUUID(),
        expectedHeads: [emptyHead(1)],
        batches: [batch(1, 0, 1)],
      });

      const outcome = await log.append({
        topic,
        appendId: randomUUID(),
        expectedHeads: [emptyHead(0), emptyHead(1)],
        batches: [batch(0, 0, 2), batch(1, 0, 2)],
      });

      expect(outcome).toEqual({ kind: 'head-moved' });
      expect((await log.readHeads(topic, [0, 1])).map((head) => head.highWatermark)).toEqual([0, 1]);
      expect(await log.readBatches(topic, 0, 0, NO_LIMITS)).toEqual([]);
    });

    it('continues a partition from its head', async () => {
      const { log } = await make();
      const topic = freshTopic();
      await log.append({
        topic,
        appendId: randomUUID(),
        expectedHeads: [emptyHead(0)],
        batches: [batch(0, 0, 2)],
      });

      const outcome = await log.append({
        topic,
        appendId: randomUUID(),
        expectedHeads: [{ ...emptyHead(0), highWatermark: 2 }],
        batches: [batch(0, 2, 3, { maxTimestampSoFar: 9_000 })],
      });

      expect(outcome).toEqual({ kind: 'appended' });
      expect((await log.readHeads(topic, [0]))[0]).toMatchObject({ highWatermark: 5, maxTimestamp: 9_000 });
      const batches = await log.readBatches(topic, 0, 0, NO_LIMITS);
      expect(batches.flatMap((stored) => stored.records.map((record) => record.offset))).toEqual([
        0, 1, 2, 3, 4,
      ]);
    });

    it('keeps the topic incarnations apart', async () => {
      const { log } = await make();
      const topic = freshTopic();
      const again = { ...freshTopic(), name: topic.name };
      await log.append({
        topic,
        appendId: randomUUID(),
        expectedHeads: [emptyHead(0)],
        batches: [batch(0, 0, 2)],
      });

      expect((await log.readHeads(again, [0]))[0]).toEqual(emptyHead(0));
      expect(await log.readBatches(again, 0, 0, NO_LIMITS)).toEqual([]);
    });

    describe('idempotency', () => {
      it('refuses a second append with a live key and writes nothing', async () => {
        const { log, clock } = await make();
        const topic = freshTopic();
        const expiresAt = clock.now() + 60_000;
        const idempotency = { key: 'k', requestHash: 'h1', response: new Uint8Array([1, 2]), expiresAt };
        await log.append({
          topic,
          appendId: randomUUID(),
          expectedHeads: [emptyHead(0)],
          batches: [batch(0, 0, 1)],
          idempotency,
        });

        const outcome = await log.append({
          topic,
          appendId: randomUUID(),
          expectedHeads: [{ ...emptyHead(0), highWatermark: 1 }],
          batches: [batch(0, 1, 1)],
          idempotency: { ...idempotency, requestHash: 'h2' },
        });

        expect(outcome).toEqual({ kind: 'idempotency-key-exists' });
        expect((await log.readHeads(topic, [0]))[0]?.highWatermark).toBe(1);
        const stored = await log.readIdempotency(topic, 'k', clock.now());
        expect(stored).toMatchObject({ key: 'k', requestHash: 'h1', expiresAt });
        expect([...(stored?.response ?? [])]).toEqual([1, 2]);
      });

      it('reads a key as live up to and including its expiry, and absent after', async () => {
        const { log, clock } = await make();
        const topic = freshTopic();
        const expiresAt = clock.now() + 60_000;
        await log.append({
          topic,
          appendId: randomUUID(),
          expectedHeads: [emptyHead(0)],
          batches: [batch(0, 0, 1)],
          idempotency: { key: 'k', requestHash: 'h', response: new Uint8Array([1]), expiresAt },
        });

        expect(await log.readIdempotency(topic, 'k', expiresAt)).toBeDefined();
        expect(await log.readIdempotency(topic, 'k', expiresAt + 1)).toBeUndefined();
        expect(await log.readIdempotency(topic, 'other', clock.now())).toBeUndefined();
      });

      it('lets an expired key be stored again', async () => {
        const { log, clock } = await make();
        const topic = freshTopic();
        const expiresAt = clock.now() + 60_000;
        const idempotency = { key: 'k', requestHash: 'h', response: new Uint8Array([1]), expiresAt };
        await log.append({
          topic,
          appendId: randomUUID(),
          expectedHeads: [emptyHead(0)],
          batches: [batch(0, 0, 1)],
          idempotency,
        });
        clock.advance(60_001);

        const outcome = await log.append({
          topic,
          appendId: randomUUID(),
          expectedHeads: [{ ...emptyHead(0), highWatermark: 1 }],
          batches: [batch(0, 1, 1)],
          idempotency: { ...idempotency, requestHash: 'h2', expiresAt: clock.now() + 60_000 },
        });

        expect(outcome).toEqual({ kind: 'appended' });
        expect((await log.readIdempotency(topic, 'k', clock.now()))?.requestHash).toBe('h2');
      });

      it('still refuses a key at the very millisecond it expires', async () => {
        const { log, clock } = await make();
        const topic = freshTopic();
        const expiresAt = clock.now() + 60_000;
        const idempotency = { key: 'k', requestHash: 'h', response: new Uint8Array([1]), expiresAt };
        await log.append({
          topic,
          appendId: randomUUID(),
          expectedHeads: [emptyHead(0)],
          batches: [batch(0, 0, 1)],
          idempotency,
        });
        clock.advance(60_000);

        const outcome = await log.append({
          topic,
          appendId: randomUUID(),
          expectedHeads: [{ ...emptyHead(0), highWatermark: 1 }],
          batches: [batch(0, 1, 1)],
          idempotency,
        });

        expect(outcome).toEqual({ kind: 'idempotency-key-exists' });
      });

      it('keeps the keys of two topics apart', async () => {
        const { log, clock } = await make();
        const [first, second] = [freshTopic(), freshTopic()];
        const idempotency = {
          key: 'k',
          requestHash: 'h',
          response: new Uint8Array([1]),
          expiresAt: clock.now() + 60_000,
        };
        await log.append({
          topic: first,
          appendId: randomUUID(),
          expectedHeads: [emptyHead(0)],
          batches: [batch(0, 0, 1)],
          idempotency,
        });

        const outcome = await log.append({
          topic: second,
          appendId: randomUUID(),
          expectedHeads: [emptyHead(0)],
          batches: [batch(0, 0, 1)],
          idempotency,
        });

        expect(outcome).toEqual({ kind: 'appended' });
      });
    });

    it('tells whether an append with an id landed', async () => {
      const { log } = await make();
      const topic = freshTopic();
      const first = batch(0, 0, 2);
      const appendId = randomUUID();
      await log.append({ topic, appendId, expectedHeads: [emptyHead(0)], batches: [first] });

      expect(await log.appendLanded(topic, appendId, first)).toBe(true);
      expect(await log.appendLanded(topic, randomUUID(), first)).toBe(false);
      expect(await log.appendLanded(topic, appendId, batch(0, 2, 1))).toBe(false);
    });

    describe('reads', () => {
      /** A partition of batches [0..1] [2..4] [5]. */
      async function threeBatches(log: PartitionLog) {
        const topic = freshTopic();
        await log.append({
          topic,
          appendId: randomUUID(),
          expectedHeads: [emptyHead(0)],
          batches: [
            batch(0, 0, 2, { maxTimestampSoFar: 100 }),
            batch(0, 2, 3, { maxTimestampSoFar: 200 }),
            batch(0, 5, 1, { maxTimestampSoFar: 300 }),
          ],
        });
        return topic;
      }

      it('starts with the batch that holds the offset', async () => {
        const { log } = await make();
        const topic = await threeBatches(log);

        const batches = await log.readBatches(topic, 0, 3, NO_LIMITS);

        expect(batches.map((stored) => [stored.baseOffset, stored.lastOffset])).toEqual([
          [2, 4],
          [5, 5],
        ]);
        expect(batches[0]?.records.map(text)).toEqual(['v0', 'v1', 'v2']);
        expect(batches[0]?.maxTimestampSoFar).toBe(200);
        expect(batches[0]?.storedBytes).toBe(batch(0, 2, 3).data.byteLength);
      });

      it('stops once the records counted from the offset reach recordsMax', async () => {
        const { log } = await make();
        const topic = await threeBatches(log);

        const two = await log.readBatches(topic, 0, 3, { recordsMax: 2, bytesMax: 10_000_000 });
        const three = await log.readBatches(topic, 0, 3, { recordsMax: 3, bytesMax: 10_000_000 });

        expect(two.map((stored) => stored.baseOffset)).toEqual([2]);
        expect(three.map((stored) => stored.baseOffset)).toEqual([2, 5]);
      });

      it('stops once the stored bytes reach bytesMax', async () => {
        const { log } = await make();
        const topic = await threeBatches(log);
        const firstBytes = batch(0, 0, 2).data.byteLength;

        const one = await log.readBatches(topic, 0, 0, { recordsMax: 100, bytesMax: firstBytes });
        const two = await log.readBatches(topic, 0, 0, { recordsMax: 100, bytesMax: firstBytes + 1 });

        expect(one.map((stored) => stored.baseOffset)).toEqual([0]);
        expect(two.map((stored) => stored.baseOffset)).toEqual([0, 2]);
      });

      it('reads encoded batches up to batchesMax or bytesMax, with their expiry', async () => {
        const { log } = await make();
        const topic = freshTopic();
        const expiresAt = Date.now() + 3_600_000;
        const written = [batch(0, 0, 2, { expiresAt }), batch(0, 2, 3, { expiresAt }), batch(0, 5, 1)];
        await log.append({ topic, appendId: randomUUID(), expectedHeads: [emptyHead(0)], batches: written });

        const two = await log.readEncodedBatches(topic, 0, 1, { batchesMax: 2, bytesMax: 10_000_000 });
        const one = await log.readEncodedBatches(topic, 0, 0, { batchesMax: 10, bytesMax: 1 });

        expect(two.map((stored) => [stored.baseOffset, stored.lastOffset])).toEqual([
          [0, 1],
          [2, 4],
        ]);
        // TTL attributes hold whole seconds.
        expect(two[0]?.expiresAt).toBe(Math.ceil(expiresAt / 1000) * 1000);
        expect([...(two[1]?.data ?? [])]).toEqual([...(written[1]?.data ?? [])]);
        expect(one).toHaveLength(1);
      });

      it('finds the batch at an offset, or the first after it, or none past the end', async () => {
        const { log } = await make();
        const topic = await threeBatches(log);

        expect((await log.readBatchAt(topic, 0, 0))?.baseOffset).toBe(0);
        expect((await log.readBatchAt(topic, 0, 4))?.baseOffset).toBe(2);
        expect((await log.readBatchAt(topic, 0, 5))?.records.map((record) => record.offset)).toEqual([5]);
        expect(await log.readBatchAt(topic, 0, 6)).toBeUndefined();
        expect(await log.readBatchAt(topic, 1, 0)).toBeUndefined();
      });
    });

    it('closes every partition of a deleted topic: heads read as deleted and empty', async () => {
      const { log } = await make();
      const topic = freshTopic(3);
      await log.append({
        topic,
        appendId: randomUUID(),
        expectedHeads: [emptyHead(0), emptyHead(1)],
        batches: [batch(0, 0, 1), batch(1, 0, 2)],
      });

      await log.closePartitions(topic, 9_000);

      expect(await log.readHeads(topic, [0, 1, 2])).toEqual(
        [0, 1, 2].map((partition) => ({ ...emptyHead(partition), deleted: true })),
      );
    });

    it('takes no append on a closed partition, whatever head the writer read before', async () => {
      const { log } = await make();
      const topic = freshTopic(3);
      await log.append({
        topic,
        appendId: randomUUID(),
        expectedHeads: [emptyHead(1)],
        batches: [batch(1, 0, 2)],
      });
      const readBefore = await log.readHeads(topic, [0, 1, 2]);
      await log.closePartitions(topic, 9_000);

      // A writer that read the heads before the deletion, and one that reads the tombstones after.
      const stale = [
        { expectedHeads: [readBefore[1] as PartitionHead], batches: [batch(1, 2, 1)] },
        { expectedHeads: [readBefore[2] as PartitionHead], batches: [batch(2, 0, 1)] },
        { expectedHeads: [emptyHead(0)], batches: [batch(0, 0, 1)] },
      ];
      for (const attempt of stale) {
        expect(await log.append({ topic, appendId: randomUUID(), ...attempt })).toEqual({
          kind: 'head-moved',
        });
      }
      expect(
        (await log.readHeads(topic, [0, 1, 2])).every((head) => head.deleted && head.highWatermark === 0),
      ).toBe(true);
      expect(await log.readBatchAt(topic, 0, 0)).toBeUndefined();
      expect(await log.readBatchAt(topic, 2, 0)).toBeUndefined();

      // A new incarnation under the same name has heads of its own.
      const again = { ...freshTopic(3), name: topic.name };
      expect(
        await log.append({
          topic: again,
          appendId: randomUUID(),
          expectedHeads: [emptyHead(0)],
          batches: [batch(0, 0, 1)],
        }),
      ).toEqual({ kind: 'appended' });
    });
  });
}
