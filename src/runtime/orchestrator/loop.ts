import type { Command, SpawnAgentCommand } from '../../core/commands.js';
import { commandEvent } from '../../core/commands.js';
import { decide, type DecideOptions } from '../../core/decide.js';
import { outlook, type Outlook } from '../../core/outlook.js';
import { getOwn } from '../../core/record.js';
import { selectedTasks } from '../../core/selection.js';
import { statusView } from '../../core/status-view.js';
import { ConcurrencyError } from '../../store/errors.js';
import { WorkerLostError } from '../log/live-log.js';
import { maybeSaveSnapshot } from '../log/snapshots.js';
import { carryOut, isEffect } from './effects.js';
import { OrchestratorError, unknownTaskError } from './errors.js';
import type { RunOutcome } from './options.js';
import { closeRun, type RunContext } from './run-context.js';

/**
 * The effect loop: fold what was written → look ahead (decide, pure) → carry out the
 * commands, or sleep until something changes, or end with the outcome. Ends with 130 when
 * stopped; on an error the run is closed and the error thrown.
 *
 * @example
 * const outcome = await runLoop(await openRun(setup)); // { exitCode: 0, reason: 'all 8 task(s) complete', status }
 */
export async function runLoop(ctx: RunContext): Promise<RunOutcome> {
  const { log, inFlight } = ctx;
  try {
    for (;;) {
      log.catchUp();
      maybeSaveSnapshot(ctx.store, log.state, () => log.streamVersions());
      if (ctx.membership !== null) {
        // Workers: let timers run (the heartbeat) between decisions, however busy the loop is.
        await new Promise<void>((resolve) => setImmediate(resolve));
        // Workers: declared lost by another worker → stop (agents killed, reports not recorded), join again.
        const lost = ctx.membership.lostReason(log.state);
        if (lost !== null) return await finish(ctx, 130, `this worker was declared lost: ${lost}`, true);
        await ctx.membership.watch();
        log.catchUp();
      }
      const stopped = inFlight.stopReason;
      if (stopped !== null) {
        const lost = ctx.membership?.lostReason(log.state) ?? null;
        return await finish(
          ctx,
          130,
          lost === null ? stopped : `this worker was declared lost: ${lost}`,
          lost !== null,
        );
      }
      stopCancelledAgents(ctx);
      // Workers: only the oldest active membership writes statuses back and records plan edits.
      if (ctx.membership === null || ctx.membership.isLeader(log.state)) {
        ctx.planFiles.garden(log.state, ctx.timers.now().getTime());
        ctx.planFiles.reloadIfChanged(log, ctx.timers.now().getTime());
      }
      if (ctx.reviews !== null) {
        await ctx.reviews.tick();
        log.catchUp();
      }
      const look = lookAhead(ctx);
      if (look.commands.length > 0) await act(ctx, look.commands);
      else if (look.status === 'busy') await waitForChange(ctx, earliest(look.nextWakeAt, ctx));
      else if (ctx.planFiles.refusalPending) {
        // A plan edit that does not load may be a file still being written: the run ends only
        // once it is settled (recorded, or refused) — at most PLAN_SETTLE_MS.
        await waitForChange(ctx, earliest(null, ctx));
      } else if (look.exitCode === 0 && ctx.reviews?.awaiting() === true) {
        // The work is done but a pull request awaits its review: poll it (pr.reviews).
        inFlight.throwIfFailed();
        await waitForChange(ctx, earliest(null, ctx));
      } else {
        inFlight.throwIfFailed();
        return await finish(ctx, look.exitCode, look.reason);
      }
    }
  } catch (err) {
    // A worker declared lost whose write was refused: a stop, then it joins again.
    if (err instanceof WorkerLostError) return await finish(ctx, 130, err.message, true);
    await closeRun(ctx, `error: ${(err as Error).message}`);
    throw err;
  }
}

/** The outlook of the run now: its commands, its next timer, and how it would end. */
function lookAhead(ctx: RunContext): Outlook {
  const { state } = ctx.log;
  const now = ctx.timers.now().getTime();
  return outlook(state, state.plan, ctx.config, now, { ...decideOptions(ctx), inFlight: ctx.inFlight.size });
}

/** `decide`'s options for the run's selection over the plan as it is now. */
function decideOptions(ctx: RunContext): DecideOptions {
  const plan = ctx.log.state.plan;
  // The live agents the log keeps as it folds: no walk over every agent ever spawned.
  const self = {
    live: ctx.log.liveAgents,
    taskIndex: ctx.log.taskIndex,
    ...(ctx.membership === null ? {} : { self: ctx.runId }),
  };
  if (!plan) return self;
  const selected = selectedTasks(plan, ctx.selection);
  return selected === null ? self : { tasks: [...selected], ...self };
}

/**
 * Carries out one decision: the facts (bookkeeping with no effect) recorded in one
 * transaction — one fsync, not one per event — then each effect in order with its handler.
 * When another writer got to an entity first, it stops there: the caller decides again on
 * what is now in the log.
 */
export async function act(ctx: RunContext, commands: readonly Command[]): Promise<void> {
  const { log } = ctx;
  // Workers: the decision's stream versions are its claims (see LiveLog.pin).
  if (ctx.membership === null) return actOn(ctx, commands);
  log.pin();
  try {
    return await actOn(ctx, commands);
  } finally {
    log.unpin();
  }
}

async function actOn(ctx: RunContext, commands: readonly Command[]): Promise<void> {
  const { log } = ctx;
  const before = log.lastPosition;
  const facts = commands.filter((c) => !isEffect(c));
  try {
    if (facts.length > 0) log.appendAll(facts.map((c) => commandEvent(c, { runId: ctx.runId })));
  } catch (err) {
    if (err instanceof ConcurrencyError) return await contended(ctx);
    throw err;
  }
  for (const command of commands.filter(isEffect)) {
    if (ctx.inFlight.stopReason !== null) break;
    try {
      await carryOut(ctx.effects.handlers, command);
    } catch (err) {
      if (err instanceof ConcurrencyError) {
        await contended(ctx);
        break;
      }
      throw err;
    }
  }
  log.catchUp();
  if (log.lastPosition === before && ctx.inFlight.size === 0) {
    throw new OrchestratorError(
      'NO_PROGRESS',
      `decide keeps asking for ${commands.map((c) => c.type).join(', ')} but nothing changes`,
      { hint: 'this is a bug in orch: run `orch replay --verify` and report the log' },
    );
  }
}

/**
 * Another writer got to an entity first. Workers contend for the same ready work all the
 * time: a short random pause (0–25 ms) spreads their next tries, so one wins each round
 * instead of all retrying in step.
 */
async function contended(ctx: RunContext): Promise<void> {
  if (ctx.membership === null) return;
  await new Promise<void>((resolve) => setTimeout(resolve, Math.floor(Math.random() * 25)));
}

/**
 * Spawns an agent of `role` for one task now, through the loop's own machinery: `decide`
 * narrowed to the task, the bookkeeping that makes it ready (its phase unblocked and
 * started, the task released) carried out by {@link act}, then the spawn. Resolves to the
 * spawn id; `TASK_NOT_READY` when the task cannot get an agent now.
 *
 * @example
 * const spawnId = await spawnNow(ctx, 'dev', 'T1');
 */
export async function spawnNow(ctx: RunContext, role: string, taskId: string): Promise<string> {
  const { log } = ctx;
  log.catchUp();
  const task = log.state.plan?.tasks.find((t) => t.id === taskId);
  if (task === undefined) throw unknownTaskError(taskId);
  const decideForTask = () =>
    decide(log.state, log.state.plan, ctx.config, ctx.timers.now().getTime(), { tasks: [taskId] });
  const isSpawn = (c: Command): c is SpawnAgentCommand => c.type === 'SpawnAgent' && c.taskId === taskId;
  let commands = decideForTask();
  for (let round = 0; round < 4 && !commands.some(isSpawn); round++) {
    const steps = commands.filter(
      (c) =>
        ((c.type === 'UnblockPhase' || c.type === 'StartPhase') && c.phaseId === task.phase) ||
        (c.type === 'UnblockTask' && c.taskId === taskId),
    );
    if (steps.length === 0) break;
    await act(ctx, steps);
    log.catchUp();
    commands = decideForTask();
  }
  const spawn = commands.find(isSpawn);
  if (spawn === undefined) {
    const entry = getOwn(log.state.tasks, taskId);
    throw new OrchestratorError(
      'TASK_NOT_READY',
      `task ${taskId} cannot get an agent now (it is ${entry?.value ?? 'unknown'})`,
      {
        hint: 'a task gets an agent when its dependencies and its phase are complete and no agent runs for it',
      },
    );
  }
  const starts = commands.filter((c) => c.type === 'StartPhase' && c.phaseId === task.phase);
  if (starts.length > 0) await act(ctx, starts);
  return ctx.agents.spawn({ ...spawn, role });
}

/**
 * A person cancelled a task (`orch signal cancel`) while its agent runs, or another lane of a
 * best-of-N attempt won (`LaneSuperseded`, also one recorded before a crash and re-attached
 * since): stop that agent (its process group).
 */
function stopCancelledAgents(ctx: RunContext): void {
  const { state } = ctx.log;
  for (const spawnId of ctx.agents.spawnIds()) {
    const agent = getOwn(state.agents, spawnId);
    if (agent === undefined || ctx.stopping.has(spawnId)) continue;
    if (agent.superseded !== true && getOwn(state.tasks, agent.task)?.value !== 'cancelled') continue;
    ctx.stopping.add(spawnId);
    ctx.inFlight.track(ctx.agents.stopSpawn(spawnId));
  }
}

/** The earliest of the outlook's timer, the next review poll (when reviews are on) and the plan write-back due. */
function earliest(wakeAt: number | null, ctx: RunContext): number | null {
  // Workers: the other memberships' heartbeats are looked at every half beat.
  const watchAt = ctx.membership === null ? null : ctx.timers.now().getTime() + ctx.membership.beatMs / 2;
  // Only the worker that writes statuses back waits for the write-back (another's never comes due).
  const gardens = ctx.membership === null || ctx.membership.isLeader(ctx.log.state);
  const times = [
    wakeAt,
    ctx.reviews?.nextPollAt() ?? null,
    gardens ? ctx.planFiles.dueAt() : null,
    watchAt,
  ].filter((t): t is number => t !== null);
  return times.length === 0 ? null : Math.min(...times);
}

/** Sleeps until an effect ends, the timer is due, another process writes, or the run stops. */
function waitForChange(ctx: RunContext, wakeAt: number | null): Promise<void> {
  return ctx.inFlight.waitForChange(wakeAt, {
    clock: ctx.timers,
    pollIntervalMs: ctx.pollIntervalMs,
    foldedPosition: ctx.log.lastPosition,
    storePosition: () => ctx.store.lastPosition(),
  });
}

/** Closes the run and resolves to its outcome. */
async function finish(
  ctx: RunContext,
  exitCode: RunOutcome['exitCode'],
  reason: string,
  rejoin = false,
): Promise<RunOutcome> {
  const outcome = { exitCode, reason, status: statusView(ctx.log.state), ...(rejoin ? { rejoin } : {}) };
  await closeRun(ctx, reason);
  return outcome;
}
