import { countedAttempts, type MachineState, type TaskContext } from '../machines/index.js';
import { planIndex } from './plan-index.js';
import { getOwn } from './record.js';
import type { OrchState } from './state.js';

/**
 * The tasks of a state grouped by what the decision loop asks of them every turn, kept up to
 * date as events are folded (a `Replayer` keeps one): `decide` and `outlook` then look at the
 * unfinished tasks and only as many ready ones as they can spawn, not at every task of the
 * plan on every turn (which made a run's own cost grow with the square of the plan's size).
 * It must always be what {@link TaskIndex.rebuild} of the same state gives; a property test
 * holds it to that, and `decide` and `outlook` to their answers without it.
 */
export class TaskIndex {
  private readonly valueOf = new Map<string, string>();
  private readonly countedOf = new Map<string, number>();
  /** How many `ready` tasks have each count of counted attempts. */
  private readonly readyCounted = new Map<number, number>();
  private completed = 0;
  private readonly dirty = new Set<string>();
  private plan: OrchState['plan'] = null;
  private rank: ReadonlyMap<string, number> = new Map();
  /**
   * Tasks `decide` visits every turn: neither complete nor failed (or with lanes of a best-of-N
   * attempt), except ready ones without lanes, which are in {@link TaskIndex.ready}.
   */
  readonly active = new Set<string>();
  /** Ready tasks without lanes, in priority order (`planIndex(plan).taskOrder`). */
  private readyList: string[] = [];
  /** Failed tasks (value `failed`), with or without lanes. */
  readonly failed = new Set<string>();

  /**
   * @example
   * const index = new TaskIndex(state); // then index.touch(state, taskId) after each fold
   */
  constructor(state: OrchState) {
    this.rebuild(state);
  }

  /** Ready tasks without lanes, in priority order (do not modify). */
  get ready(): readonly string[] {
    return this.readyList;
  }

  /** Tasks indexed (every task of the state). */
  get size(): number {
    return this.valueOf.size;
  }

  /** Tasks whose value is `complete`. */
  get completeCount(): number {
    return this.completed;
  }

  /** The most counted attempts of a ready task (−Infinity when none is ready). */
  maxReadyCounted(): number {
    let max = Number.NEGATIVE_INFINITY;
    for (const [counted, n] of this.readyCounted) if (n > 0 && counted > max) max = counted;
    return max;
  }

  /** Worked out again from every task of `state` (a plan loaded or revised). */
  rebuild(state: OrchState): void {
    this.valueOf.clear();
    this.countedOf.clear();
    this.readyCounted.clear();
    this.active.clear();
    this.failed.clear();
    this.readyList = [];
    this.completed = 0;
    this.plan = state.plan;
    this.rank = state.plan === null ? new Map() : planIndex(state.plan).taskRank;
    for (const id in state.tasks) {
      const entry = getOwn(state.tasks, id);
      if (entry !== undefined) this.add(id, entry, false);
    }
    this.readyList.sort((a, b) => this.rankOf(a) - this.rankOf(b) || (a < b ? -1 : a > b ? 1 : 0));
  }

  /** After an event that may have changed task `taskId` of `state`. */
  touch(state: OrchState, taskId: string): void {
    if (state.plan !== this.plan) {
      this.rebuild(state);
      return;
    }
    this.remove(taskId);
    const entry = getOwn(state.tasks, taskId);
    if (entry !== undefined) this.add(taskId, entry, true);
  }

  /**
   * Notes that task `taskId` may have changed, for {@link TaskIndex.sync}: the fold marks, the
   * reader brings the index up to date (a replay that never asks pays one set insertion per
   * event, not the index's bookkeeping).
   */
  mark(taskId: string): void {
    this.dirty.add(taskId);
  }

  /** Brings the index up to `state` after the {@link TaskIndex.mark}ed changes (or a new plan). */
  sync(state: OrchState): void {
    if (state.plan !== this.plan) {
      this.dirty.clear();
      this.rebuild(state);
      return;
    }
    for (const id of this.dirty) this.touch(state, id);
    this.dirty.clear();
  }

  private rankOf(id: string): number {
    return this.rank.get(id) ?? Number.MAX_SAFE_INTEGER;
  }

  /** Where `id` goes in the ready list (its rank, then its id, for tasks outside the order). */
  private readySlot(id: string): number {
    const r = this.rankOf(id);
    let lo = 0;
    let hi = this.readyList.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const other = this.readyList[mid] ?? '';
      const ro = this.rankOf(other);
      if (ro < r || (ro === r && other < id)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private add(id: string, entry: MachineState<TaskContext>, sorted: boolean): void {
    const value = entry.value;
    this.valueOf.set(id, value);
    if (value === 'complete') this.completed += 1;
    if (value === 'failed') this.failed.add(id);
    // Exactly decideTasks' test for a task that asks for nothing.
    const laned = Boolean(entry.context.lanes);
    if ((value === 'complete' || value === 'failed') && !laned) return;
    if (value === 'ready' && !laned) {
      const counted = countedAttempts(entry.context);
      this.countedOf.set(id, counted);
      this.readyCounted.set(counted, (this.readyCounted.get(counted) ?? 0) + 1);
      if (sorted) this.readyList.splice(this.readySlot(id), 0, id);
      else this.readyList.push(id);
      return;
    }
    this.active.add(id);
  }

  private remove(id: string): void {
    const value = this.valueOf.get(id);
    if (value === undefined) return;
    this.valueOf.delete(id);
    if (value === 'complete') this.completed -= 1;
    this.failed.delete(id);
    this.active.delete(id);
    const counted = this.countedOf.get(id);
    if (counted !== undefined) {
      this.countedOf.delete(id);
      this.readyCounted.set(counted, (this.readyCounted.get(counted) ?? 1) - 1);
      const at = this.readySlot(id);
      const found = this.readyList[at] === id ? at : this.readyList.indexOf(id);
      if (found >= 0) this.readyList.splice(found, 1);
    }
  }
}
