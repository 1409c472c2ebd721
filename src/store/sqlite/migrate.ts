/**
 * Reads and upgrades the schema version of a log. A log written by a newer orch (a version
 * this build does not know) is refused before anything is changed.
 */
import type Database from 'better-sqlite3';
import { StoreError } from '../errors.js';
import { notAnOrchLog } from './file-check.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, SCHEMA_VERSION_TABLE_SQL } from './schema.js';

/**
 * The log's schema version (0: a new, empty log). Throws `NOT_AN_ORCH_LOG` for a database
 * with tables but no `schema_version`, and `SCHEMA_TOO_NEW` for a version above this build's.
 *
 * @example
 * const version = readSchemaVersion(db, '.state/orch.db');
 */
export function readSchemaVersion(db: Database.Database, file: string): number {
  const tables = db
    .prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    .pluck()
    .all();
  if (!tables.includes('schema_version')) {
    if (tables.length > 0)
      throw notAnOrchLog(file, `it has tables (${tables.slice(0, 3).join(', ')}) but no schema_version`);
    return 0;
  }
  const version = db.prepare<[], number | null>('SELECT max(version) FROM schema_version').pluck().get() ?? 0;
  if (version > LATEST_SCHEMA_VERSION) {
    throw new StoreError(
      'SCHEMA_TOO_NEW',
      `the orch log ${file} has schema version ${version}, newer than this orch knows (${LATEST_SCHEMA_VERSION})`,
      {
        hint: 'upgrade orch to read this log; it was left untouched',
        details: { file, version, known: LATEST_SCHEMA_VERSION },
      },
    );
  }
  return version;
}

/**
 * Applies every migration the log lacks, in one write transaction (all or none), re-reading
 * the version inside it in case another process migrated first.
 *
 * @example
 * migrate(db, '.state/orch.db', () => new Date());
 */
export function migrate(db: Database.Database, file: string, clock: () => Date): void {
  db.transaction(() => {
    const current = readSchemaVersion(db, file);
    if (current === LATEST_SCHEMA_VERSION) return;
    db.exec(SCHEMA_VERSION_TABLE_SQL);
    const record = db.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)');
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, clock().toISOString());
    }
  }).immediate();
}
