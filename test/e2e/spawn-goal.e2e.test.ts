import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { git, gitRepo, runOrch } from '../fixtures/agents/e2e-repo.js';

// The built CLI (`npm run build` first): `orch spawn --goal` prints what the goal chose and
// why, then runs the matching task after the task it depends on, and nothing else.
const AGENT = fileURLToPath(new URL('../fixtures/agents/succeed.mjs', import.meta.url));
const PLAN = `name: Goal
milestones:
  - id: M1
    title: One
    phases:
      - id: P1
        title: First
        dependsOn: []
        tasks:
          - { id: T1, title: Set up the module skeleton, role: dev }
          - { id: T2, title: Add the unicorn parser, role: dev, dependsOn: [T1] }
          - { id: T3, title: Write the documentation page, role: dev }
`;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function repo(): string {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-goal-e2e-')));
  dirs.push(root);
  const dir = gitRepo(path.join(root, 'repo'));
  fs.writeFileSync(path.join(dir, 'plan.yaml'), PLAN);
  fs.writeFileSync(
    path.join(dir, 'orch.config.json'),
    JSON.stringify({
      planDir: 'plan.yaml',
      retryInterval: 0,
      agents: { default: { command: [process.execPath, AGENT] } },
    }),
  );
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'plan');
  return dir;
}

describe('orch spawn --goal', () => {
  it('prints the matches and the work, runs the dependency first, then the match, and nothing else', async () => {
    const dir = repo();
    const r = await runOrch(['spawn', '--repo', dir, '--goal', 'the unicorn parser']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Goal: the unicorn parser');
    expect(r.stdout).toMatch(/task T2 {2}Add the unicorn parser {2}\(score [\d.]+: unicorn, pars\)/);
    expect(r.stdout).toMatch(/1\. T1 .*needed first\)\n {2}2\. T2 /);
    expect(r.stdout).toContain('Running: T1, T2');
    expect(r.stdout).toContain('all 2 selected task(s) complete');
    // T2 is spawned only after T1 completed.
    const log = await runOrch(['log', '--repo', dir, '--json']);
    const events = (JSON.parse(log.stdout) as { type: string; streamId: string }[]).filter(
      (e) => e.type === 'AgentSpawnRequested' || e.type === 'BranchMerged',
    );
    expect(events.map((e) => `${e.type} ${e.streamId}`)).toEqual([
      'AgentSpawnRequested task-T1',
      'BranchMerged task-T1',
      'AgentSpawnRequested task-T2',
      'BranchMerged task-T2',
    ]);
    const status = await runOrch(['status', '--repo', dir, '--json']);
    const tasks = (JSON.parse(status.stdout) as { tasks: { id: string; status: string }[] }).tasks;
    expect(tasks.map((t) => [t.id, t.status])).toEqual([
      ['T1', 'complete'],
      ['T2', 'complete'],
      ['T3', 'ready'],
    ]);
  });

  it('--json carries the choice; a goal that matches nothing exits 1 with one error and runs nothing', async () => {
    const dir = repo();
    const none = await runOrch(['spawn', '--repo', dir, '--goal', 'quantum teleporter']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no phase or task of the plan matches the goal "quantum teleporter"');
    expect(fs.existsSync(path.join(dir, '.state', 'logs'))).toBe(false);
    const json = await runOrch(['spawn', '--repo', dir, '--json', '--goal', 'documentation']);
    expect(json.code, json.stderr).toBe(0);
    const doc = JSON.parse(json.stdout) as {
      goal: { tasks: string[]; recommendation: { matches: { id: string }[] } };
    };
    expect(doc.goal.tasks).toEqual(['T3']);
    expect(doc.goal.recommendation.matches.map((m) => m.id)).toEqual(['T3']);
  });
});
