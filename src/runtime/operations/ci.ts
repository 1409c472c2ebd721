import type { Actor } from '../../core/envelope.js';
import { streamIds } from '../../core/events.js';
import type { EventStore } from '../../store/event-store.js';
import { handleCommand, type CommandState } from '../log/handle-command.js';
import { openLog } from '../log/open.js';

/**
 * `orch ci pass|fail`: records a CI result (`CiCompleted`) on the current run's stream —
 * the run of the last `RunStarted` — or on `run-external` when no run was ever recorded.
 * The fold takes `CiCompleted` from any stream; tasks blocked on CI react to it.
 */

/** The stream a CI result goes to when the log has no run. */
export const EXTERNAL_RUN_ID = 'external';

/** A CI result to record. */
export interface CiRequest {
  result: 'pass' | 'fail';
  /** The branch or commit CI ran on. */
  ref?: string;
  /** A link to the CI run. */
  url?: string;
  actor: 'ci' | 'user';
  /** The way the result came in (`mcp` for `orch mcp`), kept as `metadata.via`. */
  via?: string;
}

/** A recorded CI result. */
export interface CiOutcome {
  position: number;
  streamId: string;
  result: 'pass' | 'fail';
  ref: string | null;
  url: string | null;
  actor: Actor;
}

/**
 * `orch ci`: opens the log of `stateDir` for writing (never creating it) and records the
 * result with {@link recordCi}.
 *
 * @example
 * orchCi('/repo/.state', { result: 'fail', ref: 'integration', actor: 'ci' });
 */
export function orchCi(stateDir: string, request: CiRequest): CiOutcome {
  const store = openLog(stateDir, { write: true });
  try {
    return recordCi(store, request);
  } finally {
    store.close();
  }
}

/**
 * Appends `CiCompleted` (a fact: no version check) for the last run.
 *
 * @example
 * recordCi(store, { result: 'pass', ref: 'integration', actor: 'ci' });
 */
export function recordCi(store: EventStore, request: CiRequest): CiOutcome {
  return handleCommand(
    store,
    ({ state: runId }) => {
      const streamId = streamIds.run(runId ?? EXTERNAL_RUN_ID);
      return {
        streamId,
        type: 'CiCompleted',
        data: {
          result: request.result,
          ...(request.ref === undefined ? {} : { ref: request.ref }),
          ...(request.url === undefined ? {} : { url: request.url }),
        },
        actor: request.actor,
        runId,
        ...(request.via === undefined ? {} : { extra: { via: request.via } }),
        expect: 'any',
        answer: (position) => ({
          position,
          streamId,
          result: request.result,
          ref: request.ref ?? null,
          url: request.url ?? null,
          actor: request.actor,
        }),
      };
    },
    { load: lastRun },
  );
}

/** The id of the last run recorded (undefined: none). Only `RunStarted` events are read, no fold. */
function lastRun(store: EventStore): CommandState<string | undefined> {
  let runId: string | undefined;
  for (const event of store.readAll({ types: ['RunStarted'] })) {
    const id = (event.data as { runId?: unknown } | null)?.runId;
    if (typeof id === 'string' && id !== '') runId = id;
  }
  return { state: runId, versions: {} };
}
