/** A plan problem as a warning lists it: where (`line` 0: the file as a whole) and what. */
export interface WarningProblem {
  file: string;
  line: number;
  message: string;
}

/**
 * Something a run noticed and went on from. `message` is one line or more, without a
 * prefix or a final newline; the CLI prints it as `orch: <message>` on stderr.
 *
 * - `PLAN_REVISION_REFUSED`: the plan files were edited while running and no longer make
 *   a valid plan; the run goes on with the last valid plan (also recorded in the log as
 *   `PlanRevisionRefused`).
 * - `PLAN_WRITE_BACK_FAILED`: statuses could not be written back into the plan files;
 *   the files are a view of the log, so the work goes on.
 * - `SNAPSHOT_IGNORED`: the state snapshot (a cache beside the log) could not be used
 *   (garbage in its row); the state was folded from the log instead, and the snapshot is
 *   rewritten when the run ends.
 * - `WORKSPACE_DELETED`: a task's worktree was deleted while its agent ran; the attempt
 *   is recorded as lost (`AgentLost` with the reason) and the retry gets the worktree
 *   recreated from the task's branch.
 * - `STALE_GIT_LOCK_REMOVED`: a git lock file (`index.lock`, `HEAD.lock`, a branch's lock) a
 *   crashed git left in one of orch's worktrees was removed: no live git process held it.
 * - `WORKER_LOST`: workers: this worker declared another one lost (its heartbeat stopped for
 *   `workerTimeout`); its agents were recorded lost and its tasks go to other workers.
 * - `HEARTBEAT_FAILED`: workers: this worker could not write its heartbeat (retried at the next beat).
 *
 * @example
 * new Orchestrator({ onWarning: (w) => console.warn(`${w.code}: ${w.message}`) });
 */
export type OrchestratorWarning =
  | { code: 'PLAN_REVISION_REFUSED'; message: string; problems: WarningProblem[] }
  | { code: 'PLAN_WRITE_BACK_FAILED'; message: string }
  | { code: 'PR_REVIEWS_FAILED'; message: string }
  | { code: 'SNAPSHOT_IGNORED'; message: string }
  | { code: 'WORKSPACE_DELETED'; message: string }
  | { code: 'STALE_GIT_LOCK_REMOVED'; message: string }
  | { code: 'WORKER_LOST'; message: string }
  | { code: 'HEARTBEAT_FAILED'; message: string };

/** Where the parts of a run send their warnings. */
export type WarningSink = (warning: OrchestratorWarning) => void;

/** How many warnings an orchestrator keeps for {@link WarningLog.list} (the most recent). */
export const KEPT_WARNINGS = 100;

/**
 * The warnings of one orchestrator: each is kept (the most recent {@link KEPT_WARNINGS})
 * and handed to the `onWarning` callback when there is one. Library code never prints.
 *
 * @example
 * const warnings = new WarningLog((w) => process.stderr.write(`orch: ${w.message}\n`));
 * warnings.warn({ code: 'PLAN_WRITE_BACK_FAILED', message: 'could not write statuses back into the plan: EACCES' });
 */
export class WarningLog {
  private readonly kept: OrchestratorWarning[] = [];

  constructor(private readonly onWarning?: WarningSink) {}

  /** Keeps the warning and passes it on. */
  readonly warn: WarningSink = (warning) => {
    this.kept.push(warning);
    if (this.kept.length > KEPT_WARNINGS) this.kept.shift();
    this.onWarning?.(warning);
  };

  /** The warnings kept, oldest first. */
  list(): OrchestratorWarning[] {
    return [...this.kept];
  }
}
