import {
  compileMachine,
  taskGuards,
  taskMachineSpec,
  type MachineState,
  type TaskContext,
  type TaskMachineEvent,
} from '../machines/index.js';
import { getOwn } from './record.js';
import { isLiveAgent, type OrchState } from './state.js';

/**
 * The judgement of what an agent or a person asks of a task from outside the loop: a
 * breakpoint report (`orch signal complete|blocked|pr`), a release (`orch signal unblock`)
 * a cancellation (`orch signal cancel`) and a retry of a failed task (`orch signal retry`). Pure: the state in, a verdict out; the
 * operations record what the verdict allows.
 *
 * The rules are the task machine's own: whether a report comes from the task's current
 * spawn is the machine's `isCurrentSpawn` guard, and whether a task can still be cancelled
 * or released is whether the machine takes `TaskCancelled` / `TaskUnblocked` in its state.
 */

/** The task machine as a table; `step` returns its input itself when no transition is enabled. */
const taskTable = compileMachine(taskMachineSpec);

/** The event the task machine would see if `type` were recorded now, for its guards. */
function candidate<E extends TaskMachineEvent>(state: OrchState, type: E['type'], data: E['data']): E {
  return { type, data, position: state.position + 1, recordedAt: state.updatedAt ?? '' } as E;
}

/** Whether the task machine takes `event` in the task's state (some transition is enabled). */
function machineTakes(task: MachineState<TaskContext>, event: TaskMachineEvent): boolean {
  return taskTable.step(task, event) !== task;
}

/** What an agent reports about its spawn. */
export interface BreakpointReport {
  spawnId: string;
  kind: 'complete' | 'blocked' | 'pr';
  /** The task the agent says it works on (`ORCH_TASK_ID`): where to record an unknown spawn. */
  taskHint?: string;
}

/**
 * Whether a spawn's report may be recorded. A rejection names the task whose stream records
 * it (null: no task is known for the spawn, nothing is recorded) and the reason.
 */
export type BreakpointVerdict =
  { accepted: true; taskId: string } | { accepted: false; taskId: string | null; reason: string };

/**
 * Judges a breakpoint report: only the current spawn of a task (the machine's
 * `isCurrentSpawn` guard) whose agent is still live (the fold ignores reports from any
 * other) may report. The reasons, in the order they are checked: an unknown spawn, a task
 * gone from the plan, a stale spawn, an agent no longer live.
 *
 * @example
 * judgeBreakpoint(state, { spawnId: 's2', kind: 'complete' });
 * // { accepted: false, taskId: 'T002', reason: 'stale spawn: task T002 is on attempt 3 with spawn s4' }
 */
export function judgeBreakpoint(state: OrchState, report: BreakpointReport): BreakpointVerdict {
  const agent = getOwn(state.agents, report.spawnId);
  if (agent === undefined) {
    // Recorded on the task the hint names, if the plan has it; otherwise nowhere.
    const hint = report.taskHint;
    const known = hint !== undefined && getOwn(state.tasks, hint) !== undefined;
    return {
      accepted: false,
      taskId: known ? hint : null,
      reason: 'unknown spawn (no agent with this spawn id was started)',
    };
  }
  const task = getOwn(state.tasks, agent.task);
  if (task === undefined) {
    return { accepted: false, taskId: agent.task, reason: `task ${agent.task} is no longer in the plan` };
  }
  const event = candidate(state, 'BreakpointReported', { spawnId: report.spawnId, kind: report.kind });
  if (!taskGuards.isCurrentSpawn(task.context, event)) {
    return {
      accepted: false,
      taskId: agent.task,
      reason: `stale spawn: task ${agent.task} is on attempt ${task.context.attempts} with spawn ${task.context.spawnId ?? '(none)'}`,
    };
  }
  if (!isLiveAgent(agent)) {
    const how =
      agent.status === 'exited'
        ? `exited${agent.exitCode === null ? '' : ` with code ${agent.exitCode}`}`
        : agent.status;
    return { accepted: false, taskId: agent.task, reason: `the agent is no longer live (${how})` };
  }
  return { accepted: true, taskId: agent.task };
}

/**
 * What a `blocked` report waits for: `--on` as given (trimmed), or `person` when empty, and
 * the entries that are neither `ci`, `person` nor a task of the plan.
 *
 * @example
 * blockedOn(state, ['ci', ' T001']); // { on: ['ci', 'T001'], unknown: [] }
 * blockedOn(state, undefined); // { on: ['person'], unknown: [] }
 */
export function blockedOn(
  state: OrchState,
  on: readonly string[] | undefined,
): { on: string[]; unknown: string[] } {
  const list = on === undefined || on.length === 0 ? ['person'] : on.map((x) => x.trim());
  const unknown = list.filter((x) => x !== 'ci' && x !== 'person' && getOwn(state.tasks, x) === undefined);
  return { on: list, unknown };
}

/** Whether a person may cancel a task; `was` is its state when cancelled. */
export type CancelVerdict =
  | { accepted: true; was: string }
  | { accepted: false; refusal: 'unknown-task' }
  | { accepted: false; refusal: 'task-over'; status: string };

/**
 * Judges `orch signal cancel`: the task must be in the plan, and its machine must take
 * `TaskCancelled` in its state (every state but `complete`, `failed` and `cancelled`).
 *
 * @example
 * judgeCancel(state, 'T004'); // { accepted: true, was: 'running' }
 * judgeCancel(state, 'T001'); // { accepted: false, refusal: 'task-over', status: 'complete' }
 */
export function judgeCancel(state: OrchState, taskId: string): CancelVerdict {
  const task = getOwn(state.tasks, taskId);
  if (task === undefined) return { accepted: false, refusal: 'unknown-task' };
  const event = candidate(state, 'TaskCancelled', { reason: 'cancelled by a person' });
  if (!machineTakes(task, event)) return { accepted: false, refusal: 'task-over', status: task.value };
  return { accepted: true, was: task.value };
}

/** Whether a person may release a task; `wasBlockedOn` is what it waited for. */
export type UnblockVerdict =
  | { accepted: true; wasBlockedOn: string[] }
  | { accepted: false; refusal: 'unknown-task' }
  | { accepted: false; refusal: 'not-blocked'; status: string };

/**
 * Judges `orch signal unblock`: the task must be in the plan and `blocked` (stopped by a
 * breakpoint), a state whose machine takes `TaskUnblocked`. A `pending` task takes it too,
 * but that release is orch's own, once its dependencies are complete.
 *
 * @example
 * judgeUnblock(state, 'T004'); // { accepted: true, wasBlockedOn: ['person'] }
 */
export function judgeUnblock(state: OrchState, taskId: string): UnblockVerdict {
  const task = getOwn(state.tasks, taskId);
  if (task === undefined) return { accepted: false, refusal: 'unknown-task' };
  const event = candidate(state, 'TaskUnblocked', { reason: 'person' });
  if (task.value !== 'blocked' || !machineTakes(task, event)) {
    return { accepted: false, refusal: 'not-blocked', status: task.value };
  }
  return { accepted: true, wasBlockedOn: [...(task.context.blockedOn ?? ['person'])] };
}

/** Whether a person may retry a task; `attempts` is how many it has had so far. */
export type RetryVerdict =
  | { accepted: true; attempts: number; lastFailure: string | null }
  | { accepted: false; refusal: 'unknown-task' }
  | { accepted: false; refusal: 'not-failed'; status: string };

/**
 * Judges `orch signal retry`: the task must be in the plan and `failed` (failed for good: its
 * retries used up, or failed by a person), the one state whose machine takes
 * `TaskRetryRequested`. A cancelled task stays cancelled; a task still in its loop is refused.
 *
 * @example
 * judgeRetry(state, 'T002'); // { accepted: true, attempts: 3, lastFailure: 'exit code 1' }
 * judgeRetry(state, 'T001'); // { accepted: false, refusal: 'not-failed', status: 'running' }
 */
export function judgeRetry(state: OrchState, taskId: string): RetryVerdict {
  const task = getOwn(state.tasks, taskId);
  if (task === undefined) return { accepted: false, refusal: 'unknown-task' };
  const event = candidate(state, 'TaskRetryRequested', {});
  if (task.value !== 'failed' || !machineTakes(task, event)) {
    return { accepted: false, refusal: 'not-failed', status: task.value };
  }
  return {
    accepted: true,
    attempts: task.context.attempts,
    lastFailure: task.context.lastFailure?.detail ?? null,
  };
}
