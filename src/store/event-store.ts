/**
 * The narrow interface every part of orch uses to write and read the event log. Two
 * implementations share these semantics exactly: the SQLite store (`sqlite/`) and the
 * in-memory twin (`memory-store.ts`); a model-based test holds them to it.
 *
 * The API is synchronous (better-sqlite3 is), except `follow`, which waits for new events.
 */
import type { NewEvent, RecordedEvent } from '../core/envelope.js';

/**
 * What the stream's version must be for an append to go through:
 * a number (0 = the stream does not exist yet), `'no_stream'`, `'exists'` (at least one
 * event), or `'any'` (no check).
 */
export type ExpectedVersion = number | 'no_stream' | 'exists' | 'any';

/** Options of {@link EventStore.append}. */
export interface AppendOptions {
  /** Default `'any'`. */
  expectedVersion?: ExpectedVersion;
}

/** One stream's part of an {@link EventStore.appendBatch}. */
export interface StreamAppend {
  streamId: string;
  events: readonly NewEvent[];
  /** Default `'any'`. */
  expectedVersion?: ExpectedVersion;
}

/** What an append did to one stream. */
export interface AppendResult {
  streamId: string;
  /** The stream's version after the append: pass it as `expectedVersion` next time. */
  nextExpectedVersion: number;
  /** Global positions of the events, in the order given. */
  positions: number[];
  /**
   * True when every event id was already in the log (a retried append): nothing was
   * written and `positions` / `nextExpectedVersion` are those of the original append.
   */
  alreadyAppended: boolean;
}

/** Options of {@link EventStore.readStream}: stream versions, both ends inclusive. */
export interface ReadStreamOptions {
  from?: number;
  to?: number;
}

/** Options of {@link EventStore.readAll}: global positions, both ends inclusive. */
export interface ReadAllOptions {
  from?: number;
  to?: number;
  /** Only these event types (an empty list matches nothing). */
  types?: readonly string[];
}

/** Options of {@link EventStore.follow}. */
export interface FollowOptions {
  /** Start after this position (default 0: from the first event). */
  after?: number;
  types?: readonly string[];
  /** Stops the iteration (it then ends normally). */
  signal?: AbortSignal;
  /** How long to wait before looking again when caught up (default 200 ms). */
  pollIntervalMs?: number;
}

/** A cache entry given as its JSON text (`saveSnapshotTexts`). */
export interface SnapshotText {
  name: string;
  position: number;
  json: string;
}

/** A cached value (a projection, a folded state) valid up to a log position. */
export interface Snapshot<D = unknown> {
  name: string;
  position: number;
  data: D;
  writtenAt: string;
}

/**
 * What an {@link OnAppendHook} can do inside the append transaction: anything it writes
 * commits with the events, or not at all.
 */
export interface AppendContext {
  saveSnapshot(name: string, position: number, data: unknown): void;
  loadSnapshot<D = unknown>(name: string): Snapshot<D> | undefined;
}

/**
 * Runs inside the append transaction after the events are written, with the new events
 * (their `data`/`metadata` are the objects the caller passed). Throwing aborts the append.
 */
export type OnAppendHook = (events: readonly RecordedEvent[], context: AppendContext) => void;

/** Options both stores take. */
export interface StoreOptions {
  /** Clock for `recordedAt` when an event has none, and for snapshot `writtenAt`. */
  clock?: () => Date;
  onAppend?: OnAppendHook;
}

/**
 * The durable, append-only event log.
 *
 * @example
 * const store = openSqliteEventStore('.state/orch.db');
 * const { nextExpectedVersion } = store.append(
 *   'task-T1',
 *   [{ id: randomUUID(), type: 'AgentSpawnRequested', data: { spawnId: 's1' } }],
 *   { expectedVersion: 'no_stream' },
 * );
 * for (const event of store.readAll({ types: ['AgentSpawnRequested'] })) console.log(event.position);
 * store.close();
 */
export interface EventStore {
  /**
   * True for a store across a connection (PostgreSQL): every call is a round trip, so a
   * reader does not probe `lastPosition()` before reading what is new.
   */
  readonly remote?: boolean;
  /**
   * Appends events to one stream, atomically. Throws `ConcurrencyError` when the stream is
   * not at `expectedVersion`. When every event id is already in the log (in that stream),
   * writes nothing and returns the original positions, whatever `expectedVersion` says.
   * Some ids present and some not: `StoreError('PARTIAL_DUPLICATE')`; an id present in
   * another stream or twice in the call: `StoreError('EVENT_ID_CONFLICT')`.
   */
  append(streamId: string, events: readonly NewEvent[], options?: AppendOptions): AppendResult;
  /** Appends to several streams in one transaction: all or nothing. Same rules as `append`, over the whole batch. */
  appendBatch(appends: readonly StreamAppend[]): AppendResult[];
  /** A stream's events in version order, read lazily. */
  readStream(streamId: string, options?: ReadStreamOptions): IterableIterator<RecordedEvent>;
  /** All events in position order, read lazily in pages (never the whole log in memory). */
  readAll(options?: ReadAllOptions): IterableIterator<RecordedEvent>;
  /** Position of the last event, 0 when the log is empty. */
  lastPosition(): number;
  /** Version of a stream, 0 when it has no events. */
  streamVersion(streamId: string): number;
  /** Yields events after `options.after`, then waits for new ones until the signal aborts. */
  follow(options?: FollowOptions): AsyncIterableIterator<RecordedEvent>;
  /** Stores (or replaces) a cache entry; not part of the log. */
  saveSnapshot(name: string, position: number, data: unknown): void;
  /**
   * Stores (or replaces) cache entries whose data is already JSON text, as is, all in one
   * transaction: for caches whose layout a reader relies on (one value per line, parts
   * read apart). Each `json` is not parsed or checked; it must be JSON (`loadSnapshot`
   * parses it).
   */
  saveSnapshotTexts(rows: readonly SnapshotText[]): void;
  loadSnapshot<D = unknown>(name: string): Snapshot<D> | undefined;
  /**
   * A snapshot's data as the JSON text it is stored as, not parsed: for a cache that is
   * printed as is (the status document), where parsing it would be the main cost.
   */
  loadSnapshotText(name: string): Snapshot<string> | undefined;
  /**
   * Writes already-recorded events (from an export) atomically. Their positions must
   * continue the log without gaps, stream versions must continue each stream, ids must be
   * new; otherwise throws `StoreError('IMPORT_INVALID')` (with `details.index`, 0-based) and
   * writes nothing. Does not run `onAppend`: rebuild projections after an import.
   */
  importEvents(events: Iterable<RecordedEvent>): number;
  /** Releases the store; further calls throw `StoreError('LOG_CLOSED')`. */
  close(): void;
}
