import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Orchestrator,
  OrchestratorConfigSchema,
  OrchestratorError,
  PlanValidationError,
  runOrchestration,
} from '../../../src/index.js';
import { git, makePlanRepo, removeDir, repoEvents, tempDir } from '../helpers.js';

/**
 * The programmatic API as a library user calls it (from `src/index.ts`), on real git
 * repositories with real agent processes.
 */

const WORK = fileURLToPath(new URL('../../fixtures/agents/work.mjs', import.meta.url));
const HANG = fileURLToPath(new URL('../../fixtures/agents/hang.mjs', import.meta.url));

const PLAN = `name: API
milestones:
  - id: M1
    title: One
    phases:
      - id: P1
        title: Two tasks
        tasks:
          - { id: T1, title: First, role: dev }
          - { id: T2, title: Second, role: dev, dependsOn: [T1] }
`;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

function repoWith(agent: string[], extra: Record<string, unknown> = {}): string {
  const root = tempDir('api');
  dirs.push(root);
  const repo = makePlanRepo(root, PLAN);
  fs.writeFileSync(
    path.join(repo, 'orch.config.json'),
    JSON.stringify({
      planDir: 'plan.yaml',
      retryInterval: 0,
      maxRetries: 0,
      agents: { dev: { command: agent, env: { WORK_MS: '50' } } },
      ...extra,
    }),
  );
  return repo;
}

describe('runOrchestration', () => {
  it('runs the whole plan of a repository with its own config and resolves to the outcome', async () => {
    const repo = repoWith([process.execPath, WORK]);
    const outcome = await runOrchestration({ repoDir: repo, planDir: 'plan.yaml' });
    expect(outcome.exitCode, outcome.reason).toBe(0);
    expect(outcome.status.tasks.map((t) => [t.id, t.status])).toEqual([
      ['T1', 'complete'],
      ['T2', 'complete'],
    ]);
    expect(git(repo, 'ls-tree', '--name-only', 'integration', 'work/').split('\n')).toEqual([
      'work/T1.md',
      'work/T2.md',
    ]);
  });

  it('rejects an invalid plan with PlanValidationError listing the problem', async () => {
    const repo = repoWith([process.execPath, WORK]);
    fs.writeFileSync(path.join(repo, 'plan.yaml'), PLAN.replace('dependsOn: [T1]', 'dependsOn: [T9]'));
    git(repo, 'commit', '-qam', 'broken plan');
    const err = await runOrchestration({ repoDir: repo }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlanValidationError);
    expect((err as PlanValidationError).problems.map((p) => p.message).join('\n')).toMatch(/T9/);
  });
});

describe('Orchestrator', () => {
  it('start, status, spawnAgent for a ready task only, waitForCompletion, getMilestonePr', async () => {
    const repo = repoWith([process.execPath, WORK]);
    const config = OrchestratorConfigSchema.parse({
      planDir: 'plan.yaml',
      retryInterval: 0,
      maxRetries: 0,
      autoMerge: true,
      agents: { dev: { command: [process.execPath, WORK], env: { WORK_MS: '50' } } },
    });
    const orch = new Orchestrator({ repoDir: repo, config });
    await orch.start();
    // Started, nothing decided yet: the plan is recorded, no task has been released.
    expect(orch.status().tasks.map((t) => [t.id, t.status])).toEqual([
      ['T1', 'pending'],
      ['T2', 'pending'],
    ]);
    const notReady = await orch.spawnAgent('dev', 'T2').catch((e: unknown) => e);
    expect(notReady).toBeInstanceOf(OrchestratorError);
    expect(notReady).toMatchObject({ code: 'TASK_NOT_READY' });
    await expect(orch.spawnAgent('dev', 'nope')).rejects.toMatchObject({ code: 'UNKNOWN_TASK' });

    const spawnId = await orch.spawnAgent('dev', 'T1');
    expect(orch.status().agents.find((a) => a.spawnId === spawnId)).toMatchObject({ task: 'T1', attempt: 1 });
    const outcome = await orch.waitForCompletion(60_000);
    expect(outcome.exitCode, outcome.reason).toBe(0);
    // The agent started by spawnAgent was the task's only attempt.
    const spawns = repoEvents(repo).filter((e) => e.type === 'AgentSpawnRequested');
    expect(spawns.map((e) => (e.data as { taskId: string }).taskId)).toEqual(['T1', 'T2']);
    expect((spawns[0]?.data as { spawnId: string }).spawnId).toBe(spawnId);
    expect(orch.getMilestonePr('M1')).toMatchObject({ branch: 'milestone/M1' });
    expect(() => orch.getMilestonePr('M9')).toThrow(/no milestone M9/);
  });

  it('waitForCompletion times out with TIMEOUT; stop() then stops the agents and ends the run (130)', async () => {
    const repo = repoWith([process.execPath, HANG]);
    const config = OrchestratorConfigSchema.parse({
      planDir: 'plan.yaml',
      agents: { dev: { command: [process.execPath, HANG] } },
    });
    const orch = new Orchestrator({ repoDir: repo, config });
    const run = orch.run();
    await expect(orch.waitForCompletion(1500)).rejects.toMatchObject({ code: 'TIMEOUT' });
    const pid = orch.status().agents[0]?.pid;
    expect(typeof pid).toBe('number');
    await orch.stop('test over');
    const outcome = await run;
    expect(outcome.exitCode).toBe(130);
    expect(() => process.kill(pid!, 0)).toThrow();
    expect(repoEvents(repo).some((e) => e.type === 'RunStopped')).toBe(true);
  });
});
