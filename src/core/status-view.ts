import type { MachineState, TaskContext } from '../machines/index.js';
import { getOwn } from './record.js';
import type { AgentRecord, AgentStatus, OrchState, ReviewRecord } from './state.js';
import { isUnresolvedAgent } from './pending-intents.js';
import type { Task as PlanTask } from '../plan/model.js';

/** Task status as `orch status` shows it. */
export type TaskStatus = 'pending' | 'ready' | 'running' | 'blocked' | 'complete' | 'failed';
/** Phase status as `orch status` shows it. */
export type PhaseStatus = 'blocked' | 'ready' | 'in_progress' | 'complete';
/** Milestone status as `orch status` shows it. */
export type MilestoneStatus = 'open' | 'complete';

/** The core of the `orch status --json` / `orch replay --json` document (docs/cli.md, "JSON shapes"). */
export interface StatusView {
  position: number;
  plan: { name: string; source: string } | null;
  milestones: {
    id: string;
    title: string;
    status: MilestoneStatus;
    pr: { url: string | null; branch: string } | null;
    /** The reviews of its pull request (`pr.reviews`), once one was recorded. */
    review?: ReviewRecord;
  }[];
  phases: { id: string; title: string; milestone: string; status: PhaseStatus; dependsOn: string[] }[];
  tasks: {
    id: string;
    title: string;
    phase: string;
    role: string;
    status: TaskStatus;
    dependsOn: string[];
    attempts: number;
    /** The attempt loop's state (`retryWait`, `verifying`, `cancelled`, ...). */
    detail: string;
    blockedOn: string[] | null;
    lastFailure: string | null;
    /** Best of N: the lanes of the latest attempt (absent for a one-agent attempt). */
    lanes?: StatusLane[];
  }[];
  agents: {
    spawnId: string;
    task: string;
    attempt: number;
    status: AgentStatus;
    pid: number | null;
    exitCode: number | null;
    signal: string | null;
    /** Live, but spawned by an earlier run: waiting for the runtime to reconcile it. */
    unresolved: boolean;
    /** Best of N: the spawn's lane, and whether another lane superseded it. */
    lane?: number;
    superseded?: boolean;
  }[];
  run: { runId: string; status: 'running' | 'stopped'; startedAt: string } | null;
  costUsd: number;
}

/** One lane of a best-of-N attempt as `orch status` shows it: its state and its agent's usage. */
export interface StatusLane {
  lane: number;
  spawnId: string;
  /** `running`, `exited` (gate due), `verifying`, `failed`, `won` or `superseded`. */
  state: string;
  failure: string | null;
  costUsd: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
}

const TASK_STATUS: Record<string, TaskStatus> = {
  init: 'pending',
  pending: 'pending',
  ready: 'ready',
  spawning: 'running',
  running: 'running',
  awaitingGate: 'running',
  verifying: 'running',
  awaitingMerge: 'running',
  merging: 'running',
  retrying: 'running',
  retryWait: 'running',
  racing: 'running',
  blocked: 'blocked',
  complete: 'complete',
  failed: 'failed',
  cancelled: 'failed',
};

/**
 * The status a task's machine state shows as.
 *
 * @example
 * taskStatus({ value: 'retryWait', context }); // 'running'
 */
export function taskStatus(entry: MachineState<TaskContext>): TaskStatus {
  return TASK_STATUS[entry.value] ?? 'pending';
}

/**
 * The read model of `orch status`: plan entities in plan order with their live status,
 * and the agents that matter now, in spawn order: every live one (spawning or running) and
 * the last spawn of each task. Its size is bounded by the plan, not by the history (every
 * spawn ever is in `orch log` and `orch replay`).
 *
 * @example
 * console.log(JSON.stringify(statusView(replay(store.readAll())), null, 2));
 */
export function statusView(
  state: OrchState,
  agents: readonly AgentRecord[] = Object.values(state.agents),
): StatusView {
  const plan = state.plan;
  return {
    position: state.position,
    plan: plan === null ? null : { name: plan.name, source: plan.source },
    milestones: milestoneRows(state),
    phases: phaseRows(state),
    tasks: (plan?.tasks ?? []).map((t) => taskRow(state, t)),
    agents: shownAgents(agents).map((a) => agentRow(state, a)),
    run:
      state.run === null
        ? null
        : { runId: state.run.runId, status: state.run.status, startedAt: state.run.startedAt },
    costUsd: state.costUsd,
  };
}

/**
 * The milestones of the status view, in plan order.
 *
 * @example
 * milestoneRows(state)[0]?.status; // 'open'
 */
export function milestoneRows(state: OrchState): StatusView['milestones'] {
  return (state.plan?.milestones ?? []).map((m) => {
    const entry = getOwn(state.milestones, m.id);
    const review = getOwn(state.reviews ?? {}, m.id);
    return {
      id: m.id,
      title: m.title,
      status: entry === undefined || entry.value === 'open' || entry.value === 'init' ? 'open' : 'complete',
      pr: entry?.context.pr ?? null,
      ...(review === undefined ? {} : { review }),
    };
  });
}

/**
 * The phases of the status view, in plan order.
 *
 * @example
 * phaseRows(state)[0]?.status; // 'ready'
 */
export function phaseRows(state: OrchState): StatusView['phases'] {
  return (state.plan?.phases ?? []).map((p) => {
    const value = getOwn(state.phases, p.id)?.value;
    const status: PhaseStatus =
      value === 'ready' || value === 'in_progress' || value === 'complete' ? value : 'blocked';
    return { id: p.id, title: p.title, milestone: p.milestone, status, dependsOn: [...p.dependsOn] };
  });
}

/**
 * One plan task's row of the status view: it reads only the task's own machine state (and
 * its lanes' agents), so a row changes only when an event steps that task.
 *
 * @example
 * taskRow(state, state.plan.tasks[0]).status; // 'running'
 */
export function taskRow(
  state: OrchState,
  t: Pick<PlanTask, 'id' | 'title' | 'phase' | 'role' | 'dependsOn'>,
): StatusView['tasks'][number] {
  const entry = getOwn(state.tasks, t.id);
  return {
    id: t.id,
    title: t.title,
    phase: t.phase,
    role: t.role,
    status: entry === undefined ? 'pending' : taskStatus(entry),
    dependsOn: [...t.dependsOn],
    attempts: entry?.context.attempts ?? 0,
    detail: entry?.value ?? 'pending',
    blockedOn: entry?.context.blockedOn ?? null,
    lastFailure: entry?.context.lastFailure?.detail ?? null,
    ...(entry?.context.lanes ? { lanes: statusLanes(state, entry.context) } : {}),
  };
}

/**
 * One agent's row of the status view (`unresolved` reads the run and the workers).
 *
 * @example
 * agentRow(state, agent).unresolved; // false
 */
export function agentRow(state: OrchState, a: AgentRecord): StatusView['agents'][number] {
  return {
    spawnId: a.spawnId,
    task: a.task,
    attempt: a.attempt,
    status: a.status,
    pid: a.pid,
    exitCode: a.exitCode,
    signal: a.signal,
    unresolved: isUnresolvedAgent(state, a),
    ...(a.lane === undefined ? {} : { lane: a.lane, superseded: a.superseded === true }),
  };
}

/**
 * The agents the status view lists: live ones and the last spawn of each task, in spawn order.
 *
 * @example
 * shownAgents(Object.values(state.agents)).length; // at most live + tasks
 */
export function shownAgents(all: readonly AgentRecord[]): AgentRecord[] {
  const last = new Map<string, AgentRecord>();
  for (const a of all) last.set(a.task, a);
  return all.filter((a) => a.status === 'spawning' || a.status === 'running' || last.get(a.task) === a);
}

/**
 * The lanes of a task's latest best-of-N attempt with each lane's usage (from its agent).
 *
 * @example
 * statusLanes(state, state.tasks['T1'].context); // [{ lane: 1, state: 'won', costUsd: 0.4, ... }]
 */
export function statusLanes(state: OrchState, ctx: TaskContext): StatusLane[] {
  return (ctx.lanes ?? []).map((l) => {
    const agent = getOwn(state.agents, l.spawnId);
    return {
      lane: l.lane,
      spawnId: l.spawnId,
      state: l.state,
      failure: l.failure,
      costUsd: agent?.costUsd ?? null,
      inputTokens: agent?.inputTokens ?? null,
      outputTokens: agent?.outputTokens ?? null,
    };
  });
}
