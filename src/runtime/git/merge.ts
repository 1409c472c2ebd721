import { MergeFailedError } from '../system/errors.js';
import { fallbackIdentity, git, gitResult } from './git.js';
import type { InProcessWriter } from './objects.js';
import { readRef } from './refs.js';

/** The trees of the merge commits orch made (a commit's tree never changes), the newest 256. */
const treeOf = new Map<string, string>();

function rememberTree(commit: string, tree: string): void {
  treeOf.set(commit, tree);
  if (treeOf.size > 256) treeOf.delete(treeOf.keys().next().value!);
}

/** What merging a task branch did. */
export type MergeResult =
  /** A new `--no-ff` merge commit on the integration branch. */
  | {
      status: 'merged';
      commit: string;
      /** The integration head it was made on (its first parent), when the merge moved the branch itself. */
      onto?: string;
    }
  /** The branch was already contained in the integration branch (a repeat after a crash, or no new commits); `commit` is the merge commit that brought it in, when there is one. */
  | { status: 'already-merged'; commit: string | null }
  /** The merge conflicted and was aborted; the integration branch is unchanged. */
  | { status: 'conflict'; files: string[] };

/**
 * Merges `branch` into the integration branch `into` without any checkout: `git merge-tree
 * --write-tree` makes the merged tree, `git commit-tree` the `--no-ff` merge commit (parents:
 * the integration tip, then the branch tip), and `git update-ref <ref> <new> <old>` moves the
 * branch only if it still points where the merge started (compare-and-swap: when something
 * else moved it meanwhile, the merge is made again on the new tip). A conflict is reported
 * with its files and touches nothing; a branch already contained in `into` is not merged
 * again. Three git processes for a merge (the tips are read from the ref files when
 * `commonDir` is given, the tree of orch's own last merge remembered), where a merge in a
 * worktree took nine. Only for an
 * integration branch that no worktree has checked out (its index and files would go stale):
 * {@link WorkspaceManager.mergeTask} sees to that.
 *
 * @example
 * await mergeWithoutCheckout('/repo', 'integration', 'orch/T001', 'Merge T001', []);
 */
export async function mergeWithoutCheckout(
  repoRoot: string,
  into: string,
  branch: string,
  message: string,
  identity: string[],
  commonDir?: string,
  writer?: InProcessWriter | null,
): Promise<MergeResult> {
  const intoRef = `refs/heads/${into}`;
  for (let attempt = 1; ; attempt++) {
    // Both tips read from the ref files, and the integration tip's tree remembered from the
    // merge that made it: no process unless only git can tell (see refs.ts).
    let intoHead = commonDir === undefined ? undefined : readRef(commonDir, intoRef);
    let branchHead = commonDir === undefined ? undefined : readRef(commonDir, `refs/heads/${branch}`);
    let intoTree = intoHead ? treeOf.get(intoHead) : undefined;
    if (!intoHead || !branchHead || !intoTree) {
      const revs = await gitResult(repoRoot, [
        'rev-parse',
        `${intoRef}^{commit}`,
        `${intoRef}^{tree}`,
        `refs/heads/${branch}^{commit}`,
        '--',
      ]);
      [intoHead, intoTree, branchHead] = revs.stdout.split('\n').map((l) => l.trim());
      if (revs.exitCode !== 0 || !intoHead || !intoTree || !branchHead || branchHead === '--') {
        const tip = await gitResult(repoRoot, [
          'rev-parse',
          '--verify',
          '-q',
          `refs/heads/${branch}^{commit}`,
        ]);
        if (tip.exitCode !== 0) throw new MergeFailedError(branch, into, `branch ${branch} does not exist`);
        throw new MergeFailedError(branch, into, revs.stderr.trim() || `branch ${into} does not exist`);
      }
    }
    const step = await mergeOnto(
      repoRoot,
      { head: intoHead, tree: intoTree },
      branchHead,
      message,
      identity,
      writer,
    );
    if (step.status === 'conflict') return step;
    if (step.status === 'failed') throw new MergeFailedError(branch, into, step.output);
    if (step.status === 'already-merged') {
      return { status: 'already-merged', commit: await findMergeCommit(repoRoot, branchHead, intoHead) };
    }
    const commit = step.commit;
    const reason = `merge ${branch}: Merge made by orch (merge-tree)`;
    const inProcess = writer?.moveRef(intoRef, intoHead, commit, reason);
    if (inProcess === 'moved') {
      rememberTree(commit, step.tree);
      return { status: 'merged', commit, onto: intoHead };
    }
    if (inProcess === 'stale') {
      if (attempt >= 5) throw new MergeFailedError(branch, into, `${intoRef} kept moving during the merge`);
      continue;
    }
    const moved = await gitResult(repoRoot, ['update-ref', '-m', reason, intoRef, commit, intoHead]);
    if (moved.exitCode === 0) {
      rememberTree(commit, step.tree);
      return { status: 'merged', commit, onto: intoHead };
    }
    // Moved by someone else since the rev-parse: merge again on the new tip, a few times.
    if (attempt >= 5) throw new MergeFailedError(branch, into, moved.stderr.trim());
  }
}

/** What {@link mergeOnto} made of one branch on one integration head. */
export type MergeStep =
  | { status: 'commit'; commit: string; tree: string }
  | { status: 'already-merged' }
  | { status: 'conflict'; files: string[] }
  | { status: 'failed'; output: string };

/**
 * The `--no-ff` merge commit of `branchHead` onto the integration head `onto` (its commit and
 * tree), made without a checkout and without moving any ref: `git merge-tree --write-tree`,
 * then `git commit-tree` with parents `onto.head`, `branchHead`. A conflict gives its files;
 * a branch already contained in `onto.head` gives `already-merged`. Moving the branch (a
 * local `update-ref`, or a push to a remote) is the caller's compare-and-swap.
 *
 * @example
 * const step = await mergeOnto('/repo', { head, tree }, branchHead, 'Merge T001', []);
 */
export async function mergeOnto(
  repoRoot: string,
  onto: { head: string; tree: string },
  branchHead: string,
  message: string,
  identity: string[],
  writer?: InProcessWriter | null,
): Promise<MergeStep> {
  const merged = await gitResult(repoRoot, [
    'merge-tree',
    '--write-tree',
    '-z',
    '--name-only',
    '--no-messages',
    onto.head,
    branchHead,
  ]);
  const [tree, ...rest] = merged.stdout.split('\0');
  if (merged.exitCode === 1) {
    return { status: 'conflict', files: [...new Set(rest.filter((f) => f !== ''))] };
  }
  if (merged.exitCode !== 0 || !tree) {
    return { status: 'failed', output: merged.stderr.trim() || merged.stdout.trim() };
  }
  // Nothing to add: either the branch is in already, or its commits change nothing.
  if (tree === onto.tree) {
    const contained = await gitResult(repoRoot, ['merge-base', '--is-ancestor', branchHead, onto.head]);
    if (contained.exitCode === 0) return { status: 'already-merged' };
  }
  const commit =
    writer?.commit(tree, [onto.head, branchHead], message) ??
    (
      await git(repoRoot, ['commit-tree', tree, '-p', onto.head, '-p', branchHead, '-m', message], {
        config: identity,
      })
    ).trim();
  return { status: 'commit', commit, tree };
}

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
    return { status: 'already-merged', commit: await findMergeCommit(worktree.path, branchHead, 'HEAD') };

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

/**
 * The first-parent merge commit of `tip` whose other parent is `branchHead`, if any (recent 5000 merges).
 *
 * @example
 * await findMergeCommit('/repo', branchHead, 'refs/heads/integration'); // '3f2a…' or null
 */
export async function findMergeCommit(
  worktree: string,
  branchHead: string,
  tip: string,
): Promise<string | null> {
  // The merge that brought `branchHead` in is never an ancestor of `branchHead`: only the
  // history after it is searched (for a branch with nothing of its own, the few merges since).
  const out = await git(worktree, [
    'log',
    '--first-parent',
    '--merges',
    '-n',
    '5000',
    '--format=%H %P',
    tip,
    `^${branchHead}`,
    '--',
  ]);
  for (const line of out.split('\n')) {
    const [commit, , ...others] = line.trim().split(' ');
    if (commit && others.includes(branchHead)) return commit;
  }
  return null;
}

/**
 * The merge commit that brought task `taskId` into `tip`'s first-parent history (orch's merge
 * message starts `orch: merge task <id>`), the newest one, or null. Workers use it so a task is
 * merged at most once on the shared integration branch, whichever of its spawns got there.
 *
 * @example
 * await findTaskMerge('/repo', 'refs/heads/integration', 'T001'); // '3f2a…' or null
 */
export async function findTaskMerge(repoRoot: string, tip: string, taskId: string): Promise<string | null> {
  const escaped = taskId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const out = await git(repoRoot, [
    'log',
    '--first-parent',
    '--merges',
    '-n',
    '1',
    '-E',
    `--grep=^orch: merge task ${escaped}( \\(.*)?$`,
    '--format=%H',
    tip,
    '--',
  ]);
  return out.trim() === '' ? null : out.trim();
}
