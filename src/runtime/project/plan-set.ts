import fs from 'node:fs';
import path from 'node:path';
import type { OrchestratorConfig } from '../../core/config.js';
import {
  PlanParseError,
  PlanValidationError,
  problemAt,
  sortProblems,
  type PlanProblem,
} from '../../plan/errors.js';
import { buildPlanGraph, type PlanGraph } from '../../plan/graph.js';
import type { Plan } from '../../plan/model.js';
import type { ParsedPlan } from '../../plan/parse-directory.js';
import { parsePlanFiles, type PlanFiles } from '../../plan/parse-plan.js';
import { combinePlans, foreignTargetProblems, namespacePlan, relabelSources } from '../../plan/targets.js';
import { validatePlan } from '../../plan/validate.js';
import { OrchError } from '../../util/errors.js';
import { InvalidTaskIdError } from '../system/errors.js';
import { findPlan, planStamp, readPlanFiles } from './plan-loader.js';
import { encodeTaskId } from '../system/safe-id.js';

/**
 * The run's plan from several places (multi-repo targets): the main repository's
 * plan plus each target's own plan, read, namespaced (`api:1.2`) and validated as one, so a
 * main-plan phase can depend on `api:1.2`.
 */

/** One plan the run reads. */
export interface PlanSource {
  /** The target whose own plan this is; null for the main repository's plan. */
  target: string | null;
  /** The plan directory or file (absolute). */
  location: string;
  /** How messages name it: relative to the main repository (`plans`, `../api/roadmap.md`). */
  source: string;
}

/**
 * The plans of a run: the main plan (as {@link findPlan} finds it; when none is found, the
 * plan of a target at the main repository, `path: "."`), then one per other target with a
 * `planDir` or `roadmap` (relative to the target's `path`), in configuration order.
 * Without a main plan, a run whose targets have their own plans has no main source; with
 * no target plans, a missing main plan is `PLAN_NOT_FOUND` as before. A configured target
 * plan that does not exist is `PLAN_NOT_FOUND` naming the target.
 *
 * @example
 * findPlanSources('/work/app', config);
 * // [{ target: null, location: '/work/app/plans', source: 'plans' },
 * //  { target: 'api', location: '/work/api/roadmap.md', source: '../api/roadmap.md' }]
 */
export function findPlanSources(
  repoDir: string,
  config: Pick<OrchestratorConfig, 'planDir' | 'targets'>,
  explicitPlanDir?: string,
): PlanSource[] {
  const planned = Object.entries(config.targets ?? {}).filter(
    ([, t]) => (t.roadmap ?? t.planDir) !== undefined,
  );
  // A target at the main repository (`path: "."`) is an alias of it: its plan is the main
  // plan (when no other is found), never a second, namespaced copy.
  const aliases = planned.filter(([, t]) => isMainRepository(repoDir, t.path));
  const withPlans = planned.filter(([, t]) => !isMainRepository(repoDir, t.path));
  const out: PlanSource[] = [];
  try {
    const location = findPlan(repoDir, config, explicitPlanDir);
    out.push({ target: null, location, source: path.relative(repoDir, location) || '.' });
  } catch (err) {
    const notFound =
      explicitPlanDir === undefined && err instanceof OrchError && err.code === 'PLAN_NOT_FOUND';
    const alias = notFound ? aliases[0] : undefined;
    if (alias !== undefined) {
      const [id, t] = alias;
      const key = t.roadmap !== undefined ? 'roadmap' : 'planDir';
      const location = path.resolve(repoDir, t.path, (t.roadmap ?? t.planDir) as string);
      if (!fs.existsSync(location)) {
        throw new OrchError('PLAN_NOT_FOUND', `target ${id}'s plan ${location} does not exist`, {
          hint: `create it, or fix targets.${id}.${key} (relative to the main repository, its path ${t.path})`,
          details: { target: id, location },
        });
      }
      out.push({ target: null, location, source: path.relative(repoDir, location) || '.' });
    } else if (!(notFound && withPlans.length > 0)) throw err;
  }
  for (const [id, t] of withPlans) {
    const dir = path.resolve(repoDir, t.path);
    const rel = (t.roadmap ?? t.planDir) as string;
    const location = path.resolve(dir, rel);
    if (!fs.existsSync(location)) {
      throw new OrchError('PLAN_NOT_FOUND', `target ${id}'s plan ${location} does not exist`, {
        hint: `create it, or fix targets.${id}.${t.roadmap !== undefined ? 'roadmap' : 'planDir'} (relative to the target's path ${t.path})`,
        details: { target: id, location },
      });
    }
    out.push({ target: id, location, source: path.relative(repoDir, location) || '.' });
  }
  return out;
}

/** True when `targetPath` (relative to `repoDir`) is the main repository itself. */
function isMainRepository(repoDir: string, targetPath: string): boolean {
  const real = (p: string): string => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  return real(path.resolve(repoDir, targetPath)) === real(repoDir);
}

/** What validation of a plan set needs besides the plans. */
export interface PlanSetOptions {
  /** The run's configured agent roles (`Object.keys(config.agents)`); roles are not checked when absent. */
  agentRoles?: readonly string[];
  /** The configured target ids; targets are not checked when absent. */
  targets?: readonly string[];
  /** Each target's own agent roles, which cover the tasks that work in it (see {@link targetAgentRoles}). */
  targetAgentRoles?: Readonly<Record<string, readonly string[]>>;
  /**
   * How problems and sources name the main plan's files (by default as the plan names them,
   * relative to its directory); `orch plan` names them from the repository.
   */
  labelMain?: (file: string) => string;
}

/** One source as read: its files, what they parsed to, and its part of the combined plan. */
export interface ReadPlanSource {
  source: PlanSource;
  input: PlanFiles;
  parsed: ParsedPlan;
  /** Its plan as it appears in the combined plan (namespaced for a target). */
  plan: Plan;
}

/** A plan set read and checked, problems not yet thrown. */
export interface ReadPlanSet {
  plan: Plan;
  graph: PlanGraph;
  parts: ReadPlanSource[];
  /** Every problem, files named from the main repository for target plans. */
  problems: PlanProblem[];
  /** The combined plan with every entity's source file named as in `problems`. */
  labelled: Plan;
  /** The text of every file of every source, keyed by the name `labelled` uses. */
  files: Record<string, string>;
}

/** Where a target plan's files are, from the main repository: its directory, or a plan file's directory. */
function labelBase(s: PlanSource): string {
  const isFile = fs.statSync(s.location, { throwIfNoEntry: false })?.isFile() ?? false;
  return isFile ? path.posix.dirname(s.source.split(path.sep).join('/')) : s.source.split(path.sep).join('/');
}

/** Names a file of source `s` so a user finds it from the main repository (main plan: unchanged). */
function labeller(s: PlanSource, labelMain?: (file: string) => string): (file: string) => string {
  if (s.target === null) return labelMain ?? ((file) => file);
  const base = labelBase(s);
  return (file) => (file === s.source || base === '.' ? file : `${base}/${file}`);
}

function parseSource(
  s: PlanSource,
  labelMain?: (file: string) => string,
): { input: PlanFiles; parsed: ParsedPlan } {
  try {
    const input = readPlanFiles(s.location, s.source);
    return { input, parsed: parsePlanFiles(input) };
  } catch (err) {
    if (!(err instanceof PlanParseError)) throw err;
    if (s.target === null && labelMain === undefined) throw err;
    const label = labeller(s, labelMain);
    const what = s.target === null ? err.message : `target ${s.target} (${s.source}): ${err.message}`;
    throw new PlanParseError(label(err.file), err.line, what, {
      ...(err.hint !== undefined ? { hint: err.hint } : {}),
      cause: err,
      problems: err.problems.map((p) => ({ ...p, file: label(p.file) })),
    });
  }
}

/**
 * Reads, parses, namespaces and combines the sources, then validates the combined plan once
 * (so references across plans resolve). Throws `PlanParseError` for a source that cannot be
 * read; validation problems are returned, not thrown.
 *
 * @example
 * const { plan, problems } = readPlanSet(sources, { agentRoles: ['default'] });
 */
export function readPlanSet(sources: readonly PlanSource[], options: PlanSetOptions = {}): ReadPlanSet {
  const mains = sources.filter((s) => s.target === null);
  if (mains.length > 1 || sources.length === 0) {
    throw new OrchError(
      'PLAN_NOT_FOUND',
      sources.length === 0 ? 'there is no plan to read' : 'a plan set has more than one main plan',
      { hint: 'give one main plan and at most one plan per target' },
    );
  }
  const parts: ReadPlanSource[] = sources.map((s) => {
    const { input, parsed } = parseSource(s, options.labelMain);
    return {
      source: s,
      input,
      parsed,
      plan: s.target === null ? parsed.plan : namespacePlan(parsed.plan, s.target),
    };
  });
  const mainPart = parts.find((p) => p.source.target === null);
  const main = mainPart?.parsed.plan ?? null;
  const labelMain = options.labelMain;
  const targetParts = parts.flatMap((p) =>
    p.source.target === null ? [] : [{ part: p, targetId: p.source.target, label: labeller(p.source) }],
  );
  const plan = combinePlans(
    main,
    targetParts.map(({ part, targetId }) => ({ targetId, plan: part.parsed.plan })),
  );
  const labelled = combinePlans(
    main === null || labelMain === undefined ? main : relabelSources(main, labelMain),
    targetParts.map(({ part, targetId, label }) => ({
      targetId,
      plan: relabelSources(part.parsed.plan, label),
    })),
  );
  const graph = buildPlanGraph(plan);
  const problems: PlanProblem[] = (mainPart?.parsed.problems ?? []).map((p) =>
    labelMain === undefined ? p : { ...p, file: labelMain(p.file) },
  );
  for (const { part, targetId, label } of targetParts) {
    const relabel = (ps: readonly PlanProblem[]) => ps.map((p) => ({ ...p, file: label(p.file) }));
    problems.push(
      ...relabel(part.parsed.problems),
      ...relabel(foreignTargetProblems(part.parsed.plan, targetId)),
    );
  }
  problems.push(
    ...validatePlan(labelled, {
      graph,
      ...(options.agentRoles ? { agentRoles: options.agentRoles } : {}),
      ...(options.targets ? { targets: options.targets } : {}),
      ...(options.targetAgentRoles ? { targetAgentRoles: options.targetAgentRoles } : {}),
    }),
  );
  // A task id that cannot name a branch and a directory safely is refused with the plan,
  // before anything runs (not when its agent would be spawned).
  for (const task of labelled.tasks) {
    try {
      encodeTaskId(task.id);
    } catch (err) {
      if (!(err instanceof InvalidTaskIdError)) throw err;
      problems.push(problemAt(task.source, `${err.message}; ${err.hint ?? ''}`.trim()));
    }
  }
  const files: Record<string, string> = {};
  for (const part of parts) {
    const label = labeller(part.source, labelMain);
    for (const [file, text] of Object.entries(part.input.files)) files[label(file)] = text;
  }
  return { plan, graph, parts, problems: sortProblems(problems), labelled, files };
}

/** A plan set that parsed and validated. */
export interface LoadedPlanSet {
  plan: Plan;
  graph: PlanGraph;
  sources: PlanSource[];
}

/**
 * Reads and validates the run's plan from its sources, as {@link loadPlan} does for one: a
 * `PlanParseError` for unreadable or malformed input, a `PlanValidationError` with every
 * problem otherwise. Problems in a target's plan name its files from the main repository
 * (`../api/roadmap.md:12`); with only a main plan, plan and errors are exactly `loadPlan`'s.
 *
 * @example
 * const { plan } = loadPlanSet(findPlanSources(repo, config), planSetOptionsFor(config));
 */
export function loadPlanSet(sources: readonly PlanSource[], options: PlanSetOptions = {}): LoadedPlanSet {
  const set = readPlanSet(sources, options);
  if (set.problems.length > 0) {
    throw new PlanValidationError(sources.map((s) => s.source).join(' + '), set.problems);
  }
  return { plan: set.plan, graph: set.graph, sources: [...sources] };
}

/**
 * A fingerprint of every file of every source: it changes when any plan file of the set is
 * edited, added or removed.
 *
 * @example
 * if (planSetStamp(sources) !== lastStamp) reload();
 */
export function planSetStamp(sources: readonly PlanSource[]): string {
  return sources.map((s) => `${s.target ?? ''}>${planStamp(s.location)}`).join('\n');
}

/**
 * Each configured target's own agent roles (the keys of its `agents`), for
 * {@link PlanSetOptions.targetAgentRoles}.
 *
 * @example
 * targetAgentRoles(config); // { api: ['implementer'], web: [] }
 */
export function targetAgentRoles(config: Pick<OrchestratorConfig, 'targets'>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [id, t] of Object.entries(config.targets ?? {})) out[id] = Object.keys(t.agents ?? {});
  return out;
}

/**
 * The options a plan set is validated with for a configuration: its agent roles (plus
 * `default` when one agent command is given for every role, as `orch spawn --agent-cmd`
 * does), its target ids and each target's own agent roles. The one place these are built,
 * for `orch plan` and for a run alike.
 *
 * @example
 * planSetOptionsFor(config);
 * // { agentRoles: ['implementer', 'tester'], targets: ['api'], targetAgentRoles: { api: [] } }
 * planSetOptionsFor(config, { agentCommand: ['node', 'agent.js'] }).agentRoles;
 * // ['default', 'implementer', 'tester']
 */
export function planSetOptionsFor(
  config: Pick<OrchestratorConfig, 'agents' | 'targets'>,
  options: { agentCommand?: readonly string[] | undefined } = {},
): Required<Pick<PlanSetOptions, 'agentRoles' | 'targets' | 'targetAgentRoles'>> {
  const roles = Object.keys(config.agents);
  return {
    agentRoles: options.agentCommand ? ['default', ...roles] : roles,
    targets: Object.keys(config.targets ?? {}),
    targetAgentRoles: targetAgentRoles(config),
  };
}
