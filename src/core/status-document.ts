import type { OrchState } from './state.js';
import { statusView, type StatusView, type TaskStatus } from './status-view.js';
import { usageTotals, type UsageTotal, type UsageTotals } from './usage-totals.js';
import { getOwn, type IdRecord } from './record.js';
import { milestoneTarget, taskTargets } from '../plan/target-of.js';

export { withLease, type LeaseView } from './status-lease.js';

/**
 * The `orch status` document: the `statusView` (docs/cli.md, "JSON shapes") plus totals,
 * usage and targets; `orch status` adds who holds the state directory's lease.
 * Kept free of the fold and XState so `status` can print a cached document quickly.
 */

/** Counts over the whole state. */
export interface StatusTotals {
  /** Tasks by status; every status is present (0 when none). */
  tasks: Record<TaskStatus, number>;
  /** Attempts (spawns) over all tasks. */
  attempts: number;
  /** Agents: live (spawning or running) and all spawns ever (`agents[]` lists only the live ones and each task's last). */
  agents: { live: number; total: number };
  costUsd: number;
}

/** One repository's share of the work (multi-repo targets); `id` null is the main repository. */
export interface TargetGroup {
  id: string | null;
  /** Tasks by status; every status is present. */
  tasks: Record<TaskStatus, number>;
  attempts: number;
  costUsd: number;
  /** Its milestones (those whose phases all run in it). */
  milestones: string[];
}

/**
 * `orch status --json` without the lease, `orch replay --json`: what a snapshot can cache.
 * `usage`: tokens, cost and attempts per task, phase, milestone and run (`usageTotals`).
 * Each task carries its `target` (null: the main repository); `targets` groups the work by
 * repository, main first, and is empty when the plan uses no target.
 */
export type StatusDocument = Omit<StatusView, 'tasks'> & {
  tasks: (StatusView['tasks'][number] & { target: string | null })[];
  totals: StatusTotals;
  usage: UsageTotals;
  targets: TargetGroup[];
};

/** Every task status, in the order the document's counts list them. */
export const TASK_STATUSES: readonly TaskStatus[] = [
  'pending',
  'ready',
  'running',
  'blocked',
  'complete',
  'failed',
];

/**
 * The status document of a state: `statusView(state)` plus totals and usage.
 * `earlier`: per task, the usage of its first spawns whose records were cut out of
 * `state.agents` (the status state snapshot's `earlier`, see `statusState` in
 * `src/runtime/log/snapshots.ts`); they count in the totals and usage as if they were there.
 *
 * @example
 * const doc = statusDocument(replay(store.readAll()));
 * doc.totals.tasks.complete; // 3
 */
export function statusDocument(state: OrchState, earlier?: IdRecord<UsageTotal>): StatusDocument {
  // One list of the agents for all three passes (a long log has a hundred thousand).
  const all = Object.values(state.agents);
  let cut = 0;
  if (earlier !== undefined) for (const task of Object.keys(earlier)) cut += earlier[task]?.attempts ?? 0;
  const view = statusView(state, all);
  const tasks = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
  let attempts = 0;
  for (const task of view.tasks) {
    tasks[task.status] += 1;
    attempts += task.attempts;
  }
  let live = 0;
  for (const agent of view.agents) if (agent.status === 'spawning' || agent.status === 'running') live += 1;
  const usage = usageTotals(state, all, earlier);
  const targetOf = taskTargets(state.plan);
  const rows = view.tasks.map((t) => ({ ...t, target: targetOf.get(t.id) ?? null }));
  return {
    ...view,
    tasks: rows,
    totals: {
      tasks,
      attempts,
      agents: { live, total: all.length + cut },
      costUsd: state.costUsd,
    },
    usage,
    targets: targetGroups(state.plan, rows, (i) => getOwn(usage.tasks, rows[i]!.id)?.costUsd ?? 0),
  };
}

/**
 * The work grouped by repository: main first, then targets in the plan's order; [] without
 * targets. `rows` are the plan's tasks in plan order, `costOf(i)` the cost of `rows[i]`.
 *
 * @example
 * targetGroups(plan, rows, (i) => usage.tasks[rows[i].id].costUsd); // [{ id: null, ... }, { id: 'api', ... }]
 */
export function targetGroups(
  plan: OrchState['plan'],
  rows: readonly { status: TaskStatus; attempts: number; target: string | null }[],
  costOf: (index: number) => number,
): TargetGroup[] {
  if (!rows.some((r) => r.target !== null)) return [];
  const groups = new Map<string | null, TargetGroup>();
  const groupOf = (id: string | null): TargetGroup => {
    let g = groups.get(id);
    if (g === undefined) {
      const tasks = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
      g = { id, tasks, attempts: 0, costUsd: 0, milestones: [] };
      groups.set(id, g);
    }
    return g;
  };
  groupOf(null);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const g = groupOf(r.target);
    g.tasks[r.status] += 1;
    g.attempts += r.attempts;
    g.costUsd += costOf(i);
  }
  for (const m of plan?.milestones ?? []) groupOf(milestoneTarget(plan, m.id)).milestones.push(m.id);
  return [...groups.values()];
}
