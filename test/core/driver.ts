import fc from 'fast-check';
import { commandEvent } from '../../src/core/commands.js';
import type { Command } from '../../src/core/commands.js';
import type { DecideConfig } from '../../src/core/decide.js';
import { decide } from '../../src/core/decide.js';
import type { RecordedEvent } from '../../src/core/envelope.js';
import type { OrchEventData, OrchEventType } from '../../src/core/events.js';
import { evolve } from '../../src/core/evolve.js';
import { planDiff } from '../../src/core/plan-revision.js';
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

// Outside happenings, weighted towards the ones that move work along. 16: a plan revision,
// 17: a CI result naming a commit, 18: a budget raise (a new run with a higher budget).
const KIND_WEIGHTS = [4, 3, 3, 2, 1, 1, 2, 2, 1, 4, 4, 1, 1, 2, 1, 1, 3, 2, 1];
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
  autoMerge: fc.oneof(
    { weight: 3, arbitrary: fc.constant(true) },
    { weight: 1, arbitrary: fc.constant(false) },
  ),
  budget: fc.option(fc.constantFrom(0.5, 2, 5), { nil: undefined }),
  gate: fc.option(fc.constant({ command: ['npm', 'test'] }), { nil: undefined }),
  rateLimitBackoff: fc.option(fc.constantFrom(10, 60), { nil: undefined }),
  // CI configured in most runs (so pull requests wait for it), absent or `none` in the others.
  ci: fc.constantFrom(
    undefined,
    { provider: 'none' as const },
    { provider: 'local' as const },
    { provider: 'external' as const },
    { provider: 'local' as const },
    { provider: 'external' as const },
  ),
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
  // Best of N: in about a third of the plans, some tasks race 2 or 3 lanes per attempt (the
  // others keep one agent per attempt, which the independent oracle judges).
  .chain((plan) =>
    fc
      .tuple(
        fc.integer({ min: 0, max: 2 }),
        fc.array(fc.constantFrom(undefined, undefined, undefined, 2, 3), {
          minLength: plan.tasks.length,
          maxLength: plan.tasks.length,
        }),
      )
      .map(([racing, bestOf]) =>
        racing !== 0
          ? plan
          : {
              ...plan,
              tasks: plan.tasks.map((t, i) => (bestOf[i] === undefined ? t : { ...t, bestOf: bestOf[i] })),
            },
      ),
  );

/** What a driver run produced. */
export interface DriverRun {
  log: RecordedEvent[];
  /** JSON of the live state after each event (index i: after log[i]). */
  states: string[];
  final: OrchState;
  /** Commands decide returned, per tick. */
  ticks: Command[][];
  /** The kinds of step the run reached (revisions, CI results, budget, waits, pull requests). */
  reached: Set<string>;
  /** The config of the last run (a budget raise changes `budget`). */
  config: DecideConfig;
}

type Policy = 'random' | 'cooperative' | 'mixed';

/**
 * Runs the simulation. `cooperative` ignores the step kinds and always does the most
 * helpful outside thing (start, exit 0, pass gate, merge, pass CI, open PR, let time pass);
 * `mixed` does that on half the steps and the step's random happening on the others.
 */
export function runDriver(
  plan: Plan,
  initialConfig: DecideConfig,
  steps: readonly Step[],
  policy: Policy = 'random',
): DriverRun {
  const b = new LogBuilder();
  let config = { ...initialConfig };
  let state = initialState();
  const states: string[] = [];
  const ticks: Command[][] = [];
  const reached = new Set<string>();
  /** Every merge commit so far, in order (CI results name them). */
  const mergeCommits: string[] = [];
  let spawnCounter = 0;
  let runCounter = 1;
  let mergeCounter = 0;
  let addedCounter = 0;
  /** Tasks revisions removed (one may be added back). */
  const removedTasks: Plan['tasks'] = [];
  let now = b.now;

  const record = <T extends OrchEventType>(type: T, data: OrchEventData<T>, actor = 'orch') => {
    b.now = now;
    const event = b.add(type, data, actor);
    state = evolve(state, event);
    states.push(JSON.stringify(state));
    if (type === 'BudgetExhausted') reached.add('budget:exhausted');
    if (type === 'PullRequestOpened') reached.add('pr:opened');
    if (type === 'PullRequestRequested' && (config.ci?.provider ?? 'none') !== 'none')
      reached.add('pr:afterCi');
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
    noteWaits(commands);
    const keep = policy === 'cooperative' ? commands.length : Math.min(step.keep, commands.length);
    for (const cmd of commands.slice(0, keep)) recordCommand(cmd);
    if (keep < commands.length) {
      startRun(); // the orchestrator crashed mid-batch and came back
      continue;
    }
    // 2. one outside event.
    if (policy === 'random') outside(step);
    else if (policy === 'mixed') {
      // Half the steps move work along (so milestones finish and pull requests open), half disturb.
      if (step.pick % 2 === 1 || !cooperate(step)) outside(step);
    } else if (!cooperate() && commands.length === 0) break; // nothing left to do
  }
  return { log: b.events, states, final: state, ticks, reached, config };

  /** Notes a tick that held a spawn back for a retry's time or a rate limit's reset. */
  function noteWaits(commands: readonly Command[]): void {
    if (commands.some((c) => c.type === 'SpawnAgent')) return;
    const waiting = Object.values(state.tasks).filter((t) => t.value === 'retryWait' || t.value === 'ready');
    if (waiting.length === 0) return;
    if (state.rateLimitedUntil !== null && Date.parse(state.rateLimitedUntil) > now)
      reached.add('wait:rateLimit');
    if (waiting.some((t) => t.context.notBefore !== null && Date.parse(t.context.notBefore) > now))
      reached.add('wait:retry');
  }

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
        if (code === 0 || code === 1) {
          mergeCounter += 1;
          mergeCommits.push(`c${mergeCounter}`);
          record('BranchMerged', { taskId, spawnId, commit: `c${mergeCounter}` });
        } else record('MergeConflicted', { taskId, spawnId, files: ['a.ts'] });
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
        if (a)
          record('RateLimited', {
            spawnId: a.spawnId,
            resetAt: pick % 4 === 0 ? null : iso(now + pick * 1000),
          });
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
      case 16:
        revise(step);
        return;
      case 17:
        ciOnCommit(step);
        return;
      case 18: {
        // A person raises the budget (or lifts it) and starts orch again.
        const budget =
          pick % 5 === 0 ? undefined : Math.max(config.budget ?? 0, state.costUsd) + 0.5 + (pick % 3);
        config = { ...config, budget };
        reached.add('budget:raise');
        startRun();
        return;
      }
      default:
        now += pick * 60_000; // a long quiet spell
    }
  }

  /** A CI result naming a commit: the latest merge, an older merge, or one orch never merged. */
  function ciOnCommit(step: Step): void {
    const result = step.code === 0 || step.code === 1 ? 'pass' : 'fail';
    const which = step.pick % 3;
    const ref =
      which === 0
        ? mergeCommits.at(-1)
        : which === 1
          ? mergeCommits[step.pick % Math.max(1, mergeCommits.length - 1)]
          : `unknown${step.pick}`;
    if (ref === undefined) return;
    reached.add(`ci:${result}`);
    reached.add(which === 0 ? 'ci:latestCommit' : which === 1 ? 'ci:olderCommit' : 'ci:unknownCommit');
    record('CiCompleted', { result, ref }, 'ci');
  }

  /** Records a revised plan: a task added (or a removed one back), a task removed (maybe while its agent runs), or a dependency added. */
  function revise(step: Step): void {
    const plan = state.plan;
    if (plan === null) return;
    const { pick } = step;
    const next = structuredClone(plan);
    let kind: string;
    switch (pick % 5) {
      case 0: {
        const phase = pickOf(next.phases, pick >> 2);
        if (phase === undefined) return;
        // Now and then a task removed earlier comes back (same id: a fresh task, maybe while its old agent runs).
        const back =
          pick % 3 === 0 ? removedTasks.find((t) => !next.tasks.some((x) => x.id === t.id)) : undefined;
        if (back !== undefined) {
          const home = next.phases.find((p) => p.id === back.phase) ?? phase;
          next.tasks.push({
            ...back,
            phase: home.id,
            dependsOn: back.dependsOn.filter((d) => next.tasks.some((x) => x.id === d)),
          });
          home.tasks.push(back.id);
          kind = 'revise:readd';
          break;
        }
        addedCounter += 1;
        const id = `N${addedCounter}`;
        const dep = pickOf(next.tasks, pick >> 3);
        next.tasks.push({
          id,
          title: `Task ${id}`,
          role: 'implementer',
          phase: phase.id,
          dependsOn: dep && pick % 8 < 4 ? [dep.id] : [],
          status: 'not_started',
          source: { file: 'plan.yaml', line: 1 },
        });
        phase.tasks.push(id);
        kind = 'revise:add';
        break;
      }
      case 1:
      case 2: {
        const running = liveAgents()
          .map((a) => a.task)
          .filter((t) => next.tasks.some((x) => x.id === t));
        const id = pick % 5 === 2 ? pickOf(running, pick >> 2) : pickOf(next.tasks, pick >> 2)?.id;
        if (id === undefined) return;
        const gone = next.tasks.find((t) => t.id === id);
        if (gone !== undefined) removedTasks.push(gone);
        removeTask(next, id);
        kind = running.includes(id) ? 'revise:removeRunning' : 'revise:remove';
        break;
      }
      default: {
        // A phase gets a dependency on another phase (or a task on another task), kept acyclic.
        const open = next.phases.filter((p) =>
          ['ready', 'in_progress'].includes(state.phases[p.id]?.value ?? ''),
        );
        const from = pickOf(open.length > 0 ? open : next.phases, pick >> 2);
        const unfinished = next.phases.filter(
          (p) => p.id !== from?.id && state.phases[p.id]?.value !== 'complete',
        );
        const to = pickOf(unfinished.length > 0 ? unfinished : next.phases, (pick >> 2) + (step.dt % 5));
        if (from === undefined || to === undefined || from.id === to.id || from.dependsOn.includes(to.id))
          return;
        if (phaseReaches(next, to.id, from.id)) return;
        from.dependsOn.push(to.id);
        const waits = ['ready', 'in_progress'].includes(state.phases[from.id]?.value ?? '');
        kind = waits && state.phases[to.id]?.value !== 'complete' ? 'revise:block' : 'revise:addDep';
      }
    }
    reached.add(kind);
    record('PlanRevised', { plan: next, diff: planDiff(plan, next) });
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
  function cooperate(step?: Step): boolean {
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
    else if (merge) {
      mergeCounter += 1;
      mergeCommits.push(`c${mergeCounter}`);
      record('BranchMerged', {
        taskId: merge[0],
        spawnId: merge[1].context.spawnId ?? '',
        commit: `c${mergeCounter}`,
      });
    } else if ((config.ci?.provider ?? 'none') !== 'none' && (state.mergesSinceCi ?? []).length > 0) {
      // Mixed: CI passes on the latest merge, an older one or an unknown commit (chosen by the step).
      if (step !== undefined) ciOnCommit({ ...step, code: 0 });
      else record('CiCompleted', { result: 'pass', ref: mergeCommits.at(-1) ?? 'integration' }, 'ci');
    } else if (pr) {
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

/** Drops a task from a plan, and from its phase and every dependency list. */
function removeTask(plan: Plan, id: string): void {
  plan.tasks = plan.tasks.filter((t) => t.id !== id);
  for (const t of plan.tasks) t.dependsOn = t.dependsOn.filter((d) => d !== id);
  for (const p of plan.phases) p.tasks = p.tasks.filter((t) => t !== id);
}

/** Whether phase `from` depends on phase `to`, directly or not. */
function phaseReaches(plan: Plan, from: string, to: string): boolean {
  const deps = new Map(plan.phases.map((p) => [p.id, p.dependsOn]));
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (id === to) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(deps.get(id) ?? []));
  }
  return false;
}
