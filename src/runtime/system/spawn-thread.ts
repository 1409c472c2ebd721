import { execFile, spawn as spawnChild } from 'node:child_process';
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { isProcessAlive } from './process-identity.js';

/**
 * Starting processes from a second thread. `fork()` of a large process blocks the calling
 * thread until the child has called `exec()` — measured at 2.5–3.5 ms per process on a 2-core
 * machine, about 2 s of the main thread in a 200-task run (git's worktree add and merge-tree,
 * and each agent's wrapper). Called from a worker thread, the same fork costs the main thread
 * 0.3–0.9 ms. The processes are still this process's children (same pid, same process groups,
 * killed the same way); only the thread that waits for them differs.
 *
 * `ORCH_SPAWN_THREAD=0` starts them on the calling thread instead, as before.
 * If the worker thread dies (it runs no code but this file's), calls in flight fail with a
 * clear error, later calls start processes on the calling thread, and an agent it started is
 * watched by polling its pid until it ends.
 */

/** The outcome of {@link execThreaded}: like `execFile`'s callback, as data. */
export type ExecOutcome =
  | { kind: 'exit'; exitCode: number; stdout: string; stderr: string }
  /** The process could not run, was killed by a signal, or overflowed `maxBuffer`. */
  | {
      kind: 'error';
      message: string;
      code: string | null;
      signal: string | null;
      stdout: string;
      stderr: string;
    };

/** Options of {@link execThreaded}. */
export interface ExecOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  maxBuffer: number;
}

/** Options of {@link spawnThreaded}: a detached child whose stdout and stderr append to `logFile`. */
export interface SpawnOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  detached: boolean;
  /** Opened for appending by whichever thread starts the process; both streams go there. */
  logFile: string;
}

/** A process started by {@link spawnThreaded}. */
export interface ThreadedChild {
  pid: number;
  /** Resolves when the process ends (code and signal null when only polling saw it end). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Stops waiting for it: this process may exit while it runs (`exited` then never resolves). */
  unref(): void;
}

/**
 * `execFile`'s callback as an {@link ExecOutcome}. Self-contained (its source is also the
 * worker's copy): only its arguments and built-ins.
 */
function execOutcome(error: Error | null, stdout: string, stderr: string): ExecOutcome {
  if (error === null) return { kind: 'exit', exitCode: 0, stdout, stderr };
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'number') return { kind: 'exit', exitCode: code, stdout, stderr };
  return {
    kind: 'error',
    message: error.message,
    code: typeof code === 'string' ? code : null,
    signal: (error as { signal?: string | null }).signal ?? null,
    stdout: String(stdout),
    stderr: String(stderr),
  };
}

/** The worker's own code: CommonJS, node built-ins only, evaluated as a string (no file to find). */
const WORKER_SOURCE = `
const execOutcome = ${execOutcome.toString()};
const { parentPort } = require('node:worker_threads');
const { execFile, spawn } = require('node:child_process');
const fs = require('node:fs');
parentPort.on('message', (m) => {
  if (m.op === 'exec') {
    execFile(m.file, m.args, { cwd: m.cwd, env: m.env, maxBuffer: m.maxBuffer, encoding: 'utf8', windowsHide: true }, (error, stdout, stderr) => {
      parentPort.postMessage({ id: m.id, ...execOutcome(error, stdout, stderr) });
    });
    return;
  }
  let fd;
  let child;
  try {
    fd = fs.openSync(m.logFile, 'a');
    child = spawn(m.file, m.args, { cwd: m.cwd, env: m.env, detached: m.detached, stdio: ['ignore', fd, fd] });
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd);
    return parentPort.postMessage({ id: m.id, kind: 'error', message: err.message, code: err.code || null });
  }
  fs.closeSync(fd);
  if (child.pid === undefined) {
    child.once('error', (err) => parentPort.postMessage({ id: m.id, kind: 'error', message: err.message, code: err.code || null }));
    return;
  }
  child.once('exit', (code, signal) => parentPort.postMessage({ id: m.id, kind: 'exited', code, signal }));
  parentPort.postMessage({ id: m.id, kind: 'started', pid: child.pid });
});
`;

interface Pending {
  onMessage: (m: Record<string, unknown>) => void;
  onDeath: (err: Error) => void;
}

/** Why a call in flight failed: the worker thread that ran it stopped. */
export class SpawnThreadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SpawnThreadError';
  }
}

class SpawnThread {
  readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  dead = false;

  constructor(onDeath: () => void) {
    // No inherited flags: an `--input-type=module` would make this CommonJS source fail.
    this.worker = new Worker(WORKER_SOURCE, { eval: true, name: 'orch-spawn', execArgv: [] });
    this.worker.unref();
    this.worker.on('message', (m: Record<string, unknown>) =>
      this.pending.get(m['id'] as number)?.onMessage(m),
    );
    const die = (why: string, cause?: unknown) => {
      if (this.dead) return;
      this.dead = true;
      onDeath();
      const err = new SpawnThreadError(`orch's process-starting thread stopped (${why})`, { cause });
      for (const p of [...this.pending.values()]) p.onDeath(err);
      this.pending.clear();
    };
    this.worker.on('error', (err) => die(err.message, err));
    this.worker.on('exit', (code) => die(`exit code ${code}`));
  }

  /** Registers a call; the worker is referenced while any call is in flight. */
  call(message: Record<string, unknown>, pending: Pending): number {
    const id = this.nextId++;
    this.pending.set(id, pending);
    if (this.pending.size === 1) this.worker.ref();
    this.worker.postMessage({ ...message, id });
    return id;
  }

  done(id: number): void {
    if (this.pending.delete(id) && this.pending.size === 0) this.worker.unref();
  }
}

let thread: SpawnThread | null | undefined;

function current(): SpawnThread | null {
  if (thread === undefined) {
    thread =
      process.env['ORCH_SPAWN_THREAD'] === '0'
        ? null
        : new SpawnThread(() => {
            thread = null; // later calls start processes on the calling thread
          });
  }
  return thread;
}

/**
 * Stops the worker thread (tests: what happens to calls in flight when it dies). Later calls
 * start processes on the calling thread.
 */
export async function stopSpawnThreadForTests(): Promise<void> {
  const t = thread;
  if (!t) return;
  await t.worker.terminate();
}

/** Whether processes are started from the worker thread now (false once it stopped, or when turned off). */
export function spawnThreadActive(): boolean {
  return current() !== null;
}

/**
 * `execFile(file, args)` with UTF-8 output, from the worker thread: resolves with the exit
 * code and output, or what kept the process from running or ending normally.
 *
 * @example
 * const r = await execThreaded('git', ['--version'], { cwd: '/repo', env: process.env, maxBuffer: 1 << 20 });
 * if (r.kind === 'exit') console.log(r.exitCode, r.stdout);
 */
export function execThreaded(
  file: string,
  args: readonly string[],
  options: ExecOptions,
): Promise<ExecOutcome> {
  const t = current();
  if (t === null) return execHere(file, args, options);
  return new Promise<ExecOutcome>((resolve, reject) => {
    const id = t.call(
      { op: 'exec', file, args, cwd: options.cwd, env: options.env, maxBuffer: options.maxBuffer },
      {
        onMessage: (m) => {
          t.done(id);
          const outcome: Record<string, unknown> = { ...m };
          delete outcome['id'];
          resolve(outcome as unknown as ExecOutcome);
        },
        onDeath: reject,
      },
    );
  });
}

function execHere(file: string, args: readonly string[], options: ExecOptions): Promise<ExecOutcome> {
  return new Promise<ExecOutcome>((resolve) => {
    execFile(
      file,
      args,
      {
        cwd: options.cwd,
        env: options.env,
        maxBuffer: options.maxBuffer,
        encoding: 'utf8',
        windowsHide: true,
      },
      (error, stdout, stderr) => resolve(execOutcome(error, stdout, stderr)),
    );
  });
}

/** Why {@link spawnThreaded} could not start the process (`code` as `spawn` gives it: `ENOENT`, …). */
export class ThreadedSpawnError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
    this.name = 'ThreadedSpawnError';
  }
}

/**
 * Starts `file` with `args` from the worker thread, stdin closed and stdout and stderr
 * appended to `logFile`; resolves once it has a pid. Rejects with {@link ThreadedSpawnError}
 * when it cannot start.
 *
 * @example
 * const child = await spawnThreaded('/bin/sh', ['-c', 'echo hi'], { cwd, env: process.env, detached: true, logFile });
 * const { code } = await child.exited; // 0
 */
export function spawnThreaded(
  file: string,
  args: readonly string[],
  options: SpawnOptions,
): Promise<ThreadedChild> {
  const t = current();
  if (t === null) return spawnHere(file, args, options);
  return new Promise<ThreadedChild>((resolve, reject) => {
    let resolveExit: (r: { code: number | null; signal: NodeJS.Signals | null }) => void = () => {};
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (r) => (resolveExit = r),
    );
    let pid: number | undefined;
    const id = t.call(
      {
        op: 'spawn',
        file,
        args,
        cwd: options.cwd,
        env: options.env,
        detached: options.detached,
        logFile: options.logFile,
      },
      {
        onMessage: (m) => {
          if (m['kind'] === 'started') {
            pid = m['pid'] as number;
            resolve({ pid, exited, unref: () => t.done(id) });
          } else if (m['kind'] === 'exited') {
            t.done(id);
            resolveExit({ code: m['code'] as number | null, signal: m['signal'] as NodeJS.Signals | null });
          } else {
            t.done(id);
            reject(new ThreadedSpawnError(String(m['message']), (m['code'] as string | null) ?? null));
          }
        },
        onDeath: (err) => {
          // Not started yet: say so. Started: watch the pid until it ends (nobody reaps it now).
          if (pid === undefined) reject(err);
          else void pollUntilGone(pid).then(() => resolveExit({ code: null, signal: null }));
        },
      },
    );
  });
}

function spawnHere(file: string, args: readonly string[], options: SpawnOptions): Promise<ThreadedChild> {
  const fd = fs.openSync(options.logFile, 'a');
  let child;
  try {
    child = spawnChild(file, [...args], {
      cwd: options.cwd,
      env: options.env,
      detached: options.detached,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    fs.closeSync(fd);
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const pid = child.pid;
  if (pid === undefined) {
    return new Promise<ThreadedChild>((_, reject) =>
      child.once('error', (err: NodeJS.ErrnoException) =>
        reject(new ThreadedSpawnError(err.message, err.code ?? null)),
      ),
    );
  }
  return Promise.resolve({ pid, exited, unref: () => child.unref() });
}

/** Resolves once `pid` no longer runs (gone, or a zombie nobody will reap). */
function pollUntilGone(pid: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (isProcessAlive(pid)) return;
      clearInterval(timer);
      resolve();
    }, 100);
  });
}
