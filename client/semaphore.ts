/** A counting semaphore: bounds how many fetches or handlers run at once. */
export class Semaphore {
  private readonly waiters: (() => void)[] = [];
  private available: number;

  constructor(readonly permits: number) {
    this.available = permits;
  }

  /** Waits for a permit; returns the function that gives it back (call it exactly once). */
  async acquire(): Promise<() => void> {
    if (this.available > 0) {
      this.available--;
    } else {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next();
      else this.available++;
    };
  }
}
