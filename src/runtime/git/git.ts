import fs from 'node:fs';
import { GitCommandError } from '../system/errors.js';
import { execThreaded, type ExecOutcome } from '../system/spawn-thread.js';

/**
 * A thin layer over git itself (`execFile`, no shell) that keeps git's exit code (a
 * non-zero exit is an answer, as for `merge-base --is-ancestor`). Every call is an argv
 * array; callers put `--` before paths and never start an element with a task id. Ambient
 * `GIT_*` variables (a `GIT_DIR` from a hook, say) are dropped. (simple-git, used before,
 * added tens of milliseconds of wall time to every call inside a busy run.)
 */

/** The outcome of one git command. */
export interface GitResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Settings every git call of orch's own runs with: no automatic `git gc` or
 * `git maintenance run --auto` after orch's commits and merges (each would start more git
 * processes inside a busy run). They apply to orch's calls only: the user's own git and
 * the agents' git in their worktrees keep the repository's settings.
 */
export const ORCH_GIT_CONFIG: readonly string[] = ['gc.auto=0', 'maintenance.auto=false'];

/** Extra `-c key=value` settings for one call. */
export interface GitCallOptions {
  config?: string[];
}

/**
 * Runs git in `dir` and returns its exit code and output; throws only if git could not run.
 *
 * @example
 * const { exitCode } = await gitResult('/repo', ['merge-base', '--is-ancestor', 'a', 'b']);
 */
export async function gitResult(
  dir: string,
  args: string[],
  options: GitCallOptions = {},
): Promise<GitResult> {
  const argv = [...[...ORCH_GIT_CONFIG, ...(options.config ?? [])].flatMap((c) => ['-c', c]), ...args];
  // Started from orch's process-starting thread: a fork of this process blocks its caller.
  let r: ExecOutcome;
  try {
    r = await execThreaded('git', argv, { cwd: dir, env: gitEnv(), maxBuffer: 256 * 1024 * 1024 });
  } catch (err) {
    throw new GitCommandError(args, dir, (err as Error).message, err);
  }
  // A non-zero exit is an answer here, not a failure; only a failure to run git is thrown.
  if (r.kind === 'exit') return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  throw new GitCommandError(args, dir, r.message);
}

/**
 * The environment git runs with: ours without the `GIT_*` variables that would point it at
 * another repository (a `GIT_DIR` or `GIT_WORK_TREE` from a hook, say), and never a prompt.
 */
function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('GIT_')) env[key] = value;
  }
  env['GIT_TERMINAL_PROMPT'] = '0';
  return env;
}

/**
 * Runs git in `dir` and returns stdout; throws {@link GitCommandError} on a non-zero exit.
 *
 * @example
 * const head = (await git('/repo', ['rev-parse', 'HEAD'])).trim();
 */
export async function git(dir: string, args: string[], options: GitCallOptions = {}): Promise<string> {
  const r = await gitResult(dir, args, options);
  if (r.exitCode !== 0) throw new GitCommandError(args, dir, r.stderr || r.stdout);
  return r.stdout;
}

/** One entry of `git worktree list`. */
export interface WorktreeEntry {
  path: string;
  head?: string;
  /** Full ref, e.g. `refs/heads/orch/T001`; absent when detached. */
  branch?: string;
  bare: boolean;
  locked: boolean;
  prunable: boolean;
}

/**
 * The repository's worktrees (`git worktree list --porcelain -z`), main worktree first.
 *
 * @example
 * const onBranch = (await listWorktrees('/repo')).find((w) => w.branch === 'refs/heads/integration');
 */
export async function listWorktrees(dir: string): Promise<WorktreeEntry[]> {
  const out = await git(dir, ['worktree', 'list', '--porcelain', '-z']);
  const entries: WorktreeEntry[] = [];
  let current: WorktreeEntry | undefined;
  for (const field of out.split('\0')) {
    if (field === '') {
      if (current) entries.push(current);
      current = undefined;
      continue;
    }
    const space = field.indexOf(' ');
    const key = space === -1 ? field : field.slice(0, space);
    const value = space === -1 ? '' : field.slice(space + 1);
    if (key === 'worktree') current = { path: value, bare: false, locked: false, prunable: false };
    else if (!current) continue;
    else if (key === 'HEAD') current.head = value;
    else if (key === 'branch') current.branch = value;
    else if (key === 'bare') current.bare = true;
    else if (key === 'locked') current.locked = true;
    else if (key === 'prunable') current.prunable = true;
  }
  if (current) entries.push(current);
  return entries;
}

/**
 * Paths compared the way the file system sees them (symlinks such as /tmp → /private/tmp resolved).
 *
 * @example
 * samePath('/tmp/x', '/private/tmp/x'); // true on macOS
 */
export function samePath(a: string, b: string): boolean {
  return canonical(a) === canonical(b);
}

function canonical(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

/**
 * `-c user.name=… -c user.email=…` for commits orch makes itself, only when the repository
 * has no identity configured (so a user's own identity is always preferred).
 *
 * @example
 * await git(dir, ['merge', '--no-ff', '-m', msg, '--', branch], { config: await fallbackIdentity(dir) });
 */
export async function fallbackIdentity(dir: string, name = 'orch'): Promise<string[]> {
  const email = await gitResult(dir, ['config', 'user.email']);
  const user = await gitResult(dir, ['config', 'user.name']);
  const config: string[] = [];
  if (user.exitCode !== 0 || user.stdout.trim() === '') config.push(`user.name=${name}`);
  if (email.exitCode !== 0 || email.stdout.trim() === '') config.push(`user.email=${name}@localhost.invalid`);
  return config;
}
