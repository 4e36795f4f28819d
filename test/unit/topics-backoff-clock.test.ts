/**
 * The wait before retrying a lost race (`shared/domain/backoff.ts`): full jitter under a cap that
 * doubles per attempt from `LIMITS.appendBackoffBaseMs` up to `LIMITS.appendBackoffCapMs`; and the
 * real clock (`shared/domain/clock.ts`) that the services use outside tests.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { backoffMs } from '../../shared/domain/backoff.js';
import { systemClock } from '../../shared/domain/clock.js';

/** The largest number `Math.random` can return. */
const ALMOST_ONE = 1 - 2 ** -53;

describe('backoffMs', () => {
  it.each([
    [0, 4],
    [1, 9],
    [2, 19],
    [3, 39],
    [4, 79],
    [5, 159],
    [6, 249],
    [12, 249],
    [60, 249],
  ])('waits at most one ms under the cap after attempt %i: %i ms', (attempt, longest) => {
    expect(backoffMs(attempt, () => ALMOST_ONE)).toBe(longest);
  });

  it('waits nothing when the random draw is 0', () => {
    expect(backoffMs(6, () => 0)).toBe(0);
  });

  it('spreads the wait over the cap in proportion to the random draw, in whole ms', () => {
    expect(backoffMs(1, () => 0.5)).toBe(5);
    expect(backoffMs(3, () => 0.25)).toBe(10);
    expect(backoffMs(8, () => 0.5)).toBe(125);
    expect(backoffMs(2, () => 0.33)).toBe(6);
  });
});

describe('systemClock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('tells the epoch milliseconds of Date.now', () => {
    vi.useFakeTimers({ now: 1_800_000_000_123 });
    expect(systemClock.now()).toBe(1_800_000_000_123);
  });

  it('sleeps until the timer of the given milliseconds fires', async () => {
    vi.useFakeTimers();
    let woke = false;
    const sleeping = systemClock.sleep(50).then(() => {
      woke = true;
    });
    await vi.advanceTimersByTimeAsync(49);
    expect(woke).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await sleeping;
    expect(woke).toBe(true);
  });

  it('draws random numbers in [0, 1) that differ', () => {
    const draws = Array.from({ length: 20 }, () => systemClock.random());
    for (const draw of draws) {
      expect(draw).toBeGreaterThanOrEqual(0);
      expect(draw).toBeLessThan(1);
    }
    expect(new Set(draws).size).toBeGreaterThan(1);
  });
});
