/**
 * The PostgreSQL event store: the log on a server several orch processes (and machines) share.
 * The same rules as the SQLite store (shared from `append-rules.ts`, `import-rules.ts`,
 * `read-options.ts`), the same errors, one contract test for both. Open it with
 * `openPostgresEventStore`.
 *
 * - An append is one call of the `orch.append` function: one round trip that takes the
 *   append lock, checks the versions, inserts and notifies, committed as one transaction.
 * - Appends are idempotent by event id, so a call cut off by a lost connection is simply
 *   sent again until `reconnectTimeoutMs` passes: a written append is found by its ids.
 * - Followers LISTEN on `orch_events` and read what is new when woken, polling as a fallback.
 */
import pg from 'pg';
import type { NewEvent, RecordedEvent } from '../../core/envelope.js';
import { prepareAppends, resolveRetry, type ExistingEvent, type PreparedAppend } from '../append-rules.js';
import type { AsyncEventStore } from '../async-event-store.js';
import type {
  AppendOptions,
  AppendResult,
  FollowOptions,
  ReadAllOptions,
  ReadStreamOptions,
  Snapshot,
  SnapshotText,
  StreamAppend,
} from '../event-store.js';
import { ConcurrencyError, StoreError } from '../errors.js';
import { DEFAULT_POLL_INTERVAL_MS } from '../follow.js';
import { checkImportedEvent, duplicateImportedId, importedJson } from '../import-rules.js';
import {
  checkName,
  checkSnapshotPosition,
  checkSnapshotTexts,
  readRange,
  snapshotJson,
} from '../read-options.js';
import { checkTypes, parseMetadata } from '../rows.js';
import { isConnectionError, redactUrl, wrapPostgresError } from './errors.js';
import { APPEND_LOCK_KEY, NOTIFY_CHANNEL } from './schema.js';

/** Positions (or stream versions) read per query by `readAll` and `readStream`. */
const PAGE_SIZE = 5000;
/** Positions looked at per query by a `readAll` filtered by type. */
const SPARSE_WINDOW = 20_000;
/** Events written per statement by `importEvents`. */
const IMPORT_CHUNK = 500;

const EVENT_COLUMNS =
  'position::text AS position, id, stream_id, stream_version, type, data::text AS data, metadata::text AS metadata, recorded_at';

interface EventRowPg {
  position: string;
  id: string;
  stream_id: string;
  stream_version: number;
  type: string;
  data: string;
  metadata: string;
  recorded_at: string;
}

/** Settings of an open PostgreSQL store (see `openPostgresEventStore`). */
export interface PostgresStoreSettings {
  url: string;
  readonly: boolean;
  clock: () => Date;
  /** How long a call keeps retrying while the server cannot be reached. */
  reconnectTimeoutMs: number;
}

/** See `openPostgresEventStore`. */
export class PostgresEventStore implements AsyncEventStore {
  readonly url: string;
  readonly readonly: boolean;
  readonly #pool: pg.Pool;
  readonly #clock: () => Date;
  readonly #reconnectTimeoutMs: number;
  readonly #listeners = new Set<() => void>();
  #listener: pg.Client | undefined;
  #listening: Promise<void> | undefined;
  #closed = false;

  /** Use `openPostgresEventStore`, which checks and migrates the schema first. */
  constructor(pool: pg.Pool, settings: PostgresStoreSettings) {
    this.#pool = pool;
    this.url = settings.url;
    this.readonly = settings.readonly;
    this.#clock = settings.clock;
    this.#reconnectTimeoutMs = settings.reconnectTimeoutMs;
  }

  async append(
    streamId: string,
    events: readonly NewEvent[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    return (await this.appendBatch([{ streamId, events, ...options }]))[0]!;
  }

  async appendBatch(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    this.#guardWrite('append');
    const prepared = prepareAppends(appends, this.#clock);
    const args = appendArguments(prepared);
    return this.#retrying('append', async () => {
      try {
        const { rows } = await this.#pool.query<{ out_positions: string[]; out_versions: number[] }>(
          'SELECT out_positions::text[] AS out_positions, out_versions FROM orch.append($1, $2, $3, $4, $5, $6, $7, $8)',
          args,
        );
        const positions = rows[0]!.out_positions.map(Number);
        const versions = rows[0]!.out_versions;
        let at = 0;
        return prepared.map((part, index) => {
          const count = part.events.length;
          const result: AppendResult = {
            streamId: part.streamId,
            nextExpectedVersion: versions[index]!,
            positions: positions.slice(at, at + count),
            alreadyAppended: false,
          };
          at += count;
          return result;
        });
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        // A conflict may just be a retry of an append that already went through: check its ids.
        if (code === 'OR001' || code === '23505') {
          const retry = await this.#resolveRetry(prepared);
          if (retry !== undefined) return retry;
          if (code === 'OR001') throw concurrencyError(err, prepared);
          throw await this.#duplicateError(prepared, err);
        }
        throw err;
      }
    });
  }

  readStream(streamId: string, options: ReadStreamOptions = {}): AsyncIterableIterator<RecordedEvent> {
    this.#guard();
    checkName(streamId, 'stream id', 'readStream');
    const range = readRange(options, 'readStream');
    return this.#pages('readStream', range.from, range.to, 'gapless', (from, upper) => ({
      text: `SELECT ${EVENT_COLUMNS} FROM orch.events WHERE stream_id = $1 AND stream_version BETWEEN $2::bigint AND $3::bigint ORDER BY stream_version`,
      values: [streamId, from, upper],
    }));
  }

  readAll(options: ReadAllOptions = {}): AsyncIterableIterator<RecordedEvent> {
    this.#guard();
    const range = readRange(options, 'readAll');
    const types = options.types === undefined ? undefined : checkTypes(options.types);
    if (types !== undefined && types.length === 0)
      return this.#pages('readAll', 1, 0, 'gapless', () => undefined);
    if (types === undefined) {
      return this.#pages('readAll', range.from, range.to, 'gapless', (from, upper) => ({
        text: `SELECT ${EVENT_COLUMNS} FROM orch.events WHERE position BETWEEN $1::bigint AND $2::bigint ORDER BY events.position`,
        values: [from, upper],
      }));
    }
    return this.#pages('readAll', range.from, range.to, 'sparse', (from, upper) => ({
      text: `SELECT ${EVENT_COLUMNS} FROM orch.events WHERE position BETWEEN $1::bigint AND $2::bigint AND type = ANY($3) ORDER BY events.position`,
      values: [from, upper, types],
    }));
  }

  async lastPosition(): Promise<number> {
    this.#guard();
    return this.#retrying('lastPosition', async () => {
      const { rows } = await this.#pool.query<{ last: string | null }>(
        'SELECT max(position)::text AS last FROM orch.events',
      );
      return Number(rows[0]?.last ?? 0);
    });
  }

  async streamVersion(streamId: string): Promise<number> {
    this.#guard();
    checkName(streamId, 'stream id', 'streamVersion');
    return this.#retrying('streamVersion', () => this.#streamVersion(this.#pool, streamId));
  }

  follow(options: FollowOptions = {}): AsyncIterableIterator<RecordedEvent> {
    this.#guard();
    return this.#follow(options);
  }

  async saveSnapshot(name: string, position: number, data: unknown): Promise<void> {
    this.#guardWrite('saveSnapshot');
    checkName(name, 'snapshot name', 'saveSnapshot');
    checkSnapshotPosition(position);
    const json = snapshotJson(name, data);
    const writtenAt = this.#clock().toISOString();
    await this.#retrying('saveSnapshot', () =>
      this.#pool.query(
        `INSERT INTO orch.snapshots (name, position, data, written_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO UPDATE SET position = excluded.position, data = excluded.data, written_at = excluded.written_at`,
        [name, position, json, writtenAt],
      ),
    );
  }

  async saveSnapshotTexts(rows: readonly SnapshotText[]): Promise<void> {
    this.#guardWrite('saveSnapshotTexts');
    checkSnapshotTexts(rows);
    if (rows.length === 0) return;
    const writtenAt = this.#clock().toISOString();
    // One statement, so all rows or none.
    await this.#retrying('saveSnapshotTexts', () =>
      this.#pool.query(
        `INSERT INTO orch.snapshots (name, position, data, written_at)
         SELECT name, position, data, $4 FROM unnest($1::text[], $2::bigint[], $3::text[]) AS r(name, position, data)
         ON CONFLICT (name) DO UPDATE SET position = excluded.position, data = excluded.data, written_at = excluded.written_at`,
        [rows.map((r) => r.name), rows.map((r) => r.position), rows.map((r) => r.json), writtenAt],
      ),
    );
  }

  async loadSnapshot<D = unknown>(name: string): Promise<Snapshot<D> | undefined> {
    const text = await this.#loadSnapshot('loadSnapshot', name);
    return text === undefined ? undefined : { ...text, data: JSON.parse(text.data) as D };
  }

  async loadSnapshotText(name: string): Promise<Snapshot<string> | undefined> {
    return this.#loadSnapshot('loadSnapshotText', name);
  }

  async importEvents(events: Iterable<RecordedEvent> | AsyncIterable<RecordedEvent>): Promise<number> {
    this.#guardWrite('importEvents');
    const client = await this.#connect('importEvents');
    try {
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(${APPEND_LOCK_KEY})`);
      const { rows } = await client.query<{ last: string | null }>(
        'SELECT max(position)::text AS last FROM orch.events',
      );
      let nextPosition = Number(rows[0]?.last ?? 0) + 1;
      const versions = new Map<string, number>();
      const seen = new Set<string>();
      const streamVersion = (streamId: string) => versions.get(streamId) ?? 0;
      let chunk: { event: RecordedEvent; index: number }[] = [];
      let count = 0;
      const flush = async () => {
        if (chunk.length === 0) return;
        const ids = chunk.map(({ event }) => event.id);
        const { rows: present } = await client.query<{ id: string }>(
          'SELECT id FROM orch.events WHERE id = ANY($1)',
          [ids],
        );
        if (present.length > 0) {
          const first = chunk.find(({ event }) => present.some((row) => row.id === event.id))!;
          throw duplicateImportedId(first.index, first.event.id);
        }
        const columns = chunk.map(({ event, index }) => ({ event, ...importedJson(event, index) }));
        await client.query(
          `INSERT INTO orch.events (position, id, stream_id, stream_version, type, data, metadata, recorded_at)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::text[], $6::json[], $7::json[], $8::text[])`,
          [
            columns.map(({ event }) => event.position),
            columns.map(({ event }) => event.id),
            columns.map(({ event }) => event.streamId),
            columns.map(({ event }) => event.streamVersion),
            columns.map(({ event }) => event.type),
            columns.map(({ dataJson }) => dataJson),
            columns.map(({ metadataJson }) => metadataJson),
            columns.map(({ event }) => event.recordedAt),
          ],
        );
        chunk = [];
      };
      for await (const raw of events as AsyncIterable<RecordedEvent>) {
        const index = count;
        const event = raw;
        if (
          event !== null &&
          typeof event === 'object' &&
          typeof event.streamId === 'string' &&
          !versions.has(event.streamId)
        ) {
          versions.set(event.streamId, await this.#streamVersion(client, event.streamId));
        }
        const checked = checkImportedEvent(event, index, { nextPosition, streamVersion });
        if (seen.has(checked.id)) throw duplicateImportedId(index, checked.id);
        seen.add(checked.id);
        versions.set(checked.streamId, checked.streamVersion);
        nextPosition++;
        count++;
        chunk.push({ event: checked, index });
        if (chunk.length >= IMPORT_CHUNK) await flush();
      }
      await flush();
      if (count > 0)
        await client.query('SELECT pg_notify($1, $2)', [NOTIFY_CHANNEL, String(nextPosition - 1)]);
      await client.query('COMMIT');
      return count;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw wrapPostgresError(err, this.url, 'importEvents');
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const wake of this.#listeners) wake();
    this.#listeners.clear();
    const listener = this.#listener;
    this.#listener = undefined;
    await listener?.end().catch(() => undefined);
    await this.#pool.end();
  }

  /** A connection for a transaction of several statements (retried while the server is away). */
  async #connect(operation: string): Promise<pg.PoolClient> {
    return this.#retrying(operation, () => this.#pool.connect());
  }

  async #streamVersion(client: pg.Pool | pg.PoolClient, streamId: string): Promise<number> {
    const { rows } = await client.query<{ version: number | null }>(
      'SELECT max(stream_version) AS version FROM orch.events WHERE stream_id = $1',
      [streamId],
    );
    return rows[0]?.version ?? 0;
  }

  async #loadSnapshot(operation: string, name: string): Promise<Snapshot<string> | undefined> {
    this.#guard();
    checkName(name, 'snapshot name', operation);
    return this.#retrying(operation, async () => {
      const { rows } = await this.#pool.query<{ position: string; data: string; written_at: string }>(
        'SELECT position::text AS position, data, written_at FROM orch.snapshots WHERE name = $1',
        [name],
      );
      const row = rows[0];
      return row === undefined
        ? undefined
        : { name, position: Number(row.position), data: row.data, writtenAt: row.written_at };
    });
  }

  /** The original results when every id of `prepared` is already in the log (a retried append). */
  async #resolveRetry(prepared: readonly PreparedAppend[]): Promise<AppendResult[] | undefined> {
    const ids = prepared.flatMap((part) => part.events.map((event) => event.id));
    const streams = [...new Set(prepared.map((part) => part.streamId))];
    const [found, current] = await Promise.all([
      this.#pool.query<{ id: string; position: string; stream_id: string; stream_version: number }>(
        'SELECT id, position::text AS position, stream_id, stream_version FROM orch.events WHERE id = ANY($1)',
        [ids],
      ),
      this.#pool.query<{ stream_id: string; version: number }>(
        'SELECT stream_id, max(stream_version) AS version FROM orch.events WHERE stream_id = ANY($1) GROUP BY stream_id',
        [streams],
      ),
    ]);
    const byId = new Map<string, ExistingEvent>(
      found.rows.map((row) => [
        row.id,
        { position: Number(row.position), streamId: row.stream_id, streamVersion: row.stream_version },
      ]),
    );
    const versions = new Map(current.rows.map((row) => [row.stream_id, row.version]));
    return resolveRetry(
      prepared,
      (id) => byId.get(id),
      (streamId) => versions.get(streamId) ?? 0,
    );
  }

  /** A unique violation that is not a retry: an id used in another stream (or given twice). */
  async #duplicateError(prepared: readonly PreparedAppend[], err: unknown): Promise<unknown> {
    const ids = prepared.flatMap((part) => part.events.map((event) => event.id));
    const { rows } = await this.#pool.query<{ id: string }>('SELECT id FROM orch.events WHERE id = ANY($1)', [
      ids,
    ]);
    if (rows.length === 0) return err;
    return new StoreError('EVENT_ID_CONFLICT', `event id ${rows[0]!.id} is already in the log`, {
      hint: 'event ids must be unique across the log; make a new id',
      details: { ids: rows.map((row) => row.id) },
    });
  }

  /**
   * Pages of a read, each its own query over a bounded window of positions (or stream
   * versions), so a long read never holds a transaction open and every page is an index range
   * of at most a window, whatever the planner's statistics say (an open-ended `>= from ORDER BY
   * LIMIT` was planned as a scan and sort of the rest of the table on a freshly filled log).
   * `gapless`: positions (versions) have no gaps, so a short window is the end. `sparse` (a type
   * filter): windows go on to the last position, read again when reached (appends made during
   * the read are included, as in the SQLite store).
   */
  #pages(
    operation: string,
    start: number,
    to: number,
    kind: 'gapless' | 'sparse',
    query: (from: number, upper: number) => { text: string; values: unknown[] } | undefined,
  ): AsyncIterableIterator<RecordedEvent> {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the generator needs the store
    const store = this;
    async function* generate(): AsyncGenerator<RecordedEvent, void, undefined> {
      let from = start;
      let last = kind === 'sparse' ? await store.lastPosition() : Number.MAX_SAFE_INTEGER;
      for (;;) {
        store.#guard();
        if (kind === 'sparse' && from > last) {
          last = await store.lastPosition();
          if (from > last) return;
        }
        const window = kind === 'sparse' ? SPARSE_WINDOW : PAGE_SIZE;
        const upper = Math.min(to, last, from + window - 1);
        if (from > upper) return;
        const page = query(from, upper);
        if (page === undefined) return;
        const { rows } = await store.#retrying(operation, () =>
          store.#pool.query<EventRowPg>(page.text, page.values),
        );
        for (const row of rows) yield toEvent(row);
        if (kind === 'gapless' && rows.length < upper - from + 1) return;
        from = upper + 1;
      }
    }
    return generate();
  }

  async *#follow(options: FollowOptions): AsyncGenerator<RecordedEvent, void, undefined> {
    const { signal, types } = options;
    const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    let next = (options.after ?? 0) + 1;
    // A notification that arrives while a page is read must not be lost: it sets this flag.
    let woken = false;
    const wakeUp: { resolve: (() => void) | undefined } = { resolve: undefined };
    const onNotify = () => {
      woken = true;
      wakeUp.resolve?.();
    };
    this.#listeners.add(onNotify);
    try {
      // Listening starts beside the first read; once it is in place it wakes this follower,
      // so an append made before LISTEN took effect is read then, not at the next poll.
      this.#listen().then(onNotify, () => undefined); // polling still works without LISTEN
      while (!signal?.aborted && !this.#closed) {
        woken = false;
        const end = await this.lastPosition();
        if (end >= next) {
          for await (const event of this.readAll({
            from: next,
            to: end,
            ...(types === undefined ? {} : { types }),
          })) {
            yield event;
            if (signal?.aborted) return;
          }
          next = end + 1;
          continue;
        }
        if (woken || signal?.aborted) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, pollIntervalMs);
          function done() {
            clearTimeout(timer);
            signal?.removeEventListener('abort', done);
            wakeUp.resolve = undefined;
            resolve();
          }
          wakeUp.resolve = done;
          signal?.addEventListener('abort', done, { once: true });
        });
      }
    } finally {
      this.#listeners.delete(onNotify);
    }
  }

  /** One LISTEN connection per store, shared by its followers; re-made after it drops. */
  #listen(): Promise<void> {
    if (this.#listening !== undefined) return this.#listening;
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', () => {
      for (const wake of this.#listeners) wake();
    });
    const drop = () => {
      if (this.#listener === client) this.#listener = undefined;
      this.#listening = undefined;
      // Followers poll meanwhile; the next wait re-listens.
      for (const wake of this.#listeners) wake();
    };
    client.on('error', drop);
    client.on('end', drop);
    this.#listening = (async () => {
      await client.connect();
      await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
      if (this.#closed) {
        await client.end();
        return;
      }
      this.#listener = client;
    })().catch((err: unknown) => {
      this.#listening = undefined;
      client.end().catch(() => undefined);
      throw err;
    });
    return this.#listening;
  }

  /** Runs `call`, again and again while the server cannot be reached, up to the reconnect timeout. */
  async #retrying<T>(operation: string, call: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.#reconnectTimeoutMs;
    for (let wait = 50; ; wait = Math.min(wait * 2, 1000)) {
      try {
        return await call();
      } catch (err) {
        if (!isConnectionError(err) || this.#closed || Date.now() + wait > deadline) {
          throw wrapPostgresError(err, this.url, operation);
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  #guard(): void {
    if (this.#closed) {
      throw new StoreError('LOG_CLOSED', `the orch log ${redactUrl(this.url)} is closed`, {
        hint: 'open it again; a closed store cannot be used',
        details: { url: redactUrl(this.url) },
      });
    }
  }

  #guardWrite(operation: string): void {
    this.#guard();
    if (this.readonly) {
      throw new StoreError(
        'LOG_READ_ONLY',
        `${operation} refused: the orch log ${redactUrl(this.url)} was opened read-only`,
        {
          hint: 'open it without { readonly: true } to write (read-only opens are for status, log and replay)',
          details: { url: redactUrl(this.url) },
        },
      );
    }
  }
}

function toEvent(row: EventRowPg): RecordedEvent {
  return {
    position: Number(row.position),
    id: row.id,
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    type: row.type,
    data: JSON.parse(row.data) as unknown,
    metadata: parseMetadata(row.metadata),
    recordedAt: row.recorded_at,
  };
}

/** The arguments of `orch.append`: one entry per part (a stream may appear twice), one per event. */
function appendArguments(parts: readonly PreparedAppend[]): unknown[] {
  const streams: string[] = [];
  const expected: string[] = [];
  const part: number[] = [];
  const ids: string[] = [];
  const types: string[] = [];
  const data: string[] = [];
  const metadata: string[] = [];
  const recordedAt: string[] = [];
  parts.forEach((p, index) => {
    streams.push(p.streamId);
    expected.push(String(p.expectedVersion));
    for (const event of p.events) {
      part.push(index + 1);
      ids.push(event.id);
      types.push(event.type);
      data.push(event.dataJson);
      metadata.push(event.metadataJson);
      recordedAt.push(event.recordedAt);
    }
  });
  return [streams, expected, part, ids, types, data, metadata, recordedAt];
}

function concurrencyError(err: unknown, prepared: readonly PreparedAppend[]): ConcurrencyError {
  const detail = (err as { detail?: unknown }).detail;
  const parsed = JSON.parse(typeof detail === 'string' ? detail : '{}') as { part?: number; actual?: number };
  const part = prepared[(parsed.part ?? 1) - 1] ?? prepared[0]!;
  return new ConcurrencyError(part.streamId, part.expectedVersion, parsed.actual ?? 0);
}
