import { applyEvent, StateDraft } from '../../core/fold.js';
import { setOwn } from '../../core/record.js';
import { initialState, type OrchState } from '../../core/state.js';
import { compiledEngine } from '../../machines/index.js';
import type { EventStore } from '../../store/event-store.js';
import { loadStateSnapshot, noteSnapshotPosition, type SnapshotIgnored } from './snapshots.js';

export { logFile, openLog } from './open.js';

/**
 * The read model: the log opened for reading (`openLog`, in `open.ts`), and the state loaded fast — the state
 * snapshot (see `snapshots.ts`) plus the fold of the events after it — or folded from
 * zero, streaming (never the whole log in memory).
 */

/** A state loaded by {@link loadState}. */
export interface LoadedState {
  state: OrchState;
  /** Version of every stream as of `state.position` (what a `LiveLog` continues from). */
  versions: Record<string, number>;
  /** Position of the snapshot used, or null when folded from zero. */
  snapshotPosition: number | null;
  /** Events folded after the snapshot (or from zero). */
  folded: number;
}

/**
 * The state as of position `to` (default: the end of the log): from the state snapshot
 * when there is one at or before `to` (and `useSnapshot` is not false), plus the events
 * after it; otherwise folded from zero. Events are read in pages, never all at once.
 * A snapshot beyond the end of the log (it belongs to another log) is ignored, and so is an
 * unusable one (`onSnapshotIgnored` is told).
 *
 * @example
 * const { state, versions } = loadState(store);
 * const log = new LiveLog(store, { runId }, { state, versions });
 */
export function loadState(
  store: EventStore,
  options: {
    to?: number;
    useSnapshot?: boolean;
    /** Told when the state snapshot is there but unusable (then the state is folded from zero). */
    onSnapshotIgnored?: SnapshotIgnored;
  } = {},
): LoadedState {
  const last = store.lastPosition();
  const to = Math.min(options.to ?? last, last);
  let state: OrchState | undefined;
  let versions: Record<string, number> = {};
  let snapshotPosition: number | null = null;
  if (options.useSnapshot !== false) {
    const snap = loadStateSnapshot(store, options.onSnapshotIgnored);
    if (snap !== undefined && snap.position <= last) noteSnapshotPosition(store, snap.position);
    if (snap !== undefined && snap.position <= to) {
      // The parsed snapshot is ours alone: fold into it in place (no copy of a large state).
      state = snap.data.state;
      versions = snap.data.versions;
      snapshotPosition = snap.position;
    }
  }
  const draft = new StateDraft(state ?? initialState(), false);
  let folded = 0;
  if (draft.state.position < to) {
    for (const event of store.readAll({ from: draft.state.position + 1, to })) {
      applyEvent(draft, event, compiledEngine);
      setOwn(versions, event.streamId, event.streamVersion);
      folded += 1;
    }
  }
  return { state: draft.state, versions, snapshotPosition, folded };
}
