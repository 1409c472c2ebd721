import fs from 'node:fs';
import path from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { execa } from 'execa';
import {
  agentEnv,
  isClaudeCommand,
  resolveBuiltinAgent,
  substituteArgs,
  withClaudeJsonOutput,
  type AgentIdentity,
} from './agent-command.js';
import {
  detectRateLimit,
  parseClaudeResult,
  type AgentUsage,
  type ClaudeResult,
  type RateLimitInfo,
} from './claude-output.js';
import { systemClock, type Clock } from './clock.js';
import { AgentSpawnError } from './errors.js';
import { LastLineTracker, TailBuffer } from './output-tail.js';
import { killProcessGroup, processStartTime } from './process-identity.js';
import { agentLogPath, promptFilePath } from './state-paths.js';

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
  /** Between SIGTERM and SIGKILL. Default 5000. */
  killGraceMs?: number;
  /** Bytes of output kept in memory for the next prompt. Default 64 KiB. */
  tailBytes?: number;
  /** Default `<state-dir>/logs/<task>/<attempt>.log`. */
  logFile?: string;
  /** Default `<state-dir>/prompts/<task>/<attempt>.md`. */
  promptFile?: string;
  /** Longer prompts are not put into argv; `{prompt}` then points at the prompt file. Default 100 000 bytes. */
  maxArgPromptBytes?: number;
  /** Parse Claude Code's JSON result; default: when argv[0] is Claude Code. */
  claudeJson?: boolean;
  clock?: Clock;
}

/** Live figures for a dashboard. */
export interface AgentProgress {
  outputBytes: number;
  lastLine: string;
  /** ISO time of the last output, if any. */
  lastOutputAt?: string;
}

/** How an attempt ended. */
export interface AgentRunResult {
  /** Exit code, or null when a signal ended the process. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Killed because `timeoutMs` passed. */
  timedOut: boolean;
  /** Killed by `stop()`. */
  stopped: boolean;
  /** Processes the agent left behind in its group were killed after it exited. */
  leftoversKilled: boolean;
  pid: number;
  startTime: string | undefined;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  argv: string[];
  logFile: string;
  promptFile: string;
  outputBytes: number;
  /** The last `tailBytes` of output (stdout and stderr interleaved). */
  tail: string;
  lastLine: string;
  lastOutputAt?: string;
  /** Token/cost figures the agent reported (Claude Code JSON). */
  usage?: AgentUsage;
  claude?: ClaudeResult;
  /** Set when the agent stopped because of a usage or rate limit. */
  rateLimit?: RateLimitInfo;
}

/** A started agent process. */
export interface RunningAgent {
  readonly pid: number;
  /** Process start time, to recognise this pid later ({@link isSameProcessAlive}). */
  readonly startTime: string | undefined;
  readonly startedAt: string;
  readonly argv: readonly string[];
  readonly logFile: string;
  readonly promptFile: string;
  /** Resolves when the process has exited and its output is flushed to the log. */
  readonly done: Promise<AgentRunResult>;
  progress(): AgentProgress;
  /** Kills the whole process group (SIGTERM, then SIGKILL after the grace period). */
  stop(): Promise<AgentRunResult>;
}

const CLAUDE_STDOUT_BYTES = 4 * 1024 * 1024;

/**
 * Starts an agent: writes the prompt file, substitutes the argv (never through a shell),
 * runs it detached in its own process group in the task's workspace with the `ORCH_*`
 * variables, and streams stdout+stderr to the log file with bounded memory. Throws
 * {@link AgentSpawnError} if the command cannot be started at all.
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
  const logFile = options.logFile ?? agentLogPath(identity.stateDir, identity.taskId, identity.attempt);
  const promptFile =
    options.promptFile ?? promptFilePath(identity.stateDir, identity.taskId, identity.attempt);
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
  const argv = resolveBuiltinAgent(claudeJson ? withClaudeJsonOutput(substituted) : substituted);
  const file = argv[0];
  if (file === undefined) throw new AgentSpawnError('', cwd, 'the command is empty');
  if (!fs.existsSync(cwd)) throw new AgentSpawnError(file, cwd, 'the workspace directory does not exist');

  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = fs.createWriteStream(logFile, { flags: 'w' });
  await new Promise<void>((resolve, reject) => {
    log.once('open', () => resolve());
    log.once('error', reject);
  });

  const startedAtDate = clock.now();
  const subprocess = execa(file, argv.slice(1), {
    cwd,
    env: { ...options.env, ...agentEnv(identity) },
    extendEnv: true,
    detached: true,
    buffer: false,
    encoding: 'buffer',
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    reject: false,
    cleanup: false,
  });
  const pid = subprocess.pid;
  if (pid === undefined) {
    const failed = await subprocess;
    log.end();
    const reason =
      failed.cause instanceof Error ? failed.cause.message : (failed.shortMessage ?? 'it failed to start');
    throw new AgentSpawnError(file, cwd, reason, failed.cause);
  }
  // A failure of the wrapper promise is seen through the 'exit' event below instead.
  subprocess.catch(() => undefined);
  const startTime = processStartTime(pid);

  const tail = new TailBuffer(options.tailBytes ?? 64 * 1024);
  const lastLine = new LastLineTracker();
  const stdoutTail = claudeJson ? new TailBuffer(CLAUDE_STDOUT_BYTES) : undefined;
  let lastOutputAt: Date | undefined;
  const onChunk = (chunk: Buffer, fromStdout: boolean): void => {
    tail.push(chunk);
    lastLine.push(chunk);
    if (fromStdout) stdoutTail?.push(chunk);
    lastOutputAt = clock.now();
  };
  const streamsDone = [
    pipeToLog(subprocess.stdout, log, (c) => onChunk(c, true)),
    pipeToLog(subprocess.stderr, log, (c) => onChunk(c, false)),
  ];

  let timedOut = false;
  let stopped = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    subprocess.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const timer =
    options.timeoutMs !== undefined
      ? setTimeout(() => {
          timedOut = true;
          void killProcessGroup(pid, graceMs);
        }, options.timeoutMs)
      : undefined;

  const done = (async (): Promise<AgentRunResult> => {
    const { code, signal } = await exited;
    if (timer) clearTimeout(timer);
    const endedAt = clock.now();
    // Whatever the agent started and left running dies with it.
    const leftovers = await killProcessGroup(pid, Math.min(graceMs, 2000));
    await waitAtMost(Promise.all(streamsDone), 2000);
    subprocess.stdout?.destroy();
    subprocess.stderr?.destroy();
    await new Promise<void>((resolve) => log.end(() => resolve()));
    const result: AgentRunResult = {
      exitCode: code,
      signal,
      timedOut,
      stopped,
      leftoversKilled: leftovers !== 'not-running',
      pid,
      startTime,
      startedAt: startedAtDate.toISOString(),
      endedAt: endedAt.toISOString(),
      durationMs: endedAt.getTime() - startedAtDate.getTime(),
      argv,
      logFile,
      promptFile,
      outputBytes: tail.totalBytes,
      tail: tail.toString(),
      lastLine: lastLine.lastLine,
    };
    if (lastOutputAt) result.lastOutputAt = lastOutputAt.toISOString();
    Object.assign(result, readReport(stdoutTail, tail, code, endedAt));
    return result;
  })();

  return {
    pid,
    startTime,
    startedAt: startedAtDate.toISOString(),
    argv,
    logFile,
    promptFile,
    done,
    progress: () => ({
      outputBytes: tail.totalBytes,
      lastLine: lastLine.lastLine,
      ...(lastOutputAt ? { lastOutputAt: lastOutputAt.toISOString() } : {}),
    }),
    stop: async () => {
      stopped = true;
      await killProcessGroup(pid, graceMs);
      return done;
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

function readReport(
  stdoutTail: TailBuffer | undefined,
  tail: TailBuffer,
  exitCode: number | null,
  now: Date,
): Pick<AgentRunResult, 'usage' | 'claude' | 'rateLimit'> {
  const out: Pick<AgentRunResult, 'usage' | 'claude' | 'rateLimit'> = {};
  const claude = stdoutTail ? parseClaudeResult(stdoutTail.toString()) : undefined;
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
  if (!out.rateLimit && exitCode !== 0) {
    const recent = tail.toString().slice(-4096);
    const limit = detectRateLimit(recent, now);
    if (limit) out.rateLimit = limit;
  }
  return out;
}

/** Copies a stream into the shared log with backpressure; resolves when the stream ends. */
function pipeToLog(
  source: Readable | null,
  log: fs.WriteStream,
  onChunk: (chunk: Buffer) => void,
): Promise<void> {
  if (!source) return Promise.resolve();
  const sink = new Writable({
    write(chunk: Buffer | string, _enc, callback) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      onChunk(buf);
      // Waiting for the file write keeps at most a chunk or two in memory per stream.
      log.write(buf, (err) => callback(err ?? null));
    },
  });
  source.pipe(sink);
  return new Promise<void>((resolve) => {
    sink.once('finish', () => resolve());
    sink.once('error', () => resolve());
    // A stream destroyed without 'end' does not end the sink by itself; pending writes still flush.
    source.once('close', () => sink.end());
  });
}

async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  if (timer) clearTimeout(timer);
}
