import type { Clock } from '../../shared/domain/clock.js';

/** A clock that moves only when told to, for tests of session timeouts; sleeps return at once. */
export interface ManualClock extends Clock {
  advance(ms: number): void;
}

export function manualClock(startMs = Date.now()): ManualClock {
  let now = startMs;
  return {
    now: () => now,
    sleep: () => new Promise((resolve) => setImmediate(resolve)),
    random: () => Math.random(),
    advance: (ms) => {
      now += ms;
    },
  };
}
