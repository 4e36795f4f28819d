/**
 * The last resort of the hot-tier expiry: a batch item that DynamoDB deletes (by TTL) before the
 * archiver copied it reaches the log table's stream with its old image, and is stored here in the
 * rescue area of the segment bucket. The archiver takes rescued batches into the next segment and
 * fetches read them meanwhile, so a TTL deletion never loses an acknowledged record.
 *
 * Most deletions are of batches archived long ago (the normal end of a batch's life): those are
 * recognised by the partition's archivedOffset and cost one head read per partition, no S3 write.
 */
import type { SegmentManifest, SegmentObjects } from '../ports/segment-archive.js';
import { type EncodedBatch, SegmentMissingError } from './segment-format.js';
import { payloadKey } from './segment-keys.js';

/** Where a batch item written through a payload object finds its bytes. */
export interface PayloadRange {
  /** The append attempt that wrote the object, and the object's retention class (`payloadKey`). */
  readonly appendId: string;
  readonly classDays: number;
  readonly start: number;
  readonly bytes: number;
}

/** A batch item deleted from the log table, as its stream record's old image shows it. */
export interface RemovedBatch extends Omit<EncodedBatch, 'data'> {
  readonly topicId: string;
  readonly partition: number;
  /** Its bytes, inline in the item or in its append's payload object. */
  readonly data: Uint8Array | PayloadRange;
}

/** What one rescue did. */
export interface RescueReport {
  /** Stored in the rescue area: they were not archived yet. */
  rescued: number;
  /** Already in a segment: nothing to do. */
  archived: number;
  /** Of a partition without a head (its topic was deleted): nothing to keep. */
  orphaned: number;
  /**
   * Written through a payload object that no longer exists: the item outlived its object's
   * retention class (its TTL plus `PAYLOAD_KEEP_AFTER_TTL_MS`), so its records are gone.
   */
  missing: number;
}

/** Thrown when a batch could not be stored; `index` is the first removed batch not handled. */
export class RescueFailedError extends Error {
  override name = 'RescueFailedError';
  constructor(
    readonly index: number,
    readonly report: RescueReport,
    options: { cause: unknown },
  ) {
    super(`Rescue stopped at removed batch ${index}: ${String(options.cause)}`, options);
  }
}

export class BatchRescuer {
  constructor(
    private readonly manifest: SegmentManifest,
    private readonly objects: SegmentObjects,
  ) {}

  /**
   * Stores every removed batch that is not archived yet, in order; idempotent (a batch always
   * stores the same bytes under the same key), so a retried stream batch is harmless.
   *
   * @throws RescueFailedError at the first batch that could not be handled; the ones before it are done.
   */
  async rescue(removed: readonly RemovedBatch[]): Promise<RescueReport> {
    const report: RescueReport = { rescued: 0, archived: 0, orphaned: 0, missing: 0 };
    const archivedOffsets = new Map<string, number | undefined>();
    for (const [index, batch] of removed.entries()) {
      try {
        const key = `${batch.topicId}#${batch.partition}`;
        if (!archivedOffsets.has(key)) {
          archivedOffsets.set(key, await this.manifest.archivedOffsetOf(batch.topicId, batch.partition));
        }
        const archivedOffset = archivedOffsets.get(key);
        if (archivedOffset === undefined) {
          report.orphaned++;
        } else if (batch.lastOffset < archivedOffset) {
          report.archived++;
        } else {
          const data = await this.bytesOf(batch);
          if (data === undefined) {
            report.missing++;
          } else {
            await this.objects.putRescued(batch.topicId, batch.partition, { ...batch, data });
            report.rescued++;
          }
        }
      } catch (error) {
        throw new RescueFailedError(index, report, { cause: error });
      }
    }
    return report;
  }

  /** The batch's bytes; undefined when its payload object is gone. */
  private async bytesOf(batch: RemovedBatch): Promise<Uint8Array | undefined> {
    if (batch.data instanceof Uint8Array) return batch.data;
    const { appendId, classDays, start, bytes } = batch.data;
    try {
      return await this.objects.readRange(
        payloadKey(batch.topicId, classDays, appendId),
        start,
        start + bytes,
      );
    } catch (error) {
      if (error instanceof SegmentMissingError) return undefined;
      throw error;
    }
  }
}
