import path from 'node:path';
import { checkJsonl, exportJsonl, importJsonl } from '../../store/jsonl.js';
import { OrchError } from '../../util/errors.js';
import { describeLocation, logLocation } from '../log/location.js';
import { createLog, openLog } from '../log/open.js';

/**
 * Moving a whole log between places (a SQLite file and a PostgreSQL database, either way) as
 * JSON Lines: `orch log --export FILE` writes every event with its id, position, stream
 * version and time; `orch log --import FILE` writes them, unchanged, into the log at the
 * configured place, which must be empty.
 */

/** What `orch log --export` / `--import` did. */
export interface LogTransfer {
  /** The JSON Lines file, absolute. */
  file: string;
  /** The log's place: the SQLite file, or the PostgreSQL URL without its password. */
  log: string;
  /** Events written. */
  events: number;
  /** The log's last position (0: empty). */
  position: number;
}

/**
 * The log of `stateDir` (where `ORCH_DATABASE_URL` / `store.url` put it) written to `file` as
 * JSON Lines; the file is replaced atomically.
 *
 * @example
 * exportLog({ stateDir: '/repo/.state', file: 'orch.jsonl' }); // { events: 42, position: 42, … }
 */
export function exportLog(request: { stateDir: string; file: string }): LogTransfer {
  const file = path.resolve(request.file);
  const store = openLog(request.stateDir);
  try {
    const events = exportJsonl(store, file);
    return { file, log: describeLocation(logLocation(request.stateDir)), events, position: events };
  } finally {
    store.close();
  }
}

/**
 * `file` (written by {@link exportLog}) imported into the log of `stateDir`, created if it
 * does not exist. The whole file is checked before anything is created or written
 * (`IMPORT_INVALID` naming the line); a log that already holds events is refused with
 * `LOG_NOT_EMPTY`. All or nothing.
 *
 * @example
 * importLog({ stateDir: '/repo/.state', file: 'orch.jsonl' }); // into ORCH_DATABASE_URL's database
 */
export function importLog(request: { stateDir: string; file: string }): LogTransfer {
  const file = path.resolve(request.file);
  const location = logLocation(request.stateDir);
  const place = describeLocation(location);
  const count = checkJsonl(file);
  if (count === 0) {
    throw new OrchError('IMPORT_INVALID', `cannot import ${file}: it holds no events`, {
      hint: 'pass a file written by orch log --export',
      details: { file },
    });
  }
  const store = createLog(location);
  try {
    const last = store.lastPosition();
    if (last > 0) {
      throw new OrchError(
        'LOG_NOT_EMPTY',
        `the log at ${place} already holds ${last} event(s); nothing was imported`,
        {
          hint: 'import into an empty log: point ORCH_DATABASE_URL / store.url (or --state-dir) at a new place',
          details: { log: place, position: last },
        },
      );
    }
    const events = importJsonl(store, file);
    return { file, log: place, events, position: store.lastPosition() };
  } finally {
    store.close();
  }
}
