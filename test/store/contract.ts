/**
 * The behaviour every event store must have, written once with `await` so it runs against
 * the synchronous stores (the in-memory twin in the unit tier, SQLite on real files) and the
 * asynchronous ones (the same through `toAsyncStore`, and PostgreSQL on a real server).
 */
import { describe, expect, it } from 'vitest';
import type { NewEvent, RecordedEvent } from '../../src/core/envelope.js';
import type { AsyncEventStore } from '../../src/store/async-event-store.js';
import {
  ConcurrencyError,
  StoreError,
  type EventStore,
  type OnAppendHook,
  type StoreOptions,
} from '../../src/store/index.js';

/** Either kind of store: every call is awaited, every read iterated with `for await`. */
export type AnyStore = EventStore | AsyncEventStore;

/** Makes a fresh, empty store; the contract closes it. */
export type StoreFactory = (options: StoreOptions) => AnyStore | Promise<AnyStore>;

/** `it` when `condition` holds; otherwise the test is not defined at all (not a skip). */
function itWhen(condition: boolean): (name: string, fn: () => Promise<void>) => void {
  return condition ? (name, fn) => it(name, fn) : () => undefined;
}

/** What a store under test supports beyond the common contract. */
export interface ContractOptions {
  /** Runs `onAppend` hooks inside the append transaction (the embedded stores do). */
  onAppend?: boolean;
}

const FIXED = new Date('2025-03-01T12:00:00.000Z');

export function event(id: string, type = 'Thing', data: unknown = { id }): NewEvent {
  return { id, type, data };
}

/** The error `fn` throws or rejects with (a synchronous throw and a rejection alike). */
async function errorOf(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

/** Every event of a read, from a sync or async iterator. */
export async function collect(
  events: Iterable<RecordedEvent> | AsyncIterable<RecordedEvent>,
): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

async function all(store: AnyStore): Promise<RecordedEvent[]> {
  return collect(store.readAll());
}

export function defineStoreContract(
  name: string,
  factory: StoreFactory,
  capabilities: ContractOptions = { onAppend: true },
): void {
  const open = async (options: StoreOptions = {}): Promise<AnyStore> =>
    factory({ clock: () => FIXED, ...options });

  describe(`${name}: append`, () => {
    it('gives gapless positions across streams and versions per stream', async () => {
      const store = await open();
      expect(await store.append('a', [event('1'), event('2')], { expectedVersion: 'no_stream' })).toEqual({
        streamId: 'a',
        nextExpectedVersion: 2,
        positions: [1, 2],
        alreadyAppended: false,
      });
      expect((await store.append('b', [event('3')])).positions).toEqual([3]);
      expect(await store.append('a', [event('4')], { expectedVersion: 2 })).toMatchObject({
        nextExpectedVersion: 3,
        positions: [4],
      });
      expect((await all(store)).map((e) => [e.position, e.streamId, e.streamVersion, e.id])).toEqual([
        [1, 'a', 1, '1'],
        [2, 'a', 2, '2'],
        [3, 'b', 1, '3'],
        [4, 'a', 3, '4'],
      ]);
      expect(await store.lastPosition()).toBe(4);
      expect(await store.streamVersion('a')).toBe(3);
      expect(await store.streamVersion('nope')).toBe(0);
      await store.close();
    });

    it('checks every kind of expected version and writes nothing on a mismatch', async () => {
      const store = await open();
      const conflict = await errorOf(() => store.append('s', [event('x')], { expectedVersion: 'exists' }));
      expect(conflict).toBeInstanceOf(ConcurrencyError);
      expect(conflict).toMatchObject({ code: 'CONCURRENCY', streamId: 's', expected: 'exists', actual: 0 });
      expect((await store.append('s', [event('1')], { expectedVersion: 0 })).positions).toEqual([1]);
      expect(
        await errorOf(() => store.append('s', [event('y')], { expectedVersion: 'no_stream' })),
      ).toMatchObject({
        code: 'CONCURRENCY',
        actual: 1,
      });
      const stale = (await errorOf(() =>
        store.append('s', [event('z')], { expectedVersion: 0 }),
      )) as ConcurrencyError;
      expect(stale.message).toContain('stream s');
      expect(stale.message).toContain('version 0');
      expect(stale.message).toContain('at version 1');
      expect((await store.append('s', [event('2')], { expectedVersion: 'exists' })).positions).toEqual([2]);
      expect((await store.append('s', [event('3')], { expectedVersion: 'any' })).positions).toEqual([3]);
      expect((await store.append('s', [event('4')])).positions).toEqual([4]);
      expect((await all(store)).map((e) => e.id)).toEqual(['1', '2', '3', '4']);
      await store.close();
    });

    it('returns the original positions for a retried append, even with a stale expected version', async () => {
      const store = await open();
      await store.append('other', [event('o1')]);
      const first = await store.append('s', [event('1'), event('2')], { expectedVersion: 'no_stream' });
      await store.append('s', [event('3')], { expectedVersion: 2 });
      const retry = await store.append('s', [event('1'), event('2')], { expectedVersion: 'no_stream' });
      expect(retry).toEqual({ ...first, alreadyAppended: true });
      expect(retry.positions).toEqual([2, 3]);
      expect(await store.lastPosition()).toBe(4);
      await store.close();
    });

    it('refuses a batch with some ids present and some not, writing nothing', async () => {
      const store = await open();
      await store.append('s', [event('1')]);
      const err = await errorOf(() => store.append('s', [event('1'), event('2')], { expectedVersion: 1 }));
      expect(err).toBeInstanceOf(StoreError);
      expect(err).toMatchObject({ code: 'PARTIAL_DUPLICATE', details: { present: ['1'], absent: ['2'] } });
      expect(await store.lastPosition()).toBe(1);
      await store.close();
    });

    it('refuses an id already used in another stream, and an id given twice', async () => {
      const store = await open();
      await store.append('s', [event('1')]);
      expect(await errorOf(() => store.append('t', [event('1')]))).toMatchObject({
        code: 'EVENT_ID_CONFLICT',
      });
      expect(await errorOf(() => store.append('t', [event('2'), event('2')]))).toMatchObject({
        code: 'EVENT_ID_CONFLICT',
      });
      expect(
        await errorOf(() =>
          store.appendBatch([
            { streamId: 'a', events: [event('9')] },
            { streamId: 'b', events: [event('9')] },
          ]),
        ),
      ).toMatchObject({ code: 'EVENT_ID_CONFLICT' });
      expect(await store.lastPosition()).toBe(1);
      await store.close();
    });

    it('rejects invalid arguments with INVALID_ARGUMENT before writing', async () => {
      const store = await open();
      const bad: [string, () => unknown][] = [
        ['empty stream id', () => store.append('', [event('1')])],
        ['no id', () => store.append('s', [{ type: 'T', data: 1 } as unknown as NewEvent])],
        ['no type', () => store.append('s', [{ id: '1', data: 1 } as unknown as NewEvent])],
        ['bad version', () => store.append('s', [event('1')], { expectedVersion: -1 })],
        ['fractional version', () => store.append('s', [event('1')], { expectedVersion: 1.5 })],
        ['bigint data', () => store.append('s', [event('1', 'T', { n: 1n })])],
        ['array metadata', () => store.append('s', [{ ...event('1'), metadata: [] as never }])],
        ['bad recordedAt', () => store.append('s', [{ ...event('1'), recordedAt: 'yesterday' }])],
        ['bad range', () => collect(store.readAll({ from: -1 }))],
        ['bad types', () => collect(store.readAll({ types: [''] }))],
        ['bad stream read', () => collect(store.readStream(''))],
      ];
      for (const [label, fn] of bad) {
        expect(await errorOf(fn), label).toMatchObject({ code: 'INVALID_ARGUMENT' });
      }
      expect(await store.lastPosition()).toBe(0);
      await store.close();
    });

    it('appends several streams all or nothing', async () => {
      const store = await open();
      await store.append('b', [event('b1')]);
      const err = await errorOf(() =>
        store.appendBatch([
          { streamId: 'a', events: [event('a1'), event('a2')], expectedVersion: 'no_stream' },
          { streamId: 'b', events: [event('b2')], expectedVersion: 0 },
        ]),
      );
      expect(err).toMatchObject({ code: 'CONCURRENCY', streamId: 'b', expected: 0, actual: 1 });
      expect(await store.streamVersion('a')).toBe(0);
      const results = await store.appendBatch([
        { streamId: 'a', events: [event('a1'), event('a2')], expectedVersion: 'no_stream' },
        { streamId: 'b', events: [event('b2')], expectedVersion: 1 },
        { streamId: 'a', events: [event('a3')], expectedVersion: 2 },
      ]);
      expect(results.map((r) => [r.streamId, r.positions, r.nextExpectedVersion])).toEqual([
        ['a', [2, 3], 2],
        ['b', [4], 2],
        ['a', [5], 3],
      ]);
      const retry = await store.appendBatch([
        { streamId: 'a', events: [event('a1'), event('a2')], expectedVersion: 'no_stream' },
        { streamId: 'b', events: [event('b2')], expectedVersion: 0 },
        { streamId: 'a', events: [event('a3')], expectedVersion: 'no_stream' },
      ]);
      expect(retry.map((r) => r.alreadyAppended)).toEqual([true, true, true]);
      expect(retry.map((r) => r.positions)).toEqual([[2, 3], [4], [5]]);
      await store.close();
    });

    it('checks the version of an empty append without writing', async () => {
      const store = await open();
      expect(await store.append('s', [], { expectedVersion: 'no_stream' })).toMatchObject({
        positions: [],
        nextExpectedVersion: 0,
      });
      expect(await errorOf(() => store.append('s', [], { expectedVersion: 'exists' }))).toBeInstanceOf(
        ConcurrencyError,
      );
      await store.close();
    });

    it('takes a part with no events as a condition of the batch (a fence): the batch goes through only while that stream stays put', async () => {
      const store = await open();
      await store.append('fence', [event('f1')]);
      const results = await store.appendBatch([
        { streamId: 'fence', events: [], expectedVersion: 1 },
        { streamId: 'a', events: [event('a1')], expectedVersion: 'no_stream' },
      ]);
      expect(results.map((r) => [r.streamId, r.positions, r.nextExpectedVersion])).toEqual([
        ['fence', [], 1],
        ['a', [2], 1],
      ]);
      await store.append('fence', [event('f2')]);
      const err = await errorOf(() =>
        store.appendBatch([
          { streamId: 'fence', events: [], expectedVersion: 1 },
          { streamId: 'a', events: [event('a2')], expectedVersion: 1 },
        ]),
      );
      expect(err).toMatchObject({ code: 'CONCURRENCY', streamId: 'fence', expected: 1, actual: 2 });
      expect(await store.streamVersion('a')).toBe(1);
      expect(await store.lastPosition()).toBe(3);
      await store.close();
    });

    it('round-trips data and metadata as JSON and fills recordedAt from the clock', async () => {
      const store = await open();
      const data = {
        nested: { list: [1, 'two', null, true] },
        when: new Date('2024-01-01T00:00:00Z'),
        gone: undefined,
      };
      await store.append('s', [
        { id: '1', type: 'T', data, metadata: { runId: 'r1', actor: 'agent:sp1', extra: { a: 1 } } },
        { id: '2', type: 'T', data: undefined, recordedAt: '2020-05-05T05:05:05.000Z' },
      ]);
      const [first, second] = await all(store);
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
      expect((await all(store))[0]!.data).toEqual({
        nested: { list: [1, 'two', null, true] },
        when: '2024-01-01T00:00:00.000Z',
      });
      await store.close();
    });
  });

  describe(`${name}: reads`, () => {
    async function filled(count: number): Promise<AnyStore> {
      const store = await open();
      for (let i = 1; i <= count; i += 100) {
        const events = Array.from({ length: Math.min(100, count - i + 1) }, (_, k) =>
          event(`e${i + k}`, (i + k) % 3 === 0 ? 'Fizz' : 'Other', { n: i + k }),
        );
        await store.appendBatch([{ streamId: `s${(i - 1) % 300 === 0 ? 'x' : 'y'}`, events }]);
      }
      return store;
    }

    it('reads ranges of positions and versions, inclusive, and filters by type', async () => {
      const store = await open();
      await store.append('a', [event('1', 'A'), event('2', 'B')]);
      await store.append('b', [event('3', 'A')]);
      await store.append('a', [event('4', 'C'), event('5', 'A')]);
      const ids = async (events: Iterable<RecordedEvent> | AsyncIterable<RecordedEvent>) =>
        (await collect(events)).map((e) => e.id);
      expect(await ids(store.readAll({ from: 2, to: 4 }))).toEqual(['2', '3', '4']);
      expect(await ids(store.readAll({ from: 0 }))).toEqual(['1', '2', '3', '4', '5']);
      expect(await ids(store.readAll({ from: 6 }))).toEqual([]);
      expect(await ids(store.readAll({ types: ['A'] }))).toEqual(['1', '3', '5']);
      expect(await ids(store.readAll({ types: ['A', 'C'], from: 2, to: 4 }))).toEqual(['3', '4']);
      expect(await ids(store.readAll({ types: [] }))).toEqual([]);
      expect(await ids(store.readStream('a'))).toEqual(['1', '2', '4', '5']);
      expect(await ids(store.readStream('a', { from: 2, to: 3 }))).toEqual(['2', '4']);
      expect((await collect(store.readStream('a', { from: 3 }))).map((e) => e.streamVersion)).toEqual([3, 4]);
      expect(await ids(store.readStream('missing'))).toEqual([]);
      await store.close();
    });

    it('pages lazily: the caller can stop early and write while reading', async () => {
      const store = await filled(2500);
      const iterator = store.readAll();
      let seen = 0;
      for await (const e of iterator) {
        seen++;
        expect(e.position).toBe(seen);
        if (seen === 1200) await store.append('late', [event('late-1')]);
        if (seen === 1500) break;
      }
      expect(seen).toBe(1500);
      const everything = await all(store);
      expect(everything).toHaveLength(2501);
      expect(everything.at(-1)!.id).toBe('late-1');
      expect(await collect(store.readAll({ types: ['Fizz'], from: 900, to: 2100 }))).toHaveLength(401);
      const stream = await collect(store.readStream('sy'));
      expect(stream.map((e) => e.streamVersion)).toEqual(stream.map((_, i) => i + 1));
      await store.close();
    });

    it('follows the log: existing events after a position, then new ones, until aborted', async () => {
      const store = await open();
      await store.append('s', [event('1', 'A'), event('2', 'B'), event('3', 'A')]);
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
      // A store on a server may take a moment to start following: wait for the first event.
      for (let waited = 0; seen.length === 0 && waited < 10_000; waited += 10) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(seen).toEqual(['3']);
      await store.append('s', [event('4', 'B'), event('5', 'A'), event('6', 'A')]);
      await done;
      expect(seen).toEqual(['3', '5']);
      await store.close();
    });
  });

  describe(`${name}: snapshots and hooks`, () => {
    it('saves, replaces and loads snapshots', async () => {
      let now = new Date('2025-01-01T00:00:00.000Z');
      const store = await open({ clock: () => now });
      expect(await store.loadSnapshot('status')).toBeUndefined();
      await store.saveSnapshot('status', 0, { tasks: [] });
      now = new Date('2025-01-02T00:00:00.000Z');
      await store.saveSnapshot('status', 7, { tasks: ['T1'] });
      expect(await store.loadSnapshot('status')).toEqual({
        name: 'status',
        position: 7,
        data: { tasks: ['T1'] },
        writtenAt: '2025-01-02T00:00:00.000Z',
      });
      // The same snapshot as the JSON text it is kept as, unparsed.
      expect(await store.loadSnapshotText('status')).toEqual({
        name: 'status',
        position: 7,
        data: '{"tasks":["T1"]}',
        writtenAt: '2025-01-02T00:00:00.000Z',
      });
      expect(await store.loadSnapshotText('missing')).toBeUndefined();
      expect(await errorOf(() => store.loadSnapshotText(''))).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(await errorOf(() => store.saveSnapshot('status', -1, {}))).toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      expect(await errorOf(() => store.saveSnapshot('', 1, {}))).toMatchObject({ code: 'INVALID_ARGUMENT' });
      await store.close();
    });

    it('saves snapshots given as JSON text, byte for byte, all or none', async () => {
      const store = await open({ clock: () => new Date('2025-01-03T00:00:00.000Z') });
      // Text a serialiser would not write (line breaks, spacing): kept as given.
      const parts = '[{"a":1},\n{"b":2} ,\n"c"]';
      await store.saveSnapshotTexts([
        { name: 'parts', position: 9, json: parts },
        { name: 'parts:0', position: 9, json: '[]' },
      ]);
      expect(await store.loadSnapshotText('parts')).toEqual({
        name: 'parts',
        position: 9,
        data: parts,
        writtenAt: '2025-01-03T00:00:00.000Z',
      });
      expect((await store.loadSnapshot('parts'))?.data).toEqual([{ a: 1 }, { b: 2 }, 'c']);
      await store.saveSnapshotTexts([{ name: 'parts', position: 12, json: '[]' }]);
      expect(await store.loadSnapshotText('parts')).toMatchObject({ position: 12, data: '[]' });
      await store.saveSnapshotTexts([]);
      // A bad row refuses the whole call: nothing of it is written.
      for (const rows of [
        [
          { name: 'parts', position: 13, json: '[1]' },
          { name: 'parts:0', position: 13, json: '' },
        ],
        [
          { name: 'parts', position: 13, json: '[1]' },
          { name: 'parts', position: 13, json: '[2]' },
        ],
        [
          { name: 'parts', position: 13, json: '[1]' },
          { name: '', position: 13, json: '[2]' },
        ],
        [{ name: 'parts', position: -1, json: '[1]' }],
      ]) {
        expect(await errorOf(() => store.saveSnapshotTexts(rows))).toMatchObject({
          code: 'INVALID_ARGUMENT',
        });
      }
      expect(await store.loadSnapshotText('parts')).toMatchObject({ position: 12, data: '[]' });
      expect(await store.loadSnapshotText('parts:0')).toMatchObject({ position: 9, data: '[]' });
      await store.close();
    });

    // Only stores that run hooks inside their append get this test (PostgreSQL does not).
    itWhen(capabilities.onAppend === true)(
      'runs onAppend inside the append: its snapshot commits with the events or not at all',
      async () => {
        const calls: RecordedEvent[][] = [];
        const hook: OnAppendHook = (events, context) => {
          calls.push([...events]);
          const count = (context.loadSnapshot<number>('count')?.data ?? 0) + events.length;
          context.saveSnapshot('count', events.at(-1)!.position, count);
          if (events.some((e) => e.type === 'Poison')) throw new Error('projection refused the event');
        };
        const store = await open({ onAppend: hook });
        await store.append('s', [event('1'), event('2')]);
        expect(calls[0]!.map((e) => [e.position, e.streamVersion, e.id])).toEqual([
          [1, 1, '1'],
          [2, 2, '2'],
        ]);
        expect(await store.loadSnapshot('count')).toMatchObject({ position: 2, data: 2 });
        const err = await errorOf(() => store.append('s', [event('3'), event('4', 'Poison')]));
        expect((err as Error).message).toBe('projection refused the event');
        expect(await store.lastPosition()).toBe(2);
        expect(await store.loadSnapshot('count')).toMatchObject({ position: 2, data: 2 });
        await store.append('s', [event('3')], { expectedVersion: 2 });
        expect(await store.loadSnapshot('count')).toMatchObject({ position: 3, data: 3 });
        expect(calls).toHaveLength(3);
        await store.append('s', [event('3')]);
        expect(calls).toHaveLength(3);
        await store.close();
      },
    );
  });

  describe(`${name}: import and close`, () => {
    it('imports recorded events that continue the log, refusing gaps and duplicates atomically', async () => {
      const source = await open();
      await source.append('a', [event('1'), event('2')]);
      await source.append('b', [event('3')]);
      const recorded = await all(source);
      const target = await open();
      expect(await target.importEvents(recorded.slice(0, 2))).toBe(2);
      const refusals: [RecordedEvent[], string][] = [
        [[recorded[2]!, { ...recorded[2]!, id: 'x', position: 5, streamVersion: 2 }], 'gap'],
        [[{ ...recorded[2]!, id: '1' }], 'duplicate'],
        [[{ ...recorded[2]!, streamVersion: 2 }], 'version 2 where 1'],
        [[{ ...recorded[2]!, type: '' }], 'type must be'],
      ];
      for (const [events, reason] of refusals) {
        const err = (await errorOf(() => target.importEvents(events))) as StoreError;
        expect(err.code).toBe('IMPORT_INVALID');
        expect(err.message).toContain(reason);
        expect(await target.lastPosition()).toBe(2);
      }
      expect(await target.importEvents(recorded.slice(2))).toBe(1);
      expect(await all(target)).toEqual(recorded);
      await source.close();
      await target.close();
    });

    it('refuses every call after close', async () => {
      const store = await open();
      await store.append('s', [event('1')]);
      await store.append('s', [event('2')]);
      const iterator = store.readAll();
      await store.close();
      expect(await errorOf(() => store.append('s', [event('3')]))).toMatchObject({ code: 'LOG_CLOSED' });
      expect(await errorOf(() => store.lastPosition())).toMatchObject({ code: 'LOG_CLOSED' });
      expect(await errorOf(() => store.loadSnapshot('x'))).toMatchObject({ code: 'LOG_CLOSED' });
      expect(await errorOf(() => iterator.next())).toMatchObject({ code: 'LOG_CLOSED' });
    });
  });
}
