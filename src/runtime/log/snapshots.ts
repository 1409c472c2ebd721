import { STATE_SNAPSHOT, STATUS_SNAPSHOT, STATUS_STATE_SNAPSHOT, statusChunkName } from './snapshot-names.js';
import type { OrchState } from '../../core/state.js';
import type { EventStore, Snapshot } from '../../store/event-store.js';
import { readStatusParts, statusParts, type ChunkReader } from '../../core/status-parts.js';
import type { StatusStateSnapshotData } from '../../core/status-state.js';

/**
 * Snapshots: caches beside the log (the store's `snapshots` table, never the log itself)
 * that make `status` and a restart fast. Three are kept, always at the same position (a log
 * written before the third existed has two; `status` then uses the state snapshot):
 *
 * - `state-v<N>`: the folded `OrchState` plus every stream's version (what a
 *   `LiveLog` or the read model continues from: fold the events after `position`);
 * - `status-v<N>`: the `orch status` document of that state as JSON text, so `status`
 *   on a log whose snapshot is current prints it without parsing the whole state;
 * - `status-state-v<N>`: that state with the agents the status document never reads cut
 *   out and summed per task (`statusState`), in parts, one per line (`statusParts`, in
 *   `src/core/status-parts.ts`): each task's state and its rows of the document apart, so
 *   `status` on a log whose snapshot is behind parses and folds only the tasks the tail
 *   names, and the state it folds is bounded by the plan, not by every spawn ever.
 *
 * `N` ({@link FOLD_VERSION}) must be bumped whenever the fold (`src/core/fold.ts`, the
 * machines, `OrchState`, `statusView`) changes what it produces: older snapshots are then
 * ignored. `orch replay --verify` checks both caches against a fold from zero.
 */

export { FOLD_VERSION, STATE_SNAPSHOT, STATUS_SNAPSHOT, STATUS_STATE_SNAPSHOT } from './snapshot-names.js';
/** Default distance, in events, between two snapshots. */
export const SNAPSHOT_EVERY = 5000;

/** What `state-v<N>` holds. */
export interface StateSnapshotData {
  state: OrchState;
  /** Version of every stream as of `state.position` (0-version streams are absent). */
  versions: Record<string, number>;
}

/** What {@link loadStatusSnapshot} gives: `status-v<N>` holds the document itself, read as text. */
export interface StatusSnapshotData {
  /** `JSON.stringify(statusDocument(state))`. */
  json: string;
}

export { mayBeCut, spawnIdHash, statusState, type StatusStateSnapshotData } from '../../core/status-state.js';

/** The newest snapshot position known per store, so `maybeSaveSnapshot` need not read it back. */
const knownPositions = new WeakMap<EventStore, number>();

/**
 * Records that `store` has a snapshot at `position` (the read model calls this when it loads one).
 *
 * @example
 * noteSnapshotPosition(store, snapshot.position);
 */
export function noteSnapshotPosition(store: EventStore, position: number): void {
  knownPositions.set(store, position);
}

/**
 * Writes the three snapshots of `state` (at `state.position`). Call it on shutdown, after the
 * last catch-up. Costs one `JSON.stringify` of the state (about 50 MB for a
 * 1,000,000-event log with 170,000 spawns) and of the status state's parts, whose rows also
 * make the status document.
 *
 * @example
 * saveSnapshot(store, liveLog.state, liveLog.streamVersions());
 */
export function saveSnapshot(store: EventStore, state: OrchState, versions: Record<string, number>): void {
  const data: StateSnapshotData = { state, versions };
  store.saveSnapshot(STATE_SNAPSHOT, state.position, data);
  const parts = statusParts(state);
  const position = state.position;
  // The document stored as its own JSON, so `status` prints it without parsing anything; the
  // status state's parts with it, in one transaction.
  store.saveSnapshotTexts([
    { name: STATUS_SNAPSHOT, position, json: parts.document },
    { name: STATUS_STATE_SNAPSHOT, position, json: parts.text },
    ...parts.chunks.map((json, k) => ({ name: statusChunkName(k), position, json })),
  ]);
  knownPositions.set(store, state.position);
}

/**
 * Saves the snapshots when the state is at least `every` events past the last one (the
 * orchestrator calls it after each catch-up; it returns at once otherwise). Returns
 * whether it saved. The first call on a store whose snapshot position is not known yet
 * (see {@link noteSnapshotPosition}) reads the stored one once.
 *
 * @example
 * liveLog.catchUp();
 * maybeSaveSnapshot(store, liveLog.state, liveLog.streamVersions(), { every: 5000 });
 */
export function maybeSaveSnapshot(
  store: EventStore,
  state: OrchState,
  versions: Record<string, number> | (() => Record<string, number>),
  options: { every?: number } = {},
): boolean {
  const every = options.every ?? SNAPSHOT_EVERY;
  let last = knownPositions.get(store);
  if (last === undefined) {
    // The position only: a row that does not parse (a damaged cache) is replaced like a missing one.
    last = store.loadSnapshotText(STATE_SNAPSHOT)?.position ?? 0;
    knownPositions.set(store, last);
  }
  // A snapshot beyond the state belongs to another log (or a newer writer): replace it.
  if (state.position - last < every && last <= state.position) return false;
  // A function: the versions are gathered only when a snapshot is written (the loop asks every turn).
  saveSnapshot(store, state, typeof versions === 'function' ? versions() : versions);
  return true;
}

/**
 * Told when a snapshot row exists but cannot be used (it does not parse, or is not in the
 * expected shape): the snapshot is ignored and the state folded from the log instead.
 * `message` is one line naming the snapshot, its position and what is wrong.
 */
export type SnapshotIgnored = (message: string) => void;

/**
 * The state snapshot, or undefined when there is none or it is not in the expected shape.
 * A row that is there but unusable (garbage written over it, a half-written cache) is
 * ignored too, and `onIgnored` says so: the snapshot is a cache, the log is the truth.
 *
 * @example
 * const snap = loadStateSnapshot(store, (message) => console.warn(message));
 * if (snap) console.log(snap.position, Object.keys(snap.data.state.tasks).length);
 */
export function loadStateSnapshot(
  store: EventStore,
  onIgnored?: SnapshotIgnored,
): Snapshot<StateSnapshotData> | undefined {
  const row = store.loadSnapshotText(STATE_SNAPSHOT);
  if (row === undefined) return undefined;
  let data: unknown;
  try {
    // A row overwritten with bytes comes back as a Buffer, not text.
    if (typeof row.data !== 'string') throw new Error('the row holds bytes, not text');
    data = JSON.parse(row.data);
  } catch (err) {
    onIgnored?.(ignoredMessage(row.name, row.position, `it is not JSON (${(err as Error).message})`));
    return undefined;
  }
  if (!isStateSnapshotData(data)) {
    onIgnored?.(ignoredMessage(row.name, row.position, 'it does not hold a folded state'));
    return undefined;
  }
  if (data.state.position !== row.position) {
    onIgnored?.(ignoredMessage(row.name, row.position, `its state is at position ${data.state.position}`));
    return undefined;
  }
  return { ...row, data };
}

/**
 * The status state snapshot (`statusState`, read whole from its parts), or undefined when
 * there is none or it is unusable (then `onIgnored` says so).
 *
 * @example
 * const snap = loadStatusStateSnapshot(store);
 * if (snap) console.log(snap.position);
 */
export function loadStatusStateSnapshot(
  store: EventStore,
  onIgnored?: SnapshotIgnored,
): Snapshot<StatusStateSnapshotData> | undefined {
  const row = store.loadSnapshotText(STATUS_STATE_SNAPSHOT);
  if (row === undefined) return undefined;
  const read =
    typeof row.data === 'string'
      ? readStatusParts(row.data, chunkReader(store, row.position))
      : 'it is not JSON (the row holds bytes, not text)';
  if (typeof read === 'string') {
    onIgnored?.(ignoredMessage(row.name, row.position, read));
    return undefined;
  }
  if (read.state.position !== row.position) {
    onIgnored?.(ignoredMessage(row.name, row.position, `its state is at position ${read.state.position}`));
    return undefined;
  }
  return { ...row, data: read };
}

/**
 * The status document snapshot, or undefined when there is none or it is malformed (then
 * `onIgnored` says so).
 *
 * @example
 * const cached = loadStatusSnapshot(store);
 * if (cached?.position === store.lastPosition()) process.stdout.write(cached.data.json);
 */
export function loadStatusSnapshot(
  store: EventStore,
  onIgnored?: SnapshotIgnored,
): Snapshot<StatusSnapshotData> | undefined {
  const snap = store.loadSnapshotText(STATUS_SNAPSHOT);
  if (snap === undefined) return undefined;
  // A document is an object; anything else is not this cache (`replay --verify` checks the rest).
  if (typeof snap.data !== 'string' || !snap.data.startsWith('{"') || !snap.data.endsWith('}')) {
    onIgnored?.(ignoredMessage(snap.name, snap.position, 'it is not a status document'));
    return undefined;
  }
  return { ...snap, data: { json: snap.data } };
}

/**
 * Reads the chunks of the status state's task lines saved at `position` (a chunk at another
 * position belongs to other parts: undefined).
 *
 * @example
 * const chunk = chunkReader(store, main.position); chunk(0);
 */
export function chunkReader(store: EventStore, position: number): ChunkReader {
  return (k) => {
    const row = store.loadSnapshotText(statusChunkName(k));
    return row !== undefined && row.position === position && typeof row.data === 'string'
      ? row.data
      : undefined;
  };
}

function ignoredMessage(name: string, position: number, what: string): string {
  return (
    `the snapshot ${name} (a cache beside the log, at position ${position}) is unusable: ${what}; ` +
    'it is ignored and the state folded from the log (nothing is lost); the next orch spawn rewrites it'
  );
}

function isStateSnapshotData(data: unknown): data is StateSnapshotData {
  if (typeof data !== 'object' || data === null) return false;
  const d = data as Partial<StateSnapshotData>;
  return (
    typeof d.state === 'object' &&
    d.state !== null &&
    typeof d.state.position === 'number' &&
    typeof d.state.tasks === 'object' &&
    typeof d.versions === 'object' &&
    d.versions !== null
  );
}
