import { describe, expect, it } from 'vitest';
import { steadyClock, type Clock } from '../../../src/runtime/system/clock.js';

describe('steadyClock', () => {
  it('follows the monotonic clock from the wall time it started at, whatever the wall clock does after', () => {
    let wall = Date.parse('2030-01-01T12:00:00Z');
    let mono = 1000;
    const clock: Clock = { now: () => new Date(wall), monotonicMs: () => mono };
    const steady = steadyClock(clock);
    expect(steady.now().toISOString()).toBe('2030-01-01T12:00:00.000Z');
    mono += 5000;
    wall -= 3_600_000; // set back an hour, 5 s later
    expect(steady.now().toISOString()).toBe('2030-01-01T12:00:05.000Z');
    mono += 1000;
    wall += 7_200_000; // and forward two hours
    expect(steady.now().toISOString()).toBe('2030-01-01T12:00:06.000Z');
  });

  it('a clock with no monotonic reading (a pinned test clock) is used as it is', () => {
    const pinned: Clock = { now: () => new Date('2030-01-01T00:00:00Z') };
    expect(steadyClock(pinned)).toBe(pinned);
  });
});
