import { MergeFailedError } from '../system/errors.js';
import { fallbackIdentity, git, gitResult } from './git.js';

/** What merging a task branch did. */
export type MergeResult =
  /** A new `--no-ff` merge commit on the integration branch. */
  | { status: 'merged'; commit: string }
  /** The branch was already contained in the integration branch (a repeat after a crash, or no new commits); `commit` is the merge commit that brought it in, when there is one. */
  | { status: 'already-merged'; commit: string | null }
  /** The merge conflicted and was aborted; the integration branch is unchanged. */
  | { status: 'conflict'; files: string[] };

/**
 * Merges `branch` into the branch checked out in `worktree` (the integration branch) with
 * `--no-ff -m message`. Used through {@link WorkspaceManager.mergeTask}, which picks and checks
 * the worktree.
 *
 * @example
 * await mergeTaskBranch('/repo', { path: '/repo/.state/sandbox/.integration', owned: true }, 'orch/T001', 'Merge T001');
 */
export async function mergeTaskBranch(
  repoRoot: string,
  worktree: { path: string; owned: boolean },
  branch: string,
  message: string,
): Promise<MergeResult> {
  const into = (await git(worktree.path, ['symbolic-ref', '--short', 'HEAD'])).trim();
  const tip = await gitResult(repoRoot, ['rev-parse', '--verify', '-q', `refs/heads/${branch}^{commit}`]);
  if (tip.exitCode !== 0) throw new MergeFailedError(branch, into, `branch ${branch} does not exist`);
  const branchHead = tip.stdout.trim();

  const contained = await gitResult(worktree.path, ['merge-base', '--is-ancestor', branchHead, 'HEAD']);
  if (contained.exitCode === 0)
    return { status: 'already-merged', commit: await findMergeCommit(worktree.path, branchHead) };

  const identity = await fallbackIdentity(worktree.path);
  const merge = await gitResult(
    worktree.path,
    ['merge', '--no-ff', '--no-edit', '-m', message, '--', branch],
    {
      config: identity,
    },
  );
  if (merge.exitCode === 0) {
    return { status: 'merged', commit: (await git(worktree.path, ['rev-parse', 'HEAD'])).trim() };
  }
  const unmerged = await git(worktree.path, ['diff', '--name-only', '--diff-filter=U', '-z']);
  const files = unmerged.split('\0').filter((f) => f !== '');
  await rollBack(worktree);
  if (files.length > 0) return { status: 'conflict', files };
  throw new MergeFailedError(branch, into, merge.stderr || merge.stdout);
}

/** Leaves the integration worktree exactly as it was before the merge started. */
async function rollBack(worktree: { path: string; owned: boolean }): Promise<void> {
  if ((await gitResult(worktree.path, ['rev-parse', '--verify', '-q', 'MERGE_HEAD'])).exitCode === 0) {
    await git(worktree.path, ['merge', '--abort']);
  }
  // orch's own worktree holds nothing but merges, so resetting it loses nothing.
  if (worktree.owned) await git(worktree.path, ['reset', '--hard', '-q', 'HEAD']);
}

/** The first-parent merge commit whose other parent is `branchHead`, if any (recent 5000 merges). */
async function findMergeCommit(worktree: string, branchHead: string): Promise<string | null> {
  const out = await git(worktree, [
    'log',
    '--first-parent',
    '--merges',
    '-n',
    '5000',
    '--format=%H %P',
    'HEAD',
  ]);
  for (const line of out.split('\n')) {
    const [commit, , ...others] = line.trim().split(' ');
    if (commit && others.includes(branchHead)) return commit;
  }
  return null;
}
