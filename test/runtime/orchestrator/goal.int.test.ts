import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { OrchestratorConfigSchema } from '../../../src/core/config.js';
import { Orchestrator } from '../../../src/runtime/orchestrator/orchestrator.js';
import { makePlanRepo, removeDir, repoEvents, tempDir } from '../helpers.js';

// `orch spawn --goal` through the API: the goal picks tasks, their dependencies run first.
const WORK = fileURLToPath(new URL('../../fixtures/orchestrator/work.mjs', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

const PLAN = `name: Goals
milestones:
  - id: M1
    title: One
    phases:
      - id: P1
        title: First
        dependsOn: []
        tasks:
          - { id: T0, title: Create the repository layout, role: dev }
          - { id: T1, title: Set up the module skeleton, role: dev, dependsOn: [T0] }
          - { id: T2, title: Add the unicorn parser, role: dev, dependsOn: [T1] }
          - { id: T3, title: Write the documentation page, role: dev }
`;

function setup(): string {
  const root = tempDir('orch-goal');
  dirs.push(root);
  return makePlanRepo(root, PLAN);
}

const config = () =>
  OrchestratorConfigSchema.parse({
    planDir: 'plan.yaml',
    retryInterval: 0,
    agents: { default: { command: [process.execPath, WORK, '{promptFile}'] } },
  });

describe('Orchestrator with a goal', () => {
  it('runs the matching task and everything it depends on, transitively, dependencies first', async () => {
    const repo = setup();
    const orch = new Orchestrator({ repoDir: repo, config: config(), goal: 'the unicorn parser' });
    await orch.start();
    const choice = orch.goalChoice();
    expect(choice?.recommendation.matches.map((m) => [m.id, m.terms])).toEqual([['T2', ['unicorn', 'pars']]]);
    expect(choice?.recommendation.tasks.map((t) => [t.id, t.reason])).toEqual([
      ['T0', 'dependency'],
      ['T1', 'dependency'],
      ['T2', 'match'],
    ]);
    expect(choice?.tasks).toEqual(['T0', 'T1', 'T2']);
    const outcome = await orch.run();
    expect(outcome.exitCode).toBe(0);
    expect(outcome.reason).toBe('all 3 selected task(s) complete');
    expect(outcome.status.tasks.map((t) => [t.id, t.status])).toEqual([
      ['T0', 'complete'],
      ['T1', 'complete'],
      ['T2', 'complete'],
      ['T3', 'ready'],
    ]);
    const spawned = repoEvents(repo)
      .filter((e) => e.type === 'AgentSpawnRequested')
      .map((e) => e.streamId);
    expect(spawned).toEqual(['task-T0', 'task-T1', 'task-T2']);
    const started = repoEvents(repo).find((e) => e.type === 'RunStarted');
    expect(started?.data).toMatchObject({
      config: { goal: 'the unicorn parser', tasks: ['T0', 'T1', 'T2'] },
    });
  });

  it('does not redo dependencies the log has completed; a reached goal ends done at once', async () => {
    const repo = setup();
    expect((await new Orchestrator({ repoDir: repo, config: config(), tasks: ['T0'] }).run()).exitCode).toBe(
      0,
    );
    const second = new Orchestrator({ repoDir: repo, config: config(), goal: 'unicorn parser' });
    await second.start();
    expect(second.goalChoice()?.tasks).toEqual(['T1', 'T2']);
    expect((await second.run()).exitCode).toBe(0);
    const again = new Orchestrator({ repoDir: repo, config: config(), goal: 'unicorn parser' });
    await again.start();
    expect(again.goalChoice()?.recommendation.tasks).toEqual([]);
    expect(again.goalChoice()?.tasks).toEqual(['T2']);
    const outcome = await again.run();
    expect(outcome.exitCode).toBe(0);
    expect(repoEvents(repo).filter((e) => e.type === 'AgentSpawnRequested')).toHaveLength(3);
  });

  it('refuses a goal that matches nothing before spawning anything', async () => {
    const repo = setup();
    const orch = new Orchestrator({ repoDir: repo, config: config(), goal: 'quantum teleporter' });
    await expect(orch.start()).rejects.toMatchObject({ code: 'NO_GOAL_MATCH', exitCode: 1 });
    expect(repoEvents(repo).some((e) => e.type === 'AgentSpawnRequested')).toBe(false);
  });
});
