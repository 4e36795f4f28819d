/**
 * How long to wait before trying a conditional write again after losing a race for the same item.
 */
import { LIMITS } from './limits.js';

/**
 * Full jitter over an exponentially growing cap: attempt 1 waits up to 10 ms, attempt 6 and later
 * up to {@link LIMITS.appendBackoffCapMs}.
 * @example
 * await clock.sleep(backoffMs(attempt, clock.random));
 */
export function backoffMs(attempt: number, random: () => number): number {
  const cap = Math.min(LIMITS.appendBackoffCapMs, LIMITS.appendBackoffBaseMs * 2 ** attempt);
  return Math.floor(random() * cap);
}
