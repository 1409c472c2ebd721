import { describe, expect, it } from 'vitest';
import { OrchestratorConfigSchema, bestOfFor } from '../../src/core/config.js';
import { parseDirectoryPlan } from '../../src/plan/parse-directory.js';
import { parseRoadmap } from '../../src/plan/parse-roadmap.js';
import { parseStructuredPlan } from '../../src/plan/parse-structured.js';
import { parseTaskLine } from '../../src/plan/task-line.js';
import { validatePlan } from '../../src/plan/validate.js';

/** `bestOf` (best of N) in every plan format, its validation, and `roles.<role>.bestOf`. */

describe('bestOf in the plan formats', () => {
  it('reads `| bestOf:3` (or `best of`) on a task line', () => {
    expect(parseTaskLine('T1: Make a | role:dev | bestOf:3', true)).toMatchObject({
      id: 'T1',
      bestOf: 3,
      notes: [],
    });
    expect(parseTaskLine('Make b | best of = 2', false).bestOf).toBe(2);
    expect(parseTaskLine('Make c | role:dev', false).bestOf).toBeUndefined();
  });

  it('format A (a plan directory): a story task line', () => {
    const { plan, problems } = parseDirectoryPlan(
      {
        'project.md': '# P\n## Milestones\n### M1 — One\n- [ ] E1: first\n',
        'epics/E1-first.md': '# First\n- **Milestone**: M1\n',
        'stories/E1/S1-x.md':
          '# S1: X\n## Tasks\n- [ ] T1: Race it | role:dev | bestOf:3\n- [ ] T2: Plain | role:dev\n',
      },
      'p',
    );
    expect(problems).toEqual([]);
    expect(plan.tasks.map((t) => [t.id, t.bestOf])).toEqual([
      ['T1', 3],
      ['T2', undefined],
    ]);
  });

  it('format B (a roadmap): a phase task line', () => {
    const { plan } = parseRoadmap(
      '# Roadmap\n## Batch 1\n### Phase 1.1: Core\n- [ ] Race it | bestOf: 4\n- [ ] Plain\n',
      'roadmap.md',
      'roadmap.md',
    );
    expect(plan.tasks.map((t) => t.bestOf)).toEqual([4, undefined]);
  });

  it('format C (YAML or JSON): `bestOf` or `best_of`', () => {
    const yaml = `name: P
milestones:
  - id: M1
    title: One
    phases:
      - id: P1
        title: First
        tasks:
          - { id: T1, title: A, bestOf: 3 }
          - { id: T2, title: B, best_of: 2 }
          - { id: T3, title: C }
`;
    const { plan, problems } = parseStructuredPlan(yaml, 'plan.yaml', 'yaml', 'plan.yaml');
    expect(problems).toEqual([]);
    expect(plan.tasks.map((t) => t.bestOf)).toEqual([3, 2, undefined]);
  });

  it('validation refuses a bestOf that is not a whole number from 1 to 16, at the task line', () => {
    const yaml = (v: string) => `name: P
milestones:
  - id: M1
    title: One
    phases:
      - id: P1
        title: First
        tasks:
          - { id: T1, title: A, bestOf: ${v} }
`;
    for (const bad of ['0', '17', '2.5', 'many']) {
      const { plan } = parseStructuredPlan(yaml(bad), 'plan.yaml', 'yaml', 'plan.yaml');
      const problems = validatePlan(plan);
      expect(problems, bad).toHaveLength(1);
      expect(problems[0]?.message).toMatch(/^task T1 has bestOf .*: write a whole number from 1 to 16/);
      expect(problems[0]).toMatchObject({ file: 'plan.yaml', line: 9 });
    }
    for (const good of ['1', '16']) {
      const { plan } = parseStructuredPlan(yaml(good), 'plan.yaml', 'yaml', 'plan.yaml');
      expect(validatePlan(plan), good).toEqual([]);
    }
  });
});

describe('roles.<role>.bestOf in the config', () => {
  it('accepts 1..16 and refuses anything else, naming the key', () => {
    expect(OrchestratorConfigSchema.parse({ roles: { dev: { bestOf: 3 } } }).roles).toEqual({
      dev: { bestOf: 3 },
    });
    for (const bad of [0, 17, 1.5]) {
      const r = OrchestratorConfigSchema.safeParse({ roles: { dev: { bestOf: bad } } });
      expect(r.success, String(bad)).toBe(false);
      expect(r.error?.issues[0]?.path).toEqual(['roles', 'dev', 'bestOf']);
    }
    expect(OrchestratorConfigSchema.safeParse({ roles: { dev: { bestof: 2 } } }).success).toBe(false);
  });

  it("the task's bestOf wins over its role's; no setting is 1", () => {
    const config = { roles: { dev: { bestOf: 3 } } };
    expect(bestOfFor(config, { role: 'dev' })).toBe(3);
    expect(bestOfFor(config, { role: 'dev', bestOf: 2 })).toBe(2);
    expect(bestOfFor(config, { role: 'qa' })).toBe(1);
    expect(bestOfFor({}, { role: 'dev' })).toBe(1);
  });
});
