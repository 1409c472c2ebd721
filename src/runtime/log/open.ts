import fs from 'node:fs';
import path from 'node:path';
import { StoreError } from '../../store/errors.js';
import { OrchError } from '../../util/errors.js';
import { openSqliteEventStore } from '../../store/sqlite/open.js';
import type { EventStore } from '../../store/event-store.js';
import type { Durability } from '../../store/sqlite/pragmas.js';
import { openPostgresSyncStore } from '../../store/postgres/sync-store.js';
import { describeLocation, logLocation, type LogLocation } from './location.js';

/**
 * Opening the log for the read model and the log's commands. Kept apart from the fold so
 * a command that only needs a cached document does not load XState.
 */

/**
 * `<state-dir>/orch.db`.
 *
 * @example
 * logFile('/repo/.state'); // '/repo/.state/orch.db'
 */
export function logFile(stateDir: string): string {
  return path.join(stateDir, 'orch.db');
}

/**
 * Opens the log at `<state-dir>/orch.db`: read-only by default (never creates or changes
 * it); `{ write: true }` for commands that append (`signal`, `ci`), which still refuse to
 * create a log that does not exist. A missing log is `StoreError('LOG_NOT_FOUND')` with the
 * hint "run orch spawn or orch demo first"; a file that is not an orch log is refused
 * untouched (`NOT_AN_ORCH_LOG`).
 *
 * @example
 * const store = openLog('/repo/.state');
 * try { console.log(store.lastPosition()); } finally { store.close(); }
 */
export function openLog(stateDir: string, options: { write?: boolean; url?: string } = {}): EventStore {
  const location = logLocation(stateDir, options.url);
  if (location.kind === 'postgres') {
    return openPostgresSyncStore(location.url, {
      ...(options.write === true ? { mustExist: true } : { readonly: true }),
      ...waitOption(),
    });
  }
  const file = location.file;
  if (options.write === true) {
    const size = fileSize(file);
    if (size === null || size === 0) {
      throw new StoreError('LOG_NOT_FOUND', `no orch log at ${file}`, {
        hint: 'run orch spawn or orch demo first (or pass --state-dir / set ORCH_STATE_DIR to point at another state directory)',
        details: { file },
      });
    }
    return openSqliteEventStore(file);
  }
  return openSqliteEventStore(file, { readonly: true });
}

/**
 * Opens the log at `location` for writing, creating it when it does not exist (`orch spawn`,
 * `orch demo`, a fork): the SQLite file, or the orch schema in the PostgreSQL database.
 *
 * @example
 * const store = createLog(logLocation(stateDir, config.store?.url), { clock: () => clock.now() });
 */
export function createLog(
  location: LogLocation,
  options: { clock?: () => Date; durability?: Durability } = {},
): EventStore {
  if (location.kind === 'postgres') {
    return openPostgresSyncStore(location.url, {
      ...(options.clock ? { clock: options.clock } : {}),
      ...waitOption(),
    });
  }
  fs.mkdirSync(path.dirname(location.file), { recursive: true });
  return openSqliteEventStore(location.file, {
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.durability ? { durability: options.durability } : {}),
  });
}

/**
 * The log opened read-only, or null when there is none yet (no SQLite file; no orch schema in
 * the PostgreSQL database). Other failures (a foreign file, an unreachable server) throw.
 *
 * @example
 * const store = openLogIfAny(stateDir); // null before the first `orch spawn`
 */
export function openLogIfAny(stateDir: string): EventStore | null {
  const location = logLocation(stateDir);
  if (location.kind === 'sqlite' && (fileSize(location.file) ?? 0) === 0) return null;
  try {
    return openLog(stateDir);
  } catch (err) {
    if (err instanceof StoreError && err.code === 'LOG_NOT_FOUND') return null;
    throw err;
  }
}

/** Where the log of `stateDir` is, for messages (a PostgreSQL URL without its password). */
export function logPlace(stateDir: string, url?: string): string {
  return describeLocation(logLocation(stateDir, url));
}

/**
 * The environment variable bounding how long a PostgreSQL call waits for an unreachable
 * server before `LOG_UNREACHABLE`, in seconds (default 30).
 */
export const DATABASE_TIMEOUT_ENV = 'ORCH_DATABASE_TIMEOUT';

/**
 * `ORCH_DATABASE_TIMEOUT` as the store's `reconnectTimeoutMs`: nothing when unset (the store's
 * 30 s); a value that is not a number of seconds above 0 (at most a day) is `CONFIG_INVALID`.
 *
 * @example
 * databaseTimeoutMs({ ORCH_DATABASE_TIMEOUT: '2' }); // 2000
 */
export function databaseTimeoutMs(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env[DATABASE_TIMEOUT_ENV];
  if (raw === undefined || raw.trim() === '') return undefined;
  const seconds = Number(raw.trim());
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400) {
    throw new OrchError('CONFIG_INVALID', `${DATABASE_TIMEOUT_ENV} is not a number of seconds: ${raw}`, {
      hint: `set ${DATABASE_TIMEOUT_ENV} to how long to wait for an unreachable PostgreSQL server, in seconds above 0 (e.g. 5), or unset it for 30`,
      details: { key: DATABASE_TIMEOUT_ENV },
    });
  }
  return Math.round(seconds * 1000);
}

function waitOption(): { reconnectTimeoutMs?: number } {
  const ms = databaseTimeoutMs();
  return ms === undefined ? {} : { reconnectTimeoutMs: ms };
}

function fileSize(file: string): number | null {
  try {
    return fs.statSync(file).size;
  } catch {
    return null;
  }
}
