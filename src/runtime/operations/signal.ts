import { randomUUID } from 'node:crypto';
import type { EventMetadata } from '../../core/envelope.js';
import { parseEventData, streamIds, type OrchEventData } from '../../core/events.js';
import { getOwn } from '../../core/record.js';
import { isLiveAgent, type OrchState } from '../../core/state.js';
import { ConcurrencyError } from '../../store/errors.js';
import type { EventStore } from '../../store/event-store.js';
import { OrchError } from '../../util/errors.js';
import { SignalRejectedError, UsageError } from './errors.js';
import { loadState } from '../log/load-state.js';

/**
 * `orch signal`: an agent reports a breakpoint. The report is checked against the log:
 * only the current, live spawn of a task may report. Anything else is recorded as
 * `SignalRejected` (on the task's stream, when the task is known) and refused.
 */

/** The breakpoint kinds an agent reports. */
export type SignalKind = 'complete' | 'blocked' | 'pr';

/** What the agent reports. */
export interface SignalRequest {
  spawnId: string;
  kind: SignalKind;
  summary?: string;
  /** `blocked`: what it waits for: `ci`, `person` (the default) or task ids. */
  on?: readonly string[];
  /** `pr`: the pull request URL (required). */
  url?: string;
  /** `ORCH_TASK_ID`: where to record a rejection when the spawn is unknown. */
  taskHint?: string;
  /** `ORCH_RUN_ID`, for the event metadata. */
  runId?: string;
}

/** An accepted report. */
export interface SignalOutcome {
  position: number;
  streamId: string;
  taskId: string;
  spawnId: string;
  kind: SignalKind;
  on: string[] | null;
}

/**
 * Checks and records a report: appends `BreakpointReported` with the task stream's
 * version as read (so a report cannot race a newer spawn), re-checking once if the
 * stream moved on. Throws {@link SignalRejectedError} (after recording `SignalRejected`)
 * for an unknown, stale or finished spawn, and {@link UsageError} for bad input (nothing
 * recorded).
 *
 * @example
 * reportSignal(store, { spawnId: process.env.ORCH_SPAWN_ID!, kind: 'complete', summary: 'done' });
 */
export function reportSignal(store: EventStore, request: SignalRequest): SignalOutcome {
  checkInput(request);
  for (let attempt = 1; ; attempt++) {
    const { state, versions } = loadState(store);
    const verdict = judge(state, request);
    const runId = request.runId ?? getOwn(state.agents, request.spawnId)?.runId ?? undefined;
    if (verdict.reason !== null) reject(store, request, runId, verdict.taskId, verdict.reason);
    const taskId = verdict.taskId!;
    const on = request.kind === 'blocked' ? checkOn(state, request.on) : null;
    const data: OrchEventData<'BreakpointReported'> = parseEventData('BreakpointReported', {
      spawnId: request.spawnId,
      kind: request.kind,
      ...(request.summary === undefined ? {} : { summary: request.summary }),
      ...(on === null ? {} : { on }),
      ...(request.url === undefined ? {} : { url: request.url }),
    });
    const streamId = streamIds.task(taskId);
    const version = getOwn(versions, streamId) ?? 0;
    try {
      const result = store.append(
        streamId,
        [{ id: randomUUID(), type: 'BreakpointReported', data, metadata: metadata(request, runId, 'agent') }],
        { expectedVersion: version },
      );
      return {
        position: result.positions[0]!,
        streamId,
        taskId,
        spawnId: request.spawnId,
        kind: request.kind,
        on,
      };
    } catch (err) {
      // The task moved on while we looked (a new spawn, an exit): look again, once.
      if (!(err instanceof ConcurrencyError) || attempt >= 2) throw err;
    }
  }
}

function checkInput(request: SignalRequest): void {
  if (request.spawnId.trim() === '') {
    throw new UsageError(
      'no spawn id: pass --spawn ID or set ORCH_SPAWN_ID',
      'orch sets ORCH_SPAWN_ID for every agent it starts',
    );
  }
  if (request.kind === 'pr' && (request.url === undefined || request.url.trim() === '')) {
    throw new UsageError(
      'orch signal pr needs --url URL (the pull request the agent opened)',
      'pass --url https://…',
    );
  }
  if (request.kind !== 'blocked' && request.on !== undefined && request.on.length > 0) {
    throw new UsageError(
      `--on only applies to orch signal blocked, not ${request.kind}`,
      'drop --on, or signal blocked',
    );
  }
}

/** Why the spawn may not report (null reason: it may), and the task to record against. */
function judge(state: OrchState, request: SignalRequest): { taskId: string | null; reason: string | null } {
  const agent = getOwn(state.agents, request.spawnId);
  if (agent === undefined) {
    // Recorded on the task ORCH_TASK_ID names, if the plan has it; otherwise nowhere.
    const hint = request.taskHint;
    const known = hint !== undefined && getOwn(state.tasks, hint) !== undefined;
    return { taskId: known ? hint : null, reason: 'unknown spawn (no agent with this spawn id was started)' };
  }
  const task = getOwn(state.tasks, agent.task);
  if (task === undefined)
    return { taskId: agent.task, reason: `task ${agent.task} is no longer in the plan` };
  if (task.context.spawnId !== request.spawnId) {
    return {
      taskId: agent.task,
      reason: `stale spawn: task ${agent.task} is on attempt ${task.context.attempts} with spawn ${task.context.spawnId ?? '(none)'}`,
    };
  }
  if (!isLiveAgent(agent)) {
    const how =
      agent.status === 'exited'
        ? `exited${agent.exitCode === null ? '' : ` with code ${agent.exitCode}`}`
        : agent.status;
    return { taskId: agent.task, reason: `the agent is no longer live (${how})` };
  }
  return { taskId: agent.task, reason: null };
}

function checkOn(state: OrchState, on: readonly string[] | undefined): string[] {
  const list = on === undefined || on.length === 0 ? ['person'] : on.map((x) => x.trim());
  const unknown = list.filter((x) => x !== 'ci' && x !== 'person' && getOwn(state.tasks, x) === undefined);
  if (unknown.length > 0) {
    throw new UsageError(
      `--on ${unknown.join(', ')}: not ci, person, or a task of the plan`,
      'pass --on ci, --on person, or the ids of the tasks the work waits for',
    );
  }
  return list;
}

function metadata(request: SignalRequest, runId: string | undefined, as: 'agent' | 'orch'): EventMetadata {
  return {
    ...(runId === undefined || runId === '' ? {} : { runId }),
    actor: as === 'agent' ? `agent:${request.spawnId}` : 'orch',
    correlationId: request.spawnId,
    // A rejection is orch's judgement of what the agent sent.
    ...(as === 'orch' ? { reportedBy: `agent:${request.spawnId}` } : {}),
  };
}

function reject(
  store: EventStore,
  request: SignalRequest,
  runId: string | undefined,
  taskId: string | null,
  reason: string,
): never {
  if (taskId === null) throw new SignalRejectedError(request.spawnId, reason, null);
  const data = parseEventData('SignalRejected', { spawnId: request.spawnId, reason, kind: request.kind });
  const result = store.append(
    streamIds.task(taskId),
    [{ id: randomUUID(), type: 'SignalRejected', data, metadata: metadata(request, runId, 'orch') }],
    { expectedVersion: 'any' },
  );
  throw new SignalRejectedError(request.spawnId, reason, result.positions[0] ?? null);
}

/** A person cancelling a task (`orch signal cancel --task ID`). */
export interface CancelRequest {
  taskId: string;
  /** Why, kept as the event's reason. */
  summary?: string;
}

/** A recorded cancellation. */
export interface CancelOutcome {
  position: number;
  streamId: string;
  taskId: string;
  kind: 'cancel';
  /** The attempt loop's state when it was cancelled (`running`, `retryWait`, …). */
  was: string;
}

/**
 * Records that a person cancelled a task (`TaskCancelled`, actor `user`), with the task
 * stream's version as read. A running orchestrator stops the task's live agent when it sees
 * it; the task is then over (status `failed`, detail `cancelled`) and is never spawned again.
 * Refused with nothing recorded for an unknown task or one that is already over.
 *
 * @example
 * cancelTask(store, { taskId: 'T005', summary: 'not needed after all' });
 */
export function cancelTask(store: EventStore, request: CancelRequest): CancelOutcome {
  for (let attempt = 1; ; attempt++) {
    const { state, versions } = loadState(store);
    const task = getOwn(state.tasks, request.taskId);
    if (task === undefined) throw unknownTaskError(request.taskId);
    if (task.value === 'complete' || task.value === 'failed' || task.value === 'cancelled') {
      throw new OrchError('TASK_OVER', `task ${request.taskId} is already over (${task.value})`, {
        hint: 'only a task that is not complete, failed or cancelled can be cancelled',
        details: { taskId: request.taskId, status: task.value },
      });
    }
    const streamId = streamIds.task(request.taskId);
    const data = parseEventData('TaskCancelled', {
      taskId: request.taskId,
      reason: request.summary ?? 'cancelled by a person',
    });
    try {
      const result = store.append(
        streamId,
        [{ id: randomUUID(), type: 'TaskCancelled', data, metadata: { actor: 'user' } }],
        { expectedVersion: getOwn(versions, streamId) ?? 0 },
      );
      return {
        position: result.positions[0]!,
        streamId,
        taskId: request.taskId,
        kind: 'cancel',
        was: task.value,
      };
    } catch (err) {
      if (!(err instanceof ConcurrencyError) || attempt >= 2) throw err;
    }
  }
}

function unknownTaskError(taskId: string): OrchError {
  return new OrchError('UNKNOWN_TASK', `there is no task ${JSON.stringify(taskId)} in the log's plan`, {
    hint: 'see `orch status` for the task ids',
    exitCode: 2,
  });
}

/** A person releasing a task blocked on a person (`orch signal unblock --task ID`). */
export interface UnblockRequest {
  taskId: string;
  /** What the person did or decided, kept in the event's metadata. */
  summary?: string;
}

/** A recorded release. */
export interface UnblockOutcome {
  position: number;
  streamId: string;
  taskId: string;
  kind: 'unblock';
  /** What the task had waited for. */
  wasBlockedOn: string[];
}

/**
 * Records that a person released a blocked task (`TaskUnblocked`, reason `person`, actor
 * `user`), with the task stream's version as read, so the release cannot race another change
 * of the task. The next decision spawns a fresh agent for it (once its blocked agent has
 * exited). Refused with nothing recorded for an unknown task or one that is not blocked.
 *
 * @example
 * unblockTask(store, { taskId: 'T005', summary: 'API key added to the vault' });
 */
export function unblockTask(store: EventStore, request: UnblockRequest): UnblockOutcome {
  for (let attempt = 1; ; attempt++) {
    const { state, versions } = loadState(store);
    const task = getOwn(state.tasks, request.taskId);
    if (task === undefined) throw unknownTaskError(request.taskId);
    if (task.value !== 'blocked') {
      throw new OrchError('TASK_NOT_BLOCKED', `task ${request.taskId} is not blocked (it is ${task.value})`, {
        hint: 'only a blocked task can be released; see `orch log --task ' + request.taskId + '`',
        details: { taskId: request.taskId, status: task.value },
      });
    }
    const streamId = streamIds.task(request.taskId);
    const data = parseEventData('TaskUnblocked', { taskId: request.taskId, reason: 'person' });
    const metadata: EventMetadata = {
      actor: 'user',
      ...(request.summary === undefined ? {} : { summary: request.summary }),
    };
    try {
      const result = store.append(streamId, [{ id: randomUUID(), type: 'TaskUnblocked', data, metadata }], {
        expectedVersion: getOwn(versions, streamId) ?? 0,
      });
      return {
        position: result.positions[0]!,
        streamId,
        taskId: request.taskId,
        kind: 'unblock',
        wasBlockedOn: [...(task.context.blockedOn ?? ['person'])],
      };
    } catch (err) {
      // The task changed while we looked: look again, once.
      if (!(err instanceof ConcurrencyError) || attempt >= 2) throw err;
    }
  }
}
