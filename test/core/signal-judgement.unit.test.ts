import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/core/envelope.js';
import { evolve } from '../../src/core/evolve.js';
import { replay } from '../../src/core/replayer.js';
import { blockedOn, judgeBreakpoint, judgeCancel, judgeUnblock } from '../../src/core/signal-judgement.js';
import type { OrchState } from '../../src/core/state.js';
import { configArb, planArb, runDriver, stepArb } from './driver.js';
import { LogBuilder, makePlan } from './fixtures.js';

/**
 * A log with a task in each situation a signal meets:
 * T1 running (s1) · T2 its first spawn s2 exited 1, now on s3 (running) · T3 blocked on a
 * person (s4, still live) · T4 pending · T5 complete · T6 cancelled · T7 agent lost (s7) ·
 * T8 spawn failed (s8) · T9 spawning (s9, then dropped from the plan).
 */
function situations(): { builder: LogBuilder; state: OrchState } {
  const plan = makePlan([
    {
      id: 'M1',
      phases: [
        {
          id: 'S1',
          tasks: ['T1', 'T2', 'T3', 'T4', 'T5', 'T6', 'T7', 'T8', 'T9'].map((id) => ({
            id,
            ...(id === 'T4' ? { deps: ['T1'] } : {}),
          })),
        },
      ],
    },
  ]);
  const b = new LogBuilder();
  b.add('PlanLoaded', { plan });
  b.add('PhaseUnblocked', { phaseId: 'S1' });
  const spawn = (taskId: string, spawnId: string, attempt: number, start = true) => {
    b.add('AgentSpawnRequested', {
      spawnId,
      taskId,
      attempt,
      role: 'implementer',
      command: ['agent'],
      workspace: `/ws/${taskId}`,
    });
    if (start) b.add('AgentStarted', { spawnId, pid: 100 + attempt, pidStartTime: 1, startedAt: 'now' });
  };
  const exit = (spawnId: string, exitCode: number) =>
    b.add('AgentExited', { spawnId, exitCode, signal: null, durationMs: 1, outputTail: '' });
  for (const id of ['T1', 'T2', 'T3', 'T5', 'T6', 'T7', 'T8', 'T9'])
    b.add('TaskUnblocked', { taskId: id, reason: 'dependencies' });
  spawn('T1', 's1', 1);
  spawn('T2', 's2', 1);
  exit('s2', 1);
  b.add('RetryScheduled', { taskId: 'T2', attempt: 2, notBefore: 'now', reason: 'exit code 1' });
  spawn('T2', 's3', 2);
  spawn('T3', 's4', 1);
  b.add('BreakpointReported', { spawnId: 's4', kind: 'blocked', summary: 'needs a key' }, 'agent:s4');
  spawn('T5', 's5', 1);
  exit('s5', 0);
  b.add('GatePassed', { taskId: 'T5', spawnId: 's5' });
  b.add('BranchMerged', { taskId: 'T5', spawnId: 's5', commit: 'c5' });
  b.add('TaskCancelled', { taskId: 'T6', reason: 'not needed' }, 'user');
  spawn('T7', 's7', 1);
  b.add('AgentLost', { spawnId: 's7', reason: 'pid gone' });
  spawn('T8', 's8', 1, false);
  b.add('AgentSpawnFailed', { spawnId: 's8', error: 'ENOENT' });
  spawn('T9', 's9', 1, false);
  b.add('PlanRevised', {
    plan: { ...plan, tasks: plan.tasks.filter((t) => t.id !== 'T9') },
    diff: { added: [], removed: ['T9'], changed: [] },
  });
  return { builder: b, state: replay(b.events) };
}

describe('judgeBreakpoint', () => {
  const { state } = situations();

  it('accepts the current, live spawn of a task', () => {
    expect(judgeBreakpoint(state, { spawnId: 's1', kind: 'complete' })).toEqual({
      accepted: true,
      taskId: 'T1',
    });
    expect(judgeBreakpoint(state, { spawnId: 's3', kind: 'blocked' })).toEqual({
      accepted: true,
      taskId: 'T2',
    });
    // A blocked task's agent is still live and still its current spawn.
    expect(judgeBreakpoint(state, { spawnId: 's4', kind: 'pr' })).toEqual({ accepted: true, taskId: 'T3' });
  });

  it('rejects an unknown spawn, on the hinted task only when the plan has it', () => {
    const reason = 'unknown spawn (no agent with this spawn id was started)';
    expect(judgeBreakpoint(state, { spawnId: 'zz', kind: 'complete' })).toEqual({
      accepted: false,
      taskId: null,
      reason,
    });
    expect(judgeBreakpoint(state, { spawnId: 'zz', kind: 'complete', taskHint: 'T4' })).toEqual({
      accepted: false,
      taskId: 'T4',
      reason,
    });
    expect(judgeBreakpoint(state, { spawnId: 'zz', kind: 'complete', taskHint: 'T404' })).toEqual({
      accepted: false,
      taskId: null,
      reason,
    });
  });

  it('rejects a stale spawn (not the task’s current one), naming the current attempt and spawn', () => {
    expect(judgeBreakpoint(state, { spawnId: 's2', kind: 'complete' })).toEqual({
      accepted: false,
      taskId: 'T2',
      reason: 'stale spawn: task T2 is on attempt 2 with spawn s3',
    });
  });

  it('rejects a current spawn whose agent is no longer live, saying how it ended', () => {
    const reasonOf = (spawnId: string) => {
      const v = judgeBreakpoint(state, { spawnId, kind: 'complete' });
      return v.accepted ? null : v.reason;
    };
    expect(reasonOf('s5')).toBe('the agent is no longer live (exited with code 0)');
    expect(reasonOf('s7')).toBe('the agent is no longer live (lost)');
    expect(reasonOf('s8')).toBe('the agent is no longer live (spawn_failed)');
  });

  it('rejects a spawn whose task is gone from the plan, on that task’s stream', () => {
    expect(judgeBreakpoint(state, { spawnId: 's9', kind: 'complete' })).toEqual({
      accepted: false,
      taskId: 'T9',
      reason: 'task T9 is no longer in the plan',
    });
  });
});

describe('judgeCancel', () => {
  const { state } = situations();

  it('accepts a task in any state the loop can still leave, with that state', () => {
    const was = (id: string) => {
      const v = judgeCancel(state, id);
      return v.accepted ? v.was : null;
    };
    expect(was('T1')).toBe('running');
    expect(was('T2')).toBe('running');
    expect(was('T3')).toBe('blocked');
    expect(was('T4')).toBe('pending');
    expect(was('T7')).toBe('retrying');
    expect(was('T8')).toBe('retrying');
  });

  it('refuses a task that is over (complete, cancelled) and an unknown one', () => {
    expect(judgeCancel(state, 'T5')).toEqual({ accepted: false, refusal: 'task-over', status: 'complete' });
    expect(judgeCancel(state, 'T6')).toEqual({ accepted: false, refusal: 'task-over', status: 'cancelled' });
    expect(judgeCancel(state, 'T9')).toEqual({ accepted: false, refusal: 'unknown-task' });
    expect(judgeCancel(state, 'T404')).toEqual({ accepted: false, refusal: 'unknown-task' });
  });

  it('refuses a task that failed for good', () => {
    const { builder } = situations();
    builder.add('TaskFailed', { taskId: 'T7', reason: 'retries used up' });
    expect(judgeCancel(replay(builder.events), 'T7')).toEqual({
      accepted: false,
      refusal: 'task-over',
      status: 'failed',
    });
  });
});

describe('judgeUnblock', () => {
  const { state } = situations();

  it('accepts a blocked task, with what it waited for (a person by default)', () => {
    expect(judgeUnblock(state, 'T3')).toEqual({ accepted: true, wasBlockedOn: ['person'] });
  });

  it('refuses a task that is not blocked — pending included, which orch itself releases — and an unknown one', () => {
    expect(judgeUnblock(state, 'T4')).toEqual({ accepted: false, refusal: 'not-blocked', status: 'pending' });
    expect(judgeUnblock(state, 'T1')).toEqual({ accepted: false, refusal: 'not-blocked', status: 'running' });
    expect(judgeUnblock(state, 'T5')).toEqual({
      accepted: false,
      refusal: 'not-blocked',
      status: 'complete',
    });
    expect(judgeUnblock(state, 'T404')).toEqual({ accepted: false, refusal: 'unknown-task' });
  });
});

describe('blockedOn', () => {
  const { state } = situations();

  it('defaults to person, trims, and lists what is neither ci, person nor a task of the plan', () => {
    expect(blockedOn(state, undefined)).toEqual({ on: ['person'], unknown: [] });
    expect(blockedOn(state, [])).toEqual({ on: ['person'], unknown: [] });
    expect(blockedOn(state, ['ci', ' T1 ', 'person'])).toEqual({ on: ['ci', 'T1', 'person'], unknown: [] });
    expect(blockedOn(state, ['T404', 'ci', 'nope'])).toEqual({
      on: ['T404', 'ci', 'nope'],
      unknown: ['T404', 'nope'],
    });
  });
});

/** The event `type` with `data` as it would be recorded next. */
function next(state: OrchState, type: string, data: unknown, streamId: string): RecordedEvent {
  return {
    position: state.position + 1,
    id: `next-${state.position}`,
    streamId,
    streamVersion: 1,
    type,
    data,
    metadata: {},
    recordedAt: state.updatedAt ?? '2025-01-01T00:00:00.000Z',
  };
}

const sameEntities = (a: OrchState, b: OrchState) =>
  JSON.stringify([a.tasks, a.agents]) === JSON.stringify([b.tasks, b.agents]);

describe('the judgement agrees with the fold, on random runs', () => {
  const scenario = fc.record({
    plan: planArb,
    config: configArb,
    steps: fc.array(stepArb, { minLength: 10, maxLength: 120 }),
    cut: fc.nat(),
  });

  it('cancel and unblock are accepted exactly when recording them moves the task out of its state', () => {
    fc.assert(
      fc.property(scenario, ({ plan, config, steps, cut }) => {
        const run = runDriver(plan, config, steps);
        const state = JSON.parse(run.states[cut % run.states.length] ?? '{}') as OrchState;
        for (const taskId of Object.keys(state.tasks ?? {})) {
          const cancelled = evolve(
            state,
            next(state, 'TaskCancelled', { taskId, reason: 'x' }, `task-${taskId}`),
          ).tasks[taskId];
          const was = state.tasks[taskId]?.value;
          expect(judgeCancel(state, taskId).accepted, `${taskId} ${was}`).toBe(
            was !== 'cancelled' && cancelled?.value === 'cancelled',
          );
          const released = evolve(
            state,
            next(state, 'TaskUnblocked', { taskId, reason: 'person' }, `task-${taskId}`),
          ).tasks[taskId];
          expect(judgeUnblock(state, taskId).accepted, `${taskId} ${was}`).toBe(
            was === 'blocked' && released?.value === 'ready',
          );
        }
      }),
      { numRuns: 40 },
    );
  });

  it('a rejected report is one the fold would ignore; an accepted "blocked" report blocks a working task', () => {
    fc.assert(
      fc.property(scenario, ({ plan, config, steps, cut }) => {
        const run = runDriver(plan, config, steps);
        const state = JSON.parse(run.states[cut % run.states.length] ?? '{}') as OrchState;
        for (const spawnId of [...Object.keys(state.agents ?? {}), 'unknown-spawn']) {
          const verdict = judgeBreakpoint(state, { spawnId, kind: 'blocked' });
          const event = next(state, 'BreakpointReported', { spawnId, kind: 'blocked' }, 'task-x');
          const after = evolve(state, event);
          if (!verdict.accepted) {
            expect(sameEntities(after, state), `${spawnId}: ${verdict.reason}`).toBe(true);
            continue;
          }
          const before = state.tasks[verdict.taskId]?.value;
          if (before === 'spawning' || before === 'running')
            expect(after.tasks[verdict.taskId]?.value, spawnId).toBe('blocked');
        }
      }),
      { numRuns: 40 },
    );
  });
});
