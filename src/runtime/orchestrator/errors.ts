import { unknownTaskProblem, type SelectionProblem } from '../../core/selection.js';
import { OrchError } from '../../util/errors.js';

/**
 * A failure of the orchestrator itself (not started, unknown task, timeout, no progress),
 * as opposed to a plan, store or agent error.
 *
 * @example
 * throw new OrchestratorError('UNKNOWN_TASK', 'there is no task "T9" in the plan', { hint: 'see `orch plan`' });
 */
export class OrchestratorError extends OrchError {}

/**
 * The error of a task selection that does not fit the plan (its code is the problem's).
 *
 * @example
 * throw selectionError({ code: 'UNKNOWN_ROLE', message: 'no task of the plan has the role qa', hint });
 */
export function selectionError(problem: SelectionProblem): OrchestratorError {
  return new OrchestratorError(problem.code, problem.message, { hint: problem.hint });
}

/**
 * `UNKNOWN_TASK`: the plan has no task with this id.
 *
 * @example
 * throw unknownTaskError('T9'); // there is no task "T9" in the plan
 */
export function unknownTaskError(id: string): OrchestratorError {
  return selectionError(unknownTaskProblem(id));
}

/**
 * `NOT_STARTED`: a method that needs a started orchestrator was called before `start()`.
 *
 * @example
 * throw notStartedError('status');
 */
export function notStartedError(what: string): OrchestratorError {
  return new OrchestratorError('NOT_STARTED', `${what}() needs a started orchestrator`, {
    hint: 'call start() or run() first',
  });
}
