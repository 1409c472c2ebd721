import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { orchPlanDraft } from '../../../src/runtime/operations/draft.js';
import { acquireLease } from '../../../src/runtime/system/lease.js';
import { git, makeRepo, removeDir, repoEvents, tempDir } from '../helpers.js';

// `orch plan --draft` over a real git repository, a real planner process and a real log.
const PLANNER = fileURLToPath(new URL('../../fixtures/agents/planner/claude', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

function repo(config: Record<string, unknown> = {}, env: Record<string, string> = {}): string {
  const root = tempDir('orch-draft');
  dirs.push(root);
  const dir = makeRepo(path.join(root, 'repo'));
  fs.writeFileSync(path.join(dir, '.gitignore'), '.state/\n');
  fs.writeFileSync(
    path.join(dir, 'orch.config.json'),
    JSON.stringify({
      agents: {
        planner: { command: [PLANNER, '-p', '{promptFile}'], env },
        default: { command: ['orch-sim'] },
      },
      ...config,
    }),
  );
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'config');
  return dir;
}

describe('orchPlanDraft', () => {
  it('retries the planner with the problems of its invalid plan until the plan is valid, recording each attempt', async () => {
    const dir = repo();
    const prompts = path.join(path.dirname(dir), 'prompts.txt');
    fs.writeFileSync(
      path.join(dir, 'orch.config.json'),
      JSON.stringify({
        agents: {
          planner: { command: [PLANNER, '-p', '{promptFile}'], env: { PLANNER_PROMPTS_OUT: prompts } },
          dev: { command: ['orch-sim'] },
        },
      }),
    );
    const stateDir = path.join(dir, '.state');
    const result = await orchPlanDraft({ repoDir: dir, stateDir, goal: 'a command-line calculator' });
    // No plan was there: format C, plan.yaml at the root, written in the repository itself.
    expect([result.draft.format, result.draft.file]).toEqual(['yaml', 'plan.yaml']);
    expect(fs.readFileSync(path.join(dir, 'plan.yaml'), 'utf8')).toContain('dependsOn: [T1]');
    expect(result.tasks.map((t) => t.id)).toEqual(['T1', 'T2', 'T3']);
    expect(result.ready).toEqual(['T1']);
    const [first, second] = result.draft.attempts;
    expect(first?.problemCount).toBeGreaterThan(0);
    expect(
      first?.problems.some((p) => p.file === 'plan.yaml' && p.line > 0 && p.message.includes('T9')),
    ).toBe(true);
    expect(first?.usage).toMatchObject({ inputTokens: 1000, outputTokens: 200, costUsd: 0.05 });
    expect([second?.attempt, second?.exitCode, second?.problemCount]).toEqual([2, 0, 0]);
    // The second prompt carried the first attempt's problems as file:line.
    const text = fs.readFileSync(prompts, 'utf8');
    const again = text.slice(text.indexOf('=== attempt 2'));
    expect(again).toMatch(/^- plan\.yaml:\d+: .*T9/m);
    expect(again).toContain('Goal: a command-line calculator');
    expect(again).toContain('the roles orch has an agent for: dev.');
    // The log: request, two attempts, accepted; no task agent was spawned.
    const events = repoEvents(dir);
    expect(events.map((e) => e.type)).toEqual([
      'PlanDraftRequested',
      'PlanDraftAttempted',
      'PlanDraftAttempted',
      'PlanDraftAccepted',
    ]);
    expect(events[0]?.data).toMatchObject({
      goal: 'a command-line calculator',
      format: 'yaml',
      role: 'planner',
      maxAttempts: 3,
    });
    expect(events[3]?.data).toMatchObject({ attempt: 2, tasks: 3, phases: 2 });
    // The planner's output is under the state dir, one log per attempt.
    expect(fs.existsSync(path.join(stateDir, first?.logFile ?? '-'))).toBe(true);
    // Nothing committed: the plan waits for the user.
    expect(git(dir, 'status', '--porcelain')).toContain('plan.yaml');
  });

  it('gives up after 1 + min(maxRetries, 2) attempts with the last problems, and keeps to the existing plan format', async () => {
    const dir = repo({ maxRetries: 1, planDir: 'plans/plan.yaml' }, { PLANNER_ALWAYS_INVALID: '1' });
    fs.mkdirSync(path.join(dir, 'plans'));
    fs.writeFileSync(path.join(dir, 'plans', 'plan.yaml'), 'name: Old\nmilestones: []\n');
    const err = await orchPlanDraft({
      repoDir: dir,
      stateDir: path.join(dir, '.state'),
      goal: 'calculator',
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PLAN_DRAFT_FAILED', exitCode: 1 });
    const problems = (err as { problems: { file: string; message: string }[] }).problems;
    expect(problems.some((p) => p.file === 'plans/plan.yaml' && p.message.includes('T9'))).toBe(true);
    const types = repoEvents(dir).map((e) => e.type);
    expect(types).toEqual([
      'PlanDraftRequested',
      'PlanDraftAttempted',
      'PlanDraftAttempted',
      'PlanDraftFailed',
    ]);
  });

  it('stops the planner on abort (Ctrl-C): INTERRUPTED, exit 130, recorded as failed', async () => {
    const dir = repo();
    const hang = fileURLToPath(new URL('../../fixtures/agents/hang.mjs', import.meta.url));
    fs.writeFileSync(
      path.join(dir, 'orch.config.json'),
      JSON.stringify({ agents: { planner: { command: [process.execPath, hang] } } }),
    );
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 300);
    const err = await orchPlanDraft({
      repoDir: dir,
      stateDir: path.join(dir, '.state'),
      goal: 'x',
      signal: abort.signal,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INTERRUPTED', exitCode: 130 });
    const events = repoEvents(dir);
    expect(events.map((e) => e.type)).toEqual([
      'PlanDraftRequested',
      'PlanDraftAttempted',
      'PlanDraftFailed',
    ]);
    expect(events[1]?.data).toMatchObject({ attempt: 1, problemCount: 1 });
    expect(events[2]?.data).toMatchObject({ attempts: 1, reason: 'interrupted: the planner was stopped' });
    expect(fs.existsSync(path.join(dir, '.state', 'orch.lock'))).toBe(false);
  });

  it('refuses to draft while another orch process holds the lease', async () => {
    const dir = repo();
    const stateDir = path.join(dir, '.state');
    const lease = await acquireLease(stateDir, { runId: 'other' });
    try {
      await expect(orchPlanDraft({ repoDir: dir, stateDir, goal: 'x' })).rejects.toMatchObject({
        code: 'LEASE_HELD',
      });
    } finally {
      lease.release();
    }
    expect(fs.existsSync(path.join(dir, 'plan.yaml'))).toBe(false);
  });
});
