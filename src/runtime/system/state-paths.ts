import fs from 'node:fs';
import path from 'node:path';
import { encodeTaskId } from './safe-id.js';

/**
 * Where runtime files live under the state directory (`<repo>/.state` by default).
 * Task ids are encoded with {@link encodeTaskId} so they cannot escape the directory.
 */

/**
 * `<state-dir>/logs/<task>/<attempt>.log`: everything an attempt printed; a best-of-N lane's
 * is `<attempt>.lane<k>.log`.
 *
 * @example
 * agentLogPath('/repo/.state', 'T001', 2); // '/repo/.state/logs/T001/2.log'
 * agentLogPath('/repo/.state', 'T001', 2, 3); // '/repo/.state/logs/T001/2.lane3.log'
 */
export function agentLogPath(stateDir: string, taskId: string, attempt: number, lane?: number): string {
  return path.join(stateDir, 'logs', encodeTaskId(taskId), `${attempt}${laneSuffix(lane)}.log`);
}

/** `.lane<k>` for a best-of-N lane, '' otherwise. */
const laneSuffix = (lane: number | undefined) => (lane === undefined ? '' : `.lane${lane}`);

/**
 * `<state-dir>/prompts/<task>/<attempt>.md`: the prompt an attempt was given (`{promptFile}`).
 *
 * @example
 * promptFilePath('/repo/.state', 'T001', 1); // '/repo/.state/prompts/T001/1.md'
 */
export function promptFilePath(stateDir: string, taskId: string, attempt: number, lane?: number): string {
  return path.join(stateDir, 'prompts', encodeTaskId(taskId), `${attempt}${laneSuffix(lane)}.md`);
}

/**
 * `<state-dir>/orch.lock`: the lease naming the orch process that owns the state directory.
 *
 * @example
 * leaseFilePath('/repo/.state'); // '/repo/.state/orch.lock'
 */
export function leaseFilePath(stateDir: string): string {
  return path.join(stateDir, 'orch.lock');
}

/**
 * The `.gitignore` orch writes into the state directory: every runtime file (the event log,
 * the lease, agent logs, prompts, pull-request notes, task worktrees) stays out of
 * `git status` and out of a habitual `git add -A`; only a plan kept in `plans/` (format A's
 * default place) stays visible to git.
 */
export const STATE_DIR_GITIGNORE = `# Written by orch: its runtime files (the event log, agent logs, prompts, worktrees)
# are not part of the repository. A plan in plans/ is.
*
!/plans/
!/plans/**
`;

/**
 * The `.gitignore` orch writes into a sandbox directory configured outside the state
 * directory: the task worktrees are git checkouts of their own, never content to commit.
 */
export const SANDBOX_GITIGNORE = `# Written by orch: task worktrees, not part of the repository.
*
`;

/**
 * Creates `dir` (and its parents) if needed and writes `content` as its `.gitignore` unless
 * one is already there (a person's own is never overwritten). Returns whether it wrote one.
 *
 * @example
 * ensureGitignored('/repo/.state', STATE_DIR_GITIGNORE); // true the first time, then false
 */
export function ensureGitignored(dir: string, content: string): boolean {
  fs.mkdirSync(dir, { recursive: true });
  try {
    fs.writeFileSync(path.join(dir, '.gitignore'), content, { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * Makes the state directory ready for runtime files: creates it and its `.gitignore`
 * ({@link STATE_DIR_GITIGNORE}). Every path that creates runtime files calls it first (the
 * lease, the log opened for writing, `orch init`), so the first command that writes
 * anything keeps it out of git.
 *
 * @example
 * prepareStateDir('/repo/.state');
 */
export function prepareStateDir(stateDir: string): void {
  ensureGitignored(stateDir, STATE_DIR_GITIGNORE);
}
