import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  agentEnv,
  isClaudeCommand,
  resolveBuiltinAgent,
  substituteArgs,
  withClaudeJsonOutput,
  type AgentIdentity,
} from './command.js';
import {
  detectRateLimit,
  parseClaudeResult,
  type AgentUsage,
  type ClaudeResult,
  type RateLimitInfo,
} from './claude-output.js';
import { capLog, readRotationCount, rotateIfFull, rotationCountFile } from './log-cap.js';
import { agentKindOf, parseToolUsage, type AgentKind } from './tool-output.js';
import { systemClock, type Clock } from '../system/clock.js';
import { AgentSpawnError } from '../system/errors.js';
import { lastLineOf, OutputFile, readFileEnd, type OutputGlance } from '../system/output-tail.js';
import { killSpawnProcesses } from '../system/find-processes.js';
import { killProcessGroup, processStartTime } from '../system/process-identity.js';
import { agentLogPath, promptFilePath } from '../system/state-paths.js';
import { spawnThreaded, type ThreadedChild } from '../system/spawn-thread.js';

/** The tools other than Claude Code whose reported usage is read. */
export type ToolKind = Exclude<AgentKind, 'claude'>;

/** How to start one attempt of an agent. */
export interface StartAgentOptions {
  /** The configured argv template (`agents.<role>.command`). */
  command: readonly string[];
  /** The full prompt text; always written to the prompt file too. */
  prompt: string;
  /** Who this attempt is; `workspace` is also the working directory. */
  identity: AgentIdentity;
  /** The role's extra environment (`agents.<role>.env`). */
  env?: Record<string, string>;
  /** Kill the process group after this long (config `timeout` is seconds: multiply by 1000). */
  timeoutMs?: number;
  /**
   * Stop the process group when the log has not grown and the workspace has not changed
   * (HEAD, `git status`, and the size and mtime of each file it lists) for this long.
   */
  stallTimeoutMs?: number;
  /** How often the stall watchdog looks. Default 10 000 (at most a quarter of `stallTimeoutMs`, at least 50). */
  stallPollMs?: number;
  /** Between SIGTERM and SIGKILL. Default 5000. */
  killGraceMs?: number;
  /** Bytes of output read back from the end of the log for the next prompt. Default 64 KiB. */
  tailBytes?: number;
  /**
   * Keep the log under this many bytes while orch runs: at the cap orch moves the newest
   * output to `<log>.1` (replacing the one before) and truncates the log ({@link capLog}), so
   * an attempt keeps about twice this on disk. `0`: never. Default {@link DEFAULT_LOG_MAX_BYTES}.
   */
  logMaxBytes?: number;
  /** Default `<state-dir>/logs/<task>/<attempt>.log`; the exit status goes next to it (`.exit`). */
  logFile?: string;
  /** Default `<state-dir>/prompts/<task>/<attempt>.md`. */
  promptFile?: string;
  /** Append to the log instead of starting it afresh (it already holds the worktree set-up's output). */
  appendLog?: boolean;
  /** Longer prompts are not put into argv; `{prompt}` then points at the prompt file. Default 100 000 bytes. */
  maxArgPromptBytes?: number;
  /** Parse Claude Code's JSON result; default: when argv[0] is Claude Code. */
  claudeJson?: boolean;
  /** Read the usage of Codex, Gemini CLI or aider; default: by argv[0]'s base name (`agentKindOf`). */
  usageOf?: ToolKind;
  clock?: Clock;
}

/** Why the stall watchdog stopped an agent: idle this long (ms), and the last line it printed. */
export interface StallFacts {
  idleMs: number;
  lastOutputLine: string;
}

/** Live figures for a dashboard. */
export interface AgentProgress {
  outputBytes: number;
  lastLine: string;
  /** ISO time of the last output, if any. */
  lastOutputAt?: string;
}

/** How an attempt ended. */
export interface AgentRunResult extends AgentOutput {
  /** Exit code, or null when a signal ended the process. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Killed because `timeoutMs` passed. */
  timedOut: boolean;
  /** Killed by `stop()`. */
  stopped: boolean;
  /** Killed by the stall watchdog: how long it had been idle, and its last output line then. */
  stalled?: StallFacts;
  /** Processes the agent left behind (in its group, or carrying its `ORCH_SPAWN_ID`) were killed after it exited. */
  leftoversKilled: boolean;
  /** The wrapper's pid: the leader of the agent's process group. */
  pid: number;
  startTime: string | undefined;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  argv: string[];
  logFile: string;
  promptFile: string;
  /** Where the wrapper wrote the exit status. */
  exitFile: string;
}

/** A started agent process. */
export interface RunningAgent {
  /** The wrapper's pid, which leads the process group (`process.kill(-pid)` reaches the agent). */
  readonly pid: number;
  /** Process start time, to recognise this pid later ({@link isSameProcessAlive}). */
  readonly startTime: string | undefined;
  readonly startedAt: string;
  readonly argv: readonly string[];
  readonly logFile: string;
  readonly promptFile: string;
  readonly exitFile: string;
  /** Resolves when the process has exited (never, after {@link RunningAgent.detach}). */
  readonly done: Promise<AgentRunResult>;
  progress(): AgentProgress;
  /** Kills the whole process group (SIGTERM, then SIGKILL after the grace period). */
  stop(): Promise<AgentRunResult>;
  /** Lets this process exit while the agent keeps running (a later run re-attaches). */
  detach(): void;
}

/** An attempt's log is rotated at this size unless told otherwise (64 MiB). */
export const DEFAULT_LOG_MAX_BYTES = 64 * 1024 * 1024;

/**
 * The wrapper every agent runs under: `/bin/sh -c <this> orch-agent <exitFile> <head> <file> <args…>`.
 * It runs the agent in a subshell, the agent's stdout and stderr being the log file itself (one
 * open file in append mode, so their order is kept and no process of orch's copies output;
 * the shell's own messages, such as "Killed", go nowhere), and when the agent has ended it
 * writes `<head><exit code>,"signal":<name or null>}` to `exitFile` in one write, so the status
 * survives the death of orch. `<head>` is the record's start as orch made it
 * (`{"spawnId":…,"exitCode":`); the record has no `endedAt`: the file's mtime is that time. It
 * catches SIGTERM, SIGINT and SIGHUP with an empty trap (the agent gets default handlers
 * again), so it outlives the agent long enough to record how it ended. A status above 128 is
 * read as the signal `status - 128` (sh cannot tell an agent killed by SIGTERM from one that
 * exited with 143). The agent's argv is data (positional parameters), never source text. A
 * start of `sh` costs about 2 ms of CPU where the Node wrapper it replaced cost 80; the log's
 * cap is kept by orch instead ({@link capLog}).
 */
const WRAPPER = String.raw`trap : HUP INT TERM
f=$1; h=$2; shift 2
exec 3>&2 2>/dev/null
( "$@" 2>&3 3>&- )
c=$?
if [ "$c" -gt 128 ] && n=$(kill -l "$((c - 128))"); then printf '%snull,"signal":"SIG%s"}\n' "$h" "$n" > "$f"
else printf '%s%s,"signal":null}\n' "$h" "$c" > "$f"; fi
exit "$c"
`;

/**
 * Starts an agent: writes the prompt file, substitutes the argv (never through a shell),
 * and runs it under a small Node wrapper, detached in its own process group, in the task's
 * workspace with the `ORCH_*` variables. stdout and stderr go straight to the log file (no
 * pipe to orch, so the agent does not die of SIGPIPE when orch is killed); the wrapper
 * writes the exit status to `<attempt>.exit`. Throws {@link AgentSpawnError} if the
 * command cannot be found or started.
 *
 * @example
 * const agent = await startAgent({
 *   command: ['claude', '-p', '--dangerously-skip-permissions', '{prompt}'],
 *   prompt, identity: { runId, taskId: 'T001', spawnId, role: 'dev', attempt: 1, stateDir, workspace },
 *   timeoutMs: 1_800_000,
 * });
 * // record AgentStarted { pid: agent.pid, startTime: agent.startTime }
 * const result = await agent.done; // exitCode, usage, rateLimit, tail…
 */
export async function startAgent(options: StartAgentOptions): Promise<RunningAgent> {
  const { identity } = options;
  const clock = options.clock ?? systemClock;
  const graceMs = options.killGraceMs ?? 5000;
  const tailBytes = options.tailBytes ?? 64 * 1024;
  const logFile =
    options.logFile ?? agentLogPath(identity.stateDir, identity.taskId, identity.attempt, identity.lane);
  const exitFile = agentExitFile(logFile);
  const promptFile =
    options.promptFile ?? promptFilePath(identity.stateDir, identity.taskId, identity.attempt, identity.lane);
  const cwd = identity.workspace;

  fs.mkdirSync(path.dirname(promptFile), { recursive: true });
  fs.writeFileSync(promptFile, options.prompt);
  const maxArg = options.maxArgPromptBytes ?? 100_000;
  const promptArg =
    Buffer.byteLength(options.prompt) > maxArg
      ? `Your instructions are too long for the command line; read them from the file ${promptFile} first.`
      : options.prompt;
  const substituted = substituteArgs(options.command, {
    prompt: promptArg,
    promptFile,
    taskId: identity.taskId,
    role: identity.role,
  });
  const claudeJson = options.claudeJson ?? isClaudeCommand(substituted);
  const kind = agentKindOf(substituted);
  const usageOf = options.usageOf ?? (kind === 'claude' ? undefined : kind);
  const argv = resolveBuiltinAgent(claudeJson ? withClaudeJsonOutput(substituted) : substituted);
  const file = argv[0];
  if (file === undefined) throw new AgentSpawnError('', cwd, 'the command is empty');
  if (!fs.existsSync(cwd)) throw new AgentSpawnError(file, cwd, 'the workspace directory does not exist');
  const env = { ...process.env, ...options.env, ...agentEnv(identity) };
  const problem = executableProblem(file, cwd, env['PATH'] ?? '');
  if (problem) throw new AgentSpawnError(file, cwd, problem);

  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  // A status or rotated output left by an earlier spawn of the same attempt is not this one's.
  fs.rmSync(exitFile, { force: true });
  fs.rmSync(rotatedLogFile(logFile), { force: true });
  fs.rmSync(rotationCountFile(logFile), { force: true });
  // Appending: the workspace set-up's output is already at the top of the attempt's log. The
  // file is always opened in append mode, which the rotation's truncation relies on.
  if (options.appendLog !== true) fs.writeFileSync(logFile, '');
  const prelude = options.appendLog === true ? fileSize(logFile) : 0;
  const logMax = options.logMaxBytes ?? DEFAULT_LOG_MAX_BYTES;
  const startedAtDate = clock.now();
  let child: ThreadedChild;
  try {
    const head = `{"spawnId":${JSON.stringify(identity.spawnId)},"exitCode":`;
    // From orch's process-starting thread (a fork of this process blocks its caller); the
    // wrapper's stdout and stderr append to the log, which orch follows by name.
    child = await spawnThreaded('/bin/sh', ['-c', WRAPPER, 'orch-agent', exitFile, head, ...argv], {
      cwd,
      env,
      detached: true,
      logFile,
    });
  } catch (err) {
    throw new AgentSpawnError(file, cwd, (err as Error).message, err);
  }
  const pid = child.pid;
  const startTime = processStartTime(pid);

  let timedOut = false;
  let stopped = false;
  const exited = child.exited;
  const timer =
    options.timeoutMs !== undefined
      ? setTimeout(() => {
          timedOut = true;
          void killProcessGroup(pid, graceMs);
        }, options.timeoutMs)
      : undefined;
  const output = new OutputFile(logFile, { windowBytes: LAST_LINE_WINDOW_BYTES });
  const cap = capLog(logFile, logMax);
  let seen: OutputGlance | undefined;
  let progress: AgentProgress = { outputBytes: 0, lastLine: '' };
  let stalled: StallFacts | undefined;
  const watchdog =
    options.stallTimeoutMs !== undefined && options.stallTimeoutMs > 0
      ? watchStall({
          logFile,
          workspace: cwd,
          timeoutMs: options.stallTimeoutMs,
          pollMs: options.stallPollMs ?? stallPollMsFor(options.stallTimeoutMs),
          onStall: (idleMs) => {
            if (stalled !== undefined || timedOut || stopped) return;
            const lastOutputLine = readAgentOutput(logFile, { tailBytes: 0 }).lastLine;
            stalled = { idleMs, lastOutputLine };
            void killProcessGroup(pid, graceMs);
          },
        })
      : undefined;

  const done = (async (): Promise<AgentRunResult> => {
    const wrapper = await exited;
    if (timer) clearTimeout(timer);
    watchdog?.cancel();
    cap.stop();
    // Without a status file the wrapper itself was killed (SIGKILL on escalation).
    const status = readAgentExit(logFile, identity.spawnId);
    const exitCode = status ? status.exitCode : wrapper.code;
    const signal = status ? status.signal : wrapper.signal;
    // The injected clock, like startedAt: the file's endedAt is for re-attaching after a restart.
    const endedAt = clock.now();
    // Whatever the agent started and left running dies with it: its process group, then any
    // process still carrying its ORCH_SPAWN_ID (a daemon that left the group and session).
    const leftovers = await killProcessGroup(pid, Math.min(graceMs, 2000));
    const escaped = await killSpawnProcesses(identity.spawnId, Math.min(graceMs, 2000));
    // The last output may have taken the log past the cap after orch last looked.
    if (logMax > 0) rotateIfFull(logFile, logMax);
    const output = readAgentOutput(logFile, {
      tailBytes,
      claudeJson,
      ...(usageOf ? { usageOf } : {}),
      exitCode,
      now: endedAt,
    });
    // Everything printed, rotated away or not (the wrapper counts it).
    if (status?.outputBytes !== undefined) output.outputBytes = Math.max(0, status.outputBytes - prelude);
    return {
      exitCode,
      signal,
      timedOut,
      stopped,
      ...(stalled ? { stalled } : {}),
      leftoversKilled: leftovers !== 'not-running' || escaped > 0,
      pid,
      startTime,
      startedAt: startedAtDate.toISOString(),
      endedAt: endedAt.toISOString(),
      durationMs: Math.max(0, endedAt.getTime() - startedAtDate.getTime()),
      argv,
      logFile,
      promptFile,
      exitFile,
      ...output,
    };
  })();

  return {
    pid,
    startTime,
    startedAt: startedAtDate.toISOString(),
    argv,
    logFile,
    promptFile,
    exitFile,
    done,
    progress: () => {
      // The file as last seen while it cannot be read; it is read again only when it changed.
      const glance = output.glance();
      if (glance !== undefined && glance !== seen) {
        seen = glance;
        progress = {
          outputBytes: glance.size,
          lastLine: glance.lastLine,
          ...(glance.size > 0 ? { lastOutputAt: glance.mtime.toISOString() } : {}),
        };
      }
      return progress;
    },
    stop: async () => {
      stopped = true;
      await killProcessGroup(pid, graceMs);
      return done;
    },
    detach: () => {
      if (timer) clearTimeout(timer);
      watchdog?.cancel();
      cap.stop();
      child.unref();
    },
  };
}

/**
 * Runs an agent to the end: {@link startAgent} then its `done`.
 *
 * @example
 * const { exitCode, tail } = await runAgent({ command: ['./agent.sh', '{promptFile}'], prompt, identity });
 */
export async function runAgent(options: StartAgentOptions): Promise<AgentRunResult> {
  return (await startAgent(options)).done;
}

/** The watchdog's default interval: a quarter of the stall timeout, between 50 ms and 10 s. */
export function stallPollMsFor(stallTimeoutMs: number): number {
  return Math.max(50, Math.min(10_000, stallTimeoutMs / 4));
}

/**
 * The stall watchdog: every `pollMs` it looks at the log's size and, when that has not
 * changed, at the workspace's signature ({@link workspaceSignature}); when neither has
 * changed for `timeoutMs` it calls `onStall` with the idle time (once). Idle time is measured
 * on the monotonic clock, so neither a wall clock that jumps nor an injected clock stops an
 * agent early.
 */
export function watchStall(o: {
  logFile: string;
  workspace: string;
  timeoutMs: number;
  pollMs: number;
  onStall: (idleMs: number) => void;
}): { cancel: () => void } {
  let lastActive = performance.now();
  let size = -1;
  let signature: string | undefined;
  let busy = false;
  let cancelled = false;
  const look = async (): Promise<void> => {
    let grew = false;
    try {
      const now = fs.statSync(o.logFile).size;
      grew = now !== size;
      size = now;
    } catch {
      // Not there yet: nothing printed.
    }
    if (!grew) {
      const sig = await workspaceSignature(o.workspace);
      if (signature !== undefined && sig !== signature) grew = true;
      signature = sig;
    }
    const now = performance.now();
    if (grew) lastActive = now;
    else if (now - lastActive >= o.timeoutMs && !cancelled) {
      cancelled = true;
      clearInterval(timer);
      o.onStall(Math.round(now - lastActive));
    }
  };
  const timer = setInterval(() => {
    if (busy || cancelled) return;
    busy = true;
    void look()
      .catch(() => undefined)
      .finally(() => (busy = false));
  }, o.pollMs);
  timer.unref();
  return {
    cancel: () => {
      cancelled = true;
      clearInterval(timer);
    },
  };
}

/**
 * What changes when an agent works in its worktree: HEAD, `git status --porcelain`
 * (untracked files one by one), and the size and mtime of every file it lists (a file
 * edited again is still listed the same). Two git commands per look; outside a git
 * repository, the empty string.
 */
export async function workspaceSignature(workspace: string): Promise<string> {
  const git = (args: string[]) =>
    new Promise<string>((resolve) => {
      execFile('git', args, { cwd: workspace, maxBuffer: 16 * 1024 * 1024 }, (err, stdout) =>
        resolve(err ? '' : stdout),
      );
    });
  const [head, status] = await Promise.all([
    git(['rev-parse', 'HEAD']),
    git(['status', '--porcelain=v1', '-z', '--untracked-files=all']),
  ]);
  const parts = [head.trim()];
  for (const entry of status.split('\0')) {
    if (entry.length < 4) continue;
    parts.push(entry);
    try {
      const st = fs.statSync(path.join(workspace, entry.slice(3)));
      parts.push(`${st.size}:${st.mtimeMs}`);
    } catch {
      // Deleted, or the second name of a rename.
    }
  }
  return parts.join('\n');
}

/** The size of `file` in bytes, 0 when there is none. */
function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** Why `file` cannot be executed (as the wrapper's `spawn` would look it up), or undefined. */
function executableProblem(file: string, cwd: string, pathVar: string): string | undefined {
  const candidates = file.includes('/')
    ? [path.resolve(cwd, file)]
    : pathVar
        .split(path.delimiter)
        .filter((d) => d !== '')
        .map((d) => path.resolve(cwd, d, file));
  for (const candidate of candidates) {
    try {
      if (!fs.statSync(candidate).isFile()) continue;
      fs.accessSync(candidate, fs.constants.X_OK);
      return undefined;
    } catch {
      // Not here, or not executable: look further.
    }
  }
  return file.includes('/')
    ? `${path.resolve(cwd, file)} does not exist or is not executable`
    : `${file} was not found on PATH or is not executable`;
}

/** What the wrapper wrote when the agent ended (`<state-dir>/logs/<task>/<attempt>.exit`). */
export interface AgentExitRecord {
  spawnId: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  endedAt: string;
  /** Set when the command could not be started at all. */
  error?: string;
  /** Bytes the agent printed in all (absent in files of older versions). */
  outputBytes?: number;
  /** How many times the log was rotated ({@link StartAgentOptions.logMaxBytes}). */
  rotations?: number;
  /** Output that could not be written to the log (a full disk). */
  droppedBytes?: number;
}

/**
 * The exit-status file next to an attempt's log: `…/3.log` → `…/3.exit`.
 *
 * @example
 * agentExitFile('/repo/.state/logs/T1/3.log'); // '/repo/.state/logs/T1/3.exit'
 */
export function agentExitFile(logFile: string): string {
  return logFile.replace(/\.log$/, '') + '.exit';
}

/**
 * The exit status the wrapper recorded for `spawnId`, or undefined (not ended yet, the
 * wrapper was killed, or the file belongs to another spawn).
 *
 * @example
 * const status = readAgentExit(result.logFile, spawnId); // { exitCode: 0, signal: null, endedAt, spawnId }
 */
export function readAgentExit(logFile: string, spawnId: string): AgentExitRecord | undefined {
  const file = agentExitFile(logFile);
  let parsed: unknown;
  let mtime: Date;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      mtime = fs.fstatSync(fd).mtime;
      parsed = JSON.parse(fs.readFileSync(fd, 'utf8'));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const r = parsed as Record<string, unknown>;
  if (r['spawnId'] !== spawnId) return undefined;
  const out: AgentExitRecord = {
    spawnId,
    exitCode: typeof r['exitCode'] === 'number' ? r['exitCode'] : null,
    signal: typeof r['signal'] === 'string' ? (r['signal'] as NodeJS.Signals) : null,
    // The shell wrapper writes no time: the file was written when the agent ended.
    endedAt: typeof r['endedAt'] === 'string' ? r['endedAt'] : mtime.toISOString(),
  };
  if (typeof r['error'] === 'string') out.error = r['error'];
  for (const key of ['outputBytes', 'rotations', 'droppedBytes'] as const) {
    const v = r[key];
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) out[key] = v;
  }
  if (out.outputBytes === undefined) {
    // Written by the shell wrapper: what orch rotated away (`<log>.rot`) plus the log now.
    const count = readRotationCount(logFile);
    let size = 0;
    try {
      size = fs.statSync(logFile).size;
    } catch {
      // No log: nothing printed since the last rotation.
    }
    out.outputBytes = count.bytes + count.dropped + size;
    if (count.rotations > 0) out.rotations = count.rotations;
    if (count.dropped > 0) out.droppedBytes = count.dropped;
  }
  return out;
}

/** What an attempt's log file says, read back from its end. */
export interface AgentOutput {
  outputBytes: number;
  /** The last `tailBytes` of output (stdout and stderr interleaved). */
  tail: string;
  lastLine: string;
  lastOutputAt?: string;
  /** Token/cost figures the agent reported (Claude Code's JSON result, or another tool's). */
  usage?: AgentUsage;
  claude?: ClaudeResult;
  /** Set when the agent stopped because of a usage or rate limit. */
  rateLimit?: RateLimitInfo;
}

const CLAUDE_WINDOW_BYTES = 4 * 1024 * 1024;
/** The last line is looked for in this many bytes at the end of the output. */
const LAST_LINE_WINDOW_BYTES = 4096;

/**
 * Reads the end of an attempt's log file (bounded memory: at most `tailBytes`, or 4 MiB
 * when looking for Claude Code's JSON result) for the tail, the last line, usage and a
 * rate-limit message. `exitCode`/`now` matter for the rate-limit check only.
 *
 * @example
 * const { tail, lastLine, usage } = readAgentOutput(logFile, { tailBytes: 8000, claudeJson: true, exitCode: 0 });
 */
export function readAgentOutput(
  logFile: string,
  options: {
    tailBytes: number;
    claudeJson?: boolean;
    usageOf?: ToolKind;
    exitCode?: number | null;
    now?: Date;
  },
): AgentOutput {
  let st: fs.Stats;
  try {
    st = fs.statSync(logFile);
  } catch {
    return { outputBytes: 0, tail: '', lastLine: '' };
  }
  const parsing = options.claudeJson === true || options.usageOf !== undefined;
  const window = Math.max(options.tailBytes, 4096, parsing ? CLAUDE_WINDOW_BYTES : 0);
  const end = readLogEnd(logFile, st.size, window);
  const tail = end.subarray(Math.max(0, end.length - options.tailBytes));
  const lastLine = lastLineOf(end.subarray(Math.max(0, end.length - LAST_LINE_WINDOW_BYTES)));
  const out: AgentOutput = {
    outputBytes: st.size + rotatedSize(logFile),
    tail: tail.toString('utf8'),
    lastLine,
  };
  if (st.size > 0) out.lastOutputAt = st.mtime.toISOString();
  const exitCode = options.exitCode ?? 0;
  const now = options.now ?? new Date();
  const claude = options.claudeJson ? parseClaudeResult(end.toString('utf8')) : undefined;
  if (claude) {
    out.claude = claude;
    out.usage = claude.usage;
    const text = claude.text ?? '';
    // A long successful answer may well mention limits; only an error or a bare limit message counts.
    if (claude.isError || exitCode !== 0 || text.length < 500) {
      const limit = detectRateLimit(text, now);
      if (limit) out.rateLimit = limit;
    }
  }
  if (!claude && options.usageOf) {
    const usage = parseToolUsage(options.usageOf, end.toString('utf8'));
    if (usage) out.usage = usage;
  }
  if (!out.rateLimit && exitCode !== 0) {
    const limit = detectRateLimit(end.subarray(Math.max(0, end.length - 4096)).toString('utf8'), now);
    if (limit) out.rateLimit = limit;
  }
  return out;
}

/**
 * Where a rotated log goes: `…/3.log` → `…/3.log.1` (see {@link StartAgentOptions.logMaxBytes}).
 *
 * @example
 * rotatedLogFile('/repo/.state/logs/T1/3.log'); // '/repo/.state/logs/T1/3.log.1'
 */
export function rotatedLogFile(logFile: string): string {
  return `${logFile}.1`;
}

function rotatedSize(logFile: string): number {
  try {
    return fs.statSync(rotatedLogFile(logFile)).size;
  } catch {
    return 0;
  }
}

/**
 * The last `bytes` bytes of an attempt's output: the end of its log (`size` bytes long),
 * preceded by the end of the rotated log when the current one is shorter than that.
 */
function readLogEnd(logFile: string, size: number, bytes: number): Buffer {
  const current = readFileEnd(logFile, size, bytes);
  if (current.length >= bytes) return current;
  const older = rotatedSize(logFile);
  if (older === 0) return current;
  try {
    return Buffer.concat([readFileEnd(rotatedLogFile(logFile), older, bytes - current.length), current]);
  } catch {
    // Rotated away again meanwhile: the current log is the newest output anyway.
    return current;
  }
}
