import { execFile, spawn as spawnChild } from 'node:child_process';
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { isProcessAlive } from './process-identity.js';

/**
 * Starting processes off orch's main thread. `fork()` of a large process blocks the calling
 * thread until the child has called `exec()` — measured at 2.5–3.5 ms per process on a 2-core
 * machine, about 2 s of the main thread in a 200-task run (git's worktree add and merge-tree,
 * and each agent's wrapper). Called from a worker thread, the same fork costs the main thread
 * 0.3–0.9 ms. The processes are this process's children (same pid, same process groups,
 * killed the same way); only the thread that waits for them differs.
 *
 * A run (`orch spawn`, {@link useSpawnProcess}) goes one step further: a small helper
 * process (`node -e`, this file's worker code, an IPC channel) starts them. A fork copies the
 * forking process's page tables and makes every page it writes afterwards fault once (copy on
 * write): about 3.4 ms of CPU per process from a 300 MB Node process against 1.7 ms from a
 * 60 MB one, and orch's main thread took ten times fewer page faults in a 200-task run. The
 * processes are then the helper's children: still in their own process groups (agents), still
 * killed by orch through their group, and the helper ends when its channel to orch closes
 * (orch's end, or its crash); {@link closeSpawnProcess} ends it and waits for it, so its CPU
 * and its children's count in orch's own.
 *
 * `ORCH_SPAWN_THREAD=0` starts processes on the calling thread instead, as before;
 * `ORCH_SPAWN_PROCESS=0` keeps a run on the worker thread.
 * If the worker thread or the helper dies (it runs no code but this file's), calls in flight
 * fail with a clear error, later calls start processes on the calling thread, and an agent it
 * started is watched by polling its pid until it ends.
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
const { execFile, spawn } = require('node:child_process');
const fs = require('node:fs');
// A worker thread's port, or the helper process's IPC channel (which ends it when it closes).
const parentPort = require('node:worker_threads').parentPort ?? {
  on: (event, fn) => process.on(event, fn),
  postMessage: (m) => process.send(m),
};
if (!require('node:worker_threads').parentPort) process.on('disconnect', () => process.exit(0));
parentPort.on('message', (m) => {
  if (m.op === 'close') {
    process.send({ id: m.id, kind: 'closed', cpu: process.cpuUsage() }, () => process.exit(0));
    return;
  }
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

/** What {@link SpawnThread} needs of a worker thread or of the helper process. */
interface Port {
  postMessage(message: Record<string, unknown>): void;
  ref(): void;
  unref(): void;
  on(event: 'message', fn: (m: Record<string, unknown>) => void): void;
  on(event: 'error', fn: (err: Error) => void): void;
  on(event: 'exit', fn: (code: number | null) => void): void;
  /** Stops it at once (tests). */
  terminate(): Promise<unknown>;
}

function threadPort(): Port {
  // No inherited flags: an `--input-type=module` would make this CommonJS source fail.
  return new Worker(WORKER_SOURCE, { eval: true, name: 'orch-spawn', execArgv: [] });
}

function processPort(): Port {
  // Nothing of orch's own flags or NODE_OPTIONS (a `--import` loader would slow its start).
  const env = { ...process.env };
  delete env['NODE_OPTIONS'];
  const child = spawnChild(process.execPath, ['-e', WORKER_SOURCE], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env,
  });
  return {
    postMessage: (m) => child.send(m),
    ref: () => {
      child.ref();
      child.channel?.ref();
    },
    unref: () => {
      child.unref();
      child.channel?.unref();
    },
    on: (event: string, fn: (...args: unknown[]) => void) => {
      child.on(event, fn);
    },
    terminate: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(undefined);
        child.once('exit', resolve);
        child.kill('SIGKILL');
      }),
  } as Port;
}

class SpawnThread {
  readonly worker: Port;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  dead = false;

  constructor(
    readonly kind: 'thread' | 'process',
    onDeath: () => void,
  ) {
    this.worker = kind === 'process' ? processPort() : threadPort();
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
    if (this.pending.delete(id) && this.pending.size === 0) {
      this.worker.unref();
      if (this.retiring) void this.worker.terminate();
    }
  }

  /** No new calls come; a worker thread ends once its calls are done (it is unreferenced while idle). */
  retire(): void {
    if (this.pending.size === 0 && this.kind === 'thread') void this.worker.terminate();
    else this.retiring = true;
  }
  private retiring = false;

  /** The helper's CPU as it ends (asked over the channel), or undefined when it did not answer in time. */
  close(timeoutMs: number): Promise<{ user: number; system: number } | undefined> {
    return new Promise((resolve) => {
      if (this.dead) return resolve(undefined);
      let answered: { user: number; system: number } | undefined;
      const timer = setTimeout(() => void this.worker.terminate(), timeoutMs);
      this.worker.on('exit', () => {
        clearTimeout(timer);
        resolve(answered);
      });
      this.call(
        { op: 'close' },
        {
          onMessage: (m) => (answered = m['cpu'] as { user: number; system: number }),
          onDeath: () => undefined,
        },
      );
    });
  }
}

let thread: SpawnThread | null | undefined;
/** Whether calls go to a helper process ({@link useSpawnProcess}) rather than a worker thread. */
let wantProcess = false;
/** Runs that asked for the helper process and have not closed it yet. */
let processUsers = 0;

function current(): SpawnThread | null {
  if (thread === undefined) {
    const kind = wantProcess ? 'process' : 'thread';
    const started: SpawnThread | null =
      process.env['ORCH_SPAWN_THREAD'] === '0'
        ? null
        : new SpawnThread(kind, () => {
            if (thread === started) thread = null; // later calls start processes on the calling thread
          });
    thread = started;
  }
  return thread;
}

/**
 * From now on, processes are started by a helper process (see the module comment), started
 * at the next call; a worker thread that started them so far is left to end (it holds no
 * reference to this process while idle). `ORCH_SPAWN_PROCESS=0` or `ORCH_SPAWN_THREAD=0`
 * keeps things as they are. Pair it with {@link closeSpawnProcess}.
 *
 * @example
 * useSpawnProcess();
 * try { await run(); } finally { await closeSpawnProcess(); }
 */
export function useSpawnProcess(): void {
  if (process.env['ORCH_SPAWN_PROCESS'] === '0') return;
  processUsers += 1;
  if (wantProcess) return;
  wantProcess = true;
  if (thread && thread.kind === 'thread') {
    const old = thread;
    thread = undefined;
    // Calls in flight there still finish; it ends once idle.
    old.retire();
  }
}

/** The CPU (user, system; µs) of the helper processes ended by {@link closeSpawnProcess} so far. */
const helperCpu = { user: 0, system: 0 };

/**
 * Ends the helper process, if one runs and no other run still uses it ({@link useSpawnProcess}
 * counts them), and waits for it; calls made later start processes on the worker thread again. Its CPU is added to {@link spawnProcessCpu}. A helper that
 * does not answer within `timeoutMs` is killed.
 *
 * @example
 * await closeSpawnProcess();
 */
export async function closeSpawnProcess(timeoutMs = 5000): Promise<void> {
  if (processUsers === 0) return;
  processUsers -= 1;
  // Another run in this process still uses it.
  if (processUsers > 0) return;
  wantProcess = false;
  const t = thread;
  if (!t || t.kind !== 'process') return;
  thread = undefined;
  const cpu = await t.close(timeoutMs);
  if (cpu) {
    helperCpu.user += cpu.user;
    helperCpu.system += cpu.system;
  }
  (globalThis as Record<symbol, unknown>)[Symbol.for('orch.spawnProcessCpu')] = { ...helperCpu };
}

/**
 * The CPU of the helper processes this process has ended (see {@link closeSpawnProcess}), as
 * `process.cpuUsage()` gives it; also at `globalThis[Symbol.for('orch.spawnProcessCpu')]`
 * for a hook that has no access to this module (the spawn bench).
 */
export function spawnProcessCpu(): { user: number; system: number } {
  return { ...helperCpu };
}

/**
 * Stops the worker thread or helper process at once (tests: what happens to calls in flight
 * when it dies). Later calls start processes on the calling thread.
 */
export async function stopSpawnThreadForTests(): Promise<void> {
  const t = thread;
  if (!t) return;
  await t.worker.terminate();
}

/** Whether processes are started off the calling thread now (false once it stopped, or when turned off). */
export function spawnThreadActive(): boolean {
  return current() !== null;
}

/** Which starts processes now: `thread`, `process`, or `none` (the calling thread). */
export function spawnerKind(): 'thread' | 'process' | 'none' {
  return current()?.kind ?? 'none';
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
