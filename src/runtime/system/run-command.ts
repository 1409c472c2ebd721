import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { TailBuffer } from './output-tail.js';
import { killProcessGroup } from './process-identity.js';

/** How a checked command (quality gate, local CI) ended. */
export interface CommandOutcome {
  /** Exit code; null when it could not start or a signal ended it. */
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  /** The end of stdout+stderr (bounded). */
  tail: string;
  /** Where the whole output went. */
  logFile: string;
  /** Set when the command could not be started at all. */
  startError?: string;
}

/**
 * Runs a command (argv, no shell) in `cwd`, in its own process group, with its whole output
 * in `logFile` and only a bounded tail in memory; a timeout kills the whole group.
 *
 * @example
 * const gate = await runCommand(['npm', 'test'], { cwd: workspace, logFile, timeoutMs: 600_000 });
 * if (gate.exitCode === 0) … else retryWith(gate.tail);
 */
export async function runCommand(
  argv: readonly string[],
  options: {
    cwd: string;
    logFile: string;
    timeoutMs?: number;
    env?: Record<string, string>;
    tailBytes?: number;
    /** Given to the command on stdin (default: no stdin). */
    input?: string;
    /** Aborting it kills the command's process group (as a timeout does, without `timedOut`). */
    signal?: AbortSignal;
  },
): Promise<CommandOutcome> {
  const started = Date.now();
  fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
  const log = fs.createWriteStream(options.logFile, { flags: 'w' });
  const tail = new TailBuffer(options.tailBytes ?? 16 * 1024);
  const [file, ...args] = argv;
  const finish = async (partial: Omit<CommandOutcome, 'durationMs' | 'tail' | 'logFile'>) => {
    await new Promise<void>((resolve) => log.end(() => resolve()));
    return { ...partial, durationMs: Date.now() - started, tail: tail.toString(), logFile: options.logFile };
  };
  if (file === undefined)
    return finish({ exitCode: null, signal: null, timedOut: false, startError: 'empty command' });
  const child = execa(file, args, {
    cwd: options.cwd,
    env: options.env ?? {},
    detached: true,
    buffer: false,
    encoding: 'buffer',
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
    reject: false,
    cleanup: false,
  });
  const onData = (chunk: Buffer) => {
    tail.push(chunk);
    log.write(chunk);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  let timedOut = false;
  const timer =
    options.timeoutMs === undefined || child.pid === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          void killProcessGroup(child.pid!, 5000);
        }, options.timeoutMs);
  const abort = () => {
    if (child.pid !== undefined) void killProcessGroup(child.pid, 1000);
  };
  if (options.signal?.aborted) abort();
  else options.signal?.addEventListener('abort', abort, { once: true });
  const result = await child;
  options.signal?.removeEventListener('abort', abort);
  if (timer) clearTimeout(timer);
  if (child.pid !== undefined) await killProcessGroup(child.pid, 1000);
  if (result.failed && result.exitCode === undefined && result.signal === undefined) {
    const reason =
      result.cause instanceof Error ? result.cause.message : (result.shortMessage ?? 'failed to start');
    tail.push(Buffer.from(`\n${reason}\n`));
    return finish({ exitCode: null, signal: null, timedOut, startError: reason });
  }
  return finish({ exitCode: result.exitCode ?? null, signal: result.signal ?? null, timedOut });
}
