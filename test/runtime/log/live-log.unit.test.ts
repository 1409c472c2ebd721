import { describe, expect, expectTypeOf, it } from 'vitest';
import type { RecordedEvent } from '../../../src/core/envelope.js';
import { replay } from '../../../src/core/replayer.js';
import { LiveLog } from '../../../src/runtime/log/live-log.js';
import { createMemoryEventStore } from '../../../src/store/index.js';
import { writeCalculatorRun } from '../../commands/helpers/log-builder.js';

describe('LiveLog.follow', () => {
  it('folds only the last `tail` events one by one, from the state before them, then follows appends', () => {
    const store = createMemoryEventStore();
    const builder = writeCalculatorRun(store);
    const all = [...store.readAll()];
    const seen: RecordedEvent[] = [];
    const log = LiveLog.follow(store, { tail: 10, listener: (event) => seen.push(event) });
    expect(log.catchUp().map((e) => e.position)).toEqual(all.slice(-10).map((e) => e.position));
    expect(seen.map((e) => e.position)).toEqual(all.slice(-10).map((e) => e.position));
    expect(log.state).toEqual(replay(all));
    expect(log.lastPosition).toBe(all.length);
    expect(log.catchUp()).toEqual([]);

    builder.add('RunStopped', { runId: 'r1', reason: 'done' });
    const fresh = log.catchUp();
    expect(fresh.map((e) => e.type)).toEqual(['RunStopped']);
    expect(seen.at(-1)?.type).toBe('RunStopped');
    expect(log.state.run?.status).toBe('stopped');
    // Read-only by its type: a followed log offers no append.
    expectTypeOf(log).not.toHaveProperty('append');
  });

  it('folds a short log from its start', () => {
    const store = createMemoryEventStore();
    writeCalculatorRun(store);
    const seen: number[] = [];
    const log = LiveLog.follow(store, { tail: 1000, listener: (event) => seen.push(event.position) });
    log.catchUp();
    expect(seen).toEqual([...store.readAll()].map((e) => e.position));
  });
});
