/**
 * The records of one fetch answer, collected batch by batch with the same limits whichever tier a
 * batch comes from (DynamoDB, an S3 segment, the rescue area), so that the answer does not depend
 * on where the records live.
 */
import assert from 'node:assert/strict';
import { type LogRecord, recordBytes } from './record.js';

/** What one fetch may return, and how long it may wait for it. */
export interface FetchLimits {
  readonly recordsMax: number;
  readonly bytesMax: number;
  /** Long-poll: wait up to this long for records when the partition has none at `offset`. */
  readonly waitMs: number;
}

/** Rounds of a fetch between tiers (S3, DynamoDB, a rescued batch, DynamoDB again, ...). */
export const FETCH_ROUNDS_MAX = 16;

/** The records of one fetch answer (see the module comment). */
export class RecordCollector {
  readonly records: LogRecord[] = [];
  private bytes = 0;
  private next: number;
  private stopped = false;

  constructor(
    offset: number,
    private readonly limits: Pick<FetchLimits, 'recordsMax' | 'bytesMax'>,
  ) {
    this.next = offset;
  }

  /** The offset the answer continues at. */
  get nextOffset(): number {
    return this.next;
  }

  get full(): boolean {
    return this.stopped;
  }

  /** What is left of the limits, to size the next read. */
  get remaining(): { recordsMax: number; bytesMax: number } {
    return {
      recordsMax: Math.max(1, this.limits.recordsMax - this.records.length),
      bytesMax: Math.max(1, this.limits.bytesMax - this.bytes),
    };
  }

  /**
   * Adds the records of a batch from the next offset on; false once the answer is full. A batch
   * that starts past the next offset breaks contiguity: a bug in the caller.
   */
  addBatch(batch: { readonly baseOffset: number; readonly records: readonly LogRecord[] }): boolean {
    if (batch.baseOffset > this.next) {
      throw new Error(
        `Invariant broken: the answer at offset ${this.next} continues with batch ${batch.baseOffset}`,
      );
    }
    for (const record of batch.records) {
      if (record.offset < this.next) continue;
      assert.equal(record.offset, this.next, 'records within a batch are contiguous');
      const size = recordBytes(record);
      if (
        this.records.length >= this.limits.recordsMax ||
        (this.records.length > 0 && this.bytes + size > this.limits.bytesMax)
      ) {
        this.stopped = true;
        return false;
      }
      this.records.push(record);
      this.bytes += size;
      this.next++;
    }
    if (this.records.length >= this.limits.recordsMax) this.stopped = true;
    return !this.stopped;
  }
}
