/**
 * The snapshot names, in a module of their own so the status cache probe
 * (`status-cache.ts`) reads them without loading the snapshot code.
 */

/** Bump when the fold or the status view change their output (old snapshots are then ignored). */
// 2: agents keep tokens, tasks keep rate-limited attempts, the status document has `usage`.
// 4: the status document has `targets` and each task its `target`.
// 5: CI judges merges by commit (`mergesSinceCi`).
// 6: `status-v<N>` holds the status document itself (was a JSON string wrapped in JSON).
// 7: milestones carry their pull request's review state (`review`).
// 8: a late CI result on an already judged merge commit judges no later merge (`ciJudgedCommits`).
// 9: the status document lists live agents and each task's last spawn, not every spawn.
// 10: best of N: tasks keep their lanes (`lanes`, `laneTotal`), agents their `lane`.
// 11: workers (`workers`, agents' `runId` read by decide).
// 12: the status state cuts old spawns out (`earlier`, `cut`); usage sums in a fixed order.
// 13: the status state is stored in parts, one per line (`statusParts`).
export const FOLD_VERSION = 13;
/** Name of the state snapshot. */
export const STATE_SNAPSHOT = `state-v${FOLD_VERSION}`;
/** Name of the status document snapshot. */
export const STATUS_SNAPSHOT = `status-v${FOLD_VERSION}`;
/** Name of the status state snapshot (`statusState` in snapshots.ts): the main part of `statusParts`. */
export const STATUS_STATE_SNAPSHOT = `status-state-v${FOLD_VERSION}`;

/**
 * Name of chunk `k` of the status state's task lines (`statusParts`), saved with the main part.
 *
 * @example
 * statusChunkName(0); // 'status-state-v13:0'
 */
export function statusChunkName(k: number): string {
  return `${STATUS_STATE_SNAPSHOT}:${k}`;
}
