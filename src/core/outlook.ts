import type { Plan } from '../plan/model.js';
import type { DecideConfig, DecideOptions } from './decide.js';
import { decide } from './decide.js';
import { pendingIntents } from './pending-intents.js';
import { getOwn } from './record.js';
import type { OrchState } from './state.js';
import { isLiveAgent } from './state.js';

/**
 * Where a run stands, for the effect loop and the exit code of `orch spawn`:
 * - `busy`: something is happening or due (commands to carry out, live agents, a gate,
 *   merge or pull request in flight, or a timer — sleep until `nextWakeAt`);
 * - `done`: every selected task (all by default) and every milestone is complete (exit 0);
 * - `failed`: nothing more can happen and a selected task failed or was cancelled (exit 1);
 * - `waiting`: nothing more can happen without an outside event — CI, a person, a bigger
 *   budget (exit 2).
 */
export interface Outlook {
  status: 'busy' | 'done' | 'failed' | 'waiting';
  liveAgents: number;
  failedTasks: string[];
  /** Blocked tasks and what they wait on. */
  blocked: { taskId: string; on: string[] }[];
  /** Epoch ms of the earliest retry or rate-limit reset still ahead, or null. */
  nextWakeAt: number | null;
}

/**
 * The outlook at `now` (epoch ms), with the same config and options as `decide`.
 *
 * @example
 * const { status } = outlook(state, state.plan, config, clock.now());
 * if (status !== 'busy') return status === 'done' ? 0 : status === 'failed' ? 1 : 2;
 */
export function outlook(
  state: OrchState,
  plan: Plan | null,
  config: DecideConfig,
  now: number,
  options: DecideOptions = {},
): Outlook {
  const selected = options.tasks === undefined ? null : new Set(options.tasks);
  const failedTasks: string[] = [];
  const blocked: Outlook['blocked'] = [];
  let complete = true;
  let nextWakeAt: number | null = null;
  const wake = (ms: number) => {
    if (ms > now && (nextWakeAt === null || ms < nextWakeAt)) nextWakeAt = ms;
  };
  for (const task of plan?.tasks ?? []) {
    if (selected !== null && !selected.has(task.id)) continue;
    const entry = getOwn(state.tasks, task.id);
    if (entry?.value !== 'complete') complete = false;
    if (entry?.value === 'failed' || entry?.value === 'cancelled') failedTasks.push(task.id);
    if (entry?.value === 'blocked')
      blocked.push({ taskId: task.id, on: entry.context.blockedOn ?? ['person'] });
    if (entry?.value === 'retryWait' && entry.context.notBefore !== null)
      wake(Date.parse(entry.context.notBefore));
  }
  if (state.rateLimitedUntil !== null) wake(Date.parse(state.rateLimitedUntil));
  if (selected === null) {
    for (const m of plan?.milestones ?? []) {
      const value = getOwn(state.milestones, m.id)?.value;
      if (value === undefined || value === 'open' || value === 'init') complete = false;
    }
  }
  const liveAgents = Object.values(state.agents).filter(isLiveAgent).length;
  const intents = pendingIntents(state);
  const inFlight = intents.gates.length + intents.merges.length + intents.pullRequests.length;
  const commands = decide(state, plan, config, now, options);
  const busy = commands.length > 0 || liveAgents > 0 || inFlight > 0 || nextWakeAt !== null;
  const status = busy ? 'busy' : complete ? 'done' : failedTasks.length > 0 ? 'failed' : 'waiting';
  return { status, liveAgents, failedTasks, blocked, nextWakeAt };
}
