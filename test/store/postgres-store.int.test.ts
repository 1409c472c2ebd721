/**
 * The PostgreSQL store on a real, throwaway server: the common store contract, then what only
 * a server has — a foreign or newer schema, the append-only rule enforced by the database,
 * many writers and a follower that never skips a position, LISTEN waking followers, and a
 * server restart in the middle of appends.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/core/envelope.js';
import {
  exportJsonl,
  exportJsonlAsync,
  importJsonl,
  importJsonlAsync,
  openSqliteEventStore,
} from '../../src/store/index.js';
import { openPostgresEventStore } from '../../src/store/postgres/open.js';
import type { PostgresEventStore } from '../../src/store/postgres/postgres-event-store.js';
import { usePostgres } from '../setup/postgres.js';
import { collect, defineStoreContract, event } from './contract.js';

const pg_ = usePostgres('orch_test');
const enabled = pg_.enabled;
const freshDatabase = pg_.freshDatabase;

describe.runIf(enabled)('postgres store', () => {
  defineStoreContract(
    'postgres store',
    (options) => openPostgresEventStore(freshDatabase(), { clock: options.clock }),
    { onAppend: false },
  );

  describe('opening', () => {
    it('refuses a database whose orch schema is not an orch log, and one newer than this orch, changing nothing', async () => {
      const foreign = freshDatabase();
      const raw = new pg.Client({ connectionString: foreign });
      await raw.connect();
      await raw.query('CREATE SCHEMA orch; CREATE TABLE orch.invoices (id int)');
      await expect(openPostgresEventStore(foreign)).rejects.toMatchObject({
        code: 'NOT_AN_ORCH_LOG',
        message: expect.stringContaining('invoices'),
      });
      const tables = await raw.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'orch'",
      );
      expect(tables.rows).toEqual([{ table_name: 'invoices' }]);
      await raw.end();

      const newer = freshDatabase();
      const store = await openPostgresEventStore(newer);
      await store.close();
      const admin = new pg.Client({ connectionString: newer });
      await admin.connect();
      await admin.query(
        "INSERT INTO orch.schema_version (version, name, applied_at, mark) VALUES (99, 'future', 'x', 'orch event log')",
      );
      await admin.end();
      await expect(openPostgresEventStore(newer)).rejects.toMatchObject({ code: 'SCHEMA_TOO_NEW' });
    });

    it('opens read-only only an existing log, and refuses writes through it', async () => {
      const url = freshDatabase();
      await expect(openPostgresEventStore(url, { readonly: true })).rejects.toMatchObject({
        code: 'LOG_NOT_FOUND',
      });
      const writer = await openPostgresEventStore(url);
      await writer.append('s', [event('1')]);
      const reader = await openPostgresEventStore(url, { readonly: true });
      expect((await collect(reader.readAll())).map((e) => e.id)).toEqual(['1']);
      await expect(reader.append('s', [event('2')])).rejects.toMatchObject({ code: 'LOG_READ_ONLY' });
      await reader.close();
      await writer.close();
    });

    it('says clearly when the server cannot be reached, a database is missing, or a URL is not PostgreSQL', async () => {
      const closedPort = `postgres://postgres@127.0.0.1:1/orch`;
      await expect(openPostgresEventStore(closedPort, { reconnectTimeoutMs: 200 })).rejects.toMatchObject({
        code: 'LOG_UNREACHABLE',
        hint: expect.stringContaining('ORCH_DATABASE_URL'),
      });
      const missing = pg_.server().url.replace(/\/postgres$/, '/no_such_db');
      await expect(openPostgresEventStore(missing)).rejects.toMatchObject({ code: 'LOG_NOT_FOUND' });
      await expect(openPostgresEventStore('mysql://x/y')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      const secret = `postgres://postgres:hunter2@127.0.0.1:1/orch`;
      const err = await openPostgresEventStore(secret, { reconnectTimeoutMs: 100 }).catch((e: unknown) => e);
      expect(String((err as Error).message)).not.toContain('hunter2');
    });

    it('migrates once when several processes open a new log at the same time', async () => {
      const url = freshDatabase();
      const stores = await Promise.all(Array.from({ length: 6 }, () => openPostgresEventStore(url)));
      const raw = new pg.Client({ connectionString: url });
      await raw.connect();
      const { rows } = await raw.query('SELECT version FROM orch.schema_version ORDER BY version');
      expect(rows.map((row) => row.version)).toEqual([1, 2]);
      await raw.end();
      await Promise.all(stores.map((store) => store.close()));
    });
  });

  it('enforces append-only in the database itself: UPDATE, DELETE and TRUNCATE are refused', async () => {
    const url = freshDatabase();
    const store = await openPostgresEventStore(url);
    await store.append('s', [event('1')]);
    const raw = new pg.Client({ connectionString: url });
    await raw.connect();
    for (const sql of [
      "UPDATE orch.events SET type = 'Forged'",
      'DELETE FROM orch.events',
      'TRUNCATE orch.events',
    ]) {
      await expect(raw.query(sql), sql).rejects.toThrow(/append-only/);
    }
    await raw.end();
    expect((await collect(store.readAll())).map((e) => e.type)).toEqual(['Thing']);
    await store.close();
  });

  it('never lets a follower skip a position: 8 writers on their own connections, one follower', async () => {
    const url = freshDatabase();
    const writers = await Promise.all(Array.from({ length: 8 }, () => openPostgresEventStore(url)));
    const follower = await openPostgresEventStore(url, { readonly: false });
    const controller = new AbortController();
    const perWriter = 40;
    const total = writers.length * perWriter;
    const seen: RecordedEvent[] = [];
    const following = (async () => {
      for await (const e of follower.follow({ signal: controller.signal, pollIntervalMs: 5 })) {
        seen.push(e);
        if (seen.length === total) controller.abort();
      }
    })();
    await Promise.all(
      writers.map(async (writer, w) => {
        for (let i = 0; i < perWriter; i++) {
          // Two streams per writer and a shared one: version conflicts on the shared stream are retried.
          await writer.append(`w${w}`, [event(`w${w}-${i}`)]);
          if (i % 10 === 0) await writer.append('shared', [event(`shared-${w}-${i}`)]).catch(() => undefined);
        }
      }),
    );
    const expected = await follower.lastPosition();
    const rest = total;
    expect(expected).toBeGreaterThanOrEqual(rest);
    // The follower stops after `total`; the shared-stream events make the log longer, read them too.
    await following;
    const tail = await collect(follower.readAll({ from: seen.length + 1 }));
    const positions = [...seen, ...tail].map((e) => e.position);
    expect(positions).toEqual(Array.from({ length: expected }, (_, i) => i + 1));
    for (const writer of writers) await writer.close();
    await follower.close();
  });

  it('wakes a follower by LISTEN/NOTIFY, not by its polling interval', async () => {
    const url = freshDatabase();
    const store = await openPostgresEventStore(url);
    const other = await openPostgresEventStore(url);
    const controller = new AbortController();
    const seen: string[] = [];
    let arrived: () => void = () => undefined;
    const first = new Promise<void>((resolve) => (arrived = resolve));
    const following = (async () => {
      // An hour between polls: only a notification can deliver the event in time.
      for await (const e of store.follow({ signal: controller.signal, pollIntervalMs: 3_600_000 })) {
        seen.push(e.id);
        arrived();
      }
    })();
    // Let the follower reach its wait (it has read the empty log and is listening).
    await new Promise((resolve) => setTimeout(resolve, 300));
    await other.append('s', [event('from-another-connection')]);
    const timedOut = await Promise.race([
      first.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 20_000)),
    ]);
    expect(timedOut).toBe(false);
    expect(seen).toEqual(['from-another-connection']);
    controller.abort();
    await following;
    await store.close();
    await other.close();
  });

  it('keeps appending across a server restart: calls wait for the server, nothing acknowledged is lost or doubled', async () => {
    const url = freshDatabase();
    const store: PostgresEventStore = await openPostgresEventStore(url, { reconnectTimeoutMs: 60_000 });
    const acknowledged: string[] = [];
    let restarted = false;
    let afterRestart = 0;
    const writing = (async () => {
      for (let i = 0; afterRestart < 20; i++) {
        const id = `e${i}`;
        await store.append('s', [event(id)]);
        acknowledged.push(id);
        if (restarted) afterRestart++;
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The server is killed (as a crash) and down for a second while the writer keeps going.
    await pg_.server().restart('immediate', 1000);
    restarted = true;
    await writing;
    const ids = (await collect(store.readAll())).map((e) => e.id);
    expect(ids).toEqual(acknowledged);
    expect(new Set(ids).size).toBe(ids.length);
    await store.close();
  });
});

describe.runIf(enabled)('moving a log between SQLite and PostgreSQL', () => {
  it('round-trips a real run log SQLite → JSONL → PostgreSQL → JSONL → SQLite, positions, ids and bytes intact', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-pg-move-'));
    try {
      // A real log: the demo run's, written by the CLI (its plan, agents, merges and CI).
      const repo = path.join(dir, 'repo');
      const demo = spawnSync(
        process.execPath,
        [path.resolve('bin/run.js'), 'demo', '--dir', repo, '--json'],
        {
          encoding: 'utf8',
          timeout: 120_000,
        },
      );
      const sqliteFile = findLog(dir);
      expect(sqliteFile, demo.stderr).toBeDefined();
      const sqlite = openSqliteEventStore(sqliteFile!, { readonly: true });
      const first = path.join(dir, 'first.jsonl');
      const count = exportJsonl(sqlite, first);
      expect(count).toBeGreaterThan(20);

      const url = freshDatabase();
      const postgres = await openPostgresEventStore(url);
      expect(await importJsonlAsync(postgres, first)).toBe(count);
      const second = path.join(dir, 'second.jsonl');
      expect(await exportJsonlAsync(postgres, second)).toBe(count);
      expect(fs.readFileSync(second)).toEqual(fs.readFileSync(first));

      // A second import of the same file is refused as a whole: nothing doubles.
      await expect(importJsonlAsync(postgres, first)).rejects.toMatchObject({
        code: 'IMPORT_INVALID',
        line: 1,
      });
      expect(await postgres.lastPosition()).toBe(count);

      const back = openSqliteEventStore(path.join(dir, 'back', 'orch.db'));
      expect(importJsonl(back, second)).toBe(count);
      expect([...back.readAll()]).toEqual([...sqlite.readAll()]);
      back.close();
      sqlite.close();
      await postgres.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

function findLog(root: string): string | undefined {
  for (const entry of fs.readdirSync(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name === 'orch.db') return path.join(entry.parentPath, entry.name);
  }
  return undefined;
}
