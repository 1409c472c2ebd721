import { randomUUID } from 'node:crypto';
import type { Actor } from '../../core/envelope.js';
import { parseEventData, streamIds } from '../../core/events.js';
import type { EventStore } from '../../store/event-store.js';

/**
 * `orch ci pass|fail`: records a CI result (`CiCompleted`) on the current run's stream —
 * the run of the last `RunStarted` — or on `run-external` when no run was ever recorded.
 * The fold takes `CiCompleted` from any stream; tasks blocked on CI react to it.
 */

/** The stream a CI result goes to when the log has no run. */
export const EXTERNAL_RUN_ID = 'external';

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
 * Appends `CiCompleted` (a fact: no version check) for the last run.
 *
 * @example
 * recordCi(store, { result: 'pass', ref: 'integration', actor: 'ci' });
 */
export function recordCi(
  store: EventStore,
  input: { result: 'pass' | 'fail'; ref?: string; url?: string; actor: 'ci' | 'user' },
): CiOutcome {
  let runId: string | undefined;
  // Only RunStarted events are read: no fold is needed to find the last run.
  for (const event of store.readAll({ types: ['RunStarted'] })) {
    const id = (event.data as { runId?: unknown } | null)?.runId;
    if (typeof id === 'string' && id !== '') runId = id;
  }
  const streamId = streamIds.run(runId ?? EXTERNAL_RUN_ID);
  const data = parseEventData('CiCompleted', {
    result: input.result,
    ...(input.ref === undefined ? {} : { ref: input.ref }),
    ...(input.url === undefined ? {} : { url: input.url }),
  });
  const result = store.append(
    streamId,
    [
      {
        id: randomUUID(),
        type: 'CiCompleted',
        data,
        metadata: { ...(runId === undefined ? {} : { runId }), actor: input.actor },
      },
    ],
    { expectedVersion: 'any' },
  );
  return {
    position: result.positions[0]!,
    streamId,
    result: input.result,
    ref: input.ref ?? null,
    url: input.url ?? null,
    actor: input.actor,
  };
}
