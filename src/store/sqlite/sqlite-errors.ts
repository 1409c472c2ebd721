/**
 * Turns what better-sqlite3 throws into orch errors, so no raw `SQLITE_BUSY` (or any other
 * SQLite error) leaves the store without saying which log and what to do.
 */
import Database from 'better-sqlite3';
import { StoreError } from '../errors.js';

/**
 * True for SQLite's "UNIQUE constraint failed: events.id".
 *
 * @example
 * if (isDuplicateIdError(err)) return resolveRetry(...);
 */
export function isDuplicateIdError(err: unknown): boolean {
  return (
    err instanceof Database.SqliteError &&
    err.code === 'SQLITE_CONSTRAINT_UNIQUE' &&
    err.message.includes('events.id')
  );
}

/**
 * Wraps an error from a store operation: SQLite errors become a
 * `StoreError` naming the log file and the operation; other errors pass through.
 *
 * @example
 * try { stmt.run(); } catch (err) { throw wrapSqliteError(err, file, 'append'); }
 */
export function wrapSqliteError(err: unknown, file: string, operation: string): unknown {
  if (err instanceof Database.SqliteError) {
    const where = `${operation} on the orch log ${file}`;
    if (err.code.startsWith('SQLITE_BUSY')) {
      return new StoreError('LOG_BUSY', `${where} timed out: another process kept the log locked`, {
        hint: 'another orch process is writing for a long time; wait and retry, or raise busyTimeoutMs',
        cause: err,
        details: { file, sqliteCode: err.code },
      });
    }
    if (err.code.startsWith('SQLITE_READONLY')) {
      return new StoreError('LOG_READ_ONLY', `${where} failed: the file is read-only (${err.message})`, {
        hint: 'check the permissions of the log file and its directory',
        cause: err,
        details: { file, sqliteCode: err.code },
      });
    }
    if (
      err.code === 'SQLITE_FULL' ||
      (err.code.startsWith('SQLITE_IOERR') && /ENOSPC|disk is full/i.test(err.message))
    ) {
      // The transaction that failed wrote nothing; every event acknowledged before it is in the file.
      return new StoreError(
        'LOG_FULL',
        `${where} failed: the log cannot grow (${err.message}; ${err.code}). The write that failed was not recorded; every event recorded before it is intact`,
        {
          hint: `free space on the disk that holds ${file} (or raise the limit on its size), then run the same command again: it resumes where the log ends`,
          cause: err,
          details: { file, sqliteCode: err.code },
        },
      );
    }
    if (err.code === 'SQLITE_NOTADB') {
      return new StoreError('NOT_AN_ORCH_LOG', `${file} is not an orch event log: ${err.message}`, {
        hint: 'point --state-dir at an orch state directory, or move that file away',
        cause: err,
        details: { file },
      });
    }
    return new StoreError('STORE_FAILED', `${where} failed: ${err.message} (${err.code})`, {
      hint:
        err.code.startsWith('SQLITE_CORRUPT') || err.code.startsWith('SQLITE_IOERR')
          ? 'the file may be damaged; restore it from an export (orch keeps no other copy)'
          : 'this may be a bug in orch; please report it with this message',
      cause: err,
      details: { file, sqliteCode: err.code },
    });
  }
  // Anything else (an onAppend hook's own error, a bug) passes through unchanged, as in the memory twin.
  return err;
}
