import { remoteProblem } from '../../core/config.js';
import { InvalidRemoteError, MergeFailedError, RemoteGitError } from '../system/errors.js';
import { git, gitResult } from './git.js';
import { findMergeCommit, mergeOnto, type MergeResult } from './merge.js';

/**
 * Git across machines: the configured `remote` (a name such as `origin`, or a URL) holds
 * the integration branch and the milestone branches; each worker has its own clone. A
 * branch is read with `git fetch` into orch's own ref `refs/orch/remote/<branch>` (the
 * user's `refs/remotes/*` are left alone, and a URL works as well as a name), and moved
 * with `git push --force-with-lease=refs/heads/<branch>:<expected>`: a compare-and-swap on
 * the remote, refused when another worker moved it first. The remote always comes after
 * `--` on git's command line, and is checked by {@link assertRemote} besides.
 */

/** Where a fetched branch of the remote is kept: `refs/orch/remote/<branch>`. */
export function remoteTrackingRef(branch: string): string {
  return `refs/orch/remote/${branch}`;
}

/**
 * Throws `CONFIG_INVALID` (naming the key `remote`) when git could read the value as an
 * option or it holds a control character.
 *
 * @example
 * assertRemote('origin'); // fine
 * assertRemote('--upload-pack=touch /tmp/x'); // throws
 */
export function assertRemote(remote: string): void {
  const problem = remoteProblem(remote);
  if (problem !== null) throw new InvalidRemoteError(remote, problem);
}

/**
 * Fetches `refs/heads/<branch>` of the remote into {@link remoteTrackingRef} and returns
 * the commit, or null when the remote has no such branch. Anything else that fails
 * (unreachable, no access) is `REMOTE_FAILED`.
 *
 * @example
 * const head = await fetchBranch('/repo', 'origin', 'integration'); // '3f2a…' or null
 */
export async function fetchBranch(repoRoot: string, remote: string, branch: string): Promise<string | null> {
  assertRemote(remote);
  const tracking = remoteTrackingRef(branch);
  for (let attempt = 1; ; attempt++) {
    const outcome = await fetchOnce(repoRoot, remote, branch, tracking);
    if (typeof outcome === 'string' || outcome === null) return outcome;
    // The fetch failed but the branch is there now: another worker may just have created it
    // (absent at the fetch, present at the look after it). Fetched again, a few times.
    if (attempt >= 5) throw new RemoteGitError(remote, `fetching ${branch}`, outcome.failed);
  }
}

async function fetchOnce(
  repoRoot: string,
  remote: string,
  branch: string,
  tracking: string,
): Promise<string | null | { failed: string }> {
  const fetched = await gitResult(repoRoot, [
    'fetch',
    '-q',
    '--no-tags',
    '--no-write-fetch-head',
    '--no-recurse-submodules',
    '--',
    remote,
    `+refs/heads/${branch}:${tracking}`,
  ]);
  if (fetched.exitCode !== 0) {
    // No such branch there? Asked in a way that does not depend on git's (translated) messages:
    // `ls-remote --exit-code` exits 2 when no ref matches.
    const listed = await gitResult(repoRoot, [
      'ls-remote',
      '--exit-code',
      '--heads',
      '--',
      remote,
      `refs/heads/${branch}`,
    ]);
    if (listed.exitCode === 2) return null;
    if (listed.exitCode === 0) return { failed: fetched.stderr || fetched.stdout };
    throw new RemoteGitError(remote, `fetching ${branch}`, fetched.stderr || fetched.stdout);
  }
  return (await git(repoRoot, ['rev-parse', '--verify', `${tracking}^{commit}`])).trim();
}

/**
 * Pushes `commit` to `refs/heads/<branch>` of the remote only if that branch is still at
 * `expected` (null: only if it does not exist yet): `--force-with-lease`, a compare-and-swap
 * on the remote. `pushed` also when the branch was already at `commit`; `rejected` when the
 * remote refused this ref (it moved meanwhile, or a concurrent push held its lock), with
 * git's reason; a push that could not happen at all (unreachable, no access) is
 * `REMOTE_FAILED`.
 *
 * @example
 * const r = await pushBranch('/repo', 'origin', merged, 'integration', oldHead);
 * if (r.status === 'rejected') console.log(r.reason); // '[rejected] (stale info)'
 */
export async function pushBranch(
  repoRoot: string,
  remote: string,
  commit: string,
  branch: string,
  expected: string | null,
): Promise<{ status: 'pushed' } | { status: 'rejected'; reason: string }> {
  assertRemote(remote);
  const ref = `refs/heads/${branch}`;
  const pushed = await gitResult(repoRoot, [
    'push',
    '--porcelain',
    '--no-recurse-submodules',
    `--force-with-lease=${ref}:${expected ?? ''}`,
    '--',
    remote,
    `${commit}:${ref}`,
  ]);
  // Porcelain: one line per ref, `<flag>\t<from>:<to>\t<summary>`; `!` is a refusal.
  const line = pushed.stdout.split('\n').find((l) => l.endsWith(`:${ref}`) || l.includes(`:${ref}\t`));
  if (pushed.exitCode === 0 && line !== undefined && !line.startsWith('!')) return { status: 'pushed' };
  if (line?.startsWith('!')) {
    return { status: 'rejected', reason: line.split('\t').slice(2).join(' ').trim() || 'rejected' };
  }
  throw new RemoteGitError(remote, `pushing ${branch}`, pushed.stderr || pushed.stdout);
}

/**
 * Reads the remote's `branch`, creating it there when it does not exist yet: at the commit
 * `start()` gives, pushed with an empty lease (only if still absent), so that when two
 * workers create it at the same moment one push wins and the other reads the winner's.
 *
 * @example
 * const head = await ensureRemoteBranch('/repo', 'origin', 'integration', async () => baseHead);
 */
export async function ensureRemoteBranch(
  repoRoot: string,
  remote: string,
  branch: string,
  start: () => Promise<string>,
): Promise<string> {
  let reason = '';
  for (let attempt = 1; attempt <= 5; attempt++) {
    const head = await fetchBranch(repoRoot, remote, branch);
    if (head !== null) return head;
    const from = await start();
    const pushed = await pushBranch(repoRoot, remote, from, branch, null);
    if (pushed.status === 'pushed') {
      await git(repoRoot, [
        'update-ref',
        '-m',
        `orch: created on ${remote}`,
        remoteTrackingRef(branch),
        from,
      ]);
      return from;
    }
    // Another worker created it meanwhile (or its push held the lock): read it again.
    reason = pushed.reason;
  }
  throw new RemoteGitError(remote, `creating ${branch}`, `the push was refused 5 times: ${reason}`);
}

/** What {@link mergeThroughRemote} needs besides the branch. */
export interface RemoteMergeOptions {
  remote: string;
  /** The integration branch (on the remote and locally). */
  into: string;
  /** The task branch (local), e.g. `orch/T001`. */
  branch: string;
  message: string;
  /** `-c user.*` for the merge commit (see `fallbackIdentity`). */
  identity: string[];
  /** Fetches the remote's integration head (creating the branch there when missing). */
  head: () => Promise<string>;
  /** Moves the local integration branch to a commit the remote's contains (after a push, or when nothing was merged). */
  adopt: (commit: string) => Promise<void>;
  /**
   * Called with each fetched head before merging onto it: a commit id when the task is already
   * merged there (by another spawn: nothing is merged, that commit is the result); null to go
   * on. May throw to refuse the merge (a worker declared lost).
   */
  beforePush?: (head: string) => Promise<string | null>;
  /**
   * Merges tried before giving up when other workers keep moving the head (default 200: about
   * three minutes at the 1 s ceiling). Each refusal means another merge landed; 20, the old
   * default, was used up by 8 workers merging at once on a loaded 2-core machine, and the
   * worker stopped.
   */
  attempts?: number;
  /** Upper bound of the pause before a retry, in ms (default 1000; grows with the attempt, jittered). */
  maxBackoffMs?: number;
}

/**
 * Merges a task branch into the remote's integration branch without a checkout: fetch the
 * remote head, make the `--no-ff` merge commit onto it ({@link mergeOnto}), push it with a
 * lease on the head it was made on. A push refused because another worker moved the head
 * is fetched and merged again on the new head, after a short jittered pause, at most
 * `attempts` times (then `MERGE_FAILED`). A conflict is reported with its files and
 * nothing is pushed; a branch the remote head already contains is not merged again (the
 * merge commit that brought it in is returned). After a push the local integration branch
 * is moved to the pushed commit (`adopt`), so local CI tests exactly the commit merged.
 *
 * @example
 * await mergeThroughRemote('/repo', { remote: 'origin', into: 'integration', branch: 'orch/T1', message, identity: [], head, adopt });
 */
export async function mergeThroughRemote(repoRoot: string, o: RemoteMergeOptions): Promise<MergeResult> {
  const tip = await gitResult(repoRoot, ['rev-parse', '--verify', '-q', `refs/heads/${o.branch}^{commit}`]);
  if (tip.exitCode !== 0) throw new MergeFailedError(o.branch, o.into, `branch ${o.branch} does not exist`);
  const branchHead = tip.stdout.trim();
  const attempts = o.attempts ?? 200;
  const maxBackoffMs = o.maxBackoffMs ?? 1000;
  let reason = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const head = await o.head();
    const existing = (await o.beforePush?.(head)) ?? null;
    if (existing !== null) {
      await o.adopt(head);
      return { status: 'already-merged', commit: existing };
    }
    const tree = (await git(repoRoot, ['rev-parse', '--verify', `${head}^{tree}`])).trim();
    const step = await mergeOnto(repoRoot, { head, tree }, branchHead, o.message, o.identity);
    if (step.status === 'conflict') return step;
    if (step.status === 'failed') throw new MergeFailedError(o.branch, o.into, step.output);
    if (step.status === 'already-merged') {
      await o.adopt(head);
      return { status: 'already-merged', commit: await findMergeCommit(repoRoot, branchHead, head) };
    }
    const pushed = await pushBranch(repoRoot, o.remote, step.commit, o.into, head);
    if (pushed.status === 'pushed') {
      await git(repoRoot, ['update-ref', remoteTrackingRef(o.into), step.commit]);
      await o.adopt(step.commit);
      return { status: 'merged', commit: step.commit };
    }
    // Another worker moved the head since the fetch: merge again on its new head.
    reason = pushed.reason;
    if (attempt < attempts) await sleep(backoff(attempt, maxBackoffMs));
  }
  throw new MergeFailedError(
    o.branch,
    o.into,
    `the push to ${o.remote} was refused ${attempts} times in a row (other workers kept moving ${o.into}; last: ${reason})`,
  );
}

/** A pause growing with the attempt (25 ms, 50 ms, … up to `max`), jittered between half and all of it. */
function backoff(attempt: number, max: number): number {
  const ceiling = Math.min(max, 25 * 2 ** Math.min(attempt - 1, 10));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
