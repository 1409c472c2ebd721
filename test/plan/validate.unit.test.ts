import { describe, expect, it } from 'vitest';
import { PlanValidationError } from '../../src/plan/errors.js';
import type { Plan } from '../../src/plan/model.js';
import { parseDirectoryPlan } from '../../src/plan/parse-directory.js';
import { parseRoadmap } from '../../src/plan/parse-roadmap.js';
import { parseStructuredPlan } from '../../src/plan/parse-structured.js';
import { checkPlan, validatePlan } from '../../src/plan/validate.js';
import { readFixture, readFixtureDir } from './helpers.js';

const yamlPlan = (text: string): Plan => parseStructuredPlan(text, 'plan.yaml', 'yaml', 'plan.yaml').plan;

describe('validation collects every problem with file, line and what to change', () => {
  it('on the invalid plan directory', () => {
    const parsed = parseDirectoryPlan(readFixtureDir('invalid-directory'), '.state/plans');
    let error: PlanValidationError | undefined;
    try {
      checkPlan(parsed, { agentRoles: ['default'] });
    } catch (err) {
      error = err as PlanValidationError;
    }
    expect(error).toBeInstanceOf(PlanValidationError);
    expect(error?.code).toBe('PLAN_INVALID');
    expect(error?.problems.map((p) => [p.file, p.line])).toEqual([
      ['epics/E001-core.md', 1],
      ['epics/E002-extras.md', 6],
      ['project.md', 8],
      ['stories/E001/S001-api.md', 5],
      ['stories/E001/S001-api.md', 7],
      ['stories/E001/S002-impl.md', 6],
      ['stories/E001/S002-impl.md', 11],
      ['stories/E001/S002-impl.md', 12],
      ['stories/E002/S003-sci.md', 9],
      ['stories/E002/notes.md', 1],
    ]);
    const text = error?.problems.map((p) => p.message).join('\n') ?? '';
    expect(text).toContain('epic E001 lists story S005, which has no file under stories/');
    expect(text).toContain('epic E002 depends on E007, which is not an epic or story');
    expect(text).toContain('milestone M2 lists epic E009, which has no file in epics/');
    expect(text).toContain('story S001 has status "finito"');
    expect(text).toContain("phase S002 depends on S001, but S001's Blocks does not list S002");
    expect(text).toContain('dependency cycle between phases: S002 → S004 → S002');
    expect(text).toContain('task T002 is defined twice (first at stories/E001/S002-impl.md:10)');
    expect(text).toContain('task T003 depends on T099, which is not a task or phase');
    expect(text).toContain('dependency cycle between tasks: T004 → T005 → T004');
    expect(text).toContain('has no story id');
    expect(error?.toJSON()).toMatchObject({ code: 'PLAN_INVALID', problems: error?.problems });
  });

  it('on the invalid roadmap', () => {
    const parsed = parseRoadmap(
      readFixture('invalid-roadmap', 'roadmap.md'),
      'roadmap.md',
      'plans/roadmap.md',
    );
    const problems = [...parsed.problems, ...validatePlan(parsed.plan)];
    expect(problems.map((p) => `${p.line}: ${p.message.split(':')[0]}`).sort()).toEqual(
      [
        '12: phase 1.2 has status "Finito", which is not a status',
        '13: dependency cycle between phases',
        '13: phase 1.2 depends on 9.1, which is not a phase of this plan',
        '21: task 1.3.1 depends on 1.1.7, which is not a task or phase of this plan',
        '31: phase 2.1 is defined twice (first at roadmap.md',
      ].sort(),
    );
  });

  it('names a cycle that only closes through a phase waiting for its tasks', () => {
    const plan = yamlPlan(
      [
        'milestones:',
        '  - id: M1',
        '    phases:',
        '      - id: P1',
        '        dependsOn: [P2]',
        '        tasks: [{ id: T1 }]',
        '      - id: P2',
        '        tasks: [{ id: T2, dependsOn: [T1] }]',
      ].join('\n'),
    );
    const problems = validatePlan(plan);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: 'plan.yaml', line: 6 });
    expect(problems[0]?.message).toContain(
      'dependency cycle through a phase and its tasks: task T1 → phase P1 → phase P2 → task T2 → task T1',
    );
  });

  it('checks roles against personas and configured agents; a default agent covers every role', () => {
    const plan = yamlPlan(
      [
        'milestones:',
        '  - id: M1',
        '    phases:',
        '      - id: P1',
        '        tasks: [{ id: T1, role: coder }, { id: T2, role: coder }, { id: T3, role: tester }, { id: T4, role: writer }]',
        'personas:',
        '  - { role: writer }',
      ].join('\n'),
    );
    const problems = validatePlan(plan, { agentRoles: ['tester'] });
    expect(problems.map((p) => p.message)).toEqual([
      'role coder (tasks T1, T2) has no persona and no configured agent: add personas/coder.md, an "agents.coder" entry in orch.config, or an "agents.default"',
    ]);
    expect(validatePlan(plan, { agentRoles: ['default'] })).toEqual([]);
    expect(validatePlan(plan)).toEqual([]);
  });

  it('finds duplicate milestones, ids shared by a phase and a task, unknown milestones and phase-on-task dependencies', () => {
    const plan = yamlPlan(
      [
        'milestones:',
        '  - id: M1',
        '    phases:',
        '      - id: X1',
        '        tasks: [{ id: X1 }]',
        '  - id: M1',
        '    phases:',
        '      - id: P2',
        '        dependsOn: [T9, x1]',
        '        tasks: [{ id: T9 }]',
      ].join('\n'),
    );
    plan.phases.push({ ...plan.phases[1]!, id: 'P3', milestone: 'M7', dependsOn: [], tasks: [] });
    const messages = validatePlan(plan).map((p) => p.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringContaining('milestone M1 is defined twice (first at plan.yaml:2)'),
        expect.stringContaining('task X1 has the same id as phase X1'),
        expect.stringContaining(
          'phase P2 depends on T9, which is a task, and phases depend only on phases: depend on its phase P2 instead',
        ),
        expect.stringContaining(
          'phase P2 depends on x1, which is not a phase of this plan (did you mean X1?)',
        ),
        expect.stringContaining('phase P3 belongs to milestone M7, which the plan does not define'),
      ]),
    );
  });

  it('finds Blocks that name a phase which does not depend back, and epics in no or an unknown milestone', () => {
    const parsed = parseDirectoryPlan(
      {
        'project.md': '# P\n## Milestones\n### M1: One\n- [ ] E1\n',
        'epics/E1.md': '# E1: One\n- **Milestone**: M2\n',
        'epics/E2.md': '# E2: Two\n',
        'stories/E1/S1.md': '# S1: A\n- **Blocks**: [S2, S9]\n## Tasks\n- [ ] T1: a\n',
        'stories/E1/S2.md': '# S2: B\n## Tasks\n- [ ] T2: b\n',
        'stories/E2/S3.md': '# S3: C\n## Tasks\n- [ ] T3: c\n',
      },
      'plans',
    );
    const all = [...parsed.problems, ...validatePlan(parsed.plan)].map(
      (p) => `${p.file}:${p.line}: ${p.message}`,
    );
    expect(all).toEqual(
      expect.arrayContaining([
        expect.stringContaining('epics/E1.md:1: epic E1 says Milestone M2 but project.md lists it under M1'),
        expect.stringContaining('epics/E2.md:1: epic E2 is in no milestone'),
        expect.stringContaining(
          'stories/E1/S1.md:2: phase S1 says it blocks S2, but S2 does not depend on S1',
        ),
        expect.stringContaining('stories/E1/S1.md:2: phase S1 blocks S9, which is not a phase of this plan'),
      ]),
    );
    expect(all.filter((m) => m.includes('S3'))).toEqual([]);
  });

  it('accepts the valid fixtures of every format', () => {
    const dir = parseDirectoryPlan(readFixtureDir('directory'), 'plans');
    expect(checkPlan(dir, { agentRoles: [] })).toBe(dir.plan);
    const roadmap = parseRoadmap(readFixture('roadmap-large', 'roadmap.md'), 'roadmap.md', 'r');
    expect(validatePlan(roadmap.plan, { agentRoles: ['default'] })).toEqual([]);
    const yaml = parseStructuredPlan(readFixture('yaml', 'plan.yaml'), 'plan.yaml', 'yaml', 'y');
    expect(validatePlan(yaml.plan, { agentRoles: ['architect', 'implementer', 'tester'] })).toEqual([]);
  });
});
