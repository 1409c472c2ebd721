import { AttemptFold, taskHistory } from '../../core/attempt-history.js';
import type { TaskHistory } from '../../core/attempt-history.js';
import type { RecordedEvent } from '../../core/envelope.js';
import { EVENT_SCHEMAS, isOrchEventType, ORCH_EVENT_TYPES, streamIds } from '../../core/events.js';
import type { EventStore } from '../../store/event-store.js';
import { NothingFoundError, UsageError } from './errors.js';
import { loadState, openLog } from '../log/load-state.js';
import { parseCount } from './replay.js';

/**
 * The audit trail of `orch log`: events in position order, filtered by task, spawn, type
 * and position. Ids are only compared with event fields, never used as paths; reads are
 * paged, so a long log is never held in memory.
 */

/** Filters of `orch log` (all optional; together they narrow). */
export interface LogFilters {
  /** Events of stream `task-<task>`. */
  task?: string;
  /** Events whose data names this spawn. */
  spawn?: string;
  /** Only these event types (catalog names). */
  types?: readonly string[];
  /** Events at or after this position. */
  since?: number;
}

/** What `orch log` is asked: the filters, `since` as given on the command line. */
export interface LogRequest {
  stateDir: string;
  task?: string;
  spawn?: string;
  types?: readonly string[];
  /** A log position (a whole number), checked once the log is open. */
  since?: string;
}

/** The audit trail of `orch log`, read as it is listed; close it when done. */
export interface LogListing {
  /**
   * The matching events in position order, read lazily (a long log is never held in
   * memory). Iterating throws {@link NothingFoundError} or {@link UsageError} as
   * {@link filteredEvents} does, before yielding anything.
   */
  events: Iterable<RecordedEvent>;
  /** With a task filter: the task's attempts, folded once (read when called); else null. */
  story(): TaskHistory | null;
  /** Closes the log. */
  close(): void;
}

/**
 * Opens the log of `stateDir` (read-only) for `orch log`.
 *
 * @example
 * const listing = orchLog({ stateDir: '/repo/.state', task: 'T003' });
 * try { for (const e of listing.events) console.log(e.type); } finally { listing.close(); }
 */
export function orchLog(request: LogRequest): LogListing {
  const store = openLog(request.stateDir);
  try {
    const filters: LogFilters = {
      ...(request.task === undefined ? {} : { task: request.task }),
      ...(request.spawn === undefined ? {} : { spawn: request.spawn }),
      ...(request.types === undefined ? {} : { types: request.types }),
      ...(request.since === undefined ? {} : { since: parseCount(request.since, '--since') }),
    };
    const task = request.task;
    return {
      events: { [Symbol.iterator]: () => filteredEvents(store, filters) },
      story: () => (task === undefined ? null : readTaskHistory(store, task)),
      close: () => store.close(),
    };
  } catch (err) {
    store.close();
    throw err;
  }
}

/** Event types whose data carries a `spawnId` (where a spawn can be named). */
const SPAWN_TYPES: readonly string[] = ORCH_EVENT_TYPES.filter(
  (type) => 'spawnId' in EVENT_SCHEMAS[type].shape,
);

/**
 * Checks `--type` names against the event catalog.
 *
 * @example
 * checkTypes(['AgentExited']);
 */
export function checkTypes(types: readonly string[]): void {
  const unknown = types.filter((t) => !isOrchEventType(t));
  if (unknown.length > 0) {
    throw new UsageError(
      `unknown event type${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`,
      `event types are: ${ORCH_EVENT_TYPES.join(', ')}`,
    );
  }
}

/**
 * The events matching `filters`, in position order, read lazily. A task that is neither
 * in the plan nor in any event, or a spawn no event names, throws {@link NothingFoundError}
 * (for a spawn, once the scan found nothing: no event was yielded before).
 *
 * @example
 * for (const e of filteredEvents(store, { task: 'T1', types: ['AgentExited'] })) console.log(e.position);
 */
export function* filteredEvents(store: EventStore, filters: LogFilters): Generator<RecordedEvent> {
  if (filters.types !== undefined) checkTypes(filters.types);
  const since = filters.since ?? 1;
  const typeSet = filters.types === undefined ? null : new Set(filters.types);
  const keep = (e: RecordedEvent) => e.position >= since && (typeSet === null || typeSet.has(e.type));
  const namesSpawn = (e: RecordedEvent) => filters.spawn === undefined || spawnOf(e) === filters.spawn;

  if (filters.task !== undefined) {
    const streamId = streamIds.task(filters.task);
    if (store.streamVersion(streamId) === 0) {
      assertKnownTask(store, filters.task);
      return;
    }
    let named = false;
    for (const e of store.readStream(streamId)) {
      if (!namesSpawn(e)) continue;
      named = true;
      if (keep(e)) yield e;
    }
    if (!named && filters.spawn !== undefined) throw new NothingFoundError('spawn', filters.spawn, []);
    return;
  }
  if (filters.spawn !== undefined) {
    // Only event types that can name a spawn are read (and parsed).
    const types = typeSet === null ? SPAWN_TYPES : SPAWN_TYPES.filter((t) => typeSet.has(t));
    let named = false;
    for (const e of store.readAll({ types: SPAWN_TYPES })) {
      if (!namesSpawn(e)) continue;
      named = true;
      if (keep(e) && types.includes(e.type)) yield e;
    }
    // Agents only exist through AgentSpawnRequested, so a spawn no event names is unknown.
    if (!named) throw new NothingFoundError('spawn', filters.spawn, []);
    return;
  }
  yield* store.readAll({
    from: Math.max(1, since),
    ...(filters.types === undefined ? {} : { types: filters.types }),
  });
}

function spawnOf(e: RecordedEvent): string | undefined {
  const data = e.data as { spawnId?: unknown } | null;
  return typeof data === 'object' && data !== null && typeof data.spawnId === 'string'
    ? data.spawnId
    : undefined;
}

function assertKnownTask(store: EventStore, taskId: string): void {
  const { state } = loadState(store);
  if (state.plan?.tasks.some((t) => t.id === taskId)) return;
  throw new NothingFoundError('task', taskId, state.plan?.tasks.map((t) => t.id) ?? []);
}

/**
 * The history of a task's attempts (`orch log --task`): its stream, folded once; when it
 * merged, the whole log is replayed alongside, so each merge's CI result is the one orch's
 * own fold judged it by.
 *
 * @example
 * renderTaskStory(readTaskHistory(store, 'T003'));
 */
export function readTaskHistory(store: EventStore, taskId: string): TaskHistory {
  const stream = [...store.readStream(streamIds.task(taskId))];
  if (!stream.some((e) => e.type === 'BranchMerged'))
    return new AttemptFold(taskId).applyAll(stream).history(taskId);
  return taskHistory(store.readAll(), taskId);
}
