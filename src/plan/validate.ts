import { PlanValidationError, problemAt, sortProblems, type PlanProblem } from './errors.js';
import { buildPlanGraph, type PlanGraph } from './graph.js';
import type { Plan, Task } from './model.js';
import type { ParsedPlan } from './parse-directory.js';
import { blocksProblems, cycleProblems, unknownDependencyProblems } from './validate-dependencies.js';
import { unknownTargetProblems } from './targets.js';
import { bestOfProblems, duplicateProblems, membershipProblems } from './validate-structure.js';

/** What validation needs besides the plan. */
export interface ValidateOptions {
  /**
   * The roles that have a configured agent (the keys of config `agents`). A `default`
   * agent covers every role. When omitted, roles are not checked.
   */
  agentRoles?: readonly string[];
  /** A graph already built for this plan (saves building it twice). */
  graph?: PlanGraph;
  /**
   * The configured target ids (multi-repo targets). A phase, task or epic naming any other
   * target is a problem. When omitted, targets are not checked.
   */
  targets?: readonly string[];
  /**
   * Roles configured for one target's tasks only (its `agents`), by target id: they count,
   * like `agentRoles`, for the tasks that work in that target.
   */
  targetAgentRoles?: Readonly<Record<string, readonly string[]>>;
}

/**
 * Every semantic problem of a plan, sorted by file and line: duplicate ids, dependencies
 * on unknown ids, dependency cycles (named, e.g. `S002 → S004 → S002`), `Blocks` that
 * disagree with `Dependencies`, roles with neither a persona nor an agent, milestones
 * that list unknown epics, phases in no milestone, targets that are not configured.
 *
 * @example
 * const problems = validatePlan(plan, { agentRoles: Object.keys(config.agents) });
 */
export function validatePlan(plan: Plan, options: ValidateOptions = {}): PlanProblem[] {
  const graph = options.graph ?? buildPlanGraph(plan);
  const problems: PlanProblem[] = [];
  duplicateProblems(plan, problems);
  bestOfProblems(plan, problems);
  membershipProblems(plan, graph, problems);
  unknownDependencyProblems(plan, graph, problems);
  cycleProblems(plan, graph, problems);
  blocksProblems(plan, graph, problems);
  if (options.agentRoles) roles(plan, options.agentRoles, options.targetAgentRoles ?? {}, problems);
  if (options.targets) problems.push(...unknownTargetProblems(plan, options.targets));
  return sortProblems(problems);
}

/**
 * Validates a parsed plan and returns it, or throws `PlanValidationError` with the
 * parser's problems and validation's problems together.
 *
 * @example
 * const plan = checkPlan(parseRoadmap(text, 'roadmap.md', 'plans/roadmap.md'), { agentRoles: ['default'] });
 */
export function checkPlan(parsed: ParsedPlan, options: ValidateOptions = {}): Plan {
  const problems = sortProblems([...parsed.problems, ...validatePlan(parsed.plan, options)]);
  if (problems.length > 0) throw new PlanValidationError(parsed.plan.source, problems);
  return parsed.plan;
}

function roles(
  plan: Plan,
  agentRoles: readonly string[],
  targetRoles: Readonly<Record<string, readonly string[]>>,
  problems: PlanProblem[],
): void {
  if (agentRoles.includes('default')) return;
  const covered = new Set([...agentRoles, ...plan.personas.map((p) => p.role)]);
  const phaseTarget = new Map(plan.phases.map((p) => [p.id, p.target]));
  const coveredInTarget = (t: Task): boolean => {
    const target = t.target ?? phaseTarget.get(t.phase);
    const own =
      target === undefined ? undefined : Object.hasOwn(targetRoles, target) ? targetRoles[target] : undefined;
    return own !== undefined && (own.includes(t.role) || own.includes('default'));
  };
  const missing = new Map<string, Task[]>();
  for (const t of plan.tasks) {
    if (covered.has(t.role) || coveredInTarget(t)) continue;
    const list = missing.get(t.role);
    if (list) list.push(t);
    else missing.set(t.role, [t]);
  }
  for (const [role, tasks] of missing) {
    const first = tasks[0] as Task;
    const names =
      tasks
        .slice(0, 3)
        .map((t) => t.id)
        .join(', ') + (tasks.length > 3 ? ` and ${tasks.length - 3} more` : '');
    problems.push(
      problemAt(
        first.source,
        role === 'default'
          ? `role default (task${tasks.length === 1 ? '' : 's'} ${names}, which name${tasks.length === 1 ? 's' : ''} no role) has no persona and no configured agent: add an "agents.default" entry in orch.config or personas/default.md`
          : `role ${role} (task${tasks.length === 1 ? '' : 's'} ${names}) has no persona and no configured agent: add personas/${role}.md, an "agents.${role}" entry in orch.config, or an "agents.default"`,
      ),
    );
  }
}
