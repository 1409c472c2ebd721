/**
 * Following the log by polling, shared by both stores. Positions are assigned in commit
 * order by a single writer at a time, so "everything up to the last position I saw" is
 * final and each poll only reads what is new.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RecordedEvent } from '../core/envelope.js';
import type { EventStore, FollowOptions } from './event-store.js';

/** Default wait between polls when the follower has caught up. */
export const DEFAULT_POLL_INTERVAL_MS = 200;

/**
 * Yields the events after `options.after` (filtered by `types`), then keeps polling for new
 * ones until `options.signal` aborts; the iteration then ends normally.
 *
 * @example
 * const controller = new AbortController();
 * for await (const event of followEvents(store, { after: 41, signal: controller.signal })) {
 *   if (event.type === 'RunFinished') controller.abort();
 * }
 */
export async function* followEvents(
  store: Pick<EventStore, 'readAll' | 'lastPosition'>,
  options: FollowOptions = {},
): AsyncGenerator<RecordedEvent, void, undefined> {
  const { signal, types } = options;
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  let next = (options.after ?? 0) + 1;
  while (!aborted(signal)) {
    const end = store.lastPosition();
    if (end >= next) {
      for (const event of store.readAll({ from: next, to: end, ...(types === undefined ? {} : { types }) })) {
        yield event;
        if (aborted(signal)) return;
      }
      next = end + 1;
      continue;
    }
    try {
      await sleep(pollIntervalMs, undefined, signal === undefined ? undefined : { signal });
    } catch (err) {
      if (aborted(signal)) return;
      throw err;
    }
  }
}

// A function, not an inline check: the signal changes while the generator is suspended.
function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}
