/**
 * The behaviour every EventStore must have, run against the in-memory twin (unit tier) and
 * the SQLite store on real files (int tier).
 */
import { describe, expect, it } from 'vitest';
import type { NewEvent, RecordedEvent } from '../../src/core/envelope.js';
import {
  ConcurrencyError,
  StoreError,
  type EventStore,
  type OnAppendHook,
  type StoreOptions,
} from '../../src/store/index.js';

/** Makes a fresh, empty store; the contract closes it. */
export type StoreFactory = (options: StoreOptions) => EventStore;

const FIXED = new Date('2025-03-01T12:00:00.000Z');

export function event(id: string, type = 'Thing', data: unknown = { id }): NewEvent {
  return { id, type, data };
}

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

function all(store: EventStore): RecordedEvent[] {
  return [...store.readAll()];
}

export function defineStoreContract(name: string, factory: StoreFactory): void {
  const open = (options: StoreOptions = {}) => factory({ clock: () => FIXED, ...options });

  describe(`${name}: append`, () => {
    it('gives gapless positions across streams and versions per stream', () => {
      const store = open();
      expect(store.append('a', [event('1'), event('2')], { expectedVersion: 'no_stream' })).toEqual({
        streamId: 'a',
        nextExpectedVersion: 2,
        positions: [1, 2],
        alreadyAppended: false,
      });
      expect(store.append('b', [event('3')]).positions).toEqual([3]);
      expect(store.append('a', [event('4')], { expectedVersion: 2 })).toMatchObject({
        nextExpectedVersion: 3,
        positions: [4],
      });
      expect(all(store).map((e) => [e.position, e.streamId, e.streamVersion, e.id])).toEqual([
        [1, 'a', 1, '1'],
        [2, 'a', 2, '2'],
        [3, 'b', 1, '3'],
        [4, 'a', 3, '4'],
      ]);
      expect(store.lastPosition()).toBe(4);
      expect(store.streamVersion('a')).toBe(3);
      expect(store.streamVersion('nope')).toBe(0);
      store.close();
    });

    it('checks every kind of expected version and writes nothing on a mismatch', () => {
      const store = open();
      const conflict = errorOf(() => store.append('s', [event('x')], { expectedVersion: 'exists' }));
      expect(conflict).toBeInstanceOf(ConcurrencyError);
      expect(conflict).toMatchObject({ code: 'CONCURRENCY', streamId: 's', expected: 'exists', actual: 0 });
      expect(store.append('s', [event('1')], { expectedVersion: 0 }).positions).toEqual([1]);
      expect(errorOf(() => store.append('s', [event('y')], { expectedVersion: 'no_stream' }))).toMatchObject({
        code: 'CONCURRENCY',
        actual: 1,
      });
      const stale = errorOf(() =>
        store.append('s', [event('z')], { expectedVersion: 0 }),
      ) as ConcurrencyError;
      expect(stale.message).toContain('stream s');
      expect(stale.message).toContain('version 0');
      expect(stale.message).toContain('at version 1');
      expect(store.append('s', [event('2')], { expectedVersion: 'exists' }).positions).toEqual([2]);
      expect(store.append('s', [event('3')], { expectedVersion: 'any' }).positions).toEqual([3]);
      expect(store.append('s', [event('4')]).positions).toEqual([4]);
      expect(all(store).map((e) => e.id)).toEqual(['1', '2', '3', '4']);
      store.close();
    });

    it('returns the original positions for a retried append, even with a stale expected version', () => {
      const store = open();
      store.append('other', [event('o1')]);
      const first = store.append('s', [event('1'), event('2')], { expectedVersion: 'no_stream' });
      store.append('s', [event('3')], { expectedVersion: 2 });
      const retry = store.append('s', [event('1'), event('2')], { expectedVersion: 'no_stream' });
      expect(retry).toEqual({ ...first, alreadyAppended: true });
      expect(retry.positions).toEqual([2, 3]);
      expect(store.lastPosition()).toBe(4);
      store.close();
    });

    it('refuses a batch with some ids present and some not, writing nothing', () => {
      const store = open();
      store.append('s', [event('1')]);
      const err = errorOf(() => store.append('s', [event('1'), event('2')], { expectedVersion: 1 }));
      expect(err).toBeInstanceOf(StoreError);
      expect(err).toMatchObject({ code: 'PARTIAL_DUPLICATE', details: { present: ['1'], absent: ['2'] } });
      expect(store.lastPosition()).toBe(1);
      store.close();
    });

    it('refuses an id already used in another stream, and an id given twice', () => {
      const store = open();
      store.append('s', [event('1')]);
      expect(errorOf(() => store.append('t', [event('1')]))).toMatchObject({ code: 'EVENT_ID_CONFLICT' });
      expect(errorOf(() => store.append('t', [event('2'), event('2')]))).toMatchObject({
        code: 'EVENT_ID_CONFLICT',
      });
      expect(
        errorOf(() =>
          store.appendBatch([
            { streamId: 'a', events: [event('9')] },
            { streamId: 'b', events: [event('9')] },
          ]),
        ),
      ).toMatchObject({ code: 'EVENT_ID_CONFLICT' });
      expect(store.lastPosition()).toBe(1);
      store.close();
    });

    it('rejects invalid arguments with INVALID_ARGUMENT before writing', () => {
      const store = open();
      const bad: [string, () => unknown][] = [
        ['empty stream id', () => store.append('', [event('1')])],
        ['no id', () => store.append('s', [{ type: 'T', data: 1 } as unknown as NewEvent])],
        ['no type', () => store.append('s', [{ id: '1', data: 1 } as unknown as NewEvent])],
        ['bad version', () => store.append('s', [event('1')], { expectedVersion: -1 })],
        ['fractional version', () => store.append('s', [event('1')], { expectedVersion: 1.5 })],
        ['bigint data', () => store.append('s', [event('1', 'T', { n: 1n })])],
        ['array metadata', () => store.append('s', [{ ...event('1'), metadata: [] as never }])],
        ['bad recordedAt', () => store.append('s', [{ ...event('1'), recordedAt: 'yesterday' }])],
        ['bad range', () => [...store.readAll({ from: -1 })]],
        ['bad types', () => [...store.readAll({ types: [''] })]],
        ['bad stream read', () => [...store.readStream('')]],
      ];
      for (const [label, fn] of bad) {
        expect(errorOf(fn), label).toMatchObject({ code: 'INVALID_ARGUMENT' });
      }
      expect(store.lastPosition()).toBe(0);
      store.close();
    });

    it('appends several streams all or nothing', () => {
      const store = open();
      store.append('b', [event('b1')]);
      const err = errorOf(() =>
        store.appendBatch([
          { streamId: 'a', events: [event('a1'), event('a2')], expectedVersion: 'no_stream' },
          { streamId: 'b', events: [event('b2')], expectedVersion: 0 },
        ]),
      );
      expect(err).toMatchObject({ code: 'CONCURRENCY', streamId: 'b', expected: 0, actual: 1 });
      expect(store.streamVersion('a')).toBe(0);
      const results = store.appendBatch([
        { streamId: 'a', events: [event('a1'), event('a2')], expectedVersion: 'no_stream' },
        { streamId: 'b', events: [event('b2')], expectedVersion: 1 },
        { streamId: 'a', events: [event('a3')], expectedVersion: 2 },
      ]);
      expect(results.map((r) => [r.streamId, r.positions, r.nextExpectedVersion])).toEqual([
        ['a', [2, 3], 2],
        ['b', [4], 2],
        ['a', [5], 3],
      ]);
      const retry = store.appendBatch([
        { streamId: 'a', events: [event('a1'), event('a2')], expectedVersion: 'no_stream' },
        { streamId: 'b', events: [event('b2')], expectedVersion: 0 },
        { streamId: 'a', events: [event('a3')], expectedVersion: 'no_stream' },
      ]);
      expect(retry.map((r) => r.alreadyAppended)).toEqual([true, true, true]);
      expect(retry.map((r) => r.positions)).toEqual([[2, 3], [4], [5]]);
      store.close();
    });

    it('checks the version of an empty append without writing', () => {
      const store = open();
      expect(store.append('s', [], { expectedVersion: 'no_stream' })).toMatchObject({
        positions: [],
        nextExpectedVersion: 0,
      });
      expect(errorOf(() => store.append('s', [], { expectedVersion: 'exists' }))).toBeInstanceOf(
        ConcurrencyError,
      );
      store.close();
    });

    it('round-trips data and metadata as JSON and fills recordedAt from the clock', () => {
      const store = open();
      const data = {
        nested: { list: [1, 'two', null, true] },
        when: new Date('2024-01-01T00:00:00Z'),
        gone: undefined,
      };
      store.append('s', [
        { id: '1', type: 'T', data, metadata: { runId: 'r1', actor: 'agent:sp1', extra: { a: 1 } } },
        { id: '2', type: 'T', data: undefined, recordedAt: '2020-05-05T05:05:05.000Z' },
      ]);
      const [first, second] = all(store);
      expect(first).toEqual({
        position: 1,
        id: '1',
        streamId: 's',
        streamVersion: 1,
        type: 'T',
        data: { nested: { list: [1, 'two', null, true] }, when: '2024-01-01T00:00:00.000Z' },
        metadata: { runId: 'r1', actor: 'agent:sp1', extra: { a: 1 } },
        recordedAt: FIXED.toISOString(),
      });
      expect(second).toMatchObject({ data: null, metadata: {}, recordedAt: '2020-05-05T05:05:05.000Z' });
      (first!.data as { nested: { list: unknown[] } }).nested.list.push('mutated');
      expect(all(store)[0]!.data).toEqual({
        nested: { list: [1, 'two', null, true] },
        when: '2024-01-01T00:00:00.000Z',
      });
      store.close();
    });
  });

  describe(`${name}: reads`, () => {
    function filled(count: number): EventStore {
      const store = open();
      for (let i = 1; i <= count; i += 100) {
        const events = Array.from({ length: Math.min(100, count - i + 1) }, (_, k) =>
          event(`e${i + k}`, (i + k) % 3 === 0 ? 'Fizz' : 'Other', { n: i + k }),
        );
        store.appendBatch([{ streamId: `s${(i - 1) % 300 === 0 ? 'x' : 'y'}`, events }]);
      }
      return store;
    }

    it('reads ranges of positions and versions, inclusive, and filters by type', () => {
      const store = open();
      store.append('a', [event('1', 'A'), event('2', 'B')]);
      store.append('b', [event('3', 'A')]);
      store.append('a', [event('4', 'C'), event('5', 'A')]);
      const ids = (events: Iterable<RecordedEvent>) => [...events].map((e) => e.id);
      expect(ids(store.readAll({ from: 2, to: 4 }))).toEqual(['2', '3', '4']);
      expect(ids(store.readAll({ from: 0 }))).toEqual(['1', '2', '3', '4', '5']);
      expect(ids(store.readAll({ from: 6 }))).toEqual([]);
      expect(ids(store.readAll({ types: ['A'] }))).toEqual(['1', '3', '5']);
      expect(ids(store.readAll({ types: ['A', 'C'], from: 2, to: 4 }))).toEqual(['3', '4']);
      expect(ids(store.readAll({ types: [] }))).toEqual([]);
      expect(ids(store.readStream('a'))).toEqual(['1', '2', '4', '5']);
      expect(ids(store.readStream('a', { from: 2, to: 3 }))).toEqual(['2', '4']);
      expect([...store.readStream('a', { from: 3 })].map((e) => e.streamVersion)).toEqual([3, 4]);
      expect(ids(store.readStream('missing'))).toEqual([]);
      store.close();
    });

    it('pages lazily: the caller can stop early and write while reading', () => {
      const store = filled(2500);
      const iterator = store.readAll();
      let seen = 0;
      for (const e of iterator) {
        seen++;
        expect(e.position).toBe(seen);
        if (seen === 1200) store.append('late', [event('late-1')]);
        if (seen === 1500) break;
      }
      expect(seen).toBe(1500);
      const everything = all(store);
      expect(everything).toHaveLength(2501);
      expect(everything.at(-1)!.id).toBe('late-1');
      expect([...store.readAll({ types: ['Fizz'], from: 900, to: 2100 })]).toHaveLength(401);
      const stream = [...store.readStream('sy')];
      expect(stream.map((e) => e.streamVersion)).toEqual(stream.map((_, i) => i + 1));
      store.close();
    });

    it('follows the log: existing events after a position, then new ones, until aborted', async () => {
      const store = open();
      store.append('s', [event('1', 'A'), event('2', 'B'), event('3', 'A')]);
      const controller = new AbortController();
      const seen: string[] = [];
      const done = (async () => {
        for await (const e of store.follow({
          after: 1,
          types: ['A'],
          signal: controller.signal,
          pollIntervalMs: 5,
        })) {
          seen.push(e.id);
          if (e.id === '5') controller.abort();
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(seen).toEqual(['3']);
      store.append('s', [event('4', 'B'), event('5', 'A'), event('6', 'A')]);
      await done;
      expect(seen).toEqual(['3', '5']);
      store.close();
    });
  });

  describe(`${name}: snapshots and hooks`, () => {
    it('saves, replaces and loads snapshots', () => {
      let now = new Date('2025-01-01T00:00:00.000Z');
      const store = open({ clock: () => now });
      expect(store.loadSnapshot('status')).toBeUndefined();
      store.saveSnapshot('status', 0, { tasks: [] });
      now = new Date('2025-01-02T00:00:00.000Z');
      store.saveSnapshot('status', 7, { tasks: ['T1'] });
      expect(store.loadSnapshot('status')).toEqual({
        name: 'status',
        position: 7,
        data: { tasks: ['T1'] },
        writtenAt: '2025-01-02T00:00:00.000Z',
      });
      // The same snapshot as the JSON text it is kept as, unparsed.
      expect(store.loadSnapshotText('status')).toEqual({
        name: 'status',
        position: 7,
        data: '{"tasks":["T1"]}',
        writtenAt: '2025-01-02T00:00:00.000Z',
      });
      expect(store.loadSnapshotText('missing')).toBeUndefined();
      expect(errorOf(() => store.loadSnapshotText(''))).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(errorOf(() => store.saveSnapshot('status', -1, {}))).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(errorOf(() => store.saveSnapshot('', 1, {}))).toMatchObject({ code: 'INVALID_ARGUMENT' });
      store.close();
    });

    it('runs onAppend inside the append: its snapshot commits with the events or not at all', () => {
      const calls: RecordedEvent[][] = [];
      const hook: OnAppendHook = (events, context) => {
        calls.push([...events]);
        const count = (context.loadSnapshot<number>('count')?.data ?? 0) + events.length;
        context.saveSnapshot('count', events.at(-1)!.position, count);
        if (events.some((e) => e.type === 'Poison')) throw new Error('projection refused the event');
      };
      const store = open({ onAppend: hook });
      store.append('s', [event('1'), event('2')]);
      expect(calls[0]!.map((e) => [e.position, e.streamVersion, e.id])).toEqual([
        [1, 1, '1'],
        [2, 2, '2'],
      ]);
      expect(store.loadSnapshot('count')).toMatchObject({ position: 2, data: 2 });
      const err = errorOf(() => store.append('s', [event('3'), event('4', 'Poison')]));
      expect((err as Error).message).toBe('projection refused the event');
      expect(store.lastPosition()).toBe(2);
      expect(store.loadSnapshot('count')).toMatchObject({ position: 2, data: 2 });
      store.append('s', [event('3')], { expectedVersion: 2 });
      expect(store.loadSnapshot('count')).toMatchObject({ position: 3, data: 3 });
      expect(calls).toHaveLength(3);
      store.append('s', [event('3')]);
      expect(calls).toHaveLength(3);
      store.close();
    });
  });

  describe(`${name}: import and close`, () => {
    it('imports recorded events that continue the log, refusing gaps and duplicates atomically', () => {
      const source = open();
      source.append('a', [event('1'), event('2')]);
      source.append('b', [event('3')]);
      const recorded = all(source);
      const target = open();
      expect(target.importEvents(recorded.slice(0, 2))).toBe(2);
      const refusals: [RecordedEvent[], string][] = [
        [[recorded[2]!, { ...recorded[2]!, id: 'x', position: 5, streamVersion: 2 }], 'gap'],
        [[{ ...recorded[2]!, id: '1' }], 'duplicate'],
        [[{ ...recorded[2]!, streamVersion: 2 }], 'version 2 where 1'],
        [[{ ...recorded[2]!, type: '' }], 'type must be'],
      ];
      for (const [events, reason] of refusals) {
        const err = errorOf(() => target.importEvents(events)) as StoreError;
        expect(err.code).toBe('IMPORT_INVALID');
        expect(err.message).toContain(reason);
        expect(target.lastPosition()).toBe(2);
      }
      expect(target.importEvents(recorded.slice(2))).toBe(1);
      expect(all(target)).toEqual(recorded);
      source.close();
      target.close();
    });

    it('refuses every call after close', () => {
      const store = open();
      store.append('s', [event('1')]);
      store.append('s', [event('2')]);
      const iterator = store.readAll();
      store.close();
      expect(errorOf(() => store.append('s', [event('3')]))).toMatchObject({ code: 'LOG_CLOSED' });
      expect(errorOf(() => store.lastPosition())).toMatchObject({ code: 'LOG_CLOSED' });
      expect(errorOf(() => store.loadSnapshot('x'))).toMatchObject({ code: 'LOG_CLOSED' });
      expect(errorOf(() => iterator.next())).toMatchObject({ code: 'LOG_CLOSED' });
    });
  });
}
