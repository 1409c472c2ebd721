import { describe, expect, it } from 'vitest';
import { PlanParseError } from '../../src/plan/errors.js';
import { parseDirectoryPlan } from '../../src/plan/parse-directory.js';
import { parsePersona } from '../../src/plan/parse-persona.js';
import { detectPlanFormat, parsePlanFiles } from '../../src/plan/parse-plan.js';
import { readFixtureDir } from './helpers.js';

describe('parseDirectoryPlan (format A)', () => {
  const { plan, problems } = parseDirectoryPlan(readFixtureDir('directory'), '.state/plans');

  it('reads the project, its milestones and their epics', () => {
    expect(problems).toEqual([]);
    expect(plan).toMatchObject({
      name: 'Calculator',
      description: 'Agents build a small calculator library.',
      format: 'directory',
    });
    expect(plan.milestones.map((m) => [m.id, m.title, m.epics, m.phases])).toEqual([
      ['M1', 'Calculator Core', ['E001'], ['S001', 'S002']],
      ['M2', 'Extras', ['E002'], ['S003', 'S004']],
    ]);
    expect(plan.milestones[0]?.description).toBe('Basic operations.');
    expect(plan.epics?.map((e) => [e.id, e.milestone, e.dependsOn, e.stories, e.status])).toEqual([
      ['E001', 'M1', [], ['S001', 'S002'], 'in_progress'],
      ['E002', 'M2', ['E001'], ['S003', 'S004'], 'not_started'],
    ]);
  });

  it('makes each story a phase that also depends on the stories of the epics its epic depends on', () => {
    const byId = new Map(plan.phases.map((p) => [p.id, p]));
    expect(byId.get('S002')).toMatchObject({
      title: 'Calculator Implementation',
      milestone: 'M1',
      epic: 'E001',
      dependsOn: ['S001'],
      blocks: [],
      status: 'not_started',
      statusSource: { file: 'stories/E001/S002-calculator-implementation.md', line: 5 },
      dependsOnSource: { file: 'stories/E001/S002-calculator-implementation.md', line: 6 },
      acceptanceCriteria: [
        'Given two numbers, add returns their sum',
        'Division by zero returns an error, never Infinity',
      ],
      definitionOfDone: ['All tests pass'],
    });
    expect(byId.get('S003')?.dependsOn).toEqual(['S001', 'S002']);
    expect(byId.get('S004')?.dependsOn).toEqual(['S003', 'S001', 'S002']);
    expect(byId.get('S001')?.description).toBe(
      'Decide the public API of the calculator: function names, argument types and errors.',
    );
  });

  it('reads task lines with role, dependencies, checkbox and nested notes', () => {
    const t = (id: string) => plan.tasks.find((x) => x.id === id);
    expect(t('T001')).toMatchObject({
      title: 'Write the API design document',
      role: 'architect',
      status: 'complete',
      phase: 'S001',
    });
    expect(t('T003')).toMatchObject({
      title: 'Write unit tests',
      role: 'tester',
      dependsOn: ['T002', 'T001'],
      description: 'cover negative numbers\ncover division by zero',
      source: { file: 'stories/E001/S002-calculator-implementation.md', line: 11 },
    });
  });

  it('reads personas, with the template after its heading', () => {
    expect(plan.personas.map((p) => p.role)).toEqual(['architect', 'implementer', 'tester', 'writer']);
    expect(plan.personas[2]).toMatchObject({
      title: 'Tester Persona',
      capabilities: ['Reads the story and its acceptance criteria', "Works in the task's workspace"],
      constraints: ['Touches only the files the task needs', 'Reports a breakpoint with orch signal'],
      template:
        'You are the tester on this project.\n\n## How you work\n1. Read the task.\n2. Do the work, then run the tests.',
    });
  });

  it('is lenient: ids from file names, missing sections, generated task ids, unwrapped fenced templates', () => {
    const parsed = parseDirectoryPlan(
      {
        'project.md': '# P\n## Milestones\n### M1 — One\n- [x] E1: first\n- a note, not an epic\n',
        'epics/E1-first.md': '# First\n- **Milestone**: M1\n',
        'stories/E1/S7-x.md': '# Seven ⭐ BOOTSTRAP\n## Tasks\n- [x] do it\n- [x] and this\n',
        'stories/README.md': 'ignored',
      },
      'p',
    );
    expect(parsed.problems).toEqual([]);
    expect(parsed.plan.milestones[0]).toMatchObject({
      id: 'M1',
      title: 'One',
      epics: ['E1'],
      status: 'complete',
    });
    expect(parsed.plan.phases[0]).toMatchObject({
      id: 'S7',
      title: 'Seven',
      epic: 'E1',
      milestone: 'M1',
      priority: 'bootstrap',
      status: 'complete',
    });
    expect(parsed.plan.tasks.map((t) => t.id)).toEqual(['S7.1', 'S7.2']);
    const persona = parsePersona(
      'personas/coder.md',
      '# Coder\n## Claude.md Template\n```markdown\nYou code.\n```\n',
    );
    expect(persona).toMatchObject({ role: 'coder', template: 'You code.' });
  });

  it('reports a story file without an id as a problem at that file', () => {
    const parsed = parseDirectoryPlan({ 'project.md': '# P', 'stories/E1/notes.md': 'just notes' }, 'p');
    expect(parsed.problems).toEqual([
      { file: 'stories/E1/notes.md', line: 1, message: expect.stringContaining('has no story id') },
    ]);
  });

  it('throws PlanParseError without project.md', () => {
    expect(() => parseDirectoryPlan({ 'epics/E1.md': '# E1' }, 'plans')).toThrow(PlanParseError);
  });
});

describe('format detection', () => {
  it('finds the format from the file names', () => {
    expect(detectPlanFormat(['project.md', 'epics/E1.md'])).toEqual({
      format: 'directory',
      entry: 'project.md',
    });
    expect(detectPlanFormat(['roadmap.md', 'personas/x.md'])).toEqual({
      format: 'roadmap',
      entry: 'roadmap.md',
    });
    expect(detectPlanFormat(['plan.yml'])).toEqual({ format: 'yaml', entry: 'plan.yml' });
    expect(detectPlanFormat(['x.md'], 'plan.json')).toEqual({ format: 'json', entry: 'plan.json' });
    expect(detectPlanFormat(['notes.md'])).toBeUndefined();
    expect(() => parsePlanFiles({ files: { 'notes.md': '' }, source: 'here' })).toThrow(/no plan in here/);
  });

  it('reads personas beside a roadmap', () => {
    const { plan } = parsePlanFiles({
      files: {
        'roadmap.md': '## B\n### Phase 1.1: A\n- [ ] a\n',
        'personas/coder.md': '# Coder Persona\n## Role\ncoder\n',
      },
      source: 'plans',
    });
    expect(plan.personas.map((p) => p.role)).toEqual(['coder']);
  });
});
