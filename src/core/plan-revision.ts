import type { OrchEventData } from './events.js';
import type { Plan } from '../plan/model.js';

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
  const b = groups(after);
  groups(before).forEach((old, i) => {
    const now = b[i] ?? new Map<string, string>();
    for (const [id, value] of now) {
      const prev = old.get(id);
      if (prev === undefined) out.added.push(id);
      else if (prev !== value) out.changed.push(id);
    }
    for (const id of old.keys()) if (!now.has(id)) out.removed.push(id);
  });
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

/** The event that records a plan in stream `plan`. */
export type PlanRecord =
  | { type: 'PlanLoaded'; data: OrchEventData<'PlanLoaded'> }
  | { type: 'PlanRevised'; data: OrchEventData<'PlanRevised'> };

/**
 * What to record for the plan `next` when the log holds `current`: `PlanLoaded` the first
 * time, `PlanRevised` with the difference afterwards, null when nothing changed. A plan that
 * differs only in declared statuses or line positions (the gardener's own write-back, a
 * blank line inserted) is not a revision.
 *
 * @example
 * planRecord(null, plan); // { type: 'PlanLoaded', data: { plan } }
 * planRecord(plan, withT9); // { type: 'PlanRevised', data: { plan: withT9, diff: { added: ['T9'], ... } } }
 */
export function planRecord(current: Plan | null, next: Plan): PlanRecord | null {
  if (current === null) return { type: 'PlanLoaded', data: { plan: next } };
  if (JSON.stringify(current) === JSON.stringify(next)) return null;
  const diff = planDiff(current, next);
  if (diff.added.length + diff.removed.length + diff.changed.length === 0 && samePlanLevel(current, next))
    return null;
  return { type: 'PlanRevised', data: { plan: next, diff } };
}

/** The plan-wide fields (name, description, format, source) agree. */
function samePlanLevel(a: Plan, b: Plan): boolean {
  const top = (p: Plan) => JSON.stringify([p.name, p.description ?? null, p.format, p.source]);
  return top(a) === top(b);
}
