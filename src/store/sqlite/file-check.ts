/**
 * Looks at a log file's first 100 bytes (the SQLite header) before SQLite ever opens it, so
 * a file that is not an orch log is refused without being touched, and no `-wal`/`-shm`
 * files are created beside another application's database.
 */
import fs from 'node:fs';
import { StoreError } from '../errors.js';
import { ORCH_APPLICATION_ID } from './schema.js';

/** What is at the log's path. */
export type LogFileState = 'missing' | 'empty' | 'orch';

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const HEADER_SIZE = 100;
const APPLICATION_ID_OFFSET = 68;

/**
 * Classifies the file at `file`, throwing `StoreError('NOT_AN_ORCH_LOG')` for anything that
 * exists but is not an orch log: a directory, a non-SQLite file, another app's database.
 *
 * @example
 * if (inspectLogFile('.state/orch.db') === 'missing') console.log('a new log will be created');
 */
export function inspectLogFile(file: string): LogFileState {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw new StoreError('STORE_FAILED', `cannot read the orch log ${file}: ${(err as Error).message}`, {
      hint: 'check the path and its permissions',
      cause: err,
    });
  }
  if (!stat.isFile()) throw notAnOrchLog(file, 'it is not a regular file');
  if (stat.size === 0) return 'empty';
  const header = Buffer.alloc(HEADER_SIZE);
  let read: number;
  const fd = fs.openSync(file, 'r');
  try {
    read = fs.readSync(fd, header, 0, HEADER_SIZE, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (read < HEADER_SIZE || !header.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) {
    throw notAnOrchLog(file, 'it is not a SQLite database');
  }
  const applicationId = header.readUInt32BE(APPLICATION_ID_OFFSET);
  if (applicationId !== ORCH_APPLICATION_ID) {
    throw notAnOrchLog(
      file,
      `it is a SQLite database of another application (application_id 0x${applicationId.toString(16)}, orch logs have 0x${ORCH_APPLICATION_ID.toString(16)})`,
    );
  }
  return 'orch';
}

/**
 * The error for a file that is not an orch log.
 *
 * @example
 * throw notAnOrchLog('/tmp/x.db', 'it has no schema_version table');
 */
export function notAnOrchLog(file: string, why: string): StoreError {
  return new StoreError('NOT_AN_ORCH_LOG', `${file} is not an orch event log: ${why}`, {
    hint: 'point --state-dir at an orch state directory, or move that file away; it was left untouched',
    details: { file },
  });
}
