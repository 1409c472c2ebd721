import { describe, expect, it } from 'vitest';
import { compiledEngine } from '../../src/machines/index.js';
import type { MachineEngine } from '../../src/machines/index.js';
import type { Plan } from '../../src/plan/model.js';
import { LogBuilder, T0, iso, makePlan } from './fixtures.js';
import { checkHistory } from './oracle.js';
import type { OracleConfig, OracleRule } from './oracle.js';

/** P1: T1, T2, T3 (after T1); P2 (after P1): T4. */
const plan = makePlan([
  {
    id: 'M1',
    phases: [
      { id: 'P1', tasks: [{ id: 'T1' }, { id: 'T2' }, { id: 'T3', deps: ['T1'] }] },
      { id: 'P2', deps: ['P1'], tasks: [{ id: 'T4' }] },
    ],
  },
]);
const config: OracleConfig = { maxConcurrent: 3, maxRetries: 2, retryInterval: 30 };
const s = (n: number) => T0 + n * 1000;

/** A log with the plan loaded, P1 started and T1, T2 ready. */
function started(p: Plan = plan, runConfig: Record<string, unknown> = {}): LogBuilder {
  const b = new LogBuilder();
  b.add('RunStarted', { runId: b.runId, pid: 1, startedAt: iso(T0), config: runConfig });
  b.add('PlanLoaded', { plan: p });
  b.add('PhaseUnblocked', { phaseId: 'P1' });
  b.add('PhaseStarted', { phaseId: 'P1' });
  b.add('TaskUnblocked', { taskId: 'T1', reason: 'dependencies' });
  b.add('TaskUnblocked', { taskId: 'T2', reason: 'dependencies' });
  return b;
}
const spawn = (b: LogBuilder, taskId: string, spawnId: string, attempt = 1) =>
  b.add('AgentSpawnRequested', {
    spawnId,
    taskId,
    attempt,
    role: 'implementer',
    command: ['a'],
    workspace: '/w',
  });
const exit = (b: LogBuilder, spawnId: string, exitCode: number, costUsd = 0) =>
  b.add('AgentExited', {
    spawnId,
    exitCode,
    signal: null,
    durationMs: 1,
    outputTail: '',
    usage: { costUsd },
  });
const retry = (b: LogBuilder, taskId: string, attempt: number, notBefore: number) =>
  b.add('RetryScheduled', { taskId, attempt, notBefore: iso(notBefore), reason: 'exit code 1' });
/** Runs a ready task's attempt to its merge as `commit`. */
function merge(b: LogBuilder, taskId: string, spawnId: string, commit: string): void {
  spawn(b, taskId, spawnId);
  exit(b, spawnId, 0);
  b.add('GatePassed', { taskId, spawnId });
  b.add('BranchMerged', { taskId, spawnId, commit });
}
const only = (b: LogBuilder, cfg: OracleConfig, rule: OracleRule) => checkHistory(b.events, cfg, [rule]);

describe('the property oracle catches hand-made bad histories', () => {
  it('a clean history breaks no rule', () => {
    const b = started();
    merge(b, 'T1', 's1', 'c1');
    b.add('TaskUnblocked', { taskId: 'T3', reason: 'dependencies' });
    b.now = s(40);
    spawn(b, 'T2', 's2');
    exit(b, 's2', 1);
    retry(b, 'T2', 2, s(70));
    b.now = s(70);
    spawn(b, 'T2', 's3', 2);
    spawn(b, 'T3', 's4');
    expect(checkHistory(b.events, config)).toEqual([]);
  });

  it('noSpawnPastBudget: a spawn once the spending reached the budget', () => {
    const b = started();
    spawn(b, 'T1', 's1');
    exit(b, 's1', 0, 0.5);
    spawn(b, 'T2', 's2');
    expect(only(b, { ...config, budget: 0.5 }, 'noSpawnPastBudget')).toEqual([
      {
        rule: 'noSpawnPastBudget',
        position: 9,
        message: 'agent s2 was spawned with $0.5 spent of a $0.5 budget',
      },
    ]);
    // Below the budget it is fine.
    expect(only(b, { ...config, budget: 0.75 }, 'noSpawnPastBudget')).toEqual([]);
  });

  it('noSpawnPastBudget: a spawn after BudgetExhausted, until a run raises the budget', () => {
    const b = started(plan, { budget: 0.5 });
    spawn(b, 'T1', 's1');
    exit(b, 's1', 1, 0.5);
    b.add('BudgetExhausted', { spentUsd: 0.5, budget: 0.5 });
    b.add('RunStarted', { runId: 'run-2', pid: 2, startedAt: iso(T0), config: { budget: 2 } });
    spawn(b, 'T2', 's2');
    expect(only(b, config, 'noSpawnPastBudget')).toEqual([]);
    b.add('BudgetExhausted', { spentUsd: 0.5, budget: 0.5 });
    spawn(b, 'T2', 's3');
    expect(only(b, config, 'noSpawnPastBudget')).toEqual([
      {
        rule: 'noSpawnPastBudget',
        position: 13,
        message: 'agent s3 was spawned after BudgetExhausted, before a run raised the budget',
      },
    ]);
  });

  it('noSpawnBeforeRetryTime: a retry before retryInterval after the failure, or before its notBefore', () => {
    const early = started();
    spawn(early, 'T1', 's1');
    early.now = s(5);
    exit(early, 's1', 1);
    retry(early, 'T1', 2, s(35));
    early.now = s(20);
    spawn(early, 'T1', 's2', 2);
    expect(only(early, config, 'noSpawnBeforeRetryTime')).toEqual([
      {
        rule: 'noSpawnBeforeRetryTime',
        position: 10,
        message: `agent s2 was spawned for task T1 at ${iso(s(20))}, before retryInterval after its failed attempt (${iso(s(35))})`,
      },
    ]);
    // At the retry's time it is fine.
    early.events.pop();
    early.now = s(35);
    spawn(early, 'T1', 's2', 2);
    expect(only(early, config, 'noSpawnBeforeRetryTime')).toEqual([]);
    // With no retryInterval, the recorded notBefore still holds.
    const b = started();
    spawn(b, 'T1', 's1');
    exit(b, 's1', 1);
    retry(b, 'T1', 2, s(100));
    b.now = s(50);
    spawn(b, 'T1', 's2', 2);
    expect(only(b, { ...config, retryInterval: 0 }, 'noSpawnBeforeRetryTime')[0]?.message).toBe(
      `agent s2 was spawned for task T1 at ${iso(s(50))}, before its retry's notBefore ${iso(s(100))}`,
    );
  });

  it('noSpawnBeforeRateLimitReset: any spawn before a reported reset; a retry before the backoff', () => {
    const b = started();
    spawn(b, 'T1', 's1');
    b.add('RateLimited', { spawnId: 's1', resetAt: iso(s(100)) });
    b.now = s(50);
    spawn(b, 'T2', 's2');
    expect(only(b, config, 'noSpawnBeforeRateLimitReset')).toEqual([
      {
        rule: 'noSpawnBeforeRateLimitReset',
        position: 9,
        message: `agent s2 was spawned at ${iso(s(50))}, before the rate limit resets at ${iso(s(100))}`,
      },
    ]);
    b.events.pop();
    b.now = s(100);
    spawn(b, 'T2', 's2');
    expect(only(b, config, 'noSpawnBeforeRateLimitReset')).toEqual([]);
    // No reset given: the limited attempt's retry waits rateLimitBackoff.
    const c = started();
    spawn(c, 'T1', 's1');
    c.add('RateLimited', { spawnId: 's1', resetAt: null });
    exit(c, 's1', 1);
    retry(c, 'T1', 2, s(0));
    c.now = s(10);
    spawn(c, 'T1', 's2', 2);
    const cfg = { ...config, retryInterval: 0, rateLimitBackoff: 60 };
    expect(only(c, cfg, 'noSpawnBeforeRateLimitReset')[0]?.message).toBe(
      `agent s2 was spawned for task T1 at ${iso(s(10))}, before the backoff after its rate-limited attempt (${iso(s(60))})`,
    );
    // Nor may another task start while T1's limited retry waits out its backoff.
    const g = started();
    spawn(g, 'T1', 's1');
    g.add('RateLimited', { spawnId: 's1', resetAt: null });
    exit(g, 's1', 1);
    retry(g, 'T1', 2, s(60));
    g.now = s(10);
    spawn(g, 'T2', 's2');
    expect(only(g, { ...config, rateLimitBackoff: 60 }, 'noSpawnBeforeRateLimitReset')[0]?.message).toBe(
      `agent s2 was spawned at ${iso(s(10))} while task T1 waits out a rate-limit backoff until ${iso(s(60))}`,
    );
    // The limited attempt does not count against maxRetries.
    expect(only(c, { ...cfg, maxRetries: 0 }, 'attemptsWithinRetries')).toEqual([]);
  });

  it('pullRequestAfterCi: a PR before CI passed on every merge of the milestone (only with CI configured)', () => {
    const one = makePlan([{ id: 'M1', phases: [{ id: 'P1', tasks: [{ id: 'T1' }, { id: 'T2' }] }] }]);
    const b = started(one);
    merge(b, 'T1', 's1', 'c1');
    b.add('CiCompleted', { result: 'pass', ref: 'c1' }, 'ci');
    merge(b, 'T2', 's2', 'c2');
    // A late pass of the older commit c1 says nothing about c2.
    b.add('CiCompleted', { result: 'pass', ref: 'c1' }, 'ci');
    b.add('PhaseCompleted', { phaseId: 'P1' });
    b.add('MilestoneCompleted', { milestoneId: 'M1' });
    b.add('PullRequestRequested', { milestoneId: 'M1', branch: 'milestone/M1' });
    const ci = { ...config, ci: { provider: 'external' as const } };
    expect(only(b, ci, 'pullRequestAfterCi')).toEqual([
      {
        rule: 'pullRequestAfterCi',
        position: 19,
        message:
          'the pull request of milestone M1 was requested before CI passed on the merge of task T2 (c2)',
      },
    ]);
    expect(only(b, { ...config, ci: { provider: 'none' } }, 'pullRequestAfterCi')).toEqual([]);
    // A pass on the tip (a ref that is no merge commit) covers every merge before the PR.
    const tip = b.events.slice(0, -1);
    const c = new LogBuilder();
    for (const e of tip) c.events.push(e);
    c.add('CiCompleted', { result: 'pass', ref: 'refs/heads/integration' }, 'ci');
    c.add('PullRequestRequested', { milestoneId: 'M1', branch: 'milestone/M1' });
    expect(checkHistory(c.events, ci, ['pullRequestAfterCi'])).toEqual([]);
  });

  it('spawnOnlyWhenReady: a task of a started phase a revision made wait, or before its dependencies', () => {
    const b = started();
    spawn(b, 'T3', 's1');
    expect(only(b, config, 'spawnOnlyWhenReady')[0]?.message).toBe(
      'agent s1 was spawned for task T3 before its dependencies T1 completed',
    );
    const two = (deps: string[]) =>
      makePlan([
        {
          id: 'M1',
          phases: [
            { id: 'P1', tasks: [{ id: 'T1' }] },
            { id: 'P2', deps, tasks: [{ id: 'T2' }, { id: 'T4' }] },
          ],
        },
      ]);
    const r = new LogBuilder();
    r.add('RunStarted', { runId: r.runId, pid: 1, startedAt: iso(T0), config: {} });
    r.add('PlanLoaded', { plan: two([]) });
    r.add('PhaseUnblocked', { phaseId: 'P2' });
    r.add('PhaseStarted', { phaseId: 'P2' });
    r.add('TaskUnblocked', { taskId: 'T2', reason: 'dependencies' });
    r.add('TaskUnblocked', { taskId: 'T4', reason: 'dependencies' });
    spawn(r, 'T2', 's1');
    r.add('PlanRevised', { plan: two(['P1']), diff: { added: [], removed: [], changed: ['P2'] } });
    spawn(r, 'T4', 's2');
    expect(only(r, config, 'spawnOnlyWhenReady')).toEqual([
      {
        rule: 'spawnOnlyWhenReady',
        position: 9,
        message: 'agent s2 was spawned for task T4 while its phase P2 is blocked (it waits for P1)',
      },
    ]);
  });

  it('oneLiveAgentPerTask, maxConcurrent, attemptsWithinRetries', () => {
    const b = started();
    spawn(b, 'T1', 's1');
    spawn(b, 'T1', 's2', 2);
    expect(only(b, config, 'oneLiveAgentPerTask')?.[0]?.position).toBe(8);
    const c = started();
    spawn(c, 'T1', 's1');
    spawn(c, 'T2', 's2');
    expect(only(c, { ...config, maxConcurrent: 1 }, 'maxConcurrent')[0]?.message).toBe(
      'spawning agent s2 made 2 agents live, more than maxConcurrent 1',
    );
    const d = started();
    spawn(d, 'T1', 's1');
    exit(d, 's1', 1);
    retry(d, 'T1', 2, T0);
    spawn(d, 'T1', 's2', 2);
    expect(only(d, { ...config, maxRetries: 0 }, 'attemptsWithinRetries')[0]?.message).toBe(
      'task T1 was spawned for attempt 2 (0 stopped by a rate limit), more than maxRetries + 1 = 1',
    );
  });

  it('staleReportsChangeNothing and foldAgreesWithModel: hold for the real fold, catch a fold that obeys stale outcomes', () => {
    const b = started();
    spawn(b, 'T1', 's1');
    exit(b, 's1', 1);
    retry(b, 'T1', 2, T0);
    spawn(b, 'T1', 's2', 2);
    exit(b, 's2', 0);
    b.add('GateFailed', { taskId: 'T1', spawnId: 's1', exitCode: 1, outputTail: 'late result for s1' });
    const rules: OracleRule[] = ['staleReportsChangeNothing', 'foldAgreesWithModel'];
    expect(checkHistory(b.events, config, rules)).toEqual([]);
    // A faulty task stepper that ignores which spawn a gate outcome is for.
    const faulty: MachineEngine = {
      ...compiledEngine,
      task: {
        initial: (input) => compiledEngine.task.initial(input),
        step: (state, event) =>
          event.type === 'GateFailed'
            ? compiledEngine.task.step(
                { ...state, context: { ...state.context, spawnId: event.data.spawnId } },
                event,
              )
            : compiledEngine.task.step(state, event),
      },
    };
    expect(checkHistory(b.events, config, rules, faulty)).toEqual([
      {
        rule: 'staleReportsChangeNothing',
        position: 12,
        message: 'stale report GateFailed for spawn s1 changed the state',
      },
      {
        rule: 'foldAgreesWithModel',
        position: 12,
        message: 'after GateFailed: task T1 is retrying in the fold, gate in the model',
      },
    ]);
  });
});
