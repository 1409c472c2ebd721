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
