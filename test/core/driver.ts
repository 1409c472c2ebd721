import fc from 'fast-check';
import { commandEvent } from '../../src/core/commands.js';
import type { Command } from '../../src/core/commands.js';
import type { DecideConfig } from '../../src/core/decide.js';
import { decide } from '../../src/core/decide.js';
import type { RecordedEvent } from '../../src/core/envelope.js';
import type { OrchEventData, OrchEventType } from '../../src/core/events.js';
import { evolve } from '../../src/core/evolve.js';
import { isStaleReport } from '../../src/core/invariants.js';
import { initialState, isLiveAgent } from '../../src/core/state.js';
import type { OrchState } from '../../src/core/state.js';
import type { Plan } from '../../src/plan/model.js';
import { LogBuilder, iso, makePlan } from './fixtures.js';
import type { PhaseDef } from './fixtures.js';

/**
 * A pure simulation of orch: loop decide → record the events the runtime would write for
 * each command (spawn ids from a counter) → inject one outside event (agent exits with any
 * code, breakpoints, stale reports, CI results, restarts, ...) → evolve. Everything is
 * recorded so tests can replay the log and compare.
 */

/** One outside happening, chosen by fast-check. */
export interface Step {
  kind: number;
  pick: number;
  code: number;
  /** Seconds that pass before the step. */
  dt: number;
  /** Commands of this tick the "runtime" records before its next step (crash mid-batch when short). */
  keep: number;
}

// Outside happenings, weighted towards the ones that move work along.
const KIND_WEIGHTS = [4, 3, 3, 2, 1, 1, 2, 2, 1, 4, 4, 1, 1, 1, 1, 1];
const kindArb = fc.oneof(...KIND_WEIGHTS.map((weight, kind) => ({ weight, arbitrary: fc.constant(kind) })));

export const stepArb: fc.Arbitrary<Step> = fc.record({
  kind: kindArb,
  pick: fc.nat({ max: 50 }),
  code: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: -1, max: 3 })),
  dt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 90 })),
  keep: fc.oneof({ weight: 12, arbitrary: fc.constant(99) }, { weight: 1, arbitrary: fc.nat({ max: 3 }) }),
});

export const configArb: fc.Arbitrary<DecideConfig> = fc.record({
  maxConcurrent: fc.integer({ min: 1, max: 3 }),
  maxRetries: fc.integer({ min: 0, max: 3 }),
  retryInterval: fc.constantFrom(0, 5, 30),
  autoMerge: fc.boolean(),
  budget: fc.option(fc.constantFrom(0.5, 2, 5), { nil: undefined }),
  gate: fc.option(fc.constant({ command: ['npm', 'test'] }), { nil: undefined }),
});

/** Random plans: a DAG of phases over milestones, tasks depending only on earlier tasks. */
export const planArb: fc.Arbitrary<Plan> = fc
  .record({
    milestones: fc.integer({ min: 1, max: 3 }),
    phases: fc.array(
      fc.record({
        milestone: fc.nat(),
        deps: fc.uniqueArray(fc.nat({ max: 8 }), { maxLength: 2 }),
        priority: fc.constantFrom('normal', 'normal', 'priority', 'bootstrap'),
        declared: fc.oneof(
          { weight: 9, arbitrary: fc.constant(false) },
          { weight: 1, arbitrary: fc.constant(true) },
        ),
        tasks: fc.array(
          fc.record({
            deps: fc.uniqueArray(fc.nat({ max: 20 }), { maxLength: 2 }),
            declared: fc.oneof(
              { weight: 9, arbitrary: fc.constant(false) },
              { weight: 1, arbitrary: fc.constant(true) },
            ),
          }),
          { maxLength: 5 },
        ),
      }),
      { minLength: 1, maxLength: 8 },
    ),
  })
  .map(({ milestones, phases }) => {
    const defs = Array.from({ length: milestones }, (_, i) => ({
      id: `M${i + 1}`,
      phases: [] as PhaseDef[],
    }));
    const earlierTasks: string[] = [];
    phases.forEach((p, i) => {
      const id = `P${i + 1}`;
      const deps = i === 0 ? [] : [...new Set(p.deps.map((d) => `P${(d % i) + 1}`))];
      const tasks = p.tasks.map((t, k) => {
        const taskId = `T${i + 1}.${k + 1}`;
        const pool = earlierTasks.slice();
        const tdeps =
          pool.length === 0 ? [] : [...new Set(t.deps.map((d) => pool[d % pool.length] as string))];
        earlierTasks.push(taskId);
        return { id: taskId, deps: tdeps, status: t.declared ? ('complete' as const) : undefined };
      });
      // A phase's milestone is never before its dependencies' (keeps milestones meaningful).
      (defs[p.milestone % milestones] as { phases: PhaseDef[] }).phases.push({
        id,
        deps,
        priority: p.priority,
        status: p.declared ? 'complete' : undefined,
        tasks,
      });
    });
    return makePlan(defs);
  })
  // Best of N: some tasks race 2 or 3 lanes per attempt.
  .chain((plan) =>
    fc
      .array(fc.constantFrom(undefined, undefined, undefined, 2, 3), {
        minLength: plan.tasks.length,
        maxLength: plan.tasks.length,
      })
      .map((bestOf) => ({
        ...plan,
        tasks: plan.tasks.map((t, i) => (bestOf[i] === undefined ? t : { ...t, bestOf: bestOf[i] })),
      })),
  );

/** What a driver run produced. */
export interface DriverRun {
  log: RecordedEvent[];
  /** JSON of the live state after each event (index i: after log[i]). */
  states: string[];
  final: OrchState;
  /** Stale reports the driver injected whose state changed (must stay empty). */
  staleChanges: string[];
  /** Commands decide returned, per tick. */
  ticks: Command[][];
}

type Policy = 'random' | 'cooperative';

/**
 * Runs the simulation. `cooperative` ignores the step kinds and always does the most
 * helpful outside thing (start, exit 0, pass gate, merge, open PR, let time pass).
 */
export function runDriver(
  plan: Plan,
  config: DecideConfig,
  steps: readonly Step[],
  policy: Policy = 'random',
): DriverRun {
  const b = new LogBuilder();
  let state = initialState();
  const states: string[] = [];
  const staleChanges: string[] = [];
  const ticks: Command[][] = [];
  let spawnCounter = 0;
  let runCounter = 1;
  let now = b.now;

  const record = <T extends OrchEventType>(type: T, data: OrchEventData<T>, actor = 'orch') => {
    b.now = now;
    const before = state;
    const event = b.add(type, data, actor);
    const stale = isStaleReport(before, event);
    state = evolve(state, event);
    const json = JSON.stringify(state);
    if (stale && comparable(before) !== comparable(state)) staleChanges.push(`${event.position} ${type}`);
    states.push(json);
    return event;
  };
  const startRun = () => {
    b.runId = `run-${runCounter}`;
    record('RunStarted', {
      runId: b.runId,
      pid: 1000 + runCounter,
      startedAt: iso(now),
      config: { ...config },
    });
    runCounter += 1;
  };

  startRun();
  record('PlanLoaded', { plan });

  for (const step of steps) {
    now += step.dt * 1000;
    // 1. decide and record what the runtime would for each command.
    const commands = decide(state, state.plan, config, now);
    ticks.push(commands);
    const keep = policy === 'cooperative' ? commands.length : Math.min(step.keep, commands.length);
    for (const cmd of commands.slice(0, keep)) recordCommand(cmd);
    if (keep < commands.length) {
      startRun(); // the orchestrator crashed mid-batch and came back
      continue;
    }
    // 2. one outside event.
    if (policy === 'random') outside(step);
    else if (!cooperate() && commands.length === 0) break; // nothing left to do
  }
  return { log: b.events, states, final: state, staleChanges, ticks };

  function recordCommand(cmd: Command): void {
    const ctx = {
      runId: b.runId,
      spawnId: `s${spawnCounter + 1}`,
      agentCommand: ['agent', cmd.type],
      workspace: '/tmp/ws',
      branch: cmd.type === 'RequestPullRequest' ? `milestone/${cmd.milestoneId}` : undefined,
    };
    if (cmd.type === 'SpawnAgent') spawnCounter += 1;
    const ev = commandEvent(cmd, ctx);
    record(ev.type, ev.data as never);
  }

  function liveAgents(status?: 'spawning' | 'running') {
    return Object.values(state.agents).filter((a) => (status ? a.status === status : isLiveAgent(a)));
  }
  function tasksIn(value: string) {
    return Object.entries(state.tasks).filter(([, t]) => t.value === value);
  }
  function pickOf<T>(list: readonly T[], pick: number): T | undefined {
    return list.length === 0 ? undefined : list[pick % list.length];
  }

  function outside(step: Step): void {
    const { pick, code } = step;
    switch (step.kind) {
      case 0: {
        const a = pickOf(liveAgents('spawning'), pick);
        if (a)
          record('AgentStarted', {
            spawnId: a.spawnId,
            pid: 5000 + pick,
            pidStartTime: 123 + pick,
            startedAt: iso(now),
          });
        return;
      }
      case 1:
      case 2: {
        const a = pickOf(liveAgents(), pick);
        if (a) {
          record('AgentExited', {
            spawnId: a.spawnId,
            exitCode: code < 0 ? null : code,
            signal: code < 0 ? 'SIGKILL' : null,
            durationMs: 1000,
            outputTail: 'out',
            usage: { costUsd: 0.25 },
          });
        }
        return;
      }
      case 3: {
        const a = pickOf(liveAgents(), pick);
        if (!a) return;
        const kinds = ['blocked', 'complete', 'blocked', 'pr'] as const;
        const kind = kinds[pick % 4] as (typeof kinds)[number];
        const taskIds = Object.keys(state.tasks);
        const choices = [
          ['ci'],
          ['person'],
          [pickOf(taskIds, pick + 1) ?? 'ci'],
          ['ci', pickOf(taskIds, pick) ?? 'ci'],
        ];
        const on = choices[Math.floor(pick / 4) % 4];
        record(
          'BreakpointReported',
          {
            spawnId: a.spawnId,
            kind,
            summary: `report ${pick}`,
            ...(kind === 'blocked' ? { on } : {}),
            ...(kind === 'pr' ? { url: 'https://pr/1' } : {}),
          },
          `agent:${a.spawnId}`,
        );
        return;
      }
      case 4: {
        const a = pickOf(liveAgents(), pick);
        if (a) record('AgentLost', { spawnId: a.spawnId, reason: 'process gone' });
        return;
      }
      case 5: {
        const a = pickOf(liveAgents('spawning'), pick);
        if (a) record('AgentSpawnFailed', { spawnId: a.spawnId, error: 'ENOENT' });
        return;
      }
      case 6:
        staleReport(step);
        return;
      case 7:
        record('CiCompleted', { result: code === 0 ? 'pass' : 'fail', ref: 'integration' }, 'ci');
        return;
      case 8:
        startRun();
        return;
      case 9: {
        // A gate result: of a one-agent attempt, or of a racing lane whose gate is due or running.
        const lanes = tasksIn('racing').flatMap(([taskId, e]) =>
          (e.context.lanes ?? [])
            .filter((l) => l.state === 'exited' || l.state === 'verifying')
            .map((l) => [taskId, l.spawnId] as const),
        );
        const single = [...tasksIn('verifying'), ...tasksIn('awaitingGate')].map(
          ([taskId, e]) => [taskId, e.context.spawnId ?? ''] as const,
        );
        const t = pickOf([...single, ...lanes], pick);
        if (!t) return;
        const [taskId, spawnId] = t;
        if (code === 0) record('GatePassed', { taskId, spawnId });
        else record('GateFailed', { taskId, spawnId, exitCode: code, outputTail: 'FAIL' });
        return;
      }
      case 10: {
        const t = pickOf([...tasksIn('merging'), ...tasksIn('awaitingMerge')], pick);
        if (!t) return;
        const [taskId, entry] = t;
        const spawnId = entry.context.spawnId ?? '';
        if (code === 0 || code === 1) record('BranchMerged', { taskId, spawnId, commit: `c${pick}` });
        else record('MergeConflicted', { taskId, spawnId, files: ['a.ts'] });
        return;
      }
      case 11: {
        const m = pickOf(
          Object.entries(state.milestones).filter(([, e]) => e.value === 'prRequested'),
          pick,
        );
        if (m)
          record('PullRequestOpened', {
            milestoneId: m[0],
            url: `https://pr/${m[0]}`,
            branch: `milestone/${m[0]}`,
          });
        return;
      }
      case 12: {
        const t = pickOf(tasksIn('blocked'), pick);
        if (t) record('TaskUnblocked', { taskId: t[0], reason: 'person' }, 'user');
        return;
      }
      case 13: {
        const a = pickOf(liveAgents(), pick);
        if (a) record('RateLimited', { spawnId: a.spawnId, resetAt: iso(now + pick * 1000) });
        return;
      }
      case 14: {
        const t = pickOf(
          Object.entries(state.tasks).filter(
            ([, e]) => !['complete', 'failed', 'cancelled'].includes(e.value),
          ),
          pick,
        );
        if (t && pick % 5 === 0) record('TaskCancelled', { taskId: t[0], reason: 'user cancelled' }, 'user');
        return;
      }
      default:
        now += pick * 60_000; // a long quiet spell
    }
  }

  function staleReport(step: Step): void {
    const dead = Object.values(state.agents).filter((a) => !isLiveAgent(a));
    const target = pickOf(dead, step.pick);
    const spawnId = target && step.code !== 3 ? target.spawnId : `ghost-${step.pick}`;
    const taskId = target?.task ?? Object.keys(state.tasks)[0] ?? 'T-none';
    switch (step.pick % 7) {
      case 0:
        record('AgentExited', {
          spawnId,
          exitCode: 0,
          signal: null,
          durationMs: 1,
          outputTail: '',
          usage: { costUsd: 9 },
        });
        return;
      case 1:
        record('BreakpointReported', { spawnId, kind: 'blocked', on: ['ci'] }, `agent:${spawnId}`);
        return;
      case 2:
        record('AgentStarted', { spawnId, pid: 77, pidStartTime: 1, startedAt: iso(now) });
        return;
      case 3:
        record('AgentLost', { spawnId, reason: 'stale' });
        return;
      case 4:
        record('GatePassed', { taskId, spawnId });
        return;
      case 5:
        record('MergeConflicted', { taskId, spawnId, files: ['x'] });
        return;
      default:
        record('SignalRejected', { spawnId, reason: 'stale spawn', kind: 'complete' });
    }
  }

  /** Does the most helpful outside thing; false when there was nothing to do. */
  function cooperate(): boolean {
    const spawning = liveAgents('spawning')[0];
    const running = liveAgents('running')[0];
    const gate = tasksIn('verifying')[0];
    const laneGate = tasksIn('racing')
      .flatMap(([taskId, e]) => (e.context.lanes ?? []).map((l) => ({ taskId, l })))
      .find(({ l }) => l.state === 'verifying');
    const merge = tasksIn('merging')[0];
    const pr = Object.entries(state.milestones).find(([, e]) => e.value === 'prRequested');
    if (spawning)
      record('AgentStarted', { spawnId: spawning.spawnId, pid: 4242, pidStartTime: 1, startedAt: iso(now) });
    else if (running) {
      record('AgentExited', {
        spawnId: running.spawnId,
        exitCode: 0,
        signal: null,
        durationMs: 5,
        outputTail: '',
      });
    } else if (gate) record('GatePassed', { taskId: gate[0], spawnId: gate[1].context.spawnId ?? '' });
    else if (laneGate) record('GatePassed', { taskId: laneGate.taskId, spawnId: laneGate.l.spawnId });
    else if (merge)
      record('BranchMerged', { taskId: merge[0], spawnId: merge[1].context.spawnId ?? '', commit: 'abc' });
    else if (pr) {
      record('PullRequestOpened', {
        milestoneId: pr[0],
        url: `https://pr/${pr[0]}`,
        branch: `milestone/${pr[0]}`,
      });
    } else return false;
    return true;
  }
}

export const comparable = (s: OrchState) => JSON.stringify({ ...s, position: 0, updatedAt: null });
