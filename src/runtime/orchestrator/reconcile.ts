import { pendingIntents } from '../../core/pending-intents.js';
import type { AgentSupervisor } from '../agents/supervisor.js';
import type { LiveLog } from '../log/live-log.js';

/** The effects reconciliation may need to finish. */
export interface ReconcileDeps {
  log: LiveLog;
  agents: AgentSupervisor;
  track: (effect: Promise<unknown>) => void;
  runGate: (taskId: string, spawnId: string) => Promise<void>;
  merge: (taskId: string, spawnId: string) => Promise<void>;
  openPr: (milestoneId: string, branch: string) => Promise<void>;
  /** Workers: this worker's membership; another active worker's agents, gates and merges are left to it. */
  self?: string;
}

/**
 * After a restart, settles every intent an earlier run recorded without an outcome,
 * before anything new is decided: agents (re-attach to the same live process, or record
 * it lost; stop a process whose start was never recorded), gates (run again: a gate is a
 * check), merges (merging is idempotent: an already merged branch is recognised), pull
 * requests (the provider looks for an existing branch or PR before creating one).
 *
 * @example
 * await reconcile({ log, agents, track, runGate, merge, openPr });
 */
export async function reconcile(deps: ReconcileDeps): Promise<void> {
  const pending = pendingIntents(deps.log.state, deps.self);
  for (const agent of pending.agents) deps.agents.reconcile(agent);
  for (const gate of pending.gates) deps.track(deps.runGate(gate.taskId, gate.spawnId));
  for (const merge of pending.merges) deps.track(deps.merge(merge.taskId, merge.spawnId));
  for (const pr of pending.pullRequests) deps.track(deps.openPr(pr.milestoneId, pr.branch));
}
