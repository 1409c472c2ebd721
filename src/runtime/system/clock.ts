/**
 * Where runtime code gets the time from, so tests and replays can pin it.
 *
 * @example
 * const fixed: Clock = { now: () => new Date('2030-01-01T00:00:00Z') };
 */
export interface Clock {
  now(): Date;
}

/**
 * The wall clock.
 *
 * @example
 * const startedAt = systemClock.now().toISOString();
 */
export const systemClock: Clock = { now: () => new Date() };
