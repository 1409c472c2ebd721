import { getOwn } from './record.js';
import type { AgentRecord, OrchState } from './state.js';
import { isLiveAgent, ownedByOtherWorker } from './state.js';

/**
 * Intents recorded without an outcome: what the runtime must reconcile after a restart
 * before it acts on `decide` (is the process still alive and the same one? did the gate
 * or merge finish? does the pull request exist?). `decide` never repeats these intents.
 */
export interface PendingIntents {
  /** Live agents spawned by an earlier (or stopped) run: resolve each with AgentStarted/AgentExited/AgentLost/AgentSpawnFailed. */
  agents: AgentRecord[];
  /** Gates started without a result: `GatePassed` / `GateFailed`. */
  gates: { taskId: string; spawnId: string }[];
  /** Merges requested without a result: `BranchMerged` / `MergeConflicted`. */
  merges: { taskId: string; spawnId: string }[];
  /** Pull requests requested but not recorded as opened. */
  pullRequests: { milestoneId: string; branch: string }[];
}

/**
 * Whether an agent is live but not owned by the current run (so nobody is watching it).
 *
 * @example
 * if (isUnresolvedAgent(state, agent)) reconcile(agent.pid, agent.pidStartTime);
 */
export function isUnresolvedAgent(state: OrchState, agent: AgentRecord): boolean {
  if (!isLiveAgent(agent)) return false;
  // A worker's agent is watched by that worker while its membership is active.
  const member = agent.runId === null ? undefined : getOwn(state.workers ?? {}, agent.runId);
  if (member !== undefined) return member.status !== 'active';
  return state.run === null || state.run.status === 'stopped' || agent.runId !== state.run.runId;
}

/**
 * The intents without outcomes in `state`.
 *
 * @example
 * const pending = pendingIntents(replay(store.readAll()));
 * for (const agent of pending.agents) await reconcileAgent(agent);
 */
export function pendingIntents(state: OrchState, self?: string): PendingIntents {
  const out: PendingIntents = { agents: [], gates: [], merges: [], pullRequests: [] };
  // Workers: another active worker's gates and merges are its own to finish.
  const mine = (spawnId: string) =>
    !ownedByOtherWorker(state, getOwn(state.agents, spawnId)?.runId ?? null, self);
  for (const agent of Object.values(state.agents))
    if (isUnresolvedAgent(state, agent)) out.agents.push(agent);
  for (const taskId of Object.keys(state.tasks)) {
    const entry = getOwn(state.tasks, taskId);
    // Best of N: each lane's gate that started without a result.
    if (entry?.value === 'racing') {
      for (const lane of entry.context.lanes ?? [])
        if (lane.state === 'verifying' && mine(lane.spawnId))
          out.gates.push({ taskId, spawnId: lane.spawnId });
    }
    const spawnId = entry?.context.spawnId;
    if (entry === undefined || spawnId == null || !mine(spawnId)) continue;
    if (entry.value === 'verifying') out.gates.push({ taskId, spawnId });
    if (entry.value === 'merging') out.merges.push({ taskId, spawnId });
  }
  for (const milestoneId of Object.keys(state.milestones)) {
    const entry = getOwn(state.milestones, milestoneId);
    if (entry?.value === 'prRequested' && entry.context.pr !== null) {
      out.pullRequests.push({ milestoneId, branch: entry.context.pr.branch });
    }
  }
  return out;
}
