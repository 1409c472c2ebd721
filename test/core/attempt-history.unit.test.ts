import { describe, expect, it } from 'vitest';
import { AttemptFold, lastSummary, taskHistory } from '../../src/core/attempt-history.js';
import type { RecordedEvent } from '../../src/core/envelope.js';
import { mergesJudged } from '../../src/core/fold.js';
import { LogBuilder, makePlan } from './fixtures.js';

const plan = () =>
  makePlan([{ id: 'M1', phases: [{ id: 'P1', tasks: [{ id: 'T1' }, { id: 'T2' }, { id: 'T3' }] }] }]);

/** A log where `taskId` is unblocked and attempt `n` (spawn `spawnId`) runs and exits 0. */
function spawn(b: LogBuilder, taskId: string, spawnId: string, attempt: number): void {
  b.add('AgentSpawnRequested', { spawnId, taskId, attempt, role: 'dev', command: ['x'], workspace: '/w' });
  b.add('AgentStarted', {
    spawnId,
    pid: 100 + attempt,
    pidStartTime: 1,
    startedAt: '2025-01-01T00:00:00.000Z',
  });
}
function mergeAfterExit(b: LogBuilder, taskId: string, spawnId: string, commit: string): void {
  b.add('AgentExited', { spawnId, exitCode: 0, signal: null, durationMs: 10, outputTail: 'ok' });
  b.add('GatePassed', { taskId, spawnId });
  b.add('MergeRequested', { taskId, spawnId });
  b.add('BranchMerged', { taskId, spawnId, commit });
}

describe('AttemptFold', () => {
  it('keeps the first start and outcome of a spawn; later reports about it are stale', () => {
    const b = new LogBuilder();
    b.add('PlanLoaded', { plan: plan() });
    b.add('TaskUnblocked', { taskId: 'T1', reason: 'dependencies' });
    spawn(b, 'T1', 's1', 1);
    b.add('BreakpointReported', { spawnId: 's1', kind: 'blocked', on: ['ci'], summary: 'needs CI' });
    b.add('AgentLost', { spawnId: 's1', reason: 'process gone' });
    b.add('AgentExited', { spawnId: 's1', exitCode: 0, signal: null, durationMs: 1, outputTail: '' });
    b.add('AgentStarted', { spawnId: 's1', pid: 77, pidStartTime: 1, startedAt: '2025-01-01T00:00:00.000Z' });
    b.add('BreakpointReported', { spawnId: 's1', kind: 'complete', summary: 'late' });
    b.add('AgentSpawnRequested', {
      spawnId: 's1',
      taskId: 'T1',
      attempt: 2,
      role: 'dev',
      command: [],
      workspace: '/w',
    });
    b.add('AgentExited', { spawnId: 'ghost', exitCode: 1, signal: null, durationMs: 1, outputTail: '' });
    const [a, ...rest] = new AttemptFold().applyAll(b.events).history('T1').attempts;
    expect(rest).toEqual([]);
    expect(a?.started?.pid).toBe(101);
    expect(a?.end).toMatchObject({ kind: 'lost', reason: 'process gone', position: 6 });
    expect(a?.breakpoints.map((bp) => bp.summary)).toEqual(['needs CI']);
    expect(a && lastSummary(a)).toBe('needs CI');
  });

  it('puts notes with the spawn they name, else the latest attempt, else on the timeline', () => {
    const b = new LogBuilder();
    b.add('PlanLoaded', { plan: plan() });
    b.add('SignalRejected', { spawnId: 'old', reason: 'stale spawn', kind: 'complete' });
    b.events.at(-1)!.streamId = 'task-T1';
    b.add('TaskUnblocked', { taskId: 'T1', reason: 'dependencies' });
    spawn(b, 'T1', 's1', 1);
    b.add('AgentExited', { spawnId: 's1', exitCode: 1, signal: null, durationMs: 1, outputTail: 'boom' });
    b.add('RetryScheduled', {
      taskId: 'T1',
      attempt: 2,
      notBefore: '2025-01-01T00:01:00.000Z',
      reason: 'exit 1',
    });
    spawn(b, 'T1', 's2', 2);
    b.add('SignalRejected', { spawnId: 's1', reason: 'stale spawn', kind: 'complete' });
    b.add('RateLimited', { spawnId: 's2', resetAt: null });
    const history = new AttemptFold().applyAll(b.events).history('T1');
    expect(history.timeline.map((t) => (t.kind === 'attempt' ? t.attempt.spawnId : t.kind))).toEqual([
      'signalRejected',
      'event',
      's1',
      's2',
    ]);
    expect(history.attempts.map((a) => a.notes.map((n) => n.kind))).toEqual([
      ['retryScheduled', 'signalRejected'],
      ['rateLimited'],
    ]);
  });

  it("routes by the task's stream, else by the task or spawn the data names", () => {
    const b = new LogBuilder();
    b.addRaw('AgentSpawnRequested', { spawnId: 's1', taskId: 'T1', attempt: 1, role: 'dev' }, 'task');
    b.addRaw('AgentExited', { spawnId: 's1', exitCode: 2, signal: null }, 'task');
    b.addRaw('GateFailed', { taskId: 'T1', spawnId: 's1', exitCode: 1, outputTail: 'FAIL' }, 'misc');
    b.addRaw('TaskCompleted', { taskId: 'T2', reason: 'by hand' }, 'task-T3');
    const fold = new AttemptFold().applyAll(b.events);
    expect(fold.history('T1').attempts[0]).toMatchObject({
      end: { kind: 'exited', exitCode: 2 },
      gate: { status: 'failed', outputTail: 'FAIL' },
    });
    expect(fold.histories().map((h) => h.taskId)).toEqual(['T1', 'T3']);
    expect(
      new AttemptFold('T3')
        .applyAll(b.events)
        .histories()
        .map((h) => h.taskId),
    ).toEqual(['T3']);
  });

  it("gives each merge the verdict of the CI result orch's fold judged it by", () => {
    const b = new LogBuilder();
    b.add('PlanLoaded', { plan: plan() });
    for (const t of ['T1', 'T2', 'T3']) b.add('TaskUnblocked', { taskId: t, reason: 'dependencies' });
    spawn(b, 'T1', 's1', 1);
    mergeAfterExit(b, 'T1', 's1', 'c1');
    spawn(b, 'T2', 's2', 1);
    mergeAfterExit(b, 'T2', 's2', 'c2');
    // A fail on the later commit judges both merges (it tested T1's work too).
    const fail = b.add('CiCompleted', { result: 'fail', ref: 'c2', url: 'https://ci/1' }, 'ci');
    b.add('TaskReopened', {
      taskId: 'T1',
      spawnId: 's1',
      reason: 'CI failed after its merge',
      ciPosition: fail.position,
    });
    spawn(b, 'T3', 's3', 1);
    mergeAfterExit(b, 'T3', 's3', 'c3');
    const log: RecordedEvent[] = b.events;
    const t1 = taskHistory(log, 'T1');
    expect(t1.attempts[0]?.ci).toEqual({
      position: fail.position,
      at: fail.recordedAt,
      result: 'fail',
      ref: 'c2',
      url: 'https://ci/1',
    });
    expect(t1.attempts[0]?.reopened).toMatchObject({ reason: 'CI failed after its merge', ciLogTail: null });
    expect(t1.timeline.at(-1)).toMatchObject({ kind: 'event', type: 'TaskReopened' });
    expect(taskHistory(log, 'T2').attempts[0]?.ci?.position).toBe(fail.position);
    expect(taskHistory(log, 'T3').attempts[0]?.ci).toBeNull();
    // Without orch's state there are no verdicts.
    expect(new AttemptFold().applyAll(log).attempts.map((a) => a.ci)).toEqual([null, null, null]);
  });
});

describe('mergesJudged', () => {
  it('judges up to the merge a result names, or every merge for any other ref', () => {
    const merges = [{ commit: 'a' }, { commit: 'b' }, { commit: 'c' }];
    expect(mergesJudged(merges, 'b')).toBe(2);
    expect(mergesJudged(merges, 'integration')).toBe(3);
    expect(mergesJudged(merges, null)).toBe(3);
    expect(mergesJudged([], 'a')).toBe(0);
  });

  it('a result on a merge commit judged already judges none of the later merges', () => {
    const later = [{ commit: 'c' }, { commit: 'd' }];
    expect(mergesJudged(later, 'a', ['a', 'b'])).toBe(0);
    expect(mergesJudged(later, 'd', ['a', 'b'])).toBe(2);
    expect(mergesJudged(later, 'integration', ['a', 'b'])).toBe(2);
  });
});
