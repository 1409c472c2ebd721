import { streamIds } from '../../core/events.js';
import type { OrchEventData } from '../../core/events.js';
import type { Plan } from '../../plan/model.js';
import type { LiveLog } from '../log/live-log.js';

/**
 * What changed between two plans, by entity id (milestones, phases, tasks, `persona:<role>`,
 * format A's `epic:<id>`).
 * Where an entity sits in its file (`source`, `statusSource`, `dependsOnSource`, ...) is
 * not a change of meaning, and neither is a declared `status`: the fold keeps the live
 * state of every entity that stays in the plan, so a status written back by the gardener
 * (or typed by a person) over a known entity changes nothing (`orch plan --check` reports
 * a person's disagreeing status instead).
 *
 * @example
 * planDiff(before, after); // { added: ['T9'], removed: [], changed: ['S002'] }
 */
export function planDiff(before: Plan | null, after: Plan): OrchEventData<'PlanRevised'>['diff'] {
  const out = { added: [] as string[], removed: [] as string[], changed: [] as string[] };
  const groups = (p: Plan | null) => [
    keyed(p?.milestones ?? [], (m) => m.id),
    keyed(p?.phases ?? [], (x) => x.id),
    keyed(p?.tasks ?? [], (t) => t.id),
    keyed(p?.personas ?? [], (x) => `persona:${x.role}`),
    keyed(p?.epics ?? [], (x) => `epic:${x.id}`),
  ];
  const a = groups(before);
  const b = groups(after);
  for (let i = 0; i < a.length; i++) {
    const old = a[i]!;
    const now = b[i]!;
    for (const [id, value] of now) {
      const prev = old.get(id);
      if (prev === undefined) out.added.push(id);
      else if (prev !== value) out.changed.push(id);
    }
    for (const id of old.keys()) if (!now.has(id)) out.removed.push(id);
  }
  return out;
}

/** Keys that say where something is written or what a file declares, not what it means. */
const IGNORED = new Set(['source', 'statusSource', 'dependsOnSource', 'blocksSource', 'status']);

function keyed<T extends object>(items: readonly T[], key: (t: T) => string): Map<string, string> {
  return new Map(
    items.map((item) => [
      key(item),
      JSON.stringify(item, (k, v: unknown) => (IGNORED.has(k) ? undefined : v)),
    ]),
  );
}

/**
 * Records the plan in the log when it differs from the one recorded: `PlanLoaded` the first
 * time, `PlanRevised` with the difference afterwards. A file that differs only in declared
 * statuses or line positions (the gardener's own write-back, a blank line inserted) is
 * not a revision: nothing is written. Returns whether anything was written.
 *
 * @example
 * recordPlan(log, loadPlan(location).plan);
 */
export function recordPlan(log: LiveLog, plan: Plan): boolean {
  const current = log.state.plan;
  if (current === null) {
    log.append(streamIds.plan(), 'PlanLoaded', { plan });
    return true;
  }
  if (JSON.stringify(current) === JSON.stringify(plan)) return false;
  const diff = planDiff(current, plan);
  if (diff.added.length + diff.removed.length + diff.changed.length === 0 && samePlanLevel(current, plan))
    return false;
  log.append(streamIds.plan(), 'PlanRevised', { plan, diff });
  return true;
}

/** The plan-wide fields (name, description, format, source) agree. */
function samePlanLevel(a: Plan, b: Plan): boolean {
  const top = (p: Plan) => JSON.stringify([p.name, p.description ?? null, p.format, p.source]);
  return top(a) === top(b);
}
