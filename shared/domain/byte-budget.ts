/**
 * Bytes that concurrent tasks may hold in memory at once: a task reserves what it may hold before
 * it reads, and waits (first come, first served) while the others hold the rest. The archiver
 * reserves a whole segment's working set per partition, so that four partitions at the largest
 * segment size cannot together outgrow the function's memory.
 */
export class ByteBudget {
  private inUseBytes = 0;
  private peak = 0;
  private readonly waiting: { readonly bytes: number; readonly grant: () => void }[] = [];

  constructor(readonly capacityBytes: number) {
    if (!(Number.isSafeInteger(capacityBytes) && capacityBytes > 0)) {
      throw new RangeError(`A byte budget needs a positive whole number of bytes, got ${capacityBytes}`);
    }
  }

  /**
   * Reserves `bytes` (at most the whole capacity, so a task larger than the budget runs alone) and
   * answers the function that gives them back; it may be called more than once.
   */
  async reserve(bytes: number): Promise<() => void> {
    const reserved = Math.min(Math.max(0, Math.ceil(bytes)), this.capacityBytes);
    if (this.waiting.length > 0 || this.inUseBytes + reserved > this.capacityBytes) {
      await new Promise<void>((grant) => this.waiting.push({ bytes: reserved, grant }));
    } else {
      this.take(reserved);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUseBytes -= reserved;
      this.grantWaiting();
    };
  }

  /** Bytes reserved now. */
  get reservedBytes(): number {
    return this.inUseBytes;
  }

  /** The most bytes reserved at once since this budget was made or {@link resetPeak}. */
  get peakBytes(): number {
    return this.peak;
  }

  /** Starts a new peak from what is reserved now. */
  resetPeak(): void {
    this.peak = this.inUseBytes;
  }

  private take(bytes: number): void {
    this.inUseBytes += bytes;
    this.peak = Math.max(this.peak, this.inUseBytes);
  }

  /** Grants waiting reservations in order while they fit (a later one never overtakes the first). */
  private grantWaiting(): void {
    for (
      let next = this.waiting[0];
      next && this.inUseBytes + next.bytes <= this.capacityBytes;
      next = this.waiting[0]
    ) {
      this.waiting.shift();
      this.take(next.bytes);
      next.grant();
    }
  }
}
