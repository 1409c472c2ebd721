/**
 * The log's schema as numbered migrations. A migration is never edited once released: a
 * change is a new migration. Event shapes are upcast on read, never rewritten here.
 * docs/events.md ("The log schema") describes the result for people using `sqlite3`.
 */

/** `PRAGMA application_id` of every orch log: the ASCII bytes "orch". */
export const ORCH_APPLICATION_ID = 0x6f726368;

/** One step of the schema. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Where each migration's version is recorded; created before the first migration runs. */
export const SCHEMA_VERSION_TABLE_SQL = `
CREATE TABLE IF NOT EXISTS schema_version (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_at TEXT NOT NULL
) STRICT;`;

/**
 * Every migration, in order. The last version is the schema this build writes.
 *
 * @example
 * const latest = MIGRATIONS.at(-1)!.version;
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events',
    sql: `
CREATE TABLE events (
  position       INTEGER PRIMARY KEY,
  id             TEXT NOT NULL UNIQUE,
  stream_id      TEXT NOT NULL,
  stream_version INTEGER NOT NULL CHECK (stream_version >= 1),
  type           TEXT NOT NULL,
  data           TEXT NOT NULL,
  metadata       TEXT NOT NULL,
  recorded_at    TEXT NOT NULL,
  UNIQUE (stream_id, stream_version)
) STRICT;
CREATE INDEX events_by_type ON events (type, position);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
  SELECT RAISE(ABORT, 'the orch event log is append-only: UPDATE on events is refused');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
  SELECT RAISE(ABORT, 'the orch event log is append-only: DELETE on events is refused');
END;`,
  },
  {
    version: 2,
    name: 'snapshots',
    sql: `
CREATE TABLE snapshots (
  name       TEXT PRIMARY KEY,
  position   INTEGER NOT NULL,
  data       TEXT NOT NULL,
  written_at TEXT NOT NULL
) STRICT;`,
  },
];

/** The schema version this build reads and writes. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
