import { recommendForGoal, type GoalRecommendation } from '../plan/goal.js';
import type { PlanGraph } from '../plan/graph.js';
import type { Plan } from '../plan/model.js';
import { taskTargets } from '../plan/target-of.js';

/**
 * Which tasks a run may spawn agents for (`orch spawn T1 T2 --role dev --target api`).
 * Every given filter must hold; an empty `tasks` list is no filter. Bookkeeping (phases,
 * milestones, merges) still covers the whole plan.
 */
export interface TaskSelection {
  /** Only these task ids. */
  tasks?: readonly string[];
  /** Only tasks of this role. */
  role?: string;
  /** Only tasks of this target (an id in the config's `targets`). */
  target?: string;
  /** The config's `defaultTarget`: the target of the tasks that name none. */
  defaultTarget?: string;
}

/** Why a selection does not fit the plan, with the code the run fails with. */
export interface SelectionProblem {
  code: 'UNKNOWN_TASK' | 'UNKNOWN_ROLE' | 'UNKNOWN_TARGET' | 'NO_GOAL_MATCH';
  message: string;
  hint: string;
}

/**
 * The ids of the tasks of `plan` the selection picks, in plan order; null when nothing is
 * selected (every task).
 *
 * @example
 * selectedTasks(plan, { role: 'tester' }); // Set { 'T3', 'T7' }
 * selectedTasks(plan, { tasks: [] }); // null
 */
export function selectedTasks(plan: Plan, selection: TaskSelection): Set<string> | null {
  const { tasks, role, target } = selection;
  if (!tasks?.length && role === undefined && target === undefined) return null;
  const targets = target === undefined ? null : taskTargets(plan);
  const out = new Set<string>();
  for (const t of plan.tasks) {
    if (
      (!tasks?.length || tasks.includes(t.id)) &&
      (role === undefined || t.role === role) &&
      (targets === null || (targets.get(t.id) ?? selection.defaultTarget ?? null) === target)
    )
      out.add(t.id);
  }
  return out;
}

/**
 * The first way the selection does not fit `plan` (a task id it does not have, a role no
 * task has, a target no task runs in), or null when it fits.
 *
 * @example
 * selectionProblem(plan, { tasks: ['T9'] }); // { code: 'UNKNOWN_TASK', message: 'there is no task "T9" in the plan', hint }
 */
export function selectionProblem(plan: Plan, selection: TaskSelection): SelectionProblem | null {
  const known = new Set(plan.tasks.map((t) => t.id));
  for (const id of selection.tasks ?? []) if (!known.has(id)) return unknownTaskProblem(id);
  const { role, target } = selection;
  if (role !== undefined && !plan.tasks.some((t) => t.role === role)) {
    return {
      code: 'UNKNOWN_ROLE',
      message: `no task of the plan has the role ${role}`,
      hint: 'see `orch plan` for the tasks and their roles',
    };
  }
  const targetOf = (t: string | null) => t ?? selection.defaultTarget ?? null;
  if (target !== undefined && ![...taskTargets(plan).values()].map(targetOf).includes(target)) {
    return {
      code: 'UNKNOWN_TARGET',
      message: `no task of the plan runs in target ${target}`,
      hint: `give tasks or phases \`target: ${target}\`, or a plan to the target (targets.${target}.roadmap)`,
    };
  }
  return null;
}

/**
 * The problem of a task id the plan does not have.
 *
 * @example
 * unknownTaskProblem('T9').message; // 'there is no task "T9" in the plan'
 */
export function unknownTaskProblem(id: string): SelectionProblem {
  return {
    code: 'UNKNOWN_TASK',
    message: `there is no task ${JSON.stringify(id)} in the plan`,
    hint: 'see `orch plan` for the task ids',
  };
}

/** The tasks a goal selects (`orch spawn --goal`), and why. */
export interface GoalSelection {
  /** What `orch plan --goal` shows: the matches (with their terms) and the work toward them. */
  recommendation: GoalRecommendation;
  /**
   * The task ids to run, in dependency order: every incomplete task of the recommendation
   * (the matches and everything they transitively wait on), then the matched tasks that are
   * already complete (so a goal that is already reached selects tasks and the run ends done).
   */
  tasks: string[];
}

/**
 * Ranks the work by `goal` as `orch plan --goal` does and selects the recommended tasks
 * with every incomplete task they depend on, transitively (a task named with `--tasks`
 * does not bring its dependencies; a goal does). A goal that matches nothing is a
 * `NO_GOAL_MATCH` problem.
 *
 * @example
 * goalSelection(plan, buildPlanGraph(plan), 'login page', new Set()); // { recommendation, tasks: ['T1', 'T4'] }
 */
export function goalSelection(
  plan: Plan,
  graph: PlanGraph,
  goal: string,
  completed: ReadonlySet<string>,
): GoalSelection | SelectionProblem {
  const recommendation = recommendForGoal(plan, graph, goal, completed);
  if (recommendation.matches.length === 0) {
    return {
      code: 'NO_GOAL_MATCH',
      message: `no phase or task of the plan matches the goal ${JSON.stringify(goal)}`,
      hint: 'use words of the task titles or descriptions (`orch plan` lists them), or name tasks: orch spawn T1 T2',
    };
  }
  const tasks = recommendation.tasks.map((t) => t.id);
  const chosen = new Set(tasks);
  const phaseTasks = new Map(plan.phases.map((p) => [p.id, p.tasks]));
  for (const m of recommendation.matches) {
    for (const id of m.kind === 'task' ? [m.id] : (phaseTasks.get(m.id) ?? [])) {
      if (!chosen.has(id)) {
        chosen.add(id);
        tasks.push(id);
      }
    }
  }
  return { recommendation, tasks };
}

/**
 * Whether `goalSelection` returned a problem rather than a selection.
 *
 * @example
 * if (isSelectionProblem(choice)) throw selectionError(choice);
 */
export function isSelectionProblem(x: GoalSelection | SelectionProblem): x is SelectionProblem {
  return 'code' in x;
}
