import type { EventStore } from '../../store/event-store.js';
import { statusDocument } from '../../core/status-document.js';
import { PARTS_TAIL_LIMIT, statusFromParts } from '../../core/status-parts.js';
import { compiledEngine } from '../../machines/compiled-engine.js';
import { STATUS_STATE_SNAPSHOT } from './snapshot-names.js';
import { chunkReader, loadStatusSnapshot, type SnapshotIgnored } from './snapshots.js';

/** Where a status document came from. */
export type StatusSource = 'cache' | 'snapshot' | 'fold';

/** The current status document as JSON text (without the lease). */
export interface LoadedStatus {
  /** `JSON.stringify(statusDocument(state))` of the state at the end of the log. */
  json: string;
  position: number;
  /**
   * `cache`: the status snapshot is at the end of the log and was used as is; `snapshot`:
   * the status state snapshot (or, when it cannot serve, the state snapshot) plus the events
   * after it; `fold`: folded from zero (no snapshot).
   */
  source: StatusSource;
}

/**
 * The status document of the whole log, as fast as the caches allow: the cached document
 * when it is at the end of the log (no fold, no XState loaded), else the status state
 * snapshot's parts with the tasks the events after it name folded (`statusFromParts`), else
 * the whole status state snapshot (finished old spawns cut out, see `statusState`) plus the events after it, else the
 * state snapshot plus the events after it, else a fold from zero. A cache that is there but unusable is
 * ignored and `onSnapshotIgnored` told once (the first one found), however many are.
 *
 * @example
 * const { json } = await loadStatus(openLog(stateDir));
 * process.stdout.write(withLease(json, readLeaseView(stateDir)) + '\n');
 */
export async function loadStatus(
  store: EventStore,
  onSnapshotIgnored?: SnapshotIgnored,
): Promise<LoadedStatus> {
  let told = false;
  const once: SnapshotIgnored = (message) => {
    if (told) return;
    told = true;
    onSnapshotIgnored?.(message);
  };
  const last = store.lastPosition();
  const cached = loadStatusSnapshot(store, once);
  if (cached !== undefined && cached.position === last) {
    return { json: cached.data.json, position: last, source: 'cache' };
  }
  const fast = statusFromSnapshotParts(store, last);
  if (fast !== undefined) return { json: fast.json, position: last, source: 'snapshot' };
  const { loadState, loadStatusState } = await import('./load-state.js');
  const status = loadStatusState(store, once);
  if (status !== undefined) {
    return {
      json: JSON.stringify(statusDocument(status.state, status.earlier)),
      position: status.state.position,
      source: 'snapshot',
    };
  }
  const loaded = loadState(store, { onSnapshotIgnored: once });
  return {
    json: JSON.stringify(statusDocument(loaded.state)),
    position: loaded.state.position,
    source: loaded.snapshotPosition === null ? 'fold' : 'snapshot',
  };
}

/**
 * The document from the status state snapshot's parts and the events after them, or
 * undefined when there are no parts at or before `last` or they cannot serve (then the
 * caller reads the whole status state, which also says what is wrong with a damaged one).
 */
function statusFromSnapshotParts(store: EventStore, last: number): { json: string } | undefined {
  const row = store.loadSnapshotText(STATUS_STATE_SNAPSHOT);
  if (row === undefined || typeof row.data !== 'string' || row.position > last) return undefined;
  if (last - row.position > PARTS_TAIL_LIMIT) return undefined;
  // Read lazily, in pages: the fold goes over it once.
  const tail = row.position < last ? store.readAll({ from: row.position + 1, to: last }) : [];
  try {
    const json = statusFromParts(row.data, chunkReader(store, row.position), tail, compiledEngine);
    return json === undefined ? undefined : { json };
  } catch {
    // Parts that are not whole (a damaged row): the whole read says so.
    return undefined;
  }
}
