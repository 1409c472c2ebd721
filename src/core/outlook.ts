import type { MachineState, TaskContext } from '../machines/index.js';
import type { Plan, Task } from '../plan/model.js';
import type { Command } from './commands.js';
import type { DecideConfig, DecideOptions } from './decide.js';
import { decide } from './decide.js';
import { pendingIntents } from './pending-intents.js';
import { getOwn } from './record.js';
import type { OrchState } from './state.js';
import { planIndex } from './plan-index.js';
import { isLiveAgent, ownedByOtherWorker } from './state.js';

/** What `outlook` reads besides `decide`'s options. */
export interface OutlookOptions extends DecideOptions {
  /**
   * How many effects the caller is still carrying out: agent processes, gates, merges, CI
   * runs, pull requests. The orchestrator passes its own count (it knows of a local CI run
   * the log does not show until its result). Default: what the log alone shows — live
   * agents plus gates, merges and pull requests recorded without an outcome.
   */
  inFlight?: number;
}

/**
 * Where a run stands, for the effect loop and the exit code of `orch spawn`:
 * - `busy`: something is happening or due (commands to carry out, effects in flight, or a
 *   timer — sleep until `nextWakeAt`);
 * - `done`: every selected task is complete; with no selection also every milestone is
 *   settled — complete, and with `autoMerge` its pull request opened (or the plan declared
 *   it complete) (exit 0);
 * - `failed`: nothing more can happen and a selected task failed or was cancelled (exit 1);
 * - `waiting`: nothing more can happen without an outside event — CI, a person, a bigger
 *   budget, a task not selected (exit 2).
 *
 * `exitCode` is the exit code of a run that ends here (null while busy); `reason` says why
 * it ends (`all 8 task(s) complete`, `waiting: T3 is blocked on ci`; '' while busy).
 */
export type Outlook = OutlookFacts &
  (
    | { status: 'busy'; exitCode: null }
    | { status: 'done'; exitCode: 0 }
    | { status: 'failed'; exitCode: 1 }
    | { status: 'waiting'; exitCode: 2 }
  );

/** What every {@link Outlook} tells, busy or not. */
export interface OutlookFacts {
  /** What to do now (`decide`'s commands); the run is busy while there are any. */
  commands: Command[];
  /**
   * Epoch ms of the earliest retry or rate-limit reset still ahead that a selected task
   * waits for (a retry, or a spawn held by the rate limit), or null.
   */
  nextWakeAt: number | null;
  reason: string;
  liveAgents: number;
  /** Selected tasks that failed for good or were cancelled. */
  failedTasks: string[];
  /** Blocked selected tasks and what they wait on. */
  blocked: { taskId: string; on: string[] }[];
}

/** A selected task of the plan with its machine state (undefined: not folded yet). */
interface Entry {
  task: Task;
  state: MachineState<TaskContext> | undefined;
}

/**
 * The outlook at `now` (epoch ms), with the same config and options as `decide` (whose
 * commands it includes). The run's outcome and its next timer both come from here.
 *
 * @example
 * const look = outlook(state, state.plan, config, clock.now().getTime(), { inFlight: 0 });
 * if (look.status !== 'busy') return { exitCode: look.exitCode, reason: look.reason };
 */
export function outlook(
  state: OrchState,
  plan: Plan | null,
  config: DecideConfig,
  now: number,
  options: OutlookOptions = {},
): Outlook {
  const selected = options.tasks === undefined ? null : new Set(options.tasks);
  // One pass over the selected tasks (every turn of the loop asks; a plan has thousands).
  const failedTasks: string[] = [];
  const blocked: { taskId: string; on: string[] }[] = [];
  let allComplete = true;
  let count = 0;
  let next: number | null = null;
  const consider = (iso: string | null) => {
    if (!iso) return;
    const ms = Date.parse(iso);
    if (ms > now && (next === null || ms < next)) next = ms;
  };
  let waitsForReset = false;
  // With the fold's task index and no selection: only the tasks that are not complete or
  // ready-without-lanes (those count, and make the run wait for a rate limit's reset).
  const index =
    selected === null &&
    plan !== null &&
    plan === state.plan &&
    planIndex(plan).tasks.size === plan.tasks.length
      ? options.taskIndex
      : undefined;
  let visit: Iterable<Task> = plan?.tasks ?? [];
  if (index !== undefined && plan !== null) {
    const at = planIndex(plan).taskPosition;
    const ids = new Set([...index.failed, ...index.active]);
    visit = [...ids]
      .filter((id) => at.has(id))
      .sort((a, b) => (at.get(a) ?? 0) - (at.get(b) ?? 0))
      .map((id) => plan.tasks[at.get(id) ?? 0] as Task);
    count = plan.tasks.length;
    allComplete = index.completeCount === count && index.size === count;
    if (index.ready.length > 0) waitsForReset = true;
  }
  for (const task of visit) {
    if (selected !== null && !selected.has(task.id)) continue;
    if (index === undefined) count += 1;
    const entry = getOwn(state.tasks, task.id);
    const value = entry?.value;
    if (value !== 'complete') allComplete = false;
    if (value === undefined || entry === undefined) continue;
    if (isOver(entry)) failedTasks.push(task.id);
    else if (value === 'blocked')
      blocked.push({ taskId: task.id, on: entry.context.blockedOn ?? ['person'] });
    // The earliest time ahead a selected task waits for (see nextTimer).
    else if (value === 'retryWait' && entry.context.notBefore) {
      consider(entry.context.notBefore);
      waitsForReset = true;
    } else if (value === 'ready') waitsForReset = true;
    // Best of N: a race whose lanes are not all spawned waits for the reset like a ready task.
    else if (value === 'racing' && (entry.context.lanes?.length ?? 0) < (entry.context.laneTotal ?? 0))
      waitsForReset = true;
  }
  if (waitsForReset) consider(state.rateLimitedUntil);
  const nextWakeAt: number | null = next;
  const liveAgents = options.live?.size ?? Object.values(state.agents).filter(isLiveAgent).length;
  /** The selected tasks with their states, for the reasons of a run that ends (not every turn). */
  const entries = (): Entry[] =>
    (plan?.tasks ?? [])
      .filter((task) => selected === null || selected.has(task.id))
      .map((task) => ({ task, state: getOwn(state.tasks, task.id) }));
  const commands = decide(state, plan, config, now, options);
  const inFlight =
    (options.inFlight ?? liveAgents + pendingCount(state)) +
    (options.self === undefined ? 0 : otherWorkersBusy(state, options.self));
  const base = { commands, nextWakeAt, liveAgents, failedTasks, blocked };
  if (commands.length > 0 || inFlight > 0 || nextWakeAt !== null)
    return { status: 'busy', exitCode: null, reason: '', ...base };
  const complete = allComplete && (selected !== null || milestonesSettled(state, config));
  if (complete) {
    const reason = `all ${count} ${selected === null ? '' : 'selected '}task(s) complete`;
    return { status: 'done', exitCode: 0, reason, ...base };
  }
  if (failedTasks.length > 0)
    return { status: 'failed', exitCode: 1, reason: failedReason(entries()), ...base };
  return { status: 'waiting', exitCode: 2, reason: waitingReason(state, plan, config, entries()), ...base };
}

/** Failed for good, or cancelled by a person: over without being done. */
const isOver = (entry: MachineState<TaskContext> | undefined) =>
  entry?.value === 'failed' || entry?.value === 'cancelled';

/**
 * Workers: what other active workers still have going (live agents; gates and merges of their
 * spawns). A worker with nothing of its own to do waits for them rather than ending the run.
 */
function otherWorkersBusy(state: OrchState, self: string): number {
  // A milestone's pull request being opened (by whichever worker claimed it).
  let n = pendingIntents(state, self).pullRequests.length;
  for (const agent of Object.values(state.agents)) {
    if (!ownedByOtherWorker(state, agent.runId, self)) continue;
    if (isLiveAgent(agent)) n += 1;
    else {
      const task = getOwn(state.tasks, agent.task);
      const busy =
        task !== undefined &&
        task.context.spawnId === agent.spawnId &&
        ['awaitingGate', 'verifying', 'awaitingMerge', 'merging'].includes(task.value);
      if (busy) n += 1;
    }
  }
  return n;
}

/** Gates, merges and pull requests the log shows requested without an outcome. */
function pendingCount(state: OrchState): number {
  const intents = pendingIntents(state);
  return intents.gates.length + intents.merges.length + intents.pullRequests.length;
}

/*
 * The earliest time ahead a selected task waits for (worked out in `outlook`'s pass): its
 * retry's `notBefore`, or the rate limit's reset when it waits to be spawned (a retry, a
 * ready task, or a race with lanes still to spawn). A reset no selected task waits for is
 * no reason to stay.
 */

/** Every milestone is past `open`, and with `autoMerge` has its pull request (or was declared complete). */
function milestonesSettled(state: OrchState, config: DecideConfig): boolean {
  // A milestone with no phases never completes (nothing was done for it): it does not hold the run.
  const empty = new Set((state.plan?.milestones ?? []).filter((m) => m.phases.length === 0).map((m) => m.id));
  return Object.values(state.milestones).every(
    (m) =>
      empty.has(m.context.milestoneId) ||
      (m.value !== 'open' && (!config.autoMerge || m.context.declaredComplete || m.value === 'prOpened')),
  );
}

/** `failed for good: T1 (exit code 1); cancelled: T2`. */
function failedReason(entries: readonly Entry[]): string {
  const over = entries.filter((e) => isOver(e.state));
  const cancelled = over.filter((e) => e.state?.value === 'cancelled').map((e) => e.task.id);
  const list = over
    .filter((e) => e.state?.value !== 'cancelled')
    .map((e) => {
      const failure = e.state?.context.lastFailure?.detail;
      return `${e.task.id}${failure ? ` (${failure})` : ''}`;
    })
    .join('; ');
  return [
    ...(list === '' ? [] : [`failed for good: ${list}`]),
    ...(cancelled.length === 0 ? [] : [`cancelled: ${cancelled.join(', ')}`]),
  ].join('; ');
}

/** `waiting: [budget of $5 reached; ]T2 waits for T1; T3 is blocked on ci; milestone M1's pull request ...`. */
function waitingReason(
  state: OrchState,
  plan: Plan | null,
  config: DecideConfig,
  entries: readonly Entry[],
): string {
  const waiting = entries
    .filter((e) => e.state?.value !== 'complete')
    .map((e) => `${e.task.id} ${taskWait(state, plan, e)}`);
  // Complete milestones whose pull request waits for CI to judge their merges.
  const provider = config.ci?.provider ?? 'none';
  if (config.autoMerge && provider !== 'none') {
    for (const [id, m] of Object.entries(state.milestones)) {
      if (m.value === 'complete' && !m.context.declaredComplete)
        waiting.push(
          `milestone ${id}'s pull request waits for a CI result on its merges` +
            (provider === 'external' ? ' (orch ci pass|fail)' : ''),
        );
    }
  }
  const budget = state.budgetExhausted ? `budget of $${state.budgetExhausted.budget} reached; ` : '';
  return `waiting: ${budget}${waiting.join('; ')}`;
}

/** What one task that is not complete waits on. */
function taskWait(state: OrchState, plan: Plan | null, { task, state: entry }: Entry): string {
  if (entry?.value === 'blocked')
    return `is blocked on ${(entry.context.blockedOn ?? ['person']).join(', ')}`;
  const open = task.dependsOn.filter((d) => getOwn(state.tasks, d)?.value !== 'complete');
  if (open.length > 0) return `waits for ${open.join(', ')}`;
  const phase = plan?.phases.find((p) => p.id === task.phase);
  const phaseOpen = (phase?.dependsOn ?? []).filter((d) => getOwn(state.phases, d)?.value !== 'complete');
  if (phaseOpen.length > 0) return `waits for phase ${phaseOpen.join(', ')}`;
  return `is ${entry?.value ?? 'pending'}`;
}
