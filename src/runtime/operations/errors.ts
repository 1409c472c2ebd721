import { OrchError } from '../../util/errors.js';

/**
 * Named errors of the log's commands (`status`, `replay`, `log`, `signal`, `ci`). Each has a
 * stable `code` for `--json` output and exits 1.
 *
 * @example
 * throw new ReplayTargetError('--to 99 is beyond the end of the log (position 42)', 'pass --to 0..42');
 */

/**
 * `--to` / `--at` names a point the log does not have.
 *
 * @example
 * throw new ReplayTargetError('--to -1 is negative', 'pass a position from 0 to 42');
 */
export class ReplayTargetError extends OrchError {
  constructor(message: string, hint: string, details: Record<string, unknown> = {}) {
    super('REPLAY_TARGET_INVALID', message, { hint, details });
  }
}

/** One thing `orch replay --verify` found wrong. */
export interface VerifyProblem {
  /** `replayer-vs-pure`, `snapshot`, `status-cache`, `snapshot-versions`, or `invariant`. */
  check: string;
  /** Log position the problem is at. */
  position: number;
  /** One sentence naming the difference (a path in the state) or the violation. */
  message: string;
  /** The path in the state object of a difference. */
  path?: string;
  invariant?: string;
}

/**
 * `orch replay --verify` found a difference or an invariant violation.
 *
 * @example
 * if (problems.length > 0) throw new VerifyFailedError(problems, report.events);
 */
export class VerifyFailedError extends OrchError {
  readonly problems: readonly VerifyProblem[];

  constructor(problems: readonly VerifyProblem[], events: number) {
    const first = problems[0];
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem(s))` : '';
    super(
      'VERIFY_FAILED',
      `replay verification failed after ${events} events: ${first?.message ?? 'unknown problem'}${more}`,
      {
        hint: 'a cache difference is fixed by the next orch spawn (it rewrites the snapshot); an invariant violation or a fold difference is a bug: keep the log and report it',
        details: { events, problems },
      },
    );
    this.problems = problems;
  }
}

/**
 * `orch log --task ID` / `--spawn ID` named something the log has never seen.
 *
 * @example
 * throw new NothingFoundError('task', 'T999', ['T001', 'T002']);
 */
export class NothingFoundError extends OrchError {
  constructor(what: 'task' | 'spawn', id: string, known: readonly string[]) {
    const sample = known.slice(0, 10).join(', ');
    const list = known.length === 0 ? '' : ` (known: ${sample}${known.length > 10 ? ', …' : ''})`;
    super(
      what === 'task' ? 'TASK_NOT_FOUND' : 'SPAWN_NOT_FOUND',
      `nothing found for ${what} ${JSON.stringify(id)}: ${what === 'task' ? 'it is not in the plan and no event names it' : 'no event names it'}${list}`,
      {
        hint:
          what === 'task'
            ? 'check the id with orch status (task ids are case-sensitive)'
            : 'check the id with orch status or orch log --type AgentSpawnRequested',
        details: { [what === 'task' ? 'taskId' : 'spawnId']: id },
      },
    );
  }
}

/**
 * A flag combination the command cannot act on (nothing was written).
 *
 * @example
 * throw new UsageError('orch signal pr needs --url URL', 'pass --url https://…');
 */
export class UsageError extends OrchError {
  constructor(message: string, hint: string) {
    super('USAGE', message, { hint });
  }
}

/**
 * `orch signal` from a spawn that may not report (unknown, stale or no longer live).
 *
 * @example
 * throw new SignalRejectedError('s2', 'stale spawn: task T002 is on attempt 3 with spawn s4', 61);
 */
export class SignalRejectedError extends OrchError {
  constructor(spawnId: string, reason: string, recordedAt: number | null) {
    super('SIGNAL_REJECTED', `signal from spawn ${spawnId} rejected: ${reason}`, {
      hint:
        recordedAt === null
          ? 'nothing was recorded (no task is known for this spawn); check ORCH_SPAWN_ID / --spawn'
          : `recorded as SignalRejected at log position ${recordedAt}; only the current, live spawn of a task may report`,
      details: { spawnId, reason, position: recordedAt },
    });
  }
}

/**
 * `orch plan --draft`: no attempt of the planner produced a valid plan (`problems`: the
 * last attempt's, each at its `file:line`), or the planner could not be started.
 *
 * @example
 * throw new PlanDraftFailedError('the plan is still not valid after 3 attempt(s)', problems, hint);
 */
export class PlanDraftFailedError extends OrchError {
  readonly problems: { file: string; line: number; message: string }[];

  constructor(
    message: string,
    problems: { file: string; line: number; message: string }[],
    hint: string,
    details: Record<string, unknown> = {},
  ) {
    super('PLAN_DRAFT_FAILED', message, { hint, details: { ...details, problems } });
    this.problems = problems;
  }
}
