import type { PlanGraph } from './graph.js';
import type { Plan } from './model.js';

/**
 * Where a plan stands for a completion state: which tasks are complete, which are ready
 * (in priority order), what a set of tasks still waits on, and dependency orders.
 */

/**
 * The completion state a plan file declares: tasks marked complete, and phases whose
 * own status is complete (their tasks count as complete too). Markers after a
 * dependency (`Phase 1.1 ✅`) are never read as completion.
 *
 * @example
 * declaredCompletion(plan).has('T001');
 */
export function declaredCompletion(plan: Pick<Plan, 'tasks' | 'phases'>): Set<string> {
  const done = new Set<string>();
  for (const t of plan.tasks) if (t.status === 'complete') done.add(t.id);
  for (const p of plan.phases) if (p.status === 'complete') done.add(p.id);
  return done;
}

/** Where every task and phase stands for one completion state. */
export interface PlanProgress {
  /** Per task: complete (listed, or its phase is listed). */
  taskDone: Uint8Array;
  /** Per phase: all its dependencies are complete. */
  phaseOpen: Uint8Array;
  /** Per phase: complete (listed, or all its tasks are; an empty phase once its dependencies are). */
  phaseDone: Uint8Array;
  /** Per task: not complete and everything it waits for is. */
  taskReady: Uint8Array;
}

/**
 * Evaluates a completion state (a set of complete task ids and/or phase ids).
 *
 * @example
 * const progress = evaluate(graph, new Set(['T001']));
 */
export function evaluate(g: PlanGraph, completed: ReadonlySet<string>): PlanProgress {
  const T = g.taskIds.length;
  const P = g.phaseIds.length;
  const taskDone = new Uint8Array(T);
  const phaseOpen = new Uint8Array(P);
  const phaseDone = new Uint8Array(P);
  const taskReady = new Uint8Array(T);
  const phaseListed = new Uint8Array(P);
  for (let p = 0; p < P; p++) if (completed.has(g.phaseIds[p] ?? '')) phaseListed[p] = 1;
  for (let t = 0; t < T; t++) {
    const p = g.taskPhase[t] ?? -1;
    if (completed.has(g.taskIds[t] ?? '') || (p >= 0 && phaseListed[p] === 1)) taskDone[t] = 1;
  }
  const nodeDone = new Uint8Array(g.nodeCount);
  nodeDone.set(taskDone, 0);
  // Requirements come first in `order`, so one pass settles every start and end node.
  for (const v of g.order) {
    if (v < T) continue;
    const isEnd = v >= T + P;
    const p = isEnd ? v - T - P : v - T;
    let all = 1;
    for (let e = g.reqStart[v] ?? 0; e < (g.reqStart[v + 1] ?? 0); e++) {
      if (nodeDone[g.req[e] ?? 0] === 0) {
        all = 0;
        break;
      }
    }
    if (isEnd) {
      nodeDone[v] = phaseListed[p] === 1 ? 1 : all;
      phaseDone[p] = nodeDone[v] ?? 0;
    } else {
      nodeDone[v] = all;
      phaseOpen[p] = all;
    }
  }
  // Phases on cycles are absent from `order`: complete only when listed.
  for (let p = 0; p < P; p++) if (phaseListed[p] === 1) phaseDone[p] = nodeDone[T + P + p] = 1;
  for (let t = 0; t < T; t++) {
    if (taskDone[t] === 1) continue;
    let ok = 1;
    for (let e = g.reqStart[t] ?? 0; e < (g.reqStart[t + 1] ?? 0); e++) {
      if (nodeDone[g.req[e] ?? 0] === 0) {
        ok = 0;
        break;
      }
    }
    taskReady[t] = ok;
  }
  return { taskDone, phaseOpen, phaseDone, taskReady };
}

/**
 * The tasks that can start now, in priority order: BOOTSTRAP phases first, then
 * PRIORITY, then by critical path length (longest first), then id in natural order.
 *
 * @example
 * readyTasks(graph, new Set(['T001'])); // ['T002', 'T005']
 */
export function readyTasks(g: PlanGraph, completed: ReadonlySet<string>): string[] {
  const { taskReady } = evaluate(g, completed);
  const ready: number[] = [];
  for (let t = 0; t < taskReady.length; t++) if (taskReady[t] === 1) ready.push(t);
  return sortByRank(g, ready);
}

/**
 * Task indices in priority order, as ids.
 *
 * @example
 * sortByRank(graph, [3, 0, 7]);
 */
export function sortByRank(g: PlanGraph, tasks: number[]): string[] {
  return tasks.sort((a, b) => (g.rank[a] ?? 0) - (g.rank[b] ?? 0)).map((t) => g.taskIds[t] ?? '');
}

/**
 * Every task in dependency order (a task after everything it waits for; ties in plan
 * order). Tasks on or behind a dependency cycle are left out.
 *
 * @example
 * topologicalOrder(graph); // ['T001', 'T002', 'T003']
 */
export function topologicalOrder(g: PlanGraph): string[] {
  const out: string[] = [];
  for (const v of g.order) if (v < g.taskIds.length) out.push(g.taskIds[v] ?? '');
  return out;
}

/**
 * Every phase in dependency order (by when its start can happen). Phases on cycles are left out.
 *
 * @example
 * phaseOrder(graph); // ['S001', 'S002']
 */
export function phaseOrder(g: PlanGraph): string[] {
  const T = g.taskIds.length;
  const P = g.phaseIds.length;
  const out: string[] = [];
  for (const v of g.order) if (v >= T && v < T + P) out.push(g.phaseIds[v - T] ?? '');
  return out;
}

/**
 * The given tasks plus every task they wait on (through task dependencies and phase
 * dependencies) that is not complete, in dependency order.
 *
 * @example
 * tasksRequiredFor(graph, ['T005'], new Set(['T001'])); // ['T002', 'T004', 'T005']
 */
export function tasksRequiredFor(
  g: PlanGraph,
  taskIds: readonly string[],
  completed: ReadonlySet<string>,
): string[] {
  const { taskDone } = evaluate(g, completed);
  const seen = new Uint8Array(g.nodeCount);
  const stack: number[] = [];
  for (const id of taskIds) {
    const t = g.taskIndex.get(id);
    if (t !== undefined && seen[t] === 0) {
      seen[t] = 1;
      stack.push(t);
    }
  }
  while (stack.length > 0) {
    const v = stack.pop() ?? 0;
    for (let e = g.reqStart[v] ?? 0; e < (g.reqStart[v + 1] ?? 0); e++) {
      const w = g.req[e] ?? 0;
      if (seen[w] === 0 && !(w < g.taskIds.length && taskDone[w] === 1)) {
        seen[w] = 1;
        stack.push(w);
      }
    }
  }
  const out: string[] = [];
  const placed = new Uint8Array(g.taskIds.length);
  for (const v of g.order) {
    if (v < g.taskIds.length && seen[v] === 1 && taskDone[v] === 0) {
      out.push(g.taskIds[v] ?? '');
      placed[v] = 1;
    }
  }
  // Tasks on cycles have no place in the order; keep them, last.
  for (let t = 0; t < g.taskIds.length; t++)
    if (seen[t] === 1 && taskDone[t] === 0 && placed[t] === 0) out.push(g.taskIds[t] ?? '');
  return out;
}
