import type { RecordedEvent } from '../../src/core/envelope.js';
import { Replayer } from '../../src/core/replayer.js';
import type { OrchState } from '../../src/core/state.js';
import type { MachineEngine } from '../../src/machines/index.js';
import type { Plan } from '../../src/plan/model.js';

/**
 * An independent model of what orch may do, for the property tests. It folds the raw events
 * with its own small bookkeeping (written here, from the plan and the event data alone:
 * no `decide`, no plan index, no `isStaleReport`) and judges every command event against it:
 * readiness, one live agent per task, `maxConcurrent`, attempts, the budget, retry and
 * rate-limit timing, CI before a milestone's pull request, and that a stale report changes
 * nothing. It also checks that the real fold agrees with its view of every task, phase and
 * agent after each event, so the model itself is kept honest.
 */

/** The settings the oracle judges against (the run's `RunStarted.config` may change `budget`). */
export interface OracleConfig {
  maxConcurrent: number;
  maxRetries: number;
  retryInterval: number;
  budget?: number | undefined;
  rateLimitBackoff?: number | undefined;
  ci?: { provider: 'local' | 'external' | 'none' } | undefined;
}

/** The rules of the oracle. */
export type OracleRule =
  | 'spawnOnlyWhenReady'
  | 'oneLiveAgentPerTask'
  | 'maxConcurrent'
  | 'attemptsWithinRetries'
  | 'noSpawnPastBudget'
  | 'noSpawnBeforeRetryTime'
  | 'noSpawnBeforeRateLimitReset'
  | 'pullRequestAfterCi'
  | 'staleReportsChangeNothing'
  | 'foldAgreesWithModel';

/** A broken rule at an event (the first of each rule). */
export interface OracleViolation {
  rule: OracleRule;
  position: number;
  message: string;
}

type Loop =
  | 'pending'
  | 'idle' // ready or retryWait: may be spawned
  | 'live'
  | 'gate'
  | 'merge'
  | 'retrying'
  | 'blocked'
  | 'complete'
  | 'final';

interface TaskModel {
  loop: Loop;
  spawn: string | null;
  attempts: number;
  limited: number;
  limitedSpawn: string | null;
  /** Earliest spawn time after a failed attempt (failure time + retryInterval). */
  retryAfter: number | null;
  /** The `notBefore` of the scheduled retry. */
  notBefore: number | null;
  /** Earliest spawn time after an attempt stopped by a rate limit with no reset ahead. */
  limitAfter: number | null;
  /** The last attempt was stopped by a rate limit: while its retry waits, nothing is spawned. */
  limitedFailure: boolean;
  /** Sequence number of the task's latest merge (null: never merged). */
  mergeSeq: number | null;
  mergeCommit: string | null;
}

interface AgentModel {
  task: string;
  status: 'spawning' | 'running' | 'dead';
}

type PhaseValue = 'blocked' | 'ready' | 'in_progress' | 'complete';

type Data = Record<string, unknown>;
const dataOf = (e: RecordedEvent): Data =>
  typeof e.data === 'object' && e.data !== null ? (e.data as Data) : {};
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

/** Machine state values as the model's coarse loop (for the agreement check). */
const LOOP_OF: Record<string, Loop> = {
  pending: 'pending',
  ready: 'idle',
  retryWait: 'idle',
  spawning: 'live',
  running: 'live',
  awaitingGate: 'gate',
  verifying: 'gate',
  awaitingMerge: 'merge',
  merging: 'merge',
  retrying: 'retrying',
  blocked: 'blocked',
  complete: 'complete',
  failed: 'final',
  cancelled: 'final',
};

/** The model, folded one event at a time. */
export class OracleModel {
  plan: Plan | null = null;
  readonly tasks = new Map<string, TaskModel>();
  readonly phases = new Map<string, PhaseValue>();
  readonly agents = new Map<string, AgentModel>();
  spentUsd = 0;
  budget: number | undefined;
  exhausted = false;
  /** Latest reported rate-limit reset (ms). */
  limitReset = Number.NEGATIVE_INFINITY;
  /** Merges in order: commit → sequence number (1-based). */
  readonly mergeSeqOf = new Map<string, number>();
  mergeCount = 0;
  /** Every merge with sequence ≤ this is included in a commit CI passed. */
  passedThrough = 0;

  constructor(readonly config: OracleConfig) {
    this.budget = config.budget;
  }

  liveCount(): number {
    let n = 0;
    for (const a of this.agents.values()) if (a.status !== 'dead') n += 1;
    return n;
  }

  liveOf(taskId: string): number {
    let n = 0;
    for (const a of this.agents.values()) if (a.status !== 'dead' && a.task === taskId) n += 1;
    return n;
  }

  /** Is a dependency id done: a task complete, a phase complete; an unknown id does not hold anything up. */
  depDone(id: string): boolean {
    const t = this.tasks.get(id);
    if (t !== undefined) return t.loop === 'complete';
    const p = this.phases.get(id);
    if (p !== undefined) return p === 'complete';
    return true;
  }

  /** Whether `event` reports on a spawn that is unknown or no longer current (judged before folding it). */
  isStale(e: RecordedEvent): boolean {
    const d = dataOf(e);
    const agent = this.agents.get(str(d.spawnId));
    switch (e.type) {
      case 'SignalRejected':
        return true;
      case 'AgentStarted':
      case 'AgentSpawnFailed':
        return agent?.status !== 'spawning';
      case 'AgentExited':
      case 'AgentLost':
      case 'BreakpointReported':
        return agent === undefined || agent.status === 'dead';
      case 'GateStarted':
      case 'GatePassed':
      case 'GateFailed':
      case 'MergeRequested':
      case 'BranchMerged':
      case 'MergeConflicted':
        return this.tasks.get(str(d.taskId))?.spawn !== str(d.spawnId);
      case 'RateLimited':
        return agent === undefined;
      default:
        return false;
    }
  }

  /** Folds one event into the model. */
  apply(e: RecordedEvent): void {
    const d = dataOf(e);
    const at = Date.parse(e.recordedAt);
    const task = this.tasks.get(str(d.taskId));
    const agent = this.agents.get(str(d.spawnId));
    // The task a spawn report is about, when that spawn is its task's current one.
    const current = agent === undefined ? undefined : this.tasks.get(agent.task);
    const isCurrent = current !== undefined && current.spawn === str(d.spawnId);
    switch (e.type) {
      case 'RunStarted': {
        const cfg = d.config as Data | undefined;
        if (cfg !== undefined && Object.hasOwn(cfg, 'budget')) this.budget = num(cfg.budget) ?? undefined;
        this.exhausted = false;
        return;
      }
      case 'PlanLoaded':
      case 'PlanRevised':
        this.loadPlan(d.plan as Plan);
        return;
      case 'BudgetExhausted':
        this.exhausted = true;
        return;
      case 'CiCompleted': {
        const ref = str(d.ref);
        // The merge whose commit CI tested (an old one too); any other ref is the tip.
        const seq = this.mergeSeqOf.get(ref) ?? this.mergeCount;
        if (d.result === 'pass') this.passedThrough = Math.max(this.passedThrough, seq);
        return;
      }
      case 'RateLimited': {
        if (agent === undefined) return;
        const reset = typeof d.resetAt === 'string' ? Date.parse(d.resetAt) : null;
        if (reset !== null) this.limitReset = Math.max(this.limitReset, reset);
        if (
          agent.status !== 'dead' &&
          isCurrent &&
          current.loop === 'live' &&
          current.limitedSpawn !== d.spawnId
        ) {
          current.limited += 1;
          current.limitedSpawn = str(d.spawnId);
        }
        return;
      }
      case 'AgentSpawnRequested': {
        const spawnId = str(d.spawnId);
        if (agent !== undefined || task === undefined) return;
        if (task.loop !== 'idle' || d.attempt !== task.attempts + 1) return;
        this.agents.set(spawnId, { task: str(d.taskId), status: 'spawning' });
        Object.assign(task, {
          loop: 'live',
          spawn: spawnId,
          attempts: d.attempt,
          retryAfter: null,
          notBefore: null,
          limitAfter: null,
          limitedFailure: false,
        });
        return;
      }
      case 'AgentStarted':
        if (agent?.status === 'spawning') agent.status = 'running';
        return;
      case 'AgentSpawnFailed':
        if (agent?.status !== 'spawning') return;
        agent.status = 'dead';
        if (isCurrent && current.loop === 'live') this.fail(current, at, false);
        return;
      case 'AgentLost':
        if (agent === undefined || agent.status === 'dead') return;
        agent.status = 'dead';
        if (isCurrent && current.loop === 'live') this.fail(current, at, false);
        return;
      case 'AgentExited': {
        if (agent === undefined || agent.status === 'dead') return;
        agent.status = 'dead';
        const usage = d.usage as Data | undefined;
        this.spentUsd += num(usage?.costUsd) ?? 0;
        if (!isCurrent || current.loop !== 'live') return;
        if (d.exitCode === 0 && !d.signal) current.loop = 'gate';
        else this.fail(current, at, current.limitedSpawn === d.spawnId);
        return;
      }
      case 'BreakpointReported':
        if (agent === undefined || agent.status === 'dead') return;
        if (isCurrent && current.loop === 'live' && d.kind === 'blocked') current.loop = 'blocked';
        return;
      case 'GatePassed':
        if (task !== undefined && task.spawn === d.spawnId && task.loop === 'gate') task.loop = 'merge';
        return;
      case 'GateFailed':
        if (task !== undefined && task.spawn === d.spawnId && task.loop === 'gate')
          this.fail(task, at, false);
        return;
      case 'BranchMerged':
        if (task !== undefined && task.spawn === d.spawnId && task.loop === 'merge') {
          task.loop = 'complete';
          this.mergeCount += 1;
          task.mergeSeq = this.mergeCount;
          task.mergeCommit = str(d.commit);
          if (!this.mergeSeqOf.has(task.mergeCommit)) this.mergeSeqOf.set(task.mergeCommit, this.mergeCount);
        }
        return;
      case 'MergeConflicted':
        if (task !== undefined && task.spawn === d.spawnId && task.loop === 'merge')
          this.fail(task, at, false);
        return;
      case 'RetryScheduled':
        if (task?.loop === 'retrying' && d.attempt === task.attempts + 1) {
          task.loop = 'idle';
          task.notBefore = Date.parse(str(d.notBefore));
        }
        return;
      case 'TaskUnblocked':
        if (task?.loop === 'pending' || task?.loop === 'blocked') {
          Object.assign(task, {
            loop: 'idle',
            retryAfter: null,
            notBefore: null,
            limitAfter: null,
            limitedFailure: false,
          });
        }
        return;
      case 'TaskCompleted':
        if (task !== undefined && task.loop !== 'complete' && task.loop !== 'final') task.loop = 'complete';
        return;
      case 'TaskFailed':
      case 'TaskCancelled':
        if (task !== undefined && task.loop !== 'complete' && task.loop !== 'final') task.loop = 'final';
        return;
      case 'TaskReopened':
        if (task?.loop === 'complete' && task.spawn !== null && task.spawn === d.spawnId)
          this.fail(task, at, false);
        return;
      case 'PhaseUnblocked':
      case 'PhaseBlocked':
      case 'PhaseStarted':
      case 'PhaseCompleted': {
        const id = str(d.phaseId);
        const value = this.phases.get(id);
        const next: Partial<Record<PhaseValue, PhaseValue>> =
          e.type === 'PhaseUnblocked'
            ? { blocked: 'ready' }
            : e.type === 'PhaseBlocked'
              ? { ready: 'blocked' }
              : e.type === 'PhaseStarted'
                ? { ready: 'in_progress' }
                : { ready: 'complete', in_progress: 'complete' };
        const to = value === undefined ? undefined : next[value];
        if (to !== undefined) this.phases.set(id, to);
        return;
      }
      default:
        return;
    }
  }

  private fail(task: TaskModel, at: number, limited: boolean): void {
    task.loop = 'retrying';
    task.retryAfter = at + this.config.retryInterval * 1000;
    // A limited attempt waits for the reset; when none is ahead, for at least one backoff.
    const backoff = at + (this.config.rateLimitBackoff ?? 300) * 1000;
    task.limitAfter = !limited ? null : this.limitReset <= at ? backoff : Math.min(this.limitReset, backoff);
    task.limitedFailure = limited;
  }

  private loadPlan(plan: Plan): void {
    this.plan = plan;
    const declaredPhases = new Set(plan.phases.filter((p) => p.status === 'complete').map((p) => p.id));
    const phases = new Map<string, PhaseValue>();
    for (const p of plan.phases) {
      if (!phases.has(p.id))
        phases.set(p.id, this.phases.get(p.id) ?? (declaredPhases.has(p.id) ? 'complete' : 'blocked'));
    }
    this.phases.clear();
    for (const [id, v] of phases) this.phases.set(id, v);
    const tasks = new Map<string, TaskModel>();
    for (const t of plan.tasks) {
      if (tasks.has(t.id)) continue;
      const declared = t.status === 'complete' || declaredPhases.has(t.phase);
      tasks.set(
        t.id,
        this.tasks.get(t.id) ?? {
          loop: declared ? 'complete' : 'pending',
          spawn: null,
          attempts: 0,
          limited: 0,
          limitedSpawn: null,
          retryAfter: null,
          notBefore: null,
          limitAfter: null,
          limitedFailure: false,
          mergeSeq: null,
          mergeCommit: null,
        },
      );
    }
    this.tasks.clear();
    for (const [id, v] of tasks) this.tasks.set(id, v);
  }

  /**
   * What is wrong with spawning `spawnId` for `taskId` (attempt `attempt`) at time `at`
   * (empty: nothing). Each problem is tagged with its rule.
   */
  spawnProblems(taskId: string, spawnId: string, attempt: number, at: number): [OracleRule, string][] {
    const out: [OracleRule, string][] = [];
    const planTask = this.plan?.tasks.find((t) => t.id === taskId);
    const task = this.tasks.get(taskId);
    if (planTask === undefined || task === undefined) {
      out.push([
        'spawnOnlyWhenReady',
        `agent ${spawnId} was spawned for task ${taskId}, which is not in the plan`,
      ]);
      return out;
    }
    const phase = this.plan?.phases.find((p) => p.id === planTask.phase);
    const phaseValue = this.phases.get(planTask.phase);
    const phaseWaits = (phase?.dependsOn ?? []).filter((id) => !this.depDone(id));
    if (phaseValue === undefined || phaseValue === 'blocked' || phaseWaits.length > 0) {
      const why = phaseWaits.length > 0 ? ` (it waits for ${phaseWaits.join(', ')})` : '';
      out.push([
        'spawnOnlyWhenReady',
        `agent ${spawnId} was spawned for task ${taskId} while its phase ${planTask.phase} is blocked${why}`,
      ]);
    }
    const open = planTask.dependsOn.filter((id) => !this.depDone(id));
    if (open.length > 0) {
      out.push([
        'spawnOnlyWhenReady',
        `agent ${spawnId} was spawned for task ${taskId} before its dependencies ${open.join(', ')} completed`,
      ]);
    }
    if (task.loop !== 'idle' && task.loop !== 'live') {
      out.push([
        'spawnOnlyWhenReady',
        `agent ${spawnId} was spawned for task ${taskId}, which is ${task.loop}`,
      ]);
    }
    if (this.liveOf(taskId) > 0) {
      out.push([
        'oneLiveAgentPerTask',
        `agent ${spawnId} was spawned for task ${taskId} while another agent of it is live`,
      ]);
    }
    if (this.liveCount() + 1 > this.config.maxConcurrent) {
      out.push([
        'maxConcurrent',
        `spawning agent ${spawnId} made ${this.liveCount() + 1} agents live, more than maxConcurrent ${this.config.maxConcurrent}`,
      ]);
    }
    if (attempt - task.limited > this.config.maxRetries + 1) {
      out.push([
        'attemptsWithinRetries',
        `task ${taskId} was spawned for attempt ${attempt} (${task.limited} stopped by a rate limit), more than maxRetries + 1 = ${this.config.maxRetries + 1}`,
      ]);
    }
    if (this.budget !== undefined && this.spentUsd >= this.budget) {
      out.push([
        'noSpawnPastBudget',
        `agent ${spawnId} was spawned with $${this.spentUsd} spent of a $${this.budget} budget`,
      ]);
    } else if (this.exhausted) {
      out.push([
        'noSpawnPastBudget',
        `agent ${spawnId} was spawned after BudgetExhausted, before a run raised the budget`,
      ]);
    }
    const iso = (ms: number) => new Date(ms).toISOString();
    if (task.loop === 'idle' && task.retryAfter !== null && at < task.retryAfter) {
      out.push([
        'noSpawnBeforeRetryTime',
        `agent ${spawnId} was spawned for task ${taskId} at ${iso(at)}, before retryInterval after its failed attempt (${iso(task.retryAfter)})`,
      ]);
    } else if (task.loop === 'idle' && task.notBefore !== null && at < task.notBefore) {
      out.push([
        'noSpawnBeforeRetryTime',
        `agent ${spawnId} was spawned for task ${taskId} at ${iso(at)}, before its retry's notBefore ${iso(task.notBefore)}`,
      ]);
    }
    if (at < this.limitReset) {
      out.push([
        'noSpawnBeforeRateLimitReset',
        `agent ${spawnId} was spawned at ${iso(at)}, before the rate limit resets at ${iso(this.limitReset)}`,
      ]);
    } else if (task.loop === 'idle' && task.limitAfter !== null && at < task.limitAfter) {
      out.push([
        'noSpawnBeforeRateLimitReset',
        `agent ${spawnId} was spawned for task ${taskId} at ${iso(at)}, before the backoff after its rate-limited attempt (${iso(task.limitAfter)})`,
      ]);
    } else {
      // While a rate-limited attempt's retry waits out its backoff, no task is spawned.
      for (const [id, other] of this.tasks) {
        if (
          other.loop !== 'idle' ||
          !other.limitedFailure ||
          other.notBefore === null ||
          at >= other.notBefore
        )
          continue;
        out.push([
          'noSpawnBeforeRateLimitReset',
          `agent ${spawnId} was spawned at ${iso(at)} while task ${id} waits out a rate-limit backoff until ${iso(other.notBefore)}`,
        ]);
        break;
      }
    }
    return out;
  }

  /** What is wrong with requesting milestone `id`'s pull request now (CI configured), or null. */
  pullRequestProblem(id: string): string | null {
    const provider = this.config.ci?.provider ?? 'none';
    if (provider === 'none' || this.plan === null) return null;
    const phases = new Set(this.plan.phases.filter((p) => p.milestone === id).map((p) => p.id));
    for (const t of this.plan.tasks) {
      if (!phases.has(t.phase)) continue;
      const task = this.tasks.get(t.id);
      if (task?.loop !== 'complete')
        return `the pull request of milestone ${id} was requested while its task ${t.id} is ${task?.loop ?? 'unknown'}`;
      if (task.mergeSeq !== null && task.mergeSeq > this.passedThrough)
        return `the pull request of milestone ${id} was requested before CI passed on the merge of task ${t.id} (${task.mergeCommit})`;
    }
    return null;
  }

  /** How the real fold's state differs from the model, or null. */
  disagreement(s: OrchState): string | null {
    for (const [id, t] of this.tasks) {
      const value = s.tasks[id]?.value;
      if (value === undefined || LOOP_OF[value] !== t.loop)
        return `task ${id} is ${value ?? 'missing'} in the fold, ${t.loop} in the model`;
    }
    if (Object.keys(s.tasks).length !== this.tasks.size) return 'the fold has other tasks than the model';
    for (const [id, p] of this.phases) {
      if (s.phases[id]?.value !== p)
        return `phase ${id} is ${s.phases[id]?.value ?? 'missing'} in the fold, ${p} in the model`;
    }
    for (const [id, a] of this.agents) {
      const status = s.agents[id]?.status;
      const live = status === 'spawning' || status === 'running';
      if (live !== (a.status !== 'dead'))
        return `agent ${id} is ${status ?? 'missing'} in the fold, ${a.status} in the model`;
    }
    if (Math.abs(s.costUsd - this.spentUsd) > 1e-9)
      return `the fold has spent ${s.costUsd}, the model ${this.spentUsd}`;
    return null;
  }
}

/** State JSON without the log position (what a stale report must not change). */
const comparable = (s: OrchState) => JSON.stringify({ ...s, position: 0, updatedAt: null });

/**
 * Every rule over a whole log: the first violation of each. `rules` narrows the check;
 * `engine` replaces the machines' steppers of the fold that is compared with the model.
 *
 * @example
 * expect(checkHistory(run.log, config)).toEqual([]);
 */
export function checkHistory(
  log: readonly RecordedEvent[],
  config: OracleConfig,
  rules?: readonly OracleRule[],
  engine?: MachineEngine,
): OracleViolation[] {
  const model = new OracleModel(config);
  // The fold under test (its engine is swappable so a test can show a faulty fold is caught).
  const fold = new Replayer(undefined, engine);
  const found: OracleViolation[] = [];
  const seen = new Set<OracleRule>();
  const report = (rule: OracleRule, position: number, message: string) => {
    if (seen.has(rule) || (rules !== undefined && !rules.includes(rule))) return;
    seen.add(rule);
    found.push({ rule, position, message });
  };
  for (const e of log) {
    const d = dataOf(e);
    if (e.type === 'AgentSpawnRequested') {
      const problems = model.spawnProblems(
        str(d.taskId),
        str(d.spawnId),
        num(d.attempt) ?? 0,
        Date.parse(e.recordedAt),
      );
      for (const [rule, message] of problems) report(rule, e.position, message);
    }
    if (e.type === 'PullRequestRequested') {
      const problem = model.pullRequestProblem(str(d.milestoneId));
      if (problem !== null) report('pullRequestAfterCi', e.position, problem);
    }
    const stale = model.isStale(e);
    const before = stale ? comparable(fold.state) : null;
    model.apply(e);
    fold.apply(e);
    if (before !== null && comparable(fold.state) !== before)
      report(
        'staleReportsChangeNothing',
        e.position,
        `stale report ${e.type} for spawn ${str(d.spawnId)} changed the state`,
      );
    const differs = model.disagreement(fold.state);
    if (differs !== null) report('foldAgreesWithModel', e.position, `after ${e.type}: ${differs}`);
  }
  return found;
}
