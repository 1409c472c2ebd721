import { describe, expect, it } from 'vitest';
import {
  buildPlanGraph,
  declaredCompletion,
  phaseOrder,
  readyTasks,
  tasksRequiredFor,
  topologicalOrder,
} from '../../src/plan/index.js';
import type { Phase, Plan, Priority, Task } from '../../src/plan/model.js';
import { parseRoadmap } from '../../src/plan/parse-roadmap.js';
import { naturalCompare } from '../../src/plan/text.js';
import { validatePlan } from '../../src/plan/validate.js';
import { readFixture } from './helpers.js';

const src = { file: 'plan.yaml', line: 1 };

/** A small plan from a compact description: phase id → [deps, priority, tasks as id → deps]. */
function plan(
  spec: Record<
    string,
    { deps?: string[]; priority?: Priority; tasks: Record<string, string[]>; complete?: boolean }
  >,
): Plan {
  const phases: Phase[] = [];
  const tasks: Task[] = [];
  for (const [id, p] of Object.entries(spec)) {
    phases.push({
      id,
      title: id,
      milestone: 'M1',
      dependsOn: p.deps ?? [],
      tasks: Object.keys(p.tasks),
      status: p.complete ? 'complete' : 'not_started',
      priority: p.priority ?? 'normal',
      acceptanceCriteria: [],
      definitionOfDone: [],
      metadata: {},
      source: src,
    });
    for (const [tid, deps] of Object.entries(p.tasks)) {
      tasks.push({
        id: tid,
        title: tid,
        role: 'default',
        phase: id,
        dependsOn: deps,
        status: 'not_started',
        source: src,
      });
    }
  }
  return {
    name: 'p',
    format: 'yaml',
    source: 'plan.yaml',
    milestones: [
      { id: 'M1', title: 'M1', phases: phases.map((p) => p.id), status: 'not_started', source: src },
    ],
    phases,
    tasks,
    personas: [],
  };
}

describe('ready set', () => {
  const p = plan({
    A: { tasks: { T1: [], T2: ['T1'] } },
    B: { deps: ['A'], tasks: { T3: [] } },
    C: { tasks: { T4: ['T1'], T5: ['B'] } },
  });
  const g = buildPlanGraph(p);

  it('needs a task’s own dependencies and its phase’s dependencies to be complete', () => {
    expect(readyTasks(g, new Set())).toEqual(['T1']);
    expect(readyTasks(g, new Set(['T1']))).toEqual(['T2', 'T4']);
    expect(readyTasks(g, new Set(['T1', 'T2']))).toEqual(['T3', 'T4']);
    // A task that depends on a phase waits for every task of it.
    expect(readyTasks(g, new Set(['T1', 'T2', 'T3']))).toEqual(['T4', 'T5']);
  });

  it('counts a phase listed as complete as all its tasks complete', () => {
    expect(readyTasks(g, new Set(['A']))).toEqual(['T3', 'T4']);
  });

  it('passes through an empty phase once its dependencies are complete', () => {
    const q = plan({
      A: { tasks: { T1: [] } },
      E: { deps: ['A'], tasks: {} },
      B: { deps: ['E'], tasks: { T2: [] } },
    });
    const gq = buildPlanGraph(q);
    expect(readyTasks(gq, new Set())).toEqual(['T1']);
    expect(readyTasks(gq, new Set(['T1']))).toEqual(['T2']);
  });

  it('never reads a marker after a dependency as completion (Phase 1.1 ✅ with 1.1 not complete)', () => {
    const { plan: r } = parseRoadmap(
      '## B\n### Phase 1.1: A\n- **Status:** ⚪ Not Started\n- [ ] a\n### Phase 1.2: B\n- **Depends On:** Phase 1.1 ✅\n- [ ] b\n',
      'roadmap.md',
      'r',
    );
    const gr = buildPlanGraph(r);
    expect(readyTasks(gr, declaredCompletion(r))).toEqual(['1.1.1']);
  });

  it('uses the declared statuses of the large roadmap', () => {
    const { plan: r } = parseRoadmap(readFixture('roadmap-large', 'roadmap.md'), 'roadmap.md', 'r');
    const ready = readyTasks(buildPlanGraph(r), declaredCompletion(r));
    expect(ready).toEqual(['2.3.2', '2.3.3', '4.1.1', '4.1.2', '4.2.1', '4.2.2', '6.1.1', '6.1.2']);
  });
});

describe('priority order', () => {
  it('puts BOOTSTRAP first, then PRIORITY, then the longest critical path, then ids in natural order', () => {
    const p = plan({
      N: { tasks: { T10: [], T2: [], T3: [] } },
      L: { deps: [], tasks: { T20: [] } },
      X: { deps: ['L'], tasks: { T21: [] } },
      Y: { deps: ['X'], tasks: { T22: [] } },
      P: { priority: 'priority', tasks: { T30: [] } },
      Q: { priority: 'bootstrap', tasks: { T40: [] } },
    });
    expect(readyTasks(buildPlanGraph(p), new Set())).toEqual(['T40', 'T30', 'T20', 'T2', 'T3', 'T10']);
  });

  it('orders ids naturally', () => {
    expect(['T10', 'T2', '1.10', '1.9', 'T02', 'a'].sort(naturalCompare)).toEqual([
      '1.9',
      '1.10',
      'T02',
      'T2',
      'T10',
      'a',
    ]);
  });
});

describe('orders and requirements', () => {
  const p = plan({
    B: { deps: ['A'], tasks: { T3: [], T4: ['T3'] } },
    A: { tasks: { T2: ['T1'], T1: [] } },
    C: { tasks: { T5: ['T4'] } },
  });
  const g = buildPlanGraph(p);

  it('gives every task after what it waits for', () => {
    const order = topologicalOrder(g);
    expect(order).toHaveLength(5);
    const pos = new Map(order.map((id, i) => [id, i]));
    for (const [a, b] of [
      ['T1', 'T2'],
      ['T2', 'T3'],
      ['T1', 'T3'],
      ['T3', 'T4'],
      ['T4', 'T5'],
    ] as const) {
      expect(pos.get(a)!).toBeLessThan(pos.get(b)!);
    }
    expect(phaseOrder(g).indexOf('A')).toBeLessThan(phaseOrder(g).indexOf('B'));
  });

  it('lists what a task still needs, in dependency order, without complete work', () => {
    expect(tasksRequiredFor(g, ['T5'], new Set(['T1']))).toEqual(['T2', 'T3', 'T4', 'T5']);
    expect(tasksRequiredFor(g, ['T5'], new Set(['A', 'T3']))).toEqual(['T4', 'T5']);
  });
});

describe('scale', () => {
  it('validates and finds the ready set of 10,000 tasks and 30,000 dependencies quickly', () => {
    const phases: Record<string, { deps: string[]; tasks: Record<string, string[]> }> = {};
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let p = 0; p < 500; p++) {
      const tasks: Record<string, string[]> = {};
      for (let k = 0; k < 20; k++) {
        const i = p * 20 + k;
        tasks[`T${i}`] =
          i === 0 ? [] : [0, 1].map(() => `T${rand(i)}`).filter((d, j, a) => a.indexOf(d) === j);
      }
      phases[`P${p}`] = { deps: p === 0 ? [] : [`P${rand(p)}`], tasks };
    }
    const p = plan(phases);
    const edges =
      p.tasks.reduce((n, t) => n + t.dependsOn.length, 0) +
      p.phases.reduce((n, x) => n + x.dependsOn.length, 0);
    expect(p.tasks).toHaveLength(10_000);
    expect(edges).toBeGreaterThan(19_000);
    const t0 = performance.now();
    const g = buildPlanGraph(p);
    expect(validatePlan(p, { graph: g, agentRoles: ['default'] })).toEqual([]);
    expect(readyTasks(g, new Set())).toEqual(['T0']);
    expect(topologicalOrder(g)).toHaveLength(10_000);
    // Generous: the bench measures the real figure; this only catches a quadratic slip.
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
