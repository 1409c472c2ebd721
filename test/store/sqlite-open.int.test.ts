import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  LATEST_SCHEMA_VERSION,
  ORCH_APPLICATION_ID,
  openSqliteEventStore,
  StoreError,
  type SqliteStoreOptions,
} from '../../src/store/index.js';
import { MIGRATIONS, SCHEMA_VERSION_TABLE_SQL } from '../../src/store/sqlite/schema.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-store-open-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function openError(file: string, options: SqliteStoreOptions = {}): StoreError {
  try {
    openSqliteEventStore(file, options).close();
  } catch (err) {
    expect(err).toBeInstanceOf(StoreError);
    return err as StoreError;
  }
  throw new Error(`expected opening ${file} to fail`);
}

/** Every file in `dir` with its bytes, to prove a refused open changed nothing. */
function snapshotDir(): Record<string, string> {
  return Object.fromEntries(
    fs
      .readdirSync(dir)
      .sort()
      .map((name) => {
        const full = path.join(dir, name);
        return [
          name,
          fs.statSync(full).isFile()
            ? crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex')
            : 'dir',
        ];
      }),
  );
}

function makeOrchLog(file: string): void {
  const store = openSqliteEventStore(file);
  store.append('s', [{ id: 'e1', type: 'T', data: { n: 1 } }]);
  store.close();
}

describe('opening a new log', () => {
  it('creates the directory, marks the file and applies the schema and pragmas', () => {
    const file = path.join(dir, 'state', 'nested', 'orch.db');
    const store = openSqliteEventStore(file);
    expect(store.connectionSettings()).toEqual({
      journalMode: 'wal',
      synchronous: 'full',
      busyTimeoutMs: 30_000,
    });
    store.append('s', [{ id: 'e1', type: 'T', data: {} }]);
    store.close();
    const header = fs.readFileSync(file).subarray(0, 100);
    expect(header.readUInt32BE(68)).toBe(ORCH_APPLICATION_ID);
    const db = new Database(file, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.prepare('SELECT version, name FROM schema_version ORDER BY version').all()).toEqual(
      MIGRATIONS.map(({ version, name }) => ({ version, name })),
    );
    expect(
      db.prepare('SELECT position, id, stream_id, stream_version, type, data, metadata FROM events').all(),
    ).toEqual([
      { position: 1, id: 'e1', stream_id: 's', stream_version: 1, type: 'T', data: '{}', metadata: '{}' },
    ]);
    db.close();
  });

  it("takes durability 'normal' and a busy timeout as options", () => {
    const store = openSqliteEventStore(path.join(dir, 'orch.db'), {
      durability: 'normal',
      busyTimeoutMs: 1234,
    });
    expect(store.connectionSettings()).toEqual({
      journalMode: 'wal',
      synchronous: 'normal',
      busyTimeoutMs: 1234,
    });
    store.close();
  });

  it('turns an empty file into a log and keeps events across reopening', () => {
    const file = path.join(dir, 'orch.db');
    fs.writeFileSync(file, '');
    makeOrchLog(file);
    const store = openSqliteEventStore(file);
    expect([...store.readAll()].map((e) => e.id)).toEqual(['e1']);
    expect(store.streamVersion('s')).toBe(1);
    store.close();
  });
});

describe('the events table is append-only', () => {
  it('refuses UPDATE and DELETE through any connection', () => {
    const file = path.join(dir, 'orch.db');
    makeOrchLog(file);
    const db = new Database(file);
    expect(() => db.prepare("UPDATE events SET type = 'X'").run()).toThrow(/append-only: UPDATE/);
    expect(() => db.prepare('DELETE FROM events').run()).toThrow(/append-only: DELETE/);
    expect(db.prepare('SELECT count(*) AS n, max(type) AS type FROM events').get()).toEqual({
      n: 1,
      type: 'T',
    });
    db.close();
  });
});

describe('refusing files that are not orch logs, untouched', () => {
  const cases: [string, (file: string) => void, RegExp][] = [
    [
      "another application's SQLite database",
      (file) => {
        const db = new Database(file);
        db.pragma('journal_mode = WAL');
        db.exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hello')");
        db.close();
      },
      /another application/,
    ],
    ['random bytes', (file) => fs.writeFileSync(file, crypto.randomBytes(8192)), /not a SQLite database/],
    ['a short text file', (file) => fs.writeFileSync(file, 'hello\n'), /not a SQLite database/],
    [
      'a database with the orch mark but foreign tables',
      (file) => {
        const db = new Database(file);
        db.pragma(`application_id = ${ORCH_APPLICATION_ID}`);
        db.exec('CREATE TABLE notes (body TEXT)');
        db.close();
      },
      /no schema_version/,
    ],
    ['a directory', (file) => fs.mkdirSync(file), /not a regular file/],
  ];
  for (const [label, make, reason] of cases) {
    for (const readonly of [false, true]) {
      it(`${label} (${readonly ? 'read-only' : 'read-write'})`, () => {
        const file = path.join(dir, 'orch.db');
        make(file);
        const before = snapshotDir();
        const err = openError(file, { readonly });
        expect(err.code).toBe('NOT_AN_ORCH_LOG');
        expect(err.message).toMatch(reason);
        expect(err.message).toContain(file);
        expect(err.hint).toContain('untouched');
        expect(snapshotDir()).toEqual(before);
      });
    }
  }

  it('a log written by a newer orch (SCHEMA_TOO_NEW), for both modes', () => {
    const file = path.join(dir, 'orch.db');
    makeOrchLog(file);
    const db = new Database(file);
    db.prepare('INSERT INTO schema_version VALUES (?, ?, ?)').run(
      LATEST_SCHEMA_VERSION + 1,
      'future',
      '2030-01-01',
    );
    db.close();
    const before = snapshotDir();
    for (const readonly of [false, true]) {
      const err = openError(file, { readonly });
      expect(err.code).toBe('SCHEMA_TOO_NEW');
      expect(err.message).toContain(`schema version ${LATEST_SCHEMA_VERSION + 1}`);
      expect(err.hint).toContain('upgrade orch');
    }
    // A read-only connection may leave SQLite's -wal/-shm beside the log; the log itself is unchanged.
    expect(snapshotDir()['orch.db']).toBe(before['orch.db']);
    expect(openError(file).code).toBe('SCHEMA_TOO_NEW');
  });
});

describe('read-only opens', () => {
  it('never create a missing log or its directory, and say what to do', () => {
    const file = path.join(dir, 'state', 'orch.db');
    const err = openError(file, { readonly: true });
    expect(err.code).toBe('LOG_NOT_FOUND');
    expect(err.message).toContain(file);
    expect(err.hint).toContain('run orch spawn or orch demo first');
    expect(fs.readdirSync(dir)).toEqual([]);
    fs.mkdirSync(path.dirname(file));
    expect(openError(file, { readonly: true }).code).toBe('LOG_NOT_FOUND');
    expect(fs.readdirSync(path.dirname(file))).toEqual([]);
  });

  it('refuse an empty file without writing to it', () => {
    const file = path.join(dir, 'orch.db');
    fs.writeFileSync(file, '');
    expect(openError(file, { readonly: true }).code).toBe('LOG_NOT_FOUND');
    expect(fs.statSync(file).size).toBe(0);
  });

  it('read without changing the log, refuse writes, and see later commits of a writer', () => {
    const file = path.join(dir, 'orch.db');
    makeOrchLog(file);
    const before = snapshotDir()['orch.db'];
    const reader = openSqliteEventStore(file, { readonly: true });
    expect([...reader.readAll()].map((e) => e.id)).toEqual(['e1']);
    expect(reader.loadSnapshot('none')).toBeUndefined();
    for (const write of [
      () => reader.append('s', [{ id: 'e2', type: 'T', data: 1 }]),
      () => reader.saveSnapshot('x', 1, {}),
      () => reader.importEvents([]),
    ]) {
      expect(write).toThrow(expect.objectContaining({ code: 'LOG_READ_ONLY' }));
    }
    const writer = openSqliteEventStore(file);
    writer.append('s', [{ id: 'e2', type: 'T', data: 2 }]);
    expect(reader.lastPosition()).toBe(2);
    reader.close();
    writer.close();
    // The writer, last to close, checkpointed e2 into the main file.
    const after = snapshotDir()['orch.db'];
    expect(after).not.toBe(before);
    const again = openSqliteEventStore(file, { readonly: true });
    expect([...again.readAll()].map((e) => e.id)).toEqual(['e1', 'e2']);
    again.close();
    expect(snapshotDir()['orch.db']).toBe(after);
  });
});

describe('migrations', () => {
  function makeVersion1Log(file: string): void {
    const db = new Database(file);
    db.pragma(`application_id = ${ORCH_APPLICATION_ID}`);
    db.pragma('journal_mode = WAL');
    db.exec(SCHEMA_VERSION_TABLE_SQL);
    db.exec(MIGRATIONS[0]!.sql);
    db.prepare("INSERT INTO schema_version VALUES (1, 'events', '2024-01-01T00:00:00.000Z')").run();
    db.prepare(
      "INSERT INTO events (id, stream_id, stream_version, type, data, metadata, recorded_at) VALUES ('old', 's', 1, 'T', '{\"v\":1}', '{}', '2024-01-01T00:00:00.000Z')",
    ).run();
    db.close();
  }

  it('a read-only open of an older log asks for an upgrade and changes nothing', () => {
    const file = path.join(dir, 'orch.db');
    makeVersion1Log(file);
    const before = snapshotDir()['orch.db'];
    const err = openError(file, { readonly: true });
    expect(err.code).toBe('SCHEMA_OUTDATED');
    expect(err.hint).toContain('orch spawn');
    expect(snapshotDir()['orch.db']).toBe(before);
  });

  it('a writing open upgrades an older log and keeps its events', () => {
    const file = path.join(dir, 'orch.db');
    makeVersion1Log(file);
    const store = openSqliteEventStore(file, { clock: () => new Date('2025-06-01T00:00:00.000Z') });
    expect([...store.readAll()].map((e) => [e.id, e.data])).toEqual([['old', { v: 1 }]]);
    store.saveSnapshot('s', 1, { ok: true });
    expect(store.append('s', [{ id: 'new', type: 'T', data: 2 }], { expectedVersion: 1 }).positions).toEqual([
      2,
    ]);
    store.close();
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT version, applied_at FROM schema_version ORDER BY version').all()).toEqual([
      { version: 1, applied_at: '2024-01-01T00:00:00.000Z' },
      { version: 2, applied_at: '2025-06-01T00:00:00.000Z' },
    ]);
    db.close();
  });
});

describe('lock contention', () => {
  it('reports a lock held past the busy timeout as LOG_BUSY, never a raw SQLITE_BUSY', () => {
    const file = path.join(dir, 'orch.db');
    makeOrchLog(file);
    const holder = new Database(file);
    holder.exec('BEGIN IMMEDIATE');
    const store = openSqliteEventStore(file, { busyTimeoutMs: 150 });
    const started = performance.now();
    let caught: unknown;
    try {
      store.append('s', [{ id: 'e2', type: 'T', data: {} }]);
    } catch (err) {
      caught = err;
    }
    expect(performance.now() - started).toBeGreaterThanOrEqual(100);
    expect(caught).toBeInstanceOf(StoreError);
    expect(caught).toMatchObject({ code: 'LOG_BUSY', details: { sqliteCode: 'SQLITE_BUSY' } });
    holder.exec('ROLLBACK');
    expect(store.append('s', [{ id: 'e2', type: 'T', data: {} }]).positions).toEqual([2]);
    holder.close();
    store.close();
  });
});
