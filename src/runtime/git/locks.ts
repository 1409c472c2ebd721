import fs from 'node:fs';
import path from 'node:path';
import { GitLockedError } from '../system/errors.js';
import { findGitProcesses, type GitProcess } from '../system/find-processes.js';
import { git } from './git.js';

/**
 * Lock files a crashed (or killed) git leaves behind in one of orch's worktrees:
 * `index.lock` and `HEAD.lock` in the worktree's git directory, and the lock of the branch
 * checked out there (`refs/heads/<branch>.lock` in the common git directory). While one is
 * there, every later git command in that worktree fails.
 *
 * The rule: a lock is **provably stale** when no live git process could hold it, that is
 * no git process runs with its working directory inside the worktree or the repository's
 * git directory (Linux: read from `/proc`; a process whose working directory cannot be
 * read is exiting, or another user's, and is not counted). Then it is removed, and
 * `onRemoved` says so. Otherwise — a git process runs there, or the processes cannot be
 * listed with their working directories (other systems, where `ps` is asked and any git
 * process at all counts) — nothing is removed and `GIT_LOCKED` names the file and what
 * to do. The lock's age is no proof either way: a long `git gc` holds
 * its locks for minutes, and a git killed a second ago holds nothing.
 *
 * @example
 * await clearStaleGitLocks('/repo/.state/sandbox/T1', (message) => console.warn(message));
 */
export async function clearStaleGitLocks(
  worktree: string,
  onRemoved?: (message: string) => void,
): Promise<void> {
  const out = await git(worktree, [
    'rev-parse',
    '--absolute-git-dir',
    '--git-common-dir',
    '--symbolic-full-name',
    'HEAD',
  ]);
  const [gitDirLine, commonLine, headRef] = out.split('\n').map((l) => l.trim());
  const gitDir = gitDirLine ?? '';
  const commonDir = path.resolve(worktree, commonLine ?? gitDir);
  const candidates = [path.join(gitDir, 'index.lock'), path.join(gitDir, 'HEAD.lock')];
  if (headRef?.startsWith('refs/heads/')) candidates.push(path.join(commonDir, `${headRef}.lock`));
  removeIfStale(candidates, worktree, [worktree, gitDir, commonDir], onRemoved);
}

/**
 * The same rule for the lock of a branch updated without a checkout (a merge made with
 * `merge-tree` and `update-ref`): `refs/heads/<branch>.lock` in the repository's common git
 * directory, stale when no git process runs in the repository or its git directory.
 *
 * @example
 * clearStaleRefLock('/repo', '/repo/.git', 'integration', (message) => console.warn(message));
 */
export function clearStaleRefLock(
  repoRoot: string,
  commonDir: string,
  branch: string,
  onRemoved?: (message: string) => void,
): void {
  removeIfStale(
    [path.join(commonDir, 'refs', 'heads', `${branch}.lock`)],
    repoRoot,
    [repoRoot, commonDir],
    onRemoved,
  );
}

/** Removes each existing lock no git process could hold (said through `onRemoved`); `GIT_LOCKED` otherwise. */
function removeIfStale(
  candidates: string[],
  where: string,
  dirs: string[],
  onRemoved: ((message: string) => void) | undefined,
): void {
  const found = candidates.filter((f) => fs.existsSync(f));
  if (found.length === 0) return;
  const holders = possibleHolders(findGitProcesses(), dirs);
  for (const lockFile of found) {
    if (holders !== null && holders.length === 0) {
      const age = ageOf(lockFile);
      fs.rmSync(lockFile, { force: true });
      onRemoved?.(
        `removed the stale git lock ${lockFile}${age === null ? '' : ` (${Math.round(age / 1000)} s old)`}: no git process runs in ${where}, so a crashed git left it`,
      );
      continue;
    }
    throw new GitLockedError(
      lockFile,
      holders === null
        ? 'orch cannot list the running processes to tell whether a git command holds it'
        : `git process(es) ${holders.map((h) => h.pid).join(', ')} ${holders.some((h) => h.cwd === null) ? 'are running (orch cannot tell where)' : `are running in ${where}`}`,
    );
  }
}

/** The git processes that could hold a lock under `dirs`; null when that cannot be known. */
function possibleHolders(gits: GitProcess[] | null, dirs: string[]): GitProcess[] | null {
  if (gits === null) return null;
  const roots = dirs.map(canonical);
  return gits.filter((g) => g.cwd === null || roots.some((root) => inside(canonical(g.cwd!), root)));
}

function inside(p: string, root: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function canonical(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

function ageOf(file: string): number | null {
  try {
    return Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return null;
  }
}
