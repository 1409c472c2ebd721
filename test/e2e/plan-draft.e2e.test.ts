import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { git, gitRepo, runOrch } from '../fixtures/agents/e2e-repo.js';

// The built CLI (`npm run build` first): `orch plan --draft` runs the scripted planner,
// which writes an invalid plan (a dependency on an unknown task), reads the problem from its
// next prompt and writes a valid one; orch prints the plan and spawns nothing.
const PLANNER = fileURLToPath(new URL('../fixtures/agents/planner/claude', import.meta.url));

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function repo(env: Record<string, string> = {}): string {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'orch-draft-e2e-')));
  dirs.push(root);
  const dir = gitRepo(path.join(root, 'repo'));
  fs.writeFileSync(
    path.join(dir, 'orch.config.json'),
    JSON.stringify({
      agents: { planner: { command: [PLANNER, '-p', '{promptFile}'], env }, dev: { command: ['orch-sim'] } },
    }),
  );
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'config');
  return dir;
}

describe('orch plan --draft', () => {
  it('retries the planner with the problems as file:line, prints the valid plan, runs nothing', async () => {
    const dir = repo();
    const r = await runOrch(['plan', '--repo', dir, '--draft', 'a command-line calculator']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Drafted a plan for "a command-line calculator" in plan.yaml (yaml):');
    expect(r.stdout).toMatch(
      /attempt 1: exit 0, 1 problem\(s\), 1000 in \/ 200 out tokens, \$0\.05\n {4}plan\.yaml:\d+: .*T9/,
    );
    expect(r.stdout).toContain('attempt 2: exit 0, valid');
    expect(r.stdout).toMatch(/\[>\] T1 {2}Parse arithmetic expressions/);
    expect(r.stdout).toContain('Ready now, in priority order: T1');
    expect(r.stdout).toContain('Nothing runs until you run orch spawn.');
    // orch plan reads the same plan; the log has the draft and no task agent.
    const plan = await runOrch(['plan', '--repo', dir, '--json']);
    expect((JSON.parse(plan.stdout) as { tasks: unknown[] }).tasks).toHaveLength(3);
    const log = await runOrch(['log', '--repo', dir, '--json']);
    const types = (JSON.parse(log.stdout) as { type: string }[]).map((e) => e.type);
    expect(types).toEqual([
      'PlanDraftRequested',
      'PlanDraftAttempted',
      'PlanDraftAttempted',
      'PlanDraftAccepted',
    ]);
    expect(fs.existsSync(path.join(dir, '.state', 'sandbox'))).toBe(false);
  });

  it('--json: the plan view plus the attempts; a planner that never fixes it exits 1 with file:line', async () => {
    const dir = repo();
    const r = await runOrch(['plan', '--repo', dir, '--json', '--draft', 'a calculator']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      ready: string[];
      draft: {
        file: string;
        format: string;
        attempts: { attempt: number; problemCount: number; usage?: object }[];
      };
    };
    expect(doc.ready).toEqual(['T1']);
    expect([doc.draft.file, doc.draft.format]).toEqual(['plan.yaml', 'yaml']);
    expect(doc.draft.attempts.map((a) => [a.attempt, a.problemCount > 0])).toEqual([
      [1, true],
      [2, false],
    ]);
    expect(doc.draft.attempts[0]?.usage).toMatchObject({ inputTokens: 1000, outputTokens: 200 });

    const bad = repo({ PLANNER_ALWAYS_INVALID: '1' });
    const failed = await runOrch(['plan', '--repo', bad, '--draft', 'a calculator']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/the plan is still not valid after 3 attempt\(s\) of the planner/);
    expect(failed.stderr).toMatch(/^ {2}plan\.yaml:\d+: .*T9/m);
  });
});
