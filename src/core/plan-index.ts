import type { Milestone, Phase, Plan, Priority, Task } from '../plan/model.js';

/**
 * What `decide` needs from a plan, computed once per plan object: lookups, the phase of
 * each task, and the priority order (⭐ BOOTSTRAP, then ⭐ PRIORITY, then the longest chain
 * of work still depending on it — the critical path — then the id in natural order).
 *
 * (src/plan has its own graph module for `orch plan`; this is the small part the pure
 * core needs, kept here so core depends only on the plan model.)
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
  /** Phases in priority order. */
  readonly phaseOrder: readonly string[];
  /** Length (in tasks) of the longest chain of work that waits on each task, itself included. */
  readonly criticalPath: ReadonlyMap<string, number>;
}

const PRIORITY_RANK: Record<Priority, number> = { bootstrap: 0, priority: 1, normal: 2 };

/**
 * Compares ids in natural order: `T2` before `T10`, `1.2` before `1.10`.
 *
 * @example
 * ['T10', 'T2'].sort(naturalCompare); // ['T2', 'T10']
 */
export function naturalCompare(a: string, b: string): number {
  const ax = a.match(/\d+|\D+/g) ?? [];
  const bx = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ax.length, bx.length); i++) {
    const x = ax[i] as string;
    const y = bx[i] as string;
    if (x === y) continue;
    const xd = /^\d/.test(x);
    const yd = /^\d/.test(y);
    if (xd && yd) {
      const diff = Number(x) - Number(y);
      if (diff !== 0) return diff;
      // Same number written differently (007 vs 7): fall back to the text.
    }
    return x < y ? -1 : 1;
  }
  return ax.length - bx.length || (a < b ? -1 : a > b ? 1 : 0);
}

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
  const tasks = new Map(plan.tasks.map((t) => [t.id, t]));
  const phases = new Map(plan.phases.map((p) => [p.id, p]));
  const milestones = new Map(plan.milestones.map((m) => [m.id, m]));
  const phaseTasks = new Map<string, string[]>(plan.phases.map((p) => [p.id, []]));
  for (const t of plan.tasks) phaseTasks.get(t.phase)?.push(t.id);
  const milestonePhases = new Map<string, string[]>(plan.milestones.map((m) => [m.id, []]));
  for (const p of plan.phases) milestonePhases.get(p.milestone)?.push(p.id);

  const criticalPath = computeCriticalPaths(plan, phaseTasks);
  const phaseChain = (p: Phase) =>
    Math.max(0, ...(phaseTasks.get(p.id) ?? []).map((t) => criticalPath.get(t) ?? 0));
  const phaseRank = (id: string) => PRIORITY_RANK[phases.get(id)?.priority ?? 'normal'];

  const taskOrder = plan.tasks
    .map((t) => t.id)
    .sort(
      (a, b) =>
        phaseRank(tasks.get(a)?.phase ?? '') - phaseRank(tasks.get(b)?.phase ?? '') ||
        (criticalPath.get(b) ?? 0) - (criticalPath.get(a) ?? 0) ||
        naturalCompare(a, b),
    );
  const chains = new Map(plan.phases.map((p) => [p.id, phaseChain(p)]));
  const phaseOrder = plan.phases
    .map((p) => p.id)
    .sort(
      (a, b) =>
        phaseRank(a) - phaseRank(b) || (chains.get(b) ?? 0) - (chains.get(a) ?? 0) || naturalCompare(a, b),
    );
  return {
    plan,
    tasks,
    phases,
    milestones,
    phaseTasks,
    milestonePhases,
    taskOrder,
    phaseOrder,
    criticalPath,
  };
}

/**
 * Longest chain of tasks waiting on each task. Nodes: tasks (weight 1) plus, per phase,
 * a "phase done" and a "phase start" node (weight 0), so phase dependencies cost
 * O(phases + tasks) edges instead of tasks². Kahn's order; nodes on a cycle (an invalid
 * plan) keep their own weight.
 */
function computeCriticalPaths(
  plan: Plan,
  phaseTasks: ReadonlyMap<string, readonly string[]>,
): Map<string, number> {
  const ids: string[] = [];
  const index = new Map<string, number>();
  const node = (key: string) => {
    let i = index.get(key);
    if (i === undefined) {
      i = ids.length;
      ids.push(key);
      index.set(key, i);
    }
    return i;
  };
  const weight: number[] = [];
  const next: number[][] = [];
  const add = (key: string, w: number) => {
    const i = node(key);
    weight[i] = w;
    next[i] ??= [];
    return i;
  };
  for (const t of plan.tasks) add(`t:${t.id}`, 1);
  for (const p of plan.phases) {
    add(`done:${p.id}`, 0);
    add(`start:${p.id}`, 0);
  }
  const edge = (from: string, to: string) => {
    const a = index.get(from);
    const b = index.get(to);
    if (a !== undefined && b !== undefined) next[a]?.push(b);
  };
  for (const t of plan.tasks) {
    for (const d of t.dependsOn) edge(`t:${d}`, `t:${t.id}`);
    edge(`t:${t.id}`, `done:${t.phase}`);
    edge(`start:${t.phase}`, `t:${t.id}`);
  }
  for (const p of plan.phases) {
    for (const d of p.dependsOn) edge(`done:${d}`, `start:${p.id}`);
    if ((phaseTasks.get(p.id) ?? []).length === 0) edge(`start:${p.id}`, `done:${p.id}`);
  }
  const indegree = new Array<number>(ids.length).fill(0);
  for (const list of next) for (const b of list) indegree[b] = (indegree[b] ?? 0) + 1;
  const order: number[] = [];
  for (let i = 0; i < ids.length; i++) if (indegree[i] === 0) order.push(i);
  for (let k = 0; k < order.length; k++) {
    for (const b of next[order[k] as number] ?? []) {
      indegree[b] = (indegree[b] ?? 0) - 1;
      if (indegree[b] === 0) order.push(b);
    }
  }
  const chain = weight.slice();
  for (let k = order.length - 1; k >= 0; k--) {
    const a = order[k] as number;
    let best = 0;
    for (const b of next[a] ?? []) best = Math.max(best, chain[b] ?? 0);
    chain[a] = (weight[a] ?? 0) + best;
  }
  const out = new Map<string, number>();
  for (const t of plan.tasks) out.set(t.id, chain[index.get(`t:${t.id}`) as number] ?? 1);
  return out;
}
