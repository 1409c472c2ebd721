import { OrchError } from '../../util/errors.js';

/**
 * A failure of the orchestrator itself (not started, unknown task, timeout, no progress),
 * as opposed to a plan, store or agent error.
 *
 * @example
 * throw new OrchestratorError('UNKNOWN_TASK', 'there is no task "T9" in the plan', { hint: 'see `orch plan`' });
 */
export class OrchestratorError extends OrchError {}
