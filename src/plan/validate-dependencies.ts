import { findCycles } from './cycles.js';
import { problemAt as at, type PlanProblem } from './errors.js';
import type { PlanGraph } from './graph.js';
import type { Phase, Plan, Task } from './model.js';
import { naturalCompare } from './text.js';

/** Validation of dependency edges: unknown ids, cycles, and `Blocks` that disagree with `Dependencies`. */

function suggestion(id: string, known: Iterable<string>): string {
  const lower = id.toLowerCase();
  for (const k of known) if (k.toLowerCase() === lower) return ` (did you mean ${k}?)`;
  return '';
}

/**
 * Dependencies (of phases, tasks and epics) on ids the plan does not define.
 *
 * @example
 * unknownDependencyProblems(plan, graph, problems);
 */
export function unknownDependencyProblems(plan: Plan, graph: PlanGraph, problems: PlanProblem[]): void {
  const { phaseIndex, taskIndex } = graph;
  for (const p of plan.phases) {
    const src = p.dependsOnSource ?? p.source;
    for (const d of p.dependsOn) {
      if (phaseIndex.has(d)) continue;
      const task = taskIndex.get(d);
      const owner = task === undefined ? undefined : plan.tasks[task]?.phase;
      problems.push(
        at(
          src,
          owner !== undefined
            ? `phase ${p.id} depends on ${d}, which is a task, and phases depend only on phases: depend on its phase ${owner} instead`
            : `phase ${p.id} depends on ${d}, which is not a phase of this plan${suggestion(d, phaseIndex.keys())}: fix the id or remove it from the dependencies`,
        ),
      );
    }
  }
  for (const t of plan.tasks) {
    for (const d of t.dependsOn) {
      if (taskIndex.has(d) || phaseIndex.has(d)) continue;
      problems.push(
        at(
          t.source,
          `task ${t.id} depends on ${d}, which is not a task or phase of this plan${suggestion(d, taskIndex.keys())}: fix the id or remove it`,
        ),
      );
    }
  }
  const epicIds = new Set((plan.epics ?? []).map((e) => e.id));
  for (const e of plan.epics ?? []) {
    for (const d of e.dependsOn) {
      if (epicIds.has(d) || phaseIndex.has(d)) continue;
      problems.push(
        at(
          e.dependsOnSource ?? e.source,
          `epic ${e.id} depends on ${d}, which is not an epic or story of this plan: fix the id or remove it`,
        ),
      );
    }
  }
}

/**
 * Dependency cycles, one named cycle per strongly connected component: between phases,
 * between tasks, and (only when neither has one) through a phase and its tasks.
 *
 * @example
 * cycleProblems(plan, graph, problems); // "dependency cycle between phases: S002 → S004 → S002: …"
 */
export function cycleProblems(plan: Plan, graph: PlanGraph, problems: PlanProblem[]): void {
  const { phaseIndex, taskIndex } = graph;
  const T = graph.taskIds.length;
  const P = graph.phaseIds.length;
  // Phases among themselves first: those cycles are the ones people write.
  const phaseEdges = edgesOf(P, plan.phases, (p, i) =>
    phaseIndex.get(p.id) === i ? p.dependsOn.map((d) => phaseIndex.get(d)) : [],
  );
  const byPhaseId = (a: number, b: number): number =>
    naturalCompare(graph.phaseIds[a] ?? '', graph.phaseIds[b] ?? '');
  const phaseCycles = findCycles(P, phaseEdges[0], phaseEdges[1], byPhaseId);
  for (const c of phaseCycles) {
    const ids = c.map((i) => graph.phaseIds[i] ?? '');
    const first = plan.phases[c[0] ?? 0] as Phase;
    problems.push(
      at(
        first.dependsOnSource ?? first.source,
        ids.length === 1
          ? `phase ${ids[0]} depends on itself: remove ${ids[0]} from its own dependencies`
          : `dependency cycle between phases: ${[...ids, ids[0]].join(' → ')}: remove one of these dependencies`,
      ),
    );
  }
  const taskEdges = edgesOf(T, plan.tasks, (t, i) =>
    taskIndex.get(t.id) === i ? t.dependsOn.map((d) => taskIndex.get(d)) : [],
  );
  const byTaskId = (a: number, b: number): number =>
    naturalCompare(graph.taskIds[a] ?? '', graph.taskIds[b] ?? '');
  const taskCycles = findCycles(T, taskEdges[0], taskEdges[1], byTaskId);
  for (const c of taskCycles) {
    const ids = c.map((i) => graph.taskIds[i] ?? '');
    const first = plan.tasks[c[0] ?? 0] as Task;
    problems.push(
      at(
        first.source,
        ids.length === 1
          ? `task ${ids[0]} depends on itself: remove ${ids[0]} from its own dependencies`
          : `dependency cycle between tasks: ${[...ids, ids[0]].join(' → ')}: remove one of these dependencies`,
      ),
    );
  }
  if (phaseCycles.length > 0 || taskCycles.length > 0) return;
  // Cycles that only close through a phase waiting for its tasks.
  if (graph.order.length === graph.nodeCount) return;
  const label = (v: number): string =>
    v < T ? `task ${graph.taskIds[v] ?? ''}` : `phase ${graph.phaseIds[v < T + P ? v - T : v - T - P] ?? ''}`;
  const byLabel = (a: number, b: number): number => naturalCompare(label(a), label(b));
  for (const found of findCycles(graph.nodeCount, graph.reqStart, graph.req, byLabel)) {
    // Start the story at the cycle's first task (by id): that is the line to point at.
    const tasksIn = found.filter((v) => v < T).sort(byTaskId);
    const k = tasksIn[0] === undefined ? 0 : found.indexOf(tasksIn[0]);
    const c = [...found.slice(k), ...found.slice(0, k)];
    const names: string[] = [];
    for (const v of c) if (names[names.length - 1] !== label(v)) names.push(label(v));
    if (names.length > 1 && names[0] === names[names.length - 1]) names.pop();
    const first = c[0] ?? 0;
    const source = first < T ? plan.tasks[first]?.source : plan.phases[first - T]?.source;
    problems.push(
      at(
        source ?? { file: plan.source, line: 0 },
        `dependency cycle through a phase and its tasks: ${[...names, names[0]].join(' → ')} (a task waits for a phase that waits for the task): remove one of these dependencies`,
      ),
    );
  }
}

function edgesOf<E>(
  n: number,
  items: readonly E[],
  deps: (item: E, i: number) => (number | undefined)[],
): [Int32Array, Int32Array] {
  const start = new Int32Array(n + 1);
  const adj: number[] = [];
  items.forEach((item, i) => {
    for (const d of deps(item, i)) if (d !== undefined) adj.push(d);
    start[i + 1] = adj.length;
  });
  return [start, Int32Array.from(adj)];
}

/**
 * `Blocks` lists that disagree with the other phases' dependencies: `Blocks: [X]` on P
 * needs P among X's dependencies. The reverse (X depends on P, P's Blocks lacks X) is
 * checked only for a non-empty Blocks list, since an empty one usually means "not
 * filled in"; dependencies inherited from an epic are never expected in Blocks.
 *
 * @example
 * blocksProblems(plan, graph, problems);
 */
export function blocksProblems(plan: Plan, graph: PlanGraph, problems: PlanProblem[]): void {
  const byId = new Map<string, Phase>();
  for (const p of plan.phases) if (!byId.has(p.id)) byId.set(p.id, p);
  const epicDeps = new Map((plan.epics ?? []).map((e) => [e.id, new Set(e.dependsOn)]));
  const inherited = (x: Phase, dep: Phase): boolean =>
    x.epic !== undefined && dep.epic !== undefined && (epicDeps.get(x.epic)?.has(dep.epic) ?? false);
  for (const p of plan.phases) {
    if (!p.blocks) continue;
    const src = p.blocksSource ?? p.source;
    for (const x of p.blocks) {
      const target = byId.get(x);
      if (!target) {
        problems.push(
          at(
            src,
            `phase ${p.id} blocks ${x}, which is not a phase of this plan${suggestion(x, graph.phaseIndex.keys())}: fix the id or remove it from Blocks`,
          ),
        );
      } else if (!target.dependsOn.includes(p.id)) {
        problems.push(
          at(
            src,
            `phase ${p.id} says it blocks ${x}, but ${x} does not depend on ${p.id}: add ${p.id} to ${x}'s Dependencies or remove ${x} from ${p.id}'s Blocks`,
          ),
        );
      }
    }
  }
  for (const x of plan.phases) {
    for (const d of x.dependsOn) {
      const dep = byId.get(d);
      if (!dep?.blocks || dep.blocks.length === 0 || dep.blocks.includes(x.id) || inherited(x, dep)) continue;
      problems.push(
        at(
          dep.blocksSource ?? dep.source,
          `phase ${x.id} depends on ${dep.id}, but ${dep.id}'s Blocks does not list ${x.id}: add ${x.id} to ${dep.id}'s Blocks`,
        ),
      );
    }
  }
}
