import type { PlanProblem } from './errors.js';
import { field, fieldValues, readFields, type Field } from './fields.js';
import { heading, listItem, paragraphText, type MdLine } from './markdown.js';
import { DEFAULT_ROLE, type DeclaredStatus, type Milestone, type Phase, type Task } from './model.js';
import { badStatus, summarise } from './parse-project.js';
import { priorityOf } from './priority.js';
import { checkboxStatus, parseStatus } from './status.js';
import { parseTaskLine, roleName, targetName } from './task-line.js';
import { parseRefList, stripEmoji, stripInline } from './text.js';

/** Format B: the inside of one `### Phase N.M` section. */

const PLAIN_KEYS = new Set([
  'status',
  'assigned to',
  'depends on',
  'dependencies',
  'tasks',
  'done when',
  'effort',
  'priority',
]);
const KNOWN = new Set([
  'status',
  'state',
  'assigned to',
  'assignee',
  'role',
  'owner',
  'agent',
  'depends on',
  'dependencies',
  'depends',
  'blocked by',
  'prerequisites',
  'tasks',
  'subtasks',
  'checklist',
  'done when',
  'definition of done',
  'exit criteria',
  'acceptance criteria',
  'success criteria',
  'description',
  'goal',
  'objective',
  'priority',
  'target',
]);

/** A `Phase N.M` heading and the lines under it, up to the next heading at its level. */
export interface PhaseBlock {
  line: MdLine;
  level: number;
  id: string;
  headingText: string;
  title: string;
  body: MdLine[];
  milestone: Milestone;
}

/**
 * Reads one roadmap phase: its `- **Key:** value` fields (Status, Assigned To, Depends
 * On, Tasks, Done When, …), `#### Tasks`-style sub-sections, loose checklist items,
 * and paragraphs (the description). Other keys become metadata.
 *
 * @example
 * const { phase, tasks } = readRoadmapPhase('roadmap.md', block, problems);
 */
export function readRoadmapPhase(
  file: string,
  b: PhaseBlock,
  problems: PlanProblem[],
): { phase: Phase; tasks: Task[] } {
  const main: MdLine[] = [];
  const subsections: { name: string; body: MdLine[] }[] = [];
  for (const line of b.body) {
    const h = heading(line);
    if (h) subsections.push({ name: stripInline(stripEmoji(h.text)).toLowerCase(), body: [] });
    else if (subsections.length > 0) subsections.at(-1)?.body.push(line);
    else main.push(line);
  }
  const { fields, rest } = readFields(main, PLAIN_KEYS);
  const statusField = field(fields, 'status', 'state');
  let status: DeclaredStatus | undefined;
  if (statusField) {
    status = parseStatus(statusField.value);
    if (status === undefined)
      problems.push(badStatus(file, statusField.line.n, `phase ${b.id}`, statusField.value));
  }
  const roleField = field(fields, 'assigned to', 'assignee', 'role', 'owner', 'agent');
  const role = (roleField && roleName(roleField.value)) ?? DEFAULT_ROLE;
  const depField = field(fields, 'depends on', 'dependencies', 'depends', 'blocked by', 'prerequisites');
  const target = targetName(field(fields, 'target')?.value);
  const taskItems: { line: MdLine; text: string; checkbox: string | undefined; indent: number }[] = [];
  const pushItems = (
    items: readonly { line: MdLine; item: { indent: number; checkbox: string | undefined; text: string } }[],
  ): void => {
    for (const { line, item } of items)
      taskItems.push({ line, text: item.text, checkbox: item.checkbox, indent: item.indent });
  };
  const listFrom = (lines: MdLine[]): { line: MdLine; item: NonNullable<ReturnType<typeof listItem>> }[] =>
    lines.flatMap((line) => {
      const item = listItem(line);
      return item && item.text !== '' ? [{ line, item }] : [];
    });
  const taskField = field(fields, 'tasks', 'subtasks', 'checklist');
  if (taskField) pushItems(taskField.items);
  const dod = [...valuesOf(field(fields, 'done when', 'definition of done', 'exit criteria'))];
  const ac = [...valuesOf(field(fields, 'acceptance criteria', 'success criteria'))];
  const description: string[] = [];
  const descField = field(fields, 'description', 'goal', 'objective');
  if (descField) description.push(fieldValues(descField).join('\n'));
  for (const sub of subsections) {
    if (/^(tasks|subtasks|checklist)\b/.test(sub.name)) pushItems(listFrom(sub.body));
    else if (/^(done when|definition of done|exit criteria)\b/.test(sub.name))
      dod.push(...listFrom(sub.body).map((i) => stripInline(i.item.text)));
    else if (/^(acceptance criteria|success criteria)\b/.test(sub.name))
      ac.push(...listFrom(sub.body).map((i) => stripInline(i.item.text)));
    else description.push(paragraphText(sub.body));
  }
  const loose = listFrom(rest);
  // Checklist items written straight under the heading are the tasks when there is no Tasks field.
  if (!taskField && !subsections.some((s) => /^(tasks|subtasks|checklist)\b/.test(s.name))) {
    pushItems(loose.filter((i) => i.item.checkbox !== undefined));
  }
  const para = paragraphText(rest.filter((l) => !listItem(l)));
  if (para !== '') description.unshift(para);
  const tasks = buildTasks(file, b.id, role, taskItems);
  const metadata: Record<string, string> = {};
  for (const f of fields) if (!KNOWN.has(f.norm)) metadata[f.key] = fieldValues(f).join('\n');
  const desc = description.filter((d) => d !== '').join('\n\n');
  const phase: Phase = {
    id: b.id,
    title: b.title,
    milestone: b.milestone.id,
    dependsOn: depField ? fieldValues(depField).flatMap(parseRefList) : [],
    ...(depField ? { dependsOnSource: { file, line: depField.line.n } } : {}),
    tasks: tasks.map((t) => t.id),
    status: status ?? summarise(tasks.map((t) => t.status)),
    priority: priorityOf(b.headingText, field(fields, 'priority')?.value),
    ...(desc !== '' ? { description: desc } : {}),
    acceptanceCriteria: ac,
    definitionOfDone: dod,
    metadata,
    ...(target !== undefined ? { target } : {}),
    source: { file, line: b.line.n },
    ...(status !== undefined && statusField ? { statusSource: { file, line: statusField.line.n } } : {}),
  };
  return { phase, tasks };
}

function valuesOf(f: Field | undefined): string[] {
  return f ? fieldValues(f).map(stripInline) : [];
}

function buildTasks(
  file: string,
  phaseId: string,
  role: string,
  items: { line: MdLine; text: string; checkbox: string | undefined; indent: number }[],
): Task[] {
  const tasks: Task[] = [];
  const notes = new Map<Task, string[]>();
  const base = items[0]?.indent ?? 0;
  for (const it of items) {
    const last = tasks.at(-1);
    if (it.indent > base && last) {
      notes.get(last)?.push(stripInline(it.text));
      continue;
    }
    const parsed = parseTaskLine(it.text, false);
    const task: Task = {
      id: `${phaseId}.${tasks.length + 1}`,
      title: parsed.title,
      role: parsed.role ?? role,
      phase: phaseId,
      dependsOn: parsed.dependsOn,
      status: checkboxStatus(it.checkbox ?? ''),
      ...(parsed.target !== undefined ? { target: parsed.target } : {}),
      ...(parsed.bestOf !== undefined ? { bestOf: parsed.bestOf } : {}),
      source: { file, line: it.line.n },
      statusSource: { file, line: it.line.n },
    };
    notes.set(task, [...parsed.notes]);
    tasks.push(task);
  }
  for (const [task, lines] of notes) if (lines.length > 0) task.description = lines.join('\n');
  return tasks;
}
