import fs from 'node:fs';
import path from 'node:path';
import {
  BaseBranchNotFoundError,
  DirtyIntegrationBranchError,
  IntegrationDivergedError,
  InvalidBranchNameError,
  NoCommitsError,
  NotAGitRepoError,
  RemoteGitError,
  WorkspaceConflictError,
} from '../system/errors.js';
import { fallbackIdentity, git, gitResult, listWorktrees, samePath, type WorktreeEntry } from './git.js';
import { clearStaleGitLocks, clearStaleRefLock } from './locks.js';
import { findTaskMerge, mergeTaskBranch, mergeWithoutCheckout, type MergeResult } from './merge.js';
import { inProcessWriter, type InProcessWriter } from './objects.js';
import { readRef } from './refs.js';
import { assertRemote, ensureRemoteBranch, fetchBranch, mergeThroughRemote, pushBranch } from './remote.js';
import { taskBranch, workspaceKey } from '../system/safe-id.js';
import { ensureGitignored, SANDBOX_GITIGNORE } from '../system/state-paths.js';

/** Where task workspaces live and which branches they come from. */
export interface WorkspaceOptions {
  /** The repository (any directory inside it). */
  repoDir: string;
  /** Where task worktrees go; relative paths are relative to the repository root. */
  sandboxDir: string;
  integrationBranch: string;
  baseBranch: string;
  /** Told when a stale git lock left by a crashed git is removed (see `src/runtime/git/locks.ts`). */
  onStaleLockRemoved?: (message: string) => void;
  /**
   * The git remote (name or URL) that holds the integration branch (config `remote`): fetched
   * before each new worktree, pushed by each merge (see `src/runtime/git/remote.ts`). Absent:
   * everything stays in this repository.
   */
  remote?: string | undefined;
}

/** A task's git worktree. */
export interface TaskWorkspace {
  taskId: string;
  /** Absolute path of the worktree (the agent's working directory). */
  path: string;
  /** `orch/<encoded task id>`. */
  branch: string;
  /** False when an existing worktree or branch was reused (a retry, or after a crash). */
  created: boolean;
  /** The commit checked out. */
  head: string;
}

/** The directory under the sandbox where merges happen when the integration branch is not checked out elsewhere. */
export const INTEGRATION_WORKTREE = '.integration';
/** Under the sandbox: the detached checkout where local CI tests one merged commit. */
export const CI_WORKTREE = '.ci';

/**
 * One git worktree per task under the sandbox, on branch `orch/<taskId>` made from the
 * integration branch (itself made from the base branch if missing), reused on retries and
 * after crashes; and merges back into the integration branch ({@link WorkspaceManager.mergeTask}).
 * Git operations of one manager are serialised, worktree changes in one queue and merges in
 * another (see `worktreeSerial`); the lease keeps other orch processes out.
 *
 * @example
 * const ws = await WorkspaceManager.open({ repoDir: '/repo', sandboxDir: '.state/sandbox', integrationBranch: 'integration', baseBranch: 'main' });
 * const { path, branch } = await ws.ensureWorkspace('T001');
 * // … run the agent in `path` …
 * const merged = await ws.mergeTask('T001', 'Merge T001: add the parser');
 */
export class WorkspaceManager {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    /** The repository's top-level directory. */
    readonly repoRoot: string,
    readonly sandboxDir: string,
    readonly integrationBranch: string,
    readonly baseBranch: string,
    /** The repository's common git directory (`git rev-parse --git-common-dir`), absolute. */
    private readonly commonDir: string,
    private readonly onStaleLockRemoved?: (message: string) => void,
    /** The git remote the integration branch lives on (config `remote`), or undefined: this repository only. */
    readonly remote?: string,
  ) {}

  /**
   * Checks the repository (`NOT_A_GIT_REPO`, `NO_COMMITS`, `INVALID_BRANCH_NAME`,
   * `BASE_BRANCH_NOT_FOUND`, `DIRTY_INTEGRATION_BRANCH`), creates the integration branch if
   * missing and the sandbox directory. Call it before spawning anything.
   *
   * @example
   * const ws = await WorkspaceManager.open({ repoDir, sandboxDir, integrationBranch: 'integration', baseBranch: 'main' });
   */
  static async open(options: WorkspaceOptions): Promise<WorkspaceManager> {
    const repoDir = path.resolve(options.repoDir);
    if (!fs.existsSync(repoDir) || !fs.statSync(repoDir).isDirectory()) throw new NotAGitRepoError(repoDir);
    const top = await gitResult(repoDir, ['rev-parse', '--show-toplevel']);
    if (top.exitCode !== 0 || top.stdout.trim() === '')
      throw new NotAGitRepoError(repoDir, top.stderr.trim());
    const repoRoot = top.stdout.trim();
    for (const [key, name] of [
      ['integrationBranch', options.integrationBranch],
      ['baseBranch', options.baseBranch],
    ] as const) {
      const ok =
        !name.startsWith('-') &&
        (await gitResult(repoRoot, ['check-ref-format', `refs/heads/${name}`])).exitCode === 0;
      if (!ok) throw new InvalidBranchNameError(name, key);
    }
    if (options.remote !== undefined) assertRemote(options.remote);
    const sandboxDir = path.resolve(repoRoot, options.sandboxDir);
    const commonDir = path.resolve(repoRoot, (await git(repoRoot, ['rev-parse', '--git-common-dir'])).trim());
    const manager = new WorkspaceManager(
      repoRoot,
      sandboxDir,
      options.integrationBranch,
      options.baseBranch,
      commonDir,
      options.onStaleLockRemoved,
      options.remote,
    );
    await manager.serial(() => manager.prepare());
    return manager;
  }

  /**
   * The worktree path of a task (whether or not it exists yet).
   *
   * @example
   * ws.pathFor('../x'); // '<sandbox>/+2E+2E+2Fx'
   */
  pathFor(taskId: string, lane?: number): string {
    return path.join(this.sandboxDir, workspaceKey(taskId, lane));
  }

  /**
   * The branch of a task: `orch/<encoded id>`.
   *
   * @example
   * ws.branchFor('T001'); // 'orch/T001'
   */
  branchFor(taskId: string, lane?: number): string {
    return taskBranch(taskId, lane);
  }

  /**
   * The commit the integration branch points at.
   *
   * @example
   * const ref = await ws.integrationHead(); // '3f2a…'
   */
  /**
   * The merge commit of task `taskId` on the integration branch (the remote's, fetched, when
   * there is a remote), or null: see {@link findTaskMerge}.
   *
   * @example
   * await ws.taskMerge('T001'); // '3f2a…' or null
   */
  async taskMerge(taskId: string, head?: string): Promise<string | null> {
    if (head !== undefined) return findTaskMerge(this.repoRoot, head, taskId);
    return this.serial(async () => {
      if (this.remote !== undefined) await this.followRemote();
      const tip = await gitResult(this.repoRoot, [
        'rev-parse',
        '--verify',
        '-q',
        `refs/heads/${this.integrationBranch}^{commit}`,
      ]);
      if (tip.exitCode !== 0) return null;
      return findTaskMerge(this.repoRoot, tip.stdout.trim(), taskId);
    });
  }

  async integrationHead(): Promise<string> {
    const read =
      this.remote === undefined ? readRef(this.commonDir, `refs/heads/${this.integrationBranch}`) : undefined;
    if (read) return read;
    return (
      await git(this.repoRoot, ['rev-parse', '--verify', `refs/heads/${this.integrationBranch}^{commit}`])
    ).trim();
  }

  /**
   * Which of `commits` the integration branch no longer contains (a person reset or
   * rewrote it): each is checked with `git merge-base --is-ancestor`; a commit git no
   * longer has at all counts as missing.
   *
   * @example
   * const dropped = await ws.missingFromIntegration(['3f2a…', '9b1c…']); // [] when all are there
   */
  async missingFromIntegration(commits: readonly string[]): Promise<string[]> {
    const ref = `refs/heads/${this.integrationBranch}`;
    // The branch is where this manager last saw it holding all of them (its check, then its
    // own merges on top): nothing to ask git, and no wait behind queued merges. (A run asks
    // before every merge with every merge so far: this path is one set lookup per commit.)
    if (this.remote === undefined && this.contained !== null && commits.length > 0) {
      const contained = this.contained;
      const head = readRef(this.commonDir, ref);
      // From the head back through this manager's own merges (each made on the one before) to
      // the head the last check saw: then that head and every merge on the way are in.
      const walked: string[] = [];
      let at = head ?? undefined;
      while (at !== undefined && at !== contained.head) {
        walked.push(at);
        at = this.ownMerges.get(at);
      }
      if (at !== undefined && head) {
        for (const c of walked) contained.commits.add(c);
        contained.head = head;
        // Only commit ids are ever in `contained`: anything else goes the long way below.
        if (commits.every((c) => contained.commits.has(c))) return [];
      }
    }
    const ids: string[] = [];
    const invalid: string[] = [];
    for (const c of commits) (/^[0-9a-f]{7,64}$/.test(c) ? ids : invalid).push(c);
    if (ids.length === 0) return invalid;
    return this.serial(async () => {
      // Through a remote, other workers' merges are there: fetched first.
      if (this.remote !== undefined) await this.followRemote();
      const head = this.remote === undefined ? readRef(this.commonDir, ref) : undefined;
      // One git call for the usual case (all there): nothing reachable from them but not from the branch.
      const all = await gitResult(this.repoRoot, ['rev-list', '--max-count=1', `^${ref}`, ...ids, '--']);
      if (all.exitCode === 0 && all.stdout.trim() === '') {
        // Only when the branch did not move during the check: then it held all of them.
        if (head && readRef(this.commonDir, ref) === head) {
          // With the merges of this manager's that lead to it (made while this check waited its turn).
          const commits = new Set(ids);
          for (let at = this.ownMerges.get(head) && head; at; at = this.ownMerges.get(at)) commits.add(at);
          this.contained = { head, commits };
        }
        return invalid;
      }
      const missing = [...invalid];
      for (const commit of ids) {
        const r = await gitResult(this.repoRoot, ['merge-base', '--is-ancestor', commit, ref]);
        if (r.exitCode !== 0) missing.push(commit);
      }
      return missing;
    });
  }

  /**
   * A clean worktree with the integration branch checked out (the user's checkout if it has
   * that branch, else `<sandbox>/.integration`, created if needed): where local CI runs.
   *
   * @example
   * const cwd = await ws.integrationPath();
   */
  async integrationPath(): Promise<string> {
    return this.serial(async () => (await this.integrationWorktree()).path);
  }

  /**
   * Runs `fn` in a checkout of exactly `ref` (a merged integration commit) kept for CI at
   * `<sandbox>/.ci`, detached, so later merges into the integration branch cannot change
   * the tree under a running CI command. One CI run at a time; files CI leaves that git
   * ignores (dependencies, caches) stay for the next run, everything else is reset.
   *
   * @example
   * const result = await ws.inCiCheckout(commit, (dir) => runCommand(ci.command, { cwd: dir }));
   */
  async inCiCheckout<T>(ref: string, fn: (dir: string) => Promise<T>): Promise<T> {
    const run = this.ciQueue.then(async () => fn(await this.serial(() => this.ciCheckout(ref))));
    this.ciQueue = run.catch(() => undefined);
    return run;
  }
  private ciQueue: Promise<unknown> = Promise.resolve();

  private ciCheckout(ref: string): Promise<string> {
    return this.worktreeSerial(() => this.ciCheckoutNow(ref));
  }

  private async ciCheckoutNow(ref: string): Promise<string> {
    const dir = path.join(this.sandboxDir, CI_WORKTREE);
    const entry = (await listWorktrees(this.repoRoot)).find((w) => samePath(w.path, dir));
    if (entry && (await this.isUsable(entry))) {
      await clearStaleGitLocks(dir, this.onStaleLockRemoved);
      await git(dir, ['checkout', '-q', '--detach', '--force', ref]);
      await git(dir, ['clean', '-q', '-f', '-d']);
      return dir;
    }
    if (entry || fs.existsSync(dir)) await this.dropWorktree(dir);
    ensureGitignored(this.sandboxDir, SANDBOX_GITIGNORE);
    await git(this.repoRoot, ['worktree', 'add', '-q', '--detach', '--', dir, ref]);
    return dir;
  }

  /**
   * Creates the task's worktree, or reuses the existing worktree/branch (retry, crash recovery).
   * A best-of-N `lane` has its own (`<sandbox>/<task>+lane<k>` on `orch/<task>+lane<k>`).
   * Call it only when no agent runs in the workspace: a stale git lock left by a killed
   * agent's git command is removed (see `clearStaleGitLocks`; `GIT_LOCKED` when a live git
   * process may hold it).
   *
   * @example
   * const { path, created } = await ws.ensureWorkspace('T001');
   */
  async ensureWorkspace(taskId: string, lane?: number): Promise<TaskWorkspace> {
    const branch = taskBranch(taskId, lane);
    const wanted = this.pathFor(taskId, lane);
    // The common case, a first attempt: see `addFreshWorktree`. Through a remote a new branch
    // starts from the remote's head (`followRemote`), so everything stays in one queue there.
    if (this.remote === undefined && !fs.existsSync(wanted)) {
      const head = await this.addFreshWorktree(branch, wanted);
      if (head !== undefined) return { taskId, path: wanted, branch, created: true, head };
    }
    return this.worktreeStep(async () => {
      ensureGitignored(this.sandboxDir, SANDBOX_GITIGNORE);
      // Through a remote, a new task branch starts from the remote's integration head.
      if (this.remote !== undefined && !(await this.refExists(`refs/heads/${branch}`))) {
        await this.followRemote();
      }
      // A first attempt through a remote: one `git worktree add -b`. It fails, changing
      // nothing, when the branch or the path exists already; the checks below handle those.
      if (this.remote !== undefined && !fs.existsSync(wanted)) {
        const added = await gitResult(this.repoRoot, [
          'worktree',
          'add',
          '-q',
          '--no-track',
          '-b',
          branch,
          '--',
          wanted,
          `refs/heads/${this.integrationBranch}`,
        ]);
        if (added.exitCode === 0) {
          return { taskId, path: wanted, branch, created: true, head: await this.branchHead(branch, wanted) };
        }
      }
      let worktrees = await listWorktrees(this.repoRoot);
      const onBranch = worktrees.find((w) => w.branch === `refs/heads/${branch}`);
      if (onBranch && (await this.isUsable(onBranch))) {
        if (!this.insideSandbox(onBranch.path)) {
          throw new WorkspaceConflictError(
            onBranch.path,
            `branch ${branch} is checked out there, outside the sandbox ${this.sandboxDir}`,
          );
        }
        await clearStaleGitLocks(onBranch.path, this.onStaleLockRemoved);
        const head = await this.head(onBranch.path);
        // Registered but never checked out (orch stopped between the two steps of
        // `addFreshWorktree`): git writes a worktree's index only when a checkout completes.
        if (!hasIndex(onBranch.path)) await this.checkOutNew(onBranch.path, head);
        return { taskId, path: onBranch.path, branch, created: false, head };
      }
      if (onBranch) {
        await this.dropWorktree(onBranch.path);
        worktrees = await listWorktrees(this.repoRoot);
      }
      const atPath = worktrees.find((w) => samePath(w.path, wanted));
      if (atPath && atPath.branch !== `refs/heads/${branch}`) {
        if (await this.isUsable(atPath)) {
          throw new WorkspaceConflictError(
            wanted,
            `it is a worktree of ${atPath.branch ?? 'a detached HEAD'}, not ${branch}`,
          );
        }
        await this.dropWorktree(wanted);
      }
      if (fs.existsSync(wanted)) {
        if (fs.readdirSync(wanted).length > 0)
          throw new WorkspaceConflictError(wanted, 'the directory exists and is not a git worktree');
        fs.rmdirSync(wanted);
      }
      const branchExists = await this.refExists(`refs/heads/${branch}`);
      if (branchExists) await git(this.repoRoot, ['worktree', 'add', '--', wanted, branch]);
      else
        await git(this.repoRoot, [
          'worktree',
          'add',
          '--no-track',
          '-b',
          branch,
          '--',
          wanted,
          `refs/heads/${this.integrationBranch}`,
        ]);
      return { taskId, path: wanted, branch, created: !branchExists, head: await this.head(wanted) };
    });
  }

  /**
   * A new task's worktree in three steps, of which only the middle one waits in the worktree
   * queue: (1) the branch, made with `git branch` (git updates a ref atomically, under its
   * own lock); (2) `git worktree add --no-checkout`, the registration, which concurrent adds
   * race on in git; (3) the checkout, the same `reset --hard --no-recurse-submodules` and
   * post-checkout hook that `git worktree add` runs itself, in the new worktree only. Tasks
   * starting together thus wait for each other's registrations (two git processes), not for
   * their checkouts and branches (three). Returns the branch head, or undefined when the
   * branch or the worktree could not be made (it exists already, say): the caller's full
   * path then deals with what is there.
   */
  private async addFreshWorktree(branch: string, wanted: string): Promise<string | undefined> {
    // git, not orch, writes the branch: a git process finishes its ref update even when orch is
    // killed, where an update made in orch's process could leave git's lock file behind.
    const made = await gitResult(this.repoRoot, [
      'branch',
      '-q',
      '--no-track',
      branch,
      `refs/heads/${this.integrationBranch}`,
    ]);
    if (made.exitCode !== 0) return undefined;
    const added = await this.worktreeSerial(async () => {
      ensureGitignored(this.sandboxDir, SANDBOX_GITIGNORE);
      return gitResult(this.repoRoot, ['worktree', 'add', '-q', '--no-checkout', '--', wanted, branch]);
    });
    if (added.exitCode !== 0) return undefined;
    const head = await this.branchHead(branch, wanted);
    await this.checkOutNew(wanted, head);
    return head;
  }

  /**
   * The checkout `git worktree add` does in a worktree it has just registered: `git reset
   * --hard --no-recurse-submodules` there (it honours a sparse-checkout that the add copied),
   * then the post-checkout hook with git's arguments for a new worktree (a null old head, the
   * new head, 1), when the repository has one. A hook's failure is not the task's: as with
   * `git worktree add`, the worktree stays.
   */
  private async checkOutNew(worktree: string, head: string): Promise<void> {
    await git(worktree, ['reset', '-q', '--hard', '--no-recurse-submodules']);
    this.hooksDir ??= path.resolve(
      this.repoRoot,
      (await git(this.repoRoot, ['rev-parse', '--git-path', 'hooks'])).trim(),
    );
    if (fs.existsSync(path.join(this.hooksDir, 'post-checkout'))) {
      await gitResult(worktree, [
        'hook',
        'run',
        '--ignore-missing',
        'post-checkout',
        '--',
        '0'.repeat(head.length),
        head,
        '1',
      ]);
    }
  }
  /** The repository's hooks folder (`core.hooksPath` or `.git/hooks`), looked up once. */
  private hooksDir: string | undefined;

  /**
   * Removes a task's worktree (its branch is kept unless `deleteBranch`).
   *
   * @example
   * await ws.removeWorkspace('T001', { deleteBranch: true });
   */
  async removeWorkspace(taskId: string, options: { deleteBranch?: boolean } = {}): Promise<void> {
    const branch = taskBranch(taskId);
    await this.worktreeStep(async () => {
      const entry = (await listWorktrees(this.repoRoot)).find((w) => w.branch === `refs/heads/${branch}`);
      if (entry && this.insideSandbox(entry.path)) await this.dropWorktree(entry.path);
      else if (fs.existsSync(this.pathFor(taskId))) await this.dropWorktree(this.pathFor(taskId));
      if (options.deleteBranch && (await this.refExists(`refs/heads/${branch}`))) {
        await git(this.repoRoot, ['branch', '-D', branch]);
      }
    });
  }

  /**
   * Merges `orch/<taskId>` (a best-of-N lane's `orch/<taskId>+lane<k>`) into the integration
   * branch with `--no-ff` and `message`.
   * On conflict the merge is aborted (the integration branch is never left conflicted) and
   * the conflicting files are returned; an already merged branch is not merged twice.
   *
   * @example
   * const r = await ws.mergeTask('T001', 'Merge T001');
   * if (r.status === 'conflict') console.log(r.files);
   */
  async mergeTask(
    taskId: string,
    message: string,
    lane?: number,
    guard?: { beforePush?: (head: string) => Promise<string | null> },
  ): Promise<MergeResult> {
    const branch = taskBranch(taskId, lane);
    return this.serial(async () => {
      try {
        if (this.remote !== undefined) {
          const remote = this.remote;
          // A crashed git's lock on the local branch would fail moving it after the push: removed when stale.
          clearStaleRefLock(this.repoRoot, this.commonDir, this.integrationBranch, this.onStaleLockRemoved);
          this.identity ??= await fallbackIdentity(this.repoRoot);
          return await mergeThroughRemote(this.repoRoot, {
            remote,
            into: this.integrationBranch,
            branch,
            message,
            identity: this.identity,
            head: () => this.remoteIntegrationHead(),
            adopt: (commit) => this.adoptIntegration(commit),
            ...(guard?.beforePush ? { beforePush: guard.beforePush } : {}),
          });
        }
        // No worktree has the integration branch: merge without a checkout (the common case,
        // orch's own runs). One has it (the user's checkout, or `integrationPath()`'s): merge
        // there, so its files follow the branch.
        if (this.integrationCheckedOut() === undefined) {
          // A crashed git's lock on the branch would make every merge fail: removed when stale.
          clearStaleRefLock(this.repoRoot, this.commonDir, this.integrationBranch, this.onStaleLockRemoved);
          this.identity ??= await fallbackIdentity(this.repoRoot);
          if (this.writer === undefined) {
            this.writer = await inProcessWriter(this.repoRoot, this.commonDir, this.identity);
          }
          const result = await mergeWithoutCheckout(
            this.repoRoot,
            this.integrationBranch,
            branch,
            message,
            this.identity,
            this.commonDir,
            this.writer,
          );
          if (result.status === 'merged' && result.onto !== undefined)
            this.ownMerges.set(result.commit, result.onto);
          return result;
        }
        return await mergeTaskBranch(this.repoRoot, await this.integrationWorktree(), branch, message);
      } catch (err) {
        // Whatever failed, the next merge checks the integration worktree from scratch.
        this.verifiedIntegration = null;
        throw err;
      }
    });
  }

  /**
   * A head of the integration branch and merge commits it is known to contain (see
   * {@link WorkspaceManager.missingFromIntegration}); null until a check found them all.
   */
  private contained: { head: string; commits: Set<string> } | null = null;

  /** Makes merge commits and moves the integration ref without git, where that is exact (see objects.ts); null: git does. */
  private writer: InProcessWriter | null | undefined;

  /** The merge commits this manager made without a checkout, each with the head it was made on. */
  private readonly ownMerges = new Map<string, string>();

  /** `-c user.*` for orch's merge commits (see {@link fallbackIdentity}), looked up at the first merge. */
  private identity: string[] | undefined;

  /**
   * The worktree that has the integration branch checked out, if any: read from the HEAD
   * files of the main worktree and of each linked one (`<common-dir>/worktrees/<name>/HEAD`),
   * the way git itself finds a checked-out branch, without starting a process.
   */
  private integrationCheckedOut(): string | undefined {
    const wanted = `ref: refs/heads/${this.integrationBranch}`;
    const heads = [path.join(this.commonDir, 'HEAD'), ...this.watchedWorktreeHeads()];
    for (const head of heads) {
      let text: string;
      try {
        text = fs.readFileSync(head, 'utf8');
      } catch {
        continue; // a worktree being created or removed
      }
      if (text.trim() === wanted) return path.dirname(head);
    }
    return undefined;
  }

  /**
   * The HEAD files of the linked worktrees that may have the integration branch checked out:
   * every one except orch's task worktrees (`<sandbox>/<task>`, where agents work on their task
   * branch). Worked out again only when a worktree is added or removed (the mtime of
   * `<common-dir>/worktrees` changes), so a merge reads a few files however many tasks the
   * plan has (reading every worktree's HEAD made merging quadratic in the plan's size).
   */
  private watchedWorktreeHeads(): string[] {
    const dir = path.join(this.commonDir, 'worktrees');
    let stamp = 'none';
    try {
      const st = fs.statSync(dir);
      stamp = `${st.mtimeMs}:${st.ino}`;
    } catch {
      // No linked worktrees.
    }
    if (this.watched?.stamp === stamp) return this.watched.heads;
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir);
    } catch {
      // No linked worktrees.
    }
    // Each worktree is classified once (its `gitdir` read once), not on every change.
    const sandbox = path.resolve(this.sandboxDir);
    const known = this.worktreeKinds;
    const present = new Set(names);
    for (const name of known.keys()) if (!present.has(name)) known.delete(name);
    const heads: string[] = [];
    for (const name of names) {
      let watch = known.get(name);
      if (watch === undefined) {
        let worktree: string | undefined;
        try {
          // `gitdir` holds the path of the worktree's `.git` file.
          worktree = path.dirname(fs.readFileSync(path.join(dir, name, 'gitdir'), 'utf8').trim());
        } catch {
          // Being created or removed: looked at, to be safe (and classified again next time).
        }
        const task =
          worktree !== undefined &&
          path.dirname(path.resolve(worktree)) === sandbox &&
          !path.basename(worktree).startsWith('.');
        watch = !task;
        if (worktree !== undefined) known.set(name, watch);
      }
      if (watch) heads.push(path.join(dir, name, 'HEAD'));
    }
    this.watched = { stamp, heads };
    return heads;
  }
  /** Per entry of `<common-dir>/worktrees`: whether its HEAD is looked at (not a task worktree). */
  private readonly worktreeKinds = new Map<string, boolean>();
  private watched: { stamp: string; heads: string[] } | undefined;

  /** The commit a branch points at: read from the ref files (refs.ts), else `git rev-parse` in `worktree`. */
  private async branchHead(branch: string, worktree: string): Promise<string> {
    const oid = readRef(this.commonDir, `refs/heads/${branch}`);
    if (oid) return oid;
    return this.head(worktree);
  }

  /**
   * Number of commits on the task branch that the integration branch does not have.
   *
   * @example
   * if ((await ws.commitsAhead('T001')) === 0) console.log('the agent committed nothing');
   */
  async commitsAhead(taskId: string): Promise<number> {
    const out = await git(this.repoRoot, [
      'rev-list',
      '--count',
      `refs/heads/${this.integrationBranch}..refs/heads/${taskBranch(taskId)}`,
    ]);
    return Number(out.trim());
  }

  /** The worktree where merges into the integration branch happen, checked clean. */
  private async integrationWorktree(): Promise<{ path: string; owned: boolean }> {
    // Checked once per process (a crash's half-done merge is rolled back then); later merges,
    // which leave it clean or abort themselves, only check that nobody dirtied it meanwhile.
    // A crashed git's lock there would fail the merge: removed when provably stale, else GIT_LOCKED.
    const known = this.verifiedIntegration;
    if (known !== null && fs.existsSync(known.path)) {
      await clearStaleGitLocks(known.path, this.onStaleLockRemoved);
      await this.assertClean(known.path);
      return known;
    }
    const found = await this.findIntegrationWorktree();
    this.verifiedIntegration = found;
    return found;
  }
  private verifiedIntegration: { path: string; owned: boolean } | null = null;

  private findIntegrationWorktree(): Promise<{ path: string; owned: boolean }> {
    return this.worktreeSerial(() => this.findIntegrationWorktreeNow());
  }

  private async findIntegrationWorktreeNow(): Promise<{ path: string; owned: boolean }> {
    const ref = `refs/heads/${this.integrationBranch}`;
    const own = path.join(this.sandboxDir, INTEGRATION_WORKTREE);
    const entry = (await listWorktrees(this.repoRoot)).find((w) => w.branch === ref);
    if (entry && (await this.isUsable(entry))) {
      const owned = samePath(entry.path, own);
      await clearStaleGitLocks(entry.path, this.onStaleLockRemoved);
      if (owned) await recoverOwnWorktree(entry.path);
      await this.assertClean(entry.path);
      return { path: entry.path, owned };
    }
    if (entry) await this.dropWorktree(entry.path);
    const stale = (await listWorktrees(this.repoRoot)).find((w) => samePath(w.path, own));
    if (stale || fs.existsSync(own)) await this.dropWorktree(own);
    ensureGitignored(this.sandboxDir, SANDBOX_GITIGNORE);
    await git(this.repoRoot, ['worktree', 'add', '--', own, this.integrationBranch]);
    return { path: own, owned: true };
  }

  private async prepare(): Promise<void> {
    const hasHead = await this.refExists('HEAD');
    const anyBranch = (
      await git(this.repoRoot, ['for-each-ref', '--count=1', '--format=%(refname)', 'refs/heads'])
    ).trim();
    if (!hasHead && anyBranch === '') throw new NoCommitsError(this.repoRoot);
    await git(this.repoRoot, ['worktree', 'prune']);
    // Through a remote: its integration branch (made there when missing) is the local one.
    if (this.remote !== undefined) await this.followRemote();
    if (!(await this.refExists(`refs/heads/${this.integrationBranch}`))) {
      if (!(await this.refExists(`refs/heads/${this.baseBranch}`))) {
        const branches = (
          await git(this.repoRoot, ['for-each-ref', '--format=%(refname:short)', 'refs/heads'])
        ).split('\n');
        throw new BaseBranchNotFoundError(
          this.baseBranch,
          this.repoRoot,
          branches.filter((b) => b !== ''),
        );
      }
      await git(this.repoRoot, [
        'branch',
        '--no-track',
        this.integrationBranch,
        `refs/heads/${this.baseBranch}`,
      ]);
    }
    const entry = (await listWorktrees(this.repoRoot)).find(
      (w) => w.branch === `refs/heads/${this.integrationBranch}`,
    );
    if (entry && samePath(entry.path, path.join(this.sandboxDir, INTEGRATION_WORKTREE))) {
      // orch's own checkout of the integration branch (made by earlier versions for their
      // merges, or by integrationPath()) holds nothing but merges, a crash's half-done one at
      // most: removed, so that merges need no checkout.
      await this.dropWorktree(entry.path);
    } else if (entry && (await this.isUsable(entry))) {
      await clearStaleGitLocks(entry.path, this.onStaleLockRemoved);
      await this.assertClean(entry.path);
    }
    ensureGitignored(this.sandboxDir, SANDBOX_GITIGNORE);
  }

  /**
   * Makes `branch` (a milestone branch) exist locally and on the remote: the remote's when
   * it has one already (made by another worker or an earlier run), else made here from the
   * remote's integration head and pushed only if still absent there (two workers at once:
   * one push wins, the other takes it). Without a remote: made locally from the integration
   * branch when missing.
   *
   * @example
   * await ws.publishBranch('milestone/M1');
   */
  async publishBranch(branch: string): Promise<void> {
    await this.serial(async () => {
      const ref = `refs/heads/${branch}`;
      if (this.remote === undefined) {
        if (!(await this.refExists(ref)))
          await git(this.repoRoot, [
            'branch',
            '--no-track',
            '--',
            branch,
            `refs/heads/${this.integrationBranch}`,
          ]);
        return;
      }
      const remote = this.remote;
      await this.followRemote();
      for (let attempt = 1; attempt <= 5; attempt++) {
        const there = await fetchBranch(this.repoRoot, remote, branch);
        if (there !== null) {
          if (!(await this.refExists(ref))) await git(this.repoRoot, ['update-ref', ref, there, '']);
          return;
        }
        if (!(await this.refExists(ref)))
          await git(this.repoRoot, [
            'branch',
            '--no-track',
            '--',
            branch,
            `refs/heads/${this.integrationBranch}`,
          ]);
        const local = (await git(this.repoRoot, ['rev-parse', '--verify', `${ref}^{commit}`])).trim();
        const pushed = await pushBranch(this.repoRoot, remote, local, branch, null);
        if (pushed.status === 'pushed') return;
      }
      throw new RemoteGitError(remote, `pushing ${branch}`, 'the push was refused 5 times in a row');
    });
  }

  /**
   * The remote's integration head, fetched; when the remote has no integration branch yet it
   * is made there (race-safe, see `ensureRemoteBranch`) from the local integration branch
   * (moved first to the remote's base branch when that only adds commits), or from the
   * remote's base branch when there is no local one, else the local base branch.
   */
  private async remoteIntegrationHead(): Promise<string> {
    const remote = this.remote!;
    return ensureRemoteBranch(this.repoRoot, remote, this.integrationBranch, async () => {
      const remoteBase = await fetchBranch(this.repoRoot, remote, this.baseBranch);
      const local = await gitResult(this.repoRoot, [
        'rev-parse',
        '--verify',
        '-q',
        `refs/heads/${this.integrationBranch}^{commit}`,
      ]);
      if (local.exitCode === 0) {
        const head = local.stdout.trim();
        if (remoteBase === null) return head;
        const behind = await gitResult(this.repoRoot, ['merge-base', '--is-ancestor', head, remoteBase]);
        return behind.exitCode === 0 ? remoteBase : head;
      }
      if (remoteBase !== null) return remoteBase;
      const base = await gitResult(this.repoRoot, [
        'rev-parse',
        '--verify',
        '-q',
        `refs/heads/${this.baseBranch}^{commit}`,
      ]);
      if (base.exitCode !== 0) {
        const branches = (
          await git(this.repoRoot, ['for-each-ref', '--format=%(refname:short)', 'refs/heads'])
        ).split('\n');
        throw new BaseBranchNotFoundError(
          this.baseBranch,
          this.repoRoot,
          branches.filter((b) => b !== ''),
        );
      }
      return base.stdout.trim();
    });
  }

  /** Fetches the remote's integration head and moves the local integration branch to it. */
  private async followRemote(): Promise<void> {
    await this.adoptIntegration(await this.remoteIntegrationHead());
  }

  /**
   * Moves the local integration branch to `commit` (a commit of the remote's integration
   * branch): made when missing, fast-forwarded when behind (in the worktree that has it
   * checked out, if one does, so its files follow), left alone when already there.
   * `INTEGRATION_DIVERGED` when it has commits `commit` does not contain: never dropped.
   */
  private async adoptIntegration(commit: string): Promise<void> {
    const ref = `refs/heads/${this.integrationBranch}`;
    const local = await gitResult(this.repoRoot, ['rev-parse', '--verify', '-q', `${ref}^{commit}`]);
    if (local.exitCode !== 0) {
      await git(this.repoRoot, ['update-ref', '-m', `orch: from ${this.remote}`, ref, commit, '']);
      return;
    }
    const head = local.stdout.trim();
    if (head === commit) return;
    const behind = await gitResult(this.repoRoot, ['merge-base', '--is-ancestor', head, commit]);
    if (behind.exitCode !== 0) {
      throw new IntegrationDivergedError(this.integrationBranch, this.remote!, head, commit);
    }
    if (this.integrationCheckedOut() === undefined) {
      await git(this.repoRoot, [
        'update-ref',
        '-m',
        `orch: fast-forward to ${this.remote}`,
        ref,
        commit,
        head,
      ]);
      return;
    }
    const worktree = await this.integrationWorktree();
    await git(worktree.path, ['merge', '--ff-only', '-q', commit]);
  }

  private async assertClean(worktree: string): Promise<void> {
    // Untracked files (such as orch's own .state directory) do not get in a merge's way.
    const out = await git(worktree, ['status', '--porcelain', '-z', '--untracked-files=no']);
    const files = out
      .split('\0')
      .filter((l) => l.length > 3)
      .map((l) => l.slice(3));
    if (files.length > 0) throw new DirtyIntegrationBranchError(this.integrationBranch, worktree, files);
  }

  private async isUsable(entry: WorktreeEntry): Promise<boolean> {
    if (entry.prunable || !fs.existsSync(entry.path)) return false;
    return (await gitResult(entry.path, ['rev-parse', '--verify', '-q', 'HEAD'])).exitCode === 0;
  }

  /** Removes a (possibly half-created or locked) worktree inside the sandbox and its registration. */
  private async dropWorktree(worktree: string): Promise<void> {
    await gitResult(this.repoRoot, ['worktree', 'unlock', '--', worktree]);
    await gitResult(this.repoRoot, ['worktree', 'remove', '--force', '--force', '--', worktree]);
    if (fs.existsSync(worktree) && this.insideSandbox(worktree))
      fs.rmSync(worktree, { recursive: true, force: true });
    await git(this.repoRoot, ['worktree', 'prune']);
  }

  private insideSandbox(p: string): boolean {
    const rel = path.relative(canonicalDir(this.sandboxDir), canonicalDir(p));
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  }

  private async refExists(ref: string): Promise<boolean> {
    return (
      (await gitResult(this.repoRoot, ['rev-parse', '--verify', '-q', `${ref}^{commit}`])).exitCode === 0
    );
  }

  private async head(worktree: string): Promise<string> {
    return (await git(worktree, ['rev-parse', 'HEAD'])).trim();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Worktrees are made and removed one at a time (concurrent `git worktree add`s race in
   * git), but not behind merges: a merge moves only the integration ref and writes objects,
   * so a new task's worktree need not wait for the merges queued before it. A step of the
   * merge queue that makes a worktree (the integration or CI checkout) takes this queue
   * too, inside its own; this queue never waits for the merge queue. Through a remote
   * (`followRemote` moves the local integration branch) everything stays in one queue.
   */
  private worktreeSerial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.worktreeQueue.then(fn, fn);
    this.worktreeQueue = run.catch(() => undefined);
    return run;
  }
  private worktreeQueue: Promise<unknown> = Promise.resolve();

  /** A task worktree's creation or removal: its own queue locally, the one queue through a remote. */
  private worktreeStep<T>(fn: () => Promise<T>): Promise<T> {
    return this.remote === undefined ? this.worktreeSerial(fn) : this.serial(fn);
  }
}

/**
 * Whether a linked worktree has an index: git writes it when a checkout completes, so a
 * worktree registered with `--no-checkout` and never checked out has none.
 */
function hasIndex(worktree: string): boolean {
  try {
    const dotGit = path.join(worktree, '.git');
    if (fs.statSync(dotGit).isDirectory()) return fs.existsSync(path.join(dotGit, 'index'));
    const m = /^gitdir: (.+)$/m.exec(fs.readFileSync(dotGit, 'utf8'));
    return m?.[1] === undefined || fs.existsSync(path.join(path.resolve(worktree, m[1].trim()), 'index'));
  } catch {
    return true;
  }
}

/** In orch's own integration worktree a half-done merge (a crash mid-merge) is rolled back. */
async function recoverOwnWorktree(worktree: string): Promise<void> {
  if ((await gitResult(worktree, ['rev-parse', '--verify', '-q', 'MERGE_HEAD'])).exitCode === 0) {
    await gitResult(worktree, ['merge', '--abort']);
  }
  await git(worktree, ['reset', '--hard', '-q', 'HEAD']);
}

function canonicalDir(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}
