/**
 * The event log behind promises: the shape a store on a server (PostgreSQL) has, and the
 * shape the synchronous stores take through {@link toAsyncStore}. Same rules, same errors and
 * same results as {@link EventStore}; one contract test runs against all of them.
 */
import type { NewEvent, RecordedEvent } from '../core/envelope.js';
import type {
  AppendOptions,
  AppendResult,
  EventStore,
  FollowOptions,
  ReadAllOptions,
  ReadStreamOptions,
  Snapshot,
  SnapshotText,
  StreamAppend,
} from './event-store.js';

/**
 * {@link EventStore} with every call asynchronous. Reads are async iterators that fetch a
 * page at a time; `importEvents` also takes an async iterable (a file being read).
 *
 * @example
 * const store = await openPostgresEventStore('postgres://orch@db/orch');
 * await store.append('task-T1', [event], { expectedVersion: 'no_stream' });
 * for await (const e of store.readAll({ from: 1 })) console.log(e.position);
 * await store.close();
 */
export interface AsyncEventStore {
  append(streamId: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult>;
  appendBatch(appends: readonly StreamAppend[]): Promise<AppendResult[]>;
  readStream(streamId: string, options?: ReadStreamOptions): AsyncIterableIterator<RecordedEvent>;
  readAll(options?: ReadAllOptions): AsyncIterableIterator<RecordedEvent>;
  lastPosition(): Promise<number>;
  streamVersion(streamId: string): Promise<number>;
  follow(options?: FollowOptions): AsyncIterableIterator<RecordedEvent>;
  saveSnapshot(name: string, position: number, data: unknown): Promise<void>;
  saveSnapshotTexts(rows: readonly SnapshotText[]): Promise<void>;
  loadSnapshot<D = unknown>(name: string): Promise<Snapshot<D> | undefined>;
  loadSnapshotText(name: string): Promise<Snapshot<string> | undefined>;
  importEvents(events: Iterable<RecordedEvent> | AsyncIterable<RecordedEvent>): Promise<number>;
  close(): Promise<void>;
}

/**
 * The asynchronous face of a synchronous store (SQLite, memory): each call runs at once and
 * its result or error comes back as a promise. An async iterable given to `importEvents` is
 * read fully first (the synchronous import is one transaction).
 *
 * @example
 * const store = toAsyncStore(openSqliteEventStore('.state/orch.db'));
 * console.log(await store.lastPosition());
 */
export function toAsyncStore(store: EventStore): AsyncEventStore {
  const call =
    <A extends unknown[], R>(fn: (...args: A) => R) =>
    async (...args: A): Promise<R> =>
      fn(...args);
  return {
    append: call((streamId: string, events: readonly NewEvent[], options?: AppendOptions) =>
      store.append(streamId, events, options),
    ),
    appendBatch: call((appends: readonly StreamAppend[]) => store.appendBatch(appends)),
    readStream: (streamId, options) => toAsyncIterator(() => store.readStream(streamId, options)),
    readAll: (options) => toAsyncIterator(() => store.readAll(options)),
    lastPosition: call(() => store.lastPosition()),
    streamVersion: call((streamId: string) => store.streamVersion(streamId)),
    follow: (options) => store.follow(options),
    saveSnapshot: call((name: string, position: number, data: unknown) =>
      store.saveSnapshot(name, position, data),
    ),
    saveSnapshotTexts: call((rows: readonly SnapshotText[]) => store.saveSnapshotTexts(rows)),
    loadSnapshot: call(<D>(name: string) => store.loadSnapshot<D>(name)) as AsyncEventStore['loadSnapshot'],
    loadSnapshotText: call((name: string) => store.loadSnapshotText(name)),
    importEvents: async (events) => {
      if (Symbol.asyncIterator in events) {
        const all: RecordedEvent[] = [];
        for await (const event of events) all.push(event);
        return store.importEvents(all);
      }
      return store.importEvents(events);
    },
    close: call(() => store.close()),
  };
}

/**
 * A synchronous iterator as an async one. The iterator is made on the first `next()`, so an
 * argument error surfaces there (as it does for a server store's first page).
 */
function toAsyncIterator(open: () => Iterator<RecordedEvent>): AsyncIterableIterator<RecordedEvent> {
  let iterator: Iterator<RecordedEvent> | undefined;
  const result: AsyncIterableIterator<RecordedEvent> = {
    async next() {
      iterator ??= open();
      return iterator.next();
    },
    async return(value?: unknown) {
      iterator?.return?.();
      return { done: true, value: value as RecordedEvent };
    },
    [Symbol.asyncIterator]() {
      return result;
    },
  };
  return result;
}
