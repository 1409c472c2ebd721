import { describe, expect, it } from 'vitest';
import { attemptsWithinRetries } from '../../src/core/invariants.js';
import { usageTotals } from '../../src/core/usage-totals.js';
import { countedAttempts } from '../../src/machines/index.js';
import { iso, makePlan, testConfig } from './fixtures.js';
import { Sim } from './sim.js';

/** The rate-limit rule: a limited attempt does not count, and its retry waits. */

const flat = (n: number) =>
  makePlan([
    {
      id: 'M1',
      phases: [{ id: 'P1', tasks: Array.from({ length: n }, (_, i) => ({ id: `T${i + 1}` })) }],
    },
  ]);

const types = (cmds: { type: string }[]) => cmds.map((c) => c.type);

describe('rate-limited attempts', () => {
  it('do not count against maxRetries: maxRetries 0 still retries after a limit', () => {
    const sim = new Sim(flat(1), { ...testConfig, maxRetries: 0, retryInterval: 0 });
    sim.settle();
    sim
      .start('T1')
      .record('RateLimited', { spawnId: 's1', resetAt: iso(sim.now + 1000) })
      .exit('T1', 1);
    const ctx = sim.state.tasks['T1']!.context;
    expect([ctx.attempts, ctx.rateLimited, countedAttempts(ctx)]).toEqual([1, 1, 0]);
    expect(ctx.lastFailure?.kind).toBe('limit');
    expect(types(sim.perform(sim.decide()))).toEqual(['ScheduleRetry']);
    sim.now += 1000;
    expect(types(sim.perform(sim.decide()))).toEqual(['SpawnAgent']);
    // A real failure of attempt 2 uses up the single counted attempt.
    sim.start('T1').exit('T1', 1);
    const fail = sim.perform(sim.decide());
    expect(types(fail)).toEqual(['FailTask']);
    expect(fail[0]).toMatchObject({
      reason: 'retries used up after 1 attempt(s) (and 1 stopped by a rate limit); last: exit code 1',
    });
    expect(attemptsWithinRetries(sim.log.events, { ...testConfig, maxRetries: 0 })).toBeNull();
  });

  it('a repeated RateLimited for the same spawn counts once', () => {
    const sim = new Sim(flat(1));
    sim.settle();
    sim
      .start('T1')
      .record('RateLimited', { spawnId: 's1', resetAt: null })
      .record('RateLimited', { spawnId: 's1', resetAt: null });
    expect(sim.state.tasks['T1']!.context.rateLimited).toBe(1);
  });

  it('without a reset time, the retry and every other spawn wait for a doubling backoff', () => {
    const sim = new Sim(flat(2), { ...testConfig, maxConcurrent: 1, retryInterval: 1, rateLimitBackoff: 60 });
    sim.settle();
    sim.start('T1').record('RateLimited', { spawnId: 's1', resetAt: null }).exit('T1', 1);
    const t0 = sim.now;
    expect(sim.perform(sim.decide())).toEqual([
      {
        type: 'ScheduleRetry',
        taskId: 'T1',
        attempt: 2,
        notBefore: iso(t0 + 60_000),
        reason: 'stopped by a usage/rate limit (exit code 1)',
      },
    ]);
    // T2 is ready and a slot is free, but the account is limited: nothing spawns.
    sim.now = t0 + 59_999;
    expect(sim.decide()).toEqual([]);
    sim.now = t0 + 60_000;
    expect(types(sim.perform(sim.decide()))).toEqual(['SpawnAgent']);
    // The second limit of the same task waits twice as long.
    sim.start('T1').record('RateLimited', { spawnId: 's2', resetAt: null }).exit('T1', 1);
    const cmds = sim.perform(sim.decide());
    expect(cmds[0]).toMatchObject({ type: 'ScheduleRetry', attempt: 3, notBefore: iso(sim.now + 120_000) });
  });

  it('an ordinary failure still counts and waits only retryInterval', () => {
    const sim = new Sim(flat(1), { ...testConfig, maxRetries: 0, retryInterval: 5 });
    sim.settle();
    sim.start('T1').exit('T1', 1);
    expect(types(sim.perform(sim.decide()))).toEqual(['FailTask']);
  });

  it('the invariant allows limited attempts beyond maxRetries + 1 but not counted ones', () => {
    const sim = new Sim(flat(1), { ...testConfig, maxRetries: 0, retryInterval: 0 });
    sim.settle();
    sim.start('T1').exit('T1', 1);
    // Force a second spawn past the limit, as a faulty runtime might.
    sim.record('RetryScheduled', { taskId: 'T1', attempt: 2, notBefore: iso(sim.now), reason: 'x' });
    sim.record('AgentSpawnRequested', {
      spawnId: 'sx',
      taskId: 'T1',
      attempt: 2,
      role: 'implementer',
      command: ['agent'],
      workspace: '/ws',
    });
    expect(attemptsWithinRetries(sim.log.events, { ...testConfig, maxRetries: 0 })?.message).toBe(
      'task T1 was spawned for attempt 2, more than maxRetries + 1 = 1',
    );
  });
});

describe('usageTotals', () => {
  it('sums tokens and cost per task, phase, milestone and run', () => {
    const plan = makePlan([
      { id: 'M1', phases: [{ id: 'P1', tasks: [{ id: 'T1' }, { id: 'T2' }] }] },
      { id: 'M2', phases: [{ id: 'P2', deps: ['P1'], tasks: [{ id: 'T3' }] }] },
    ]);
    const sim = new Sim(plan, { ...testConfig, maxConcurrent: 3, retryInterval: 0 });
    sim.settle();
    const usage = (spawnId: string, inputTokens: number, outputTokens: number, costUsd: number) =>
      sim.record('AgentExited', {
        spawnId,
        exitCode: 1,
        signal: null,
        durationMs: 1,
        outputTail: '',
        usage: { inputTokens, outputTokens, costUsd },
      });
    sim.start('T1').start('T2');
    usage('s1', 100, 10, 0.5);
    usage('s2', 200, 20, 0.25);
    sim.settle();
    sim.start('T1');
    usage(sim.spawnOf('T1'), 1000, 100, 1);
    const totals = usageTotals(sim.state);
    expect(totals.run).toEqual({ inputTokens: 1300, outputTokens: 130, costUsd: 1.75, attempts: 4 });
    expect(totals.tasks['T1']).toEqual({ inputTokens: 1100, outputTokens: 110, costUsd: 1.5, attempts: 2 });
    expect(totals.phases['P1']).toEqual(totals.milestones['M1']);
    expect(totals.phases['P1']).toEqual(totals.run);
    expect(totals.milestones['M2']).toEqual({ inputTokens: 0, outputTokens: 0, costUsd: 0, attempts: 0 });
  });
});
