import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../../src/core/config.js';
import { PlanParseError, PlanValidationError } from '../../../src/plan/errors.js';
import { findPlan, loadPlan, readPlanFiles } from '../../../src/runtime/project/plan-loader.js';
import { fixture } from '../../plan/helpers.js';

let repo: string;
beforeEach(() => {
  repo = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-plan-loader-'));
});
afterEach(() => {
  fs.rmSync(repo, { recursive: true, force: true });
});

const write = (rel: string, text: string | Buffer): void => {
  fs.mkdirSync(path.dirname(path.join(repo, rel)), { recursive: true });
  fs.writeFileSync(path.join(repo, rel), text);
};

describe('findPlan', () => {
  it('prefers config planDir, then the documented fallbacks in order', () => {
    write('docs/roadmap.md', '## B\n### Phase 1.1: A\n- [ ] a\n');
    expect(findPlan(repo, DEFAULT_CONFIG)).toBe(path.join(repo, 'docs/roadmap.md'));
    write('roadmap.md', '## B\n### Phase 1.1: A\n- [ ] a\n');
    expect(findPlan(repo, DEFAULT_CONFIG)).toBe(path.join(repo, 'roadmap.md'));
    write('plans/roadmap.md', '## B\n### Phase 1.1: A\n- [ ] a\n');
    expect(findPlan(repo, DEFAULT_CONFIG)).toBe(path.join(repo, 'plans/roadmap.md'));
    write('.state/plans/project.md', '# P\n');
    expect(findPlan(repo, DEFAULT_CONFIG)).toBe(path.join(repo, '.state/plans'));
    expect(findPlan(repo, { planDir: 'elsewhere' })).toBe(path.join(repo, 'plans/roadmap.md'));
    expect(findPlan(repo, DEFAULT_CONFIG, 'roadmap.md')).toBe(path.join(repo, 'roadmap.md'));
  });

  it('says what it looked for when there is no plan', () => {
    expect(() => findPlan(repo, DEFAULT_CONFIG)).toThrow(
      /no plan found in .* \(looked for \.state\/plans, plans\/roadmap\.md/,
    );
    expect(() => findPlan(repo, DEFAULT_CONFIG, 'missing')).toThrow(
      expect.objectContaining({ code: 'PLAN_NOT_FOUND' }),
    );
  });
});

describe('readPlanFiles and loadPlan', () => {
  it('reads a plan directory: project, epics, stories (nested) and personas, and nothing else', () => {
    fs.cpSync(fixture('directory'), path.join(repo, '.state/plans'), { recursive: true });
    write('.state/plans/notes/ignored.md', '# not read');
    const input = readPlanFiles(path.join(repo, '.state/plans'), '.state/plans');
    expect(Object.keys(input.files).sort()).toEqual([
      'epics/E001-calculator-core.md',
      'epics/E002-extras.md',
      'personas/architect.md',
      'personas/implementer.md',
      'personas/tester.md',
      'personas/writer.md',
      'project.md',
      'stories/E001/S001-api-design.md',
      'stories/E001/S002-calculator-implementation.md',
      'stories/E002/S003-scientific-functions.md',
      'stories/E002/S004-command-line.md',
    ]);
    const { plan, graph } = loadPlan(path.join(repo, '.state/plans'), {
      agentRoles: [],
      source: '.state/plans',
    });
    expect(plan.source).toBe('.state/plans');
    expect(graph.taskIds).toHaveLength(8);
  });

  it('reads a roadmap file with the personas beside it', () => {
    fs.cpSync(fixture('roadmap-large', 'roadmap.md'), path.join(repo, 'plans/roadmap.md'));
    write('plans/personas/coder.md', '# Coder Persona\n## Role\ncoder\n');
    const input = readPlanFiles(path.join(repo, 'plans/roadmap.md'));
    expect(input.entry).toBe('roadmap.md');
    expect(Object.keys(input.files).sort()).toEqual(['personas/coder.md', 'roadmap.md']);
    expect(loadPlan(path.join(repo, 'plans')).plan.phases).toHaveLength(53);
  });

  it('throws PlanValidationError with every problem for an invalid plan', () => {
    fs.cpSync(fixture('invalid-roadmap'), path.join(repo, 'plans'), { recursive: true });
    expect(() => loadPlan(path.join(repo, 'plans'))).toThrow(PlanValidationError);
    try {
      loadPlan(path.join(repo, 'plans'));
    } catch (err) {
      expect((err as PlanValidationError).problems).toHaveLength(5);
    }
  });

  it('throws PlanParseError for unreadable input: NUL bytes, bad YAML, an empty directory', () => {
    write('a/plan.yaml', Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x00, 0xff]));
    expect(() => loadPlan(path.join(repo, 'a'))).toThrow(/plan\.yaml is not a text file/);
    write('b/plan.yaml', 'name: [\n');
    expect(() => loadPlan(path.join(repo, 'b'))).toThrow(PlanParseError);
    fs.mkdirSync(path.join(repo, 'c'));
    expect(() => loadPlan(path.join(repo, 'c'), { source: 'c' })).toThrow(/c holds no plan/);
  });
});
