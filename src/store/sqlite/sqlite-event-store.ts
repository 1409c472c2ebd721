/**
 * The SQLite event store: wires the per-operation modules to one better-sqlite3 connection
 * and maps every SQLite error to an orch error. Open it with `openSqliteEventStore`.
 */
import type Database from 'better-sqlite3';
import type { NewEvent, RecordedEvent } from '../../core/envelope.js';
import { prepareAppends } from '../append-rules.js';
import type {
  AppendContext,
  AppendOptions,
  AppendResult,
  EventStore,
  FollowOptions,
  ReadAllOptions,
  ReadStreamOptions,
  Snapshot,
  SnapshotText,
  StoreOptions,
  StreamAppend,
} from '../event-store.js';
import { StoreError } from '../errors.js';
import { followEvents } from '../follow.js';
import {
  checkName,
  checkSnapshotPosition,
  checkSnapshotTexts,
  readRange,
  snapshotJson,
} from '../read-options.js';
import { checkTypes } from '../rows.js';
import { createAppender, type Appender } from './append.js';
import { importEvents } from './import-events.js';
import { readAllPages } from './read-all.js';
import { readStreamPages } from './read-stream.js';
import { loadSnapshot, saveSnapshot } from './snapshots.js';
import { wrapSqliteError } from './sqlite-errors.js';
import { prepareStatements, type Statements } from './statements.js';

/** See `openSqliteEventStore`. */
export class SqliteEventStore implements EventStore {
  /** Absolute path of the log file. */
  readonly file: string;
  readonly readonly: boolean;
  readonly #db: Database.Database;
  readonly #statements: Statements;
  readonly #clock: () => Date;
  readonly #appender: Appender;
  #closed = false;

  /** Use `openSqliteEventStore`, which checks and migrates the file first. */
  constructor(db: Database.Database, file: string, readonly: boolean, options: StoreOptions = {}) {
    this.#db = db;
    this.file = file;
    this.readonly = readonly;
    this.#clock = options.clock ?? (() => new Date());
    this.#statements = prepareStatements(db);
    const context: AppendContext = {
      saveSnapshot: (name, position, data) => this.saveSnapshot(name, position, data),
      loadSnapshot: <D>(name: string) => this.loadSnapshot<D>(name),
    };
    this.#appender = createAppender(db, this.#statements, options.onAppend, context);
  }

  append(streamId: string, events: readonly NewEvent[], options: AppendOptions = {}): AppendResult {
    return this.appendBatch([{ streamId, events, ...options }])[0]!;
  }

  appendBatch(appends: readonly StreamAppend[]): AppendResult[] {
    this.#guardWrite('append');
    const prepared = prepareAppends(appends, this.#clock);
    try {
      return this.#appender(prepared);
    } catch (err) {
      throw wrapSqliteError(err, this.file, 'append');
    }
  }

  readStream(streamId: string, options: ReadStreamOptions = {}): IterableIterator<RecordedEvent> {
    this.#guard();
    checkName(streamId, 'stream id', 'readStream');
    const range = readRange(options, 'readStream');
    return readStreamPages(this.#statements, streamId, range, (fetch) => this.#page('readStream', fetch));
  }

  readAll(options: ReadAllOptions = {}): IterableIterator<RecordedEvent> {
    this.#guard();
    const range = readRange(options, 'readAll');
    const types = options.types === undefined ? undefined : checkTypes(options.types);
    return readAllPages(this.#statements, range, types, (fetch) => this.#page('readAll', fetch));
  }

  lastPosition(): number {
    this.#guard();
    return this.#run('lastPosition', () => this.#statements.lastPosition.get() ?? 0);
  }

  streamVersion(streamId: string): number {
    this.#guard();
    checkName(streamId, 'stream id', 'streamVersion');
    return this.#run('streamVersion', () => this.#statements.streamVersion.get(streamId) ?? 0);
  }

  follow(options: FollowOptions = {}): AsyncIterableIterator<RecordedEvent> {
    this.#guard();
    return followEvents(this, options);
  }

  saveSnapshot(name: string, position: number, data: unknown): void {
    this.#guardWrite('saveSnapshot');
    checkName(name, 'snapshot name', 'saveSnapshot');
    checkSnapshotPosition(position);
    const json = snapshotJson(name, data);
    const writtenAt = this.#clock().toISOString();
    this.#run('saveSnapshot', () => saveSnapshot(this.#statements, name, position, json, writtenAt));
  }

  saveSnapshotTexts(rows: readonly SnapshotText[]): void {
    this.#guardWrite('saveSnapshotTexts');
    checkSnapshotTexts(rows);
    const writtenAt = this.#clock().toISOString();
    this.#run('saveSnapshotTexts', () =>
      this.#db.transaction(() => {
        for (const { name, position, json } of rows)
          saveSnapshot(this.#statements, name, position, json, writtenAt);
      })(),
    );
  }

  loadSnapshot<D = unknown>(name: string): Snapshot<D> | undefined {
    this.#guard();
    checkName(name, 'snapshot name', 'loadSnapshot');
    return this.#run('loadSnapshot', () => loadSnapshot<D>(this.#statements, name));
  }

  loadSnapshotText(name: string): Snapshot<string> | undefined {
    this.#guard();
    checkName(name, 'snapshot name', 'loadSnapshotText');
    return this.#run('loadSnapshotText', () => {
      const row = this.#statements.loadSnapshot.get(name);
      return row === undefined
        ? undefined
        : { name, position: row.position, data: row.data, writtenAt: row.writtenAt };
    });
  }

  importEvents(events: Iterable<RecordedEvent>): number {
    this.#guardWrite('importEvents');
    return this.#run('importEvents', () => importEvents(this.#db, this.#statements, events));
  }

  /**
   * The connection's effective SQLite settings, read back from SQLite (for diagnostics).
   *
   * @example
   * store.connectionSettings(); // { journalMode: 'wal', synchronous: 'full', busyTimeoutMs: 30000 }
   */
  connectionSettings(): {
    journalMode: string;
    synchronous: 'off' | 'normal' | 'full' | 'extra';
    busyTimeoutMs: number;
  } {
    this.#guard();
    return this.#run('connectionSettings', () => ({
      journalMode: String(this.#db.pragma('journal_mode', { simple: true })),
      synchronous: (['off', 'normal', 'full', 'extra'] as const)[
        Number(this.#db.pragma('synchronous', { simple: true }))
      ]!,
      busyTimeoutMs: Number(this.#db.pragma('busy_timeout', { simple: true })),
    }));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #run<T>(operation: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw wrapSqliteError(err, this.file, operation);
    }
  }

  /** One page of a lazy read: the store may have been closed since the iteration began. */
  #page<T>(operation: string, fetch: () => T): T {
    this.#guard();
    return this.#run(operation, fetch);
  }

  #guard(): void {
    if (this.#closed) {
      throw new StoreError('LOG_CLOSED', `the orch log ${this.file} is closed`, {
        hint: 'open it again; a closed store cannot be used',
        details: { file: this.file },
      });
    }
  }

  #guardWrite(operation: string): void {
    this.#guard();
    if (this.readonly) {
      throw new StoreError(
        'LOG_READ_ONLY',
        `${operation} refused: the orch log ${this.file} was opened read-only`,
        {
          hint: 'open it without { readonly: true } to write (read-only opens are for status, log and replay)',
          details: { file: this.file },
        },
      );
    }
  }
}
