import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildPlanGraph,
  combinePlans,
  declaredCompletion,
  foreignTargetProblems,
  namespacePlan,
  readyTasks,
  relabelSources,
  renamePlanIds,
  taskTarget,
  validatePlan,
  writeBackStatuses,
  type Plan,
} from '../../src/plan/index.js';
import { parseDirectoryPlan } from '../../src/plan/parse-directory.js';
import { parseRoadmap } from '../../src/plan/parse-roadmap.js';
import { parseStructuredPlan } from '../../src/plan/parse-structured.js';
import { planArb } from '../core/driver.js';
import { renderDirectory, specArb } from './random-plans.js';

const yaml = (text: string, file = 'plan.yaml'): Plan => parseStructuredPlan(text, file, 'yaml', 'plan').plan;

const API_ROADMAP = `# API

## Batch 1

### Phase 1.1: Models
- **Status:** ⚪ Not Started
- **Target:** api
- **Tasks:**
  - [ ] Define models
  - [ ] Migrate | target:api

### Phase 1.2: Endpoints
- **Depends On:** Phase 1.1
- **Owner Team:** core
- **Tasks:**
  - [ ] Serve models
`;

describe('Target in formats A and B', () => {
  it('format B: a phase Target field sets the phase target (not metadata); a task line | target: sets the task', () => {
    const { plan, problems } = parseRoadmap(API_ROADMAP, 'roadmap.md', 'roadmap.md');
    expect(problems).toEqual([]);
    const [p1, p2] = plan.phases;
    expect(p1?.target).toBe('api');
    expect(p1?.metadata).toEqual({});
    expect(p2?.target).toBeUndefined();
    expect(p2?.metadata).toEqual({ 'Owner Team': 'core' });
    expect(plan.tasks.map((t) => [t.id, t.title, t.target])).toEqual([
      ['1.1.1', 'Define models', undefined],
      ['1.1.2', 'Migrate', 'api'],
      ['1.2.1', 'Serve models', undefined],
    ]);
    expect(plan.tasks.map((t) => taskTarget(plan, t))).toEqual(['api', 'api', null]);
  });

  it('format B: write-back still changes only the status bytes of a phase with a Target', () => {
    const { plan } = parseRoadmap(API_ROADMAP, 'roadmap.md', 'roadmap.md');
    const phase = plan.phases[0]!;
    const task = plan.tasks[1]!;
    const out = writeBackStatuses(API_ROADMAP, [
      { statusSource: phase.statusSource!, kind: 'phase', status: 'complete' },
      { statusSource: task.statusSource!, kind: 'task', status: 'complete' },
    ]);
    expect(out).toBe(
      API_ROADMAP.replace('⚪ Not Started', '✅ Complete').replace('[ ] Migrate', '[x] Migrate'),
    );
  });

  it('format A: a story Target sets its phase; an epic Target reaches its stories that name none', () => {
    const files = {
      'project.md': '# App\n\n## Milestones\n\n### M1: Core\n- [ ] E001\n',
      'epics/E001-core.md':
        '# E001: Core\n\n## Metadata\n- **Milestone**: M1\n- **Target**: web\n\n## Stories\n- [ ] S001: A\n- [ ] S002: B\n',
      'stories/E001/S001-a.md':
        '# S001: A\n\n## Metadata\n- **Epic**: E001\n- **Target**: api\n- **Team**: core\n\n## Tasks\n- [ ] T001: Do a\n- [ ] T002: Do b | target:ui\n',
      'stories/E001/S002-b.md': '# S002: B\n\n## Metadata\n- **Epic**: E001\n\n## Tasks\n- [ ] T003: Do c\n',
    };
    const { plan, problems } = parseDirectoryPlan(files, 'plans');
    expect(problems).toEqual([]);
    expect(plan.phases.map((p) => [p.id, p.target])).toEqual([
      ['S001', 'api'],
      ['S002', 'web'],
    ]);
    expect(plan.phases[0]?.metadata).toEqual({ Team: 'core' });
    expect(plan.epics?.[0]?.target).toBe('web');
    expect(plan.epics?.[0]?.metadata).toEqual({});
    expect(plan.tasks.map((t) => taskTarget(plan, t))).toEqual(['api', 'ui', 'web']);
  });
});

describe('taskTarget', () => {
  const plan = yaml(`name: P
milestones:
  - id: M1
    title: M
    phases:
      - id: P1
        title: one
        target: api
        tasks:
          - { id: T1, title: a }
          - { id: T2, title: b, target: web }
      - id: P2
        title: two
        tasks:
          - { id: T3, title: c }
`);
  it("is the task's own target, else its phase's, else null", () => {
    expect(plan.tasks.map((t) => taskTarget(plan, t))).toEqual(['api', 'web', null]);
  });
});

const FORMAT_A = {
  'project.md': '# Svc\n\n## Milestones\n\n### M1: Core\n- [ ] E001\n\n### M2: More\n- [ ] E002\n',
  'epics/E001-core.md': '# E001: Core\n\n## Metadata\n- **Milestone**: M1\n\n## Stories\n- [ ] S001: A\n',
  'epics/E002-more.md':
    '# E002: More\n\n## Metadata\n- **Milestone**: M2\n- **Dependencies**: [E001]\n\n## Stories\n- [ ] S002: B\n',
  'stories/E001/S001-a.md':
    '# S001: A\n\n## Metadata\n- **Epic**: E001\n- **Blocks**: [S002]\n\n## Tasks\n- [ ] T001: a\n',
  'stories/E002/S002-b.md':
    '# S002: B\n\n## Metadata\n- **Epic**: E002\n- **Dependencies**: [S001]\n\n## Tasks\n- [ ] T002: b | depends:T001\n',
};

describe('namespacePlan', () => {
  it('renames every id and every reference, sets target, keeps sources', () => {
    const { plan } = parseDirectoryPlan(FORMAT_A, 'plans');
    const ns = namespacePlan(plan, 'api');
    expect(ns.milestones.map((m) => [m.id, m.phases, m.epics])).toEqual([
      ['api:M1', ['api:S001'], ['api:E001']],
      ['api:M2', ['api:S002'], ['api:E002']],
    ]);
    expect(ns.epics?.map((e) => [e.id, e.milestone, e.dependsOn, e.stories, e.target])).toEqual([
      ['api:E001', 'api:M1', [], ['api:S001'], 'api'],
      ['api:E002', 'api:M2', ['api:E001'], ['api:S002'], 'api'],
    ]);
    expect(
      ns.phases.map((p) => [p.id, p.milestone, p.dependsOn, p.blocks, p.tasks, p.epic, p.target]),
    ).toEqual([
      ['api:S001', 'api:M1', [], ['api:S002'], ['api:T001'], 'api:E001', 'api'],
      ['api:S002', 'api:M2', ['api:S001'], undefined, ['api:T002'], 'api:E002', 'api'],
    ]);
    expect(ns.tasks.map((t) => [t.id, t.phase, t.dependsOn, t.target])).toEqual([
      ['api:T001', 'api:S001', [], 'api'],
      ['api:T002', 'api:S002', ['api:T001'], 'api'],
    ]);
    expect(ns.tasks.map((t) => t.source)).toEqual(plan.tasks.map((t) => t.source));
    expect(ns.phases.map((p) => p.statusSource)).toEqual(plan.phases.map((p) => p.statusSource));
    expect(validatePlan(ns, { agentRoles: ['default'], targets: ['api'] })).toEqual([]);
    // The input is not changed.
    expect(plan.tasks[0]?.id).toBe('T001');
  });

  it('keeps a target naming another target, which foreignTargetProblems reports at its line', () => {
    const { plan } = parseRoadmap(
      API_ROADMAP.replace('- **Target:** api', '- **Target:** web'),
      'roadmap.md',
      'roadmap.md',
    );
    expect(namespacePlan(plan, 'api').phases.map((p) => p.target)).toEqual(['web', 'api']);
    const problems = foreignTargetProblems(plan, 'api');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: 'roadmap.md', line: 5 });
    expect(problems[0]?.message).toContain("phase 1.1 in target api's own plan names target web");
    expect(foreignTargetProblems(parseRoadmap(API_ROADMAP, 'roadmap.md', 'r').plan, 'api')).toEqual([]);
  });

  const strip = (plan: Plan, id: string): Plan => {
    const back = renamePlanIds(plan, (x) => {
      expect(x.startsWith(`${id}:`)).toBe(true);
      return x.slice(id.length + 1);
    });
    const drop = <T extends { target?: string | undefined }>(x: T): T => {
      const { target, ...rest } = x;
      expect(target).toBe(id);
      return rest as T;
    };
    return {
      ...back,
      phases: back.phases.map(drop),
      tasks: back.tasks.map(drop),
      ...(back.epics ? { epics: back.epics.map(drop) } : {}),
    };
  };

  it('property: stripping the prefix gives back the plan (driver plans)', () => {
    fc.assert(
      fc.property(planArb, fc.constantFrom('api', 'A1', 'web_2-x'), (plan, id) => {
        expect(strip(namespacePlan(plan, id), id)).toEqual(plan);
      }),
      { numRuns: 100 },
    );
  });

  type Mutation = 'none' | 'unknown-dep' | 'back-edge' | 'duplicate' | 'bad-blocks' | 'no-milestone';
  const mutate = (plan: Plan, m: Mutation, k: number): void => {
    const phase = plan.phases[k % plan.phases.length]!;
    const last = plan.phases[plan.phases.length - 1]!;
    if (m === 'unknown-dep') phase.dependsOn.push('S999');
    if (m === 'back-edge') plan.phases[0]!.dependsOn.push(last.id);
    if (m === 'duplicate') plan.phases.push({ ...phase, source: { file: 'x.md', line: 3 } });
    if (m === 'bad-blocks') phase.blocks = [last.id, 'S998'];
    if (m === 'no-milestone') phase.milestone = '(none)';
  };

  it('property: the namespaced plan has the same problems as the original (format A plans, some broken)', () => {
    fc.assert(
      fc.property(
        specArb,
        fc.constantFrom<Mutation>(
          'none',
          'unknown-dep',
          'back-edge',
          'duplicate',
          'bad-blocks',
          'no-milestone',
        ),
        fc.nat(),
        (spec, m, k) => {
          const { plan } = parseDirectoryPlan(renderDirectory(spec).files, 'plans');
          mutate(plan, m, k);
          const ns = namespacePlan(plan, 'tgt');
          expect(strip(ns, 'tgt')).toEqual(plan);
          const before = validatePlan(plan, { agentRoles: ['default'] });
          const after = validatePlan(ns, { agentRoles: ['default'], targets: ['tgt'] });
          expect(after.length === 0).toBe(before.length === 0);
          const norm = (ps: typeof before) =>
            ps.map((p) => `${p.file}:${p.line}: ${p.message.replaceAll('tgt:', '')}`).sort();
          expect(norm(after)).toEqual(norm(before));
        },
      ),
      { numRuns: 150 },
    );
  });
});

const MAIN = `name: App
milestones:
  - id: M1
    title: Ship
    phases:
      - id: P1
        title: Client
        dependsOn: [api:1.1]
        tasks:
          - { id: T1, title: Use the models, dependsOn: [api:1.2.1] }
`;

describe('combinePlans', () => {
  const api = (): Plan => parseRoadmap(API_ROADMAP, 'roadmap.md', '../api/roadmap.md').plan;

  it('joins the main plan and a namespaced target plan; a main task may wait for a target task', () => {
    const combined = combinePlans(yaml(MAIN), [{ targetId: 'api', plan: api() }]);
    expect(combined.name).toBe('App');
    expect(combined.format).toBe('yaml');
    expect(combined.source).toBe('plan');
    expect(combined.phases.map((p) => [p.id, p.target ?? null])).toEqual([
      ['P1', null],
      ['api:1.1', 'api'],
      ['api:1.2', 'api'],
    ]);
    expect(combined.milestones.map((m) => m.id)).toEqual(['M1', 'api:batch-1']);
    expect(validatePlan(combined, { agentRoles: ['default'], targets: ['api'] })).toEqual([]);
    const ready = () => readyTasks(buildPlanGraph(combined), declaredCompletion(combined));
    expect(ready()).toEqual(['api:1.1.1', 'api:1.1.2']);
    for (const t of combined.tasks) if (t.id !== 'T1') t.status = 'complete';
    for (const p of combined.phases) if (p.id !== 'P1') p.status = 'complete';
    expect(ready()).toEqual(['T1']);
    expect(combined.tasks.map((t) => taskTarget(combined, t))).toEqual([null, 'api', 'api', 'api']);
  });

  it('without the target plan the cross-plan dependency is unknown', () => {
    const problems = validatePlan(yaml(MAIN), { agentRoles: ['default'] });
    expect(problems.map((p) => p.message).join('\n')).toContain('depends on api:1.1');
  });

  it('with no parts returns the main plan itself; with no main plan takes name and source from the first part', () => {
    const main = yaml(MAIN);
    expect(combinePlans(main, [])).toBe(main);
    const only = combinePlans(null, [{ targetId: 'api', plan: api() }]);
    expect(only.name).toBe('API');
    expect(only.source).toBe('../api/roadmap.md');
    expect(only.tasks[0]?.id).toBe('api:1.1.1');
    expect(() => combinePlans(null, [])).toThrow(RangeError);
  });

  it('personas are united, the main plan winning on the same role', () => {
    const persona = (role: string, title: string, file: string) => ({
      role,
      title,
      capabilities: [],
      constraints: [],
      template: title,
      source: { file, line: 1 },
    });
    const main = { ...yaml(MAIN), personas: [persona('coder', 'main coder', 'personas/coder.md')] };
    const part = {
      ...api(),
      personas: [
        persona('coder', 'api coder', 'personas/coder.md'),
        persona('dba', 'api dba', 'personas/dba.md'),
      ],
    };
    const combined = combinePlans(main, [{ targetId: 'api', plan: part }]);
    expect(combined.personas.map((p) => p.title)).toEqual(['main coder', 'api dba']);
  });

  it('an id repeated across the combined plans is a duplicate', () => {
    const main = yaml(MAIN.replace('id: P1', 'id: api:1.2').replace('[api:1.1]', '[]'));
    const problems = validatePlan(combinePlans(main, [{ targetId: 'api', plan: api() }]));
    expect(problems.map((p) => `${p.file}:${p.line}: ${p.message}`)).toContain(
      'roadmap.md:12: phase api:1.2 is defined twice (first at plan.yaml:6): give each phase its own id',
    );
  });
});

describe('validation of targets', () => {
  const plan = yaml(`name: P
milestones:
  - id: M1
    title: M
    phases:
      - id: P1
        title: one
        target: api
        tasks:
          - { id: T1, title: a, role: dba }
          - { id: T2, title: b, target: web }
`);

  it('a target that is not configured is a problem at its line, naming the configured targets', () => {
    const problems = validatePlan(plan, { targets: ['api', 'ui'] });
    expect(problems).toEqual([
      {
        file: 'plan.yaml',
        line: 11,
        message:
          'task T2 names target web, which is not configured (the configured targets are api, ui): fix the target or add "targets.web" to orch.config.json or config/targets.yaml',
      },
    ]);
    expect(validatePlan(plan, { targets: [] }).map((p) => p.message)).toEqual([
      expect.stringContaining(
        'phase P1 names target api, which is not configured (no targets are configured)',
      ),
      expect.stringContaining('task T2 names target web'),
    ]);
    expect(validatePlan(plan)).toEqual([]);
  });

  it("a target's own agent roles cover the tasks that work in it", () => {
    const missing = validatePlan(plan, { agentRoles: ['coder'] }).map((p) => p.message);
    expect(missing.join('\n')).toContain('role dba (task T1)');
    expect(missing.join('\n')).toContain('role default (task T2');
    expect(
      validatePlan(plan, { agentRoles: ['coder'], targetAgentRoles: { api: ['dba'], web: ['default'] } }),
    ).toEqual([]);
    // Another target's roles do not count.
    expect(
      validatePlan(plan, { agentRoles: ['coder'], targetAgentRoles: { web: ['dba', 'default'] } }).map(
        (p) => p.message,
      ),
    ).toEqual([expect.stringContaining('role dba (task T1)')]);
  });

  it('relabelSources renames every file of every source and nothing else', () => {
    const { plan: a } = parseDirectoryPlan(FORMAT_A, 'plans');
    const moved = relabelSources(a, (f) => `../api/${f}`);
    const files = JSON.stringify(moved).match(/"file":"[^"]*"/g) ?? [];
    expect(files.length).toBeGreaterThan(10);
    expect(files.every((f) => f.startsWith('"file":"../api/'))).toBe(true);
    expect(relabelSources(moved, (f) => f.slice('../api/'.length))).toEqual(a);
  });
});
