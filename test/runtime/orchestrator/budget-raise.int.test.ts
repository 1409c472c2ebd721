import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OrchestratorConfigSchema } from '../../../src/core/config.js';
import { checkInvariants } from '../../../src/core/invariants.js';
import { orchRaiseBudget } from '../../../src/runtime/operations/budget.js';
import { Orchestrator } from '../../../src/runtime/orchestrator/orchestrator.js';
import { fixtureAgent, makePlanRepo, removeDir, repoEvents, tempDir } from '../helpers.js';

/**
 * A run halted by the budget, resumed by a person's raise (`orch signal budget --raise`),
 * through the real Orchestrator: the stand-in Claude reports $0.1234 an attempt; with a
 * budget of $0.20 the run halts after two attempts (exit 2); a raise of $0.10 lets the next
 * run spawn the last task, which finishes.
 */

const CLAUDE = fixtureAgent('claude-code/claude');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

const PLAN = `name: Budget
milestones:
  - id: M1
    title: One
    phases:
      - id: P1
        title: First
        dependsOn: []
        tasks:
          - { id: T1, title: Make a, role: dev }
          - { id: T2, title: Make b, role: dev }
          - { id: T3, title: Make c, role: dev }
`;

describe('a run halted by the budget', () => {
  it('spawns again after a person raises the budget, until the raised budget is reached', async () => {
    const root = tempDir('budget-raise');
    dirs.push(root);
    const repo = makePlanRepo(root, PLAN);
    const cfg = OrchestratorConfigSchema.parse({
      planDir: 'plan.yaml',
      retryInterval: 0,
      maxRetries: 0,
      maxConcurrent: 1,
      budget: 0.2,
      agents: { default: { command: [CLAUDE, '-p', '{prompt}'], env: { FAKE_CLAUDE_MODE: 'ok' } } },
    });
    const first = await new Orchestrator({ repoDir: repo, config: cfg }).run();
    expect(first.exitCode).toBe(2);
    expect(first.reason).toContain('budget of $0.2 reached');

    // Without a raise, the next run halts at once.
    const again = await new Orchestrator({ repoDir: repo, config: cfg }).run();
    expect(again.exitCode).toBe(2);
    expect(repoEvents(repo).filter((e) => e.type === 'AgentSpawnRequested')).toHaveLength(2);

    const raised = orchRaiseBudget(path.join(repo, '.state'), {
      amountUsd: 0.1,
      configuredUsd: cfg.budget,
      summary: 'finish T3',
    });
    expect(raised).toMatchObject({ amountUsd: 0.1, wasExhausted: true });
    expect(raised.budgetUsd).toBe(0.3);

    const third = await new Orchestrator({ repoDir: repo, config: cfg }).run();
    expect(third.exitCode, third.reason).toBe(0);
    expect(third.status.tasks.map((t) => [t.id, t.status])).toEqual([
      ['T1', 'complete'],
      ['T2', 'complete'],
      ['T3', 'complete'],
    ]);
    const log = repoEvents(repo);
    expect(
      log.filter((e) => e.type === 'AgentSpawnRequested').map((e) => (e.data as { taskId: string }).taskId),
    ).toEqual(['T1', 'T2', 'T3']);
    // $0.3702 spent is past the raised $0.30: exhausted again, at the raised budget.
    expect(log.filter((e) => e.type === 'BudgetExhausted').map((e) => e.data)).toEqual([
      { spentUsd: 0.2468, budget: 0.2 },
      { spentUsd: 0.2468, budget: 0.2 },
      { spentUsd: 0.3702, budget: 0.3 },
    ]);
    expect(checkInvariants(log, cfg)).toEqual([]);
  }, 120_000);
});
