import { findCycles } from './cycles.js';
import { PlanValidationError, sortProblems, type PlanProblem } from './errors.js';
import { buildPlanGraph, type PlanGraph } from './graph.js';
import type { Phase, Plan, Source, Task } from './model.js';
import { NO_MILESTONE, type ParsedPlan } from './parse-directory.js';
import { naturalCompare } from './text.js';

/** What validation needs besides the plan. */
export interface ValidateOptions {
  /**
   * The roles that have a configured agent (the keys of config `agents`). A `default`
   * agent covers every role. When omitted, roles are not checked.
   */
  agentRoles?: readonly string[];
  /** A graph already built for this plan (saves building it twice). */
  graph?: PlanGraph;
}

const at = (source: Source, message: string): PlanProblem => ({
  file: source.file,
  line: source.line,
  message,
});
const where = (s: Source): string => `${s.file}:${s.line}`;

/**
 * Every semantic problem of a plan, sorted by file and line: duplicate ids, dependencies
 * on unknown ids, dependency cycles (named, e.g. `S002 → S004 → S002`), `Blocks` that
 * disagree with `Dependencies`, roles with neither a persona nor an agent, milestones
 * that list unknown epics, phases in no milestone.
 *
 * @example
 * const problems = validatePlan(plan, { agentRoles: Object.keys(config.agents) });
 */
export function validatePlan(plan: Plan, options: ValidateOptions = {}): PlanProblem[] {
  const graph = options.graph ?? buildPlanGraph(plan);
  const problems: PlanProblem[] = [];
  duplicates(plan, problems);
  memberships(plan, graph, problems);
  unknownDependencies(plan, graph, problems);
  cycles(plan, graph, problems);
  blocks(plan, graph, problems);
  if (options.agentRoles) roles(plan, options.agentRoles, problems);
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

function duplicates(plan: Plan, problems: PlanProblem[]): void {
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

function memberships(plan: Plan, graph: PlanGraph, problems: PlanProblem[]): void {
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

function suggestion(id: string, known: Iterable<string>): string {
  const lower = id.toLowerCase();
  for (const k of known) if (k.toLowerCase() === lower) return ` (did you mean ${k}?)`;
  return '';
}

function unknownDependencies(plan: Plan, graph: PlanGraph, problems: PlanProblem[]): void {
  const { phaseIndex, taskIndex } = graph;
  for (const p of plan.phases) {
    const src = p.dependsOnSource ?? p.source;
    for (const d of p.dependsOn) {
      if (phaseIndex.has(d)) continue;
      const task = taskIndex.get(d);
      const owner = task === undefined ? undefined : plan.tasks[task]?.phase;
      problems.push(
        at(
          src,
          owner !== undefined
            ? `phase ${p.id} depends on ${d}, which is a task, and phases depend only on phases: depend on its phase ${owner} instead`
            : `phase ${p.id} depends on ${d}, which is not a phase of this plan${suggestion(d, phaseIndex.keys())}: fix the id or remove it from the dependencies`,
        ),
      );
    }
  }
  for (const t of plan.tasks) {
    for (const d of t.dependsOn) {
      if (taskIndex.has(d) || phaseIndex.has(d)) continue;
      problems.push(
        at(
          t.source,
          `task ${t.id} depends on ${d}, which is not a task or phase of this plan${suggestion(d, taskIndex.keys())}: fix the id or remove it`,
        ),
      );
    }
  }
  const epicIds = new Set((plan.epics ?? []).map((e) => e.id));
  for (const e of plan.epics ?? []) {
    for (const d of e.dependsOn) {
      if (epicIds.has(d) || phaseIndex.has(d)) continue;
      problems.push(
        at(
          e.dependsOnSource ?? e.source,
          `epic ${e.id} depends on ${d}, which is not an epic or story of this plan: fix the id or remove it`,
        ),
      );
    }
  }
}

function cycles(plan: Plan, graph: PlanGraph, problems: PlanProblem[]): void {
  const { phaseIndex, taskIndex } = graph;
  const T = graph.taskIds.length;
  const P = graph.phaseIds.length;
  // Phases among themselves first: those cycles are the ones people write.
  const phaseEdges = edgesOf(P, plan.phases, (p, i) =>
    phaseIndex.get(p.id) === i ? p.dependsOn.map((d) => phaseIndex.get(d)) : [],
  );
  const byPhaseId = (a: number, b: number): number =>
    naturalCompare(graph.phaseIds[a] ?? '', graph.phaseIds[b] ?? '');
  const phaseCycles = findCycles(P, phaseEdges[0], phaseEdges[1], byPhaseId);
  for (const c of phaseCycles) {
    const ids = c.map((i) => graph.phaseIds[i] ?? '');
    const first = plan.phases[c[0] ?? 0] as Phase;
    problems.push(
      at(
        first.dependsOnSource ?? first.source,
        ids.length === 1
          ? `phase ${ids[0]} depends on itself: remove ${ids[0]} from its own dependencies`
          : `dependency cycle between phases: ${[...ids, ids[0]].join(' → ')}: remove one of these dependencies`,
      ),
    );
  }
  const taskEdges = edgesOf(T, plan.tasks, (t, i) =>
    taskIndex.get(t.id) === i ? t.dependsOn.map((d) => taskIndex.get(d)) : [],
  );
  const byTaskId = (a: number, b: number): number =>
    naturalCompare(graph.taskIds[a] ?? '', graph.taskIds[b] ?? '');
  const taskCycles = findCycles(T, taskEdges[0], taskEdges[1], byTaskId);
  for (const c of taskCycles) {
    const ids = c.map((i) => graph.taskIds[i] ?? '');
    const first = plan.tasks[c[0] ?? 0] as Task;
    problems.push(
      at(
        first.source,
        ids.length === 1
          ? `task ${ids[0]} depends on itself: remove ${ids[0]} from its own dependencies`
          : `dependency cycle between tasks: ${[...ids, ids[0]].join(' → ')}: remove one of these dependencies`,
      ),
    );
  }
  if (phaseCycles.length > 0 || taskCycles.length > 0) return;
  // Cycles that only close through a phase waiting for its tasks.
  if (graph.order.length === graph.nodeCount) return;
  const label = (v: number): string =>
    v < T ? `task ${graph.taskIds[v] ?? ''}` : `phase ${graph.phaseIds[v < T + P ? v - T : v - T - P] ?? ''}`;
  const byLabel = (a: number, b: number): number => naturalCompare(label(a), label(b));
  for (const found of findCycles(graph.nodeCount, graph.reqStart, graph.req, byLabel)) {
    // Start the story at the cycle's first task (by id): that is the line to point at.
    const tasksIn = found.filter((v) => v < T).sort(byTaskId);
    const k = tasksIn[0] === undefined ? 0 : found.indexOf(tasksIn[0]);
    const c = [...found.slice(k), ...found.slice(0, k)];
    const names: string[] = [];
    for (const v of c) if (names[names.length - 1] !== label(v)) names.push(label(v));
    if (names.length > 1 && names[0] === names[names.length - 1]) names.pop();
    const first = c[0] ?? 0;
    const source = first < T ? plan.tasks[first]?.source : plan.phases[first - T]?.source;
    problems.push(
      at(
        source ?? { file: plan.source, line: 0 },
        `dependency cycle through a phase and its tasks: ${[...names, names[0]].join(' → ')} (a task waits for a phase that waits for the task): remove one of these dependencies`,
      ),
    );
  }
}

function edgesOf<E>(
  n: number,
  items: readonly E[],
  deps: (item: E, i: number) => (number | undefined)[],
): [Int32Array, Int32Array] {
  const start = new Int32Array(n + 1);
  const adj: number[] = [];
  items.forEach((item, i) => {
    for (const d of deps(item, i)) if (d !== undefined) adj.push(d);
    start[i + 1] = adj.length;
  });
  return [start, Int32Array.from(adj)];
}

// Blocks: [X] on P must match P in X's dependencies. The reverse is checked only for a
// non-empty Blocks list: an empty one usually means "not filled in".
function blocks(plan: Plan, graph: PlanGraph, problems: PlanProblem[]): void {
  const byId = new Map<string, Phase>();
  for (const p of plan.phases) if (!byId.has(p.id)) byId.set(p.id, p);
  const epicDeps = new Map((plan.epics ?? []).map((e) => [e.id, new Set(e.dependsOn)]));
  const inherited = (x: Phase, dep: Phase): boolean =>
    x.epic !== undefined && dep.epic !== undefined && (epicDeps.get(x.epic)?.has(dep.epic) ?? false);
  for (const p of plan.phases) {
    if (!p.blocks) continue;
    const src = p.blocksSource ?? p.source;
    for (const x of p.blocks) {
      const target = byId.get(x);
      if (!target) {
        problems.push(
          at(
            src,
            `phase ${p.id} blocks ${x}, which is not a phase of this plan${suggestion(x, graph.phaseIndex.keys())}: fix the id or remove it from Blocks`,
          ),
        );
      } else if (!target.dependsOn.includes(p.id)) {
        problems.push(
          at(
            src,
            `phase ${p.id} says it blocks ${x}, but ${x} does not depend on ${p.id}: add ${p.id} to ${x}'s Dependencies or remove ${x} from ${p.id}'s Blocks`,
          ),
        );
      }
    }
  }
  for (const x of plan.phases) {
    for (const d of x.dependsOn) {
      const dep = byId.get(d);
      if (!dep?.blocks || dep.blocks.length === 0 || dep.blocks.includes(x.id) || inherited(x, dep)) continue;
      problems.push(
        at(
          dep.blocksSource ?? dep.source,
          `phase ${x.id} depends on ${dep.id}, but ${dep.id}'s Blocks does not list ${x.id}: add ${x.id} to ${dep.id}'s Blocks`,
        ),
      );
    }
  }
}

function roles(plan: Plan, agentRoles: readonly string[], problems: PlanProblem[]): void {
  if (agentRoles.includes('default')) return;
  const covered = new Set([...agentRoles, ...plan.personas.map((p) => p.role)]);
  const missing = new Map<string, Task[]>();
  for (const t of plan.tasks) {
    if (covered.has(t.role)) continue;
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
      at(
        first.source,
        role === 'default'
          ? `role default (task${tasks.length === 1 ? '' : 's'} ${names}, which name no role) has no persona and no configured agent: add an "agents.default" entry in orch.config or personas/default.md`
          : `role ${role} (task${tasks.length === 1 ? '' : 's'} ${names}) has no persona and no configured agent: add personas/${role}.md, an "agents.${role}" entry in orch.config, or an "agents.default"`,
      ),
    );
  }
}
