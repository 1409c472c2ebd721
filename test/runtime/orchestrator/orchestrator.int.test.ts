import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { checkInvariants } from '../../../src/core/invariants.js';
import { OrchestratorConfigSchema, type OrchestratorConfigInput } from '../../../src/core/config.js';
import { Orchestrator } from '../../../src/runtime/orchestrator/orchestrator.js';
import { OrchError } from '../../../src/util/errors.js';
import { git, makePlanRepo, removeDir, repoEvents, tempDir } from '../helpers.js';

const WORK = fileURLToPath(new URL('../../fixtures/orchestrator/work.mjs', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

const PLAN = `name: Tiny
milestones:
  - id: M1
    title: One
    phases:
      - id: P1
        title: First
        dependsOn: []
        tasks:
          - { id: T1, title: Make a, role: dev }
          - { id: T2, title: Make b, role: dev, dependsOn: [T1] }
      - id: P2
        title: Second
        dependsOn: [P1]
        tasks:
          - { id: T3, title: Make c, role: dev }
`;

function setup(plan = PLAN): string {
  const root = tempDir('orch-int');
  dirs.push(root);
  return makePlanRepo(root, plan);
}

function config(extra: OrchestratorConfigInput = {}, env: Record<string, string> = {}) {
  return OrchestratorConfigSchema.parse({
    planDir: 'plan.yaml',
    retryInterval: 0,
    maxRetries: 2,
    agents: { default: { command: [process.execPath, WORK, '{promptFile}'], env } },
    ...extra,
  });
}

const events = repoEvents;

describe('Orchestrator', () => {
  it('runs every task in dependency order, merges each branch once and keeps every invariant', async () => {
    const repo = setup();
    const cfg = config();
    const outcome = await new Orchestrator({ repoDir: repo, config: cfg }).run();
    expect(outcome.exitCode).toBe(0);
    expect(outcome.status.tasks.map((t) => [t.id, t.status, t.attempts])).toEqual([
      ['T1', 'complete', 1],
      ['T2', 'complete', 1],
      ['T3', 'complete', 1],
    ]);
    // Merge commits on the integration branch, oldest first, respect T1 → T2 and P1 → P2.
    const merges = git(repo, 'log', '--merges', '--reverse', '--format=%s', 'integration').split('\n');
    expect(merges.map((s) => /task (\S+)/.exec(s)?.[1])).toEqual(['T1', 'T2', 'T3']);
    expect(fs.existsSync(path.join(repo, '.state', 'logs', 'T1', '1.log'))).toBe(true);
    const log = events(repo);
    expect(log.map((e) => e.position)).toEqual(log.map((_, i) => i + 1));
    expect(checkInvariants(log, cfg)).toEqual([]);
    expect(log.filter((e) => e.type === 'BranchMerged')).toHaveLength(3);
    expect(log.at(-1)?.type).toBe('RunStopped');
    // The lease is released.
    expect(fs.existsSync(path.join(repo, '.state', 'orch.lock'))).toBe(false);
  });

  it('retries a failed attempt with a fresh agent told what the last one printed', async () => {
    const repo = setup();
    const prompts = path.join(path.dirname(repo), 'prompts.txt');
    const outcome = await new Orchestrator({
      repoDir: repo,
      config: config({}, { WORK_FAIL_FIRST: '1', WORK_PROMPT_OUT: prompts }),
      tasks: ['T1'],
    }).run();
    expect(outcome.exitCode).toBe(0);
    expect(outcome.status.tasks.find((t) => t.id === 'T1')?.attempts).toBe(2);
    const text = fs.readFileSync(prompts, 'utf8');
    const second = text.slice(text.indexOf('=== T1 attempt 2'));
    expect(second).toContain('the unicorn parser exploded');
    // Only the named task ran.
    expect(outcome.status.tasks.find((t) => t.id === 'T2')?.attempts).toBe(0);
  });

  it('fails a task for good after maxRetries + 1 attempts and exits 1', async () => {
    const repo = setup();
    const outcome = await new Orchestrator({
      repoDir: repo,
      config: config({ maxRetries: 1 }, { WORK_EXIT: '1' }),
    }).run();
    expect(outcome.exitCode).toBe(1);
    expect(outcome.reason).toContain('T1');
    const t1 = outcome.status.tasks.find((t) => t.id === 'T1');
    expect([t1?.status, t1?.attempts]).toEqual(['failed', 2]);
    expect(outcome.status.tasks.find((t) => t.id === 'T2')?.attempts).toBe(0);
    expect(checkInvariants(events(repo), { maxConcurrent: 4, maxRetries: 1 })).toEqual([]);
  });

  it('retries when the quality gate fails, giving the next attempt the gate output', async () => {
    const repo = setup();
    const prompts = path.join(path.dirname(repo), 'prompts.txt');
    const gate = [
      process.execPath,
      '-e',
      "const fs=require('fs');const n=(fs.existsSync('.gate-n')?+fs.readFileSync('.gate-n','utf8'):0)+1;" +
        "fs.writeFileSync('.gate-n',String(n));if(n<2){console.log('gate says no: 3 lint errors');process.exit(1)}",
    ];
    const outcome = await new Orchestrator({
      repoDir: repo,
      config: config({ gate: { command: gate } }, { WORK_PROMPT_OUT: prompts }),
      tasks: ['T1'],
    }).run();
    expect(outcome.exitCode).toBe(0);
    expect(outcome.status.tasks.find((t) => t.id === 'T1')?.attempts).toBe(2);
    const text = fs.readFileSync(prompts, 'utf8');
    expect(text.slice(text.indexOf('=== T1 attempt 2'))).toContain('gate says no: 3 lint errors');
    const types = events(repo).map((e) => e.type);
    expect(types.filter((t) => t === 'GateFailed')).toHaveLength(1);
    expect(types.filter((t) => t === 'GatePassed')).toHaveLength(1);
  });

  it('exits 2 naming what a selected task waits for when it depends on an unselected one', async () => {
    const repo = setup();
    const outcome = await new Orchestrator({ repoDir: repo, config: config(), tasks: ['T2'] }).run();
    expect(outcome.exitCode).toBe(2);
    expect(outcome.reason).toMatch(/T2 waits for T1/);
    expect(events(repo).some((e) => e.type === 'AgentSpawnRequested')).toBe(false);
  });

  it('refuses a second orchestrator on the same state directory (exit code 3)', async () => {
    const repo = setup();
    const first = new Orchestrator({ repoDir: repo, config: config() });
    await first.start();
    const second = new Orchestrator({ repoDir: repo, config: config() });
    await expect(second.start()).rejects.toMatchObject({ code: 'LEASE_HELD', exitCode: 3 });
    await first.stop('test over');
  });

  it('names an unknown task before spawning anything', async () => {
    const repo = setup();
    const orch = new Orchestrator({ repoDir: repo, config: config(), tasks: ['T9'] });
    await expect(orch.start()).rejects.toMatchObject({ code: 'UNKNOWN_TASK' });
    expect(events(repo).some((e) => e.type === 'AgentSpawnRequested')).toBe(false);
  });

  it('refuses a directory that is not a git repository, recording no spawn', async () => {
    const dir = tempDir('orch-nogit');
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'plan.yaml'), PLAN);
    const err = await new Orchestrator({ repoDir: dir, config: config() }).run().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OrchError);
    expect((err as OrchError).code).toBe('NOT_A_GIT_REPO');
  });

  it('keeps hostile task ids inside the sandbox and away from git options', async () => {
    const repo = setup(`name: Hostile
milestones:
  - id: M1
    title: One
    phases:
      - id: P1
        title: Only
        dependsOn: []
        tasks:
          - { id: "--upload-pack=touch pwned", title: a, role: dev }
          - { id: "../../escape", title: b, role: dev }
`);
    const outcome = await new Orchestrator({ repoDir: repo, config: config() }).run();
    expect(outcome.exitCode).toBe(0);
    expect(fs.existsSync(path.join(repo, 'pwned'))).toBe(false);
    expect(fs.existsSync(path.join(path.dirname(repo), 'escape'))).toBe(false);
    const sandbox = fs.readdirSync(path.join(repo, '.state', 'sandbox'));
    expect(sandbox.every((name) => !name.startsWith('-') && !name.includes('/'))).toBe(true);
    const branches = git(repo, 'branch', '--format=%(refname:short)').split('\n');
    expect(branches.filter((b) => b.startsWith('orch/'))).toHaveLength(2);
    expect(branches.every((b) => !b.startsWith('-'))).toBe(true);
  });

  it('stop() stops the running agents and records RunStopped', async () => {
    const repo = setup();
    const hang = path.join(path.dirname(repo), 'hang.mjs');
    fs.writeFileSync(hang, 'setInterval(() => {}, 1000);\n');
    const orch = new Orchestrator({
      repoDir: repo,
      config: config({ agents: { default: { command: [process.execPath, hang] } } }),
      killGraceMs: 500,
    });
    const running = orch.run();
    await orch.start();
    while (!Object.values(orch.lastState().agents).some((a) => a.status === 'running')) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const pid = Object.values(orch.lastState().agents)[0]?.pid;
    await orch.stop('test stop');
    const outcome = await running;
    expect(outcome.exitCode).toBe(130);
    expect(() => process.kill(pid!, 0)).toThrow();
    const log = events(repo);
    expect(log.at(-1)).toMatchObject({ type: 'RunStopped', data: { reason: 'test stop' } });
    expect(log.some((e) => e.type === 'AgentExited')).toBe(true);
  });

  it('a stop kills a hanging gate and leaves it pending; the next run, with no gate configured, passes it as skipped', async () => {
    const repo = setup();
    const hang = path.join(path.dirname(repo), 'hang-gate.mjs');
    const pidFile = path.join(path.dirname(repo), 'gate.pid');
    fs.writeFileSync(
      hang,
      `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000);\n`,
    );
    const first = new Orchestrator({
      repoDir: repo,
      config: config({ gate: { command: [process.execPath, hang] } }),
      killGraceMs: 500,
    });
    const running = first.run();
    await first.start();
    while (!events(repo).some((e) => e.type === 'GateStarted')) {
      await new Promise((r) => setTimeout(r, 50));
    }
    // The stop does not wait for the hanging gate: it kills it and leaves the gate pending.
    await first.stop('test stop');
    expect((await running).exitCode).toBe(130);
    expect(() => process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 0)).toThrow();
    const before = events(repo);
    const started = before.filter((e) => e.type === 'GateStarted').map((e) => e.data);
    const ended = before.filter((e) => e.type === 'GatePassed' || e.type === 'GateFailed');
    expect(started.length).toBeGreaterThan(ended.length); // one gate left pending

    const outcome = await new Orchestrator({ repoDir: repo, config: config() }).run();
    expect(outcome.exitCode).toBe(0);
    const after = events(repo).slice(before.length);
    const pending = started[0] as { taskId: string; spawnId: string };
    expect(after).toContainEqual(
      expect.objectContaining({
        type: 'GatePassed',
        data: { taskId: pending.taskId, spawnId: pending.spawnId, skipped: true },
      }),
    );
    expect(outcome.status.tasks.every((t) => t.status === 'complete')).toBe(true);
  });
});
