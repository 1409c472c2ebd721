import type { PlanGraph } from './graph.js';
import { evaluate, readyTasks } from './progress.js';
import type { DeclaredStatus, Plan, PlanFormat, Priority } from './model.js';
import { taskTarget } from './targets.js';

/**
 * What `orch plan` shows: every milestone, phase and task with the status it has for a
 * completion state (by default the one the files declare), and the ready tasks in
 * priority order. Keys match `orch status --json` (docs/cli.md, "JSON shapes").
 */

/** Task status before anything ran: `complete`, `ready` (can start now) or `pending`. */
export type ViewTaskStatus = 'complete' | 'ready' | 'pending';
/** Phase status: `complete`, `in_progress` (started), `ready` (its dependencies are complete) or `blocked`. */
export type ViewPhaseStatus = 'complete' | 'in_progress' | 'ready' | 'blocked';

/** The `orch plan --json` document. */
export interface PlanView {
  plan: { name: string; source: string; format: PlanFormat; description?: string };
  milestones: { id: string; title: string; status: 'open' | 'complete'; pr: null; phases: string[] }[];
  phases: {
    id: string;
    title: string;
    milestone: string;
    status: ViewPhaseStatus;
    declaredStatus: DeclaredStatus;
    priority: Priority;
    dependsOn: string[];
    tasks: string[];
    /** The repository the phase works in: a target id, or null for the main repository. */
    target: string | null;
    source: { file: string; line: number };
  }[];
  tasks: {
    id: string;
    title: string;
    phase: string;
    role: string;
    status: ViewTaskStatus;
    declaredStatus: DeclaredStatus;
    dependsOn: string[];
    /** The repository the task works in (its own target, else its phase's), or null for the main one. */
    target: string | null;
    source: { file: string; line: number };
  }[];
  /** Ready task ids in priority order. */
  ready: string[];
}

/**
 * Builds the view of a plan for a completion state.
 *
 * @example
 * const view = planView(plan, graph, declaredCompletion(plan));
 * view.ready; // ['T002', 'T004']
 */
export function planView(plan: Plan, graph: PlanGraph, completed: ReadonlySet<string>): PlanView {
  const progress = evaluate(graph, completed);
  const taskStatus = (id: string): ViewTaskStatus => {
    const t = graph.taskIndex.get(id);
    if (t === undefined) return 'pending';
    return progress.taskDone[t] === 1 ? 'complete' : progress.taskReady[t] === 1 ? 'ready' : 'pending';
  };
  const phaseStatus = (id: string, tasks: readonly string[]): ViewPhaseStatus => {
    const p = graph.phaseIndex.get(id);
    if (p === undefined) return 'blocked';
    if (progress.phaseDone[p] === 1) return 'complete';
    if (progress.phaseOpen[p] !== 1) return 'blocked';
    return tasks.some((t) => taskStatus(t) === 'complete') ? 'in_progress' : 'ready';
  };
  const phases = plan.phases.map((p) => ({
    id: p.id,
    title: p.title,
    milestone: p.milestone,
    status: phaseStatus(p.id, p.tasks),
    declaredStatus: p.status,
    priority: p.priority,
    dependsOn: p.dependsOn,
    tasks: p.tasks,
    target: p.target ?? null,
    source: p.source,
  }));
  const phaseDone = new Map(phases.map((p) => [p.id, p.status === 'complete']));
  return {
    plan: {
      name: plan.name,
      source: plan.source,
      format: plan.format,
      ...(plan.description !== undefined ? { description: plan.description } : {}),
    },
    milestones: plan.milestones.map((m) => ({
      id: m.id,
      title: m.title,
      status: m.phases.length > 0 && m.phases.every((p) => phaseDone.get(p) === true) ? 'complete' : 'open',
      pr: null,
      phases: m.phases,
    })),
    phases,
    tasks: plan.tasks.map((t) => ({
      id: t.id,
      title: t.title,
      phase: t.phase,
      role: t.role,
      status: taskStatus(t.id),
      declaredStatus: t.status,
      dependsOn: t.dependsOn,
      target: taskTarget(plan, t),
      source: t.source,
    })),
    ready: readyTasks(graph, completed),
  };
}
