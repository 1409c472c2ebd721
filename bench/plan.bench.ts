import { buildPlanGraph, declaredCompletion, readyTasks } from '../src/plan/index.js';
import type { Phase, Plan, Task } from '../src/plan/model.js';
import { validatePlan } from '../src/plan/validate.js';
import type { BenchModule, BenchResult } from './types.js';

/**
 * Plan validation plus the ready set for a generated plan of 10,000 tasks and 30,000
 * task dependencies (500 phases of 20 tasks; each phase depends on up to two earlier
 * phases). Baseline, same run: a bare Kahn topological sort of the same task edge list
 * on plain arrays — the least any dependency check has to do.
 */

const PHASES = 500;
const PER_PHASE = 20;
const DEPS_PER_TASK = 3;

function generate(): { plan: Plan; from: Int32Array; to: Int32Array } {
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const source = { file: 'plan.yaml', line: 1 };
  const phases: Phase[] = [];
  const tasks: Task[] = [];
  const from: number[] = [];
  const to: number[] = [];
  for (let p = 0; p < PHASES; p++) {
    const phaseDeps = p === 0 ? [] : [...new Set([rand(p), rand(p)])].map((d) => `P${d}`);
    const ids: string[] = [];
    for (let k = 0; k < PER_PHASE; k++) {
      const i = p * PER_PHASE + k;
      const deps = new Set<number>();
      // Depend on earlier tasks (so the plan is a DAG), mostly nearby ones: three each (none
      // for the first few), and a fourth for twelve tasks after them: 30,000 in all.
      while (i > DEPS_PER_TASK && deps.size < DEPS_PER_TASK)
        deps.add(Math.max(0, i - 1 - rand(Math.min(i, 400))));
      if (i > DEPS_PER_TASK && i <= DEPS_PER_TASK + 12) {
        let extra = 0;
        while (deps.has(extra)) extra += 1;
        deps.add(extra);
      }
      for (const d of deps) {
        from.push(i);
        to.push(d);
      }
      ids.push(`T${i}`);
      tasks.push({
        id: `T${i}`,
        title: `Task ${i}`,
        role: 'default',
        phase: `P${p}`,
        dependsOn: [...deps].map((d) => `T${d}`),
        status: i < 1000 ? 'complete' : 'not_started',
        source,
      });
    }
    phases.push({
      id: `P${p}`,
      title: `Phase ${p}`,
      milestone: 'M1',
      dependsOn: phaseDeps,
      tasks: ids,
      status: 'not_started',
      priority: p % 50 === 0 ? 'bootstrap' : 'normal',
      acceptanceCriteria: [],
      definitionOfDone: [],
      metadata: {},
      source,
    });
  }
  const plan: Plan = {
    name: 'bench',
    format: 'yaml',
    source: 'plan.yaml',
    milestones: [{ id: 'M1', title: 'M1', phases: phases.map((p) => p.id), status: 'not_started', source }],
    phases,
    tasks,
    personas: [],
  };
  return { plan, from: Int32Array.from(from), to: Int32Array.from(to) };
}

// The baseline: Kahn's algorithm over an edge list of integer ids, plain arrays only.
function bareKahn(n: number, from: Int32Array, to: Int32Array): number {
  const indegree = new Array<number>(n).fill(0);
  const out: number[][] = Array.from({ length: n }, () => []);
  for (let e = 0; e < from.length; e++) {
    indegree[from[e]!]!++;
    out[to[e]!]!.push(from[e]!);
  }
  const queue: number[] = [];
  for (let v = 0; v < n; v++) if (indegree[v] === 0) queue.push(v);
  for (let h = 0; h < queue.length; h++) {
    for (const w of out[queue[h]!]!) if (--indegree[w]! === 0) queue.push(w);
  }
  return queue.length;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const bench: BenchModule = async ({ quick }) => {
  const { plan, from, to } = generate();
  const runs = quick ? 5 : 15;
  const timed: number[] = [];
  const baseline: number[] = [];
  let ready = 0;
  for (let r = 0; r < runs + 2; r++) {
    const t0 = performance.now();
    const graph = buildPlanGraph(plan);
    const problems = validatePlan(plan, { graph, agentRoles: ['default'] });
    ready = readyTasks(graph, declaredCompletion(plan)).length;
    const t1 = performance.now();
    if (problems.length > 0) throw new Error(`bench plan is invalid: ${problems[0]?.message ?? ''}`);
    const sorted = bareKahn(plan.tasks.length, from, to);
    const t2 = performance.now();
    if (sorted !== plan.tasks.length) throw new Error('bench baseline found a cycle');
    // The first two rounds warm the JIT up.
    if (r >= 2) {
      timed.push(t1 - t0);
      baseline.push(t2 - t1);
    }
  }
  if (ready === 0) throw new Error('bench plan has no ready task');
  const value = median(timed);
  const base = median(baseline);
  const result: BenchResult = {
    name: `plan: validate + ready set, ${plan.tasks.length} tasks / ${from.length} deps`,
    unit: 'ms',
    value: Math.round(value * 10) / 10,
    baseline: Math.round(base * 10) / 10,
    ratio: Math.round((value / base) * 10) / 10,
    better: 'lower',
    goal: '< 200 ms',
    met: value < 200,
    baselineName: 'bare Kahn topological sort of the same task edge list on plain arrays',
  };
  return [result];
};

export default bench;
