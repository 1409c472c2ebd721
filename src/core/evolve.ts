import { xstateEngine } from '../machines/index.js';
import type { RecordedEvent } from './envelope.js';
import { applyEvent, StateDraft } from './fold.js';
import { initialState } from './state.js';
import type { OrchState } from './state.js';

/**
 * The fold: the state after one more event. Pure: `state` is never modified, and machines
 * advance through XState's own `transition()` (the reference the fast `Replayer` is held to).
 * Each call copies the collections the event touches, so it costs O(entities) per event:
 * fold long logs, or keep a live state, with a `Replayer` instead.
 *
 * @example
 * const state = events.reduce(evolve, initialState());
 */
export function evolve(state: OrchState, event: RecordedEvent): OrchState {
  const draft = new StateDraft({ ...state }, true);
  applyEvent(draft, event, xstateEngine);
  return draft.state;
}

/**
 * `stateAt(p)`: the state after every event up to and including position `to`
 * (all of them when absent), by the pure fold.
 *
 * @example
 * const before = stateAt(log, 41);
 */
export function stateAt(events: Iterable<RecordedEvent>, to = Number.POSITIVE_INFINITY): OrchState {
  let state = initialState();
  for (const event of events) {
    if (event.position > to) break;
    state = evolve(state, event);
  }
  return state;
}
