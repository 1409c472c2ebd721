import { OrchError } from '../../util/errors.js';

/**
 * Named errors raised by the runtime building blocks (agents, workspaces, merges, lease).
 * Each has a stable `code` for `--json` output; the CLI maps `exitCode` to the process
 * exit code (3 = refused because another orch holds the run).
 *
 * @example
 * throw new InvalidTaskIdError('', 'it is empty');
 */

/** A task id that cannot be made into a safe branch and path name. */
export class InvalidTaskIdError extends OrchError {
  constructor(id: string, reason: string) {
    super('INVALID_TASK_ID', `task id ${JSON.stringify(id)} cannot be used: ${reason}`, {
      hint: 'rename the task in the plan (ids are kept readable when they use letters, digits, ".", "_" and "-")',
      details: { taskId: id, reason },
    });
  }
}

/** `--repo` does not point into a git repository. */
export class NotAGitRepoError extends OrchError {
  constructor(dir: string, cause?: unknown) {
    super('NOT_A_GIT_REPO', `${dir} is not a git repository`, {
      hint: 'run orch inside a git repository (git init && git commit) or pass --repo DIR',
      cause,
      details: { dir },
    });
  }
}

/** The repository has no commit to branch from. */
export class NoCommitsError extends OrchError {
  constructor(dir: string) {
    super('NO_COMMITS', `the git repository at ${dir} has no commits yet`, {
      hint: 'make a first commit (git commit --allow-empty -m init) so orch can branch from it',
      details: { dir },
    });
  }
}

/** The configured base branch does not exist (and the integration branch must be made from it). */
export class BaseBranchNotFoundError extends OrchError {
  constructor(branch: string, dir: string, existing: string[]) {
    super('BASE_BRANCH_NOT_FOUND', `base branch "${branch}" does not exist in ${dir}`, {
      hint: `set "baseBranch" in orch.config.json to one of: ${existing.join(', ') || '(no branches)'}`,
      details: { branch, dir, existing },
    });
  }
}

/** A configured branch name git would not accept (or read as an option). */
export class InvalidBranchNameError extends OrchError {
  constructor(branch: string, key: string) {
    super('INVALID_BRANCH_NAME', `"${branch}" (config key ${key}) is not a valid git branch name`, {
      hint: `choose a plain branch name for ${key}, such as "integration"`,
      details: { branch, key },
    });
  }
}

/** The `remote` setting cannot be used (git would read it as an option, or it holds a control character). */
export class InvalidRemoteError extends OrchError {
  constructor(remote: string, reason: string) {
    super('CONFIG_INVALID', `remote: ${JSON.stringify(remote)} cannot be used as a git remote: ${reason}`, {
      hint: 'set "remote" in orch.config.json to a remote name from `git remote -v` (such as "origin") or a URL',
      details: { key: 'remote', remote, reason },
    });
  }
}

/** Fetching from or pushing to the configured `remote` failed (unreachable, no access, refused). */
export class RemoteGitError extends OrchError {
  constructor(remote: string, what: string, output: string) {
    super('REMOTE_FAILED', `${what} (remote ${remote}) failed: ${output.trim() || 'no output'}`, {
      hint: 'check the "remote" key in orch.config.json (a remote name from `git remote -v`, or a URL), the network and your credentials (`git fetch` by hand), then run orch spawn again',
      details: { remote, what },
    });
  }
}

/**
 * The local integration branch has commits the remote's integration branch does not: orch
 * neither drops them nor pushes them by itself.
 */
export class IntegrationDivergedError extends OrchError {
  constructor(branch: string, remote: string, local: string, remoteHead: string) {
    super(
      'INTEGRATION_DIVERGED',
      `the local branch ${branch} (${local.slice(0, 12)}) has commits that ${branch} on the remote ${remote} (${remoteHead.slice(0, 12)}) does not have; with "remote" set, every merge goes through the remote`,
      {
        hint: `push them first (\`git push ${remote} ${branch}\` once they are merged with the remote's), or reset the local branch to the remote's (\`git fetch ${remote} && git branch -f ${branch} ${remoteHead.slice(0, 12)}\`), then run orch spawn again`,
        details: { branch, remote, local, remoteHead },
      },
    );
  }
}

/** The integration branch has uncommitted changes in the worktree where it is checked out. */
export class DirtyIntegrationBranchError extends OrchError {
  constructor(branch: string, worktree: string, files: string[]) {
    const shown = files.slice(0, 5).join(', ') + (files.length > 5 ? `, … (${files.length} files)` : '');
    super(
      'DIRTY_INTEGRATION_BRANCH',
      `integration branch "${branch}" has uncommitted changes in ${worktree}: ${shown}`,
      {
        hint: `commit or stash the changes in ${worktree} before orch merges into "${branch}"`,
        details: { branch, worktree, files },
      },
    );
  }
}

/** The path meant for a task's worktree is taken by something else. */
export class WorkspaceConflictError extends OrchError {
  constructor(path: string, reason: string) {
    super('WORKSPACE_CONFLICT', `cannot use ${path} as a task workspace: ${reason}`, {
      hint: `move or delete ${path} (orch recreates the workspace from the task's branch)`,
      details: { path, reason },
    });
  }
}

/** A git lock file orch cannot prove stale: a live git process may hold it (see `src/runtime/git/locks.ts`). */
export class GitLockedError extends OrchError {
  constructor(lockFile: string, why: string) {
    super('GIT_LOCKED', `${lockFile} exists and may be in use: ${why}`, {
      hint: `wait for that git command to finish, then run orch again; if no git command is running there, delete ${lockFile} (a crashed git left it) and run orch again`,
      details: { lockFile },
    });
  }
}

/** A git command failed in a way orch does not handle itself. */
export class GitCommandError extends OrchError {
  constructor(args: readonly string[], dir: string, output: string, cause?: unknown) {
    super('GIT_FAILED', `git ${args.join(' ')} failed in ${dir}: ${output.trim() || 'no output'}`, {
      hint: 'fix the repository state shown above and run orch again',
      cause,
      details: { args: [...args], dir },
    });
  }
}

/** A merge failed for a reason other than conflicts (the merge was rolled back). */
export class MergeFailedError extends OrchError {
  constructor(branch: string, into: string, output: string, cause?: unknown) {
    super('MERGE_FAILED', `merging ${branch} into ${into} failed: ${output.trim() || 'no output'}`, {
      hint: `inspect the integration worktree and branch ${branch}, then retry the merge`,
      cause,
      details: { branch, into },
    });
  }
}

/** The agent command could not be started at all (not found, not executable, bad cwd). */
export class AgentSpawnError extends OrchError {
  constructor(command: string, cwd: string, reason: string, cause?: unknown) {
    super('AGENT_SPAWN_FAILED', `could not start agent command "${command}" in ${cwd}: ${reason}`, {
      hint: 'check the "agents" command in orch.config.json (argv[0] must be an executable on PATH or a path)',
      cause,
      details: { command, cwd },
    });
  }
}

/** Another live orch process holds the state directory's lease. */
export class LeaseHeldError extends OrchError {
  constructor(lockFile: string, holder: { pid: number; runId: string; host: string }) {
    super(
      'LEASE_HELD',
      `another orch process (pid ${holder.pid} on ${holder.host}, run ${holder.runId}) holds ${lockFile}`,
      {
        hint: `wait for that run to finish or stop it (kill ${holder.pid}); a lease left by a dead process on this host is taken over automatically, one from another host must be deleted by hand`,
        exitCode: 3,
        details: { lockFile, pid: holder.pid, runId: holder.runId, host: holder.host },
      },
    );
  }
}

/** The lease file could not be read or written. */
export class LeaseError extends OrchError {
  constructor(lockFile: string, reason: string, cause?: unknown) {
    super('LEASE_FAILED', `cannot take the lease ${lockFile}: ${reason}`, {
      hint: 'check that the state directory is writable',
      cause,
      details: { lockFile },
    });
  }
}
