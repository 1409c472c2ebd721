import { STATE_SNAPSHOT, STATUS_SNAPSHOT, STATUS_STATE_SNAPSHOT } from './snapshot-names.js';
import { getOwn, setOwn, type IdRecord } from '../../core/record.js';
import { isLiveAgent, type AgentRecord, type OrchState } from '../../core/state.js';
import type { EventStore, Snapshot } from '../../store/event-store.js';
import { statusDocument } from '../../core/status-document.js';
import { addAgentUsage, type UsageTotal } from '../../core/usage-totals.js';

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
 *   out and summed per task ({@link statusState}), so `status` on a log whose snapshot is
 *   behind folds the tail onto a state bounded by the plan, not by every spawn ever.
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

/**
 * What `status-state-v<N>` holds ({@link statusState}): the state at its position with the
 * agents the status document never reads cut out, and what of them it still needs.
 */
export interface StatusStateSnapshotData {
  /** The state, whose `agents` keep, per task, its spawns from the first one the document reads on. */
  state: OrchState;
  /** Per task: the usage of the spawns cut out (its first ones), summed in spawn order (`addAgentUsage`). */
  earlier: IdRecord<UsageTotal>;
  /** The cut spawn ids' {@link spawnIdHash}es, sorted, 8 characters each, in one string. */
  cut: string;
}

/**
 * A spawn id's 32-bit FNV-1a hash as 8 hex digits: how the status state snapshot remembers
 * the spawns it cut out (a match may be another id: then the caller takes the slow path).
 *
 * @example
 * spawnIdHash('s2'); // '3d0e2bd1'-like, always 8 hex digits
 */
export function spawnIdHash(spawnId: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < spawnId.length; i++) {
    h ^= spawnId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * Whether `spawnId` may be one of the spawns a status state snapshot cut out (its hash is in
 * `cut`; binary search, no set built). False means it certainly is not.
 *
 * @example
 * mayBeCut(snap.data.cut, 'b1c2…'); // false: a new spawn
 */
export function mayBeCut(cut: string, spawnId: string): boolean {
  const h = spawnIdHash(spawnId);
  let lo = 0;
  let hi = Math.floor(cut.length / 8) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const at = cut.slice(mid * 8, mid * 8 + 8);
    if (at === h) return true;
    if (at < h) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/**
 * The status state of `state`: per task, the spawns before the first one the status
 * document reads (live, the task's last spawn, a lane of its latest attempt) are cut out of
 * `agents`, their usage summed per task into `earlier` and their ids remembered (hashed) in
 * `cut`. `statusDocument(s.state, s.earlier)` is `statusDocument(state)` — the document
 * lists only agents it keeps, and a task's usage adds its agents in spawn order, the cut
 * ones first — and it stays so as events are folded onto `s.state`, as long as none needs a
 * cut spawn whole (see `loadStatusState`). Its size is bounded by the plan, not by the
 * history. Shares everything but the agents with `state`.
 *
 * @example
 * store.saveSnapshot(STATUS_STATE_SNAPSHOT, state.position, statusState(state));
 */
export function statusState(state: OrchState): StatusStateSnapshotData {
  const read = new Set<string>();
  const last = new Map<string, string>();
  for (const spawnId in state.agents) {
    const a = getOwn(state.agents, spawnId);
    if (a === undefined) continue;
    last.set(a.task, spawnId);
    if (isLiveAgent(a)) read.add(spawnId);
  }
  for (const spawnId of last.values()) read.add(spawnId);
  for (const taskId in state.tasks) {
    for (const lane of getOwn(state.tasks, taskId)?.context.lanes ?? []) read.add(lane.spawnId);
  }
  const agents: IdRecord<AgentRecord> = {};
  const earlier: IdRecord<UsageTotal> = {};
  const kept = new Set<string>();
  const hashes: string[] = [];
  for (const spawnId in state.agents) {
    const a = getOwn(state.agents, spawnId);
    if (a === undefined) continue;
    // Once a task has a spawn the document reads, every later one is kept: a task's usage
    // then adds the cut ones (in `earlier`) and the kept ones in spawn order, as the fold does.
    if (read.has(spawnId) || kept.has(a.task)) {
      kept.add(a.task);
      setOwn(agents, spawnId, a);
      continue;
    }
    let total = getOwn(earlier, a.task);
    if (total === undefined) {
      total = { inputTokens: 0, outputTokens: 0, costUsd: 0, attempts: 0 };
      setOwn(earlier, a.task, total);
    }
    addAgentUsage(total, a);
    hashes.push(spawnIdHash(spawnId));
  }
  return { state: { ...state, agents }, earlier, cut: [...new Set(hashes)].sort().join('') };
}

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
 * 1,000,000-event log with 170,000 spawns), of the status document and of the status state.
 *
 * @example
 * saveSnapshot(store, liveLog.state, liveLog.streamVersions());
 */
export function saveSnapshot(store: EventStore, state: OrchState, versions: Record<string, number>): void {
  const data: StateSnapshotData = { state, versions };
  store.saveSnapshot(STATE_SNAPSHOT, state.position, data);
  // Stored as the document's own JSON, so `status` prints it without parsing anything.
  store.saveSnapshot(STATUS_SNAPSHOT, state.position, statusDocument(state));
  store.saveSnapshot(STATUS_STATE_SNAPSHOT, state.position, statusState(state));
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
 * The status state snapshot ({@link statusState}), or undefined when there is none or it is
 * unusable (then `onIgnored` says so).
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
  let data: unknown;
  try {
    if (typeof row.data !== 'string') throw new Error('the row holds bytes, not text');
    data = JSON.parse(row.data);
  } catch (err) {
    onIgnored?.(ignoredMessage(row.name, row.position, `it is not JSON (${(err as Error).message})`));
    return undefined;
  }
  if (!isStateSnapshotData({ ...(data as object), versions: {} })) {
    onIgnored?.(ignoredMessage(row.name, row.position, 'it does not hold a folded state'));
    return undefined;
  }
  const { state, earlier, cut } = data as StatusStateSnapshotData;
  if (
    typeof state.agents !== 'object' ||
    state.agents === null ||
    typeof earlier !== 'object' ||
    earlier === null ||
    Array.isArray(earlier) ||
    typeof cut !== 'string' ||
    !/^[0-9a-f]*$/.test(cut) ||
    cut.length % 8 !== 0
  ) {
    onIgnored?.(
      ignoredMessage(row.name, row.position, 'it does not hold a status state (agents, earlier, cut)'),
    );
    return undefined;
  }
  if (state.position !== row.position) {
    onIgnored?.(ignoredMessage(row.name, row.position, `its state is at position ${state.position}`));
    return undefined;
  }
  return { ...row, data: { state, earlier, cut } };
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
