import { describe, expect, it } from 'vitest';
import { decide } from '../../src/core/decide.js';
import { checkInvariants } from '../../src/core/invariants.js';
import { replay } from '../../src/core/replayer.js';
import { judgeRetry } from '../../src/core/signal-judgement.js';
import { countedAttempts } from '../../src/machines/index.js';
import { LogBuilder, T0, makePlan, testConfig } from './fixtures.js';

/**
 * A person's retry of a task that failed for good (`TaskRetryRequested`): judged like cancel
 * and unblock, folded by the task machine (failed → pending), and decided on afresh with a
 * new allowance of `maxRetries + 1` attempts.
 */

const config = { ...testConfig, maxRetries: 1, retryInterval: 0 };

/** T1 fails twice (maxRetries 1: failed for good); T2 is running; T3 is cancelled. */
function failedRun(): LogBuilder {
  const plan = makePlan([
    { id: 'M1', phases: [{ id: 'S1', tasks: [{ id: 'T1' }, { id: 'T2' }, { id: 'T3' }] }] },
  ]);
  const b = new LogBuilder();
  b.add('PlanLoaded', { plan });
  b.add('PhaseUnblocked', { phaseId: 'S1' });
  for (const id of ['T1', 'T2', 'T3']) b.add('TaskUnblocked', { taskId: id, reason: 'dependencies' });
  const spawn = (taskId: string, spawnId: string, attempt: number) => {
    b.add('AgentSpawnRequested', { spawnId, taskId, attempt, role: 'dev', command: ['a'], workspace: '/w' });
    b.add('AgentStarted', { spawnId, pid: 10 + attempt, pidStartTime: 1, startedAt: 'now' });
  };
  const fail = (spawnId: string) =>
    b.add('AgentExited', { spawnId, exitCode: 1, signal: null, durationMs: 1, outputTail: '' });
  spawn('T1', 's1', 1);
  fail('s1');
  b.add('RetryScheduled', {
    taskId: 'T1',
    attempt: 2,
    notBefore: new Date(T0).toISOString(),
    reason: 'exit code 1',
  });
  spawn('T1', 's2', 2);
  fail('s2');
  b.add('TaskFailed', { taskId: 'T1', reason: 'retries used up after 2 attempt(s); last: exit code 1' });
  spawn('T2', 's3', 1);
  b.add('TaskCancelled', { taskId: 'T3', reason: 'not needed' }, 'user');
  return b;
}

describe('judgeRetry', () => {
  it('accepts a task that failed for good, with its attempts and last failure', () => {
    const state = replay(failedRun().events);
    expect(judgeRetry(state, 'T1')).toEqual({ accepted: true, attempts: 2, lastFailure: 'exit code 1' });
  });

  it('refuses a task that is not failed (running, cancelled) and an unknown one', () => {
    const state = replay(failedRun().events);
    expect(judgeRetry(state, 'T2')).toEqual({ accepted: false, refusal: 'not-failed', status: 'running' });
    expect(judgeRetry(state, 'T3')).toEqual({ accepted: false, refusal: 'not-failed', status: 'cancelled' });
    expect(judgeRetry(state, 'T9')).toEqual({ accepted: false, refusal: 'unknown-task' });
  });
});

describe('TaskRetryRequested', () => {
  it('puts a failed task back to pending with a fresh allowance; decide releases and spawns attempt 3', () => {
    const b = failedRun();
    const failed = replay(b.events);
    expect(decide(failed, failed.plan, config, T0).filter((c) => c.type === 'SpawnAgent')).toEqual([]);
    b.add('TaskRetryRequested', { taskId: 'T1', reason: 'service is back' }, 'user');
    const retried = replay(b.events);
    const t1 = retried.tasks['T1']!;
    expect(t1.value).toBe('pending');
    expect(t1.context).toMatchObject({ attempts: 2, retryBase: 2, outcome: null });
    expect(countedAttempts(t1.context)).toBe(0);
    expect(t1.context.lastFailure?.detail).toBe('exit code 1');
    expect(decide(retried, retried.plan, config, T0)).toContainEqual({
      type: 'UnblockTask',
      taskId: 'T1',
      reason: 'dependencies',
    });
    b.add('TaskUnblocked', { taskId: 'T1', reason: 'dependencies' });
    const ready = replay(b.events);
    expect(decide(ready, ready.plan, config, T0)).toContainEqual(
      expect.objectContaining({ type: 'SpawnAgent', taskId: 'T1', attempt: 3 }),
    );
  });

  it('allows maxRetries + 1 attempts after the retry, then fails the task again; the invariant agrees', () => {
    const b = failedRun();
    b.add('TaskRetryRequested', { taskId: 'T1' }, 'user');
    b.add('TaskUnblocked', { taskId: 'T1', reason: 'dependencies' });
    for (const [spawnId, attempt] of [
      ['s4', 3],
      ['s5', 4],
    ] as const) {
      if (attempt === 4)
        b.add('RetryScheduled', {
          taskId: 'T1',
          attempt,
          notBefore: new Date(T0).toISOString(),
          reason: 'x',
        });
      b.add('AgentSpawnRequested', {
        spawnId,
        taskId: 'T1',
        attempt,
        role: 'dev',
        command: ['a'],
        workspace: '/w',
      });
      b.add('AgentExited', { spawnId, exitCode: 1, signal: null, durationMs: 1, outputTail: '' });
    }
    const state = replay(b.events);
    expect(state.tasks['T1']?.value).toBe('retrying');
    const commands = decide(state, state.plan, config, T0);
    expect(commands).toContainEqual(
      expect.objectContaining({
        type: 'FailTask',
        taskId: 'T1',
        reason: expect.stringMatching(/^retries used up after 2 attempt/),
      }),
    );
    expect(checkInvariants(b.events, config, ['attemptsWithinRetries'])).toEqual([]);
    // Without the retry, attempt 3 would break the invariant.
    const without = b.events.filter((e) => e.type !== 'TaskRetryRequested');
    expect(checkInvariants(without, config, ['attemptsWithinRetries'])).toHaveLength(1);
  });

  it('changes nothing for a task that is not failed', () => {
    const b = failedRun();
    const before = replay(b.events);
    b.add('TaskRetryRequested', { taskId: 'T2' }, 'user');
    b.add('TaskRetryRequested', { taskId: 'T3' }, 'user');
    const after = replay(b.events);
    expect(after.tasks).toEqual(before.tasks);
  });
});
