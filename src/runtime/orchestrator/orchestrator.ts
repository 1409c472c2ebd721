import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { getOwn } from '../../core/record.js';
import type { GoalSelection } from '../../core/selection.js';
import type { OrchState } from '../../core/state.js';
import { statusView, type StatusView } from '../../core/status-view.js';
import { systemClock } from '../system/clock.js';
import { closeSpawnProcess, useSpawnProcess } from '../system/spawn-thread.js';
import { notStartedError, OrchestratorError } from './errors.js';
import { InFlight } from './in-flight.js';
import { runLoop, spawnNow } from './loop.js';
import type { OrchestratorOptions, RunOutcome } from './options.js';
import { closeRun, openRun, type RunContext } from './run-context.js';
import { WarningLog, type OrchestratorWarning } from './warnings.js';

export type { OrchestratorOptions, RunOutcome } from './options.js';
export type { OrchestratorWarning } from './warnings.js';

/**
 * The effect loop: decide (pure) → carry out the commands (processes, git, CI, PRs) →
 * record their outcomes in the log → fold → decide again, until the selected work is
 * complete or nothing more can happen. One orchestrator per state directory (a lease);
 * every intent is recorded before its effect, so a restart reconciles instead of repeating.
 *
 * Warnings (a refused plan edit, a failed status write-back) go to `onWarning` and are
 * kept for {@link warnings}; the orchestrator never writes to stderr.
 *
 * @example
 * const orch = new Orchestrator({ repoDir: '/repo', onWarning: (w) => console.warn(w.message) });
 * const outcome = await orch.run(); // { exitCode: 0, reason: 'all 8 task(s) complete', status }
 */
export class Orchestrator {
  readonly repoDir: string;
  readonly stateDir: string;
  readonly runId = randomUUID();
  private readonly inFlight = new InFlight();
  private readonly warningLog: WarningLog;
  private opening?: Promise<RunContext>;
  private ctx: RunContext | null = null;
  private runPromise?: Promise<RunOutcome>;

  constructor(private readonly options: OrchestratorOptions = {}) {
    this.repoDir = path.resolve(options.repoDir ?? '.');
    this.stateDir = path.resolve(options.stateDir ?? path.join(this.repoDir, '.state'));
    this.warningLog = new WarningLog(options.onWarning);
  }

  /**
   * Takes the lease, opens the log, checks the repository, records the plan and the run,
   * and reconciles every intent an earlier run left without an outcome. Throws
   * `LeaseHeldError` (exit 3) when another orch process holds the state directory. Calling
   * it again waits for (or repeats the failure of) the first call.
   */
  async start(): Promise<void> {
    this.opening ??= openRun({
      runId: this.runId,
      repoDir: this.repoDir,
      stateDir: this.stateDir,
      clock: this.options.clock ?? systemClock,
      options: this.options,
      inFlight: this.inFlight,
      warn: this.warningLog.warn,
    });
    this.ctx = await this.opening;
  }

  /**
   * Runs the loop until the selected work is complete (exit 0), a task failed for good (1),
   * nothing more can happen without an outside event (2), or {@link stop} was called (130).
   */
  run(): Promise<RunOutcome> {
    // A run starts its git commands and agents from a small helper process (see spawn-thread.ts).
    this.runPromise ??= (async () => {
      useSpawnProcess();
      try {
        await this.start();
        return await runLoop(this.context('run'));
      } finally {
        await closeSpawnProcess();
      }
    })();
    return this.runPromise;
  }

  /**
   * Waits for the run to end; rejects with `OrchestratorError` (`TIMEOUT`) after `timeoutMs`.
   *
   * @example
   * void orch.run(); const outcome = await orch.waitForCompletion(60_000);
   */
  async waitForCompletion(timeoutMs?: number): Promise<RunOutcome> {
    const run = this.run();
    if (timeoutMs === undefined) return run;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new OrchestratorError('TIMEOUT', `the run did not finish within ${timeoutMs} ms`, {
              hint: 'call stop() or wait longer',
            }),
          ),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([run, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The current state as `orch status` shows it (from the log). */
  status(): StatusView {
    const ctx = this.context('status');
    if (!ctx.closed) ctx.log.catchUp();
    return statusView(ctx.log.state);
  }

  /**
   * With the `goal` option, after {@link start}: the recommendation (matches with their
   * terms, the work in dependency order) and the task ids selected; null without a goal.
   */
  goalChoice(): GoalSelection | null {
    return this.context('goalChoice').goal;
  }

  /** The folded state as last seen (also after the run ended and the log was closed). */
  lastState(): OrchState {
    return this.context('lastState').log.state;
  }

  /** A milestone's pull request (`{ url, branch }`), or null when none was opened. */
  getMilestonePr(milestoneId: string): { url: string | null; branch: string } | null {
    const ctx = this.context('getMilestonePr');
    if (!ctx.closed) ctx.log.catchUp();
    const entry = getOwn(ctx.log.state.milestones, milestoneId);
    if (entry === undefined) {
      throw new OrchestratorError('UNKNOWN_MILESTONE', `there is no milestone ${milestoneId} in the plan`, {
        hint: 'see `orch plan` for the milestone ids',
      });
    }
    return entry.context.pr ?? null;
  }

  /**
   * Spawns an agent of `role` for a task now, through the same recorded path as the loop.
   * The task must be ready to run (or waiting for a retry); resolves to the spawn id.
   */
  async spawnAgent(role: string, taskId: string): Promise<string> {
    return spawnNow(this.context('spawnAgent'), role, taskId);
  }

  /**
   * The warnings of this run so far, oldest first (the most recent 100), whether or not an
   * `onWarning` callback was given.
   */
  warnings(): OrchestratorWarning[] {
    return this.warningLog.list();
  }

  /** Stops the run: no new spawns; running agents are stopped unless `leaveAgentsOnStop`. */
  async stop(reason = 'stopped'): Promise<void> {
    this.inFlight.stop(reason);
    if (this.runPromise) {
      await this.runPromise.catch(() => undefined);
      return;
    }
    const ctx = await this.opening?.catch(() => null);
    if (ctx) await closeRun(ctx, this.inFlight.stopReason ?? reason);
  }

  /** The run context, once started. */
  private context(what: string): RunContext {
    if (this.ctx === null) throw notStartedError(what);
    return this.ctx;
  }
}
