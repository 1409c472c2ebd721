import { describe, expect, it } from 'vitest';
import { decide } from '../../src/core/decide.js';
import { replay } from '../../src/core/replayer.js';
import { effectiveBudget } from '../../src/core/state.js';
import { LogBuilder, T0, makePlan, testConfig } from './fixtures.js';

/**
 * `BudgetRaised`: a person's raise adds to the configured budget; a run halted by
 * `BudgetExhausted` spawns again until the raised budget is reached, then halts again.
 */

const config = { ...testConfig, maxConcurrent: 1, budget: 1 };

/** T1 spent $1.20 (over the $1 budget, so the run halted); T2 is ready. */
function spentRun(): LogBuilder {
  const plan = makePlan([{ id: 'M1', phases: [{ id: 'S1', tasks: [{ id: 'T1' }, { id: 'T2' }] }] }]);
  const b = new LogBuilder();
  b.add('PlanLoaded', { plan });
  b.add('PhaseUnblocked', { phaseId: 'S1' });
  b.add('TaskUnblocked', { taskId: 'T1', reason: 'dependencies' });
  b.add('TaskUnblocked', { taskId: 'T2', reason: 'dependencies' });
  b.add('AgentSpawnRequested', {
    spawnId: 's1',
    taskId: 'T1',
    attempt: 1,
    role: 'dev',
    command: ['a'],
    workspace: '/w',
  });
  b.add('AgentStarted', { spawnId: 's1', pid: 11, pidStartTime: 1, startedAt: 'now' });
  b.add('AgentExited', {
    spawnId: 's1',
    exitCode: 0,
    signal: null,
    durationMs: 1,
    outputTail: '',
    usage: { costUsd: 1.2 },
  });
  b.add('BudgetExhausted', { spentUsd: 1.2, budget: 1 });
  return b;
}

const spawns = (b: LogBuilder) => {
  const state = replay(b.events);
  return decide(state, state.plan, config, T0).filter(
    (c) => c.type === 'SpawnAgent' || c.type === 'HaltForBudget',
  );
};

describe('BudgetRaised', () => {
  it('lets a run halted by the budget spawn again, until the raised budget is reached', () => {
    const b = spentRun();
    expect(spawns(b)).toEqual([]);
    expect(replay(b.events).budgetExhausted).not.toBeNull();

    b.add('BudgetRaised', { amountUsd: 0.1, reason: 'a little more' }, 'user');
    // $1.10 is still below what was spent: halted again (a fresh BudgetExhausted at the raised budget).
    expect(spawns(b)).toEqual([{ type: 'HaltForBudget', spentUsd: 1.2, budget: 1.1 }]);

    b.add('BudgetRaised', { amountUsd: 2 }, 'user');
    const state = replay(b.events);
    expect(state.budgetRaisedUsd).toBe(2.1);
    expect(state.budgetExhausted).toBeNull();
    expect(effectiveBudget(state, config.budget)).toBe(3.1);
    expect(spawns(b)).toEqual([expect.objectContaining({ type: 'SpawnAgent', taskId: 'T2', attempt: 1 })]);
  });

  it('carries over to a new run (RunStarted judges the budget afresh, raises included)', () => {
    const b = spentRun();
    b.add('BudgetRaised', { amountUsd: 5 }, 'user');
    b.add('RunStarted', { runId: 'run-2', pid: 2, startedAt: 'now', config: {} });
    expect(spawns(b)).toEqual([expect.objectContaining({ type: 'SpawnAgent', taskId: 'T2' })]);
  });

  it('changes nothing without a configured budget', () => {
    expect(effectiveBudget({ budgetRaisedUsd: 5 }, undefined)).toBeUndefined();
    expect(effectiveBudget({}, 2)).toBe(2);
  });
});
