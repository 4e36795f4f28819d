/**
 * The segment bucket in memory: objects with their tags, and rescued batches, as
 * `adapters/s3/segment-objects.ts` keeps them in S3 (one contract suite,
 * `test/contract/segment-archive.contract.ts`).
 */

import { SegmentMissingError } from '../../domain/segment-format.js';
import { rescueKey, rescuePrefix } from '../../domain/segment-keys.js';
import type { PayloadObjects } from '../../ports/partition-log.js';
import type { RescuedBatch, SegmentObjects } from '../../ports/segment-archive.js';

interface StoredObject {
  readonly bytes: Uint8Array;
  tags: Readonly<Record<string, string>>;
}

export class MemorySegmentObjects implements SegmentObjects, PayloadObjects {
  private readonly objects = new Map<string, StoredObject>();
  private readonly rescued = new Map<string, RescuedBatch>();

  async putSegment(key: string, bytes: Uint8Array, tags: Readonly<Record<string, string>>): Promise<void> {
    await this.putObject(key, bytes, tags);
  }

  async putObject(key: string, bytes: Uint8Array, tags: Readonly<Record<string, string>>): Promise<void> {
    this.objects.set(key, { bytes: bytes.slice(), tags: { ...tags } });
  }

  async readRange(key: string, start: number, end: number): Promise<Uint8Array> {
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && end > start)) {
      throw new RangeError(`Invalid byte range ${start}..${end} of ${key}`);
    }
    const object = this.objects.get(key);
    if (!object) throw new SegmentMissingError(key);
    if (end > object.bytes.byteLength) {
      throw new Error(`Range ${start}..${end} is past the end of ${key} (${object.bytes.byteLength} bytes)`);
    }
    return object.bytes.slice(start, end);
  }

  async tagSegment(key: string, tags: Readonly<Record<string, string>>): Promise<void> {
    const object = this.objects.get(key);
    // Retention deleted it meanwhile: nothing left to keep longer.
    if (object) object.tags = { ...tags };
  }

  async deleteObjects(keys: readonly string[]): Promise<void> {
    // A rescued batch is an object under its rescue key in S3: deleting the key deletes it too.
    for (const key of keys) {
      this.objects.delete(key);
      this.rescued.delete(key);
    }
  }

  async putRescued(topicId: string, partition: number, batch: RescuedBatch): Promise<void> {
    this.rescued.set(rescueKey(topicId, partition, batch.baseOffset), { ...batch, data: batch.data.slice() });
  }

  async getRescued(
    topicId: string,
    partition: number,
    baseOffset: number,
  ): Promise<RescuedBatch | undefined> {
    return this.rescued.get(rescueKey(topicId, partition, baseOffset));
  }

  async listRescued(
    topicId: string,
    partition: number,
    belowOffset: number,
    limit: number,
  ): Promise<number[]> {
    const prefix = rescuePrefix(topicId, partition);
    return [...this.rescued.entries()]
      .filter(([key, batch]) => key.startsWith(prefix) && batch.baseOffset < belowOffset)
      .map(([, batch]) => batch.baseOffset)
      .sort((a, b) => a - b)
      .slice(0, limit);
  }

  /** The tags of a stored object, undefined when absent (what a lifecycle rule would act on). */
  tagsOf(key: string): Readonly<Record<string, string>> | undefined {
    return this.objects.get(key)?.tags;
  }

  /** Keys of the stored objects, in key order. */
  keys(): string[] {
    return [...this.objects.keys()].sort();
  }
}
