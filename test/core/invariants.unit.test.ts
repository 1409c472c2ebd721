import { describe, expect, it } from 'vitest';
import {
  INVARIANT_DESCRIPTIONS,
  attemptsWithinRetries,
  checkInvariants,
  isStaleReport,
  maxConcurrentRespected,
  milestoneCompletesAfterPhases,
  oneLiveAgentPerTask,
  phaseCompletesAfterTasks,
  pullRequestOnce,
  spawnOnlyWhenReady,
  staleReportsChangeNothing,
  wellFormedLog,
} from '../../src/core/invariants.js';
import { replay } from '../../src/core/replayer.js';
import { compiledEngine } from '../../src/machines/index.js';
import type { MachineEngine } from '../../src/machines/index.js';
import { LogBuilder, makePlan, testConfig } from './fixtures.js';

const plan = makePlan([
  {
    id: 'M1',
    phases: [
      { id: 'P1', tasks: [{ id: 'T1' }, { id: 'T2', deps: ['T1'] }] },
      { id: 'P2', deps: ['P1'], tasks: [{ id: 'T3' }] },
    ],
  },
]);

/** A log with the plan loaded and P1 and T1 ready. */
function started(): LogBuilder {
  const b = new LogBuilder();
  b.add('RunStarted', { runId: b.runId, pid: 1, startedAt: '2025-01-01T00:00:00.000Z', config: {} });
  b.add('PlanLoaded', { plan });
  b.add('PhaseUnblocked', { phaseId: 'P1' });
  b.add('TaskUnblocked', { taskId: 'T1', reason: 'dependencies' });
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
const exit = (b: LogBuilder, spawnId: string, exitCode: number) =>
  b.add('AgentExited', { spawnId, exitCode, signal: null, durationMs: 1, outputTail: '' });

/** Runs T1 through one attempt to completion. */
function completeT1(b: LogBuilder): void {
  spawn(b, 'T1', 's1');
  exit(b, 's1', 0);
  b.add('GatePassed', { taskId: 'T1', spawnId: 's1' });
  b.add('BranchMerged', { taskId: 'T1', spawnId: 's1', commit: 'abc' });
}

describe('invariants catch hand-made violating logs', () => {
  it('a clean log has no violation at all', () => {
    const b = started();
    completeT1(b);
    b.add('TaskUnblocked', { taskId: 'T2', reason: 'dependencies' });
    expect(checkInvariants(b.events, testConfig)).toEqual([]);
    expect(INVARIANT_DESCRIPTIONS).toHaveLength(10);
  });

  it('wellFormedLog: a gap in positions, an invalid event, an unknown type', () => {
    const gap = started();
    const last = gap.events.pop();
    gap.events.push({ ...last!, position: 7 });
    expect(wellFormedLog(gap.events, testConfig)).toEqual({
      invariant: 'wellFormedLog',
      position: 7,
      message: 'event TaskUnblocked is at position 7, expected 4',
    });
    const invalid = started();
    invalid.addRaw('AgentExited', { spawnId: 's1', signal: null }, 'task-T1');
    expect(wellFormedLog(invalid.events, testConfig)?.message).toMatch(
      /^event AgentExited is invalid: exitCode: /,
    );
    const unknown = started();
    unknown.addRaw('UnknownThing', {});
    expect(wellFormedLog(unknown.events, testConfig)?.position).toBe(5);
  });

  it('spawnOnlyWhenReady: a spawn in a blocked phase, and one before dependencies complete', () => {
    const b = started();
    spawn(b, 'T3', 's9');
    expect(spawnOnlyWhenReady(b.events, testConfig)).toEqual({
      invariant: 'spawnOnlyWhenReady',
      position: 5,
      message: 'agent s9 was spawned for task T3 while its phase P2 is blocked',
    });
    const deps = started();
    deps.add('TaskUnblocked', { taskId: 'T2', reason: 'person' });
    spawn(deps, 'T2', 's2');
    expect(spawnOnlyWhenReady(deps.events, testConfig)?.message).toBe(
      'agent s2 was spawned for task T2 before its dependencies T1 completed',
    );
    const ok = started();
    completeT1(ok);
    ok.add('TaskUnblocked', { taskId: 'T2', reason: 'dependencies' });
    spawn(ok, 'T2', 's2');
    expect(spawnOnlyWhenReady(ok.events, testConfig)).toBeNull();
    // A revision gives the started phase P2 a dependency on the unfinished P1.
    const revised = (deps: string[]) =>
      makePlan([
        {
          id: 'M1',
          phases: [
            { id: 'P1', tasks: [{ id: 'T1' }] },
            { id: 'P2', deps, tasks: [{ id: 'T3' }, { id: 'T4' }] },
          ],
        },
      ]);
    const r = new LogBuilder();
    r.add('RunStarted', { runId: r.runId, pid: 1, startedAt: '2025-01-01T00:00:00.000Z', config: {} });
    r.add('PlanLoaded', { plan: revised([]) });
    r.add('PhaseUnblocked', { phaseId: 'P2' });
    r.add('PhaseStarted', { phaseId: 'P2' });
    r.add('TaskUnblocked', { taskId: 'T3', reason: 'dependencies' });
    r.add('TaskUnblocked', { taskId: 'T4', reason: 'dependencies' });
    spawn(r, 'T3', 's1');
    r.add('PlanRevised', { plan: revised(['P1']), diff: { added: [], removed: [], changed: ['P2'] } });
    spawn(r, 'T4', 's2');
    expect(spawnOnlyWhenReady(r.events, testConfig)).toEqual({
      invariant: 'spawnOnlyWhenReady',
      position: 9,
      message: 'agent s2 was spawned for task T4 while its phase P2 waits for P1',
    });
  });

  it('oneLiveAgentPerTask: a second agent while the blocked one still runs', () => {
    const b = started();
    spawn(b, 'T1', 's1');
    b.add('BreakpointReported', { spawnId: 's1', kind: 'blocked', on: ['person'] });
    b.add('TaskUnblocked', { taskId: 'T1', reason: 'person' });
    spawn(b, 'T1', 's2', 2);
    expect(oneLiveAgentPerTask(b.events, testConfig)).toEqual({
      invariant: 'oneLiveAgentPerTask',
      position: 8,
      message: 'agent s2 was spawned for task T1 while another agent of it is live',
    });
    const ok = started();
    spawn(ok, 'T1', 's1');
    ok.add('BreakpointReported', { spawnId: 's1', kind: 'blocked', on: ['person'] });
    exit(ok, 's1', 0);
    ok.add('TaskUnblocked', { taskId: 'T1', reason: 'person' });
    spawn(ok, 'T1', 's2', 2);
    expect(oneLiveAgentPerTask(ok.events, testConfig)).toBeNull();
  });

  it('maxConcurrent: two live agents with maxConcurrent 1', () => {
    const b = started();
    b.add('PhaseUnblocked', { phaseId: 'P2' });
    b.add('TaskUnblocked', { taskId: 'T3', reason: 'dependencies' });
    spawn(b, 'T1', 's1');
    spawn(b, 'T3', 's2');
    const config = { ...testConfig, maxConcurrent: 1 };
    expect(maxConcurrentRespected(b.events, config)).toEqual({
      invariant: 'maxConcurrent',
      position: 8,
      message: 'spawning agent s2 made 2 agents live, more than maxConcurrent 1',
    });
    expect(maxConcurrentRespected(b.events, { ...config, maxConcurrent: 2 })).toBeNull();
  });

  it('attemptsWithinRetries: a second attempt with maxRetries 0', () => {
    const b = started();
    spawn(b, 'T1', 's1');
    exit(b, 's1', 1);
    b.add('RetryScheduled', {
      taskId: 'T1',
      attempt: 2,
      notBefore: '2025-01-01T00:00:00.000Z',
      reason: 'exit code 1',
    });
    spawn(b, 'T1', 's2', 2);
    expect(attemptsWithinRetries(b.events, { ...testConfig, maxRetries: 0 })?.message).toBe(
      'task T1 was spawned for attempt 2, more than maxRetries + 1 = 1',
    );
    expect(attemptsWithinRetries(b.events, { ...testConfig, maxRetries: 1 })).toBeNull();
  });

  it('phaseCompletesAfterTasks and milestoneCompletesAfterPhases: completions before the work', () => {
    const b = started();
    completeT1(b);
    b.add('PhaseCompleted', { phaseId: 'P1' });
    b.add('MilestoneCompleted', { milestoneId: 'M1' });
    expect(phaseCompletesAfterTasks(b.events, testConfig)?.message).toBe(
      'phase P1 completed while its tasks T2 were not complete',
    );
    expect(milestoneCompletesAfterPhases(b.events, testConfig)?.message).toBe(
      'milestone M1 completed while its phases P2 were not complete',
    );
  });

  it('pullRequestOnce: a second request for the same milestone', () => {
    const b = started();
    b.add('PullRequestRequested', { milestoneId: 'M1', branch: 'milestone/M1' });
    expect(pullRequestOnce(b.events, testConfig)).toBeNull();
    b.add('PullRequestRequested', { milestoneId: 'M1', branch: 'milestone/M1' });
    expect(pullRequestOnce(b.events, testConfig)).toEqual({
      invariant: 'pullRequestOnce',
      position: 6,
      message: 'the pull request of milestone M1 was requested a second time',
    });
  });

  it('staleReportsChangeNothing: holds for the real fold, and catches a fold that obeys stale outcomes', () => {
    const b = started();
    spawn(b, 'T1', 's1');
    exit(b, 's1', 1);
    b.add('RetryScheduled', { taskId: 'T1', attempt: 2, notBefore: '2025-01-01T00:00:00.000Z', reason: 'x' });
    spawn(b, 'T1', 's2', 2);
    exit(b, 's2', 0);
    b.add('GateFailed', { taskId: 'T1', spawnId: 's1', exitCode: 1, outputTail: 'late result for s1' });
    exit(b, 's1', 0);
    expect(staleReportsChangeNothing(b.events, testConfig)).toBeNull();
    // A faulty task stepper that ignores which spawn an outcome is for.
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
    expect(checkInvariants(b.events, testConfig, ['staleReportsChangeNothing'], { engine: faulty })).toEqual([
      {
        invariant: 'staleReportsChangeNothing',
        position: 10,
        message: 'stale report GateFailed for spawn s1 changed the state',
      },
    ]);
  });

  it('isStaleReport tells current reports from stale and unknown ones', () => {
    const b = started();
    spawn(b, 'T1', 's1');
    const state = replay(b.events);
    const probe = (type: string, data: unknown) => isStaleReport(state, { ...b.events[0]!, type, data });
    expect(probe('AgentStarted', { spawnId: 's1' })).toBe(false);
    expect(probe('AgentStarted', { spawnId: 'nope' })).toBe(true);
    expect(probe('GatePassed', { taskId: 'T1', spawnId: 's1' })).toBe(false);
    expect(probe('GatePassed', { taskId: 'T1', spawnId: 's0' })).toBe(true);
    expect(probe('SignalRejected', { spawnId: 's1', reason: 'x' })).toBe(true);
    expect(probe('RateLimited', { spawnId: 's1', resetAt: null })).toBe(false);
    expect(probe('PhaseUnblocked', { phaseId: 'P1' })).toBe(false);
  });
});
