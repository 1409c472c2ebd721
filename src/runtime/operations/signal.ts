import { streamIds } from '../../core/events.js';
import { getOwn } from '../../core/record.js';
import {
  blockedOn,
  judgeBreakpoint,
  judgeCancel,
  judgeRetry,
  judgeUnblock,
} from '../../core/signal-judgement.js';
import type { OrchState } from '../../core/state.js';
import type { EventStore } from '../../store/event-store.js';
import { OrchError } from '../../util/errors.js';
import { handleCommand } from '../log/handle-command.js';
import { openLog } from '../log/open.js';
import { SignalRejectedError, UsageError } from './errors.js';

/**
 * `orch signal`: an agent reports a breakpoint, or a person releases, cancels or retries a task.
 * Each request is judged against the log (`core/signal-judgement.ts`) and recorded through
 * `handleCommand`. A report from anything but the current, live spawn of a task is recorded
 * as `SignalRejected` (on the task's stream, when the task is known) and refused.
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
  /** The way the request came in (`mcp` for `orch mcp`), kept as `metadata.via`. */
  via?: string;
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

/** A person cancelling a task (`orch signal cancel --task ID`). */
export interface CancelRequest {
  taskId: string;
  /** Why, kept as the event's reason. */
  summary?: string;
  /** The way the request came in (`mcp` for `orch mcp`), kept as `metadata.via`. */
  via?: string;
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

/** A person releasing a task blocked on a person (`orch signal unblock --task ID`). */
export interface UnblockRequest {
  taskId: string;
  /** What the person did or decided, kept in the event's metadata. */
  summary?: string;
  /** The way the request came in (`mcp` for `orch mcp`), kept as `metadata.via`. */
  via?: string;
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

/** A person retrying a task that failed for good (`orch signal retry --task ID`). */
export interface RetryRequest {
  taskId: string;
  /** Why, kept as the event's reason. */
  summary?: string;
  /** The way the request came in (`mcp` for `orch mcp`), kept as `metadata.via`. */
  via?: string;
}

/** A recorded retry. */
export interface RetryOutcome {
  position: number;
  streamId: string;
  taskId: string;
  kind: 'retry';
  /** The attempts the task had had (its next spawn is attempt `attempts + 1`). */
  attempts: number;
  /** The last failure of those attempts, if one was recorded. */
  lastFailure: string | null;
}

/** What `orch signal KIND` asks, by kind. */
export type SignalCommand =
  | SignalRequest
  | (UnblockRequest & { kind: 'unblock' })
  | (CancelRequest & { kind: 'cancel' })
  | (RetryRequest & { kind: 'retry' });

/** What `orch signal` recorded: a report, a release, a cancellation or a retry (told apart by `kind`). */
export type SignalResult = SignalOutcome | UnblockOutcome | CancelOutcome | RetryOutcome;

/**
 * `orch signal`: opens the log of `stateDir` for writing (never creating it) and records
 * the report, release or cancellation.
 *
 * @example
 * orchSignal('/repo/.state', { kind: 'cancel', taskId: 'T007', summary: 'not needed after all' });
 */
export function orchSignal(stateDir: string, command: SignalCommand): SignalResult {
  const store = openLog(stateDir, { write: true });
  try {
    switch (command.kind) {
      case 'unblock':
        return unblockTask(store, request(command));
      case 'cancel':
        return cancelTask(store, request(command));
      case 'retry':
        return retryTask(store, request(command));
      default:
        return reportSignal(store, command);
    }
  } finally {
    store.close();
  }
}

function request(
  command: UnblockRequest | CancelRequest | RetryRequest,
): UnblockRequest & CancelRequest & RetryRequest {
  return {
    taskId: command.taskId,
    ...(command.summary === undefined ? {} : { summary: command.summary }),
    ...(command.via === undefined ? {} : { via: command.via }),
  };
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
  const { spawnId, kind } = request;
  return handleCommand(store, ({ state }) => {
    const verdict = judgeBreakpoint(state, request);
    const runId = request.runId ?? getOwn(state.agents, spawnId)?.runId ?? undefined;
    if (!verdict.accepted) {
      const { taskId, reason } = verdict;
      if (taskId === null) throw new SignalRejectedError(spawnId, reason, null);
      // A rejection is orch's judgement of what the agent sent: a fact, whatever came since.
      return {
        streamId: streamIds.task(taskId),
        type: 'SignalRejected',
        data: { spawnId, reason, kind },
        actor: 'orch',
        runId,
        correlationId: spawnId,
        extra: { reportedBy: `agent:${spawnId}`, ...viaOf(request) },
        expect: 'any',
        answer: (position) => {
          throw new SignalRejectedError(spawnId, reason, position);
        },
      };
    }
    const taskId = verdict.taskId;
    const on = kind === 'blocked' ? checkOn(state, request.on) : null;
    const streamId = streamIds.task(taskId);
    return {
      streamId,
      type: 'BreakpointReported',
      data: {
        spawnId,
        kind,
        ...(request.summary === undefined ? {} : { summary: request.summary }),
        ...(on === null ? {} : { on }),
        ...(request.url === undefined ? {} : { url: request.url }),
      },
      actor: `agent:${spawnId}`,
      runId,
      correlationId: spawnId,
      ...(request.via === undefined ? {} : { extra: viaOf(request) }),
      answer: (position) => ({ position, streamId, taskId, spawnId, kind, on }),
    };
  });
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

function checkOn(state: OrchState, on: readonly string[] | undefined): string[] {
  const checked = blockedOn(state, on);
  if (checked.unknown.length > 0) {
    throw new UsageError(
      `--on ${checked.unknown.join(', ')}: not ci, person, or a task of the plan`,
      'pass --on ci, --on person, or the ids of the tasks the work waits for',
    );
  }
  return checked.on;
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
  const { taskId } = request;
  return handleCommand(store, ({ state }) => {
    const verdict = judgeCancel(state, taskId);
    if (!verdict.accepted) {
      if (verdict.refusal === 'unknown-task') throw unknownTaskError(taskId);
      throw new OrchError('TASK_OVER', `task ${taskId} is already over (${verdict.status})`, {
        hint: 'only a task that is not complete, failed or cancelled can be cancelled',
        details: { taskId, status: verdict.status },
      });
    }
    const streamId = streamIds.task(taskId);
    return {
      streamId,
      type: 'TaskCancelled',
      data: { taskId, reason: request.summary ?? 'cancelled by a person' },
      actor: 'user',
      ...(request.via === undefined ? {} : { extra: viaOf(request) }),
      answer: (position) => ({ position, streamId, taskId, kind: 'cancel', was: verdict.was }),
    };
  });
}

function unknownTaskError(taskId: string): OrchError {
  return new OrchError('UNKNOWN_TASK', `there is no task ${JSON.stringify(taskId)} in the log's plan`, {
    hint: 'see `orch status` for the task ids',
    exitCode: 2,
  });
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
  const { taskId } = request;
  return handleCommand(store, ({ state }) => {
    const verdict = judgeUnblock(state, taskId);
    if (!verdict.accepted) {
      if (verdict.refusal === 'unknown-task') throw unknownTaskError(taskId);
      throw new OrchError('TASK_NOT_BLOCKED', `task ${taskId} is not blocked (it is ${verdict.status})`, {
        hint: `only a blocked task can be released; see \`orch log --task ${taskId}\``,
        details: { taskId, status: verdict.status },
      });
    }
    const streamId = streamIds.task(taskId);
    return {
      streamId,
      type: 'TaskUnblocked',
      data: { taskId, reason: 'person' },
      actor: 'user',
      ...(request.summary === undefined && request.via === undefined
        ? {}
        : {
            extra: {
              ...(request.summary === undefined ? {} : { summary: request.summary }),
              ...viaOf(request),
            },
          }),
      answer: (position) => ({
        position,
        streamId,
        taskId,
        kind: 'unblock',
        wasBlockedOn: verdict.wasBlockedOn,
      }),
    };
  });
}

/** `{ via }` for the event metadata, or nothing. */
function viaOf(request: { via?: string }): { via?: string } {
  return request.via === undefined ? {} : { via: request.via };
}

/**
 * Records that a person retries a task that failed for good (`TaskRetryRequested`, actor
 * `user`), with the task stream's version as read. The task goes back to `pending` with a
 * fresh allowance of `maxRetries + 1` attempts; the next `orch spawn` releases it once its
 * dependencies are complete and gives it a fresh agent (its attempt numbers go on). Refused
 * with nothing recorded for an unknown task or one that is not failed (a cancelled task
 * stays cancelled).
 *
 * @example
 * retryTask(store, { taskId: 'T005', summary: 'the flaky service is back' });
 */
export function retryTask(store: EventStore, request: RetryRequest): RetryOutcome {
  const { taskId } = request;
  return handleCommand(store, ({ state }) => {
    const verdict = judgeRetry(state, taskId);
    if (!verdict.accepted) {
      if (verdict.refusal === 'unknown-task') throw unknownTaskError(taskId);
      throw new OrchError('TASK_NOT_FAILED', `task ${taskId} has not failed (it is ${verdict.status})`, {
        hint: `only a task that failed for good can be retried; see \`orch log --task ${taskId}\``,
        details: { taskId, status: verdict.status },
      });
    }
    const streamId = streamIds.task(taskId);
    return {
      streamId,
      type: 'TaskRetryRequested',
      data: { taskId, reason: request.summary ?? 'retried by a person' },
      actor: 'user',
      answer: (position) => ({
        position,
        streamId,
        taskId,
        kind: 'retry',
        attempts: verdict.attempts,
        lastFailure: verdict.lastFailure,
      }),
    };
  });
}
