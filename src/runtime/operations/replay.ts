import type { StatusDocument } from '../../core/status-document.js';
import type { EventStore } from '../../store/event-store.js';
import { openLog } from '../log/open.js';
import { ReplayTargetError, UsageError, VerifyFailedError } from './errors.js';
import type { VerifyReport } from './verify.js';

/**
 * `orch replay`: the state rebuilt from zero (never from a cache) up to a point —
 * `--to POSITION`, `--at ISO_TIME` (the last event recorded at or before that time), or the
 * end of the log — and, with `--verify`, checked against everything that claims to know it.
 */

/** What `orch replay` is asked; `to`, `at` and `pureLimit` as given on the command line. */
export interface ReplayRequest {
  /** The git repository (its `orch.config.json`, for `verify`). */
  repoDir: string;
  stateDir: string;
  /** Stop after this log position (0 to the last). */
  to?: string;
  /** Stop at the last event recorded at or before this ISO-8601 time. */
  at?: string;
  /** Recompute from zero and check caches and invariants (`verifyLog`). */
  verify?: boolean;
  /** With `verify`: how many events (from the first) the pure evolve re-folds. */
  pureLimit?: string;
}

/** Where a replay stopped and how that point was chosen. */
export interface ReplayPoint {
  position: number;
  by: ReplayTarget['by'];
  /** The `--at` time as given. */
  at?: string;
}

/**
 * `orch replay --json`: the status document at the point, with `replay` (where it stopped)
 * and, after a verification that found nothing wrong, `verify` (what it covered).
 */
export type ReplayResult = StatusDocument & { replay: ReplayPoint; verify?: VerifyReport };

/**
 * Replays the log of `stateDir` (read-only) to the requested point; with `verify`, checks it
 * and throws {@link VerifyFailedError} naming every difference or violation.
 *
 * @example
 * const doc = await orchReplay({ repoDir: '.', stateDir: '.state', to: '120' });
 * doc.replay; // { position: 120, by: 'to' }
 */
export async function orchReplay(request: ReplayRequest): Promise<ReplayResult> {
  // The fold, the checks and the config are loaded here: the parsers below are used by
  // commands that need none of them.
  const [{ loadState }, { statusDocument }] = await Promise.all([
    import('../log/load-state.js'),
    import('../../core/status-document.js'),
  ]);
  const store = openLog(request.stateDir);
  try {
    const target = resolveReplayTarget(store, {
      ...(request.to === undefined ? {} : { to: request.to }),
      ...(request.at === undefined ? {} : { at: request.at }),
    });
    if (request.pureLimit !== undefined && request.verify !== true) {
      throw new UsageError('--pure-limit only applies with --verify', 'add --verify, or drop --pure-limit');
    }
    const replay: ReplayPoint = {
      position: target.position,
      by: target.by,
      ...(target.at ? { at: target.at } : {}),
    };
    if (request.verify !== true) {
      const { state } = loadState(store, { to: target.position, useSnapshot: false });
      return { ...statusDocument(state), replay };
    }
    const [{ loadConfig }, { verifyLog }] = await Promise.all([
      import('../project/config.js'),
      import('./verify.js'),
    ]);
    const config = loadConfig(request.repoDir);
    const pureLimit =
      request.pureLimit === undefined ? undefined : parseCount(request.pureLimit, '--pure-limit');
    const outcome = verifyLog(store, config, {
      to: target.position,
      ...(pureLimit === undefined ? {} : { pureLimit }),
    });
    if (outcome.problems.length > 0) throw new VerifyFailedError(outcome.problems, outcome.report.events);
    return { ...statusDocument(outcome.state), replay, verify: outcome.report };
  } finally {
    store.close();
  }
}

/** The point a replay stops at. */
export interface ReplayTarget {
  /** Log position (0: before the first event). */
  position: number;
  /** How it was chosen. */
  by: 'end' | 'to' | 'at';
  /** The `--at` time as given. */
  at?: string;
}

/**
 * Parses `--to`: a whole number from 0 to the end of the log.
 *
 * @example
 * parsePosition('12', 40, '--to'); // 12
 */
export function parsePosition(text: string, last: number, flag: string): number {
  const trimmed = text.trim();
  if (!/^-?\d+$/.test(trimmed)) {
    throw new ReplayTargetError(
      `${flag} ${JSON.stringify(text)} is not a log position`,
      `pass a whole number from 0 to ${last}`,
      { value: text, last },
    );
  }
  const position = Number(trimmed);
  if (position < 0 || position > last) {
    throw new ReplayTargetError(
      `${flag} ${trimmed} is ${position < 0 ? 'negative' : `beyond the end of the log (the last position is ${last})`}`,
      `pass a position from 0 to ${last} (orch log shows the positions)`,
      { value: position, last },
    );
  }
  return position;
}

/**
 * Parses a count flag (a whole number, 0 or more).
 *
 * @example
 * parseCount('5000', '--pure-limit'); // 5000
 */
export function parseCount(text: string, flag: string): number {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(Number(trimmed))) {
    throw new UsageError(`${flag} ${JSON.stringify(text)} is not a whole number`, `pass ${flag} 0 or more`);
  }
  return Number(trimmed);
}

/**
 * The target of a replay from the flags (at most one of `to` and `at`).
 *
 * @example
 * resolveReplayTarget(store, { at: '2025-01-01T12:00:00Z' }); // { position: 41, by: 'at', at: … }
 */
export function resolveReplayTarget(store: EventStore, flags: { to?: string; at?: string }): ReplayTarget {
  const last = store.lastPosition();
  if (flags.to !== undefined && flags.at !== undefined) {
    throw new ReplayTargetError('--to and --at cannot be used together', 'pass one of them');
  }
  if (flags.to !== undefined) return { position: parsePosition(flags.to, last, '--to'), by: 'to' };
  if (flags.at !== undefined) return { position: positionAt(store, flags.at), by: 'at', at: flags.at };
  return { position: last, by: 'end' };
}

/**
 * The last event recorded at or before `time` (0 when none was), scanning the log in
 * pages. Events are compared by time, not by order, so a clock that went back is handled.
 *
 * @example
 * positionAt(store, '2025-01-01T12:00:00Z'); // 41
 */
export function positionAt(store: EventStore, time: string): number {
  const limit = parseTime(time);
  let found = 0;
  for (const event of store.readAll()) {
    const at = Date.parse(event.recordedAt);
    if (!Number.isNaN(at) && at <= limit) found = event.position;
  }
  return found;
}

function parseTime(time: string): number {
  // Date-only and date-time ISO-8601 forms; anything else (e.g. "yesterday") is refused.
  const iso = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
  const ms = Date.parse(time);
  if (!iso.test(time.trim()) || Number.isNaN(ms)) {
    throw new ReplayTargetError(
      `--at ${JSON.stringify(time)} is not an ISO-8601 time`,
      'pass a time like 2025-01-31T12:00:00Z (UTC) or 2025-01-31T13:00:00+01:00',
      { value: time },
    );
  }
  return ms;
}
