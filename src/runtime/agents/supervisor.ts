import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { getOwn } from '../../core/record.js';
import { AttemptFold } from '../../core/attempt-history.js';
import type { SpawnAgentCommand } from '../../core/commands.js';
import { commandEvent } from '../../core/commands.js';
import { agentFor, stallTimeoutMs, type AgentCommand, type OrchestratorConfig } from '../../core/config.js';
import { streamIds } from '../../core/events.js';
import type { AgentRecord } from '../../core/state.js';
import { isLiveAgent } from '../../core/state.js';
import type { Persona } from '../../plan/model.js';
import { capLog } from './log-cap.js';
import { readWorktreeHead } from '../git/refs.js';
import {
  readAgentExit,
  readAgentOutput,
  stallPollMsFor,
  startAgent,
  watchStall,
  type RunningAgent,
  type StallFacts,
} from './runner.js';
import type { AgentUsage, RateLimitInfo } from './claude-output.js';
import { agentKindOf } from './tool-output.js';
import type { Clock } from '../system/clock.js';
import type { LiveLog } from '../log/live-log.js';
import { killSpawnProcesses } from '../system/find-processes.js';
import { isSameProcessAlive, killProcessGroup } from '../system/process-identity.js';
import { buildPrompt, lessonsOf } from './prompt.js';
import { agentLogPath } from '../system/state-paths.js';
import type { TaskWorkspace } from '../git/workspace.js';
import { withAgentFileFlags, type AgentFilePersona } from '../project/agent-files.js';
import { isClaudeCommand } from './command.js';
import { gitResult } from '../git/git.js';
import { freePortBlock, needsPreparing, portEnv, prepareWorkspace } from './workspace-prep.js';
import { planIndex } from '../../core/plan-index.js';

/** Where a task's agent works and with what (the main repository, or a target's; see TaskRouter). */
export interface AgentRouting {
  /** A best-of-N `lane` has its own worktree and branch. */
  pathFor(taskId: string, lane?: number): string;
  ensureWorkspace(taskId: string, lane?: number): Promise<TaskWorkspace>;
  /** The agent for a task's role; absent → the run's agents. */
  agentFor?(taskId: string, role: string): AgentCommand | undefined;
  /** Extra `TARGET_*` variables. */
  envFor?(taskId: string): Record<string, string>;
  /** The conventions of the task's repository, for the prompt. */
  conventionsFor?(taskId: string): string | undefined;
  /** The identity context of the task's target, for the prompt. */
  identityContextFor?(taskId: string): string | undefined;
  /** A persona from a Claude Code agent file for the task's role (over the plan's persona). */
  personaFor?(taskId: string, role: string): AgentFilePersona | undefined;
}

/** What the supervisor needs from the orchestrator. */
export interface AgentSupervisorOptions {
  log: LiveLog;
  workspaces: AgentRouting;
  config: OrchestratorConfig;
  stateDir: string;
  /** The log's place when it is not `<state-dir>/orch.db`, passed to agents as `ORCH_DATABASE_URL`. */
  logUrl?: string;
  runId: string;
  clock: Clock;
  killGraceMs: number;
  /** How often the stall watchdog looks (default: a quarter of the stall timeout, at most 10 s). */
  stallPollMs?: number;
  /** `--agent-cmd`: one argv for every role. */
  agentCommand?: readonly string[];
  /** Hands a background effect to the orchestrator's loop. */
  track: (effect: Promise<unknown>) => void;
  /** The main repository: where `workspace.copy` copies from (default: no copies). */
  mainRepo?: string;
  /** Told when an agent's worktree was deleted while it ran (one line; the run goes on). */
  onWorkspaceDeleted?: (message: string) => void;
}

/** The first port of the first block when `workspace.portBase` is not set. */
export const DEFAULT_PORT_BASE = 20000;

/** Bytes of an attempt's output kept in the log (the whole output is in its log file). */
const TAIL_IN_LOG = 8000;

/** How an attempt ended, as recorded in `AgentExited` (and `RateLimited`). */
interface ExitFacts {
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  tail: string;
  usage?: AgentUsage;
  rateLimit?: RateLimitInfo;
  /** Claude Code's session, for `agents.<role>.resume`. */
  sessionId?: string;
  stalled?: StallFacts;
  /** The worktree's HEAD when the agent ended. */
  head?: string;
}

function stallOptions(
  timeoutMs: number | undefined,
  pollMs: number | undefined,
): { stallTimeoutMs?: number; stallPollMs?: number } {
  if (timeoutMs === undefined) return {};
  return { stallTimeoutMs: timeoutMs, ...(pollMs === undefined ? {} : { stallPollMs: pollMs }) };
}

/**
 * Starts, watches and stops agent processes, recording each step: `AgentSpawnRequested`
 * (the intent, written first, with the stream version as the lock) → `AgentStarted` (pid and
 * its start time) → `AgentExited` (or `AgentSpawnFailed`, `RateLimited`, `AgentLost`).
 *
 * @example
 * const supervisor = new AgentSupervisor({ log, workspaces, config, stateDir, runId, clock, killGraceMs: 5000, track });
 * const spawnId = await supervisor.spawn({ type: 'SpawnAgent', taskId: 'T1', phaseId: 'S1', attempt: 1, role: 'dev' });
 */
export class AgentSupervisor {
  private readonly running = new Map<string, RunningAgent>();
  private readonly watched = new Map<string, { pid: number; cancel: () => void }>();
  /** Port blocks by spawn, as recorded (`PortsAssigned`); filled from the log for spawns of earlier runs. */
  private readonly portBlocks = new Map<string, { base: number; count: number } | null>();
  private detached = false;

  constructor(private readonly o: AgentSupervisorOptions) {}

  /** The command for a role: `--agent-cmd`, else the role's agent (the task's target's first), else `default`. */
  commandFor(role: string, taskId?: string): AgentCommand | undefined {
    if (this.o.agentCommand) return { command: [...this.o.agentCommand] };
    if (taskId !== undefined && this.o.workspaces.agentFor) return this.o.workspaces.agentFor(taskId, role);
    return agentFor(this.o.config, role);
  }

  /** Records the spawn intent and starts the agent in the background; returns the spawn id. */
  async spawn(command: SpawnAgentCommand): Promise<string> {
    const spawnId = randomUUID();
    // Best of N: lanes are fresh agents (N lanes cannot all continue one Claude Code session).
    const configured = this.commandFor(command.role, command.taskId);
    let agent = command.lane === undefined ? this.resumed(command, configured) : configured;
    // An agent file's persona, and its model and tools for Claude Code; an unreadable one
    // fails this attempt (AgentSpawnFailed) with the error naming the file and its key.
    let agentFile: AgentFilePersona | Error | undefined;
    try {
      agentFile = this.o.workspaces.personaFor?.(command.taskId, command.role);
    } catch (err) {
      agentFile = err as Error;
    }
    if (agent && agentFile !== undefined && !(agentFile instanceof Error)) {
      agent = {
        ...agent,
        command: withAgentFileFlags(agent.command, agentFile, isClaudeCommand(agent.command)),
      };
    }
    const workspace = this.o.workspaces.pathFor(command.taskId, command.lane);
    const ev = commandEvent(command, {
      runId: this.o.runId,
      spawnId,
      agentCommand: agent?.command ?? [],
      workspace,
    });
    this.o.log.append(ev.streamId, ev.type, ev.data);
    const ports = this.assignPorts(command.taskId, spawnId);
    this.o.track(this.launch(command, spawnId, agent, agentFile, ports));
    return spawnId;
  }

  /**
   * `workspace.ports`: gives the new spawn the lowest block of ports no other live spawn
   * holds and records it (`PortsAssigned`), so a later run knows which blocks its re-attached
   * agents hold; a spawn's block is free again once it is no longer live. Null when off, or
   * when every block is taken (the spawn then fails, saying so).
   */
  private assignPorts(taskId: string, spawnId: string): { base: number; count: number } | null {
    const count = this.o.config.workspace?.ports;
    if (count === undefined) return null;
    const base = this.o.config.workspace?.portBase ?? DEFAULT_PORT_BASE;
    const held: { base: number; count: number }[] = [];
    for (const a of Object.values(this.o.log.state.agents)) {
      if (a.spawnId === spawnId || !isLiveAgent(a)) continue;
      const block = this.portBlockOf(a.task, a.spawnId);
      if (block !== null) held.push(block);
    }
    const start = freePortBlock(base, count, held);
    if (start === null) {
      this.portBlocks.set(spawnId, null);
      return null;
    }
    const block = { base: start, count };
    this.portBlocks.set(spawnId, block);
    this.o.log.append(
      streamIds.task(taskId),
      'PortsAssigned',
      { spawnId, taskId, base: start, count },
      { expectedVersion: 'any' },
    );
    return block;
  }

  /** The port block a spawn holds, from memory or its task's stream. */
  private portBlockOf(taskId: string, spawnId: string): { base: number; count: number } | null {
    const known = this.portBlocks.get(spawnId);
    if (known !== undefined) return known;
    let found: { base: number; count: number } | null = null;
    for (const e of this.o.log.store.readStream(streamIds.task(taskId))) {
      if (e.type !== 'PortsAssigned') continue;
      const d = e.data as { spawnId?: unknown; base?: unknown; count?: unknown };
      if (d.spawnId === spawnId && typeof d.base === 'number' && typeof d.count === 'number')
        found = { base: d.base, count: d.count };
    }
    this.portBlocks.set(spawnId, found);
    return found;
  }

  /**
   * `agents.<role>.resume`: a Claude Code command gets `--resume <session_id>` of the task's
   * latest recorded session (the intent records the argv with it); without a recorded
   * session, or for any other program, the command is unchanged (a fresh agent).
   */
  private resumed(
    command: SpawnAgentCommand,
    agent: AgentCommand | undefined,
  ): (AgentCommand & { resumedSession?: string }) | undefined {
    if (agent?.resume !== true || agentKindOf(agent.command) !== 'claude') return agent;
    if (agent.command.includes('--resume') || agent.command.includes('-r')) return agent;
    const sessionId = this.lastSessionOf(command.taskId);
    if (sessionId === undefined) return agent;
    const [program, ...rest] = agent.command;
    return { ...agent, command: [program!, '--resume', sessionId, ...rest], resumedSession: sessionId };
  }

  /** The `sessionId` of the task's latest `AgentExited` that recorded one. */
  private lastSessionOf(taskId: string): string | undefined {
    let sessionId: string | undefined;
    for (const e of this.o.log.store.readStream(streamIds.task(taskId))) {
      if (e.type !== 'AgentExited') continue;
      const id = (e.data as { sessionId?: unknown }).sessionId;
      if (typeof id === 'string' && id !== '') sessionId = id;
    }
    return sessionId;
  }

  private async launch(
    command: SpawnAgentCommand,
    spawnId: string,
    agent: (AgentCommand & { resumedSession?: string }) | undefined,
    agentFile: AgentFilePersona | Error | undefined,
    ports: { base: number; count: number } | null,
  ): Promise<void> {
    const { log } = this.o;
    const stream = streamIds.task(command.taskId);
    let running: RunningAgent;
    let workspace: TaskWorkspace;
    try {
      if (agentFile instanceof Error) throw agentFile;
      if (!agent) {
        throw new Error(
          `no agent is configured for role ${command.role} and there is no default agent (add agents.${command.role} or agents.default to orch.config.json)`,
        );
      }
      if (this.o.config.workspace?.ports !== undefined && ports === null) {
        throw new Error(
          `workspace.ports: no free block of ${this.o.config.workspace.ports} ports is left above ${this.o.config.workspace.portBase ?? DEFAULT_PORT_BASE} (lower workspace.portBase or workspace.ports)`,
        );
      }
      workspace = await this.o.workspaces.ensureWorkspace(command.taskId, command.lane);
      const targetEnv = this.o.workspaces.envFor?.(command.taskId) ?? {};
      const portVars = ports === null ? {} : portEnv(ports.base, ports.count);
      const prepared = await this.prepare(command, spawnId, workspace, portVars);
      const env = { ...agent.env, ...portVars };
      running = await startAgent({
        command: agent.command,
        prompt: this.prompt(command, workspace, agentFile?.persona, agent.resumedSession),
        identity: {
          runId: this.o.runId,
          taskId: command.taskId,
          spawnId,
          role: command.role,
          attempt: command.attempt,
          ...(command.lane === undefined ? {} : { lane: command.lane, lanes: command.lanes ?? command.lane }),
          stateDir: this.o.stateDir,
          workspace: workspace.path,
          ...(this.o.logUrl === undefined ? {} : { logUrl: this.o.logUrl }),
          targetEnv,
        },
        ...(Object.keys(env).length > 0 ? { env } : {}),
        ...(prepared ? { appendLog: true } : {}),
        ...(agent.timeout ? { timeoutMs: agent.timeout * 1000 } : {}),
        ...stallOptions(stallTimeoutMs(this.o.config, agent), this.o.stallPollMs),
        killGraceMs: this.o.killGraceMs,
        logMaxBytes: Math.round(this.o.config.agentLogMaxMB * 1024 * 1024),
        clock: this.o.clock,
      });
    } catch (err) {
      log.append(
        stream,
        'AgentSpawnFailed',
        { spawnId, error: (err as Error).message },
        { expectedVersion: 'any' },
      );
      return;
    }
    this.running.set(spawnId, running);
    log.append(
      stream,
      'AgentStarted',
      { spawnId, pid: running.pid, pidStartTime: running.startTime ?? null, startedAt: running.startedAt },
      { expectedVersion: 'any' },
    );
    const result = await running.done;
    this.running.delete(spawnId);
    if (this.detached) return;
    if (!fs.existsSync(path.join(workspace.path, '.git'))) {
      // A person deleted the worktree while the agent ran: whatever it did there is gone
      // (its commits, if any, are on the branch). The attempt is lost; the retry gets the
      // worktree recreated from the branch (`ensureWorkspace`).
      const how =
        result.exitCode === null ? `signal ${result.signal ?? '?'}` : `exit code ${result.exitCode}`;
      const reason =
        `its worktree ${workspace.path} was deleted while it ran (the agent ended with ${how}); ` +
        `the next attempt gets it recreated from branch ${workspace.branch}`;
      this.o.onWorkspaceDeleted?.(`task ${command.taskId}: ${reason}`);
      log.append(stream, 'AgentLost', { spawnId, reason }, { expectedVersion: 'any' });
      return;
    }
    const head = await headOf(workspace.path);
    this.recordExit(command.taskId, spawnId, {
      ...result,
      ...(head === undefined ? {} : { head }),
      ...(result.claude?.sessionId ? { sessionId: result.claude.sessionId } : {}),
    });
  }

  /**
   * `workspace.copy` and `workspace.setup` in a worktree not yet prepared: records
   * `WorkspacePrepared`; a failed set-up throws (the spawn fails with the end of its output,
   * which the next attempt's prompt quotes). True when it ran (its output opens the log).
   */
  private async prepare(
    command: SpawnAgentCommand,
    spawnId: string,
    workspace: TaskWorkspace,
    portVars: Record<string, string>,
  ): Promise<boolean> {
    const prep = this.o.config.workspace;
    if (prep === undefined || (prep.setup === undefined && (prep.copy ?? []).length === 0)) return false;
    if (!(await needsPreparing(workspace.path))) return false;
    const outcome = await prepareWorkspace({
      worktree: workspace.path,
      mainRepo: this.o.mainRepo ?? workspace.path,
      config: this.o.mainRepo === undefined ? { ...prep, copy: [] } : prep,
      logFile: agentLogPath(this.o.stateDir, command.taskId, command.attempt),
      env: {
        ORCH_TASK_ID: command.taskId,
        ORCH_SPAWN_ID: spawnId,
        ORCH_STATE_DIR: this.o.stateDir,
        ...(this.o.logUrl === undefined ? {} : { ORCH_DATABASE_URL: this.o.logUrl }),
        ORCH_WORKSPACE: workspace.path,
        ...portVars,
      },
    });
    this.o.log.append(
      streamIds.task(command.taskId),
      'WorkspacePrepared',
      {
        spawnId,
        taskId: command.taskId,
        copied: outcome.copied,
        command: outcome.command,
        exitCode: outcome.exitCode,
        ...(outcome.timedOut ? { timedOut: true } : {}),
        durationMs: outcome.durationMs,
        outputTail: outcome.tail.slice(-TAIL_IN_LOG),
      },
      { expectedVersion: 'any' },
    );
    if (outcome.exitCode !== 0) {
      const how = outcome.timedOut
        ? `timed out after ${prep.setupTimeout} s`
        : `failed (exit ${outcome.exitCode ?? 'none'})`;
      throw new Error(
        `workspace.setup ${JSON.stringify(outcome.command)} ${how}; the end of its output:\n${outcome.tail.slice(-4000)}`,
      );
    }
    return true;
  }

  private recordExit(taskId: string, spawnId: string, r: ExitFacts): void {
    const stream = streamIds.task(taskId);
    const { log } = this.o;
    if (r.rateLimit) {
      log.append(
        stream,
        'RateLimited',
        { spawnId, resetAt: r.rateLimit.resetAt ?? null, message: r.rateLimit.message },
        { expectedVersion: 'any' },
      );
    }
    log.append(
      stream,
      'AgentExited',
      {
        spawnId,
        exitCode: r.exitCode,
        signal: r.signal,
        durationMs: r.durationMs,
        outputTail: r.tail.slice(-TAIL_IN_LOG),
        ...(r.usage ? { usage: r.usage } : {}),
        ...(r.sessionId ? { sessionId: r.sessionId } : {}),
        ...(r.stalled ? { stalled: r.stalled } : {}),
        ...(r.head ? { head: r.head } : {}),
      },
      { expectedVersion: 'any' },
    );
  }

  /** The prompt of one attempt: persona, task, what earlier attempts left, the protocol. */
  private prompt(
    command: SpawnAgentCommand,
    workspace: TaskWorkspace,
    fromFile?: Persona,
    resumedSession?: string,
  ): string {
    const { log, config } = this.o;
    const plan = log.state.plan;
    const index = plan ? planIndex(plan) : undefined;
    const task = index?.tasks.get(command.taskId);
    if (!plan || !index || !task) throw new Error(`task ${command.taskId} is not in the recorded plan`);
    const phase = index.phases.get(task.phase);
    const milestone = phase ? plan.milestones.find((m) => m.id === phase.milestone) : undefined;
    const persona = fromFile ?? plan.personas.find((p) => p.role === command.role);
    const attempts = new AttemptFold(command.taskId)
      .applyAll(log.store.readStream(streamIds.task(command.taskId)))
      .history(command.taskId).attempts;
    const history = lessonsOf(attempts).filter((h) => h.attempt < command.attempt);
    const conventions = this.o.workspaces.conventionsFor?.(command.taskId);
    const identityContext = this.o.workspaces.identityContextFor?.(command.taskId);
    return buildPrompt({
      task,
      ...(identityContext === undefined ? {} : { identityContext }),
      ...(conventions === undefined ? {} : { conventions }),
      ...(phase ? { phase } : {}),
      ...(milestone ? { milestone } : {}),
      ...(persona ? { persona } : {}),
      ...(resumedSession === undefined ? {} : { resumedSession }),
      attempt: command.attempt,
      ...(command.lane === undefined
        ? {}
        : { lane: { lane: command.lane, lanes: command.lanes ?? command.lane } }),
      // A person's retry of a failed task (TaskRetryRequested) gave it maxRetries + 1 more.
      maxAttempts: config.maxRetries + 1 + (getOwn(log.state.tasks, command.taskId)?.context.retryBase ?? 0),
      history,
      workspace: {
        path: workspace.path,
        branch: workspace.branch,
        integrationBranch: config.integrationBranch,
      },
    });
  }

  /**
   * Crash recovery: an agent of an earlier run that is still alive (same pid, same start
   * time) is watched until it ends; an agent that ended (now or while orch was down) is
   * recorded with the exit status its wrapper wrote (`AgentExited`), or as lost when there
   * is none. An agent whose start was never recorded is looked for by its `ORCH_SPAWN_ID`
   * and stopped.
   */
  reconcile(agent: AgentRecord): void {
    const stream = streamIds.task(agent.task);
    const { log } = this.o;
    const lost = (reason: string) =>
      log.append(stream, 'AgentLost', { spawnId: agent.spawnId, reason }, { expectedVersion: 'any' });
    if (agent.pid === null) {
      // Orch died between the intent and AgentStarted: the process may exist unrecorded.
      this.o.track(
        killSpawnProcesses(agent.spawnId, this.o.killGraceMs).then((killed) =>
          lost(
            killed > 0
              ? `orch stopped before recording the start; the unrecorded process (${killed}) was stopped`
              : 'orch stopped before the agent was started',
          ),
        ),
      );
      return;
    }
    const startTime = agent.pidStartTime === null ? null : String(agent.pidStartTime);
    if (startTime !== null && isSameProcessAlive(agent.pid, startTime)) {
      this.o.track(this.watch(agent, startTime));
      return;
    }
    this.o.track(this.settleEnded(agent, `process ${agent.pid} was gone when orch restarted`));
  }

  /**
   * Re-attaches to a live agent of an earlier run: polls until it ends, then settles it. The
   * stall watchdog watches it too, its idle time counted from the re-attachment.
   */
  private watch(agent: AgentRecord, startTime: string): Promise<void> {
    const pid = agent.pid!;
    const logFile = agentLogPath(this.o.stateDir, agent.task, agent.attempt, agent.lane);
    const limit = stallTimeoutMs(this.o.config, this.commandFor(agent.role, agent.task));
    let stalled: StallFacts | undefined;
    const stall =
      limit === undefined
        ? undefined
        : watchStall({
            logFile,
            workspace: this.o.workspaces.pathFor(agent.task, agent.lane),
            timeoutMs: limit,
            pollMs: this.o.stallPollMs ?? stallPollMsFor(limit),
            onStall: (idleMs) => {
              stalled = { idleMs, lastOutputLine: readAgentOutput(logFile, { tailBytes: 0 }).lastLine };
              void killProcessGroup(pid, this.o.killGraceMs);
            },
          });
    // The log's cap holds for a re-attached agent too (orch rotates it; nothing did while orch was down).
    const cap = capLog(logFile, Math.round(this.o.config.agentLogMaxMB * 1024 * 1024));
    return new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (isSameProcessAlive(pid, startTime)) return;
        clearInterval(timer);
        stall?.cancel();
        cap.stop();
        this.watched.delete(agent.spawnId);
        if (this.detached) return resolve();
        this.settleEnded(
          agent,
          `process ${pid} (re-attached after a restart) ended without an exit status`,
          stalled,
        ).then(resolve, reject);
      }, 100);
      this.watched.set(agent.spawnId, {
        pid,
        cancel: () => {
          clearInterval(timer);
          stall?.cancel();
          cap.stop();
          resolve();
        },
      });
    });
  }

  /**
   * An agent of an earlier run whose wrapper has ended: stops what it left in its group, then
   * records its real exit from the `.exit` file, or `AgentLost` with `reason` without one.
   */
  private async settleEnded(agent: AgentRecord, reason: string, stalled?: StallFacts): Promise<void> {
    // Only processes carrying this spawn's id: the pid itself may have been reused by now.
    await killSpawnProcesses(agent.spawnId, Math.min(this.o.killGraceMs, 2000));
    const logFile = agentLogPath(this.o.stateDir, agent.task, agent.attempt, agent.lane);
    const status = readAgentExit(logFile, agent.spawnId);
    if (!status) {
      this.o.log.append(
        streamIds.task(agent.task),
        'AgentLost',
        {
          spawnId: agent.spawnId,
          reason: stalled
            ? `stopped as stalled (idle ${Math.round(stalled.idleMs / 1000)} s); ${reason}`
            : reason,
        },
        { expectedVersion: 'any' },
      );
      return;
    }
    const kind = agentKindOf(this.commandFor(agent.role, agent.task)?.command ?? []);
    const output = readAgentOutput(logFile, {
      tailBytes: TAIL_IN_LOG,
      claudeJson: kind === undefined || kind === 'claude',
      ...(kind === undefined || kind === 'claude' ? {} : { usageOf: kind }),
      exitCode: status.exitCode,
      now: this.o.clock.now(),
    });
    const started = agent.startedAt === null ? NaN : Date.parse(agent.startedAt);
    const ended = Date.parse(status.endedAt);
    const head = await headOf(this.o.workspaces.pathFor(agent.task));
    this.recordExit(agent.task, agent.spawnId, {
      exitCode: status.exitCode,
      signal: status.signal,
      durationMs: Number.isFinite(started) && ended >= started ? ended - started : 0,
      tail: output.tail,
      ...(output.usage ? { usage: output.usage } : {}),
      ...(output.rateLimit ? { rateLimit: output.rateLimit } : {}),
      ...(output.claude?.sessionId ? { sessionId: output.claude.sessionId } : {}),
      ...(stalled ? { stalled } : {}),
      ...(head === undefined ? {} : { head }),
    });
  }

  /** The spawn ids of the agents this run is running or watching. */
  spawnIds(): string[] {
    return [...this.running.keys(), ...this.watched.keys()];
  }

  /** How many agents this run is running or watching. */
  get size(): number {
    return this.running.size + this.watched.size;
  }

  /**
   * Stops one agent of this run (its whole process group) and waits until its exit is
   * recorded; false when this run neither runs nor watches that spawn.
   */
  async stopSpawn(spawnId: string): Promise<boolean> {
    const running = this.running.get(spawnId);
    if (running !== undefined) {
      await running.stop().catch(() => undefined);
      return true;
    }
    const watched = this.watched.get(spawnId);
    if (watched === undefined) return false;
    await killProcessGroup(watched.pid, this.o.killGraceMs);
    return true;
  }

  /** Stops every agent (whole process groups) and waits until their exits are recorded. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.running.values()].map((a) => a.stop().catch(() => undefined)));
    await Promise.all(
      [...this.watched.values()].map(async (w) => {
        await killProcessGroup(w.pid, this.o.killGraceMs);
      }),
    );
  }

  /** Leaves every agent running and stops recording about them (a later run re-attaches). */
  detachAll(): void {
    this.detached = true;
    for (const a of this.running.values()) a.detach();
    for (const w of this.watched.values()) w.cancel();
    this.watched.clear();
  }
}

/** The commit checked out in a worktree, or undefined when there is none to read. */
async function headOf(worktree: string): Promise<string | undefined> {
  const read = readWorktreeHead(worktree);
  if (read !== undefined) return read;
  try {
    const r = await gitResult(worktree, ['rev-parse', '--verify', '-q', 'HEAD']);
    const sha = r.stdout.trim();
    return r.exitCode === 0 && sha !== '' ? sha : undefined;
  } catch {
    return undefined;
  }
}
