import { describe, expect, it } from 'vitest';
import type { Command } from '../../src/core/commands.js';
import { decide } from '../../src/core/decide.js';
import { pendingIntents } from '../../src/core/pending-intents.js';
import { initialState } from '../../src/core/state.js';
import { iso, makePlan, testConfig } from './fixtures.js';
import { Sim } from './sim.js';

const spawnsOf = (cmds: Command[]) => cmds.filter((c) => c.type === 'SpawnAgent').map((c) => c.taskId);
const types = (cmds: Command[]) => cmds.map((c) => c.type);

const flat = (n: number) =>
  makePlan([
    { id: 'M1', phases: [{ id: 'P1', tasks: Array.from({ length: n }, (_, i) => ({ id: `T${i + 1}` })) }] },
  ]);

describe('decide', () => {
  it('returns nothing without a plan', () => {
    expect(decide(initialState(), null, testConfig, 0)).toEqual([]);
  });

  it('unblocks phases, then tasks, then spawns in priority order: bootstrap, priority, critical path, natural id', () => {
    const plan = makePlan([
      {
        id: 'M1',
        phases: [
          { id: 'A', tasks: [{ id: 'T10' }, { id: 'T2' }, { id: 'T3' }, { id: 'T4', deps: ['T3'] }] },
          { id: 'B', priority: 'priority', tasks: [{ id: 'T20' }] },
          { id: 'C', priority: 'bootstrap', tasks: [{ id: 'T30' }] },
        ],
      },
    ]);
    const sim = new Sim(plan, { ...testConfig, maxConcurrent: 10 });
    expect(types(sim.perform(sim.decide()))).toEqual(['UnblockPhase', 'UnblockPhase', 'UnblockPhase']);
    const unblock = sim.perform(sim.decide());
    expect(unblock.every((c) => c.type === 'UnblockTask')).toBe(true);
    expect(unblock.map((c) => ('taskId' in c ? c.taskId : ''))).toEqual(['T30', 'T20', 'T3', 'T2', 'T10']);
    const spawn = sim.decide();
    // T3 heads a chain of two (T3 → T4): it goes before T2 and T10; T2 before T10 (natural order).
    expect(spawnsOf(spawn)).toEqual(['T30', 'T20', 'T3', 'T2', 'T10']);
    // Each phase is started once, just before its first spawn.
    expect(types(spawn).slice(0, 4)).toEqual(['StartPhase', 'SpawnAgent', 'StartPhase', 'SpawnAgent']);
    expect(spawn.filter((c) => c.type === 'StartPhase')).toHaveLength(3);
  });

  it('never spawns more than maxConcurrent live agents, counting those already live', () => {
    const sim = new Sim(flat(5), { ...testConfig, maxConcurrent: 2 });
    const first = sim.settle();
    expect(spawnsOf(first)).toEqual(['T1', 'T2']);
    expect(sim.decide()).toEqual([]);
    sim.start('T1').exit('T1', 1);
    // T1's attempt failed: its retry is planned, and one slot is free for T3.
    const next = sim.decide();
    expect(types(next)).toEqual(['ScheduleRetry', 'SpawnAgent']);
    expect(spawnsOf(next)).toEqual(['T3']);
  });

  it('waits for retryInterval before the next attempt (now < notBefore → no spawn)', () => {
    const sim = new Sim(flat(1), { ...testConfig, retryInterval: 30 });
    sim.settle();
    sim.start('T1').exit('T1', 2);
    const [retry] = sim.perform(sim.decide());
    expect(retry).toEqual({
      type: 'ScheduleRetry',
      taskId: 'T1',
      attempt: 2,
      notBefore: iso(sim.now + 30_000),
      reason: 'exit code 2',
    });
    sim.now += 29_999;
    expect(sim.decide()).toEqual([]);
    sim.now += 1;
    expect(sim.decide()).toEqual([
      { type: 'SpawnAgent', taskId: 'T1', phaseId: 'P1', attempt: 2, role: 'implementer' },
    ]);
  });

  it('fails a task once maxRetries + 1 attempts are used up', () => {
    const sim = new Sim(flat(1), { ...testConfig, maxRetries: 1, retryInterval: 0 });
    sim.settle();
    sim.start('T1').exit('T1', 1);
    sim.settle();
    expect(sim.state.tasks['T1']?.context.attempts).toBe(2);
    sim.start('T1').exit('T1', 1);
    expect(sim.decide()).toEqual([
      { type: 'FailTask', taskId: 'T1', reason: 'retries used up after 2 attempt(s); last: exit code 1' },
    ]);
    sim.settle();
    expect(sim.state.tasks['T1']?.value).toBe('failed');
    expect(sim.decide()).toEqual([]);
  });

  it('runs the gate (configured command or null), then requests the merge, then completes phase and milestone', () => {
    const sim = new Sim(flat(1), { ...testConfig, gate: { command: ['npm', 'test'] }, autoMerge: true });
    sim.settle();
    sim.start('T1').exit('T1', 0);
    expect(sim.decide()).toEqual([
      { type: 'RunGate', taskId: 'T1', spawnId: 's1', command: ['npm', 'test'] },
    ]);
    sim.settle();
    sim.record('GatePassed', { taskId: 'T1', spawnId: 's1' });
    expect(sim.decide()).toEqual([{ type: 'RequestMerge', taskId: 'T1', spawnId: 's1' }]);
    sim.settle();
    expect(sim.decide()).toEqual([]); // merge in flight: nothing is repeated
    sim.record('BranchMerged', { taskId: 'T1', spawnId: 's1', commit: 'abc' });
    expect(types(sim.settle())).toEqual(['CompletePhase', 'CompleteMilestone', 'RequestPullRequest']);
    expect(sim.decide()).toEqual([]); // the pull request is requested once
    expect(pendingIntents(sim.state).pullRequests).toEqual([{ milestoneId: 'M1', branch: 'milestone/M1' }]);
    sim.config = { ...sim.config, gate: undefined };
    expect(decide(sim.state, sim.state.plan, sim.config, sim.now)).toEqual([]);
  });

  it('never completes a milestone with no phases, nor asks for its pull request', () => {
    const plan = makePlan([
      { id: 'M1', phases: [{ id: 'P1', tasks: [] }] },
      { id: 'M2', phases: [] },
    ]);
    const sim = new Sim(plan, { ...testConfig, autoMerge: true });
    const cmds = sim.settle();
    expect(cmds.filter((c) => c.type === 'CompleteMilestone')).toEqual([
      { type: 'CompleteMilestone', milestoneId: 'M1' },
    ]);
    expect(cmds.filter((c) => c.type === 'RequestPullRequest')).toEqual([
      { type: 'RequestPullRequest', milestoneId: 'M1' },
    ]);
    expect(sim.state.milestones['M2']?.value).toBe('open');
  });

  it('asks for no pull request without autoMerge, nor for a milestone the plan marks complete', () => {
    const plan = makePlan([
      { id: 'M1', phases: [{ id: 'P1', tasks: [] }] },
      { id: 'M2', status: 'complete', phases: [{ id: 'P2', status: 'complete', tasks: [{ id: 'T1' }] }] },
    ]);
    const off = new Sim(plan, { ...testConfig, autoMerge: false });
    expect(types(off.settle())).toEqual(['UnblockPhase', 'CompletePhase', 'CompleteMilestone']);
    const on = new Sim(plan, { ...testConfig, autoMerge: true });
    const cmds = on.settle();
    expect(cmds.filter((c) => c.type === 'RequestPullRequest')).toEqual([
      { type: 'RequestPullRequest', milestoneId: 'M1' },
    ]);
    expect(on.state.tasks['T1']?.value).toBe('complete');
  });

  it('keeps a phase blocked until the phases it depends on complete, and tasks pending until their dependencies do', () => {
    const plan = makePlan([
      {
        id: 'M1',
        phases: [
          { id: 'P1', tasks: [{ id: 'T1' }, { id: 'T2', deps: ['T1'] }] },
          { id: 'P2', deps: ['P1'], tasks: [{ id: 'T3' }] },
        ],
      },
    ]);
    const sim = new Sim(plan, { ...testConfig, maxConcurrent: 5 });
    expect(spawnsOf(sim.settle())).toEqual(['T1']);
    expect(sim.state.phases['P2']?.value).toBe('blocked');
    sim.finish('T1');
    expect(spawnsOf(sim.settle())).toEqual(['T2']);
    sim.finish('T2');
    const after = sim.settle();
    expect(types(after)).toEqual([
      'CompletePhase',
      'UnblockPhase',
      'UnblockTask',
      'StartPhase',
      'SpawnAgent',
    ]);
  });

  it('treats a task dependency on a phase id as waiting for that whole phase', () => {
    const plan = makePlan([
      {
        id: 'M1',
        phases: [
          { id: 'P1', tasks: [{ id: 'T1' }] },
          { id: 'P2', tasks: [{ id: 'T2', deps: ['P1'] }] },
        ],
      },
    ]);
    const sim = new Sim(plan, { ...testConfig, maxConcurrent: 5 });
    expect(spawnsOf(sim.settle())).toEqual(['T1']);
    sim.finish('T1');
    expect(types(sim.settle())).toEqual(['CompletePhase', 'UnblockTask', 'StartPhase', 'SpawnAgent']);
  });

  it('waits on CI for a task blocked on ci: only a result recorded after the block counts', () => {
    const sim = new Sim(flat(1));
    sim.settle();
    sim.record('CiCompleted', { result: 'fail' });
    sim
      .start('T1')
      .record('BreakpointReported', { spawnId: 's1', kind: 'blocked', on: ['ci'], summary: 'need CI' });
    sim.exit('T1', 0);
    expect(sim.state.tasks['T1']?.value).toBe('blocked');
    expect(sim.decide()).toEqual([]);
    sim.record('CiCompleted', { result: 'pass' }, 'ci');
    expect(sim.perform(sim.decide())).toEqual([{ type: 'UnblockTask', taskId: 'T1', reason: 'ci' }]);
    expect(sim.decide()).toEqual([
      { type: 'SpawnAgent', taskId: 'T1', phaseId: 'P1', attempt: 2, role: 'implementer' },
    ]);
  });

  it('does not spawn afresh while the blocked agent is still live, and never unblocks a wait on a person', () => {
    const plan = makePlan([{ id: 'M1', phases: [{ id: 'P1', tasks: [{ id: 'T1' }, { id: 'T2' }] }] }]);
    const sim = new Sim(plan, { ...testConfig, maxConcurrent: 1 });
    sim.settle();
    sim.start('T1').record('BreakpointReported', { spawnId: 's1', kind: 'blocked', on: ['person'] });
    expect(sim.decide()).toEqual([]);
    sim.record('TaskUnblocked', { taskId: 'T1', reason: 'person' }, 'user');
    expect(sim.decide()).toEqual([]); // s1 is still live: no second agent, no free slot
    sim.exit('T1', 0);
    expect(spawnsOf(sim.decide())).toEqual(['T1']);
  });

  it('after a restart, waits for unresolved agents instead of spawning a second one', () => {
    const sim = new Sim(flat(1));
    sim.settle();
    sim.start('T1').restart();
    expect(pendingIntents(sim.state).agents.map((a) => a.spawnId)).toEqual(['s1']);
    expect(sim.decide()).toEqual([]);
    sim.record('AgentLost', { spawnId: 's1', reason: 'pid 4000 is gone' });
    expect(pendingIntents(sim.state).agents).toEqual([]);
    expect(types(sim.settle())).toEqual(['ScheduleRetry']);
  });

  it('spawns nothing once the budget is spent, and halts once', () => {
    const sim = new Sim(flat(3), { ...testConfig, maxConcurrent: 1, budget: 1 });
    sim.settle();
    sim.start('T1').exit('T1', 1, 1.5);
    const cmds = sim.perform(sim.decide());
    expect(types(cmds)).toEqual(['HaltForBudget', 'ScheduleRetry']);
    expect(cmds[0]).toEqual({ type: 'HaltForBudget', spentUsd: 1.5, budget: 1 });
    sim.now += 3_600_000;
    expect(sim.decide()).toEqual([]);
  });

  it('spawns nothing before a rate limit resets, and plans retries after it', () => {
    const sim = new Sim(flat(2), { ...testConfig, maxConcurrent: 1, retryInterval: 1 });
    sim.settle();
    const reset = sim.now + 600_000;
    sim
      .start('T1')
      .record('RateLimited', { spawnId: 's1', resetAt: iso(reset) })
      .exit('T1', 1);
    expect(sim.perform(sim.decide())).toEqual([
      {
        type: 'ScheduleRetry',
        taskId: 'T1',
        attempt: 2,
        notBefore: iso(reset),
        reason: 'stopped by a usage/rate limit (exit code 1)',
      },
    ]);
    sim.now = reset - 1;
    expect(sim.decide()).toEqual([]);
    sim.now = reset;
    expect(spawnsOf(sim.decide())).toEqual(['T1']);
  });

  it('spawns only the named tasks when asked to', () => {
    const sim = new Sim(flat(3), { ...testConfig, maxConcurrent: 3 });
    expect(spawnsOf(sim.settle({ tasks: ['T3'] }))).toEqual(['T3']);
  });

  it('blocks a ready phase again when a revised plan gives it an unfinished dependency', () => {
    const plan = makePlan([
      {
        id: 'M1',
        phases: [
          { id: 'P1', tasks: [{ id: 'T1' }] },
          { id: 'P2', tasks: [{ id: 'T2' }] },
        ],
      },
    ]);
    const sim = new Sim(plan, { ...testConfig, maxConcurrent: 1 });
    sim.perform(sim.decide());
    expect(sim.state.phases['P2']?.value).toBe('ready');
    const revised = makePlan([
      {
        id: 'M1',
        phases: [
          { id: 'P1', tasks: [{ id: 'T1' }] },
          { id: 'P2', deps: ['P1'], tasks: [{ id: 'T2' }] },
        ],
      },
    ]);
    sim.record('PlanRevised', { plan: revised, diff: { added: [], removed: [], changed: ['P2'] } });
    expect(sim.decide()).toContainEqual({ type: 'BlockPhase', phaseId: 'P2', reason: 'waits for phase P1' });
  });

  it('spawns nothing more in a started phase a revised plan gave an unfinished dependency (found by the property test)', () => {
    const phases = (p2deps: string[]) =>
      makePlan([
        {
          id: 'M1',
          phases: [
            { id: 'P1', tasks: [{ id: 'T1' }] },
            { id: 'P2', deps: p2deps, tasks: [{ id: 'T2' }, { id: 'T3', deps: ['T2'] }, { id: 'T4' }] },
          ],
        },
      ]);
    const sim = new Sim(phases([]), { ...testConfig, maxConcurrent: 2 });
    expect(spawnsOf(sim.settle())).toEqual(['T2', 'T1']);
    expect(sim.state.phases['P2']?.value).toBe('in_progress');
    // P2 now waits for P1 (T1 still running): a free slot must not go to T2's retry or T4.
    sim.record('PlanRevised', { plan: phases(['P1']), diff: { added: [], removed: [], changed: ['P2'] } });
    sim.exit('T2', 1);
    sim.settle();
    sim.now += 60_000;
    expect(spawnsOf(sim.settle())).toEqual([]);
    expect(sim.state.phases['P2']?.value).toBe('in_progress');
    sim.finish('T1');
    expect(spawnsOf(sim.settle())).toEqual(['T2', 'T4']);
  });

  it('does not spawn in a ready phase in the tick that blocks it again', () => {
    const two = (deps: string[]) =>
      makePlan([
        {
          id: 'M1',
          phases: [
            { id: 'P1', tasks: [{ id: 'T1' }, { id: 'T2' }] },
            { id: 'P2', deps, tasks: [{ id: 'T3' }] },
          ],
        },
      ]);
    const sim = new Sim(two([]), { ...testConfig, maxConcurrent: 1 });
    expect(spawnsOf(sim.settle())).toEqual(['T1']);
    expect(sim.state.phases['P2']?.value).toBe('ready');
    sim.record('PlanRevised', { plan: two(['P1']), diff: { added: [], removed: [], changed: ['P2'] } });
    sim.config = { ...sim.config, maxConcurrent: 3 };
    const cmds = sim.decide();
    expect(cmds).toContainEqual({ type: 'BlockPhase', phaseId: 'P2', reason: 'waits for phase P1' });
    expect(spawnsOf(cmds)).toEqual(['T2']);
  });
});
