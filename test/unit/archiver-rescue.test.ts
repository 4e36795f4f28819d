/**
 * The TTL rescue (`BatchRescuer`) on the in-memory ports: a batch DynamoDB deleted before the
 * archiver copied it is stored in the rescue area, under the key the archiver and fetches read;
 * one already in a segment, or of a deleted topic, is not; a batch of a large append is read from
 * its payload object, and counted as missing once that object is gone; a failure names the first
 * batch not handled, so the stream resumes there and skips nothing.
 */
import { describe, expect, it } from 'vitest';
import { MemoryHeads } from '../../shared/adapters/memory/partition-log.js';
import { MemorySegmentManifest } from '../../shared/adapters/memory/segment-manifest.js';
import { MemorySegmentObjects } from '../../shared/adapters/memory/segment-objects.js';
import { BatchRescuer, type RemovedBatch, RescueFailedError } from '../../shared/domain/archiver-rescue.js';
import { payloadKey } from '../../shared/domain/segment-keys.js';
import type { RescuedBatch } from '../../shared/ports/segment-archive.js';

const TOPIC_ID = 'topic-1';

/** A manifest that counts the head reads of the rescue. */
class CountingManifest extends MemorySegmentManifest {
  headReads = 0;

  override async archivedOffsetOf(topicId: string, partition: number): Promise<number | undefined> {
    this.headReads++;
    return super.archivedOffsetOf(topicId, partition);
  }
}

/** The bucket, refusing to store the rescued batch at `failAt` (a base offset). */
class FailingObjects extends MemorySegmentObjects {
  failAt: number | undefined;
  rangeError: Error | undefined;

  override async putRescued(topicId: string, partition: number, batch: RescuedBatch): Promise<void> {
    if (batch.baseOffset === this.failAt) throw new Error('S3 is down');
    return super.putRescued(topicId, partition, batch);
  }

  override async readRange(key: string, start: number, end: number): Promise<Uint8Array> {
    if (this.rangeError) throw this.rangeError;
    return super.readRange(key, start, end);
  }
}

/** Partition heads: `archived[p]` is partition p's archivedOffset, its high watermark 100. */
function world(archived: readonly (number | undefined)[]) {
  const heads = new MemoryHeads();
  archived.forEach((ao, partition) => {
    // A partition written and archived up to `ao` (absent `ao` reads as 0, as in DynamoDB).
    const item = heads.upsert(TOPIC_ID, partition);
    item.hw = 100;
    if (ao !== undefined && ao > 0) item.ao = ao;
  });
  const manifest = new CountingManifest(heads);
  const objects = new FailingObjects();
  return { heads, manifest, objects, rescuer: new BatchRescuer(manifest, objects) };
}

function removed(partition: number, baseOffset: number, lastOffset: number, fill = baseOffset): RemovedBatch {
  return {
    topicId: TOPIC_ID,
    partition,
    baseOffset,
    lastOffset,
    maxTimestampSoFar: 1_000 + baseOffset,
    data: new Uint8Array([fill, fill, fill]),
  };
}

describe('BatchRescuer.rescue', () => {
  it('stores a batch not archived yet where the archiver and fetches look for it', async () => {
    const { objects, rescuer } = world([5]);

    const report = await rescuer.rescue([removed(0, 5, 7)]);

    expect(report).toEqual({ rescued: 1, archived: 0, orphaned: 0, missing: 0 });
    expect(await objects.getRescued(TOPIC_ID, 0, 5)).toMatchObject({
      baseOffset: 5,
      lastOffset: 7,
      maxTimestampSoFar: 1_005,
      data: new Uint8Array([5, 5, 5]),
    });
  });

  it('skips a batch that ends below archivedOffset: it is in a segment already', async () => {
    const { objects, rescuer } = world([5]);

    const report = await rescuer.rescue([removed(0, 2, 4), removed(0, 5, 5)]);

    expect(report).toEqual({ rescued: 1, archived: 1, orphaned: 0, missing: 0 });
    expect(await objects.listRescued(TOPIC_ID, 0, 100, 10)).toEqual([5]);
  });

  it('keeps nothing of a partition without a head (its topic was deleted)', async () => {
    const { objects, rescuer } = world([0]);

    const report = await rescuer.rescue([removed(1, 0, 0)]);

    expect(report).toEqual({ rescued: 0, archived: 0, orphaned: 1, missing: 0 });
    expect(await objects.listRescued(TOPIC_ID, 1, 100, 10)).toEqual([]);
  });

  it('judges each partition by its own archivedOffset, read once per partition', async () => {
    const { manifest, objects, rescuer } = world([0, 10]);

    const report = await rescuer.rescue([
      removed(0, 3, 3),
      removed(1, 3, 3),
      removed(0, 4, 4),
      removed(1, 10, 11),
    ]);

    expect(report).toEqual({ rescued: 3, archived: 1, orphaned: 0, missing: 0 });
    expect(await objects.listRescued(TOPIC_ID, 0, 100, 10)).toEqual([3, 4]);
    expect(await objects.listRescued(TOPIC_ID, 1, 100, 10)).toEqual([10]);
    expect(manifest.headReads).toBe(2);
  });

  it('reads a batch of a large append from its range of the payload object', async () => {
    const { objects, rescuer } = world([0]);
    const key = payloadKey(TOPIC_ID, 8, 'append-1');
    await objects.putObject(key, new Uint8Array([9, 9, 1, 2, 3, 4, 9]), {});
    const batch: RemovedBatch = {
      ...removed(0, 0, 1),
      data: { appendId: 'append-1', classDays: 8, start: 2, bytes: 4 },
    };

    const report = await rescuer.rescue([batch]);

    expect(report.rescued).toBe(1);
    expect((await objects.getRescued(TOPIC_ID, 0, 0))?.data).toEqual(new Uint8Array([1, 2, 3, 4]));
  });

  it('counts a batch as missing when its payload object is gone, and goes on', async () => {
    const { objects, rescuer } = world([0]);
    const batch: RemovedBatch = {
      ...removed(0, 0, 1),
      data: { appendId: 'expired-append', classDays: 8, start: 0, bytes: 4 },
    };

    const report = await rescuer.rescue([batch, removed(0, 2, 2)]);

    expect(report).toEqual({ rescued: 1, archived: 0, orphaned: 0, missing: 1 });
    expect(await objects.listRescued(TOPIC_ID, 0, 100, 10)).toEqual([2]);
  });

  it('fails when a payload object cannot be read for another reason, naming the batch', async () => {
    const { objects, rescuer } = world([0]);
    objects.rangeError = new Error('S3 throttled');
    const batch: RemovedBatch = {
      ...removed(0, 1, 1),
      data: { appendId: 'a', classDays: 8, start: 0, bytes: 4 },
    };

    const failure = await rescuer.rescue([removed(0, 0, 0), batch]).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(RescueFailedError);
    expect((failure as RescueFailedError).index).toBe(1);
    expect((failure as RescueFailedError).cause).toBe(objects.rangeError);
  });

  it('fails at the first batch it could not store, with the report of the ones before', async () => {
    const { objects, rescuer } = world([2]);
    objects.failAt = 4;

    const failure = await rescuer
      .rescue([removed(0, 0, 1), removed(0, 2, 3), removed(0, 4, 4), removed(0, 5, 5)])
      .catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(RescueFailedError);
    const { index, report, name } = failure as RescueFailedError;
    expect({ index, report, name }).toEqual({
      index: 2,
      report: { rescued: 1, archived: 1, orphaned: 0, missing: 0 },
      name: 'RescueFailedError',
    });
    expect(await objects.listRescued(TOPIC_ID, 0, 100, 10)).toEqual([2]);
  });

  it('stores the same batch under the same key when a stream batch is retried', async () => {
    const { objects, rescuer } = world([0]);

    await rescuer.rescue([removed(0, 0, 0)]);
    const again = await rescuer.rescue([removed(0, 0, 0)]);

    expect(again.rescued).toBe(1);
    expect(await objects.listRescued(TOPIC_ID, 0, 100, 10)).toEqual([0]);
  });
});
