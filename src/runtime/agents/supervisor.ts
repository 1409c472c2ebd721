import { randomUUID } from 'node:crypto';
import { getOwn } from '../../core/record.js';
import { AttemptFold } from '../../core/attempt-history.js';
import type { SpawnAgentCommand } from '../../core/commands.js';
import { commandEvent } from '../../core/commands.js';
import { agentFor, stallTimeoutMs, type AgentCommand, type OrchestratorConfig } from '../../core/config.js';
import { streamIds } from '../../core/events.js';
import type { AgentRecord } from '../../core/state.js';
import type { Persona } from '../../plan/model.js';
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
import { findProcessesByEnv } from '../system/find-processes.js';
import { isSameProcessAlive, killProcessGroup } from '../system/process-identity.js';
import { buildPrompt, lessonsOf } from './prompt.js';
import { agentLogPath } from '../system/state-paths.js';
import type { TaskWorkspace } from '../git/workspace.js';
import { withAgentFileFlags, type AgentFilePersona } from '../project/agent-files.js';
import { isClaudeCommand } from './command.js';

/** Where a task's agent works and with what (the main repository, or a target's; see TaskRouter). */
export interface AgentRouting {
  pathFor(taskId: string): string;
  ensureWorkspace(taskId: string): Promise<TaskWorkspace>;
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
  runId: string;
  clock: Clock;
  killGraceMs: number;
  /** How often the stall watchdog looks (default: a quarter of the stall timeout, at most 10 s). */
  stallPollMs?: number;
  /** `--agent-cmd`: one argv for every role. */
  agentCommand?: readonly string[];
  /** Hands a background effect to the orchestrator's loop. */
  track: (effect: Promise<unknown>) => void;
}

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
    let agent = this.resumed(command, this.commandFor(command.role, command.taskId));
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
    const workspace = this.o.workspaces.pathFor(command.taskId);
    const ev = commandEvent(command, {
      runId: this.o.runId,
      spawnId,
      agentCommand: agent?.command ?? [],
      workspace,
    });
    this.o.log.append(ev.streamId, ev.type, ev.data);
    this.o.track(this.launch(command, spawnId, agent, agentFile));
    return spawnId;
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
  ): Promise<void> {
    const { log } = this.o;
    const stream = streamIds.task(command.taskId);
    let running: RunningAgent;
    try {
      if (agentFile instanceof Error) throw agentFile;
      if (!agent) {
        throw new Error(
          `no agent is configured for role ${command.role} and there is no default agent (add agents.${command.role} or agents.default to orch.config.json)`,
        );
      }
      const workspace = await this.o.workspaces.ensureWorkspace(command.taskId);
      const targetEnv = this.o.workspaces.envFor?.(command.taskId) ?? {};
      running = await startAgent({
        command: agent.command,
        prompt: this.prompt(command, workspace, agentFile?.persona, agent.resumedSession),
        identity: {
          runId: this.o.runId,
          taskId: command.taskId,
          spawnId,
          role: command.role,
          attempt: command.attempt,
          stateDir: this.o.stateDir,
          workspace: workspace.path,
          targetEnv,
        },
        ...(agent.env ? { env: agent.env } : {}),
        ...(agent.timeout ? { timeoutMs: agent.timeout * 1000 } : {}),
        ...stallOptions(stallTimeoutMs(this.o.config, agent), this.o.stallPollMs),
        killGraceMs: this.o.killGraceMs,
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
    this.recordExit(command.taskId, spawnId, {
      ...result,
      ...(result.claude?.sessionId ? { sessionId: result.claude.sessionId } : {}),
    });
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
    const task = plan?.tasks.find((t) => t.id === command.taskId);
    if (!plan || !task) throw new Error(`task ${command.taskId} is not in the recorded plan`);
    const phase = plan.phases.find((p) => p.id === task.phase);
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
    const logFile = agentLogPath(this.o.stateDir, agent.task, agent.attempt);
    const limit = stallTimeoutMs(this.o.config, this.commandFor(agent.role, agent.task));
    let stalled: StallFacts | undefined;
    const stall =
      limit === undefined
        ? undefined
        : watchStall({
            logFile,
            workspace: this.o.workspaces.pathFor(agent.task),
            timeoutMs: limit,
            pollMs: this.o.stallPollMs ?? stallPollMsFor(limit),
            onStall: (idleMs) => {
              stalled = { idleMs, lastOutputLine: readAgentOutput(logFile, { tailBytes: 0 }).lastLine };
              void killProcessGroup(pid, this.o.killGraceMs);
            },
          });
    return new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (isSameProcessAlive(pid, startTime)) return;
        clearInterval(timer);
        stall?.cancel();
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
    const logFile = agentLogPath(this.o.stateDir, agent.task, agent.attempt);
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
    this.recordExit(agent.task, agent.spawnId, {
      exitCode: status.exitCode,
      signal: status.signal,
      durationMs: Number.isFinite(started) && ended >= started ? ended - started : 0,
      tail: output.tail,
      ...(output.usage ? { usage: output.usage } : {}),
      ...(output.rateLimit ? { rateLimit: output.rateLimit } : {}),
      ...(output.claude?.sessionId ? { sessionId: output.claude.sessionId } : {}),
      ...(stalled ? { stalled } : {}),
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

/** Finds processes carrying `ORCH_SPAWN_ID=<spawnId>` and stops their groups. */
async function killSpawnProcesses(spawnId: string, graceMs: number): Promise<number> {
  const pids = findProcessesByEnv('ORCH_SPAWN_ID', spawnId);
  for (const pid of pids) {
    // The agent leads its own group; anything else found (a grandchild) is killed by pid.
    if ((await killProcessGroup(pid, graceMs)) === 'not-running') {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  return pids.length;
}
