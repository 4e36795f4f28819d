/**
 * Whether a consumer runs, and the signal that stops its waits: read by every part of the consumer,
 * changed only by the `Consumer` (at `run`, and when it stops).
 */

/** See the module comment. One per consumer; each `run` starts it afresh. */
export class RunState {
  private isRunning = false;
  private controller = new AbortController();

  /** True from `run` until the consumer stops (or fails to start). */
  get running(): boolean {
    return this.isRunning;
  }

  /** Aborted when the consumer stops: ends long polls, backoffs and the heartbeat timer. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  start(): void {
    this.isRunning = true;
    this.controller = new AbortController();
  }

  /** No new work starts; what is in flight goes on (see {@link abort}). */
  end(): void {
    this.isRunning = false;
  }

  /** Cuts the waits in flight short. */
  abort(): void {
    this.controller.abort();
  }
}
