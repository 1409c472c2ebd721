/**
 * Where runtime code gets the time from, so tests and replays can pin it.
 *
 * @example
 * const fixed: Clock = { now: () => new Date('2030-01-01T00:00:00Z') };
 */
export interface Clock {
  now(): Date;
  /**
   * A monotonic reading in milliseconds (never goes back, unaffected by changes to the wall
   * clock), when the clock has one: what timers wait on (see {@link steadyClock}).
   */
  monotonicMs?(): number;
}

/**
 * The wall clock, with `performance.now()` as its monotonic reading.
 *
 * @example
 * const startedAt = systemClock.now().toISOString();
 */
export const systemClock: Clock = { now: () => new Date(), monotonicMs: () => performance.now() };

/**
 * The clock a run's timers and decisions go by: the wall time when it was made, advanced by
 * the monotonic clock since. A wall clock set back an hour (or forward) mid-run moves
 * neither a retry's due time nor the wait for it: timers neither hang nor fire early. The
 * times a run records (event times, start times) keep coming from the wall clock itself.
 * A clock without a monotonic reading (a pinned test clock) is returned as it is.
 *
 * @example
 * const timers = steadyClock(systemClock);
 * const due = timers.now().getTime() + 30_000; // 30 s from now, whatever the wall clock does
 */
export function steadyClock(clock: Clock): Clock {
  const monotonic = clock.monotonicMs?.bind(clock);
  if (monotonic === undefined) return clock;
  const wallAtStart = clock.now().getTime();
  const monoAtStart = monotonic();
  return {
    now: () => new Date(wallAtStart + (monotonic() - monoAtStart)),
    monotonicMs: monotonic,
  };
}
