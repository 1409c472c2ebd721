import { applyEvent, StateDraft } from '../../core/fold.js';
import { getOwn, setOwn } from '../../core/record.js';
import { initialState, type OrchState } from '../../core/state.js';
import { compiledEngine } from '../../machines/index.js';
import type { EventStore } from '../../store/event-store.js';
import type { IdRecord } from '../../core/record.js';
import type { UsageTotal } from '../../core/usage-totals.js';
import {
  loadStateSnapshot,
  mayBeCut,
  loadStatusStateSnapshot,
  noteSnapshotPosition,
  type SnapshotIgnored,
} from './snapshots.js';

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

/**
 * Event types naming a `spawnId` whose fold differs between a spawn it knows (finished) and
 * one it does not (`src/core/fold.ts`): a second `AgentSpawnRequested` with a known id is a
 * duplicate and changes nothing, a `RateLimited` of a known spawn moves `rateLimitedUntil`.
 * Every other event folds the same onto a state whose finished old spawns were cut out: a
 * report from a spawn that is not live is ignored either way, gates and merges go by task,
 * and a superseded mark on a cut spawn is nothing the status document reads.
 */
const NEEDS_CUT_SPAWNS: ReadonlySet<string> = new Set(['AgentSpawnRequested', 'RateLimited']);

/** What {@link loadStatusState} gives: `statusDocument(state, earlier)` is the status document of the log. */
export interface LoadedStatusState {
  state: OrchState;
  /** Per task, the usage of the spawns cut out of `state.agents` (`StatusStateSnapshotData.earlier`). */
  earlier: IdRecord<UsageTotal>;
}

/**
 * The state `status` needs at the end of the log, from the status state snapshot
 * (`statusState`: finished old spawns cut out and summed per task) plus the events after
 * it: `statusDocument(state, earlier)` is the status document of the full fold. Undefined
 * when there is no usable status state snapshot at or before the end, or when an event after
 * it may name a cut spawn and its fold would need it (`AgentSpawnRequested`, `RateLimited`:
 * the id's hash is in the snapshot's `cut`): then use {@link loadState}.
 *
 * @example
 * const loaded = loadStatusState(store);
 * const doc = loaded ? statusDocument(loaded.state, loaded.earlier) : statusDocument(loadState(store).state);
 */
export function loadStatusState(
  store: EventStore,
  onSnapshotIgnored?: SnapshotIgnored,
): LoadedStatusState | undefined {
  const last = store.lastPosition();
  const snap = loadStatusStateSnapshot(store, onSnapshotIgnored);
  if (snap === undefined || snap.position > last) return undefined;
  const { cut, earlier } = snap.data;
  // The parsed snapshot is ours alone: fold into it in place.
  const draft = new StateDraft(snap.data.state, false);
  if (draft.state.position < last) {
    for (const event of store.readAll({ from: draft.state.position + 1, to: last })) {
      if (NEEDS_CUT_SPAWNS.has(event.type)) {
        const spawnId = (event.data as { spawnId?: unknown } | null)?.spawnId;
        if (
          typeof spawnId === 'string' &&
          getOwn(draft.state.agents, spawnId) === undefined &&
          mayBeCut(cut, spawnId)
        )
          return undefined;
      }
      applyEvent(draft, event, compiledEngine);
    }
  }
  return { state: draft.state, earlier };
}
