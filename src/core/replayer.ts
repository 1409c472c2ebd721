import { compiledEngine } from '../machines/index.js';
import type { MachineEngine } from '../machines/index.js';
import type { RecordedEvent } from './envelope.js';
import { applyEvent, StateDraft } from './fold.js';
import { getOwn } from './record.js';
import { initialState, isLiveAgent } from './state.js';
import { TaskIndex } from './task-index.js';
import type { OrchState } from './state.js';

/**
 * The fast fold for long logs and live projections: one state object updated in place,
 * machines advanced by their compiled transition tables. It yields the same OrchState as
 * `evolve` (a property test holds it to that) at a fraction of the cost.
 *
 * @example
 * const replayer = new Replayer();
 * for (const event of store.readAll()) replayer.apply(event);
 * const state = replayer.state;
 */
export class Replayer {
  private readonly draft: StateDraft;
  private readonly live = new Set<string>();
  private readonly index: TaskIndex;

  /**
   * @param from a state to continue from (a snapshot); it is copied, never modified.
   * @param engine how machines advance (default: the compiled tables).
   */
  constructor(
    from?: OrchState,
    private readonly engine: MachineEngine = compiledEngine,
  ) {
    this.draft = new StateDraft(from === undefined ? initialState() : structuredClone(from), false);
    for (const spawnId in this.draft.state.agents) {
      const agent = getOwn(this.draft.state.agents, spawnId);
      if (agent !== undefined && isLiveAgent(agent)) this.live.add(spawnId);
    }
    this.index = new TaskIndex(this.draft.state);
  }

  /** Folds one event (continuing from a snapshot: read the log from `snapshot.position + 1`). */
  apply(event: RecordedEvent): this {
    applyEvent(this.draft, event, this.engine);
    // The fold changes an agent only for an event naming its spawnId (src/core/fold.ts).
    const state = this.draft.state;
    const data = event.data as { spawnId?: unknown; taskId?: unknown } | null;
    const spawnId = data?.spawnId;
    if (typeof spawnId === 'string') {
      const agent = getOwn(state.agents, spawnId);
      if (agent !== undefined && isLiveAgent(agent)) this.live.add(spawnId);
      else this.live.delete(spawnId);
      // Reports and rate limits step the agent's task.
      if (agent !== undefined) this.index.mark(agent.task);
    }
    // A task changes only by an event naming it or its agent, or by a new plan (then every
    // task is looked at again: `sync` sees the plan object changed). Marked here, brought up
    // to date when the index is read.
    if (typeof data?.taskId === 'string') this.index.mark(data.taskId);
    return this;
  }

  /**
   * The state's tasks grouped for the decision loop ({@link TaskIndex}), kept as events are
   * folded. Live: changes with later `apply` calls.
   *
   * @example
   * decide(replayer.state, plan, config, now, { live: replayer.liveAgents, taskIndex: replayer.taskIndex });
   */
  get taskIndex(): TaskIndex {
    this.index.sync(this.draft.state);
    return this.index;
  }

  /**
   * The spawn ids of the state's live agents (spawning or running), kept as events are
   * folded: what walking every agent of `state` would find, without the walk (a long run has
   * thousands of agents and asks every turn). Live: changes with later `apply` calls.
   *
   * @example
   * decide(replayer.state, plan, config, now, { live: replayer.liveAgents });
   */
  get liveAgents(): ReadonlySet<string> {
    return this.live;
  }

  /** Folds every event in order. */
  applyAll(events: Iterable<RecordedEvent>): this {
    for (const event of events) this.apply(event);
    return this;
  }

  /** The current state: live, updated by later `apply` calls; do not modify it. */
  get state(): OrchState {
    return this.draft.state;
  }

  /** An independent copy of the current state (safe to keep, serialise or modify). */
  snapshot(): OrchState {
    return structuredClone(this.draft.state);
  }
}

/**
 * Folds a whole log with the fast {@link Replayer}.
 *
 * @example
 * const state = replay(store.readAll());
 */
export function replay(events: Iterable<RecordedEvent>, from?: OrchState): OrchState {
  return new Replayer(from).applyAll(events).state;
}
