import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../../src/core/envelope.js';
import type { OrchEventData, OrchEventType } from '../../../src/core/events.js';
import { evolve } from '../../../src/core/evolve.js';
import { initialState } from '../../../src/core/state.js';
import { statusView } from '../../../src/core/status-view.js';
import { progressLine, summaryTable } from '../../../src/runtime/render/progress.js';
import { T0, makePlan, testConfig } from '../../core/fixtures.js';
import { Sim } from '../../core/sim.js';

/** The lines `orch spawn` prints for a log: each event with the state after it (as the orchestrator passes it), nulls dropped. */
function printed(events: readonly RecordedEvent[]): string[] {
  let state = initialState();
  const lines: string[] = [];
  for (const event of events) {
    state = evolve(state, event);
    const line = progressLine(event, state);
    if (line !== null) lines.push(line);
  }
  return lines;
}

/** Records one event in the sim; its progress line, given the state after it. */
function say<T extends OrchEventType>(
  sim: Sim,
  type: T,
  data: OrchEventData<T>,
  actor?: string,
): string | null {
  sim.record(type, data, actor);
  return progressLine(sim.log.events.at(-1)!, sim.state);
}

/** One milestone, one phase: T1 (implementer) and T2 (tester), both spawned and running. */
function twoRunning(): Sim {
  const sim = new Sim(
    makePlan([{ id: 'M1', phases: [{ id: 'P1', tasks: [{ id: 'T1' }, { id: 'T2', role: 'tester' }] }] }]),
  );
  sim.settle();
  sim.start('T1').start('T2');
  return sim;
}

const UUID = '9a4fb2bd-bf36-4e89-937b-e37f2209f052';

describe('progressLine', () => {
  it('prints a whole run, one line per meaningful event, in order, and nothing for the bookkeeping', () => {
    const plan = makePlan([
      { id: 'M1', phases: [{ id: 'P1', tasks: [{ id: 'T1' }, { id: 'T2', role: 'tester', deps: ['T1'] }] }] },
    ]);
    const sim = new Sim(plan, { ...testConfig, retryInterval: 30 });
    sim.settle();
    sim.now = T0 + 1_000;
    sim.start('T1');
    sim.now = T0 + 4_000;
    sim.record('AgentExited', {
      spawnId: sim.spawnOf('T1'),
      exitCode: 1,
      signal: null,
      durationMs: 3_000,
      outputTail: 'boom',
      usage: { costUsd: 0.25 },
    });
    sim.settle();
    sim.now = T0 + 34_000;
    sim.settle();
    sim.now = T0 + 35_000;
    sim.finish('T1', '0123456789abcdef');
    sim.settle();
    sim.now = T0 + 50_000;
    sim.finish('T2', 'fedcba9876543210');
    sim.settle();
    sim.now = T0 + 52_000;
    sim.record('PullRequestOpened', {
      milestoneId: 'M1',
      url: 'https://git.example/calc/pull/1',
      branch: 'milestone/M1',
    });
    sim.record('CiCompleted', { result: 'pass', ref: 'fedcba9876543210' });
    sim.record('RunStopped', { runId: 'run-1', reason: 'all 2 task(s) complete' });

    expect(printed(sim.log.events)).toEqual([
      '00:00:00 run      started run-1 (pid 101)',
      '00:00:00 plan     loaded "Test plan"',
      '00:00:00 phase    P1 unblocked',
      '00:00:00 T1       ▶ attempt 1 (implementer) spawn s1',
      '00:00:01 T1         running as pid 4000',
      '00:00:04 T1       ■ exit 1 after 3.0s, $0.2500',
      '00:00:04 T1       ↻ attempt 2 after 00:00:34: exit code 1',
      '00:00:34 T1       ▶ attempt 2 (implementer) spawn s2',
      '00:00:35 T1         running as pid 4000',
      '00:00:35 T1       ■ exit 0 after 0.0s',
      '00:00:35 T1       ✓ gate passed',
      '00:00:35 T1       ⇢ merged 0123456789',
      '00:00:35 T2       ▶ attempt 1 (tester) spawn s3',
      '00:00:50 T2         running as pid 4000',
      '00:00:50 T2       ■ exit 0 after 0.0s',
      '00:00:50 T2       ✓ gate passed',
      '00:00:50 T2       ⇢ merged fedcba9876',
      '00:00:50 phase    P1 complete',
      '00:00:50 milestone M1 complete',
      '00:00:52 milestone M1 pull request https://git.example/calc/pull/1',
      '00:00:52 ci       pass on fedcba9876',
      '00:00:52 run      stopped: all 2 task(s) complete',
    ]);

    // What was recorded but deliberately not printed.
    let state = initialState();
    const silent = new Set<string>();
    for (const event of sim.log.events) {
      state = evolve(state, event);
      if (progressLine(event, state) === null) silent.add(event.type);
    }
    expect([...silent].sort()).toEqual([
      'GateStarted',
      'MergeRequested',
      'PhaseStarted',
      'PullRequestRequested',
      'TaskUnblocked',
    ]);
  });

  it('takes the time of day (UTC) from recordedAt and shortens run and spawn ids to 8 characters', () => {
    const sim = twoRunning();
    sim.now = T0 + 3_723_000; // 01:02:03
    expect(
      say(sim, 'RunStarted', {
        runId: UUID,
        pid: 4321,
        startedAt: new Date(sim.now).toISOString(),
        config: {},
      }),
    ).toBe('01:02:03 run      started 9a4fb2bd (pid 4321)');
    expect(say(sim, 'SignalRejected', { spawnId: UUID, reason: 'no live agent has this spawn id' })).toBe(
      '01:02:03 signal   rejected from spawn 9a4fb2bd: no live agent has this spawn id',
    );
  });

  it('names the task of an agent event from the state, and "?" for a spawn the state does not know', () => {
    const sim = twoRunning();
    expect(
      say(sim, 'AgentExited', {
        spawnId: sim.spawnOf('T2'),
        exitCode: null,
        signal: 'SIGTERM',
        durationMs: 61_250,
        outputTail: '',
      }),
    ).toBe('00:00:00 T2       ■ killed by SIGTERM after 61.3s');
    expect(
      say(sim, 'AgentExited', {
        spawnId: sim.spawnOf('T1'),
        exitCode: null,
        signal: null,
        durationMs: 500,
        outputTail: '',
        usage: { inputTokens: 10, outputTokens: 5 },
      }),
    ).toBe('00:00:00 T1       ■ killed by signal after 0.5s');
    expect(
      say(sim, 'AgentExited', {
        spawnId: sim.spawnOf('T2'),
        exitCode: null,
        signal: 'SIGTERM',
        durationMs: 2_000,
        outputTail: 'hanging',
        stalled: { idleMs: 1_000, lastOutputLine: 'hanging' },
      }),
    ).toBe(
      '00:00:00 T2       ■ killed by SIGTERM after 2.0s — stalled: idle 1.0s, stopped; last line: hanging',
    );
    const ghost = sim.log.add('AgentLost', { spawnId: 'ghost', reason: 'pid 4000 is gone' });
    expect(progressLine(ghost, sim.state)).toBe('00:00:00 ?        ✗ agent lost: pid 4000 is gone');
  });

  it('prints lost agents, spawns that failed to start, and rate limits', () => {
    const sim = twoRunning();
    expect(say(sim, 'AgentLost', { spawnId: sim.spawnOf('T1'), reason: 'pid 4000 is gone' })).toBe(
      '00:00:00 T1       ✗ agent lost: pid 4000 is gone',
    );
    expect(
      say(sim, 'RateLimited', {
        spawnId: sim.spawnOf('T2'),
        resetAt: '2025-01-01T05:00:00.000Z',
        message: '429',
      }),
    ).toBe('00:00:00 T2       ⏸ rate limited until 2025-01-01T05:00:00.000Z');
    expect(say(sim, 'RateLimited', { spawnId: sim.spawnOf('T2'), resetAt: null })).toBe(
      '00:00:00 T2       ⏸ rate limited until a backoff',
    );

    const fresh = new Sim(makePlan([{ id: 'M1', phases: [{ id: 'P1', tasks: [{ id: 'T9' }] }] }]));
    fresh.settle();
    expect(
      say(fresh, 'AgentSpawnFailed', { spawnId: fresh.spawnOf('T9'), error: 'spawn claude ENOENT' }),
    ).toBe('00:00:00 T9       ✗ could not start the agent: spawn claude ENOENT');
  });

  it('prints each kind of breakpoint an agent reports', () => {
    const sim = twoRunning();
    const s1 = sim.spawnOf('T1');
    const s2 = sim.spawnOf('T2');
    expect(
      say(sim, 'BreakpointReported', { spawnId: s1, kind: 'complete', summary: 'parser done' }, 'agent'),
    ).toBe('00:00:00 T1       ◆ complete: parser done');
    expect(say(sim, 'BreakpointReported', { spawnId: s2, kind: 'blocked' }, 'agent')).toBe(
      '00:00:00 T2       ◆ blocked on person',
    );
    const sim2 = twoRunning();
    expect(
      say(
        sim2,
        'BreakpointReported',
        { spawnId: sim2.spawnOf('T2'), kind: 'blocked', on: ['ci', 'T1'], summary: 'waits for green' },
        'agent',
      ),
    ).toBe('00:00:00 T2       ◆ blocked on ci, T1: waits for green');
    expect(
      say(
        sim2,
        'BreakpointReported',
        { spawnId: sim2.spawnOf('T1'), kind: 'pr', url: 'https://git.example/pr/7' },
        'agent',
      ),
    ).toBe('00:00:00 T1       ◆ pr https://git.example/pr/7');
  });

  it('prints gate results (not a skipped gate) and merge outcomes', () => {
    const sim = twoRunning();
    const s1 = sim.spawnOf('T1');
    const s2 = sim.spawnOf('T2');
    sim.exit('T1', 0).exit('T2', 0);
    sim.settle();
    expect(say(sim, 'GatePassed', { taskId: 'T1', spawnId: s1, skipped: true })).toBeNull();
    expect(
      say(sim, 'GateFailed', { taskId: 'T2', spawnId: s2, exitCode: 3, outputTail: 'lint: 2 errors' }),
    ).toBe('00:00:00 T2       ✗ gate failed (exit 3)');
    sim.settle();
    expect(say(sim, 'MergeConflicted', { taskId: 'T1', spawnId: s1, files: ['src/a.ts', 'src/b.ts'] })).toBe(
      '00:00:00 T1       ✗ merge conflict in src/a.ts, src/b.ts',
    );
    expect(say(sim, 'MergeConflicted', { taskId: 'T1', spawnId: s1, files: [] })).toBe(
      '00:00:00 T1       ✗ merge conflict',
    );
    expect(say(sim, 'GateFailed', { taskId: 'T2', spawnId: s2, exitCode: null, outputTail: '' })).toBe(
      '00:00:00 T2       ✗ gate failed (no exit code: killed or timed out)',
    );
    expect(
      say(sim, 'TaskReopened', {
        taskId: 'T1',
        spawnId: s1,
        reason: 'CI failed after its merge (0123456789ab)',
        ciPosition: 1,
      }),
    ).toBe('00:00:00 T1       ↺ reopened: CI failed after its merge (0123456789ab)');
  });

  it('prints failed and cancelled tasks and unblocks other than by dependencies; silent for the rest', () => {
    const sim = new Sim(
      makePlan([
        { id: 'M1', phases: [{ id: 'P1', tasks: [{ id: 'T1' }, { id: 'T2' }, { id: 'T3', deps: ['T1'] }] }] },
      ]),
      { ...testConfig, maxRetries: 0 },
    );
    sim.settle();
    sim.start('T1').exit('T1', 7);
    const before = sim.log.events.length;
    sim.settle();
    const failed = sim.log.events.slice(before).find((e) => e.type === 'TaskFailed');
    expect(failed).toBeDefined();
    expect(progressLine(failed!, sim.state)).toBe(
      '00:00:00 T1       ✗ failed for good: retries used up after 1 attempt(s); last: exit code 7',
    );
    expect(say(sim, 'TaskCancelled', { taskId: 'T2', reason: 'not needed' }, 'user')).toBe(
      '00:00:00 T2       cancelled',
    );
    expect(say(sim, 'TaskRetryRequested', { taskId: 'T1', reason: 'the service is back' }, 'user')).toBe(
      '00:00:00 T1       ↻ retried by a person: the service is back',
    );
    expect(say(sim, 'TaskUnblocked', { taskId: 'T3', reason: 'person' }, 'user')).toBe(
      '00:00:00 T3       unblocked (person)',
    );
    expect(say(sim, 'TaskUnblocked', { taskId: 'T3', reason: 'ci' })).toBe(
      '00:00:00 T3       unblocked (ci)',
    );
    expect(say(sim, 'TaskUnblocked', { taskId: 'T3', reason: 'dependencies' })).toBeNull();
    expect(say(sim, 'TaskCompleted', { taskId: 'T3', reason: 'done by hand' }, 'user')).toBeNull();
    expect(say(sim, 'PhaseBlocked', { phaseId: 'P1', reason: 'T1 failed' })).toBeNull();
  });

  it('prints plan revisions, CI results with or without a ref, and an exhausted budget', () => {
    const sim = twoRunning();
    sim.now = T0 + 45_296_000; // 12:34:56
    const revised = makePlan([
      { id: 'M1', phases: [{ id: 'P1', tasks: [{ id: 'T1' }, { id: 'T2', role: 'tester' }, { id: 'T3' }] }] },
    ]);
    expect(
      say(sim, 'PlanRevised', { plan: revised, diff: { added: ['T3'], removed: [], changed: ['P1', 'M1'] } }),
    ).toBe('12:34:56 plan     revised: +1 -0 ~2');
    expect(
      say(sim, 'PlanRevisionRefused', {
        problems: [{ file: 'plan.yaml', line: 9, message: 'T1 depends on unknown task T404' }],
        count: 2,
      }),
    ).toBe(
      '12:34:56 plan     edit refused (2 problems): plan.yaml:9 T1 depends on unknown task T404; the run keeps its plan',
    );
    expect(say(sim, 'CiCompleted', { result: 'fail', url: 'https://ci.example/1' }, 'ci')).toBe(
      '12:34:56 ci       fail',
    );
    expect(say(sim, 'CiCompleted', { result: 'pass', ref: '4083966358f3a66ebb9a' }, 'ci')).toBe(
      '12:34:56 ci       pass on 4083966358',
    );
    expect(say(sim, 'CiCompleted', { result: 'fail', ref: 'integration' }, 'ci')).toBe(
      '12:34:56 ci       fail on integration',
    );
    expect(say(sim, 'BudgetExhausted', { spentUsd: 5.0234, budget: 5 })).toBe(
      '12:34:56 budget   spent $5.02 of $5.00: no new attempts',
    );
    expect(say(sim, 'BudgetRaised', { amountUsd: 2.5, reason: 'more' }, 'user')).toBe(
      '12:34:56 budget   raised by $2.50 by a person',
    );
  });
});

describe('summaryTable', () => {
  it('lists every task of the status with its status, attempts and summed agent time, in aligned columns', () => {
    const plan = makePlan([
      {
        id: 'M1',
        phases: [{ id: 'P1', tasks: [{ id: 'T1' }, { id: 'T2' }, { id: 'T3' }, { id: 'T4', deps: ['T3'] }] }],
      },
    ]);
    const sim = new Sim(plan, { ...testConfig, maxConcurrent: 3, maxRetries: 1, retryInterval: 30 });
    sim.settle(); // T1, T2, T3 spawned
    const exit = (task: string, exitCode: number) =>
      sim.record('AgentExited', {
        spawnId: sim.spawnOf(task),
        exitCode,
        signal: null,
        durationMs: 0,
        outputTail: '',
      });

    sim.now = T0 + 1_000;
    sim.start('T1').start('T2').start('T3');
    sim.now = T0 + 1_500;
    exit('T2', 1); // T2 attempt 1: 0.5s
    sim.now = T0 + 2_500;
    exit('T1', 1); // T1 attempt 1: 1.5s
    sim.settle();
    sim.now = T0 + 40_000;
    sim.settle(); // second attempts of T1 and T2
    sim.start('T1').start('T2');
    sim.now = T0 + 41_000;
    exit('T2', 1); // T2 attempt 2: 1.0s, retries used up
    sim.settle();
    sim.now = T0 + 52_200; // T1 attempt 2: 12.2s
    sim.finish('T1');
    sim.settle();
    // T3 is still running (its time does not count yet); T4 waits for it.

    const status = statusView(sim.state);
    expect(status.tasks.map((t) => [t.id, t.status, t.attempts])).toEqual([
      ['T1', 'complete', 2],
      ['T2', 'failed', 2],
      ['T3', 'running', 1],
      ['T4', 'pending', 0],
    ]);
    expect(summaryTable(status, sim.state).split('\n')).toEqual([
      'task  status    attempts  time',
      '----  --------  --------  -----',
      'T1    complete  2         13.7s',
      'T2    failed    2         1.5s',
      'T3    running   1         0.0s',
      'T4    pending   0         0.0s',
    ]);
  });

  it('counts a lost agent up to when it was found lost, and nothing for a spawn that never started', () => {
    const sim = new Sim(
      makePlan([
        { id: 'M1', phases: [{ id: 'Phase-One', tasks: [{ id: 'setup-database' }, { id: 'T2' }] }] },
      ]),
    );
    sim.settle();
    sim.now = T0 + 2_000;
    sim.start('setup-database');
    sim.now = T0 + 9_000;
    sim.record('AgentLost', { spawnId: sim.spawnOf('setup-database'), reason: 'pid 4000 is gone' });
    sim.record('AgentSpawnFailed', { spawnId: sim.spawnOf('T2'), error: 'spawn ENOENT' });
    // Both tasks are between attempts (the status view still calls them running); the id widens its column.
    expect(summaryTable(statusView(sim.state), sim.state).split('\n')).toEqual([
      'task            status   attempts  time',
      '--------------  -------  --------  ----',
      'setup-database  running  1         7.0s',
      'T2              running  1         0.0s',
    ]);
  });

  it('with no tasks, is just the header', () => {
    const sim = new Sim(makePlan([]));
    expect(summaryTable(statusView(sim.state), sim.state)).toBe(
      'task  status  attempts  time\n----  ------  --------  ----',
    );
  });
});
