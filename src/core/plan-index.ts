import { buildPlanGraph } from '../plan/graph.js';
import type { Milestone, Phase, Plan, Priority, Task } from '../plan/model.js';
import { naturalCompare } from '../plan/text.js';
import { getOwn } from './record.js';
import type { OrchState } from './state.js';

/**
 * What `decide` and the invariants need from a plan, computed once per plan object:
 * lookups, the members of each phase and milestone, and the priority order of the plan
 * graph (`src/plan/graph.ts`, the same order `orch plan` shows): ⭐ BOOTSTRAP, then
 * ⭐ PRIORITY, then the longest chain of work waiting on the task, then the id in natural
 * order.
 */
export interface PlanIndex {
  readonly plan: Plan;
  readonly tasks: ReadonlyMap<string, Task>;
  readonly phases: ReadonlyMap<string, Phase>;
  readonly milestones: ReadonlyMap<string, Milestone>;
  /** Task ids of each phase, in plan order. */
  readonly phaseTasks: ReadonlyMap<string, readonly string[]>;
  /** Phase ids of each milestone, in plan order. */
  readonly milestonePhases: ReadonlyMap<string, readonly string[]>;
  /** Tasks in priority order. */
  readonly taskOrder: readonly string[];
  /** Each task's place in {@link PlanIndex.taskOrder}. */
  readonly taskRank: ReadonlyMap<string, number>;
  /** Each task's place in `plan.tasks` (its first, were an id repeated). */
  readonly taskPosition: ReadonlyMap<string, number>;
  /** Phases by priority, then their longest chain of waiting work, then id. */
  readonly phaseOrder: readonly string[];
  /** Tasks on the longest chain that starts at each task (itself included). */
  readonly criticalPath: ReadonlyMap<string, number>;
}

const PRIORITY_RANK: Record<Priority, number> = { bootstrap: 0, priority: 1, normal: 2 };

const cache = new WeakMap<Plan, PlanIndex>();

/**
 * The index of a plan (memoised per plan object, so calling it every tick is cheap).
 *
 * @example
 * const index = planIndex(state.plan);
 * index.taskOrder[0]; // the task to spawn first
 */
export function planIndex(plan: Plan): PlanIndex {
  const cached = cache.get(plan);
  if (cached) return cached;
  const built = buildIndex(plan);
  cache.set(plan, built);
  return built;
}

function buildIndex(plan: Plan): PlanIndex {
  const graph = buildPlanGraph(plan);
  const tasks = new Map<string, Task>();
  for (const t of plan.tasks) if (!tasks.has(t.id)) tasks.set(t.id, t);
  const phases = new Map<string, Phase>();
  for (const p of plan.phases) if (!phases.has(p.id)) phases.set(p.id, p);
  const milestones = new Map(plan.milestones.map((m) => [m.id, m]));
  const phaseTasks = new Map<string, string[]>([...phases.keys()].map((id) => [id, []]));
  for (const t of tasks.values()) phaseTasks.get(t.phase)?.push(t.id);
  const milestonePhases = new Map<string, string[]>(plan.milestones.map((m) => [m.id, []]));
  for (const p of phases.values()) milestonePhases.get(p.milestone)?.push(p.id);

  const criticalPath = new Map<string, number>();
  const indices: number[] = [];
  graph.taskIds.forEach((id, i) => {
    if (graph.taskIndex.get(id) !== i) return;
    indices.push(i);
    criticalPath.set(id, graph.criticalPath[i] ?? 1);
  });
  const taskOrder = indices
    .sort((a, b) => (graph.rank[a] ?? 0) - (graph.rank[b] ?? 0))
    .map((i) => graph.taskIds[i] ?? '');

  const chain = new Map<string, number>();
  for (const [id, members] of phaseTasks) {
    let best = 0;
    for (const t of members) best = Math.max(best, criticalPath.get(t) ?? 0);
    chain.set(id, best);
  }
  const rankOf = (id: string) => PRIORITY_RANK[phases.get(id)?.priority ?? 'normal'];
  const phaseOrder = [...phases.keys()].sort(
    (a, b) => rankOf(a) - rankOf(b) || (chain.get(b) ?? 0) - (chain.get(a) ?? 0) || naturalCompare(a, b),
  );
  const taskRank = new Map(taskOrder.map((id, i) => [id, i]));
  const taskPosition = new Map<string, number>();
  plan.tasks.forEach((t, i) => {
    if (!taskPosition.has(t.id)) taskPosition.set(t.id, i);
  });
  return {
    plan,
    tasks,
    phases,
    milestones,
    phaseTasks,
    milestonePhases,
    taskOrder,
    taskRank,
    taskPosition,
    phaseOrder,
    criticalPath,
  };
}

/**
 * Whether a dependency is met: a task id needs that task complete, a phase id (tasks may
 * depend on a whole phase) that phase complete. An id that is neither is ignored, as the
 * plan graph does (validation reports it).
 *
 * @example
 * dependencyMet(state, index, 'T001');
 */
export function dependencyMet(state: OrchState, index: PlanIndex, id: string): boolean {
  if (index.tasks.has(id)) return getOwn(state.tasks, id)?.value === 'complete';
  if (index.phases.has(id)) return getOwn(state.phases, id)?.value === 'complete';
  return true;
}

/**
 * The dependencies of a task that are not met yet.
 *
 * @example
 * unmetDependencies(state, index, task); // ['T001']
 */
export function unmetDependencies(state: OrchState, index: PlanIndex, task: Task): string[] {
  return task.dependsOn.filter((d) => !dependencyMet(state, index, d));
}
