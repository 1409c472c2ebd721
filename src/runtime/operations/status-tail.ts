import type Database from 'better-sqlite3';
import type { FoldInput } from '../../core/fold.js';
import { PARTS_TAIL_LIMIT, statusFromParts } from '../../core/status-parts.js';
import { compiledEngine } from '../../machines/compiled-engine.js';
import { STATUS_STATE_SNAPSHOT, statusChunkName } from '../log/snapshot-names.js';
import { parseMetadata } from '../../store/rows.js';

/**
 * The status probe's second step (`status-cache.ts`), for a log whose cached document is
 * behind: the status state's parts and the events after them, read on the probe's
 * connection (call it inside a read transaction), and the tail folded onto the tasks it
 * names (`statusFromParts`). Undefined when there are no parts at or before `last`, the
 * tail is longer than {@link PARTS_TAIL_LIMIT}, or the parts cannot serve it.
 *
 * @example
 * const found = conn.transaction(() => statusFromTail(conn, last))();
 */
export function statusFromTail(
  conn: Database.Database,
  last: number,
): { json: string; position: number } | undefined {
  const parts = conn
    .prepare('SELECT position, data FROM snapshots WHERE name = ?')
    .get(STATUS_STATE_SNAPSHOT) as { position: number; data: unknown } | undefined;
  if (parts === undefined || parts.position > last || typeof parts.data !== 'string') return undefined;
  if (last - parts.position > PARTS_TAIL_LIMIT) return undefined;
  // The tail as one text, joined by SQLite: fields split by U+0001 and events by U+0002,
  // characters that JSON text cannot hold (no per-row objects to build and collect).
  const joined = conn
    .prepare(
      `SELECT count(*), group_concat(position || char(1) || type || char(1) || recorded_at || char(1) || metadata || char(1) || data, char(2))
       FROM (SELECT position, type, recorded_at, metadata, data FROM events WHERE position > ? AND position <= ? ORDER BY position)`,
    )
    .raw()
    .get(parts.position, last) as [number, string | null];
  const records = joined[1] === null ? [] : joined[1].split('\u0002');
  if (records.length !== joined[0]) return undefined;
  // Each event is parsed only when it is folded (its metadata only if the fold reads it).
  function* tail(): Generator<FoldInput> {
    let after = parts!.position;
    for (const record of records) {
      const event = new TailEvent(record);
      if (!(event.position > after)) throw new Error('the tail is not in position order');
      after = event.position;
      yield event;
    }
  }
  const chunkRow = conn.prepare('SELECT position, data FROM snapshots WHERE name = ?');
  const chunk = (k: number) => {
    const row = chunkRow.get(statusChunkName(k)) as { position: number; data: unknown } | undefined;
    return row !== undefined && row.position === parts.position && typeof row.data === 'string'
      ? row.data
      : undefined;
  };
  const json = statusFromParts(parts.data, chunk, tail(), compiledEngine);
  return json === undefined ? undefined : { json, position: last };
}

/** An event of the tail as the fold reads it, from its joined text: the metadata parsed on first use. */
class TailEvent implements FoldInput {
  readonly position: number;
  readonly type: string;
  readonly data: unknown;
  readonly recordedAt: string;
  #metadataJson: string;
  #metadata: FoldInput['metadata'] | undefined;

  constructor(record: string) {
    const a = record.indexOf('\u0001');
    const b = record.indexOf('\u0001', a + 1);
    const c = record.indexOf('\u0001', b + 1);
    const d = record.indexOf('\u0001', c + 1);
    if (a < 0 || b < 0 || c < 0 || d < 0) throw new Error('a tail event is not in five fields');
    this.position = Number(record.slice(0, a));
    this.type = record.slice(a + 1, b);
    this.recordedAt = record.slice(b + 1, c);
    this.#metadataJson = record.slice(c + 1, d);
    this.data = JSON.parse(record.slice(d + 1)) as unknown;
  }

  get metadata(): FoldInput['metadata'] {
    return (this.#metadata ??= parseMetadata(this.#metadataJson));
  }
}
