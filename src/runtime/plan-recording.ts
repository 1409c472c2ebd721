import { streamIds } from '../core/events.js';
import type { OrchEventData } from '../core/events.js';
import type { Plan } from '../plan/model.js';
import type { LiveLog } from './live-log.js';

/**
 * What changed between two plans, by entity id (milestones, phases, tasks, personas).
 * Where an entity sits in its file (`source`, `statusSource`) is not a change of meaning.
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

function keyed<T extends object>(items: readonly T[], key: (t: T) => string): Map<string, string> {
  return new Map(
    items.map((item) => [
      key(item),
      JSON.stringify(item, (k, v: unknown) => (k === 'source' || k === 'statusSource' ? undefined : v)),
    ]),
  );
}

/**
 * Records the plan in the log when it differs from the one recorded: `PlanLoaded` the first
 * time, `PlanRevised` with the difference afterwards. Returns whether anything was written.
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
  log.append(streamIds.plan(), 'PlanRevised', { plan, diff: planDiff(current, plan) });
  return true;
}
