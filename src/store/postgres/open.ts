/**
 * Opening the PostgreSQL log: reach the server (waiting a while if it is starting), check the
 * `orch` schema is an orch log (or absent), refuse a newer schema before changing anything,
 * then migrate under an advisory lock so several workers opening at once migrate once.
 */
import pg from 'pg';
import { StoreError } from '../errors.js';
import { DEFAULT_RECONNECT_TIMEOUT_MS } from './defaults.js';
import { isConnectionError, redactUrl, wrapPostgresError } from './errors.js';
import { PostgresEventStore } from './postgres-event-store.js';
import {
  BOOTSTRAP_SQL,
  MIGRATE_LOCK_KEY,
  ORCH_MARK,
  POSTGRES_MIGRATIONS,
  POSTGRES_SCHEMA_VERSION,
} from './schema.js';

/** Options of {@link openPostgresEventStore}. */
export interface PostgresStoreOptions {
  /** Clock for `recordedAt` when an event has none, and for snapshot `writtenAt`. */
  clock?: () => Date;
  /** Read only (`status`, `log`, `replay`): never creates or migrates the schema. */
  readonly?: boolean;
  /**
   * Writable, but refuse (`LOG_NOT_FOUND`) rather than create a log where there is none
   * (`orch signal`, `orch ci`: a typo in the URL must not start an empty log). Default false.
   */
  mustExist?: boolean;
  /** Connections in the pool (default 4). */
  poolSize?: number;
  /** How long a call waits for an unreachable server before `LOG_UNREACHABLE` (default 30 s). */
  reconnectTimeoutMs?: number;
}

export { DEFAULT_RECONNECT_TIMEOUT_MS } from './defaults.js';

/**
 * Opens (creating its schema if needed, unless read-only) the orch log in the PostgreSQL
 * database at `url`.
 *
 * @example
 * const store = await openPostgresEventStore('postgres://orch:secret@db.internal/orch');
 * await store.append('plan', [event], { expectedVersion: 'no_stream' });
 * await store.close();
 */
export async function openPostgresEventStore(
  url: string,
  options: PostgresStoreOptions = {},
): Promise<PostgresEventStore> {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new StoreError('INVALID_ARGUMENT', `not a PostgreSQL URL: ${redactUrl(url)}`, {
      hint: 'write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE',
    });
  }
  const readonly = options.readonly ?? false;
  const reconnectTimeoutMs = options.reconnectTimeoutMs ?? DEFAULT_RECONNECT_TIMEOUT_MS;
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 4 });
  // An idle connection the server dropped (a restart) is an 'error' on the pool: without a
  // listener it would crash the process. The next query takes a fresh connection.
  pool.on('error', () => undefined);
  try {
    const client = await connectWaiting(pool, url, reconnectTimeoutMs);
    try {
      await prepareSchema(
        client,
        url,
        readonly,
        options.clock ?? (() => new Date()),
        options.mustExist === true,
      );
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw wrapPostgresError(err, url, 'open');
  }
  return new PostgresEventStore(pool, {
    url,
    readonly,
    clock: options.clock ?? (() => new Date()),
    reconnectTimeoutMs,
  });
}

async function connectWaiting(pool: pg.Pool, url: string, timeoutMs: number): Promise<pg.PoolClient> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 50; ; wait = Math.min(wait * 2, 1000)) {
    try {
      return await pool.connect();
    } catch (err) {
      if (!isConnectionError(err) || Date.now() + wait > deadline) throw wrapPostgresError(err, url, 'open');
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/** The log's schema version (0: no orch schema yet); refuses a foreign or newer one. */
async function readVersion(client: pg.PoolClient, url: string): Promise<number> {
  const { rows: tables } = await client.query<{ name: string }>(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'orch' ORDER BY table_name",
  );
  if (tables.length === 0) return 0;
  if (!tables.some((table) => table.name === 'schema_version')) {
    throw notAnOrchLog(
      url,
      `its schema "orch" has tables (${tables
        .slice(0, 3)
        .map((t) => t.name)
        .join(', ')}) but no schema_version`,
    );
  }
  const { rows } = await client.query<{ version: number | null; marks: string[] | null }>(
    'SELECT max(version) AS version, array_agg(DISTINCT mark) AS marks FROM orch.schema_version',
  );
  const version = rows[0]?.version ?? 0;
  const marks = rows[0]?.marks ?? [];
  if (marks.some((mark) => mark !== ORCH_MARK)) {
    throw notAnOrchLog(url, 'its orch.schema_version table does not carry the orch mark');
  }
  if (version > POSTGRES_SCHEMA_VERSION) {
    throw new StoreError(
      'SCHEMA_TOO_NEW',
      `the orch log ${redactUrl(url)} has schema version ${version}, newer than this orch knows (${POSTGRES_SCHEMA_VERSION})`,
      {
        hint: 'upgrade orch to read this log; it was left untouched',
        details: { url: redactUrl(url), version, known: POSTGRES_SCHEMA_VERSION },
      },
    );
  }
  return version;
}

async function prepareSchema(
  client: pg.PoolClient,
  url: string,
  readonly: boolean,
  clock: () => Date,
  mustExist = false,
): Promise<void> {
  const version = await readVersion(client, url);
  if (version === 0 && mustExist) {
    throw new StoreError('LOG_NOT_FOUND', `no orch log in the PostgreSQL database ${redactUrl(url)}`, {
      hint: 'run orch spawn against it first (check ORCH_DATABASE_URL / store.url)',
      details: { url: redactUrl(url) },
    });
  }
  if (readonly) {
    if (version === 0) {
      throw new StoreError('LOG_NOT_FOUND', `no orch log in the PostgreSQL database ${redactUrl(url)}`, {
        hint: 'run orch spawn against it first (read-only commands never create the log)',
        details: { url: redactUrl(url) },
      });
    }
    if (version < POSTGRES_SCHEMA_VERSION) {
      throw new StoreError(
        'SCHEMA_OUTDATED',
        `the orch log ${redactUrl(url)} has schema version ${version}; this orch reads version ${POSTGRES_SCHEMA_VERSION}`,
        {
          hint: 'run a command that writes (e.g. orch spawn) once to upgrade it; read-only commands never change the log',
          details: { url: redactUrl(url), version, known: POSTGRES_SCHEMA_VERSION },
        },
      );
    }
    return;
  }
  if (version === POSTGRES_SCHEMA_VERSION) return;
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(${MIGRATE_LOCK_KEY})`);
    // Another worker may have migrated while this one waited for the lock.
    const current = await readVersion(client, url);
    if (current < POSTGRES_SCHEMA_VERSION) {
      await client.query(BOOTSTRAP_SQL);
      for (const migration of POSTGRES_MIGRATIONS) {
        if (migration.version <= current) continue;
        await client.query(migration.sql);
        await client.query(
          'INSERT INTO orch.schema_version (version, name, applied_at, mark) VALUES ($1, $2, $3, $4)',
          [migration.version, migration.name, clock().toISOString(), ORCH_MARK],
        );
      }
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

function notAnOrchLog(url: string, why: string): StoreError {
  return new StoreError(
    'NOT_AN_ORCH_LOG',
    `the PostgreSQL database ${redactUrl(url)} is not an orch log: ${why}`,
    {
      hint: 'point store.url (or ORCH_DATABASE_URL) at a database orch created, or at one without an "orch" schema; nothing was changed',
      details: { url: redactUrl(url) },
    },
  );
}
