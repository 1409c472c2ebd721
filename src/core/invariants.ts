import type { MachineEngine } from '../machines/index.js';
import type { OrchestratorConfig } from './config.js';
import type { RecordedEvent } from './envelope.js';
import { eventDataProblem } from './events.js';
import { planIndex, unmetDependencies } from './plan-index.js';
import { getOwn } from './record.js';
import { Replayer } from './replayer.js';
import type { OrchState } from './state.js';
import { isLiveAgent } from './state.js';

/**
 * The invariants users rely on, each a check over a whole log. They fold the log once
 * with the fast Replayer and look at the state just before and just after each event.
 * Used by the property tests and by `orch replay --verify`.
 */

/** The first event at which an invariant does not hold. */
export interface Violation {
  invariant: InvariantName;
  position: number;
  /** One sentence: what is wrong, naming the entities. */
  message: string;
}

/** The settings invariants are judged against. */
export type InvariantConfig = Pick<OrchestratorConfig, 'maxConcurrent' | 'maxRetries'> &
  Partial<Pick<OrchestratorConfig, 'maxConcurrentTotal'>>;

/** Live agents, kept up to date by the checker so monitors do not rescan every agent. */
interface LiveCounts {
  total: number;
  byTask: Map<string, number>;
  /** By the run (a worker's membership) that spawned them. */
  byRun: Map<string, number>;
}

interface Monitor {
  /** Called with the state before `event` is folded; returns a violation message or null. */
  before?(state: OrchState, event: RecordedEvent, live: LiveCounts): string | null;
  /** Called with the state after `event` is folded. */
  after?(state: OrchState, event: RecordedEvent, live: LiveCounts): string | null;
}

interface Invariant {
  name: InvariantName;
  description: string;
  monitor(config: InvariantConfig): Monitor;
}

/** Names of the invariants. */
export type InvariantName =
  | 'wellFormedLog'
  | 'spawnOnlyWhenReady'
  | 'oneLiveAgentPerTask'
  | 'maxConcurrent'
  | 'attemptsWithinRetries'
  | 'phaseCompletesAfterTasks'
  | 'milestoneCompletesAfterPhases'
  | 'pullRequestOnce'
  | 'oneMergePerTask'
  | 'staleReportsChangeNothing';

type Data = Record<string, unknown>;
const data = (e: RecordedEvent): Data =>
  typeof e.data === 'object' && e.data !== null ? (e.data as Data) : {};
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

const INVARIANTS: readonly Invariant[] = [
  {
    name: 'wellFormedLog',
    description: 'positions are gapless and increasing, and every event is a known type with valid data',
    monitor: () => {
      let last: number | null = null;
      return {
        before(_s, e) {
          const gap = last !== null && e.position !== last + 1;
          const expected = last === null ? 0 : last + 1;
          last = e.position;
          if (gap) return `event ${e.type} is at position ${e.position}, expected ${expected}`;
          const problem = eventDataProblem(e.type, e.data);
          return problem === null ? null : `event ${e.type} is invalid: ${problem}`;
        },
      };
    },
  },
  {
    name: 'spawnOnlyWhenReady',
    description:
      'no agent is spawned for a task whose phase is blocked or waits for an unfinished phase, or whose dependencies are incomplete',
    monitor: () => ({
      before(s, e) {
        if (e.type !== 'AgentSpawnRequested') return null;
        const taskId = str(data(e).taskId);
        const index = s.plan === null ? undefined : planIndex(s.plan);
        const task = index?.tasks.get(taskId);
        if (task === undefined)
          return `agent ${str(data(e).spawnId)} was spawned for task ${taskId}, which is not in the plan`;
        const phase = getOwn(s.phases, task.phase);
        if (phase === undefined || phase.value === 'blocked' || phase.value === 'init') {
          return `agent ${str(data(e).spawnId)} was spawned for task ${taskId} while its phase ${task.phase} is blocked`;
        }
        // A revised plan may give a started phase a dependency: its tasks wait for it too.
        const waits = (index?.phases.get(task.phase)?.dependsOn ?? []).filter(
          (p) => getOwn(s.phases, p)?.value !== 'complete',
        );
        if (waits.length > 0) {
          return `agent ${str(data(e).spawnId)} was spawned for task ${taskId} while its phase ${task.phase} waits for ${waits.join(', ')}`;
        }
        const open = index === undefined ? [] : unmetDependencies(s, index, task);
        return open.length === 0
          ? null
          : `agent ${str(data(e).spawnId)} was spawned for task ${taskId} before its dependencies ${open.join(', ')} completed`;
      },
    }),
  },
  {
    name: 'oneLiveAgentPerTask',
    description:
      'a task never has two live agents, but the lanes of one best-of-N attempt: never more than its N, all of that attempt',
    monitor: () => ({
      before(s, e, live) {
        if (e.type !== 'AgentSpawnRequested') return null;
        const d = data(e);
        const taskId = str(d.taskId);
        const n = live.byTask.get(taskId) ?? 0;
        if (n === 0) return null;
        const lanes = typeof d.lanes === 'number' ? d.lanes : 1;
        const ctx = getOwn(s.tasks, taskId)?.context;
        // Live agents of the task are all lanes of this very race (its lanes in context).
        const sameRace =
          lanes > 1 &&
          ctx?.lanes != null &&
          ctx.attempts === d.attempt &&
          Object.values(s.agents).every(
            (a) => a.task !== taskId || !isLiveAgent(a) || ctx.lanes?.some((l) => l.spawnId === a.spawnId),
          );
        if (sameRace && n < lanes) return null;
        return sameRace
          ? `lane ${String(d.lane)} of task ${taskId} was spawned while ${n} of its ${lanes} lanes are live`
          : `agent ${str(d.spawnId)} was spawned for task ${taskId} while another agent of it is live`;
      },
    }),
  },
  {
    name: 'maxConcurrent',
    description:
      'never more than maxConcurrent live agents (workers: per worker, and maxConcurrentTotal over all)',
    monitor: (config) => ({
      after(s, e, live) {
        if (e.type !== 'AgentSpawnRequested') return null;
        const spawnId = str(data(e).spawnId);
        const runId = getOwn(s.agents, spawnId)?.runId ?? null;
        const total = config.maxConcurrentTotal;
        if (total !== undefined && live.total > total)
          return `spawning agent ${spawnId} made ${live.total} agents live, more than maxConcurrentTotal ${total}`;
        // A worker's spawn counts against its own maxConcurrent.
        if (runId !== null && getOwn(s.workers ?? {}, runId) !== undefined) {
          const mine = live.byRun.get(runId) ?? 0;
          if (mine <= config.maxConcurrent) return null;
          return `spawning agent ${spawnId} made ${mine} agents of worker ${getOwn(s.workers ?? {}, runId)?.worker ?? runId} live, more than maxConcurrent ${config.maxConcurrent}`;
        }
        if (live.total <= config.maxConcurrent) return null;
        return `spawning agent ${spawnId} made ${live.total} agents live, more than maxConcurrent ${config.maxConcurrent}`;
      },
    }),
  },
  {
    name: 'attemptsWithinRetries',
    description:
      'a task is attempted at most maxRetries + 1 times, not counting attempts stopped by a rate limit or made before a person retried it',
    monitor: (config) => ({
      before(s, e) {
        if (e.type !== 'AgentSpawnRequested') return null;
        const attempt = data(e).attempt;
        const taskId = str(data(e).taskId);
        // Attempts stopped by a rate limit, or made before a person's retry, do not count (decide.ts).
        const ctx = getOwn(s.tasks, taskId)?.context;
        const limited = ctx?.rateLimited ?? 0;
        const free = limited + (ctx?.retryBase ?? 0);
        if (typeof attempt !== 'number' || attempt - free <= config.maxRetries + 1) return null;
        const note =
          (limited > 0 ? ` (not counting ${limited} stopped by a rate limit)` : '') +
          (ctx?.retryBase ? ` (not counting ${ctx.retryBase} before a person's retry)` : '');
        return `task ${taskId} was spawned for attempt ${attempt}${note}, more than maxRetries + 1 = ${config.maxRetries + 1}`;
      },
    }),
  },
  {
    name: 'phaseCompletesAfterTasks',
    description: 'a phase completes only when all its tasks have',
    monitor: () => ({
      before(s, e) {
        if (e.type !== 'PhaseCompleted') return null;
        const phaseId = str(data(e).phaseId);
        const tasks = s.plan === null ? [] : (planIndex(s.plan).phaseTasks.get(phaseId) ?? []);
        const open = tasks.filter((t) => getOwn(s.tasks, t)?.value !== 'complete');
        return open.length === 0
          ? null
          : `phase ${phaseId} completed while its tasks ${open.join(', ')} were not complete`;
      },
    }),
  },
  {
    name: 'milestoneCompletesAfterPhases',
    description: 'a milestone completes only when it has phases and all of them have',
    monitor: () => ({
      before(s, e) {
        if (e.type !== 'MilestoneCompleted') return null;
        const milestoneId = str(data(e).milestoneId);
        const phases = s.plan === null ? [] : (planIndex(s.plan).milestonePhases.get(milestoneId) ?? []);
        if (phases.length === 0) return `milestone ${milestoneId} completed with no phases`;
        const open = phases.filter((p) => getOwn(s.phases, p)?.value !== 'complete');
        return open.length === 0
          ? null
          : `milestone ${milestoneId} completed while its phases ${open.join(', ')} were not complete`;
      },
    }),
  },
  {
    name: 'pullRequestOnce',
    description: "a milestone's pull request is requested at most once",
    monitor: () => {
      const requested = new Set<string>();
      return {
        before(_s, e) {
          if (e.type !== 'PullRequestRequested') return null;
          const id = str(data(e).milestoneId);
          if (requested.has(id)) return `the pull request of milestone ${id} was requested a second time`;
          requested.add(id);
          return null;
        },
      };
    },
  },
  {
    name: 'oneMergePerTask',
    description:
      'a task is merged at most once (until CI reopens it): one lane of a best-of-N attempt, never two',
    monitor: () => {
      const merged = new Set<string>();
      let taken = false;
      return {
        before(s, e) {
          // A merge the fold takes: its task was waiting for exactly that spawn's merge.
          const task = getOwn(s.tasks, str(data(e).taskId));
          taken =
            e.type === 'BranchMerged' &&
            (task?.value === 'awaitingMerge' || task?.value === 'merging') &&
            task.context.spawnId === str(data(e).spawnId);
          return null;
        },
        after(s, e) {
          const taskId = str(data(e).taskId);
          if (e.type === 'TaskReopened' && getOwn(s.tasks, taskId)?.value !== 'complete')
            merged.delete(taskId);
          // A revision that removed a merged task (and maybe added it back, to be done again)
          // starts its count afresh.
          if (e.type === 'PlanRevised' || e.type === 'PlanLoaded') {
            for (const id of merged) if (getOwn(s.tasks, id)?.value !== 'complete') merged.delete(id);
          }
          if (!taken) return null;
          if (merged.has(taskId))
            return `task ${taskId} was merged a second time (spawn ${str(data(e).spawnId)})`;
          merged.add(taskId);
          return null;
        },
      };
    },
  },
  {
    name: 'staleReportsChangeNothing',
    description: 'a report naming a stale or unknown spawn changes nothing but the log position',
    monitor: () => {
      let pending: string | null = null;
      return {
        before(s, e) {
          pending = isStaleReport(s, e) ? reachable(s, e) : null;
          return null;
        },
        after(s, e) {
          if (pending === null || reachable(s, e) === pending) return null;
          return `stale report ${e.type} for spawn ${str(data(e).spawnId)} changed the state`;
        },
      };
    },
  },
];

const AGENT_REPORTS = new Set([
  'AgentStarted',
  'AgentExited',
  'AgentLost',
  'AgentSpawnFailed',
  'BreakpointReported',
]);
const LOOP_OUTCOMES = new Set([
  'GateStarted',
  'GatePassed',
  'GateFailed',
  'MergeRequested',
  'BranchMerged',
  'MergeConflicted',
  'MergeAbandoned',
]);

/**
 * Whether `event` reports on a spawn that is unknown or no longer current: an agent report
 * about an unknown or dead spawn (or a start/spawn failure of one already started), a gate
 * or merge outcome for a spawn that is not its task's current one, a rate limit from an
 * unknown spawn, or a rejected signal.
 *
 * @example
 * if (isStaleReport(state, event)) store.append(stream, [signalRejected(event)]);
 */
export function isStaleReport(state: OrchState, event: RecordedEvent): boolean {
  if (event.type === 'SignalRejected') return true;
  const spawnId = str(data(event).spawnId);
  const agent = getOwn(state.agents, spawnId);
  if (AGENT_REPORTS.has(event.type)) {
    if (agent === undefined || !isLiveAgent(agent)) return true;
    return (
      (event.type === 'AgentStarted' || event.type === 'AgentSpawnFailed') && agent.status !== 'spawning'
    );
  }
  if (LOOP_OUTCOMES.has(event.type)) {
    const task = getOwn(state.tasks, str(data(event).taskId));
    // Best of N: a gate outcome for a lane still in the race is not stale.
    if (task?.value === 'racing' && event.type.startsWith('Gate'))
      return !(task.context.lanes ?? []).some(
        (l) => l.spawnId === spawnId && (l.state === 'exited' || l.state === 'verifying'),
      );
    return task?.context.spawnId !== spawnId;
  }
  if (event.type === 'RateLimited') return agent === undefined;
  return false;
}

/**
 * Everything a report could change, as JSON: the run-wide fields, the agent it names and
 * the tasks it reaches. O(1) per event, so `replay --verify` stays fast on long logs (the
 * property tests compare whole states).
 */
function reachable(s: OrchState, e: RecordedEvent): string {
  const d = data(e);
  const agent = getOwn(s.agents, str(d.spawnId));
  const tasks = [agent?.task, str(d.taskId)].map((id) =>
    id === undefined ? null : (getOwn(s.tasks, id) ?? null),
  );
  const { run, ci, costUsd, budgetExhausted, rateLimitedUntil, planVersion } = s;
  return JSON.stringify([
    run,
    ci,
    costUsd,
    budgetExhausted,
    rateLimitedUntil,
    planVersion,
    agent ?? null,
    tasks,
  ]);
}

/**
 * The first violation of each of the named invariants (all when none are named), in one
 * pass over the log. `options.engine` replaces the machines' steppers (default: compiled).
 *
 * @example
 * const violations = checkInvariants(store.readAll(), config);
 * if (violations.length > 0) process.exitCode = 1;
 */
export function checkInvariants(
  log: Iterable<RecordedEvent>,
  config: InvariantConfig,
  names?: readonly InvariantName[],
  options: { engine?: MachineEngine } = {},
): Violation[] {
  const chosen = INVARIANTS.filter((i) => names === undefined || names.includes(i.name));
  const active = chosen.map((i) => ({ name: i.name, monitor: i.monitor(config) }));
  const found: Violation[] = [];
  const live: LiveCounts = { total: 0, byTask: new Map(), byRun: new Map() };
  // The engine is swappable so tests can show a faulty fold is caught.
  const replayer = new Replayer(undefined, options.engine);
  for (const event of log) {
    const s = replayer.state;
    const spawnId = str(data(event).spawnId);
    const wasLive = liveTask(s, spawnId);
    for (const a of active) {
      const message = a.monitor.before?.(s, event, live) ?? null;
      if (message !== null) record(found, active, a.name, event.position, message);
    }
    replayer.apply(event);
    const nowLive = liveTask(replayer.state, spawnId);
    if (wasLive !== nowLive) {
      const runId = getOwn(replayer.state.agents, spawnId)?.runId ?? '';
      if (wasLive !== null) bump(live, wasLive, runId, -1);
      if (nowLive !== null) bump(live, nowLive, runId, +1);
    }
    for (const a of active) {
      const message = a.monitor.after?.(replayer.state, event, live) ?? null;
      if (message !== null) record(found, active, a.name, event.position, message);
    }
    if (active.length === 0) break;
  }
  return found;
}

function record(
  found: Violation[],
  active: { name: InvariantName }[],
  invariant: InvariantName,
  position: number,
  message: string,
): void {
  found.push({ invariant, position, message });
  // Only the first violation of each invariant is reported.
  const i = active.findIndex((a) => a.name === invariant);
  if (i >= 0) active.splice(i, 1);
}

function liveTask(s: OrchState, spawnId: string): string | null {
  if (spawnId === '') return null;
  const agent = getOwn(s.agents, spawnId);
  return agent !== undefined && isLiveAgent(agent) ? agent.task : null;
}

function bump(live: LiveCounts, task: string, runId: string, by: number): void {
  live.total += by;
  live.byTask.set(task, (live.byTask.get(task) ?? 0) + by);
  live.byRun.set(runId, (live.byRun.get(runId) ?? 0) + by);
}

const one =
  (name: InvariantName) =>
  (log: Iterable<RecordedEvent>, config: InvariantConfig): Violation | null =>
    checkInvariants(log, config, [name])[0] ?? null;

/** Positions are gapless and increasing; every event is a known type with valid data. @example wellFormedLog(log, config) */
export const wellFormedLog = one('wellFormedLog');
/** No agent is spawned for a task whose phase is blocked or waits for an unfinished phase, or whose dependencies are incomplete. @example spawnOnlyWhenReady(log, config) */
export const spawnOnlyWhenReady = one('spawnOnlyWhenReady');
/** At most one live agent per task. @example oneLiveAgentPerTask(log, config) */
export const oneLiveAgentPerTask = one('oneLiveAgentPerTask');
/** Never more than `maxConcurrent` live agents. @example maxConcurrentRespected(log, config) */
export const maxConcurrentRespected = one('maxConcurrent');
/** Attempts per task never exceed `maxRetries + 1`. @example attemptsWithinRetries(log, config) */
export const attemptsWithinRetries = one('attemptsWithinRetries');
/** A phase completes only when all its tasks have. @example phaseCompletesAfterTasks(log, config) */
export const phaseCompletesAfterTasks = one('phaseCompletesAfterTasks');
/** A milestone completes only when it has phases and all of them have. @example milestoneCompletesAfterPhases(log, config) */
export const milestoneCompletesAfterPhases = one('milestoneCompletesAfterPhases');
/** A milestone's pull request is requested at most once. @example pullRequestOnce(log, config) */
export const pullRequestOnce = one('pullRequestOnce');
/** A task is merged at most once until CI reopens it. @example oneMergePerTask(log, config) */
export const oneMergePerTask = one('oneMergePerTask');
/** A report with a stale or unknown spawn id changes nothing but the position. @example staleReportsChangeNothing(log, config) */
export const staleReportsChangeNothing = one('staleReportsChangeNothing');

/** Every invariant: name and one-line description (for `orch replay --verify` output). */
export const INVARIANT_DESCRIPTIONS: ReadonlyArray<{ name: InvariantName; description: string }> =
  INVARIANTS.map((i) => ({ name: i.name, description: i.description }));
