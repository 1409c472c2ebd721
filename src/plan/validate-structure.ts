import { problemAt as at, fileLine as where, type PlanProblem } from './errors.js';
import type { PlanGraph } from './graph.js';
import type { Plan, Source } from './model.js';
import { NO_MILESTONE } from './parse-directory.js';

/** Validation of ids and membership: duplicates, and milestones, epics and phases that name what does not exist. */

/**
 * Duplicate milestone, epic, phase/task and persona ids.
 *
 * @example
 * duplicateProblems(plan, problems);
 */
export function duplicateProblems(plan: Plan, problems: PlanProblem[]): void {
  const firstMilestone = new Map<string, Source>();
  for (const m of plan.milestones) {
    const first = firstMilestone.get(m.id);
    if (first)
      problems.push(
        at(
          m.source,
          `milestone ${m.id} is defined twice (first at ${where(first)}): give each milestone its own id`,
        ),
      );
    else firstMilestone.set(m.id, m.source);
  }
  const firstEpic = new Map<string, Source>();
  for (const e of plan.epics ?? []) {
    const first = firstEpic.get(e.id);
    if (first)
      problems.push(
        at(e.source, `epic ${e.id} is defined twice (first at ${where(first)}): give each epic its own id`),
      );
    else firstEpic.set(e.id, e.source);
  }
  const firstWork = new Map<string, { kind: string; source: Source }>();
  const dupPhases = new Set<string>();
  for (const p of plan.phases) {
    const first = firstWork.get(p.id);
    if (first) {
      dupPhases.add(p.id);
      problems.push(
        at(
          p.source,
          `phase ${p.id} is defined twice (first at ${where(first.source)}): give each phase its own id`,
        ),
      );
    } else firstWork.set(p.id, { kind: 'phase', source: p.source });
  }
  for (const t of plan.tasks) {
    const first = firstWork.get(t.id);
    if (!first) {
      firstWork.set(t.id, { kind: 'task', source: t.source });
      continue;
    }
    // In a roadmap a repeated phase repeats its task ids; the phase is the one problem.
    if (first.kind === 'task' && dupPhases.has(t.phase)) continue;
    problems.push(
      at(
        t.source,
        first.kind === 'task'
          ? `task ${t.id} is defined twice (first at ${where(first.source)}): give each task its own id`
          : `task ${t.id} has the same id as phase ${t.id} (at ${where(first.source)}): ids must be unique across phases and tasks`,
      ),
    );
  }
  const firstPersona = new Map<string, Source>();
  for (const p of plan.personas) {
    const first = firstPersona.get(p.role);
    if (first)
      problems.push(at(p.source, `role ${p.role} has two personas (the other is ${where(first)}): keep one`));
    else firstPersona.set(p.role, p.source);
  }
}

/**
 * Milestones listing unknown epics, epics in no or an unknown milestone, stories of
 * unknown epics, phases of unknown milestones, tasks of unknown phases.
 *
 * @example
 * membershipProblems(plan, buildPlanGraph(plan), problems);
 */
export function membershipProblems(plan: Plan, graph: PlanGraph, problems: PlanProblem[]): void {
  const milestoneIds = new Set(plan.milestones.map((m) => m.id));
  const epics = plan.epics;
  const epicById = new Map((epics ?? []).map((e) => [e.id, e]));
  const phaseIds = graph.phaseIndex;
  if (epics) {
    for (const m of plan.milestones) {
      for (const e of m.epics ?? []) {
        if (!epicById.has(e)) {
          problems.push(
            at(
              m.source,
              `milestone ${m.id} lists epic ${e}, which has no file in epics/: add epics/${e}-….md or remove ${e} from the milestone`,
            ),
          );
        }
      }
    }
    for (const e of epics) {
      if (e.milestone === undefined) {
        problems.push(
          at(
            e.source,
            `epic ${e.id} is in no milestone: list it under a milestone in project.md or add "- **Milestone**: M1" to its metadata`,
          ),
        );
      } else if (!milestoneIds.has(e.milestone)) {
        problems.push(
          at(
            e.source,
            `epic ${e.id} names milestone ${e.milestone}, which project.md does not define: add "### ${e.milestone}: …" under "## Milestones" or fix the id`,
          ),
        );
      }
      for (const s of e.stories) {
        if (!phaseIds.has(s)) {
          problems.push(
            at(
              e.source,
              `epic ${e.id} lists story ${s}, which has no file under stories/: add stories/${e.id}/${s}-….md or remove it from the epic's Stories`,
            ),
          );
        }
      }
    }
  }
  for (const p of plan.phases) {
    const epic = p.epic === undefined ? undefined : epicById.get(p.epic);
    if (epics && p.epic !== undefined && !epic) {
      problems.push(
        at(
          p.source,
          `story ${p.id} belongs to epic ${p.epic}, which has no file in epics/: add epics/${p.epic}-….md or fix the story's Epic`,
        ),
      );
      continue;
    }
    // An epic's missing or unknown milestone is reported once, on the epic.
    if (epic && epic.milestone === (p.milestone === NO_MILESTONE ? undefined : p.milestone)) continue;
    if (p.milestone === NO_MILESTONE) {
      problems.push(at(p.source, `phase ${p.id} is in no milestone: give it (or its epic) a milestone`));
    } else if (!milestoneIds.has(p.milestone)) {
      problems.push(
        at(
          p.source,
          `phase ${p.id} belongs to milestone ${p.milestone}, which the plan does not define: fix the milestone id or define it`,
        ),
      );
    }
  }
  for (const t of plan.tasks) {
    if (!phaseIds.has(t.phase)) {
      problems.push(
        at(
          t.source,
          `task ${t.id} belongs to phase ${t.phase}, which the plan does not define: fix the phase id`,
        ),
      );
    }
  }
}

/** Most lanes a best-of-N attempt may run (`bestOf`). */
export const MAX_BEST_OF = 16;

/**
 * Tasks whose `bestOf` is not a whole number from 1 to {@link MAX_BEST_OF}.
 *
 * @example
 * bestOfProblems(plan, problems);
 */
export function bestOfProblems(plan: Plan, problems: PlanProblem[]): void {
  for (const t of plan.tasks) {
    if (t.bestOf === undefined) continue;
    if (Number.isInteger(t.bestOf) && t.bestOf >= 1 && t.bestOf <= MAX_BEST_OF) continue;
    problems.push(
      at(
        t.source,
        `task ${t.id} has bestOf ${String(t.bestOf)}: write a whole number from 1 to ${MAX_BEST_OF} (the agents run at once for each attempt)`,
      ),
    );
  }
}
