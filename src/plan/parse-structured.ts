import { PlanParseError, type PlanProblem } from './errors.js';
import {
  DEFAULT_ROLE,
  type DeclaredStatus,
  type Milestone,
  type Persona,
  type Phase,
  type Plan,
  type Task,
} from './model.js';
import type { ParsedPlan } from './parse-directory.js';
import { badStatus, summarise } from './parse-project.js';
import { priorityOf } from './parse-stories.js';
import { readTree, type Tree, type TreeEntry, type TreeNode } from './structured-tree.js';
import { parseRefList, parseStatus } from './text.js';

/**
 * Format C: the unified model written as YAML or JSON (`name`, `milestones[].phases[].tasks[]`,
 * optional `personas`). Shape errors (a phase without an id, a list that is a string)
 * are all collected and thrown together as one `PlanParseError`; a status word that is
 * not a status is a validation problem, like in the Markdown formats.
 */

type MapNode = Extract<TreeNode, { kind: 'map' }>;

class Reader {
  readonly shape: PlanProblem[] = [];
  readonly problems: PlanProblem[] = [];
  constructor(
    readonly file: string,
    readonly tree: Tree,
  ) {}

  line(node: TreeNode | TreeEntry): number {
    return this.tree.lineOf('keyStart' in node ? node.keyStart : node.start);
  }

  bad(node: TreeNode | TreeEntry, message: string): void {
    this.shape.push({ file: this.file, line: this.line(node), message });
  }

  entry(map: MapNode, ...keys: string[]): TreeEntry | undefined {
    return map.entries.find((e) => keys.includes(e.key));
  }

  str(map: MapNode, what: string, ...keys: string[]): string | undefined {
    const e = this.entry(map, ...keys);
    if (!e || e.value.kind === 'null') return undefined;
    if (e.value.kind !== 'scalar') {
      this.bad(
        e,
        `${what}: "${e.key}" must be a single value, not a ${e.value.kind === 'map' ? 'mapping' : 'list'}`,
      );
      return undefined;
    }
    return e.value.value;
  }

  list(map: MapNode, what: string, ...keys: string[]): string[] {
    const e = this.entry(map, ...keys);
    if (!e || e.value.kind === 'null') return [];
    if (e.value.kind === 'scalar') return parseRefList(e.value.value);
    if (e.value.kind === 'map') {
      this.bad(e, `${what}: "${e.key}" must be a list of strings`);
      return [];
    }
    const out: string[] = [];
    for (const item of e.value.items) {
      if (item.kind === 'scalar') out.push(item.value);
      else if (item.kind !== 'null') this.bad(item, `${what}: every item of "${e.key}" must be a string`);
    }
    return out;
  }

  maps(map: MapNode, what: string, key: string): MapNode[] {
    const e = this.entry(map, key);
    if (!e || e.value.kind === 'null') return [];
    if (e.value.kind !== 'seq') {
      this.bad(e, `${what}: "${key}" must be a list`);
      return [];
    }
    return e.value.items.flatMap((item) => {
      if (item.kind === 'map') return [item];
      this.bad(item, `${what}: each item of "${key}" must be a mapping with an id`);
      return [];
    });
  }

  id(map: MapNode, what: string): string | undefined {
    const id = this.str(map, what, 'id');
    if (id === undefined || id.trim() === '') {
      this.bad(map, `${what} has no id: add "id: …"`);
      return undefined;
    }
    return id.trim();
  }

  status(map: MapNode, what: string): { status: DeclaredStatus | undefined; line: number } {
    const e = this.entry(map, 'status');
    const value = this.str(map, what, 'status');
    if (value === undefined || !e) return { status: undefined, line: this.line(map) };
    const status = parseStatus(value);
    if (status === undefined) this.problems.push(badStatus(this.file, this.line(e), what, value));
    return { status, line: this.line(e) };
  }

  record(map: MapNode, what: string, key: string): Record<string, string> {
    const e = this.entry(map, key);
    if (!e || e.value.kind === 'null') return {};
    if (e.value.kind !== 'map') {
      this.bad(e, `${what}: "${key}" must be a mapping of names to text`);
      return {};
    }
    const out: Record<string, string> = {};
    for (const inner of e.value.entries) {
      if (inner.value.kind === 'scalar') out[inner.key] = inner.value.value;
      else this.bad(inner, `${what}: "${key}.${inner.key}" must be text`);
    }
    return out;
  }
}

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
        hint: 'start the file with "name: …" and "milestones:" (PLAN-FORMATS.md, format C)',
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
        hint: 'fix each listed line (PLAN-FORMATS.md, format C)',
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
