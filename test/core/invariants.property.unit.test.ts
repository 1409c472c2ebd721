import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkInvariants } from '../../src/core/invariants.js';
import { Replayer } from '../../src/core/replayer.js';
import { evolve, stateAt } from '../../src/core/evolve.js';
import { initialState, isLiveAgent } from '../../src/core/state.js';
import { decide } from '../../src/core/decide.js';
import { outlook } from '../../src/core/outlook.js';
import { TaskIndex } from '../../src/core/task-index.js';
import { configArb, planArb, runDriver, stepArb } from './driver.js';
import { checkHistory } from './oracle.js';

// PROPERTY_RUNS=2000 searches deeper (locally); the default keeps the suite quick.
const runs = { numRuns: Number(process.env['PROPERTY_RUNS'] ?? 100) };
/** Every kind of step the random runs must reach, together (rarer ones, like `revise:readd`, are only counted). */
const KINDS = [
  'revise:add',
  'revise:remove',
  'revise:removeRunning',
  'revise:block',
  'ci:pass',
  'ci:fail',
  'ci:latestCommit',
  'ci:olderCommit',
  'ci:unknownCommit',
  'budget:raise',
  'budget:exhausted',
  'wait:retry',
  'wait:rateLimit',
  'pr:afterCi',
  'pr:opened',
];
/** True when no task races several lanes (`bestOf` > 1): the plans the oracle can judge. */
function racesFree(plan: { tasks: readonly { bestOf?: number }[] }): boolean {
  return plan.tasks.every((t) => (t.bestOf ?? 1) <= 1);
}

const scenario = fc.record({
  plan: planArb,
  config: configArb,
  steps: fc.array(stepArb, { minLength: 20, maxLength: 200 }),
});

describe('invariants hold under random plans and random outside events', () => {
  it('every invariant holds on the log the driver produced, judged by the independent oracle', () => {
    const tally = new Map<string, number>();
    fc.assert(
      fc.property(scenario, fc.nat({ max: 2 }), ({ plan, config, steps }, policy) => {
        const run = runDriver(plan, config, steps, policy === 0 ? 'random' : 'mixed');
        for (const kind of run.reached) tally.set(kind, (tally.get(kind) ?? 0) + 1);
        // The oracle models one agent per attempt: best-of-N races (lanes) are judged by src's
        // invariants here and by test/core/best-of.unit.test.ts, not by the oracle.
        if (racesFree(plan)) expect(checkHistory(run.log, config)).toEqual([]);
        else tally.set('bestOf (oracle not applied)', (tally.get('bestOf (oracle not applied)') ?? 0) + 1);
        // src's own invariants (what `orch replay --verify` checks) hold too.
        expect(checkInvariants(run.log, config)).toEqual([]);
      }),
      runs,
    );
    // How many runs reached each kind of step (printed so a run shows what it exercised).
    const counts = Object.fromEntries(
      [...new Set([...KINDS, ...tally.keys()])].sort().map((k) => [k, tally.get(k) ?? 0]),
    );
    console.log(`runs reaching each kind of step (of ${runs.numRuns}):`, counts);
    expect(KINDS.filter((k) => (tally.get(k) ?? 0) === 0)).toEqual([]);
  }, 180_000);

  it('replaying the log gives the live state, at every prefix, byte for byte (Replayer and evolve)', () => {
    fc.assert(
      fc.property(scenario, fc.nat(), ({ plan, config, steps }, cut) => {
        const run = runDriver(plan, config, steps);
        // The fast Replayer at every prefix equals what was live at that point.
        const replayer = new Replayer();
        run.log.forEach((event, i) => {
          replayer.apply(event);
          expect(JSON.stringify(replayer.state)).toBe(run.states[i]);
        });
        // The pure fold from scratch, twice: byte-identical and equal to the live state.
        const again = JSON.stringify(run.log.reduce(evolve, initialState()));
        expect(again).toBe(JSON.stringify(run.final));
        expect(JSON.parse(again)).toEqual(run.final);
        // Any prefix through the pure fold.
        const p = (cut % run.log.length) + 1;
        expect(JSON.stringify(stateAt(run.log, p))).toBe(run.states[p - 1]);
      }),
      { numRuns: 40 },
    );
  });

  it('the live agents and the task index a Replayer keeps are what a walk over the state finds, and decide and outlook given them decide the same', () => {
    fc.assert(
      fc.property(scenario, fc.nat(), ({ plan, config, steps }, pick) => {
        const run = runDriver(plan, config, steps, 'mixed');
        const replayer = new Replayer();
        let compared = 0;
        run.log.forEach((event, i) => {
          replayer.apply(event);
          const state = replayer.state;
          const walked = Object.values(state.agents)
            .filter(isLiveAgent)
            .map((a) => a.spawnId)
            .sort();
          expect([...replayer.liveAgents].sort()).toEqual(walked);
          // The task index kept event by event is the one built from the state now.
          const fresh = new TaskIndex(state);
          const kept = replayer.taskIndex;
          expect([...kept.active].sort()).toEqual([...fresh.active].sort());
          expect([...kept.failed].sort()).toEqual([...fresh.failed].sort());
          expect(kept.ready).toEqual(fresh.ready);
          expect(kept.completeCount).toBe(fresh.completeCount);
          expect(kept.maxReadyCounted()).toBe(fresh.maxReadyCounted());
          // Every few events: decide and outlook with and without the kept set, also narrowed
          // to some tasks (`orch spawn T1 T2`) and as a worker (`self`).
          if ((i + pick) % 3 !== 0 || state.plan === null) return;
          compared += 1;
          const now = Date.parse(event.recordedAt) + (pick % 3) * 90_000;
          const ids = state.plan.tasks.map((t) => t.id);
          const tasks = ids.filter((_, k) => (k + pick) % 2 === 0);
          const self = state.run?.runId;
          for (const options of [{}, { tasks }, ...(self === undefined ? [] : [{ self }])]) {
            const live = { ...options, live: replayer.liveAgents, taskIndex: replayer.taskIndex };
            expect(decide(state, state.plan, config, now, live)).toEqual(
              decide(state, state.plan, config, now, options),
            );
            expect(outlook(state, state.plan, config, now, live)).toEqual(
              outlook(state, state.plan, config, now, options),
            );
          }
        });
        expect(compared).toBeGreaterThan(0);
      }),
      { numRuns: 60 },
    );
  });

  it('a cooperative world finishes every plan: all tasks, phases and milestones (but empty ones) complete, each PR once', () => {
    fc.assert(
      fc.property(planArb, configArb, (plan, config) => {
        const cfg = { ...config, budget: undefined };
        const steps = Array.from({ length: 400 }, () => ({ kind: 0, pick: 0, code: 0, dt: 60, keep: 99 }));
        const run = runDriver(plan, cfg, steps, 'cooperative');
        const s = run.final;
        expect(Object.values(s.tasks).map((t) => t.value)).toEqual(plan.tasks.map(() => 'complete'));
        expect(Object.values(s.phases).every((p) => p.value === 'complete')).toBe(true);
        // A milestone with no phases has nothing done: it stays open (unless the plan says complete).
        const expected = plan.milestones.map((m) =>
          m.status === 'complete'
            ? 'complete'
            : m.phases.length === 0
              ? 'open'
              : cfg.autoMerge
                ? 'prOpened'
                : 'complete',
        );
        expect(Object.values(s.milestones).map((m) => m.value)).toEqual(expected);
        expect(checkInvariants(run.log, cfg)).toEqual([]);
        if (racesFree(plan)) expect(checkHistory(run.log, cfg)).toEqual([]);
        expect(run.ticks.at(-1)).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });
});
