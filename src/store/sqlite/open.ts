/**
 * Opening a log file: check it is an orch log (or nothing yet) before SQLite touches it,
 * refuse a newer schema before changing anything, then set pragmas and migrate.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { StoreOptions } from '../event-store.js';
import { StoreError } from '../errors.js';
import { inspectLogFile, notAnOrchLog, type LogFileState } from './file-check.js';
import { migrate, readSchemaVersion } from './migrate.js';
import { applyPragmas, DEFAULT_BUSY_TIMEOUT_MS, type Durability } from './pragmas.js';
import { LATEST_SCHEMA_VERSION, ORCH_APPLICATION_ID } from './schema.js';
import { wrapSqliteError } from './sqlite-errors.js';
import { nativeAddon } from './native-addon.js';
import { SqliteEventStore } from './sqlite-event-store.js';

/** Options of {@link openSqliteEventStore}. */
export interface SqliteStoreOptions extends StoreOptions {
  /**
   * Open for reading only (`status`, `log`, `replay`): never creates the log or its
   * directory and never changes it; a missing log is `StoreError('LOG_NOT_FOUND')`.
   */
  readonly?: boolean;
  /** Default `'full'`: an acknowledged append survives power loss. */
  durability?: Durability;
  /** How long to wait for another process's write lock (default 30 s). */
  busyTimeoutMs?: number;
}

/**
 * Opens (creating it if needed, unless read-only) the orch log at `file`.
 *
 * @example
 * const store = openSqliteEventStore('.state/orch.db');
 * const reader = openSqliteEventStore('.state/orch.db', { readonly: true });
 */
export function openSqliteEventStore(file: string, options: SqliteStoreOptions = {}): SqliteEventStore {
  const absolute = path.resolve(file);
  const readonly = options.readonly ?? false;
  const state = inspectLogFile(absolute);
  if (readonly && state !== 'orch') throw logNotFound(absolute, state);
  if (state === 'missing') fs.mkdirSync(path.dirname(absolute), { recursive: true });

  let db: Database.Database;
  try {
    db = new Database(absolute, { readonly, fileMustExist: readonly, ...nativeAddon() });
  } catch (err) {
    throw wrapSqliteError(err, absolute, 'open');
  }
  try {
    const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    // Setting up a new log (its mark, WAL mode, the schema) takes locks SQLite will not wait
    // for when several processes create the log at once (it reports busy at once, to avoid
    // a deadlock): each step is idempotent, so it is retried until the busy timeout.
    retryWhileBusy(busyTimeoutMs, () => {
      // The mark goes in before WAL mode, so it lands in the main file's header, where
      // inspectLogFile looks for it next time.
      if (state !== 'orch') db.pragma(`application_id = ${ORCH_APPLICATION_ID}`);
      if (db.pragma('application_id', { simple: true }) !== ORCH_APPLICATION_ID) {
        throw notAnOrchLog(absolute, 'its application_id is not the orch mark');
      }
      const version = readSchemaVersion(db, absolute);
      if (readonly && version < LATEST_SCHEMA_VERSION) {
        throw new StoreError(
          'SCHEMA_OUTDATED',
          `the orch log ${absolute} has schema version ${version}; this orch reads version ${LATEST_SCHEMA_VERSION}`,
          {
            hint: 'run a command that writes (e.g. orch spawn) once to upgrade it; read-only commands never change the log',
            details: { file: absolute, version, known: LATEST_SCHEMA_VERSION },
          },
        );
      }
      applyPragmas(db, { readonly, durability: options.durability ?? 'full', busyTimeoutMs });
      // Only an outdated log takes the write lock at open; an up-to-date one opens while another process writes.
      if (!readonly && version < LATEST_SCHEMA_VERSION)
        migrate(db, absolute, options.clock ?? (() => new Date()));
    });
    return new SqliteEventStore(db, absolute, readonly, options);
  } catch (err) {
    db.close();
    throw wrapSqliteError(err, absolute, 'open');
  }
}

/** Runs `step` again while SQLite reports the log busy, for up to `timeoutMs`, backing off. */
function retryWhileBusy(timeoutMs: number, step: () => void): void {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 2; ; wait = Math.min(wait * 2, 100)) {
    try {
      step();
      return;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const busy = typeof code === 'string' && code.startsWith('SQLITE_BUSY');
      if (!busy || Date.now() + wait > deadline) throw err;
      Atomics.wait(SLEEPER, 0, 0, wait);
    }
  }
}
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

function logNotFound(file: string, state: LogFileState): StoreError {
  return new StoreError(
    'LOG_NOT_FOUND',
    state === 'empty' ? `the orch log ${file} is empty` : `no orch log at ${file}`,
    {
      hint: 'run orch spawn or orch demo first (or pass --state-dir to point at another state directory)',
      details: { file },
    },
  );
}
