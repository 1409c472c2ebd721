import { describe, expect, it } from 'vitest';
import { PlanParseError } from '../../src/plan/errors.js';
import { parseRoadmap } from '../../src/plan/parse-roadmap.js';
import { readFixture } from './helpers.js';

const parse = (text: string) => parseRoadmap(text, 'roadmap.md', 'plans/roadmap.md');

describe('parseRoadmap on the large realistic roadmap', () => {
  const { plan, problems } = parse(readFixture('roadmap-large', 'roadmap.md'));
  const phase = (id: string) => plan.phases.find((p) => p.id === id)!;
  const task = (id: string) => plan.tasks.find((t) => t.id === id)!;

  it('reads every phase of every batch, and nothing from summaries, fences or comments', () => {
    expect(problems).toEqual([]);
    expect(plan.name).toBe('Relay — Implementation Roadmap');
    expect(plan.milestones.map((m) => m.id)).toEqual([
      'batch-1',
      'batch-2',
      'batch-3',
      'batch-4',
      'batch-5',
      'batch-6',
      'batch-7',
    ]);
    expect(plan.phases).toHaveLength(53);
    expect(plan.tasks).toHaveLength(106);
    expect(plan.phases.map((p) => p.id).filter((id) => id.startsWith('9.'))).toEqual([]);
    expect(plan.milestones[0]?.phases).toEqual(['1.1', '1.2', '1.3', '1.4', '1.5', '1.6', '1.7', '1.8']);
    expect(plan.milestones[0]?.description).toBe('The ground everything else stands on.');
  });

  it('numbers tasks N.M.k and keeps sub-bullets as the task description', () => {
    expect(phase('1.3').tasks).toEqual(['1.3.1', '1.3.2', '1.3.3']);
    expect(task('1.3.2')).toMatchObject({
      title: 'Repository classes for documents and chunks',
      description: 'bulk insert for chunks\nsoft delete for documents',
      status: 'complete',
      source: { file: 'roadmap.md', line: 81 },
      statusSource: { file: 'roadmap.md', line: 81 },
    });
  });

  it('reads BOOTSTRAP and PRIORITY markers and strips them from titles', () => {
    expect(phase('1.1')).toMatchObject({
      title: 'Core Data Models',
      priority: 'bootstrap',
      source: { line: 53 },
    });
    expect(phase('1.2').priority).toBe('bootstrap');
    expect(phase('2.1')).toMatchObject({ title: 'Connector Interface', priority: 'priority' });
    expect(phase('3.4').priority).toBe('normal');
  });

  it('reads decorated dependency lists, and a whole batch as a dependency', () => {
    expect(phase('1.5').dependsOn).toEqual(['1.2', '1.4']);
    expect(phase('2.4').dependsOn).toEqual(['2.2', '2.3']);
    expect(phase('1.1').dependsOn).toEqual([]);
    expect(phase('2.1').dependsOn).toEqual(['1.1', '1.2', '1.3', '1.4', '1.5', '1.6', '1.7', '1.8']);
  });

  it('reads every status spelling', () => {
    expect(phase('1.7').status).toBe('complete');
    expect(phase('1.8').status).toBe('complete');
    expect(phase('2.3').status).toBe('in_progress');
    expect(phase('2.5').status).toBe('not_started');
    expect(phase('3.6').status).toBe('blocked');
    expect(plan.milestones[0]?.status).toBe('complete');
    expect(plan.milestones[1]?.status).toBe('in_progress');
  });

  it('keeps extra keys as metadata and Done When as the definition of done; TBD means the default role', () => {
    expect(phase('1.1').metadata).toEqual({ Effort: 'S', Files: '`core/models.py`, `core/schema.py`' });
    expect(phase('2.3').metadata['Owner Notes']).toContain('sparse checkout');
    expect(phase('3.6').metadata['Blocker']).toBe('waiting on the ACL export from the Git host');
    expect(phase('1.1').definitionOfDone).toEqual([
      'every model round-trips through JSON and validation rejects bad input',
    ]);
    expect(task('1.1.1').role).toBe('coder');
    expect(task('4.7.1').role).toBe('default');
    expect(task('2.6.1').role).toBe('ml-engineer');
  });
});

describe('parseRoadmap is lenient about spelling and layout', () => {
  it('accepts emoji, case, dashes, plain keys, bold keys either way, numbered tasks and #### Tasks', () => {
    const { plan, problems } = parse(
      [
        '# Plan',
        '## 🚀 Batch 3: Later',
        '### ✅ phase 3.1 — First one',
        'Status: done',
        '**Assigned To**: Backend Developer',
        '- **depends on:** —',
        '1. [X] numbered task',
        '2. [ ] another',
        '',
        '### PHASE 3.2. Second',
        '- **Status:** WIP',
        '- **Dependencies:** Phases 3.1 and 3.1',
        'A paragraph that describes the phase.',
        '#### Tasks',
        '- [ ] from a sub-heading | role:tester | depends:3.1.1',
        '#### Done When',
        '- it ships',
      ].join('\n'),
    );
    expect(problems).toEqual([]);
    expect(plan.milestones[0]).toMatchObject({ id: 'batch-3', phases: ['3.1', '3.2'] });
    expect(plan.phases[0]).toMatchObject({
      id: '3.1',
      title: 'First one',
      status: 'complete',
      dependsOn: [],
    });
    expect(plan.tasks.map((t) => [t.id, t.title, t.role, t.status])).toEqual([
      ['3.1.1', 'numbered task', 'backend-developer', 'complete'],
      ['3.1.2', 'another', 'backend-developer', 'not_started'],
      ['3.2.1', 'from a sub-heading', 'tester', 'not_started'],
    ]);
    expect(plan.phases[1]).toMatchObject({
      status: 'in_progress',
      dependsOn: ['3.1'],
      description: 'A paragraph that describes the phase.',
      definitionOfDone: ['it ships'],
    });
    expect(plan.tasks[2]?.dependsOn).toEqual(['3.1.1']);
  });

  it('reads "## Phase N" headings as phases when nothing deeper is a phase, and as sections otherwise', () => {
    const flat = parse(
      '# R\n## Phase 1: One\n- [ ] a\n## Phase 2: Two\n- **Depends On:** Phase 1\n- [ ] b\n',
    ).plan;
    expect(flat.phases.map((p) => [p.id, p.milestone, p.dependsOn])).toEqual([
      ['1', 'roadmap', []],
      ['2', 'roadmap', ['1']],
    ]);
    const nested = parse('# R\n## Phase 1 (Foundation)\n### Phase 1.1: A\n- [ ] a\n').plan;
    expect(nested.milestones.map((m) => m.id)).toEqual(['phase-1']);
    expect(nested.phases.map((p) => p.id)).toEqual(['1.1']);
  });

  it('ends a phase at a non-phase heading of the same level, so later lists are not its tasks', () => {
    const { plan } = parse('## B\n### Phase 1.1: A\n- [ ] real\n### Notes\n- [ ] not a task\n');
    expect(plan.tasks.map((t) => t.title)).toEqual(['real']);
  });

  it('reports a status it cannot read as a problem at its line, not a crash', () => {
    const { plan, problems } = parse('## B\n### Phase 1.1: A\n- **Status:** Finito\n- [ ] a\n');
    expect(problems).toEqual([
      { file: 'roadmap.md', line: 3, message: expect.stringContaining('phase 1.1 has status "Finito"') },
    ]);
    expect(plan.phases[0]?.status).toBe('not_started');
  });

  it('throws PlanParseError for a file without any phase', () => {
    expect(() => parse(readFixture('malformed', 'no-phases.md'))).toThrow(PlanParseError);
    expect(() => parse('')).toThrow(/has no "### Phase N.M: Title" heading/);
  });
});
