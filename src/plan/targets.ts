import { problemAt, type PlanProblem } from './errors.js';
import type { Epic, Milestone, Phase, Plan, Source, Task } from './model.js';
import { NO_MILESTONE } from './parse-directory.js';

/**
 * Multi-repo targets on the plan side: which repository a task belongs to, and
 * how the plans kept in the targets' own repositories join the main plan. A target's plan
 * is namespaced (`1.2` in target `api` becomes `api:1.2`) so ids never collide and the
 * main plan can depend on a target's work by writing `api:1.2`.
 */

/** Separates a target id from an id of its plan (`api:1.2`). */
export const TARGET_SEPARATOR = ':';

/**
 * The target a task works in: its own `target`, else its phase's, else null (the main
 * repository).
 *
 * @example
 * taskTarget(plan, plan.tasks[0]!); // 'api'
 */
export function taskTarget(plan: Plan, task: Task): string | null {
  if (task.target !== undefined) return task.target;
  return plan.phases.find((p) => p.id === task.phase)?.target ?? null;
}

/**
 * An id of target `targetId`'s plan as the combined plan names it.
 *
 * @example
 * namespacedId('api', '1.2'); // 'api:1.2'
 */
export function namespacedId(targetId: string, id: string): string {
  return `${targetId}${TARGET_SEPARATOR}${id}`;
}

/**
 * A copy of the plan with every milestone, epic, phase and task id, and every reference to
 * one (memberships, dependencies, `Blocks`), passed through `rename`. A phase "in no
 * milestone" stays so. Sources are untouched.
 *
 * @example
 * renamePlanIds(plan, (id) => id.toLowerCase());
 */
export function renamePlanIds(plan: Plan, rename: (id: string) => string): Plan {
  const all = (ids: readonly string[]): string[] => ids.map(rename);
  const milestones = plan.milestones.map((m): Milestone => ({
    ...m,
    id: rename(m.id),
    phases: all(m.phases),
    ...(m.epics ? { epics: all(m.epics) } : {}),
  }));
  const phases = plan.phases.map((p): Phase => ({
    ...p,
    id: rename(p.id),
    milestone: p.milestone === NO_MILESTONE ? p.milestone : rename(p.milestone),
    dependsOn: all(p.dependsOn),
    ...(p.blocks ? { blocks: all(p.blocks) } : {}),
    tasks: all(p.tasks),
    ...(p.epic !== undefined ? { epic: rename(p.epic) } : {}),
  }));
  const tasks = plan.tasks.map((t): Task => ({
    ...t,
    id: rename(t.id),
    phase: rename(t.phase),
    dependsOn: all(t.dependsOn),
  }));
  const epics = plan.epics?.map((e): Epic => ({
    ...e,
    id: rename(e.id),
    ...(e.milestone !== undefined ? { milestone: rename(e.milestone) } : {}),
    dependsOn: all(e.dependsOn),
    stories: all(e.stories),
  }));
  return { ...plan, milestones, phases, tasks, ...(epics ? { epics } : {}) };
}

/**
 * Target `targetId`'s own plan as part of the run's plan: every id and reference becomes
 * `<targetId>:<id>`, and every phase, task and epic without a `target` gets `targetId`. A
 * `target` that names another target is kept as written, for {@link foreignTargetProblems}
 * to report. Sources (`file`, `line`) stay relative to the target's plan.
 *
 * @example
 * namespacePlan(roadmap, 'api').tasks[0]?.id; // 'api:1.1.1'
 */
export function namespacePlan(plan: Plan, targetId: string): Plan {
  const renamed = renamePlanIds(plan, (id) => namespacedId(targetId, id));
  const own = <T extends { target?: string | undefined }>(x: T): T =>
    x.target === undefined ? { ...x, target: targetId } : x;
  return {
    ...renamed,
    phases: renamed.phases.map(own),
    tasks: renamed.tasks.map(own),
    ...(renamed.epics ? { epics: renamed.epics.map(own) } : {}),
  };
}

/** One target's own plan, as read from its repository (not yet namespaced). */
export interface TargetPlanPart {
  targetId: string;
  plan: Plan;
}

/**
 * The run's plan: the main plan (null when the main repository has none) plus each
 * target's plan, namespaced. Name, description, format and source come from the main plan,
 * else the first part. Personas are united; on the same role the main plan's (then the
 * earlier part's) wins. References across plans (`dependsOn: [api:1.2]`) are kept for
 * validation to resolve. With no parts, the main plan itself is returned.
 *
 * @example
 * combinePlans(mainPlan, [{ targetId: 'api', plan: apiRoadmap }]).phases.map((p) => p.id); // ['S001', 'api:1.1']
 */
export function combinePlans(main: Plan | null, parts: readonly TargetPlanPart[]): Plan {
  if (main && parts.length === 0) return main;
  const plans = [...(main ? [main] : []), ...parts.map((p) => namespacePlan(p.plan, p.targetId))];
  const head = plans[0];
  if (head === undefined) throw new RangeError('combinePlans needs a main plan or at least one target plan');
  const personas: Plan['personas'] = [];
  const earlier = new Set<string>();
  for (const p of plans) {
    // Duplicates inside one plan stay, so validation still reports them.
    personas.push(...p.personas.filter((x) => !earlier.has(x.role)));
    for (const x of p.personas) earlier.add(x.role);
  }
  const epics = plans.some((p) => p.epics) ? plans.flatMap((p) => p.epics ?? []) : undefined;
  return {
    name: head.name,
    ...(head.description !== undefined ? { description: head.description } : {}),
    format: head.format,
    source: head.source,
    milestones: plans.flatMap((p) => p.milestones),
    phases: plans.flatMap((p) => p.phases),
    tasks: plans.flatMap((p) => p.tasks),
    personas,
    ...(epics ? { epics } : {}),
  };
}

/**
 * A copy of the plan with every `file` of every source (`source`, `statusSource`,
 * `dependsOnSource`, `blocksSource`) passed through `relabel`: used to name a target's
 * files from the main repository in messages (`roadmap.md` → `../api/roadmap.md`).
 *
 * @example
 * relabelSources(plan, (file) => `../api/${file}`).tasks[0]?.source.file; // '../api/roadmap.md'
 */
export function relabelSources(plan: Plan, relabel: (file: string) => string): Plan {
  const at = (s: Source): Source => ({ ...s, file: relabel(s.file) });
  const move = <T extends { source: Source; statusSource?: Source | undefined }>(x: T): T => {
    const out = { ...x, source: at(x.source) };
    if (x.statusSource) out.statusSource = at(x.statusSource);
    const deps = (x as { dependsOnSource?: Source }).dependsOnSource;
    if (deps) (out as { dependsOnSource?: Source }).dependsOnSource = at(deps);
    const blocks = (x as { blocksSource?: Source }).blocksSource;
    if (blocks) (out as { blocksSource?: Source }).blocksSource = at(blocks);
    return out;
  };
  return {
    ...plan,
    milestones: plan.milestones.map(move),
    phases: plan.phases.map(move),
    tasks: plan.tasks.map(move),
    personas: plan.personas.map((p) => ({ ...p, source: at(p.source) })),
    ...(plan.epics ? { epics: plan.epics.map(move) } : {}),
  };
}

function configuredList(configured: readonly string[]): string {
  return configured.length === 0
    ? 'no targets are configured'
    : `the configured target${configured.length === 1 ? ' is' : 's are'} ${configured.join(', ')}`;
}

/**
 * Phases, tasks and epics whose `target` is not one of the `configured` target ids, each at
 * its line.
 *
 * @example
 * unknownTargetProblems(plan, ['api']);
 * // [{ file: 'plan.yaml', line: 7, message: 'task T2 names target web, which is not configured (the configured target is api): …' }]
 */
export function unknownTargetProblems(plan: Plan, configured: readonly string[]): PlanProblem[] {
  const known = new Set(configured);
  const out: PlanProblem[] = [];
  const check = (kind: string, x: { id: string; target?: string | undefined; source: Source }) => {
    if (x.target === undefined || known.has(x.target)) return;
    out.push(
      problemAt(
        x.source,
        `${kind} ${x.id} names target ${x.target}, which is not configured (${configuredList(configured)}): fix the target or add "targets.${x.target}" to orch.config.json or config/targets.yaml`,
      ),
    );
  };
  for (const e of plan.epics ?? []) check('epic', e);
  for (const p of plan.phases) check('phase', p);
  for (const t of plan.tasks) check('task', t);
  return out;
}

/**
 * Phases, tasks and epics of target `targetId`'s own plan that name another target: a
 * target's plan holds only its own work.
 *
 * @example
 * foreignTargetProblems(apiRoadmap, 'api');
 * // [{ file: 'roadmap.md', line: 9, message: "phase 1.2 in target api's own plan names target web: …" }]
 */
export function foreignTargetProblems(plan: Plan, targetId: string): PlanProblem[] {
  const out: PlanProblem[] = [];
  const check = (kind: string, x: { id: string; target?: string | undefined; source: Source }) => {
    if (x.target === undefined || x.target === targetId) return;
    out.push(
      problemAt(
        x.source,
        `${kind} ${x.id} in target ${targetId}'s own plan names target ${x.target}: a target's plan holds only its own work, so remove the target (it is ${targetId} already) or move the ${kind} to ${x.target}'s plan or the main plan`,
      ),
    );
  };
  for (const e of plan.epics ?? []) check('epic', e);
  for (const p of plan.phases) check('phase', p);
  for (const t of plan.tasks) check('task', t);
  return out;
}

export { milestoneTarget, targetOfTask, taskTargets } from './target-of.js';
