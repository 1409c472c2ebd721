import fs from 'node:fs';
import path from 'node:path';
import { StoreError } from '../../store/errors.js';
import { openSqliteEventStore } from '../../store/sqlite/open.js';
import type { SqliteEventStore } from '../../store/sqlite/sqlite-event-store.js';

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
export function openLog(stateDir: string, options: { write?: boolean } = {}): SqliteEventStore {
  const file = logFile(stateDir);
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

function fileSize(file: string): number | null {
  try {
    return fs.statSync(file).size;
  } catch {
    return null;
  }
}
