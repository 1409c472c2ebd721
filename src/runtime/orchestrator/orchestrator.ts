import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from '../../core/commands.js';
import { commandEvent } from '../../core/commands.js';
import type { OrchestratorConfig } from '../../core/config.js';
import { decide } from '../../core/decide.js';
import type { RecordedEvent } from '../../core/envelope.js';
import { streamIds } from '../../core/events.js';
import { getOwn } from '../../core/record.js';
import type { OrchState } from '../../core/state.js';
import { statusView, type StatusView } from '../../core/status-view.js';
import type { Plan } from '../../plan/model.js';
import { ConcurrencyError } from '../../store/errors.js';
import type { EventStore } from '../../store/event-store.js';
import { openSqliteEventStore } from '../../store/sqlite/open.js';
import { OrchError } from '../../util/errors.js';
import { systemClock, type Clock } from '../system/clock.js';
import { loadConfig } from '../project/config.js';
import { acquireLease, type Lease } from '../system/lease.js';
import { LiveLog } from '../log/live-log.js';
import { OrchestratorError } from './errors.js';
import { gardenPlanSet } from '../project/gardener.js';
import { recordPlan } from '../project/plan-recording.js';
import {
  findPlanSources,
  loadPlanSet,
  planSetStamp,
  readPlanSet,
  type ReadPlanSet,
  targetAgentRoles,
  type PlanSetOptions,
  type PlanSource,
} from '../project/plan-set.js';
import { createPrProvider, type PrProvider } from '../git/pr-provider.js';
import { reconcile } from './reconcile.js';
import { runCommand } from '../system/run-command.js';
import { loadStateSnapshot, maybeSaveSnapshot, saveSnapshot } from '../log/snapshots.js';
import { encodeTaskId } from '../system/safe-id.js';
import { AgentSupervisor } from '../agents/supervisor.js';
import { WorkspaceManager } from '../git/workspace.js';
import { TaskRouter } from '../git/task-router.js';
import { milestoneTarget, targetOfTask } from '../../plan/targets.js';
import {
  openTargetWorkspaces,
  resolveTargets,
  UnknownTargetError,
  type ResolvedTarget,
} from '../git/targets.js';

/** How an orchestrator is set up (`Orchestrator(config)` in the programmatic API). */
export interface OrchestratorOptions {
  /** The git repository (default: the current directory). */
  repoDir?: string;
  /** Default `<repoDir>/.state`. */
  stateDir?: string;
  /** Default: `orch.config.json|yaml` of the repo over the built-in defaults. */
  config?: OrchestratorConfig;
  /** The plan directory or file (default: config `planDir`, then the usual places). */
  planDir?: string;
  /** Only spawn agents for these tasks (bookkeeping still covers the whole plan). */
  tasks?: readonly string[];
  /** Only spawn agents for tasks of this role. */
  role?: string;
  /** Only spawn agents for tasks of this target (`--target`; its id in `targets`). */
  target?: string;
  /** Use this argv for every role instead of the configured agents (`--agent-cmd`). */
  agentCommand?: readonly string[];
  clock?: Clock;
  /** On stop, leave running agents alive (a later run re-attaches to them). */
  leaveAgentsOnStop?: boolean;
  /** Called for every event folded, in log order (progress lines, dashboards). */
  onEvent?: (event: RecordedEvent, state: OrchState) => void;
  /** How often to look for events written by other processes (ms, default 100). */
  pollIntervalMs?: number;
  /** Between SIGTERM and SIGKILL when stopping an agent (ms, default 5000). */
  killGraceMs?: number;
  /** SQLite durability of the log (default `full`). */
  durability?: 'full' | 'normal';
}

/** Commands whose recording starts an effect (the rest are facts, recorded in one batch). */
// ReopenTask reads the CI log (its tail goes into the event), so it is carried out like an effect.
const EFFECTS = new Set<Command['type']>([
  'SpawnAgent',
  'RunGate',
  'RequestMerge',
  'RequestPullRequest',
  'ReopenTask',
]);

/** Why a run ended, with the exit code the CLI uses (../shared/CLI.md). */
export interface RunOutcome {
  /** 0 complete · 1 a task failed for good · 2 waiting on the outside · 130 stopped. */
  exitCode: 0 | 1 | 2 | 130;
  reason: string;
  status: StatusView;
}

/**
 * The effect loop: decide (pure) → carry out the commands (processes, git, CI, PRs) →
 * record their outcomes in the log → fold → decide again, until the selected work is
 * complete or nothing more can happen. One orchestrator per state directory (a lease);
 * every intent is recorded before its effect, so a restart reconciles instead of repeating.
 *
 * @example
 * const orch = new Orchestrator({ repoDir: '/repo' });
 * const outcome = await orch.run(); // { exitCode: 0, reason: 'all 8 tasks complete', status }
 */
export class Orchestrator {
  readonly repoDir: string;
  readonly stateDir: string;
  readonly runId = randomUUID();
  private config!: OrchestratorConfig;
  private readonly clock: Clock;
  private store?: EventStore;
  private log?: LiveLog;
  private lease?: Lease;
  private workspaces?: WorkspaceManager;
  private agents?: AgentSupervisor;
  /** Pull-request providers by target id ('' is the main repository), made when first needed. */
  private readonly prs = new Map<string, PrProvider>();
  private router?: TaskRouter;
  private targets: ResolvedTarget[] = [];
  private readonly inflight = new Set<Promise<unknown>>();
  private stopReason: string | null = null;
  private wake: (() => void) | null = null;
  private runPromise?: Promise<RunOutcome>;
  private started = false;
  private closed = false;

  constructor(private readonly options: OrchestratorOptions = {}) {
    this.repoDir = path.resolve(options.repoDir ?? '.');
    this.stateDir = path.resolve(options.stateDir ?? path.join(this.repoDir, '.state'));
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Takes the lease, opens the log, checks the repository, records the plan and the run,
   * and reconciles every intent an earlier run left without an outcome. Throws
   * `LeaseHeldError` (exit 3) when another orch process holds the state directory.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      this.config = this.options.config ?? loadConfig(this.repoDir);
      this.targets = resolveTargets(this.repoDir, this.config);
      const wanted = this.options.target;
      if (wanted !== undefined && !this.targets.some((t) => t.id === wanted)) {
        throw new UnknownTargetError(
          wanted,
          this.targets.map((t) => t.id),
        );
      }
      fs.mkdirSync(this.stateDir, { recursive: true });
      this.lease = await acquireLease(this.stateDir, { runId: this.runId, clock: this.clock });
      this.store = openSqliteEventStore(path.join(this.stateDir, 'orch.db'), {
        clock: () => this.clock.now(),
        ...(this.options.durability ? { durability: this.options.durability } : {}),
      });
      // Start from the state snapshot (a cache `replay --verify` checks) and fold the tail.
      const snapshot = loadStateSnapshot(this.store);
      let replaying = true;
      this.log = new LiveLog(
        this.store,
        { runId: this.runId },
        snapshot ? { state: snapshot.data.state, versions: snapshot.data.versions } : undefined,
        (event, state) => {
          // Plan and entity streams are where statuses change: the gardener writes them back.
          if (/^(plan$|task-|phase-|milestone-)/.test(event.streamId)) this.gardenDue = true;
          // Progress is about this run: the history folded at start is not printed again.
          if (!replaying) this.options.onEvent?.(event, state);
        },
      );
      this.log.catchUp();
      replaying = false;
      const plan = this.loadPlanFromFiles();
      this.checkSelection(plan);
      this.workspaces = await WorkspaceManager.open({
        repoDir: this.repoDir,
        sandboxDir: this.config.sandboxDir,
        integrationBranch: this.config.integrationBranch,
        baseBranch: this.config.baseBranch,
      });
      const byTarget = await openTargetWorkspaces(this.targets, {
        sandboxDir: this.workspaces.sandboxDir,
        integrationBranch: this.config.integrationBranch,
      });
      this.router = new TaskRouter({
        main: this.workspaces,
        byTarget,
        targets: this.targets,
        config: this.config,
        mainRepo: this.workspaces.repoRoot,
        plan: () => this.log?.state.plan ?? null,
      });
      this.agents = new AgentSupervisor({
        log: this.log,
        workspaces: this.router,
        config: this.config,
        stateDir: this.stateDir,
        runId: this.runId,
        clock: this.clock,
        killGraceMs: this.options.killGraceMs ?? 5000,
        ...(this.options.agentCommand ? { agentCommand: this.options.agentCommand } : {}),
        track: (p) => this.track(p),
      });
      recordPlan(this.log, plan);
      this.log.append(streamIds.run(this.runId), 'RunStarted', {
        runId: this.runId,
        pid: process.pid,
        host: os.hostname(),
        startedAt: this.clock.now().toISOString(),
        config: {
          maxConcurrent: this.config.maxConcurrent,
          maxRetries: this.config.maxRetries,
          retryInterval: this.config.retryInterval,
          autoMerge: this.config.autoMerge,
          ...(this.options.tasks ? { tasks: [...this.options.tasks] } : {}),
          ...(this.options.role ? { role: this.options.role } : {}),
        },
      });
      this.log.catchUp();
      await reconcile({
        log: this.log,
        agents: this.agents,
        track: (p) => this.track(p),
        runGate: (taskId, spawnId) => this.runGate(taskId, spawnId),
        merge: (taskId, spawnId) => this.merge(taskId, spawnId),
        openPr: (milestoneId, branch) => this.openPr(milestoneId, branch),
      });
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /**
   * Runs the loop until the selected work is complete (exit 0), a task failed for good (1),
   * nothing more can happen without an outside event (2), or {@link stop} was called (130).
   */
  run(): Promise<RunOutcome> {
    this.runPromise ??= this.loop();
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
    if (!this.log) throw notStarted('status');
    if (!this.closed) this.log.catchUp();
    return statusView(this.log.state);
  }

  /** The folded state as last seen (also after the run ended and the log was closed). */
  lastState(): OrchState {
    if (!this.log) throw notStarted('lastState');
    return this.log.state;
  }

  /** A milestone's pull request (`{ url, branch }`), or null when none was opened. */
  getMilestonePr(milestoneId: string): { url: string | null; branch: string } | null {
    if (!this.log) throw notStarted('getMilestonePr');
    if (!this.closed) this.log.catchUp();
    const entry = getOwn(this.log.state.milestones, milestoneId);
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
    if (!this.log || !this.agents) throw notStarted('spawnAgent');
    this.log.catchUp();
    const state = this.log.state;
    const plan = state.plan;
    const task = plan?.tasks.find((t) => t.id === taskId);
    if (!plan || !task) throw unknownTask(taskId);
    // The bookkeeping that makes the task ready (its phase unblocked and started, the task
    // released) is recorded first, as the loop would, then the spawn is decided.
    let commands = decide(state, plan, this.config, this.clock.now().getTime(), { tasks: [taskId] });
    for (let round = 0; round < 4; round++) {
      if (commands.some((c) => c.type === 'SpawnAgent' && c.taskId === taskId)) break;
      const steps = commands.filter(
        (c) =>
          ((c.type === 'UnblockPhase' || c.type === 'StartPhase') && c.phaseId === task.phase) ||
          (c.type === 'UnblockTask' && c.taskId === taskId),
      );
      if (steps.length === 0) break;
      for (const c of steps) await this.execute(c);
      this.log.catchUp();
      commands = decide(this.log.state, plan, this.config, this.clock.now().getTime(), { tasks: [taskId] });
    }
    const spawn = commands.find((c) => c.type === 'SpawnAgent' && c.taskId === taskId);
    if (spawn?.type !== 'SpawnAgent') {
      const entry = getOwn(this.log.state.tasks, taskId);
      throw new OrchestratorError(
        'TASK_NOT_READY',
        `task ${taskId} cannot get an agent now (it is ${entry?.value ?? 'unknown'})`,
        {
          hint: 'a task gets an agent when its dependencies and its phase are complete and no agent runs for it',
        },
      );
    }
    for (const c of commands) {
      if (c.type === 'StartPhase' && c.phaseId === task.phase) await this.execute(c);
    }
    return this.agents.spawn({ ...spawn, role });
  }

  /** Stops the run: no new spawns; running agents are stopped unless `leaveAgentsOnStop`. */
  async stop(reason = 'stopped'): Promise<void> {
    this.stopReason ??= reason;
    this.wake?.();
    if (this.runPromise) await this.runPromise.catch(() => undefined);
    else await this.shutdown();
  }

  private async loop(): Promise<RunOutcome> {
    await this.start();
    const log = this.log!;
    try {
      for (;;) {
        log.catchUp();
        maybeSaveSnapshot(this.store!, log.state, log.streamVersions());
        if (this.stopReason !== null) break;
        this.stopCancelledAgents();
        this.garden();
        this.reloadPlanIfChanged();
        const now = this.clock.now().getTime();
        const commands = decide(log.state, log.state.plan, this.config, now, this.decideOptions());
        if (commands.length > 0) {
          const before = log.lastPosition;
          // Bookkeeping (facts with no effect) goes in one transaction: one fsync, not one per event.
          const facts = commands.filter((c) => !EFFECTS.has(c.type));
          const effects = commands.filter((c) => EFFECTS.has(c.type));
          try {
            if (facts.length > 0) log.appendAll(facts.map((c) => commandEvent(c, { runId: this.runId })));
          } catch (err) {
            if (!(err instanceof ConcurrencyError)) throw err;
            continue;
          }
          for (const command of effects) {
            if (this.stopReason !== null) break;
            try {
              await this.execute(command);
            } catch (err) {
              // Someone else wrote to that entity first: read it and decide again.
              if (err instanceof ConcurrencyError) break;
              throw err;
            }
          }
          log.catchUp();
          if (log.lastPosition === before && this.inflight.size === 0) {
            throw new OrchestratorError(
              'NO_PROGRESS',
              `decide keeps asking for ${commands.map((c) => c.type).join(', ')} but nothing changes`,
              { hint: 'this is a bug in orch: run `orch replay --verify` and report the log' },
            );
          }
          continue;
        }
        const wakeAt = this.nextTimer(now);
        if (this.inflight.size > 0 || wakeAt !== null) {
          await this.waitForChange(wakeAt);
          continue;
        }
        return await this.finish(this.outcome());
      }
      return await this.finish({
        exitCode: 130,
        reason: this.stopReason ?? 'stopped',
        status: statusView(log.state),
      });
    } catch (err) {
      await this.shutdown(`error: ${(err as Error).message}`);
      throw err;
    }
  }

  private decideOptions(): { tasks?: string[] } {
    const plan = this.log!.state.plan;
    if (!plan) return {};
    const selected = this.selection(plan);
    return selected === null ? {} : { tasks: [...selected] };
  }

  /** The task ids the run is about (null: all). */
  private selection(plan: Plan): Set<string> | null {
    const { tasks, role, target } = this.options;
    if (!tasks?.length && role === undefined && target === undefined) return null;
    const out = new Set<string>();
    for (const t of plan.tasks) {
      if (
        (!tasks?.length || tasks.includes(t.id)) &&
        (role === undefined || t.role === role) &&
        (target === undefined || targetOfTask(plan, t.id) === target)
      )
        out.add(t.id);
    }
    return out;
  }

  private checkSelection(plan: Plan): void {
    const known = new Set(plan.tasks.map((t) => t.id));
    for (const id of this.options.tasks ?? []) if (!known.has(id)) throw unknownTask(id);
    if (this.options.role !== undefined && !plan.tasks.some((t) => t.role === this.options.role)) {
      throw new OrchestratorError('UNKNOWN_ROLE', `no task of the plan has the role ${this.options.role}`, {
        hint: 'see `orch plan` for the tasks and their roles',
      });
    }
    const target = this.options.target;
    if (target !== undefined && !plan.tasks.some((t) => targetOfTask(plan, t.id) === target)) {
      throw new OrchestratorError('UNKNOWN_TARGET', `no task of the plan runs in target ${target}`, {
        hint:
          'give tasks or phases `target: ' +
          target +
          '`, or a plan to the target (targets.' +
          target +
          '.roadmap)',
      });
    }
  }

  private async execute(command: Command): Promise<void> {
    const log = this.log!;
    switch (command.type) {
      case 'SpawnAgent':
        await this.agents!.spawn(command);
        return;
      case 'RunGate':
        log.append(streamIds.task(command.taskId), 'GateStarted', {
          taskId: command.taskId,
          spawnId: command.spawnId,
          command: command.command,
        });
        this.track(this.runGate(command.taskId, command.spawnId));
        return;
      case 'RequestMerge': {
        const ev = commandEvent(command, {
          runId: this.runId,
          branch: this.router!.branchFor(command.taskId),
        });
        log.append(ev.streamId, ev.type, ev.data);
        this.track(this.merge(command.taskId, command.spawnId));
        return;
      }
      case 'ReopenTask': {
        // The next attempt's prompt carries the tail of the failing CI run's log.
        const logPath = log.state.ci?.logPath ?? null;
        const tail = logPath === null ? undefined : readTail(logPath, 8000);
        const ev = commandEvent(command, {
          runId: this.runId,
          ...(tail === undefined ? {} : { ciLogTail: tail }),
        });
        log.append(ev.streamId, ev.type, ev.data);
        return;
      }
      case 'RequestPullRequest': {
        const branch = this.prsFor(command.milestoneId).branchFor(command.milestoneId);
        const ev = commandEvent(command, { runId: this.runId, branch });
        log.append(ev.streamId, ev.type, ev.data);
        this.track(this.openPr(command.milestoneId, branch));
        return;
      }
      default: {
        const ev = commandEvent(command, { runId: this.runId });
        log.append(ev.streamId, ev.type, ev.data);
      }
    }
  }

  /** Runs the quality gate on a spawn's work and records the result. */
  private async runGate(taskId: string, spawnId: string): Promise<void> {
    const log = this.log!;
    const gate = this.config.gate;
    const stream = streamIds.task(taskId);
    if (!gate) {
      log.append(stream, 'GatePassed', { taskId, spawnId, skipped: true }, { expectedVersion: 'any' });
      return;
    }
    const attempt = getOwn(log.state.agents, spawnId)?.attempt ?? 0;
    const result = await runCommand(gate.command, {
      cwd: this.router!.pathFor(taskId),
      logFile: path.join(this.stateDir, 'logs', encodeTaskId(taskId), `${attempt}.gate.log`),
      ...(gate.timeout ? { timeoutMs: gate.timeout * 1000 } : {}),
    });
    const outputTail = result.tail.slice(-8000);
    if (result.exitCode === 0) {
      log.append(
        stream,
        'GatePassed',
        { taskId, spawnId, outputTail, durationMs: result.durationMs },
        { expectedVersion: 'any' },
      );
    } else {
      log.append(
        stream,
        'GateFailed',
        { taskId, spawnId, exitCode: result.exitCode, outputTail, durationMs: result.durationMs },
        { expectedVersion: 'any' },
      );
    }
  }

  /** Merges a task's branch into the integration branch and records the outcome; then local CI. */
  private async merge(taskId: string, spawnId: string): Promise<void> {
    const log = this.log!;
    const stream = streamIds.task(taskId);
    const task = log.state.plan?.tasks.find((t) => t.id === taskId);
    const message = `orch: merge task ${taskId}${task ? ` (${task.title})` : ''}\n\nSpawn: ${spawnId}\nRun: ${this.runId}`;
    const workspaces = this.router!.workspaces(taskId);
    const result = await workspaces.mergeTask(taskId, message);
    if (result.status === 'conflict') {
      log.append(
        stream,
        'MergeConflicted',
        { taskId, spawnId, files: result.files },
        { expectedVersion: 'any' },
      );
      return;
    }
    const commit = result.commit ?? (await workspaces.integrationHead());
    log.append(stream, 'BranchMerged', { taskId, spawnId, commit }, { expectedVersion: 'any' });
    if (this.config.ci.provider === 'local' && this.config.ci.command)
      await this.runLocalCi(commit, workspaces);
  }

  /** Provider `local`: runs `ci.command` on the integration branch and records `CiCompleted`. */
  private async runLocalCi(ref: string, workspaces: WorkspaceManager): Promise<void> {
    const ci = this.config.ci;
    if (!ci.command) return;
    // CI tests exactly the merged commit, in a detached checkout of the repository the merge
    // went into: merges that land meanwhile do not change the tree under it.
    const logFile = path.join(this.stateDir, 'logs', 'ci', `${ref.slice(0, 12)}.log`);
    const command = ci.command;
    const result = await workspaces.inCiCheckout(ref, (cwd) =>
      runCommand(command, {
        cwd,
        logFile,
        ...(ci.timeout ? { timeoutMs: ci.timeout * 1000 } : {}),
      }),
    );
    this.log!.append(
      streamIds.run(this.runId),
      'CiCompleted',
      {
        result: result.exitCode === 0 ? 'pass' : 'fail',
        ref,
        logPath: logFile,
        durationMs: result.durationMs,
      },
      { expectedVersion: 'any', actor: 'ci' },
    );
  }

  /** Opens (or finds) a milestone's pull request and records it. */
  private async openPr(milestoneId: string, branch: string): Promise<void> {
    const pr = await this.prsFor(milestoneId).open(milestoneId, branch, this.log!.state);
    this.log!.append(
      streamIds.milestone(milestoneId),
      'PullRequestOpened',
      { milestoneId, url: pr.url, branch: pr.branch },
      { expectedVersion: 'any' },
    );
  }

  /** The pull-request provider of a milestone's repository (its phases' one target, else main). */
  private prsFor(milestoneId: string): PrProvider {
    const target = this.router!.resolve(milestoneTarget(this.log!.state.plan, milestoneId));
    const key = target?.id ?? '';
    let prs = this.prs.get(key);
    if (prs === undefined) {
      prs = createPrProvider(this.config, {
        repoDir: target?.path ?? this.repoDir,
        stateDir: this.stateDir,
        workspaces: this.router!.workspacesOf(target?.id ?? null),
      });
      this.prs.set(key, prs);
    }
    return prs;
  }

  /** Keeps an effect's promise so the loop waits for it; its failure stops the run. */
  private track(promise: Promise<unknown>): void {
    const tracked = promise
      .catch((err: unknown) => {
        this.failure ??= err;
        this.stopReason ??= `error: ${(err as Error).message}`;
      })
      .finally(() => {
        this.inflight.delete(tracked);
        this.wake?.();
      });
    this.inflight.add(tracked);
  }
  private failure: unknown = null;

  /** Sleeps until an effect finishes, the timer is due, another process writes, or stop. */
  private async waitForChange(wakeAt: number | null): Promise<void> {
    const poll = this.options.pollIntervalMs ?? 100;
    const start = this.log!.lastPosition;
    const deadline = wakeAt ?? Number.POSITIVE_INFINITY;
    let woken = false;
    const woke = new Promise<void>((resolve) => {
      this.wake = () => {
        woken = true;
        resolve();
      };
    });
    try {
      while (!woken && this.stopReason === null) {
        const left = deadline - this.clock.now().getTime();
        if (left <= 0) return;
        await Promise.race([woke, sleep(Math.min(poll, left))]);
        if (this.store!.lastPosition() !== start) return;
      }
    } finally {
      this.wake = null;
    }
  }

  /** The earliest retry or rate-limit reset still ahead, for tasks the run may spawn. */
  private nextTimer(now: number): number | null {
    const state = this.log!.state;
    const selected = state.plan ? this.selection(state.plan) : null;
    let next: number | null = null;
    const consider = (ms: number) => {
      if (ms > now && (next === null || ms < next)) next = ms;
    };
    for (const [id, entry] of Object.entries(state.tasks)) {
      if (selected && !selected.has(id)) continue;
      if (entry.value === 'retryWait' && entry.context.notBefore) {
        consider(Date.parse(entry.context.notBefore));
        if (state.rateLimitedUntil) consider(Date.parse(state.rateLimitedUntil));
      }
      if (entry.value === 'ready' && state.rateLimitedUntil) consider(Date.parse(state.rateLimitedUntil));
    }
    return next;
  }

  /** A person cancelled a task (`orch signal cancel`) while its agent runs: stop that agent. */
  private stopCancelledAgents(): void {
    const state = this.log!.state;
    for (const spawnId of this.agents!.spawnIds()) {
      const agent = getOwn(state.agents, spawnId);
      if (agent === undefined || this.stopping.has(spawnId)) continue;
      if (getOwn(state.tasks, agent.task)?.value !== 'cancelled') continue;
      this.stopping.add(spawnId);
      this.track(this.agents!.stopSpawn(spawnId));
    }
  }
  private readonly stopping = new Set<string>();

  /** Nothing to do and nothing running: complete, failed, or waiting on the outside. */
  private outcome(): RunOutcome {
    const state = this.log!.state;
    const status = statusView(state);
    const selected = state.plan ? this.selection(state.plan) : null;
    const tasks = status.tasks.filter((t) => selected === null || selected.has(t.id));
    const failed = tasks.filter((t) => t.status === 'failed');
    if (this.failure)
      throw this.failure instanceof Error ? this.failure : new Error(JSON.stringify(this.failure));
    if (tasks.every((t) => t.status === 'complete') && (selected !== null || this.milestonesSettled(state))) {
      return {
        exitCode: 0,
        reason: `all ${tasks.length} ${selected === null ? '' : 'selected '}task(s) complete`,
        status,
      };
    }
    if (failed.length > 0) {
      // A task a person cancelled is over without being done, like one that failed for good.
      const cancelled = failed.filter((t) => t.detail === 'cancelled').map((t) => t.id);
      const list = failed
        .filter((t) => t.detail !== 'cancelled')
        .map((t) => `${t.id}${t.lastFailure ? ` (${t.lastFailure})` : ''}`)
        .join('; ');
      const parts = [
        ...(list === '' ? [] : [`failed for good: ${list}`]),
        ...(cancelled.length === 0 ? [] : [`cancelled: ${cancelled.join(', ')}`]),
      ];
      return { exitCode: 1, reason: parts.join('; '), status };
    }
    const waiting = tasks
      .filter((t) => t.status !== 'complete')
      .map((t) => `${t.id} ${waitingReason(t, state)}`);
    // Complete milestones whose pull request waits for CI to judge their merges.
    if (this.config.autoMerge && this.config.ci.provider !== 'none') {
      for (const [id, m] of Object.entries(state.milestones)) {
        if (m.value === 'complete' && !m.context.declaredComplete)
          waiting.push(
            `milestone ${id}'s pull request waits for a CI result on its merges` +
              (this.config.ci.provider === 'external' ? ' (orch ci pass|fail)' : ''),
          );
      }
    }
    const budget = state.budgetExhausted ? `budget of $${state.budgetExhausted.budget} reached; ` : '';
    return { exitCode: 2, reason: `waiting: ${budget}${waiting.join('; ')}`, status };
  }

  /** Every complete milestone has what it needs (its PR when `autoMerge`). */
  private milestonesSettled(state: OrchState): boolean {
    // A milestone with no phases never completes (nothing was done for it): it does not hold the run.
    const empty = new Set(
      (state.plan?.milestones ?? []).filter((m) => m.phases.length === 0).map((m) => m.id),
    );
    return Object.values(state.milestones).every(
      (m) =>
        empty.has(m.context.milestoneId) ||
        (m.value !== 'open' &&
          (!this.config.autoMerge || m.context.declaredComplete || m.value === 'prOpened')),
    );
  }

  private async finish(outcome: RunOutcome): Promise<RunOutcome> {
    await this.shutdown(outcome.reason);
    return outcome;
  }

  /** Stops (or leaves) the agents, records `RunStopped`, releases the lease. */
  private async shutdown(reason = 'stopped'): Promise<void> {
    if (this.closed) return;
    if (this.agents && !this.options.leaveAgentsOnStop) await this.agents.stopAll();
    if (this.agents && this.options.leaveAgentsOnStop) this.agents.detachAll();
    if (!this.options.leaveAgentsOnStop) await Promise.allSettled([...this.inflight]);
    try {
      if (this.log) {
        this.log.catchUp();
        this.log.append(
          streamIds.run(this.runId),
          'RunStopped',
          { runId: this.runId, reason: reason.slice(0, 2000) },
          { expectedVersion: 'any' },
        );
        this.log.catchUp();
        this.garden();
        saveSnapshot(this.store!, this.log.state, this.log.streamVersions());
      }
    } finally {
      this.close();
    }
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.store?.close();
    this.lease?.release();
  }

  /**
   * Reads the plan files (the main plan and each target's own plan), validates them as one;
   * the run starts on that plan.
   */
  private loadPlanFromFiles(): Plan {
    this.planSources = findPlanSources(this.repoDir, this.config, this.options.planDir);
    const { plan } = loadPlanSet(this.planSources, this.planSetOptions());
    this.planStamp = planSetStamp(this.planSources);
    return plan;
  }
  private planSources: PlanSource[] = [];
  private planStamp = '';

  /** Plan files edited while running are picked up at the next decision (issue: roadmap). */
  private reloadPlanIfChanged(): void {
    if (this.planSources.length === 0) return;
    const stamp = planSetStamp(this.planSources);
    if (stamp === this.planStamp) return;
    this.planStamp = stamp;
    try {
      const { plan } = loadPlanSet(this.planSources, this.planSetOptions());
      recordPlan(this.log!, plan);
    } catch (err) {
      const listed = (err as { problems?: { file: string; line: number; message: string }[] }).problems ?? [];
      const problems =
        (err instanceof OrchError ? err.message : String(err)) +
        listed.map((p) => `\n  ${p.file}${p.line > 0 ? `:${p.line}` : ''}: ${p.message}`).join('');
      process.stderr.write(
        `orch: the edited plan is not valid; continuing on the last valid plan: ${problems}\n`,
      );
      // And in the log, so the refusal is part of the run's record.
      const recorded = listed.length > 0 ? listed : [{ file: '', line: 0, message: (err as Error).message }];
      this.log!.append(streamIds.plan(), 'PlanRevisionRefused', {
        problems: recorded
          .slice(0, 20)
          .map((p) => ({ file: p.file, line: Math.max(0, p.line), message: p.message })),
        count: recorded.length,
      });
    }
  }

  /**
   * Writes the statuses that changed back into the plan files (the roadmap gardener). The
   * files as read are kept while they do not change, so a pass costs no parse; after its own
   * writes (statuses only, which never revise the plan) the plan is not reloaded.
   */
  private garden(): void {
    if (!this.gardenDue || this.planSources.length === 0 || !this.log) return;
    const stamp = planSetStamp(this.planSources);
    // Someone edited the plan: the reload records it first, then the gardener goes on.
    if (stamp !== this.planStamp) return;
    this.gardenDue = false;
    try {
      let read = this.gardenRead?.stamp === stamp ? this.gardenRead.set : undefined;
      if (read === undefined) {
        try {
          read = readPlanSet(this.planSources, this.planSetOptions());
        } catch {
          // Files that do not load are not written to (the reload has said what is wrong).
          return;
        }
        this.gardenRead = { stamp, set: read };
      }
      const results = gardenPlanSet(this.log.state, this.planSources, this.planSetOptions(), read);
      if (results.some((r) => r.written.length > 0)) {
        this.planStamp = planSetStamp(this.planSources);
        this.gardenRead = null;
      }
    } catch (err) {
      // The files are a view of the log: failing to update them must not stop the work.
      process.stderr.write(`orch: could not write statuses back into the plan: ${(err as Error).message}\n`);
    }
  }
  private gardenDue = false;
  private gardenRead: { stamp: string; set: ReadPlanSet } | null = null;

  private planSetOptions(): PlanSetOptions {
    return {
      agentRoles: this.agentRoles(),
      targets: Object.keys(this.config.targets ?? {}),
      targetAgentRoles: targetAgentRoles(this.config),
    };
  }

  private agentRoles(): string[] {
    return this.options.agentCommand
      ? ['default', ...Object.keys(this.config.agents)]
      : Object.keys(this.config.agents);
  }
}

function waitingReason(t: StatusView['tasks'][number], state: OrchState): string {
  if (t.status === 'blocked') return `is blocked on ${(t.blockedOn ?? ['person']).join(', ')}`;
  const plan = state.plan;
  const task = plan?.tasks.find((x) => x.id === t.id);
  const open = (task?.dependsOn ?? []).filter((d) => getOwn(state.tasks, d)?.value !== 'complete');
  if (open.length > 0) return `waits for ${open.join(', ')}`;
  const phase = plan?.phases.find((p) => p.id === t.phase);
  const phaseOpen = (phase?.dependsOn ?? []).filter((d) => getOwn(state.phases, d)?.value !== 'complete');
  if (phaseOpen.length > 0) return `waits for phase ${phaseOpen.join(', ')}`;
  return `is ${t.detail}`;
}

/** The last `chars` characters of a file, or undefined when it cannot be read. */
function readTail(file: string, chars: number): string | undefined {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.slice(-chars);
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function notStarted(what: string): OrchestratorError {
  return new OrchestratorError('NOT_STARTED', `${what}() needs a started orchestrator`, {
    hint: 'call start() or run() first',
  });
}

function unknownTask(id: string): OrchestratorError {
  return new OrchestratorError('UNKNOWN_TASK', `there is no task ${JSON.stringify(id)} in the plan`, {
    hint: 'see `orch plan` for the task ids',
  });
}
