import type { MachineState, TaskContext } from '../machines/index.js';
import { countedAttempts } from '../machines/index.js';
import type { TaskIndex } from './task-index.js';
import type { Plan } from '../plan/model.js';
import type { Command, SpawnAgentCommand } from './commands.js';
import type { OrchestratorConfig } from './config.js';
import { bestOfFor } from './config.js';
import { dependencyMet, planIndex } from './plan-index.js';
import type { PlanIndex } from './plan-index.js';
import { getOwn } from './record.js';
import type { OrchState } from './state.js';
import { effectiveBudget, isLiveAgent, ownedByOtherWorker } from './state.js';

/** The settings `decide` reads (an `OrchestratorConfig` has them all). */
export type DecideConfig = Pick<
  OrchestratorConfig,
  'maxConcurrent' | 'maxRetries' | 'retryInterval' | 'autoMerge' | 'budget' | 'gate'
> &
  Partial<Pick<OrchestratorConfig, 'rateLimitBackoff' | 'ci' | 'roles' | 'maxConcurrentTotal'>>;

/** Optional narrowing of what `decide` may spawn. */
export interface DecideOptions {
  /** Only spawn agents for these tasks (`orch spawn T1 T2`); bookkeeping still covers all. */
  tasks?: readonly string[];
  /**
   * Workers on a shared log: this worker's membership (its run id). `maxConcurrent` then counts
   * only its own live agents (`maxConcurrentTotal` caps all of them), and a gate or merge of a
   * spawn another active worker owns is left to that worker.
   */
  self?: string;
  /**
   * The spawn ids of `state`'s live agents (spawning or running), when the caller keeps them
   * (`Replayer.liveAgents`, `LiveLog.liveAgents`): `decide` then counts live agents from it
   * instead of walking every agent ever spawned. It must be exactly what that walk finds.
   */
  live?: ReadonlySet<string>;
  /**
   * The tasks of `state` grouped as the fold keeps them (`Replayer.taskIndex`): `decide` then
   * goes over the unfinished tasks and only the ready ones it can spawn, not every task of
   * the plan. It must be the index of exactly this state.
   */
  taskIndex?: TaskIndex;
}

/**
 * The commands that should happen next, given the state, the plan, the config and the
 * time `now` (epoch ms, from the caller's clock). Pure. In order: the budget halt, tasks to
 * reopen after a failing CI result (alone: the rest is decided once they are reopened), milestone
 * completions and pull requests, phase changes (in phase priority order), then per task in
 * priority order its bookkeeping (unblock, retry or fail, gate, merge), and last the spawns
 * — each preceded by `StartPhase` when its phase is still only ready — within `maxConcurrent`.
 *
 * It never spawns for a task whose phase is blocked or waits for an unfinished phase (a
 * revised plan may add one to a started phase), or whose dependencies are incomplete,
 * a second agent for a task with a live or unresolved agent, before a retry's `notBefore`
 * or a rate limit's reset, past the budget, or beyond `maxRetries + 1` counted attempts.
 *
 * Best of N (a task's `bestOf`, else `roles.<role>.bestOf`): an attempt spawns N lanes, each
 * a live agent within `maxConcurrent` (lanes that find no free slot are spawned as slots
 * free up); each lane that exits cleanly gets its own gate; once one lane's gate passed, every
 * other lane is superseded (`SupersedeLane`) and the winner is merged. All N failing fails
 * the attempt once (one attempt against `maxRetries`).
 *
 * Rate limits: an attempt whose agent reported a usage/rate limit (`RateLimited`) is not
 * counted against `maxRetries`. Its retry waits for the reported reset (`rateLimitedUntil`),
 * or, when the agent gave no reset time, for a backoff of `rateLimitBackoff` seconds doubling
 * with each limited attempt of the task (at most 16×); no task is spawned while either wait runs.
 *
 * @example
 * for (const command of decide(state, state.plan, config, clock.now())) await perform(command);
 */
export function decide(
  state: OrchState,
  plan: Plan | null,
  config: DecideConfig,
  now: number,
  options: DecideOptions = {},
): Command[] {
  if (plan === null) return [];
  const index = planIndex(plan);
  const out: Command[] = [];
  // The configured budget plus what people raised it by (BudgetRaised).
  const budget = effectiveBudget(state, config.budget);
  const budgetHit = budget !== undefined && state.costUsd >= budget;
  if (budgetHit && state.budgetExhausted === null) {
    out.push({ type: 'HaltForBudget', spentUsd: state.costUsd, budget });
  }
  // Reopening changes what is complete: decide the rest on the state after it.
  decideCiFailure(state, out);
  if (out.some((c) => c.type === 'ReopenTask')) return out;
  decideMilestones(state, index, config, out);
  decidePhases(state, index, out);
  let slots = config.maxConcurrent - liveCount(state, options.self, options.live);
  if (config.maxConcurrentTotal !== undefined)
    slots = Math.min(slots, config.maxConcurrentTotal - liveCount(state, undefined, options.live));
  const only = options.tasks === undefined ? null : new Set(options.tasks);
  const tasks = decideTasks(state, index, config, now, out, {
    ...options,
    slots: budgetHit ? 0 : slots,
    only,
  });
  const rateLimited = now < limitPauseEnd(state, tasks.limitedUntil, out);
  if (!budgetHit && !rateLimited) spawn(state, index, config, tasks.candidates, slots, only, out);
  return out;
}

const isComplete = (entry: { value: string } | undefined) =>
  entry !== undefined && isCompleteValue(entry.value);
const isCompleteValue = (value: string) =>
  value === 'complete' || value === 'prRequested' || value === 'prOpened';

function decideMilestones(state: OrchState, index: PlanIndex, config: DecideConfig, out: Command[]): void {
  for (const m of index.plan.milestones) {
    const entry = getOwn(state.milestones, m.id);
    if (entry === undefined) continue;
    if (entry.value === 'open') {
      // A milestone with no phases has nothing done: it stays open and opens no pull request.
      const phases = index.milestonePhases.get(m.id) ?? [];
      if (phases.length > 0 && phases.every((p) => isComplete(getOwn(state.phases, p)))) {
        out.push({ type: 'CompleteMilestone', milestoneId: m.id });
      }
    } else if (
      entry.value === 'complete' &&
      config.autoMerge &&
      !entry.context.declaredComplete &&
      ciPassedFor(state, index, m.id, config)
    ) {
      out.push({ type: 'RequestPullRequest', milestoneId: m.id });
    }
  }
}

/**
 * With CI configured (`local` or `external`), a milestone's pull request waits until CI has
 * judged every merge of its tasks and they are all still complete (a failing result reopens
 * them; their fixes are merged and judged again). Without CI there is nothing to wait for.
 */
function ciPassedFor(state: OrchState, index: PlanIndex, milestoneId: string, config: DecideConfig): boolean {
  const provider = config.ci?.provider ?? 'none';
  if (provider === 'none') return true;
  const pending = new Set((state.mergesSinceCi ?? []).map((m) => m.taskId));
  for (const phaseId of index.milestonePhases.get(milestoneId) ?? []) {
    for (const taskId of index.phases.get(phaseId)?.tasks ?? []) {
      if (pending.has(taskId) || getOwn(state.tasks, taskId)?.value !== 'complete') return false;
    }
  }
  return true;
}

function decidePhases(state: OrchState, index: PlanIndex, out: Command[]): void {
  for (const id of index.phaseOrder) {
    const entry = getOwn(state.phases, id);
    const phase = index.phases.get(id);
    if (entry === undefined || phase === undefined) continue;
    const pendingDeps = phase.dependsOn.filter((d) => !isComplete(getOwn(state.phases, d)));
    if (entry.value === 'blocked' && pendingDeps.length === 0) {
      out.push({ type: 'UnblockPhase', phaseId: id });
    } else if (entry.value === 'ready' && pendingDeps.length > 0) {
      out.push({ type: 'BlockPhase', phaseId: id, reason: `waits for phase ${pendingDeps.join(', ')}` });
    } else if (entry.value === 'ready' || entry.value === 'in_progress') {
      const tasks = index.phaseTasks.get(id) ?? [];
      // From the last task back: tasks finish roughly in order, so an unfinished one is met
      // early instead of after every finished one (a pass that grew with the run).
      let done = true;
      for (let i = tasks.length - 1; i >= 0 && done; i--)
        done = isComplete(getOwn(state.tasks, tasks[i] ?? ''));
      if (done) out.push({ type: 'CompletePhase', phaseId: id });
    }
  }
}

/**
 * A failing CI result reopens every task whose merge it judged (see `mergesSinceCi`): each gets a
 * new attempt (its phase and milestone stay complete; the fix is merged like any attempt).
 */
function decideCiFailure(state: OrchState, out: Command[]): void {
  const ci = state.ci;
  if (ci === null || ci.result !== 'fail') return;
  for (const taskId of ci.toReopen ?? []) {
    const entry = getOwn(state.tasks, taskId);
    if (entry?.value !== 'complete' || entry.context.spawnId === null) continue;
    out.push({
      type: 'ReopenTask',
      taskId,
      spawnId: entry.context.spawnId,
      reason: `CI failed after its merge${ci.ref ? ` (${ci.ref.slice(0, 12)})` : ''}`,
      ciPosition: ci.position,
    });
  }
}

/**
 * The tasks `decideTasks` goes over, in priority order: every one without a task index;
 * with one (kept by the fold), the unfinished ones and of the ready ones (without lanes)
 * only as many as are taken while `wanting()` — the free slots — unless one of them may
 * have used up its retries (then all, for its `FailTask`). A ready task passed over would
 * have asked for nothing: no lanes to supersede, retries left, no slot to spawn in.
 */
function* visitOrder(
  index: PlanIndex,
  tasks: TaskIndex | undefined,
  maxAttempts: number,
  wanting: () => boolean,
): Iterable<string> {
  if (tasks === undefined) {
    yield* index.taskOrder;
    return;
  }
  const rank = (id: string) => index.taskRank.get(id) ?? Number.MAX_SAFE_INTEGER;
  const fixed = [...tasks.active].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  const ready = tasks.ready;
  const mayFail = tasks.maxReadyCounted() >= maxAttempts;
  let i = 0;
  let j = 0;
  for (;;) {
    const takeReady = j < ready.length && (mayFail || wanting());
    const f = fixed[i];
    const r = ready[j];
    if (f !== undefined && (!takeReady || r === undefined || rank(f) < rank(r))) {
      i += 1;
      yield f;
    } else if (takeReady && r !== undefined) {
      j += 1;
      yield r;
    } else return;
  }
}

/**
 * Emits task bookkeeping; returns the tasks that may be spawned now, in priority order, and
 * the latest backoff end of a rate-limited retry already recorded (`retryWait`). Candidates
 * stop once `slots` of them pass `only`: each takes at least one slot, so `spawn` would never
 * reach the rest (and the tasks past them need not be looked at for it).
 */
function decideTasks(
  state: OrchState,
  index: PlanIndex,
  config: DecideConfig,
  now: number,
  out: Command[],
  options: DecideOptions & { slots: number; only: ReadonlySet<string> | null },
): { candidates: string[]; limitedUntil: number } {
  const { self, only } = options;
  let wanted = options.slots;
  const maxAttempts = config.maxRetries + 1;
  const live = liveTasks(state, options.live);
  const elsewhere = (spawnId: string) =>
    ownedByOtherWorker(state, getOwn(state.agents, spawnId)?.runId ?? null, self);
  const candidates: string[] = [];
  const candidate = (id: string) => {
    candidates.push(id);
    if (only === null || only.has(id)) wanted -= 1;
  };
  let limitedUntil = Number.NEGATIVE_INFINITY;
  const phaseDeps = new Map<string, boolean>();
  // The fold's task index serves only the state's own plan.
  const taskIndex = index.plan === state.plan ? options.taskIndex : undefined;
  for (const id of visitOrder(index, taskIndex, maxAttempts, () => wanted > 0)) {
    const entry = getOwn(state.tasks, id);
    // A finished task without lanes asks for nothing: most of a long plan, passed over cheaply.
    if (
      entry === undefined ||
      ((entry.value === 'complete' || entry.value === 'failed') && !entry.context.lanes)
    )
      continue;
    const task = index.tasks.get(id);
    if (task === undefined) continue;
    const ctx = entry.context;
    // A phase's own dependencies hold its tasks too: a revision may give a ready or started
    // phase an unfinished dependency (a ready one is blocked this tick, a started one stays started).
    // Worked out only for the states that ask (`taskOpen`; no closure per task: this loop
    // runs over the whole plan every turn).
    supersede(state, id, ctx, out);
    switch (entry.value) {
      case 'pending':
        if (taskOpen(state, index, task, phaseDeps))
          out.push({ type: 'UnblockTask', taskId: id, reason: 'dependencies' });
        break;
      case 'racing':
        for (const lane of ctx.lanes ?? []) {
          if (lane.state === 'exited' && !elsewhere(lane.spawnId))
            out.push({
              type: 'RunGate',
              taskId: id,
              spawnId: lane.spawnId,
              command: config.gate?.command ?? null,
            });
        }
        // Lanes not spawned yet (no free slot, or a crash between two lanes' requests); like any
        // spawn, only while the task's phase and dependencies are open (a revision may close them).
        if (
          wanted > 0 &&
          taskOpen(state, index, task, phaseDeps) &&
          (ctx.lanes?.length ?? 0) < (ctx.laneTotal ?? 0)
        )
          candidate(id);
        break;
      case 'blocked': {
        const reason = blockResolved(state, index, entry);
        if (reason !== null) out.push({ type: 'UnblockTask', taskId: id, reason });
        break;
      }
      case 'retrying':
        if (countedAttempts(ctx) >= maxAttempts) {
          out.push({ type: 'FailTask', taskId: id, reason: exhausted(ctx) });
        } else {
          const wait = Math.max(now + config.retryInterval * 1000, limitWaitEnd(state, ctx, config, now));
          const reason = ctx.lastFailure?.detail ?? 'attempt failed';
          out.push({
            type: 'ScheduleRetry',
            taskId: id,
            attempt: ctx.attempts + 1,
            notBefore: iso(wait),
            reason,
          });
        }
        break;
      case 'awaitingGate':
        if (ctx.spawnId !== null && !elsewhere(ctx.spawnId)) {
          out.push({
            type: 'RunGate',
            taskId: id,
            spawnId: ctx.spawnId,
            command: config.gate?.command ?? null,
          });
        }
        break;
      case 'awaitingMerge':
        if (ctx.spawnId !== null && !elsewhere(ctx.spawnId))
          out.push({ type: 'RequestMerge', taskId: id, spawnId: ctx.spawnId });
        break;
      case 'ready':
      case 'retryWait':
        if (entry.value === 'retryWait' && ctx.lastFailure?.kind === 'limit' && ctx.notBefore !== null)
          limitedUntil = Math.max(limitedUntil, Date.parse(ctx.notBefore));
        if (countedAttempts(ctx) >= maxAttempts) {
          // maxRetries may have been lowered since the retry was planned, or a block used the last one.
          out.push({ type: 'FailTask', taskId: id, reason: exhausted(ctx) });
        } else if (
          wanted > 0 &&
          !live.has(id) &&
          (entry.value === 'ready' || ctx.notBefore === null || Date.parse(ctx.notBefore) <= now) &&
          taskOpen(state, index, task, phaseDeps)
        ) {
          candidate(id);
        }
        break;
    }
  }
  return { candidates, limitedUntil };
}

/** Whether every phase `phaseId` depends on is complete (memoised in `memo` for one tick). */
function phaseDepsMet(
  state: OrchState,
  index: PlanIndex,
  phaseId: string,
  memo: Map<string, boolean>,
): boolean {
  const known = memo.get(phaseId);
  if (known !== undefined) return known;
  const met = (index.phases.get(phaseId)?.dependsOn ?? []).every((d) => isComplete(getOwn(state.phases, d)));
  memo.set(phaseId, met);
  return met;
}

function spawn(
  state: OrchState,
  index: PlanIndex,
  config: DecideConfig,
  candidates: readonly string[],
  free: number,
  only: ReadonlySet<string> | null,
  out: Command[],
): void {
  let slots = free;
  const started = new Set<string>();
  for (const id of candidates) {
    if (slots <= 0) return;
    if (only !== null && !only.has(id)) continue;
    const task = index.tasks.get(id);
    const entry = getOwn(state.tasks, id);
    if (task === undefined || entry === undefined) continue;
    if (getOwn(state.phases, task.phase)?.value === 'ready' && !started.has(task.phase)) {
      out.push({ type: 'StartPhase', phaseId: task.phase });
      started.add(task.phase);
    }
    const ctx = entry.context;
    // A race keeps the lane count it started with; a new attempt takes the plan's and config's.
    const racing = entry.value === 'racing';
    const lanes = racing ? (ctx.laneTotal ?? 1) : bestOfFor(config, task);
    const attempt = racing ? ctx.attempts : ctx.attempts + 1;
    for (let lane = racing ? (ctx.lanes?.length ?? 0) + 1 : 1; lane <= lanes && slots > 0; lane++) {
      const command: SpawnAgentCommand = {
        type: 'SpawnAgent',
        taskId: id,
        phaseId: task.phase,
        attempt,
        role: task.role,
        ...(lanes > 1 ? { lane, lanes } : {}),
      };
      out.push(command);
      slots -= 1;
    }
  }
}

/**
 * Best of N: every lane the task machine superseded (another lane's gate passed first) whose
 * agent is not yet marked superseded gets `SupersedeLane` (its live agent is stopped).
 */
/** Whether a task's phase is open and its phase's and its own dependencies are met. */
function taskOpen(
  state: OrchState,
  index: PlanIndex,
  task: { phase: string; dependsOn: readonly string[] },
  phaseDeps: Map<string, boolean>,
): boolean {
  const phase = getOwn(state.phases, task.phase);
  return (
    phase !== undefined &&
    phase.value !== 'blocked' &&
    phaseDepsMet(state, index, task.phase, phaseDeps) &&
    task.dependsOn.every((d) => dependencyMet(state, index, d))
  );
}

function supersede(state: OrchState, taskId: string, ctx: TaskContext, out: Command[]): void {
  const lanes = ctx.lanes ?? null;
  if (lanes === null) return;
  const winner = lanes.find((l) => l.state === 'won');
  if (winner === undefined) return;
  for (const lane of lanes) {
    if (lane.state !== 'superseded' || getOwn(state.agents, lane.spawnId)?.superseded === true) continue;
    if (getOwn(state.agents, lane.spawnId) === undefined) continue;
    out.push({
      type: 'SupersedeLane',
      taskId,
      spawnId: lane.spawnId,
      lane: lane.lane,
      winner: winner.spawnId,
      winnerLane: winner.lane,
    });
  }
}

const exhausted = (ctx: TaskContext) =>
  `retries used up after ${countedAttempts(ctx)} attempt(s)` +
  ((ctx.rateLimited ?? 0) > 0 ? ` (and ${ctx.rateLimited} stopped by a rate limit)` : '') +
  (ctx.lastFailure ? `; last: ${ctx.lastFailure.detail}` : '');

/** Default `rateLimitBackoff` (seconds) when the config has none. */
const DEFAULT_LIMIT_BACKOFF_S = 300;

/**
 * When the retry of a rate-limited attempt may start: the reported reset if it is ahead,
 * else a backoff that doubles with each limited attempt. `-Infinity` for other failures.
 */
function limitWaitEnd(state: OrchState, ctx: TaskContext, config: DecideConfig, now: number): number {
  const reset = rateLimitEnd(state);
  if (ctx.lastFailure?.kind !== 'limit') return reset;
  if (reset > now) return reset;
  const base = (config.rateLimitBackoff ?? DEFAULT_LIMIT_BACKOFF_S) * 1000;
  return now + base * 2 ** Math.min(Math.max((ctx.rateLimited ?? 0) - 1, 0), 4);
}

/**
 * Until when nothing is spawned: the reported reset, or the latest backoff of a limited
 * retry — already recorded (`retryWait`) or being scheduled now (in `planned`).
 */
function limitPauseEnd(state: OrchState, recorded: number, planned: readonly Command[]): number {
  // `recorded`: the latest `notBefore` of a rate-limited `retryWait` task (from decideTasks).
  let end = Math.max(rateLimitEnd(state), recorded);
  const limited = (taskId: string) => getOwn(state.tasks, taskId)?.context.lastFailure?.kind === 'limit';
  for (const cmd of planned) {
    if (cmd.type === 'ScheduleRetry' && limited(cmd.taskId)) end = Math.max(end, Date.parse(cmd.notBefore));
  }
  return end;
}

const iso = (ms: number) => new Date(ms).toISOString();

const rateLimitEnd = (state: OrchState) =>
  state.rateLimitedUntil === null ? Number.NEGATIVE_INFINITY : Date.parse(state.rateLimitedUntil);

/**
 * Whether what a blocked task waits for has happened: `ci` needs a passing CI result
 * recorded after the block (a fail keeps it waiting for the fix and the next pass), task
 * (or phase) ids need those complete. `person` (or anything else) needs
 * a person: `decide` never unblocks it.
 */
function blockResolved(
  state: OrchState,
  index: PlanIndex,
  entry: MachineState<TaskContext>,
): 'ci' | 'tasks' | null {
  const on = entry.context.blockedOn ?? ['person'];
  let ci = false;
  for (const what of on) {
    if (what === 'ci') {
      const result = state.ci;
      if (result === null || result.result !== 'pass' || result.position <= (entry.context.blockedAt ?? 0))
        return null;
      ci = true;
    } else if (what !== entry.context.taskId && (index.tasks.has(what) || index.phases.has(what))) {
      if (!dependencyMet(state, index, what)) return null;
    } else {
      return null;
    }
  }
  return ci ? 'ci' : 'tasks';
}

/** Tasks with a live (or not yet reconciled) agent. */
function liveTasks(state: OrchState, live?: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  if (live !== undefined) {
    for (const spawnId of live) {
      const agent = getOwn(state.agents, spawnId);
      if (agent !== undefined) out.add(agent.task);
    }
    return out;
  }
  for (const spawnId in state.agents) {
    const agent = state.agents[spawnId];
    if (agent !== undefined && isLiveAgent(agent)) out.add(agent.task);
  }
  return out;
}

/** Live agents: all of them, or only those of the membership `self` (a worker's own). */
function liveCount(state: OrchState, self?: string, live?: ReadonlySet<string>): number {
  if (live !== undefined) {
    if (self === undefined) return live.size;
    let mine = 0;
    for (const spawnId of live) if (getOwn(state.agents, spawnId)?.runId === self) mine += 1;
    return mine;
  }
  let n = 0;
  for (const spawnId in state.agents) {
    const agent = state.agents[spawnId];
    if (agent !== undefined && isLiveAgent(agent) && (self === undefined || agent.runId === self)) n += 1;
  }
  return n;
}
