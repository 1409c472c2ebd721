import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Command } from '../../src/core/commands.js';
import { checkInvariants } from '../../src/core/invariants.js';
import { outlook } from '../../src/core/outlook.js';
import { compiledEngine, countedAttempts } from '../../src/machines/index.js';
import type { MachineEngine } from '../../src/machines/index.js';
import type { Plan } from '../../src/plan/model.js';
import { makePlan, testConfig as baseConfig } from './fixtures.js';
import { Sim } from './sim.js';
import { configArb, planArb, runDriver, stepArb } from './driver.js';

const testConfig = { ...baseConfig, maxConcurrent: 4, retryInterval: 0 };

/** One phase, one task T1 (role implementer), with `bestOf` when given. */
function planOf(bestOf?: number): Plan {
  const plan = makePlan([{ id: 'M1', phases: [{ id: 'P1', tasks: [{ id: 'T1' }] }] }]);
  return bestOf === undefined ? plan : { ...plan, tasks: plan.tasks.map((t) => ({ ...t, bestOf })) };
}

const spawns = (cmds: Command[]) =>
  cmds.flatMap((c) => (c.type === 'SpawnAgent' ? [[c.attempt, c.lane ?? null, c.lanes ?? null]] : []));
const lanesOf = (sim: Sim) => sim.state.tasks['T1']?.context.lanes ?? [];
const laneSpawn = (sim: Sim, lane: number) => lanesOf(sim).find((l) => l.lane === lane)?.spawnId ?? '';
const exitLane = (sim: Sim, lane: number, exitCode: number, costUsd = 0.1) =>
  sim.record('AgentExited', {
    spawnId: laneSpawn(sim, lane),
    exitCode,
    signal: null,
    durationMs: 5,
    outputTail: '',
    usage: { costUsd },
  });

describe('best of N in decide and the task machine', () => {
  it('spawns N lanes of one attempt, within maxConcurrent; the rest when a slot frees', () => {
    const sim = new Sim(planOf(3), { ...testConfig, maxConcurrent: 2 });
    expect(spawns(sim.settle())).toEqual([
      [1, 1, 3],
      [1, 2, 3],
    ]);
    expect(sim.state.tasks['T1']?.value).toBe('racing');
    expect(sim.state.tasks['T1']?.context.spawnId).toBeNull();
    expect(sim.decide()).toEqual([]);
    exitLane(sim, 1, 1);
    expect(spawns(sim.settle())).toEqual([[1, 3, 3]]);
    expect(lanesOf(sim).map((l) => [l.lane, l.state])).toEqual([
      [1, 'failed'],
      [2, 'running'],
      [3, 'running'],
    ]);
    expect(sim.state.agents[laneSpawn(sim, 3)]?.lane).toBe(3);
  });

  it('gates each lane that exited 0; the first gate to pass wins, the others are superseded, one merge', () => {
    const sim = new Sim(planOf(3), testConfig);
    sim.settle();
    exitLane(sim, 2, 0);
    exitLane(sim, 3, 0);
    const gates = sim.settle().filter((c) => c.type === 'RunGate');
    expect(gates.map((c) => (c.type === 'RunGate' ? c.spawnId : ''))).toEqual([
      laneSpawn(sim, 2),
      laneSpawn(sim, 3),
    ]);
    sim.record('GatePassed', { taskId: 'T1', spawnId: laneSpawn(sim, 3) });
    // Lane 2's gate passing later changes nothing.
    sim.record('GatePassed', { taskId: 'T1', spawnId: laneSpawn(sim, 2) });
    expect(sim.state.tasks['T1']?.value).toBe('awaitingMerge');
    expect(sim.state.tasks['T1']?.context.spawnId).toBe(laneSpawn(sim, 3));
    const cmds = sim.settle();
    expect(cmds.filter((c) => c.type === 'SupersedeLane')).toEqual([
      {
        type: 'SupersedeLane',
        taskId: 'T1',
        spawnId: laneSpawn(sim, 1),
        lane: 1,
        winner: laneSpawn(sim, 3),
        winnerLane: 3,
      },
      {
        type: 'SupersedeLane',
        taskId: 'T1',
        spawnId: laneSpawn(sim, 2),
        lane: 2,
        winner: laneSpawn(sim, 3),
        winnerLane: 3,
      },
    ]);
    expect(cmds.filter((c) => c.type === 'RequestMerge')).toEqual([
      { type: 'RequestMerge', taskId: 'T1', spawnId: laneSpawn(sim, 3) },
    ]);
    expect(sim.state.agents[laneSpawn(sim, 1)]?.superseded).toBe(true);
    // Superseded once: nothing more to decide about the lanes.
    expect(sim.decide().filter((c) => c.type === 'SupersedeLane')).toEqual([]);
    // The superseded lane's exit (killed) still counts in the budget.
    sim.record('AgentExited', {
      spawnId: laneSpawn(sim, 1),
      exitCode: null,
      signal: 'SIGTERM',
      durationMs: 5,
      outputTail: '',
      usage: { costUsd: 0.5 },
    });
    expect(sim.state.costUsd).toBeCloseTo(0.7, 6);
    sim.record('BranchMerged', { taskId: 'T1', spawnId: laneSpawn(sim, 3), commit: 'c1' });
    expect(sim.state.tasks['T1']?.value).toBe('complete');
    expect(checkInvariants(sim.log.events, testConfig)).toEqual([]);
  });

  it('all N lanes failing fail the attempt once, with every lane in the reason; the retry races again', () => {
    const sim = new Sim(planOf(2), { ...testConfig, maxRetries: 1 });
    sim.settle();
    exitLane(sim, 1, 1);
    expect(sim.state.tasks['T1']?.value).toBe('racing');
    sim.record('AgentLost', { spawnId: laneSpawn(sim, 2), reason: 'gone' });
    expect(sim.state.tasks['T1']?.value).toBe('retrying');
    const ctx = sim.state.tasks['T1']!.context;
    expect(countedAttempts(ctx)).toBe(1);
    expect(ctx.lastFailure).toMatchObject({
      kind: 'lanes',
      detail: 'all 2 lanes failed: lane 1: exit code 1; lane 2: agent lost: gone',
    });
    const retry = sim.settle();
    expect(retry.find((c) => c.type === 'ScheduleRetry')).toMatchObject({ attempt: 2 });
    expect(spawns(retry)).toEqual([
      [2, 1, 2],
      [2, 2, 2],
    ]);
    // A failing gate is a lane's failure too; all failed again → retries used up.
    exitLane(sim, 1, 0);
    exitLane(sim, 2, 1);
    sim.settle();
    sim.record('GateFailed', { taskId: 'T1', spawnId: laneSpawn(sim, 1), exitCode: 2, outputTail: 'x' });
    expect(sim.settle().find((c) => c.type === 'FailTask')).toMatchObject({
      reason: expect.stringMatching(
        /^retries used up after 2 attempt\(s\); last: all 2 lanes failed: lane 1: quality gate failed \(exit code 2\)/,
      ),
    });
    expect(checkInvariants(sim.log.events, { maxConcurrent: 4, maxRetries: 1 })).toEqual([]);
  });

  it("takes roles.<role>.bestOf, and the task's bestOf over it; 1 is one agent", () => {
    const roles = { implementer: { bestOf: 2 } };
    expect(spawns(new Sim(planOf(), { ...testConfig, roles }).settle())).toEqual([
      [1, 1, 2],
      [1, 2, 2],
    ]);
    expect(spawns(new Sim(planOf(3), { ...testConfig, roles }).settle())).toHaveLength(3);
    const one = new Sim(planOf(1), { ...testConfig, roles });
    expect(spawns(one.settle())).toEqual([[1, null, null]]);
    expect(one.state.tasks['T1']?.value).toBe('spawning');
  });

  it('the invariants catch a lane beyond N and a second merge of one race', () => {
    const sim = new Sim(planOf(2), testConfig);
    sim.settle();
    // A third lane of a 2-lane race.
    sim.record('AgentSpawnRequested', {
      spawnId: 'extra',
      taskId: 'T1',
      attempt: 1,
      role: 'implementer',
      command: ['a'],
      workspace: '/w',
      lane: 3,
      lanes: 2,
    });
    expect(checkInvariants(sim.log.events, testConfig, ['oneLiveAgentPerTask'])).toEqual([
      expect.objectContaining({
        invariant: 'oneLiveAgentPerTask',
        message: 'lane 3 of task T1 was spawned while 2 of its 2 lanes are live',
      }),
    ]);

    const race = new Sim(planOf(2), testConfig);
    race.settle();
    exitLane(race, 1, 0);
    exitLane(race, 2, 0);
    race.settle();
    const [s1, s2] = [laneSpawn(race, 1), laneSpawn(race, 2)];
    race.record('GatePassed', { taskId: 'T1', spawnId: s1 });
    race.record('BranchMerged', { taskId: 'T1', spawnId: s1, commit: 'c1' });
    race.record('GatePassed', { taskId: 'T1', spawnId: s2 });
    race.record('BranchMerged', { taskId: 'T1', spawnId: s2, commit: 'c2' });
    expect(checkInvariants(race.log.events, testConfig)).toEqual([]);
    // A faulty machine that lets a late lane's gate reopen a merged task is caught.
    const faulty: MachineEngine = {
      ...compiledEngine,
      task: {
        initial: (input) => compiledEngine.task.initial(input),
        step: (state, event) =>
          event.type === 'GatePassed' && state.value === 'complete'
            ? { ...state, value: 'awaitingMerge', context: { ...state.context, spawnId: event.data.spawnId } }
            : compiledEngine.task.step(state, event),
      },
    };
    expect(checkInvariants(race.log.events, testConfig, ['oneMergePerTask'], { engine: faulty })).toEqual([
      expect.objectContaining({
        invariant: 'oneMergePerTask',
        message: `task T1 was merged a second time (spawn ${s2})`,
      }),
    ]);
  });

  it('random worlds with races keep every invariant, and races happen: lanes superseded, races lost whole', () => {
    const samples = fc.sample(
      fc.record({
        plan: planArb,
        config: configArb,
        steps: fc.array(stepArb, { minLength: 50, maxLength: 200 }),
      }),
      { numRuns: 60, seed: 7 },
    );
    let superseded = 0;
    let lost = 0;
    for (const { plan, config, steps } of samples) {
      const run = runDriver(plan, config, steps);
      expect(checkInvariants(run.log, config)).toEqual([]);
      superseded += run.log.filter((e) => e.type === 'LaneSuperseded').length;
      lost += run.log.filter(
        (e) =>
          e.type === 'RetryScheduled' && String((e.data as { reason: string }).reason).startsWith('all '),
      ).length;
    }
    expect(superseded).toBeGreaterThan(0);
    expect(lost).toBeGreaterThan(0);
  });

  it('a race waiting for a slot during a rate limit sleeps until the reset instead of giving up', () => {
    const config = { ...testConfig, maxConcurrent: 1 };
    const sim = new Sim(planOf(2), config);
    expect(spawns(sim.settle())).toEqual([[1, 1, 2]]);
    const reset = new Date(sim.now + 600_000).toISOString();
    sim.record('RateLimited', { spawnId: laneSpawn(sim, 1), resetAt: reset });
    exitLane(sim, 1, 1);
    expect(sim.decide()).toEqual([]);
    const look = outlook(sim.state, sim.state.plan, config, sim.now);
    expect(look.status).toBe('busy');
    expect(look.nextWakeAt).toBe(Date.parse(reset));
    sim.now = Date.parse(reset) + 1;
    expect(spawns(sim.settle())).toEqual([[1, 2, 2]]);
  });
});
