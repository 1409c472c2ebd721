import type { EventStore } from '../../store/event-store.js';
import { statusDocument } from '../../core/status-document.js';
import { loadStatusSnapshot, type SnapshotIgnored } from './snapshots.js';

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
 * snapshot (finished old spawns cut out, see `statusState`) plus the events after it, else the
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
