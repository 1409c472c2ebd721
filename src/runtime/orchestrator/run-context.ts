import fs from 'node:fs';
import os from 'node:os';
import type { OrchestratorConfig } from '../../core/config.js';
import type { RecordedEvent } from '../../core/envelope.js';
import { streamIds } from '../../core/events.js';
import {
  goalSelection,
  isSelectionProblem,
  selectionProblem,
  type GoalSelection,
  type TaskSelection,
} from '../../core/selection.js';
import type { OrchState } from '../../core/state.js';
import { buildPlanGraph, declaredCompletion } from '../../plan/index.js';
import type { Plan } from '../../plan/model.js';
import type { EventStore } from '../../store/event-store.js';
import { firstDifference, preview } from '../../core/diff.js';
import { planDiff, planRecord } from '../../core/plan-revision.js';
import { ConcurrencyError } from '../../store/errors.js';
import { logLocation } from '../log/location.js';
import { WorkerMembership } from './workers.js';
import { createLog } from '../log/open.js';
import { AgentSupervisor } from '../agents/supervisor.js';
import { checkAgentFiles } from '../project/agent-files.js';
import { openTargetWorkspaces, resolveTargets, UnknownTargetError } from '../git/targets.js';
import { TaskRouter } from '../git/task-router.js';
import { WorkspaceManager } from '../git/workspace.js';
import { LiveLog } from '../log/live-log.js';
import { loadStateSnapshot, saveSnapshot } from '../log/snapshots.js';
import { loadConfig } from '../project/config.js';
import { recordPlan } from '../project/plan-recording.js';
import { steadyClock, type Clock } from '../system/clock.js';
import { acquireLease, type Lease } from '../system/lease.js';
import { notifyRuleKey } from '../../core/notify.js';
import { createEffects, type Effects } from './effects.js';
import { Notifier } from './notifier.js';
import { OrchestratorError, selectionError } from './errors.js';
import type { InFlight } from './in-flight.js';
import type { OrchestratorOptions } from './options.js';
import { openPlanFiles, StatusChanges, type PlanWatch } from './plan-watch.js';
import { checkIntegrationKept } from './integration-guard.js';
import { reconcile } from './reconcile.js';
import { createReviewWatch, type ReviewWatch } from './review-watch.js';
import type { WarningSink } from './warnings.js';

/**
 * Everything one run works with, fully built by {@link openRun}: the lease on the state
 * directory, the log, the plan files, the workspaces and agents, the effects, and what is
 * in flight. Closed once, by {@link closeRun}.
 */
export interface RunContext {
  readonly runId: string;
  readonly repoDir: string;
  readonly stateDir: string;
  readonly config: OrchestratorConfig;
  readonly clock: Clock;
  /**
   * What decisions and timers go by (a retry's `notBefore`, the wait for it): `clock`'s
   * time at the start of the run advanced by its monotonic clock (see `steadyClock`), so a
   * wall clock set back or forward mid-run neither holds a retry back nor fires it early.
   */
  readonly timers: Clock;
  /** Which tasks the run may spawn agents for. */
  readonly selection: TaskSelection;
  /** With `goal`: what the goal chose and why (null without a goal). */
  readonly goal: GoalSelection | null;
  /** How often the loop looks for events written by other processes (ms). */
  readonly pollIntervalMs: number;
  /** On stop, leave running agents alive (a later run re-attaches to them). */
  readonly leaveAgentsOnStop: boolean;
  readonly lease: Lease;
  readonly store: EventStore;
  readonly log: LiveLog;
  readonly planFiles: PlanWatch;
  readonly agents: AgentSupervisor;
  readonly effects: Effects;
  /** The reviews of milestone pull requests (`pr.reviews`); null when off. */
  readonly reviews: ReviewWatch | null;
  readonly inFlight: InFlight;
  /** Spawns being stopped because a person cancelled their task. */
  readonly stopping: Set<string>;
  /** `notify`: the deliveries of this run (null when no rule is configured). */
  readonly notifier: Notifier | null;
  /** Workers on a shared log: this worker's membership (null: the one process of a run). */
  readonly membership: WorkerMembership | null;
  /** Set once the store is closed and the lease released. */
  closed: boolean;
}

/** What {@link openRun} needs besides the options. */
export interface RunSetup {
  runId: string;
  repoDir: string;
  stateDir: string;
  clock: Clock;
  options: OrchestratorOptions;
  inFlight: InFlight;
  warn: WarningSink;
}

/**
 * Sets up a run: takes the lease, opens the log (from the state snapshot, folding the tail),
 * reads the plan files and checks the selection against them, opens the workspaces (main and
 * targets), records the plan and `RunStarted`, and reconciles every intent an earlier run
 * left without an outcome. Throws `LeaseHeldError` (exit 3) when another orch process holds
 * the state directory; on any failure, what was opened is closed again.
 *
 * @example
 * const ctx = await openRun({ runId, repoDir, stateDir, clock, options, inFlight, warn });
 */
export async function openRun(setup: RunSetup): Promise<RunContext> {
  const { runId, repoDir, stateDir, clock, options, inFlight } = setup;
  let lease: Lease | undefined;
  let store: EventStore | undefined;
  try {
    const config = options.config ?? loadConfig(repoDir);
    const targets = resolveTargets(repoDir, config);
    checkAgentFiles(repoDir, config);
    const wanted = options.target;
    if (wanted !== undefined && !targets.some((t) => t.id === wanted)) {
      throw new UnknownTargetError(
        wanted,
        targets.map((t) => t.id),
      );
    }
    fs.mkdirSync(stateDir, { recursive: true });
    lease = await acquireLease(stateDir, { runId, clock });
    const location = logLocation(stateDir, config.store?.url);
    const timers = steadyClock(clock);
    const logUrl =
      location.kind === 'postgres' ? location.url : location.shared ? `file:${location.file}` : undefined;
    store = createLog(location, {
      clock: () => clock.now(),
      ...(options.durability ? { durability: options.durability } : {}),
    });
    const changes = new StatusChanges();
    const notifyTap: { notifier: Notifier | null } = { notifier: null };
    const log = openLog(
      store,
      runId,
      changes,
      options.onEvent,
      setup.warn,
      config.notify?.length ? (event) => notifyTap.notifier?.offer(event) : undefined,
    );
    const workerName =
      options.worker ??
      (location.kind === 'postgres' || location.shared ? `${os.hostname()}:${process.pid}` : undefined);
    const { plan, watch: planFiles } = openPlanFiles({
      repoDir,
      config,
      ...(options.planDir === undefined ? {} : { planDir: options.planDir }),
      ...(options.agentCommand === undefined ? {} : { agentCommand: options.agentCommand }),
      changes,
      warn: setup.warn,
    });
    const goal = options.goal === undefined ? null : chooseByGoal(plan, log.state, options.goal);
    const named = [...(options.tasks ?? []), ...(goal?.tasks ?? [])];
    const selection = {
      ...(named.length === 0 ? {} : { tasks: [...new Set(named)] }),
      ...(options.role === undefined ? {} : { role: options.role }),
      ...(options.target === undefined ? {} : { target: options.target }),
      ...(config.defaultTarget === undefined ? {} : { defaultTarget: config.defaultTarget }),
    };
    const problem = selectionProblem(plan, selection);
    if (problem !== null) throw selectionError(problem);
    const workspaces = await WorkspaceManager.open({
      repoDir,
      sandboxDir: config.sandboxDir,
      integrationBranch: config.integrationBranch,
      baseBranch: config.baseBranch,
      onStaleLockRemoved: (message) => setup.warn({ code: 'STALE_GIT_LOCK_REMOVED', message }),
      // Several machines: the integration branch lives on this remote (docs/architecture.md).
      remote: config.remote,
    });
    const byTarget = await openTargetWorkspaces(targets, {
      sandboxDir: workspaces.sandboxDir,
      integrationBranch: config.integrationBranch,
    });
    const router = new TaskRouter({
      main: workspaces,
      byTarget,
      targets,
      config,
      mainRepo: workspaces.repoRoot,
      plan: () => log.state.plan,
    });
    const agents = new AgentSupervisor({
      log,
      workspaces: router,
      config,
      stateDir,
      ...(logUrl === undefined ? {} : { logUrl }),
      runId,
      clock,
      killGraceMs: options.killGraceMs ?? 5000,
      ...(options.stallPollMs === undefined ? {} : { stallPollMs: options.stallPollMs }),
      ...(options.agentCommand ? { agentCommand: options.agentCommand } : {}),
      track: inFlight.track,
      mainRepo: workspaces.repoRoot,
      onWorkspaceDeleted: (message) => setup.warn({ code: 'WORKSPACE_DELETED', message }),
    });
    const effects = createEffects({
      runId,
      repoDir,
      stateDir,
      config,
      log,
      router,
      agents,
      track: inFlight.track,
      ...(workerName === undefined ? {} : { worker: true }),
    });
    // A person may have reset the integration branch while no run was going: say so before anything is merged.
    await checkIntegrationKept(log.state, router);
    // Workers: the first records the plan; one whose plan differs from the log's does not start.
    if (workerName === undefined) recordPlan(log, plan);
    else {
      refuseDifferentPlan(log.state.plan, plan);
      try {
        recordPlan(log, plan);
      } catch (err) {
        // Another worker recorded it first: this one must have the same.
        if (!(err instanceof ConcurrencyError)) throw err;
        log.catchUp();
        refuseDifferentPlan(log.state.plan, plan);
      }
    }
    log.append(streamIds.run(runId), 'RunStarted', {
      runId,
      pid: process.pid,
      host: os.hostname(),
      startedAt: clock.now().toISOString(),
      config: {
        maxConcurrent: config.maxConcurrent,
        maxRetries: config.maxRetries,
        ...(config.maxConcurrentTotal === undefined ? {} : { maxConcurrentTotal: config.maxConcurrentTotal }),
        ...(workerName === undefined ? {} : { worker: workerName }),
        retryInterval: config.retryInterval,
        autoMerge: config.autoMerge,
        ...(selection.tasks ? { tasks: [...selection.tasks] } : {}),
        ...(options.role ? { role: options.role } : {}),
        ...(options.goal === undefined ? {} : { goal: options.goal }),
        ...(config.notify?.length ? { notify: config.notify.map(notifyRuleKey) } : {}),
      },
    });
    log.catchUp();
    const membership =
      workerName === undefined
        ? null
        : new WorkerMembership({
            log,
            store,
            runId,
            name: workerName,
            timeoutMs: config.workerTimeout * 1000,
            steadyNow: () => timers.now().getTime(),
            wallNow: () => clock.now(),
            findMerge: (taskId) => router.workspaces(taskId).taskMerge(taskId),
            warn: setup.warn,
          });
    membership?.join();
    // Restarted on this host under the same name: end the earlier membership now, stop what it left running.
    await membership?.takeOverOwnPast(options.killGraceMs ?? 5000);
    await reconcile({
      ...(membership === null ? {} : { self: runId }),
      log,
      agents,
      track: inFlight.track,
      runGate: effects.runGate,
      merge: effects.merge,
      openPr: effects.openPr,
    });
    if (config.notify?.length) {
      notifyTap.notifier = new Notifier({
        log,
        rules: config.notify,
        runId,
        repoDir,
        stateDir,
        ...(logUrl === undefined ? {} : { logUrl }),
      });
      notifyTap.notifier.start();
    }
    return {
      runId,
      repoDir,
      stateDir,
      config,
      clock,
      timers,
      selection,
      goal,
      pollIntervalMs: options.pollIntervalMs ?? 100,
      leaveAgentsOnStop: options.leaveAgentsOnStop ?? false,
      lease,
      store,
      log,
      planFiles,
      agents,
      effects,
      reviews: createReviewWatch({ config, repoDir, log, store, router, clock, warn: setup.warn }),
      inFlight,
      stopping: new Set(),
      notifier: notifyTap.notifier,
      membership,
      closed: false,
    };
  } catch (err) {
    store?.close();
    lease?.release();
    throw err;
  }
}

/**
 * The live log of a run, from the state snapshot (a cache `replay --verify` checks) with
 * the tail folded (an unusable snapshot is ignored with a warning: the log is folded from
 * zero). Events folded from here on are passed to `onEvent` — not the history
 * folded now, which is no progress of this run — and noted for the gardener.
 */
function openLog(
  store: EventStore,
  runId: string,
  changes: StatusChanges,
  onEvent: OrchestratorOptions['onEvent'],
  warn: WarningSink,
  tap?: (event: RecordedEvent) => void,
): LiveLog {
  const snapshot = loadStateSnapshot(store, (message) => warn({ code: 'SNAPSHOT_IGNORED', message }));
  let replaying = true;
  const log = new LiveLog(
    store,
    { runId },
    snapshot ? { state: snapshot.data.state, versions: snapshot.data.versions } : undefined,
    (event, state) => {
      changes.note(event);
      if (replaying) return;
      onEvent?.(event, state);
      tap?.(event);
    },
  );
  log.catchUp();
  replaying = false;
  return log;
}

/**
 * Ends a run: stops its agents (or leaves them running with `leaveAgentsOnStop`), waits for
 * the effects in flight, records `RunStopped` with `reason`, writes the statuses back into
 * the plan files, saves the state snapshot, closes the log and releases the lease. Once.
 *
 * @example
 * await closeRun(ctx, 'interrupted by SIGINT');
 */
export async function closeRun(ctx: RunContext, reason: string): Promise<void> {
  if (ctx.closed) return;
  // A gate still running would hold the stop until it ends (a gate that hangs: forever).
  ctx.effects.stopGates();
  if (ctx.leaveAgentsOnStop) ctx.agents.detachAll();
  else {
    await ctx.agents.stopAll();
    await ctx.inFlight.settled();
  }
  try {
    const { log } = ctx;
    log.catchUp();
    log.append(
      streamIds.run(ctx.runId),
      'RunStopped',
      { runId: ctx.runId, reason: reason.slice(0, 2000) },
      { expectedVersion: 'any' },
    );
    log.catchUp();
    // Deliveries due (`RunStopped` among them) get a grace; what is left, the next run delivers.
    await ctx.notifier?.close(NOTIFY_GRACE_MS);
    log.catchUp();
    if (ctx.membership === null || ctx.membership.isLeader(log.state))
      ctx.planFiles.garden(log.state, ctx.timers.now().getTime(), true);
    await ctx.membership?.leave(reason);
    saveSnapshot(ctx.store, log.state, log.streamVersions());
  } finally {
    releaseRun(ctx);
  }
}

/** How long a stopping run lets `notify` deliveries finish (ms). */
export const NOTIFY_GRACE_MS = 10_000;

/** Closes the store and releases the lease (without recording anything). */
function releaseRun(ctx: RunContext): void {
  if (ctx.closed) return;
  ctx.closed = true;
  ctx.store.close();
  ctx.lease.release();
}

/**
 * Workers: the plan read from this worker's checkout must be the one the log holds (the
 * first worker recorded it); otherwise `PLAN_DIFFERS`, naming the first difference.
 */
function refuseDifferentPlan(recorded: Plan | null, mine: Plan): void {
  if (recorded === null || planRecord(recorded, mine) === null) return;
  const diff = planDiff(recorded, mine);
  const named =
    diff.added.length > 0
      ? `task ${diff.added[0]} is in this checkout's plan but not in the log's`
      : diff.removed.length > 0
        ? `task ${diff.removed[0]} is in the log's plan but not in this checkout's`
        : (() => {
            const d = firstDifference(recorded, mine);
            return d === null
              ? 'the plans differ'
              : `${d.path || 'the plan'}: ${preview(d.left)} in the log, ${preview(d.right)} here`;
          })();
  throw new OrchestratorError('PLAN_DIFFERS', `this worker's plan differs from the run's: ${named}`, {
    hint: 'check out the same plan as the other workers (git pull), then start the worker again',
    exitCode: 3,
  });
}

/**
 * `--goal`: the tasks the goal selects over the plan and what the log says is complete
 * (a task complete in the log or marked complete in the files is not redone); throws
 * `NO_GOAL_MATCH` when nothing matches.
 */
function chooseByGoal(plan: Plan, state: OrchState, goal: string): GoalSelection {
  const completed = declaredCompletion(plan);
  for (const [id, entry] of Object.entries(state.tasks)) if (entry.value === 'complete') completed.add(id);
  const choice = goalSelection(plan, buildPlanGraph(plan), goal, completed);
  if (isSelectionProblem(choice)) throw selectionError(choice);
  return choice;
}
