import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MachineSpecError, compileMachine, compiledEngine, xstateEngine } from '../../src/machines/index.js';
import type {
  MachineEventBase,
  MachineSpec,
  MachineState,
  TaskMachineEvent,
} from '../../src/machines/index.js';

const at = (type: string, data: Record<string, unknown>, position = 1): TaskMachineEvent =>
  ({ type, data, position, recordedAt: '2025-01-01T00:00:00.000Z' }) as TaskMachineEvent;

/** A random task event: right or wrong spawn ids and attempt numbers, any exit code, any breakpoint. */
const taskEventArb = fc
  .record({
    type: fc.constantFrom(
      'TaskUnblocked',
      'AgentSpawnRequested',
      'AgentStarted',
      'AgentExited',
      'AgentLost',
      'AgentSpawnFailed',
      'BreakpointReported',
      'GateStarted',
      'GatePassed',
      'GateFailed',
      'MergeRequested',
      'BranchMerged',
      'MergeConflicted',
      'MergeAbandoned',
      'RetryScheduled',
      'TaskCompleted',
      'TaskFailed',
      'TaskCancelled',
      'SomethingElse',
    ),
    spawn: fc.nat({ max: 4 }),
    attempt: fc.nat({ max: 4 }),
    code: fc.integer({ min: -1, max: 2 }),
    kind: fc.constantFrom('complete', 'blocked', 'pr'),
    position: fc.nat({ max: 1000 }),
  })
  .map(({ type, spawn, attempt, code, kind, position }) =>
    at(
      type,
      {
        spawnId: `s${spawn}`,
        attempt,
        exitCode: code < 0 ? null : code,
        signal: code < 0 ? 'SIGTERM' : null,
        kind,
        on: spawn % 2 ? ['ci'] : [],
        summary: `sum${spawn}`,
        url: 'https://x',
        reason: 'r',
        error: 'e',
        commit: 'c',
        files: ['f'],
        notBefore: '2025-01-01T00:10:00.000Z',
      },
      position,
    ),
  );

describe('the compiled stepper agrees with XState', () => {
  it('on random task event sequences, state by state, byte for byte', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(taskEventArb, { maxLength: 60 }), (declared, events) => {
        const input = { taskId: 'T1', declaredComplete: declared };
        let a: MachineState<unknown> = xstateEngine.task.initial(input);
        let b: MachineState<unknown> = compiledEngine.task.initial(input);
        expect(JSON.stringify(b)).toBe(JSON.stringify(a));
        for (const e of events) {
          a = xstateEngine.task.step(a as never, e);
          b = compiledEngine.task.step(b as never, e);
          expect(JSON.stringify(b)).toBe(JSON.stringify(a));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('on random phase and milestone event sequences', () => {
    const phaseTypes = ['PhaseUnblocked', 'PhaseBlocked', 'PhaseStarted', 'PhaseCompleted', 'Other'];
    const milestoneTypes = ['MilestoneCompleted', 'PullRequestRequested', 'PullRequestOpened', 'Other'];
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(fc.nat({ max: 4 }), { maxLength: 20 }),
        fc.array(fc.nat({ max: 3 }), { maxLength: 20 }),
        (declared, ps, ms) => {
          let a = xstateEngine.phase.initial({ phaseId: 'P', declaredComplete: declared });
          let b = compiledEngine.phase.initial({ phaseId: 'P', declaredComplete: declared });
          for (const [i, n] of ps.entries()) {
            const e = { ...at(phaseTypes[n]!, { phaseId: 'P', reason: 'r' }), recordedAt: `t${i}` } as never;
            a = xstateEngine.phase.step(a, e);
            b = compiledEngine.phase.step(b, e);
            expect(b).toEqual(a);
          }
          let c = xstateEngine.milestone.initial({ milestoneId: 'M', declaredComplete: declared });
          let d = compiledEngine.milestone.initial({ milestoneId: 'M', declaredComplete: declared });
          for (const n of ms) {
            const e = at(milestoneTypes[n]!, { milestoneId: 'M', branch: 'b', url: 'u' }) as never;
            c = xstateEngine.milestone.step(c, e);
            d = compiledEngine.milestone.step(d, e);
            expect(d).toEqual(c);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('returns the same state object when an event changes nothing', () => {
    const s = compiledEngine.task.initial({ taskId: 'T1', declaredComplete: false });
    expect(compiledEngine.task.step(s, at('AgentExited', { spawnId: 'nobody', exitCode: 0 }))).toBe(s);
    expect(xstateEngine.task.step(s, at('AgentExited', { spawnId: 'nobody', exitCode: 0 }))).toBe(s);
  });
});

describe('compileMachine refuses specs outside the supported subset', () => {
  type E = MachineEventBase & { type: 'Go' };
  const base = (states: Record<string, unknown>, extra: Partial<MachineSpec<{ n: number }, E, void>> = {}) =>
    ({
      config: { id: 'm', initial: 'a', states },
      initialContext: () => ({ n: 0 }),
      guards: { ok: () => true },
      updates: { bump: (c: { n: number }) => ({ n: c.n + 1 }) },
      effects: ['fx'],
      ...extra,
    }) as MachineSpec<{ n: number }, E, void>;

  const cases: [string, MachineSpec<{ n: number }, E, void>, string][] = [
    ['unknown target', base({ a: { on: { Go: [{ target: 'zz' }] } } }), 'targets unknown state "zz"'],
    [
      'unknown guard',
      base({ a: { on: { Go: [{ target: 'b', guard: 'nope' }] } }, b: {} }),
      'unknown guard "nope"',
    ],
    ['unknown action', base({ a: { on: { Go: [{ actions: ['nope'] }] } } }), 'unknown action "nope"'],
    ['self target', base({ a: { on: { Go: [{ target: 'a' }] } } }), 'targets its own state'],
    ['nested states', base({ a: { states: {} } }), 'unsupported key "states"'],
    ['delayed transitions', base({ a: { after: {} } }), 'unsupported key "after"'],
    ['transition keys', base({ a: { on: { Go: [{ reenter: true }] } } }), 'unsupported key "reenter"'],
    ['missing initial', { ...base({ b: {} }) }, 'initial state "a" is not a state'],
    [
      'final with transitions',
      base({ a: { type: 'final', on: { Go: [{}] } } }),
      'final state "a" has transitions',
    ],
  ];
  it.each(cases)('%s', (_name, spec, message) => {
    expect(() => compileMachine(spec)).toThrow(MachineSpecError);
    expect(() => compileMachine(spec)).toThrow(message);
  });

  it('applies updates in order, entry updates after transition updates, and effects not at all', () => {
    const spec = base(
      { a: { on: { Go: [{ target: 'b', actions: ['fx', 'bump'] }] } }, b: { entry: ['bump', 'fx'] } },
      {},
    );
    const m = compileMachine(spec);
    const next = m.step(m.initial(), { type: 'Go', position: 1, recordedAt: '' });
    expect(next).toEqual({ value: 'b', context: { n: 2 } });
  });
});
