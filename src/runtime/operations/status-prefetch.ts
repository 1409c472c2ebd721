import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { withLease, type LeaseView } from '../../core/status-lease.js';
import { useConfiguredStore } from '../log/configured-store.js';
import { logLocation } from '../log/location.js';
import { cachedStatus, probeStatus, type CachedStatus } from './status-cache.js';

/**
 * `orch status` starts reading its log before the CLI framework loads: `bin/run.js` calls
 * {@link startStatusPrefetch} first. It runs the status probe's first step on the spot (is
 * the cached document current? then that is the answer); when the document is behind the
 * log, it starts a worker thread that reads the status state's parts and folds the tail
 * (`status-tail.ts`) while oclif loads on the main thread. The command takes the answer
 * ({@link takeStatusPrefetch}) when it runs. The answer is used only for the state directory
 * and log file the command itself resolves; for other arguments, another directory or a
 * worker that failed, the command runs the probe itself.
 */

const KEY = Symbol.for('orch.statusPrefetch');

/** What the prefetch found: the probe's document, or that the probe declined (the full path). */
export type PrefetchAnswer =
  | { kind: 'found'; file: string; documentJson: string; lease: LeaseView | null; position: number }
  | { kind: 'declined'; file: string | null };

/**
 * The answer for what the probe gave on `file` (null: the log is not a local file).
 *
 * @example
 * prefetchAnswer(await cachedStatus(stateDir), file); // { kind: 'found', ... } or { kind: 'declined', ... }
 */
export function prefetchAnswer(found: CachedStatus | undefined, file: string | null): PrefetchAnswer {
  return found === undefined || file === null
    ? { kind: 'declined', file }
    : { kind: 'found', file, documentJson: found.documentJson, lease: found.lease, position: found.position };
}

interface Pending {
  repoDir: string;
  stateDir: string;
  answer: Promise<PrefetchAnswer | undefined>;
  worker: Worker | null;
}

/** Leaves the command what was read for it (taken once by {@link takeStatusPrefetch}). */
function leavePending(pending: Pending): void {
  (globalThis as Record<symbol, unknown>)[KEY] = pending;
}

/**
 * The directories `orch status <args>` works on, when `args` are ones the prefetch
 * understands (`--json`, `--repo`, `--state-dir`, as `--flag value` or `--flag=value`);
 * undefined for anything else (the command then runs as usual).
 *
 * @example
 * prefetchDirs(['--json', '--repo', 'calc'], '/w'); // { repoDir: '/w/calc', stateDir: '/w/calc/.state' }
 */
export function prefetchDirs(
  args: readonly string[],
  cwd: string,
): { repoDir: string; stateDir: string } | undefined {
  let repo = '.';
  let stateDir: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--json') continue;
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    if (name !== '--repo' && name !== '--state-dir') return undefined;
    const value = eq < 0 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined || value === '' || value.startsWith('-')) return undefined;
    if (name === '--repo') repo = value;
    else stateDir = value;
  }
  const repoDir = path.resolve(cwd, repo);
  return {
    repoDir,
    stateDir: stateDir === undefined ? path.join(repoDir, '.state') : path.resolve(cwd, stateDir),
  };
}

/**
 * `orch status --json` without the CLI framework: when `args` are ones {@link prefetchDirs}
 * takes and hold `--json`, and the log is a local SQLite file whose cached document is current
 * or whose status state's parts serve the tail, the document the command would print (the
 * same text: `CachedStatus.json`, no warnings, no extras), read and folded on this thread.
 * Undefined for anything else, or on any error: then the command runs as usual and gives the
 * same document or says what is wrong. Started from `bin/run.js` before oclif loads; when it
 * declines on a log it read, it leaves the command an answer that says so (the command takes
 * the full path without probing again).
 *
 * @example
 * const json = await statusJsonNow(['--json', '--repo', 'calc']); // '{"position":…,"lease":null}' or undefined
 */
export async function statusJsonNow(
  args: readonly string[],
  cwd: string = process.cwd(),
): Promise<string | undefined> {
  if (!args.includes('--json')) return undefined;
  const dirs = prefetchDirs(args, cwd);
  if (dirs === undefined) return undefined;
  try {
    useConfiguredStore(dirs.repoDir);
    const location = logLocation(dirs.stateDir);
    if (location.kind !== 'sqlite') return undefined;
    const found = await cachedStatus(dirs.stateDir);
    if (found !== undefined) return found.json;
    leavePending({
      ...dirs,
      answer: Promise.resolve(prefetchAnswer(undefined, location.file)),
      worker: null,
    });
    return undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts reading the status for `orch status <args>` (see the module comment); does nothing
 * for arguments {@link prefetchDirs} does not take. Never throws.
 *
 * @example
 * if (process.argv[2] === 'status') await startStatusPrefetch(process.argv.slice(3));
 */
export async function startStatusPrefetch(
  args: readonly string[],
  cwd: string = process.cwd(),
): Promise<void> {
  const dirs = prefetchDirs(args, cwd);
  if (dirs === undefined) return;
  const pending: Pending = { ...dirs, answer: Promise.resolve(undefined), worker: null };
  leavePending(pending);
  try {
    // What the command does first too: the config's store becomes ORCH_DATABASE_URL.
    useConfiguredStore(dirs.repoDir);
    const location = logLocation(dirs.stateDir);
    const file = location.kind === 'sqlite' ? location.file : null;
    const quick = file === null ? undefined : await probeStatus(dirs.stateDir, false);
    if (quick !== 'behind') {
      pending.answer = Promise.resolve(prefetchAnswer(quick, file));
      return;
    }
    const worker = new Worker(new URL('./status-prefetch-worker.js', import.meta.url), {
      workerData: dirs,
      stdout: true,
      stderr: true,
    });
    // The process never waits for it: a command that does not take the answer just exits.
    worker.unref();
    pending.worker = worker;
    pending.answer = new Promise<PrefetchAnswer | undefined>((resolve) => {
      worker.once('message', (m: PrefetchAnswer) => resolve(m));
      worker.once('error', () => resolve(undefined));
      worker.once('exit', () => resolve(undefined));
    });
  } catch {
    pending.answer = Promise.resolve(undefined);
  }
}

/**
 * The prefetched status for the command that resolved `repoDir` and `stateDir` (after the
 * config's store was applied): the probe's answer, `undefined` when the probe declined (take
 * the full path), or `null` when there is no prefetch for these (run the probe here).
 *
 * @example
 * const pre = await takeStatusPrefetch(repoDir, stateDir);
 * const status = (pre === null ? await cachedStatus(stateDir) : pre) ?? (await orchStatus(stateDir));
 */
export async function takeStatusPrefetch(
  repoDir: string,
  stateDir: string,
): Promise<CachedStatus | undefined | null> {
  const store = globalThis as Record<symbol, unknown>;
  const pending = store[KEY] as Pending | undefined;
  delete store[KEY];
  if (pending === undefined) return null;
  if (pending.repoDir !== repoDir || pending.stateDir !== stateDir) {
    void pending.worker?.terminate();
    return null;
  }
  // Unreferenced so a command that never takes the answer exits at once; waited for, it must
  // keep the process alive until it answers.
  pending.worker?.ref();
  const answer = await pending.answer;
  pending.worker?.unref();
  if (answer === undefined) return null;
  // The log the command opens (the config's store applied) must be the file that was read.
  const location = logLocation(stateDir);
  if (answer.file !== (location.kind === 'sqlite' ? location.file : null)) return null;
  if (answer.kind === 'declined') return undefined;
  return {
    documentJson: answer.documentJson,
    json: withLease(answer.documentJson, answer.lease),
    lease: answer.lease,
    position: answer.position,
    extras: {},
    warnings: [],
  };
}
