import type { RecordedEvent } from '../../core/envelope.js';
import { getOwn } from '../../core/record.js';
import type { OrchState } from '../../core/state.js';
import { isLiveAgent } from '../../core/state.js';
import { taskStatus } from '../../core/status-view.js';
import type { Plan } from '../../plan/model.js';

/**
 * What the report's scrubber shows at every log position, taken from orch's own fold (the
 * `Replayer` that builds the report) and embedded as the changes at each position where
 * any of it changed. The page only looks positions up: it has no copy of the machines.
 */

/**
 * One change, at log position `p`:
 * - `[p, 0, task, value, attempts]`: a task's machine state (`task` indexes
 *   {@link ReportStates.ids}, `value` indexes {@link ReportStates.values});
 * - `[p, 1, [[task, title, phase, role], …]]`: a plan was recorded; its tasks, in plan order;
 * - `[p, 2, n]`: how many agents are live;
 * - `[p, 3, result, position]`: the latest CI result and its position;
 * - `[p, 4, [milestone, …]]`: the milestones whose pull request is open, in plan order.
 */
export type StateChange =
  | [number, 0, number, number, number]
  | [number, 1, [number, string, string, string][]]
  | [number, 2, number]
  | [number, 3, string, number]
  | [number, 4, string[]];

/** The scrubber's states (JSON). */
export interface ReportStates {
  /** Task machine states met, as `[value, status]` (`status` in `orch status` words). */
  values: [string, string][];
  /** Task ids met. */
  ids: string[];
  /** In log order; a position has as many changes as things changed there. */
  changes: StateChange[];
}

type Data = Record<string, unknown>;

/**
 * Records the changes as the log is folded: call {@link StateRecorder.record} with each
 * event and the state right after it.
 *
 * As orch's fold goes, a task or an agent changes only on an event naming it (`taskId`,
 * `spawnId`: that task, the spawn's agent and the spawn's task) or on a new plan (every
 * task is compared); milestones are compared after any event naming neither. A test holds
 * the changes to the fold's states at every position of random logs.
 *
 * @example
 * const recorder = new StateRecorder();
 * for (const event of events) recorder.record(event, replayer.apply(event).state);
 * recorder.states.changes.length; // 42
 */
export class StateRecorder {
  readonly states: ReportStates = { values: [], ids: [], changes: [] };
  private readonly valueIndex = new Map<string, number>();
  private readonly idIndex = new Map<string, number>();
  /** Per task id: the `value` and `attempts` last recorded. */
  private readonly shown = new Map<string, [number, number]>();
  private readonly live = new Set<string>();
  private liveShown = 0;
  private plan: Plan | null = null;
  private ci: OrchState['ci'] = null;
  private prs = '[]';

  record(event: RecordedEvent, state: OrchState): void {
    const p = event.position;
    const d = (typeof event.data === 'object' && event.data !== null ? event.data : {}) as Data;
    const taskId = typeof d['taskId'] === 'string' ? d['taskId'] : null;
    const spawnId = typeof d['spawnId'] === 'string' ? d['spawnId'] : null;
    const planned = state.plan !== this.plan && state.plan !== null;
    if (planned && state.plan !== null) {
      this.plan = state.plan;
      const rows = state.plan.tasks.map((t): [number, string, string, string] => [
        this.id(t.id),
        t.title,
        t.phase,
        t.role,
      ]);
      this.states.changes.push([p, 1, rows]);
    }
    if (planned) for (const id of Object.keys(state.tasks)) this.task(p, state, id);
    if (taskId === null && spawnId === null) {
      this.milestones(p, state);
    } else {
      if (taskId !== null) this.task(p, state, taskId);
      const agent = spawnId === null ? undefined : getOwn(state.agents, spawnId);
      if (agent !== undefined) {
        if (agent.task !== taskId) this.task(p, state, agent.task);
        if (isLiveAgent(agent)) this.live.add(agent.spawnId);
        else this.live.delete(agent.spawnId);
      }
    }
    if (this.live.size !== this.liveShown) {
      this.liveShown = this.live.size;
      this.states.changes.push([p, 2, this.liveShown]);
    }
    const ci = state.ci;
    if (ci !== null && (ci.result !== this.ci?.result || ci.position !== this.ci.position)) {
      this.states.changes.push([p, 3, ci.result, ci.position]);
    }
    this.ci = ci;
  }

  private task(p: number, state: OrchState, taskId: string): void {
    const entry = getOwn(state.tasks, taskId);
    if (entry === undefined) return;
    const value = this.value(entry.value, taskStatus(entry));
    const attempts = entry.context.attempts;
    const last = this.shown.get(taskId);
    if (last !== undefined && last[0] === value && last[1] === attempts) return;
    this.shown.set(taskId, [value, attempts]);
    this.states.changes.push([p, 0, this.id(taskId), value, attempts]);
  }

  private milestones(p: number, state: OrchState): void {
    const open = (state.plan?.milestones ?? [])
      .filter((m) => (getOwn(state.milestones, m.id)?.context.pr?.url ?? null) !== null)
      .map((m) => m.id);
    const key = JSON.stringify(open);
    if (key === this.prs) return;
    this.prs = key;
    this.states.changes.push([p, 4, open]);
  }

  private id(taskId: string): number {
    let i = this.idIndex.get(taskId);
    if (i === undefined) {
      i = this.states.ids.push(taskId) - 1;
      this.idIndex.set(taskId, i);
    }
    return i;
  }

  private value(value: string, status: string): number {
    let i = this.valueIndex.get(value);
    if (i === undefined) {
      i = this.states.values.push([value, status]) - 1;
      this.valueIndex.set(value, i);
    }
    return i;
  }
}
