import fc from 'fast-check';
import type { DeclaredStatus, Priority } from '../../src/plan/model.js';

/**
 * Random DAG plans for property tests, in an abstract form, and renderers that write
 * one out as format A (plan directory), B (roadmap) and C (YAML and JSON). Each
 * renderer also returns the model projection the parser must give back.
 */

export interface SpecTask {
  title: string;
  role: string;
  status: DeclaredStatus;
  /** Indices into the flat task list, all earlier than this task. */
  deps: number[];
}
export interface SpecPhase {
  title: string;
  status: DeclaredStatus;
  priority: Priority;
  /** Indices into the flat phase list, all earlier than this phase. */
  deps: number[];
  tasks: SpecTask[];
}
export interface SpecMilestone {
  title: string;
  status: DeclaredStatus;
  phases: SpecPhase[];
}
export interface Spec {
  name: string;
  milestones: SpecMilestone[];
}

/** What a parsed plan must look like (the parts every format carries). */
export interface Projection {
  milestones: { id: string; title: string; phases: string[] }[];
  phases: {
    id: string;
    title: string;
    milestone: string;
    dependsOn: string[];
    tasks: string[];
    status: DeclaredStatus;
    priority: Priority;
  }[];
  tasks: {
    id: string;
    title: string;
    role: string;
    phase: string;
    dependsOn: string[];
    status: DeclaredStatus;
  }[];
}

const WORDS = [
  'alpha',
  'Parse',
  'goals',
  'API',
  'data',
  'model',
  'v2.0',
  'C++',
  'x/y',
  'naïve',
  'tests',
  'Docs',
  'the',
  'cache',
  '42',
];
const title = fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 4 }).map((w) => w.join(' '));
const status = fc.constantFrom<DeclaredStatus>('not_started', 'in_progress', 'blocked', 'complete');
const role = fc.constantFrom('coder', 'tester', 'architect', 'default');

/** A random plan: 1–3 milestones, 1–4 phases each, 1–4 tasks each, dependencies only backwards. */
export const specArb: fc.Arbitrary<Spec> = fc
  .record({
    name: title,
    shape: fc.array(
      fc.record({
        title,
        status,
        phases: fc.array(
          fc.record({
            title,
            status,
            priority: fc.constantFrom<Priority>('normal', 'normal', 'bootstrap', 'priority'),
            depSeeds: fc.array(fc.nat(), { maxLength: 3 }),
            tasks: fc.array(
              fc.record({ title, role, status, depSeeds: fc.array(fc.nat(), { maxLength: 3 }) }),
              {
                minLength: 1,
                maxLength: 4,
              },
            ),
          }),
          { minLength: 1, maxLength: 4 },
        ),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  })
  .map(({ name, shape }) => {
    let phaseCount = 0;
    let taskCount = 0;
    const back = (seeds: number[], before: number): number[] =>
      before === 0 ? [] : [...new Set(seeds.map((s) => s % before))].sort((a, b) => a - b);
    return {
      name,
      milestones: shape.map((m) => ({
        title: m.title,
        status: m.status,
        phases: m.phases.map((p) => {
          const phase: SpecPhase = {
            title: p.title,
            status: p.status,
            priority: p.priority,
            deps: back(p.depSeeds, phaseCount),
            tasks: p.tasks.map((t) => {
              const task: SpecTask = {
                title: t.title,
                role: t.role,
                status: t.status,
                deps: back(t.depSeeds, taskCount),
              };
              taskCount++;
              return task;
            }),
          };
          phaseCount++;
          return phase;
        }),
      })),
    };
  });

/** Ids a format gives to milestones, phases and tasks (flat indices). */
interface Ids {
  milestone: (m: number) => string;
  phase: (p: number) => string;
  task: (t: number) => string;
}

function flat(spec: Spec): { phases: { p: SpecPhase; m: number }[]; tasks: { t: SpecTask; p: number }[] } {
  const phases: { p: SpecPhase; m: number }[] = [];
  const tasks: { t: SpecTask; p: number }[] = [];
  spec.milestones.forEach((m, mi) =>
    m.phases.forEach((p) => {
      const pi = phases.length;
      phases.push({ p, m: mi });
      for (const t of p.tasks) tasks.push({ t, p: pi });
    }),
  );
  return { phases, tasks };
}

/** The projection a spec must parse back into, given the format's ids. */
export function project(spec: Spec, ids: Ids, roleOf: (t: SpecTask) => string = (t) => t.role): Projection {
  const { phases, tasks } = flat(spec);
  const taskIndex = new Map(tasks.map((x, i) => [x.t, i]));
  return {
    milestones: spec.milestones.map((m, mi) => ({
      id: ids.milestone(mi),
      title: m.title,
      phases: phases.flatMap((x, pi) => (x.m === mi ? [ids.phase(pi)] : [])),
    })),
    phases: phases.map((x, pi) => ({
      id: ids.phase(pi),
      title: x.p.title,
      milestone: ids.milestone(x.m),
      dependsOn: x.p.deps.map(ids.phase),
      tasks: x.p.tasks.map((t) => ids.task(taskIndex.get(t) ?? -1)),
      status: x.p.status,
      priority: x.p.priority,
    })),
    tasks: tasks.map((x, ti) => ({
      id: ids.task(ti),
      title: x.t.title,
      role: roleOf(x.t),
      phase: ids.phase(x.p),
      dependsOn: x.t.deps.map(ids.task),
      status: x.t.status,
    })),
  };
}

const pad = (n: number): string => String(n + 1).padStart(3, '0');
const MARK: Record<DeclaredStatus, string> = {
  complete: 'x',
  not_started: ' ',
  in_progress: '~',
  blocked: '!',
};
const B_STATUS: Record<DeclaredStatus, string> = {
  complete: '✅ Complete',
  in_progress: '🔄 In Progress',
  not_started: '⚪ Not Started',
  blocked: '🔴 Blocked',
};

/** Format A: project.md, one epic per milestone, one story file per phase. */
export function renderDirectory(spec: Spec): { files: Record<string, string>; expected: Projection } {
  const ids: Ids = { milestone: (m) => `M${m + 1}`, phase: (p) => `S${pad(p)}`, task: (t) => `T${pad(t)}` };
  const { phases, tasks } = flat(spec);
  const taskIndex = new Map(tasks.map((x, i) => [x.t, i]));
  const files: Record<string, string> = {};
  const projectLines = [`# ${spec.name}`, '', '## Description', 'A generated plan.', '', '## Milestones', ''];
  spec.milestones.forEach((m, mi) => {
    projectLines.push(
      `### ${ids.milestone(mi)}: ${m.title}`,
      `- **Status**: ${m.status}`,
      '',
      `- [ ] E${pad(mi)}`,
      '',
    );
    const stories = phases.flatMap((x, pi) => (x.m === mi ? [pi] : []));
    files[`epics/E${pad(mi)}-epic.md`] = [
      `# E${pad(mi)}: ${m.title}`,
      '',
      '## Metadata',
      `- **Status**: ${m.status}`,
      `- **Milestone**: ${ids.milestone(mi)}`,
      '- **Dependencies**: []',
      '',
      '## Stories',
      ...stories.map((pi) => `- [ ] ${ids.phase(pi)}: ${phases[pi]?.p.title ?? ''}`),
      '',
    ].join('\n');
  });
  files['project.md'] = projectLines.join('\n');
  phases.forEach((x, pi) => {
    files[`stories/E${pad(x.m)}/${ids.phase(pi)}-story.md`] = [
      `# ${ids.phase(pi)}: ${x.p.title}`,
      '',
      '## Metadata',
      `- **Epic**: E${pad(x.m)}`,
      `- **Status**: ${x.p.status}`,
      `- **Priority**: ${x.p.priority === 'normal' ? 'medium' : x.p.priority}`,
      `- **Dependencies**: [${x.p.deps.map(ids.phase).join(', ')}]`,
      '',
      '## Tasks',
      ...x.p.tasks.map((t) => {
        const ti = taskIndex.get(t) ?? -1;
        const deps = t.deps.length > 0 ? ` | depends:${t.deps.map(ids.task).join(',')}` : '';
        return `- [${MARK[t.status]}] ${ids.task(ti)}: ${t.title} | role:${t.role}${deps}`;
      }),
      '',
      '## Acceptance Criteria',
      '1. It works',
      '',
    ].join('\n');
  });
  return { files, expected: project(spec, ids) };
}

/** Format B: one roadmap; `## Batch k` sections, `### Phase k.j` phases, tasks `k.j.n`. */
export function renderRoadmap(spec: Spec): { text: string; expected: Projection } {
  const { phases, tasks } = flat(spec);
  const local = new Map<number, string>();
  const counters = new Map<number, number>();
  phases.forEach((x, pi) => {
    const j = (counters.get(x.m) ?? 0) + 1;
    counters.set(x.m, j);
    local.set(pi, `${x.m + 1}.${j}`);
  });
  const taskIndex = new Map(tasks.map((x, i) => [x.t, i]));
  const taskId = new Map<number, string>();
  phases.forEach((x, pi) =>
    x.p.tasks.forEach((t, k) => taskId.set(taskIndex.get(t) ?? -1, `${local.get(pi) ?? ''}.${k + 1}`)),
  );
  const ids: Ids = {
    milestone: (m) => `batch-${m + 1}`,
    phase: (p) => local.get(p) ?? '',
    task: (t) => taskId.get(t) ?? '',
  };
  const lines = [`# ${spec.name}`, '', 'Generated roadmap.', ''];
  const phaseRole = (p: SpecPhase): string => p.tasks[0]?.role ?? 'default';
  spec.milestones.forEach((m, mi) => {
    lines.push(`## Batch ${mi + 1} (${m.title})`, '', `- **Status:** ${B_STATUS[m.status]}`, '');
    phases.forEach((x, pi) => {
      if (x.m !== mi) return;
      const marker =
        x.p.priority === 'bootstrap' ? ' ⭐ BOOTSTRAP' : x.p.priority === 'priority' ? ' ⭐ PRIORITY' : '';
      const deps = x.p.deps.map((d, i) => `Phase ${ids.phase(d)}${i % 2 === 0 ? ' ✅' : ''}`).join(', ');
      lines.push(
        `### Phase ${ids.phase(pi)}: ${x.p.title}${marker}`,
        `- **Status:** ${B_STATUS[x.p.status]}`,
        `- **Assigned To:** ${phaseRole(x.p) === 'default' ? 'TBD' : phaseRole(x.p)}`,
        `- **Depends On:** ${deps === '' ? 'none' : deps}`,
        '- **Tasks:**',
        ...x.p.tasks.map((t) => {
          const roleNote = t.role !== phaseRole(x.p) ? ` | role:${t.role}` : '';
          const depNote = t.deps.length > 0 ? ` | depends:${t.deps.map(ids.task).join(', ')}` : '';
          return `  - [${MARK[t.status]}] ${t.title}${roleNote}${depNote}`;
        }),
        '- **Effort:** S',
        '- **Done When:** it works',
        '',
      );
    });
  });
  lines.push('## Summary', '', '```', '### Phase 99.1: inside a fence', '```', '');
  const expected = project(spec, ids);
  expected.milestones.forEach((m, mi) => (m.title = `Batch ${mi + 1} (${spec.milestones[mi]?.title ?? ''})`));
  return { text: lines.join('\n'), expected };
}

/** Format C as YAML (block style, tasks as flow mappings) or JSON. */
export function renderStructured(
  spec: Spec,
  format: 'yaml' | 'json',
): { text: string; expected: Projection } {
  const ids: Ids = { milestone: (m) => `M${m + 1}`, phase: (p) => `P${p + 1}`, task: (t) => `T${t + 1}` };
  const { phases, tasks } = flat(spec);
  const taskIndex = new Map(tasks.map((x, i) => [x.t, i]));
  const summarise = (p: SpecPhase): DeclaredStatus => {
    const s = p.tasks.map((t) => t.status);
    if (s.length > 0 && s.every((x) => x === 'complete')) return 'complete';
    return s.some((x) => x === 'complete' || x === 'in_progress') ? 'in_progress' : 'not_started';
  };
  const doc = {
    name: spec.name,
    milestones: spec.milestones.map((m, mi) => ({
      id: ids.milestone(mi),
      title: m.title,
      status: m.status,
      phases: phases.flatMap((x, pi) =>
        x.m !== mi
          ? []
          : [
              {
                id: ids.phase(pi),
                title: x.p.title,
                // A status equal to what the tasks imply is left out, to exercise insertion on write-back.
                ...(x.p.status === summarise(x.p) ? {} : { status: x.p.status }),
                ...(x.p.priority === 'normal' ? {} : { priority: x.p.priority }),
                dependsOn: x.p.deps.map(ids.phase),
                tasks: x.p.tasks.map((t) => {
                  const ti = taskIndex.get(t) ?? -1;
                  return {
                    id: ids.task(ti),
                    title: t.title,
                    role: t.role,
                    ...(t.status === 'not_started' ? {} : { status: t.status }),
                    ...(t.deps.length > 0 ? { dependsOn: t.deps.map(ids.task) } : {}),
                  };
                }),
              },
            ],
      ),
    })),
  };
  const expected = project(spec, ids);
  if (format === 'json') return { text: `${JSON.stringify(doc, null, 2)}\n`, expected };
  const q = (s: string): string => JSON.stringify(s);
  const out = [`name: ${q(doc.name)}`, 'milestones:'];
  for (const m of doc.milestones) {
    out.push(`  - id: ${m.id}`, `    title: ${q(m.title)}`, `    status: ${m.status}`, '    phases:');
    for (const p of m.phases) {
      out.push(`      - id: ${p.id}`, `        title: ${q(p.title)}`);
      if ('status' in p) out.push(`        status: ${p.status}`);
      if ('priority' in p) out.push(`        priority: ${p.priority}`);
      out.push(`        dependsOn: [${p.dependsOn.join(', ')}]`, '        tasks:');
      for (const t of p.tasks) {
        const parts = [`id: ${t.id}`, `title: ${q(t.title)}`, `role: ${t.role}`];
        if ('status' in t) parts.push(`status: ${t.status}`);
        if ('dependsOn' in t) parts.push(`dependsOn: [${(t.dependsOn ?? []).join(', ')}]`);
        out.push(`          - { ${parts.join(', ')} }`);
      }
    }
  }
  return { text: `${out.join('\n')}\n`, expected };
}
