import { randomUUID } from 'node:crypto';
import type { Actor, EventMetadata } from '../../core/envelope.js';
import { parseEventData, type OrchEventType } from '../../core/events.js';
import { getOwn } from '../../core/record.js';
import { ConcurrencyError } from '../../store/errors.js';
import type { EventStore } from '../../store/event-store.js';
import type { OrchState } from '../../core/state.js';
import { loadState } from './load-state.js';

/**
 * One way for a command from outside the loop (an agent's signal, a person's unblock or
 * cancel, a CI result) to reach the log: load the state, judge the request, append the
 * event at the version of its stream as loaded, and on a `ConcurrencyError` (someone
 * wrote to that stream meanwhile) load and judge again.
 */

/** What a command judges: a state read from the log and every stream's version as of it. */
export interface CommandState<S> {
  state: S;
  versions: Readonly<Record<string, number>>;
}

/** The event a command decided to record, who records it, and what to answer once it is. */
export interface Decision<R> {
  streamId: string;
  type: OrchEventType;
  /** Validated against the event catalog before anything is written. */
  data: unknown;
  /** `metadata.actor`. */
  actor: Actor;
  /** `metadata.runId`, left out when undefined or empty. */
  runId?: string | undefined;
  /** `metadata.correlationId` (the spawn a report is about). */
  correlationId?: string;
  /** Further metadata keys, after `runId`, `actor` and `correlationId`. */
  extra?: Record<string, unknown>;
  /**
   * `read` (the default): append at the stream's version as loaded, so the decision cannot
   * race another change of the stream; `any`: a fact that stands whatever came after.
   */
  expect?: 'read' | 'any';
  /** The answer, from the log position the event was recorded at; may throw (a recorded refusal). */
  answer: (position: number) => R;
}

/** How {@link handleCommand} reads and retries. */
export interface HandleOptions<S> {
  /** Reads what the command judges (default: {@link loadState}). */
  load?: (store: EventStore) => CommandState<S>;
  /** Judgements at most, each after a fresh load (default 2: one retry). */
  attempts?: number;
}

/**
 * Loads, judges with `decide`, appends and answers; retries the whole on a
 * `ConcurrencyError` up to `attempts` judgements in all. `decide` refuses by throwing
 * (nothing is written); a refusal that must be on record is a decision whose `answer`
 * throws.
 *
 * @example
 * const outcome = handleCommand(store, ({ state, versions }) => ({
 *   streamId: 'task-T5', type: 'TaskCancelled', data: { taskId: 'T5', reason: 'not needed' },
 *   actor: 'user', answer: (position) => ({ position }),
 * }));
 */
export function handleCommand<R>(
  store: EventStore,
  decide: (read: CommandState<OrchState>) => Decision<R>,
  options?: Omit<HandleOptions<OrchState>, 'load'>,
): R;
export function handleCommand<S, R>(
  store: EventStore,
  decide: (read: CommandState<S>) => Decision<R>,
  options: HandleOptions<S> & { load: (store: EventStore) => CommandState<S> },
): R;
export function handleCommand<S, R>(
  store: EventStore,
  decide: (read: CommandState<S>) => Decision<R>,
  options: HandleOptions<S> = {},
): R {
  // Without `load`, the overloads make S the OrchState that loadState reads.
  const load =
    options.load ??
    (loadState as (s: EventStore) => CommandState<unknown> as (s: EventStore) => CommandState<S>);
  const attempts = Math.max(1, options.attempts ?? 2);
  for (let attempt = 1; ; attempt++) {
    const read = load(store);
    const decision = decide(read);
    const data = parseEventData(decision.type, decision.data);
    const expectedVersion =
      decision.expect === 'any' ? 'any' : (getOwn(read.versions, decision.streamId) ?? 0);
    let position: number;
    try {
      const result = store.append(
        decision.streamId,
        [{ id: randomUUID(), type: decision.type, data, metadata: metadataOf(decision) }],
        { expectedVersion },
      );
      position = result.positions[0]!;
    } catch (err) {
      // The stream moved on while we judged: judge again on what it is now.
      if (!(err instanceof ConcurrencyError) || attempt >= attempts) throw err;
      continue;
    }
    return decision.answer(position);
  }
}

/** The metadata of a decision, keys always in the same order. */
function metadataOf(decision: Decision<unknown>): EventMetadata {
  const { runId, correlationId } = decision;
  return {
    ...(runId === undefined || runId === '' ? {} : { runId }),
    actor: decision.actor,
    ...(correlationId === undefined ? {} : { correlationId }),
    ...decision.extra,
  };
}
