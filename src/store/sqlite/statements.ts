/**
 * Every SQL statement of the store, prepared once per connection. Reads use `.raw()` rows
 * (arrays), which better-sqlite3 builds faster than objects.
 */
import type Database from 'better-sqlite3';

/** A raw `events` row: position, id, stream_id, stream_version, type, data, metadata, recorded_at. */
export type RawEventRow = [number, string, string, number, string, string, string, string];

const EVENT_COLUMNS = 'position, id, stream_id, stream_version, type, data, metadata, recorded_at';

/** The prepared statements of one connection. */
export interface Statements {
  streamVersion: Database.Statement<[string], number>;
  lastPosition: Database.Statement<[], number | null>;
  insert: Database.Statement<[string, string, number, string, string, string, string]>;
  insertAt: Database.Statement<[number, string, string, number, string, string, string, string]>;
  findById: Database.Statement<[string], { position: number; streamId: string; streamVersion: number }>;
  readPage: Database.Statement<[number, number, number], RawEventRow>;
  readTypesPage: Database.Statement<[number, number, string, number], RawEventRow>;
  readStreamPage: Database.Statement<[string, number, number, number], RawEventRow>;
  saveSnapshot: Database.Statement<[string, number, string, string]>;
  loadSnapshot: Database.Statement<[string], { position: number; data: string; writtenAt: string }>;
}

/**
 * Prepares the statements (the schema must be at the latest version).
 *
 * @example
 * const statements = prepareStatements(db);
 * statements.streamVersion.get('task-T1') ?? 0;
 */
export function prepareStatements(db: Database.Database): Statements {
  return {
    // The (stream_id, stream_version) unique index answers this with one seek.
    streamVersion: db
      .prepare<[string], number>(
        'SELECT stream_version FROM events WHERE stream_id = ? ORDER BY stream_version DESC LIMIT 1',
      )
      .pluck(),
    lastPosition: db.prepare<[], number | null>('SELECT max(position) FROM events').pluck(),
    insert: db.prepare(
      'INSERT INTO events (id, stream_id, stream_version, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    insertAt: db.prepare(`INSERT INTO events (${EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
    findById: db.prepare(
      'SELECT position, stream_id AS streamId, stream_version AS streamVersion FROM events WHERE id = ?',
    ),
    readPage: db
      .prepare<[number, number, number], RawEventRow>(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE position >= ? AND position <= ? ORDER BY position LIMIT ?`,
      )
      .raw(),
    readTypesPage: db
      .prepare<[number, number, string, number], RawEventRow>(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE position >= ? AND position <= ?
         AND type IN (SELECT value FROM json_each(?)) ORDER BY position LIMIT ?`,
      )
      .raw(),
    readStreamPage: db
      .prepare<[string, number, number, number], RawEventRow>(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = ? AND stream_version >= ? AND stream_version <= ?
         ORDER BY stream_version LIMIT ?`,
      )
      .raw(),
    saveSnapshot: db.prepare(
      `INSERT INTO snapshots (name, position, data, written_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET position = excluded.position, data = excluded.data, written_at = excluded.written_at`,
    ),
    loadSnapshot: db.prepare('SELECT position, data, written_at AS writtenAt FROM snapshots WHERE name = ?'),
  };
}
