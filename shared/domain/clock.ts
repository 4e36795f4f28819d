/**
 * Time and chance as the domain sees them: one interface, so that services take a clock from the
 * runtime and tests move a manual one instead of waiting.
 */

/** Things the services need from the world besides storage, injectable for tests. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  sleep(ms: number): Promise<void>;
  /** A number in [0, 1), for jitter. */
  random(): number;
}

/** The real clock: `Date.now`, timers and `Math.random`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: () => Math.random(),
};
