import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PlanParseError } from '../../src/plan/errors.js';
import { buildPlanGraph, declaredCompletion, readyTasks } from '../../src/plan/index.js';
import type { Plan } from '../../src/plan/model.js';
import { parseDirectoryPlan } from '../../src/plan/parse-directory.js';
import { parsePersona } from '../../src/plan/parse-persona.js';
import { parsePlanFiles } from '../../src/plan/parse-plan.js';
import { parseRoadmap } from '../../src/plan/parse-roadmap.js';
import { parseStructuredPlan } from '../../src/plan/parse-structured.js';
import { validatePlan } from '../../src/plan/validate.js';
import { planView } from '../../src/plan/view.js';
import {
  renderDirectory,
  renderRoadmap,
  renderStructured,
  specArb,
  type Projection,
} from './random-plans.js';

function projection(plan: Plan): Projection {
  return {
    milestones: plan.milestones.map((m) => ({ id: m.id, title: m.title, phases: m.phases })),
    phases: plan.phases.map((p) => ({
      id: p.id,
      title: p.title,
      milestone: p.milestone,
      dependsOn: p.dependsOn,
      tasks: p.tasks,
      status: p.status,
      priority: p.priority,
    })),
    tasks: plan.tasks.map((t) => ({
      id: t.id,
      title: t.title,
      role: t.role,
      phase: t.phase,
      dependsOn: t.dependsOn,
      status: t.status,
    })),
  };
}

const RUNS = { numRuns: 150 };

describe('random DAG plans round-trip through every format', () => {
  it('format A (plan directory) parses back to the same model, with no problems', () => {
    fc.assert(
      fc.property(specArb, (spec) => {
        const { files, expected } = renderDirectory(spec);
        const { plan, problems } = parseDirectoryPlan(files, 'plans');
        expect(problems).toEqual([]);
        expect(projection(plan)).toEqual(expected);
        expect(validatePlan(plan, { agentRoles: ['default'] })).toEqual([]);
      }),
      RUNS,
    );
  });

  it('format B (roadmap) parses back to the same model, with no problems', () => {
    fc.assert(
      fc.property(specArb, (spec) => {
        const { text, expected } = renderRoadmap(spec);
        const { plan, problems } = parseRoadmap(text, 'roadmap.md', 'plans/roadmap.md');
        expect(problems).toEqual([]);
        expect(projection(plan)).toEqual(expected);
        expect(validatePlan(plan, { agentRoles: ['default'] })).toEqual([]);
      }),
      RUNS,
    );
  });

  it('format C (YAML and JSON) parses back to the same model, with no problems', () => {
    fc.assert(
      fc.property(specArb, fc.constantFrom<'yaml' | 'json'>('yaml', 'json'), (spec, format) => {
        const { text, expected } = renderStructured(spec, format);
        const { plan, problems } = parseStructuredPlan(text, `plan.${format}`, format, 'plan');
        expect(problems).toEqual([]);
        expect(projection(plan)).toEqual(expected);
        expect(validatePlan(plan, { agentRoles: ['default'] })).toEqual([]);
      }),
      RUNS,
    );
  });
});

describe('a back edge is always reported as a cycle', () => {
  const cycleProblems = (plan: Plan): string[] =>
    validatePlan(plan)
      .filter((p) => /cycle|depends on itself/.test(p.message))
      .map((p) => p.message);

  it('between phases (dependency on the same or a later phase)', () => {
    fc.assert(
      fc.property(specArb, fc.nat(), fc.nat(), (spec, a, b) => {
        const { plan } = parseStructuredPlan(
          renderStructured(spec, 'yaml').text,
          'plan.yaml',
          'yaml',
          'plan',
        );
        expect(cycleProblems(plan)).toEqual([]);
        const n = plan.phases.length;
        const [lo, hi] = [Math.min(a % n, b % n), Math.max(a % n, b % n)];
        const from = plan.phases[lo]!;
        const to = plan.phases[hi]!;
        // `to` reaches `from` only if it already depends on it; make sure it does, then close the loop.
        if (lo !== hi && !to.dependsOn.includes(from.id)) to.dependsOn.push(from.id);
        from.dependsOn.push(to.id);
        const found = cycleProblems(plan);
        expect(found.length).toBeGreaterThan(0);
        expect(found.join('\n')).toContain(from.id);
      }),
      RUNS,
    );
  });

  it('between tasks, also across phases (a task waiting for a later phase)', () => {
    fc.assert(
      fc.property(specArb, fc.nat(), fc.nat(), fc.boolean(), (spec, a, b, viaPhase) => {
        const { plan } = parseStructuredPlan(
          renderStructured(spec, 'json').text,
          'plan.json',
          'json',
          'plan',
        );
        const n = plan.tasks.length;
        const [lo, hi] = [Math.min(a % n, b % n), Math.max(a % n, b % n)];
        const early = plan.tasks[lo]!;
        const late = plan.tasks[hi]!;
        if (lo !== hi && !late.dependsOn.includes(early.id)) late.dependsOn.push(early.id);
        // The back edge: the early task waits for the late one (or for the late one's whole phase).
        early.dependsOn.push(viaPhase ? late.phase : late.id);
        const found = cycleProblems(plan);
        expect(found.length).toBeGreaterThan(0);
        const graph = buildPlanGraph(plan);
        expect(graph.order.length).toBeLessThan(graph.nodeCount);
      }),
      RUNS,
    );
  });
});

describe('parsers never throw anything but PlanParseError', () => {
  const FRAGMENTS = [
    '#',
    '## ',
    '### Phase 1.1: ',
    '### Phase 2',
    '#### Tasks',
    '- ',
    '  - ',
    '- [ ] ',
    '- [x] ',
    '- [✅] ',
    '1. ',
    '**Status:** ',
    '- **Depends On:** ',
    'Phase 1.1 ✅, ',
    '- **Tasks:**',
    '- **Blocks**: [S1]',
    '| role:x',
    '| depends:',
    '```',
    '~~~',
    '<!--',
    '-->',
    'T001: ',
    'S001',
    '⭐ BOOTSTRAP',
    '🔄',
    '\t',
    '\r',
    ':',
    '[',
    ']',
    '(',
    'none',
    'Batch 1',
    '- **Milestone**: M1',
    '## Milestones',
    '### M1: x',
    '## Role',
    '## Claude.md Template',
    'id: ',
    'milestones:',
    '{',
    '}',
  ];
  const markdownish = fc
    .array(fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 6 }), fc.constant('\n')), {
      maxLength: 60,
    })
    .map((parts) => parts.join(''));
  const anyText = fc.oneof(
    markdownish,
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.string({ unit: 'grapheme', maxLength: 200 }),
  );
  const bytesAsText = fc.uint8Array({ maxLength: 300 }).map((b) => new TextDecoder('utf-8').decode(b));

  const onlyParseErrors = (fn: () => unknown): void => {
    try {
      const parsed = fn();
      // Whatever parsed must also survive validation, the graph and the view.
      if (parsed && typeof parsed === 'object' && 'plan' in parsed) {
        const plan = (parsed as { plan: Plan }).plan;
        const graph = buildPlanGraph(plan);
        validatePlan(plan, { agentRoles: ['coder'], graph });
        planView(plan, graph, declaredCompletion(plan));
        readyTasks(graph, new Set());
      }
    } catch (err) {
      if (!(err instanceof PlanParseError)) throw err;
      expect(err.code).toBe('PLAN_PARSE');
    }
  };

  it('on arbitrary and Markdown-like text', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, bytesAsText), fc.oneof(anyText, bytesAsText), (a, b) => {
        onlyParseErrors(() => parseRoadmap(a, 'roadmap.md', 'r'));
        onlyParseErrors(() => parseStructuredPlan(a, 'plan.yaml', 'yaml', 'p'));
        onlyParseErrors(() => parseStructuredPlan(a, 'plan.json', 'json', 'p'));
        onlyParseErrors(() =>
          parseDirectoryPlan(
            { 'project.md': a, 'epics/E1.md': b, 'stories/E1/S1.md': a, 'stories/x.md': b },
            'd',
          ),
        );
        onlyParseErrors(() =>
          parsePlanFiles({ files: { 'roadmap.md': b, 'personas/p.md': a }, source: 's' }),
        );
        onlyParseErrors(() => parsePersona('personas/p.md', a));
      }),
      { numRuns: 400 },
    );
  });

  it('on arbitrary bytes', () => {
    fc.assert(
      fc.property(bytesAsText, (text) => {
        onlyParseErrors(() => parseRoadmap(text, 'roadmap.md', 'r'));
        onlyParseErrors(() => parseStructuredPlan(text, 'plan.yaml', 'yaml', 'p'));
        onlyParseErrors(() => parseStructuredPlan(text, 'plan.json', 'json', 'p'));
        onlyParseErrors(() => parseDirectoryPlan({ 'project.md': text, 'stories/E1/S1.md': text }, 'd'));
      }),
      { numRuns: 300 },
    );
  });
});
