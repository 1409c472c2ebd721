// The pieces of `orch plan --draft`: where the plan goes (over real directories) and the prompt.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { draftPrompt, draftTarget } from '../../../src/runtime/operations/draft.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'orch-draft-unit-'));
  dirs.push(d);
  return d;
}

describe('draftTarget', () => {
  it('is plan.yaml (format C) at the root when the repository has no plan', () => {
    const d = dir();
    expect(draftTarget(d, { planDir: '.state/plans' })).toEqual({
      format: 'yaml',
      location: path.join(d, 'plan.yaml'),
      existing: false,
    });
  });

  it('keeps the place and format of the plan already there', () => {
    const d = dir();
    fs.mkdirSync(path.join(d, 'plans'));
    fs.writeFileSync(path.join(d, 'plans', 'roadmap.md'), '# Roadmap\n');
    expect(draftTarget(d, { planDir: '.state/plans' })).toEqual({
      format: 'roadmap',
      location: path.join(d, 'plans', 'roadmap.md'),
      existing: true,
    });
    fs.mkdirSync(path.join(d, '.state', 'plans'), { recursive: true });
    fs.writeFileSync(path.join(d, '.state', 'plans', 'project.md'), '# P\n');
    expect(draftTarget(d, { planDir: '.state/plans' })).toMatchObject({
      format: 'directory',
      existing: true,
    });
  });

  it('follows --plan-dir for a new plan: by extension, or plan.yaml inside a directory', () => {
    const d = dir();
    expect(draftTarget(d, { planDir: '.state/plans' }, 'docs/roadmap.md')).toMatchObject({
      format: 'roadmap',
    });
    expect(draftTarget(d, { planDir: '.state/plans' }, 'plans')).toEqual({
      format: 'yaml',
      location: path.join(d, 'plans', 'plan.yaml'),
      existing: false,
    });
  });
});

describe('draftPrompt', () => {
  const base = { goal: 'a calculator', format: 'yaml' as const, file: 'plan.yaml', existing: false };

  it('gives the goal, the file, the format and the roles; no problems on the first attempt', () => {
    const text = draftPrompt({ ...base, attempt: 1, previous: undefined, roles: ['dev', 'default'] });
    expect(text).toContain('Goal: a calculator');
    expect(text).toContain('Write the plan into plan.yaml (a new file).');
    expect(text).toContain('milestones:');
    expect(text).toContain('dev (agents.default runs any other role).');
    expect(text).not.toContain('not accepted');
  });

  it('lists every problem of the previous attempt as file:line', () => {
    const text = draftPrompt({
      ...base,
      attempt: 2,
      previous: {
        draftId: 'd',
        spawnId: 's',
        attempt: 1,
        exitCode: 0,
        signal: null,
        timedOut: false,
        durationMs: 5,
        logFile: 'logs/draft-d/1.log',
        outputTail: '',
        problems: [{ file: 'plan.yaml', line: 11, message: 'task T2 depends on T9' }],
        problemCount: 3,
      },
    });
    expect(text).toContain('## The previous attempt (1) was not accepted');
    expect(text).toContain('- plan.yaml:11: task T2 depends on T9');
    expect(text).toContain('- … and 2 more');
  });
});
