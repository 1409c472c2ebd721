import { evolve } from '../../core/evolve.js';
import { checkInvariants, INVARIANT_DESCRIPTIONS, type InvariantConfig } from '../../core/invariants.js';
import { setOwn } from '../../core/record.js';
import { Replayer } from '../../core/replayer.js';
import { initialState, type OrchState } from '../../core/state.js';
import type { EventStore, Snapshot } from '../../store/event-store.js';
import { firstDifference, preview } from '../../core/diff.js';
import type { VerifyProblem } from './errors.js';
import { statusDocument } from '../../core/status-document.js';
import { statusFromParts } from '../../core/status-parts.js';
import { compiledEngine } from '../../machines/compiled-engine.js';
import {
  chunkReader,
  loadStateSnapshot,
  loadStatusSnapshot,
  loadStatusStateSnapshot,
  STATUS_STATE_SNAPSHOT,
  statusState,
  type StateSnapshotData,
  type StatusSnapshotData,
  type StatusStateSnapshotData,
} from '../log/snapshots.js';

/**
 * `orch replay --verify`: recompute the state from zero and check it against everything
 * that claims to know it.
 *
 * 1. every invariant of `src/core/invariants.ts` over the log (`checkInvariants`, streamed);
 * 2. the fast `Replayer` from zero, and beside it the pure `evolve` (XState `transition()`)
 *    over the first `pureLimit` events, deep-compared where the pure fold stops;
 * 3. the state snapshot (state and stream versions), the status document cache and the
 *    status state cache (`statusState`) against the Replayer's state at their position.
 *
 * Memory: events are read in pages and never kept; at most two states are held (the
 * Replayer's and the pure fold's). The pure fold copies a collection on every write, so
 * its cost grows with the log (about 200–500 events/s here): hence `pureLimit`.
 */

/** What a verification covered. */
export interface VerifyReport {
  /** Events checked (positions 1..position). */
  events: number;
  position: number;
  /** Events the pure `evolve` folded (from the first). */
  pureEvents: number;
  /** The invariants checked, by name. */
  invariants: string[];
  /** Position of the state snapshot compared, or null when none was (none, or beyond `--to`). */
  snapshot: number | null;
  /** Position of the status document cache compared, or null. */
  statusCache: number | null;
}

/** The outcome of {@link verifyLog}: the report, what is wrong (empty: all good), and the state. */
export interface VerifyOutcome {
  report: VerifyReport;
  problems: VerifyProblem[];
  /** The Replayer's state at `report.position`. */
  state: OrchState;
}

const FROM_ZERO = 'the fold from zero';

/** Default number of events the pure fold re-checks. */
export const DEFAULT_PURE_LIMIT = 5000;

/**
 * Verifies the log up to `to` (default: the end).
 *
 * @example
 * const { report, problems } = verifyLog(store, loadConfig(repoDir));
 * if (problems.length > 0) console.error(problems[0].message);
 */
export function verifyLog(
  store: EventStore,
  config: InvariantConfig,
  options: { to?: number; pureLimit?: number } = {},
): VerifyOutcome {
  const last = store.lastPosition();
  const to = Math.min(options.to ?? last, last);
  const pureLimit = Math.max(0, options.pureLimit ?? DEFAULT_PURE_LIMIT);
  const problems: VerifyProblem[] = [];

  // Pass 1: the invariants, each with its own streamed fold.
  for (const v of checkInvariants(store.readAll({ to }), config)) {
    problems.push({
      check: 'invariant',
      invariant: v.invariant,
      position: v.position,
      message: `invariant ${v.invariant} is broken at position ${v.position}: ${v.message}`,
    });
  }

  // Pass 2: Replayer vs pure fold vs caches.
  const stateSnap = loadStateSnapshot(store, (message) =>
    problems.push({ check: 'snapshot', position: 0, message }),
  );
  const statusSnap = loadStatusSnapshot(store, (message) =>
    problems.push({ check: 'status-cache', position: 0, message }),
  );
  for (const snap of [stateSnap, statusSnap]) {
    if (snap !== undefined && snap.position > last) {
      problems.push({
        check: snap === stateSnap ? 'snapshot' : 'status-cache',
        position: snap.position,
        message: `the ${snap.name} snapshot is at position ${snap.position}, beyond the end of the log (${last})`,
      });
    }
  }
  const statusStateSnap = loadStatusStateSnapshot(store, (message) =>
    problems.push({ check: 'status-cache', position: 0, message }),
  );
  if (statusStateSnap !== undefined && statusStateSnap.position > last) {
    problems.push({
      check: 'status-cache',
      position: statusStateSnap.position,
      message: `the ${statusStateSnap.name} snapshot is at position ${statusStateSnap.position}, beyond the end of the log (${last})`,
    });
  }
  const checkStatusState =
    statusStateSnap !== undefined && statusStateSnap.position <= to ? statusStateSnap : undefined;
  const checkState = stateSnap !== undefined && stateSnap.position <= to ? stateSnap : undefined;
  const checkStatus = statusSnap !== undefined && statusSnap.position <= to ? statusSnap : undefined;
  const pureStop = Math.min(pureLimit, to);
  const replayer = new Replayer();
  const versions: Record<string, number> = {};
  let pure: OrchState | null = pureStop > 0 ? initialState() : null;

  const atPosition = (position: number) => {
    if (pure !== null && position === pureStop) {
      const d = firstDifference(replayer.state, pure);
      if (d !== null) {
        problems.push(difference('replayer-vs-pure', position, "the Replayer's state", 'the pure evolve', d));
      }
      pure = null;
    }
    if (checkState?.position === position) compareSnapshot(checkState, replayer.state, versions, problems);
    if (checkStatus?.position === position) compareStatus(checkStatus, replayer.state, problems);
    if (checkStatusState?.position === position)
      compareStatusState(store, checkStatusState, replayer.state, problems);
  };

  atPosition(0);
  let events = 0;
  for (const event of store.readAll({ to })) {
    replayer.apply(event);
    setOwn(versions, event.streamId, event.streamVersion);
    if (pure !== null) pure = evolve(pure, event);
    events += 1;
    atPosition(event.position);
  }
  problems.sort((a, b) => a.position - b.position);
  return {
    report: {
      events,
      position: replayer.state.position,
      pureEvents: Math.min(pureStop, events),
      invariants: INVARIANT_DESCRIPTIONS.map((i) => i.name),
      snapshot: checkState?.position ?? null,
      statusCache: checkStatus?.position ?? null,
    },
    problems,
    state: replayer.state,
  };
}

function compareSnapshot(
  snap: Snapshot<StateSnapshotData>,
  state: OrchState,
  versions: Record<string, number>,
  problems: VerifyProblem[],
): void {
  const d = firstDifference(snap.data.state, state);
  if (d !== null)
    problems.push(difference('snapshot', snap.position, `the ${snap.name} snapshot`, FROM_ZERO, d));
  const dv = firstDifference(snap.data.versions, versions, 'versions');
  if (dv !== null) {
    problems.push(difference('snapshot-versions', snap.position, `the ${snap.name} snapshot`, FROM_ZERO, dv));
  }
}

function compareStatus(
  snap: Snapshot<StatusSnapshotData>,
  state: OrchState,
  problems: VerifyProblem[],
): void {
  const fresh = statusDocument(state);
  if (JSON.stringify(fresh) === snap.data.json) return;
  let cached: unknown;
  try {
    cached = JSON.parse(snap.data.json);
  } catch {
    cached = snap.data.json;
  }
  const d = firstDifference(cached, fresh) ?? { path: '', left: 'its key order', right: 'another' };
  problems.push(difference('status-cache', snap.position, `the ${snap.name} cache`, FROM_ZERO, d));
}

function compareStatusState(
  store: EventStore,
  snap: Snapshot<StatusStateSnapshotData>,
  state: OrchState,
  problems: VerifyProblem[],
): void {
  const d = firstDifference(snap.data, statusState(state));
  if (d !== null) {
    problems.push(difference('status-cache', snap.position, `the ${snap.name} cache`, FROM_ZERO, d));
    return;
  }
  // The document rows the parts keep for `status` (printed as stored for untouched tasks).
  const main = store.loadSnapshotText(STATUS_STATE_SNAPSHOT);
  if (main === undefined || typeof main.data !== 'string') return;
  const json = statusFromParts(main.data, chunkReader(store, main.position), [], compiledEngine);
  const expected = JSON.stringify(statusDocument(state));
  // Parts whose ids are numbers are never read row by row (`orderSafe`): nothing to check.
  if (json === undefined && !partsOrderSafe(main.data)) return;
  if (json !== expected) {
    const dd =
      json === undefined
        ? null
        : firstDifference(JSON.parse(json) as unknown, JSON.parse(expected) as unknown);
    problems.push(
      dd === null
        ? {
            check: 'status-cache',
            position: snap.position,
            path: '',
            message: `the document rows of the ${snap.name} cache cannot be read (${json === undefined ? 'its offsets do not fit' : 'they differ only in order'}); the next orch spawn rewrites it`,
          }
        : difference(
            'status-cache',
            snap.position,
            `the document rows of the ${snap.name} cache`,
            FROM_ZERO,
            dd,
          ),
    );
  }
}

function partsOrderSafe(text: string): boolean {
  try {
    return (JSON.parse(text.slice(1, text.indexOf('\n') - 1)) as { orderSafe?: unknown }).orderSafe === true;
  } catch {
    return true;
  }
}

function difference(
  check: string,
  position: number,
  left: string,
  right: string,
  d: { path: string; left: unknown; right: unknown },
): VerifyProblem {
  const path = d.path === '' ? '(the whole value)' : d.path;
  return {
    check,
    position,
    path: d.path,
    message: `${left} differs from ${right} at position ${position}, at ${path}: ${preview(d.left)} vs ${preview(d.right)}`,
  };
}
