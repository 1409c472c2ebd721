/**
 * The in-memory twin of the SQLite store: the same rules (shared from `append-rules.ts`,
 * `import-rules.ts`, `read-options.ts`), the same JSON round-trip of data and metadata, the
 * same errors. Used by fast tests and as the model in the model-based store test.
 */
import type { RecordedEvent } from '../core/envelope.js';
import { checkExpectedVersion, prepareAppends, resolveRetry, type ExistingEvent } from './append-rules.js';
import type {
  AppendContext,
  AppendOptions,
  AppendResult,
  EventStore,
  FollowOptions,
  OnAppendHook,
  ReadAllOptions,
  ReadStreamOptions,
  Snapshot,
  SnapshotText,
  StoreOptions,
  StreamAppend,
} from './event-store.js';
import type { NewEvent } from '../core/envelope.js';
import { StoreError } from './errors.js';
import { followEvents } from './follow.js';
import { checkImportedEvent, duplicateImportedId, importedJson } from './import-rules.js';
import {
  checkName,
  checkSnapshotPosition,
  checkSnapshotTexts,
  readRange,
  snapshotJson,
} from './read-options.js';
import { checkTypes, toRecordedEvent, type EventRow } from './rows.js';

interface SnapshotRow {
  position: number;
  dataJson: string;
  writtenAt: string;
}

/**
 * Creates an empty in-memory event store.
 *
 * @example
 * const store = createMemoryEventStore({ clock: () => new Date('2025-01-01T00:00:00Z') });
 * store.append('plan', [{ id: 'e1', type: 'PlanLoaded', data: {} }], { expectedVersion: 'no_stream' });
 */
export function createMemoryEventStore(options: StoreOptions = {}): MemoryEventStore {
  return new MemoryEventStore(options);
}

/** See {@link createMemoryEventStore}. */
export class MemoryEventStore implements EventStore {
  readonly #rows: EventRow[] = [];
  readonly #byId = new Map<string, EventRow>();
  readonly #streams = new Map<string, EventRow[]>();
  readonly #snapshots = new Map<string, SnapshotRow>();
  readonly #clock: () => Date;
  readonly #onAppend: OnAppendHook | undefined;
  /** Snapshot values to restore if the running transaction fails. */
  #undo: Map<string, SnapshotRow | undefined> | undefined;
  #closed = false;

  constructor(options: StoreOptions = {}) {
    this.#clock = options.clock ?? (() => new Date());
    this.#onAppend = options.onAppend;
  }

  append(streamId: string, events: readonly NewEvent[], options: AppendOptions = {}): AppendResult {
    return this.appendBatch([{ streamId, events, ...options }])[0]!;
  }

  appendBatch(appends: readonly StreamAppend[]): AppendResult[] {
    this.#guard();
    const prepared = prepareAppends(appends, this.#clock);
    if (prepared.some((append) => append.events.length > 0)) {
      const retry = resolveRetry(
        prepared,
        (id) => this.#existing(id),
        (streamId) => this.streamVersion(streamId),
      );
      if (retry !== undefined) return retry;
    }
    return this.#transaction(() => {
      const written: RecordedEvent[] = [];
      const results = prepared.map(({ streamId, expectedVersion, events }) => {
        let version = this.streamVersion(streamId);
        checkExpectedVersion(streamId, expectedVersion, version);
        const positions = events.map((event) => {
          const row: EventRow = {
            position: this.#rows.length + 1,
            id: event.id,
            streamId,
            streamVersion: ++version,
            type: event.type,
            dataJson: event.dataJson,
            metadataJson: event.metadataJson,
            recordedAt: event.recordedAt,
          };
          this.#push(row);
          if (this.#onAppend !== undefined) {
            written.push({ ...row, data: event.data, metadata: event.metadata });
          }
          return row.position;
        });
        return { streamId, nextExpectedVersion: version, positions, alreadyAppended: false };
      });
      if (this.#onAppend !== undefined && written.length > 0) this.#onAppend(written, this.#context());
      return results;
    });
  }

  readStream(streamId: string, options: ReadStreamOptions = {}): IterableIterator<RecordedEvent> {
    this.#guard();
    checkName(streamId, 'stream id', 'readStream');
    const { from, to } = readRange(options, 'readStream');
    return this.#iterate(() => this.#streams.get(streamId) ?? [], from - 1, to, undefined);
  }

  readAll(options: ReadAllOptions = {}): IterableIterator<RecordedEvent> {
    this.#guard();
    const { from, to } = readRange(options, 'readAll');
    const types = options.types === undefined ? undefined : new Set(checkTypes(options.types));
    return this.#iterate(() => this.#rows, from - 1, to, types);
  }

  /** Lazily walks `rows()` from index `start` while the index is below `end` (positions/versions are index + 1). */
  *#iterate(
    rows: () => readonly EventRow[],
    start: number,
    end: number,
    types: ReadonlySet<string> | undefined,
  ): Generator<RecordedEvent, void, undefined> {
    for (let index = start; index < end; index++) {
      this.#guard();
      const row = rows()[index];
      if (row === undefined) return;
      if (types === undefined || types.has(row.type)) yield toRecordedEvent(row);
    }
  }

  lastPosition(): number {
    this.#guard();
    return this.#rows.length;
  }

  streamVersion(streamId: string): number {
    this.#guard();
    checkName(streamId, 'stream id', 'streamVersion');
    return this.#streams.get(streamId)?.length ?? 0;
  }

  follow(options: FollowOptions = {}): AsyncIterableIterator<RecordedEvent> {
    this.#guard();
    return followEvents(this, options);
  }

  saveSnapshot(name: string, position: number, data: unknown): void {
    this.#guard();
    checkName(name, 'snapshot name', 'saveSnapshot');
    checkSnapshotPosition(position);
    const row = { position, dataJson: snapshotJson(name, data), writtenAt: this.#clock().toISOString() };
    if (this.#undo !== undefined && !this.#undo.has(name)) this.#undo.set(name, this.#snapshots.get(name));
    this.#snapshots.set(name, row);
  }

  saveSnapshotTexts(rows: readonly SnapshotText[]): void {
    this.#guard();
    checkSnapshotTexts(rows);
    const writtenAt = this.#clock().toISOString();
    for (const { name, position, json } of rows) {
      if (this.#undo !== undefined && !this.#undo.has(name)) this.#undo.set(name, this.#snapshots.get(name));
      this.#snapshots.set(name, { position, dataJson: json, writtenAt });
    }
  }

  loadSnapshot<D = unknown>(name: string): Snapshot<D> | undefined {
    this.#guard();
    checkName(name, 'snapshot name', 'loadSnapshot');
    const row = this.#snapshots.get(name);
    if (row === undefined) return undefined;
    return { name, position: row.position, data: JSON.parse(row.dataJson) as D, writtenAt: row.writtenAt };
  }

  loadSnapshotText(name: string): Snapshot<string> | undefined {
    this.#guard();
    checkName(name, 'snapshot name', 'loadSnapshotText');
    const row = this.#snapshots.get(name);
    if (row === undefined) return undefined;
    return { name, position: row.position, data: row.dataJson, writtenAt: row.writtenAt };
  }

  importEvents(events: Iterable<RecordedEvent>): number {
    this.#guard();
    return this.#transaction(() => {
      let index = 0;
      const cursor = {
        nextPosition: this.#rows.length + 1,
        streamVersion: (streamId: string) => this.#streams.get(streamId)?.length ?? 0,
      };
      for (const candidate of events) {
        const event = checkImportedEvent(candidate, index, cursor);
        if (this.#byId.has(event.id)) throw duplicateImportedId(index, event.id);
        const { dataJson, metadataJson } = importedJson(event, index);
        const { position, id, streamId, streamVersion, type, recordedAt } = event;
        this.#push({ position, id, streamId, streamVersion, type, dataJson, metadataJson, recordedAt });
        cursor.nextPosition++;
        index++;
      }
      return index;
    });
  }

  close(): void {
    this.#closed = true;
  }

  #push(row: EventRow): void {
    this.#rows.push(row);
    this.#byId.set(row.id, row);
    const stream = this.#streams.get(row.streamId);
    if (stream === undefined) this.#streams.set(row.streamId, [row]);
    else stream.push(row);
  }

  #existing(id: string): ExistingEvent | undefined {
    const row = this.#byId.get(id);
    return row === undefined
      ? undefined
      : { position: row.position, streamId: row.streamId, streamVersion: row.streamVersion };
  }

  #context(): AppendContext {
    return {
      saveSnapshot: (name, position, data) => this.saveSnapshot(name, position, data),
      loadSnapshot: <D>(name: string) => this.loadSnapshot<D>(name),
    };
  }

  /** Runs `fn` all-or-nothing: on a throw, events and snapshots written by it are undone. */
  #transaction<T>(fn: () => T): T {
    const length = this.#rows.length;
    this.#undo = new Map();
    try {
      return fn();
    } catch (err) {
      for (const row of this.#rows.splice(length)) {
        this.#byId.delete(row.id);
        const stream = this.#streams.get(row.streamId)!;
        stream.pop();
        if (stream.length === 0) this.#streams.delete(row.streamId);
      }
      for (const [name, previous] of this.#undo) {
        if (previous === undefined) this.#snapshots.delete(name);
        else this.#snapshots.set(name, previous);
      }
      throw err;
    } finally {
      this.#undo = undefined;
    }
  }

  #guard(): void {
    if (this.#closed) {
      throw new StoreError('LOG_CLOSED', 'the in-memory event store is closed', {
        hint: 'create a new store; a closed one cannot be used again',
      });
    }
  }
}
