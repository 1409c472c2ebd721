import { describe, expect, it } from 'vitest';
import { PlanParseError } from '../../src/plan/errors.js';
import { parseStructuredPlan } from '../../src/plan/parse-structured.js';
import { readFixture } from './helpers.js';

function parseError(fn: () => unknown): PlanParseError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PlanParseError) return err;
    throw err;
  }
  throw new Error('expected a PlanParseError');
}

describe('parseStructuredPlan (format C)', () => {
  it('reads the YAML fixture: milestones, phases, tasks, personas, lines', () => {
    const { plan, problems } = parseStructuredPlan(
      readFixture('yaml', 'plan.yaml'),
      'plan.yaml',
      'yaml',
      'plan.yaml',
    );
    expect(problems).toEqual([]);
    expect(plan.milestones.map((m) => [m.id, m.phases, m.status])).toEqual([
      ['M1', ['S001', 'S002'], 'in_progress'],
      ['M2', ['S003'], 'not_started'],
    ]);
    expect(plan.phases[1]).toMatchObject({
      id: 'S002',
      priority: 'bootstrap',
      dependsOn: ['S001'],
      definitionOfDone: ['All tests pass'],
      metadata: { effort: 'M' },
      source: { file: 'plan.yaml', line: 16 },
      statusSource: { file: 'plan.yaml', line: 16 },
      dependsOnSource: { file: 'plan.yaml', line: 18 },
    });
    expect(plan.tasks.find((t) => t.id === 'T003')).toMatchObject({
      dependsOn: ['T002'],
      description: 'cover negative numbers and division by zero',
      source: { line: 25 },
    });
    expect(plan.tasks[0]).toMatchObject({ id: 'T001', status: 'complete', statusSource: { line: 15 } });
    expect(plan.personas[0]).toMatchObject({ role: 'writer', template: 'You write the documentation.\n' });
  });

  it('reads JSON and keeps ids as written (1.10 is not 1.1)', () => {
    const { plan } = parseStructuredPlan(readFixture('json', 'plan.json'), 'plan.json', 'json', 'plan.json');
    expect(plan.phases.map((p) => p.id)).toEqual(['1.1', '1.10']);
    expect(plan.tasks.map((t) => [t.id, t.dependsOn])).toEqual([
      ['1.1.1', []],
      ['1.10.1', []],
      ['1.10.2', ['1.10.1']],
    ]);
    expect(plan.phases[1]?.source.line).toBe(15);
  });

  it('keeps YAML scalars as strings', () => {
    const { plan } = parseStructuredPlan(
      'name: 1.0\nmilestones:\n  - id: 001\n    phases:\n      - id: 1.10\n        tasks: [{ id: true, title: null }]\n',
      'plan.yaml',
      'yaml',
      'p',
    );
    expect(plan.name).toBe('1.0');
    expect(plan.milestones[0]?.id).toBe('001');
    expect(plan.tasks[0]).toMatchObject({ id: 'true', title: 'null', phase: '1.10' });
  });

  it('reports a YAML syntax error with its line', () => {
    const err = parseError(() =>
      parseStructuredPlan(readFixture('malformed', 'broken.yaml'), 'broken.yaml', 'yaml', 'b'),
    );
    expect(err.code).toBe('PLAN_PARSE');
    expect(err.line).toBeGreaterThanOrEqual(6);
    expect(err.message).toMatch(/broken\.yaml is not valid YAML/);
  });

  it('reports a JSON syntax error with its line', () => {
    const err = parseError(() =>
      parseStructuredPlan(readFixture('malformed', 'broken.json'), 'broken.json', 'json', 'b'),
    );
    expect(err).toMatchObject({ file: 'broken.json', line: 5 });
    expect(err.message).toMatch(/not valid JSON: unexpected character "\]"/);
    expect(parseError(() => parseStructuredPlan('{"a": 1, "a": 2}', 'p.json', 'json', 'p')).message).toMatch(
      /appears twice/,
    );
  });

  it('collects every shape problem, sorted by line', () => {
    const err = parseError(() =>
      parseStructuredPlan(readFixture('malformed', 'bad-shape.yaml'), 'bad-shape.yaml', 'yaml', 'b'),
    );
    expect(err.problems.map((p) => [p.line, p.message])).toEqual([
      [5, 'a phase of milestone M1 has no id: add "id: …"'],
      [8, 'phase S002: "tasks" must be a list'],
      [10, 'phase S003: "dependsOn" must be a list of strings'],
      [12, 'phase S003: each item of "tasks" must be a mapping with an id'],
    ]);
    expect(parseError(() => parseStructuredPlan('- a\n- b\n', 'p.yaml', 'yaml', 'p')).message).toMatch(
      /must be a mapping/,
    );
    expect(parseError(() => parseStructuredPlan('name: x\n', 'p.yaml', 'yaml', 'p')).message).toMatch(
      /no "milestones" list/,
    );
  });

  it('reports an unknown status word as a problem, not a parse error', () => {
    const { problems } = parseStructuredPlan(
      'milestones:\n  - id: M1\n    phases:\n      - id: P1\n        status: someday\n        tasks: []\n',
      'plan.yaml',
      'yaml',
      'p',
    );
    expect(problems).toEqual([
      { file: 'plan.yaml', line: 5, message: expect.stringContaining('phase P1 has status "someday"') },
    ]);
  });
});
