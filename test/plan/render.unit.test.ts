import { describe, expect, it } from 'vitest';
import { recommendForGoal } from '../../src/plan/goal.js';
import { buildPlanGraph, declaredCompletion } from '../../src/plan/index.js';
import { parseDirectoryPlan } from '../../src/plan/parse-directory.js';
import { renderDot, renderGoal, renderMermaid, renderTree } from '../../src/plan/render.js';
import { planView } from '../../src/plan/view.js';
import { readFixtureDir } from './helpers.js';

const { plan } = parseDirectoryPlan(readFixtureDir('directory'), '.state/plans');
const graph = buildPlanGraph(plan);
const view = planView(plan, graph, declaredCompletion(plan));

describe('planView', () => {
  it('gives each entity its status for the declared completion state', () => {
    expect(view.ready).toEqual(['T002', 'T004']);
    expect(view.milestones.map((m) => [m.id, m.status, m.pr])).toEqual([
      ['M1', 'open', null],
      ['M2', 'open', null],
    ]);
    expect(view.phases.map((p) => [p.id, p.status])).toEqual([
      ['S001', 'complete'],
      ['S002', 'ready'],
      ['S003', 'blocked'],
      ['S004', 'blocked'],
    ]);
    expect(view.tasks.find((t) => t.id === 'T003')).toMatchObject({
      status: 'pending',
      declaredStatus: 'not_started',
      role: 'tester',
    });
    const later = planView(plan, graph, new Set(['T001', 'T002', 'T004']));
    expect(later.phases[1]?.status).toBe('in_progress');
  });
});

describe('renderers', () => {
  it('draws the tree with marks, dependencies and the ready list', () => {
    const text = renderTree(view);
    expect(text).toContain('Calculator  (directory plan, .state/plans)');
    expect(text).toContain('2 milestones · 4 phases · 8 tasks · 1 complete · 2 ready');
    expect(text).toContain(
      '\nM1  Calculator Core  [open]\n  [x] S001  Calculator API Design\n      [x] T001  Write the API design document  (architect)',
    );
    expect(text).toContain('      [>] T002  Implement add and subtract  (implementer)  ← T001  READY');
    expect(text).toContain('  [-] S004  Command-Line Interface  ← S003, S001, S002');
    expect(text.trimEnd().split('\n').at(-1)).toBe('Ready now, in priority order: T002, T004');
  });

  it('writes Mermaid and DOT with one group per milestone and an edge per phase dependency', () => {
    const mermaid = renderMermaid(view);
    expect(mermaid.split('\n')[0]).toBe('flowchart TD');
    expect(mermaid).toContain('  subgraph m0["M1: Calculator Core"]');
    expect(mermaid).toContain('    p0["S001 Calculator API Design"]:::complete');
    expect(mermaid).toContain('  p0 --> p1');
    expect(mermaid.match(/-->/g)).toHaveLength(6);
    const dot = renderDot(view);
    expect(dot).toMatch(/^digraph plan \{/);
    expect(dot).toContain('"S001" [label="S001\\nCalculator API Design", fillcolor="#d4edda"];');
    expect(dot).toContain('  "S003" -> "S004";');
    expect(dot.match(/->/g)).toHaveLength(6);
  });

  it('reports a goal: matches, then the work in order', () => {
    const text = renderGoal(
      recommendForGoal(plan, graph, 'scientific functions sqrt', declaredCompletion(plan)),
    );
    expect(text).toMatch(/^Goal: scientific functions sqrt\nMatches:\n {2}(phase S003|task T005)/);
    expect(text).toContain('Work toward it, in dependency order:');
    expect(text).toMatch(/T002 {2}Implement add and subtract {2}\(phase S002, needed first\)/);
    expect(renderGoal(recommendForGoal(plan, graph, 'zebra', new Set()))).toBe(
      'Goal: zebra\nNo phase or task matches this goal.',
    );
  });
});
