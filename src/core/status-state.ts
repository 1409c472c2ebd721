import { getOwn, setOwn, type IdRecord } from './record.js';
import { isLiveAgent, type AgentRecord, type OrchState } from './state.js';
import { addAgentUsage, type UsageTotal } from './usage-totals.js';

/**
 * The status state: the state `orch status` folds a log's tail onto, with the agents the
 * status document never reads cut out (pure; the snapshot code in `src/runtime/log` stores it).
 */

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
    // Compared in place, character by character (a slice per probe cost more than the search).
    let order = 0;
    for (let i = 0; i < 8 && order === 0; i++) order = cut.charCodeAt(mid * 8 + i) - h.charCodeAt(i);
    if (order === 0) return true;
    if (order < 0) lo = mid + 1;
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
