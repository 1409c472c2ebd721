import type { Plan } from './model.js';

/**
 * Which repository plan entities belong to (multi-repo targets), from the plan alone. Only
 * types are imported here: `orch status` reads it on its fast path, which must not load the
 * parsers or zod.
 */

/**
 * The target a task of `plan` belongs to (its own, else its phase's), or null for the main
 * repository.
 *
 * @example
 * targetOfTask(plan, 'api:1.1'); // 'api'
 */
export function targetOfTask(plan: Plan | null, taskId: string): string | null {
  if (!plan) return null;
  // Asked per task many times over a run (every workspace path, merge and check): one map per plan.
  let targets = targetsByPlan.get(plan);
  if (targets === undefined) {
    targets = taskTargets(plan);
    targetsByPlan.set(plan, targets);
  }
  return targets.get(taskId) ?? null;
}

/** {@link taskTargets} of each plan object seen (plans are replaced, never changed, when revised). */
const targetsByPlan = new WeakMap<Plan, Map<string, string | null>>();

/**
 * The target of every task of `plan` at once (its own, else its phase's; null for the main
 * repository), in linear time: for views over every task of a large plan.
 *
 * @example
 * taskTargets(plan).get('api:1.1.1'); // 'api'
 */
export function taskTargets(plan: Plan | null): Map<string, string | null> {
  const out = new Map<string, string | null>();
  if (!plan) return out;
  const phaseTarget = new Map(plan.phases.map((p) => [p.id, p.target ?? null]));
  for (const t of plan.tasks) out.set(t.id, t.target ?? phaseTarget.get(t.phase) ?? null);
  return out;
}

/**
 * The target a milestone's pull request goes to: the one target all its phases share, else
 * the main repository (null).
 *
 * @example
 * milestoneTarget(plan, 'api:M1'); // 'api'
 */
export function milestoneTarget(plan: Plan | null, milestoneId: string): string | null {
  const m = plan?.milestones.find((x) => x.id === milestoneId);
  if (!plan || !m || m.phases.length === 0) return null;
  const targets = new Set(m.phases.map((id) => plan.phases.find((p) => p.id === id)?.target ?? null));
  return targets.size === 1 ? [...targets][0]! : null;
}
