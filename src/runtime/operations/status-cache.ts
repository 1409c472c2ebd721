import Database from 'better-sqlite3';
import { withLease, type LeaseView } from '../../core/status-lease.js';
import { STATUS_SNAPSHOT } from '../log/snapshot-names.js';
import { logLocation } from '../log/location.js';
import { inspectLogFile } from '../../store/sqlite/file-check.js';
import { nativeAddon } from '../../store/sqlite/native-addon.js';
import { LATEST_SCHEMA_VERSION, ORCH_APPLICATION_ID } from '../../store/sqlite/schema.js';
import { readLeaseView } from '../system/lease.js';
import type { StatusExtras } from '../render/status-extras.js';
import { STATUS_EXTRA_TYPES } from './status-extra-types.js';

export { STATUS_EXTRA_TYPES } from './status-extra-types.js';

/**
 * `orch status` on a local log, read with as few modules as possible — no event store, no
 * XState — so the command costs little more than starting: the cached document when it is
 * current (the common case: a run saves it when it stops), else the status state's parts
 * with the tasks the events after them name folded (`statusFromParts`: a running orch saves
 * them every few thousand events). Whenever anything is not plainly so (PostgreSQL, a
 * missing, foreign or outdated log, no usable snapshot, a tail the parts cannot serve, an
 * event that adds extras to the document, any error), it answers `undefined` and the
 * command takes the full path (`orchStatus`), which gives the same document or says what
 * is wrong.
 */

/** The cached status, as `orchStatus` gives it for a log without extras (the same shape, minus `source`). */
export interface CachedStatus {
  /** The status document as JSON text, without the lease. */
  documentJson: string;
  /** `orch status --json`: the document with `lease` added. */
  json: string;
  lease: LeaseView | null;
  position: number;
  /** Always empty here: a log with extras goes to the full path. */
  extras: StatusExtras;
  /** Always empty here: a cache that is not usable goes to the full path, which says so. */
  warnings: string[];
}

/**
 * The current status from the status document cache of `<stateDir>/orch.db`, or undefined
 * (take the full path). Read-only, in one read transaction.
 *
 * @example
 * const cached = (await cachedStatus('/repo/.state')) ?? (await orchStatus('/repo/.state'));
 */
export async function cachedStatus(stateDir: string): Promise<CachedStatus | undefined> {
  const found = await probeStatus(stateDir, true);
  return found === 'behind' ? undefined : found;
}

/**
 * {@link cachedStatus}, or `'behind'` when the cached document is behind the log and
 * `foldTail` is false (the caller folds the tail elsewhere: `status-prefetch.ts`).
 *
 * @example
 * const quick = await probeStatus('/repo/.state', false); // the cached document, 'behind' or undefined
 */
export async function probeStatus(
  stateDir: string,
  foldTail: boolean,
): Promise<CachedStatus | 'behind' | undefined> {
  let db: Database.Database | undefined;
  try {
    const location = logLocation(stateDir);
    if (location.kind !== 'sqlite' || inspectLogFile(location.file) !== 'orch') return undefined;
    db = new Database(location.file, { readonly: true, fileMustExist: true, ...nativeAddon() });
    const conn = db;
    if (conn.pragma('application_id', { simple: true }) !== ORCH_APPLICATION_ID) return undefined;
    const read = conn.transaction((): { json: string; position: number } | 'behind' | undefined => {
      if (!plainLog(conn)) return undefined;
      const last = lastPosition(conn);
      const at = conn.prepare('SELECT position FROM snapshots WHERE name = ?').pluck();
      if (at.get(STATUS_SNAPSHOT) !== last) return 'behind';
      const row = conn.prepare('SELECT position, data FROM snapshots WHERE name = ?').get(STATUS_SNAPSHOT) as
        { position: number; data: unknown } | undefined;
      if (row === undefined || row.position !== last || typeof row.data !== 'string') return undefined;
      if (!row.data.startsWith('{"') || !row.data.endsWith('}')) return undefined;
      return { json: row.data, position: last };
    });
    let found = read();
    if (found === 'behind' && !foldTail) return 'behind';
    if (found === 'behind') {
      // The fold of the tail is in a module of its own: the common case above never loads it.
      const { statusFromTail } = await import('./status-tail.js');
      found = conn.transaction(() =>
        plainLog(conn) ? statusFromTail(conn, lastPosition(conn)) : undefined,
      )();
    }
    if (found === undefined) return undefined;
    const lease = readLeaseView(stateDir);
    return {
      documentJson: found.json,
      json: withLease(found.json, lease),
      lease,
      position: found.position,
      extras: {},
      warnings: [],
    };
  } catch {
    return undefined;
  } finally {
    db?.close();
  }
}

/** A log at this build's schema with no event that adds extras to the document. */
function plainLog(conn: Database.Database): boolean {
  const version = conn.prepare('SELECT max(version) FROM schema_version').pluck().get();
  if (version !== LATEST_SCHEMA_VERSION) return false;
  const extra = conn
    .prepare(`SELECT 1 FROM events WHERE type IN (${STATUS_EXTRA_TYPES.map(() => '?').join(', ')}) LIMIT 1`)
    .get(...STATUS_EXTRA_TYPES);
  return extra === undefined;
}

function lastPosition(conn: Database.Database): number {
  return (conn.prepare('SELECT max(position) FROM events').pluck().get() as number | null) ?? 0;
}
