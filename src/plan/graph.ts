import type { Plan, Priority } from './model.js';
import { naturalCompare } from './text.js';

/**
 * The plan's dependency graph on plain typed arrays, built once and shared by
 * validation, the ready set, priority order and goal recommendations.
 *
 * Nodes: every task, plus a *start* and an *end* node per phase. Edges read "x requires y":
 * a task requires its phase's start and its own dependencies (a task, or a phase's end);
 * a phase's start requires the end of each phase it depends on; a phase's end requires
 * each of its tasks (an empty phase's end requires its start). So a task is ready when
 * its own dependencies and its phase's dependencies are complete, in O(tasks + edges).
 */
export interface PlanGraph {
  readonly taskIds: readonly string[];
  readonly phaseIds: readonly string[];
  /** id → index (first occurrence when ids repeat). */
  readonly taskIndex: ReadonlyMap<string, number>;
  readonly phaseIndex: ReadonlyMap<string, number>;
  /** Phase index of each task (-1 when the phase is unknown). */
  readonly taskPhase: Int32Array;
  /** Number of nodes: tasks, then phase starts, then phase ends. */
  readonly nodeCount: number;
  /** CSR adjacency of "requires": node n requires `req[reqStart[n] .. reqStart[n+1])`. */
  readonly reqStart: Int32Array;
  readonly req: Int32Array;
  /** CSR adjacency of the reverse ("required by"). */
  readonly revStart: Int32Array;
  readonly rev: Int32Array;
  /** All nodes not on or behind a cycle, requirements first (Kahn order). */
  readonly order: Int32Array;
  /** Per task: 0 bootstrap, 1 priority, 2 normal (from its phase). */
  readonly taskPriority: Uint8Array;
  /** Per task: the number of tasks on the longest chain that starts at it and runs through what waits on it. */
  readonly criticalPath: Int32Array;
  /** Per task: its position in priority order (lower runs first). */
  readonly rank: Int32Array;
}

const PRIORITY_CLASS: Record<Priority, number> = { bootstrap: 0, priority: 1, normal: 2 };

/**
 * Node index helpers: task `i` is node `i`; phase `p` starts at node `T + p` and ends at `T + P + p`.
 *
 * @example
 * startNode(graph, 0); // graph.taskIds.length
 */
export function startNode(g: Pick<PlanGraph, 'taskIds'>, phase: number): number {
  return g.taskIds.length + phase;
}

/** @see startNode */
export function endNode(g: Pick<PlanGraph, 'taskIds' | 'phaseIds'>, phase: number): number {
  return g.taskIds.length + g.phaseIds.length + phase;
}

/**
 * Builds the graph. Unknown ids and duplicates are left out (validation reports them).
 *
 * @example
 * const graph = buildPlanGraph(plan);
 * const ready = readyTasks(graph, declaredCompletion(plan));
 */
export function buildPlanGraph(plan: Pick<Plan, 'tasks' | 'phases'>): PlanGraph {
  const T = plan.tasks.length;
  const P = plan.phases.length;
  const n = T + 2 * P;
  const taskIds = plan.tasks.map((t) => t.id);
  const phaseIds = plan.phases.map((p) => p.id);
  const taskIndex = new Map<string, number>();
  taskIds.forEach((id, i) => {
    if (!taskIndex.has(id)) taskIndex.set(id, i);
  });
  const phaseIndex = new Map<string, number>();
  phaseIds.forEach((id, i) => {
    if (!phaseIndex.has(id)) phaseIndex.set(id, i);
  });
  const taskPhase = new Int32Array(T);
  const phaseTaskCount = new Int32Array(P);
  plan.tasks.forEach((t, i) => {
    const p = phaseIndex.get(t.phase) ?? -1;
    taskPhase[i] = p;
    if (p >= 0) phaseTaskCount[p] = (phaseTaskCount[p] ?? 0) + 1;
  });
  // Edges as pairs first, then CSR.
  const from: number[] = [];
  const to: number[] = [];
  const edge = (a: number, b: number): void => {
    from.push(a);
    to.push(b);
  };
  plan.tasks.forEach((t, i) => {
    if (taskIndex.get(t.id) !== i) return;
    const p = taskPhase[i] ?? -1;
    if (p >= 0) {
      edge(i, T + p);
      edge(T + P + p, i);
    }
    for (const dep of t.dependsOn) {
      const dt = taskIndex.get(dep);
      if (dt !== undefined) edge(i, dt);
      else {
        const dp = phaseIndex.get(dep);
        if (dp !== undefined) edge(i, T + P + dp);
      }
    }
  });
  plan.phases.forEach((ph, p) => {
    if (phaseIndex.get(ph.id) !== p) return;
    if ((phaseTaskCount[p] ?? 0) === 0) edge(T + P + p, T + p);
    for (const dep of ph.dependsOn) {
      const dp = phaseIndex.get(dep);
      if (dp !== undefined) edge(T + p, T + P + dp);
    }
  });
  const [reqStart, req] = csr(n, from, to);
  const [revStart, rev] = csr(n, to, from);
  const order = kahn(n, reqStart, revStart, rev);
  const taskPriority = new Uint8Array(T);
  plan.tasks.forEach((_, i) => {
    const p = taskPhase[i] ?? -1;
    const phase = p >= 0 ? plan.phases[p] : undefined;
    taskPriority[i] = PRIORITY_CLASS[phase?.priority ?? 'normal'];
  });
  const criticalPath = criticalPaths(T, order, revStart, rev);
  const byRank = Array.from({ length: T }, (_, i) => i).sort(
    (a, b) =>
      (taskPriority[a] ?? 2) - (taskPriority[b] ?? 2) ||
      (criticalPath[b] ?? 0) - (criticalPath[a] ?? 0) ||
      naturalCompare(taskIds[a] ?? '', taskIds[b] ?? ''),
  );
  const rank = new Int32Array(T);
  byRank.forEach((task, r) => (rank[task] = r));
  return {
    taskIds,
    phaseIds,
    taskIndex,
    phaseIndex,
    taskPhase,
    nodeCount: n,
    reqStart,
    req,
    revStart,
    rev,
    order,
    taskPriority,
    criticalPath,
    rank,
  };
}

function csr(n: number, from: readonly number[], to: readonly number[]): [Int32Array, Int32Array] {
  const start = new Int32Array(n + 1);
  for (const f of from) start[f + 1] = (start[f + 1] ?? 0) + 1;
  for (let i = 0; i < n; i++) start[i + 1] = (start[i + 1] ?? 0) + (start[i] ?? 0);
  const fill = start.slice(0, n);
  const adj = new Int32Array(from.length);
  for (let e = 0; e < from.length; e++) {
    const f = from[e] ?? 0;
    adj[fill[f] ?? 0] = to[e] ?? 0;
    fill[f] = (fill[f] ?? 0) + 1;
  }
  return [start, adj];
}

// Requirements first; nodes on or behind a cycle never reach zero and are left out.
function kahn(n: number, reqStart: Int32Array, revStart: Int32Array, rev: Int32Array): Int32Array {
  const waiting = new Int32Array(n);
  for (let v = 0; v < n; v++) waiting[v] = (reqStart[v + 1] ?? 0) - (reqStart[v] ?? 0);
  const queue = new Int32Array(n);
  let head = 0;
  let tail = 0;
  for (let v = 0; v < n; v++) if (waiting[v] === 0) queue[tail++] = v;
  while (head < tail) {
    const v = queue[head++] ?? 0;
    for (let e = revStart[v] ?? 0; e < (revStart[v + 1] ?? 0); e++) {
      const w = rev[e] ?? 0;
      waiting[w] = (waiting[w] ?? 0) - 1;
      if (waiting[w] === 0) queue[tail++] = w;
    }
  }
  return queue.slice(0, tail);
}

function criticalPaths(T: number, order: Int32Array, revStart: Int32Array, rev: Int32Array): Int32Array {
  const cp = new Int32Array(revStart.length - 1);
  for (let k = order.length - 1; k >= 0; k--) {
    const v = order[k] ?? 0;
    let best = 0;
    for (let e = revStart[v] ?? 0; e < (revStart[v + 1] ?? 0); e++)
      best = Math.max(best, cp[rev[e] ?? 0] ?? 0);
    cp[v] = best + (v < T ? 1 : 0);
  }
  return cp.slice(0, T);
}

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
