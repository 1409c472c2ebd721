import { PlanParseError } from './errors.js';
import { DEFAULT_ROLE, type Milestone, type Persona, type Phase, type Plan, type Task } from './model.js';
import type { ParsedPlan } from './parse-directory.js';
import { summarise } from './parse-project.js';
import { priorityOf } from './priority.js';
import { Reader, type MapNode } from './structured-reader.js';
import { readTree } from './structured-tree.js';

/**
 * Format C: the unified model written as YAML or JSON (`name`, `milestones[].phases[].tasks[]`,
 * optional `personas`). Shape errors (a phase without an id, a list that is a string)
 * are all collected and thrown together as one `PlanParseError`; a status word that is
 * not a status is a validation problem, like in the Markdown formats.
 */

/**
 * Reads a YAML or JSON plan (format C). `file` names the file in problems and sources.
 *
 * @example
 * const { plan } = parseStructuredPlan('name: Calc\nmilestones:\n  - id: M1\n    phases: []', 'plan.yaml', 'yaml', 'plan.yaml');
 */
export function parseStructuredPlan(
  text: string,
  file: string,
  format: 'yaml' | 'json',
  source: string,
): ParsedPlan {
  const tree = readTree(file, text, format);
  const r = new Reader(file, tree);
  if (tree.root.kind !== 'map') {
    throw new PlanParseError(
      file,
      tree.root.kind === 'null' ? 1 : r.line(tree.root),
      `${file} must be a mapping with "name" and "milestones"`,
      {
        hint: 'start the file with "name: …" and "milestones:" (docs/plan-formats.md, format C)',
      },
    );
  }
  const root = tree.root;
  if (!r.entry(root, 'milestones'))
    r.bad(root, `${file} has no "milestones" list: add "milestones:" with at least one milestone`);
  const milestones: Milestone[] = [];
  const phases: Phase[] = [];
  const tasks: Task[] = [];
  for (const mNode of r.maps(root, 'the plan', 'milestones')) {
    const mid = r.id(mNode, 'a milestone');
    if (mid === undefined) continue;
    const what = `milestone ${mid}`;
    const ms = r.status(mNode, what);
    const m: Milestone = {
      id: mid,
      title: r.str(mNode, what, 'title', 'name') ?? mid,
      phases: [],
      status: 'not_started',
      source: { file, line: r.line(mNode) },
      statusSource: { file, line: ms.line },
    };
    const mDesc = r.str(mNode, what, 'description');
    if (mDesc !== undefined) m.description = mDesc;
    for (const pNode of r.maps(mNode, what, 'phases')) {
      const phase = readPhase(r, pNode, mid, tasks);
      if (phase) {
        phases.push(phase);
        m.phases.push(phase.id);
      }
    }
    const mine = new Set(m.phases);
    m.status = ms.status ?? summarise(phases.filter((p) => mine.has(p.id)).map((p) => p.status));
    milestones.push(m);
  }
  const personas = r.maps(root, 'the plan', 'personas').flatMap((pNode): Persona[] => {
    const role = r.str(pNode, 'a persona', 'role');
    if (role === undefined) {
      r.bad(pNode, 'a persona has no role: add "role: …"');
      return [];
    }
    return [
      {
        role,
        title: r.str(pNode, `persona ${role}`, 'title') ?? role,
        capabilities: r.list(pNode, `persona ${role}`, 'capabilities'),
        constraints: r.list(pNode, `persona ${role}`, 'constraints'),
        template: r.str(pNode, `persona ${role}`, 'template') ?? '',
        source: { file, line: r.line(pNode) },
      },
    ];
  });
  if (r.shape.length > 0) {
    r.shape.sort((a, b) => a.line - b.line);
    const first = r.shape[0] ?? { line: 1, message: '' };
    throw new PlanParseError(
      file,
      first.line,
      `${file} does not have the shape of a plan: ${first.message}`,
      {
        hint: 'fix each listed line (docs/plan-formats.md, format C)',
        problems: r.shape,
      },
    );
  }
  const plan: Plan = {
    name: r.str(root, 'the plan', 'name', 'title') ?? 'plan',
    format,
    source,
    milestones,
    phases,
    tasks,
    personas,
  };
  const desc = r.str(root, 'the plan', 'description');
  if (desc !== undefined) plan.description = desc;
  return { plan, problems: r.problems };
}

function readPhase(r: Reader, pNode: MapNode, milestone: string, tasks: Task[]): Phase | undefined {
  const id = r.id(pNode, `a phase of milestone ${milestone}`);
  if (id === undefined) return undefined;
  const what = `phase ${id}`;
  const file = r.file;
  const ps = r.status(pNode, what);
  const deps = r.entry(pNode, 'dependsOn', 'depends_on', 'dependencies');
  const blocks = r.entry(pNode, 'blocks');
  const mine: Task[] = [];
  for (const tNode of r.maps(pNode, what, 'tasks')) {
    const tid = r.id(tNode, `a task of phase ${id}`);
    if (tid === undefined) continue;
    const twhat = `task ${tid}`;
    const ts = r.status(tNode, twhat);
    const task: Task = {
      id: tid,
      title: r.str(tNode, twhat, 'title', 'name') ?? tid,
      role: r.str(tNode, twhat, 'role') ?? DEFAULT_ROLE,
      phase: id,
      dependsOn: r.list(tNode, twhat, 'dependsOn', 'depends_on', 'dependencies'),
      status: ts.status ?? 'not_started',
      source: { file, line: r.line(tNode) },
      statusSource: { file, line: ts.line },
    };
    const d = r.str(tNode, twhat, 'description');
    if (d !== undefined) task.description = d;
    const target = r.str(tNode, twhat, 'target');
    if (target !== undefined) task.target = target;
    const bestOf = r.str(tNode, twhat, 'bestOf', 'best_of');
    if (bestOf !== undefined) task.bestOf = Number(bestOf.trim() || 'NaN');
    mine.push(task);
  }
  tasks.push(...mine);
  const phase: Phase = {
    id,
    title: r.str(pNode, what, 'title', 'name') ?? id,
    milestone,
    dependsOn: r.list(pNode, what, 'dependsOn', 'depends_on', 'dependencies'),
    ...(deps ? { dependsOnSource: { file, line: r.line(deps) } } : {}),
    ...(blocks
      ? { blocks: r.list(pNode, what, 'blocks'), blocksSource: { file, line: r.line(blocks) } }
      : {}),
    tasks: mine.map((t) => t.id),
    status: ps.status ?? summarise(mine.map((t) => t.status)),
    priority: priorityOf('', r.str(pNode, what, 'priority') ?? ''),
    acceptanceCriteria: r.list(pNode, what, 'acceptanceCriteria', 'acceptance_criteria'),
    definitionOfDone: r.list(pNode, what, 'definitionOfDone', 'definition_of_done', 'doneWhen', 'done_when'),
    metadata: r.record(pNode, what, 'metadata'),
    source: { file, line: r.line(pNode) },
    statusSource: { file, line: ps.line },
  };
  const d = r.str(pNode, what, 'description');
  if (d !== undefined) phase.description = d;
  const epic = r.str(pNode, what, 'epic');
  if (epic !== undefined) phase.epic = epic;
  const target = r.str(pNode, what, 'target');
  if (target !== undefined) phase.target = target;
  return phase;
}
