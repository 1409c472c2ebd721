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
  const tail: FoldInput[] = [];
  if (parts.position < last) {
    // Only what the fold reads: the id and stream columns cost a third of the read.
    const rows = conn
      .prepare(
        'SELECT position, type, data, metadata, recorded_at FROM events WHERE position > ? AND position <= ? ORDER BY position',
      )
      .raw()
      .all(parts.position, last) as [number, string, string, string, string][];
    for (const row of rows)
      tail.push({
        position: row[0],
        type: row[1],
        data: JSON.parse(row[2]) as unknown,
        metadata: parseMetadata(row[3]),
        recordedAt: row[4],
      });
  }
  const chunkRow = conn.prepare('SELECT position, data FROM snapshots WHERE name = ?');
  const chunk = (k: number) => {
    const row = chunkRow.get(statusChunkName(k)) as { position: number; data: unknown } | undefined;
    return row !== undefined && row.position === parts.position && typeof row.data === 'string'
      ? row.data
      : undefined;
  };
  const json = statusFromParts(parts.data, chunk, tail, compiledEngine);
  return json === undefined ? undefined : { json, position: last };
}
