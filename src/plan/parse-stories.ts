import type { PlanProblem } from './errors.js';
import { field } from './fields.js';
import { listItem, listTexts, type MdLine } from './markdown.js';
import { DEFAULT_ROLE, type Epic, type Phase, type Task } from './model.js';
import { priorityOf, withoutMarkers } from './priority.js';
import { checkboxStatus } from './status.js';
import {
  cut,
  descriptionOf,
  headingOf,
  metadataFields,
  metadataRecord,
  refs,
  section,
  statusOf,
  texts,
} from './story-doc.js';
import { parseTaskLine, roleName, targetName } from './task-line.js';
import { parseRefList, splitIdTitle, stripInline } from './text.js';

/**
 * Epic and story files of a plan directory (format A). Both are a `# ID: Title` heading,
 * a `## Metadata` list of `- **Key**: value` fields and list sections; a story adds
 * `## Tasks` lines `- [ ] T002: title | role:x | depends:T001`.
 */

/** `- **Target**: api`: the multi-repo target of a story or epic (docs/plan-formats.md, "Targets"). */
const TARGET_KEYS = ['target'];

/**
 * Reads an epic file (`epics/E001-*.md`); undefined (with a problem) when it has no id.
 *
 * @example
 * parseEpic('epics/E001-core.md', '# E001: Core\n## Metadata\n- **Milestone**: M1\n## Stories\n- [ ] S001: API', []);
 */
export function parseEpic(file: string, text: string, problems: PlanProblem[]): Epic | undefined {
  const doc = cut(text);
  const head = headingOf(file, doc, 'epic', problems);
  if (!head) return undefined;
  const fields = metadataFields(doc);
  const { status, line } = statusOf(file, fields, `epic ${head.id}`, problems);
  const deps = field(fields, 'dependencies', 'depends on', 'depends');
  const stories = listTexts(section(doc, /^stories/)?.body ?? [])
    .map((i) => splitIdTitle(i.text).id)
    .filter((id): id is string => id !== undefined);
  const milestone = field(fields, 'milestone')?.value;
  const target = targetName(field(fields, ...TARGET_KEYS)?.value);
  return {
    id: head.id,
    title: head.title,
    ...(milestone ? { milestone: parseRefList(milestone)[0] ?? milestone } : {}),
    dependsOn: refs(deps),
    stories,
    status: status ?? 'not_started',
    acceptanceCriteria: texts(doc, /^acceptance criteria/),
    metadata: metadataRecord(
      fields,
      new Set(['status', 'dependencies', 'depends on', 'depends', 'milestone', ...TARGET_KEYS]),
    ),
    ...(target !== undefined ? { target } : {}),
    source: { file, line: head.line },
    ...(deps ? { dependsOnSource: { file, line: deps.line.n } } : {}),
    ...(line !== undefined ? { statusSource: { file, line } } : {}),
  };
}

/** A story read from its file: the phase (milestone and epic dependencies not yet filled in) and its tasks. */
export interface StoryFile {
  phase: Phase;
  tasks: Task[];
}

/**
 * Reads a story file (`stories/E001/S002-*.md`) into a phase and its tasks; undefined
 * (with a problem) when it has no id. `epicFromPath` is the epic directory it sits in.
 *
 * @example
 * parseStory('stories/E001/S001-api.md', '# S001: API\n## Tasks\n- [ ] T001: Design | role:architect', 'E001', []);
 */
export function parseStory(
  file: string,
  text: string,
  epicFromPath: string | undefined,
  problems: PlanProblem[],
): StoryFile | undefined {
  const doc = cut(text);
  const head = headingOf(file, doc, 'story', problems);
  if (!head) return undefined;
  const fields = metadataFields(doc);
  const deps = field(fields, 'dependencies', 'depends on', 'depends');
  const blocks = field(fields, 'blocks');
  const roleField = field(fields, 'role', 'assigned to', 'assignee', 'agent');
  const defaultRole = (roleField && roleName(roleField.value)) ?? DEFAULT_ROLE;
  const tasks = readTasks(file, head.id, section(doc, /^tasks/)?.body ?? [], defaultRole);
  const taskStatuses = tasks.map((t) => t.status);
  const { status, line } = statusOf(file, fields, `story ${head.id}`, problems);
  const epic = field(fields, 'epic')?.value;
  const target = targetName(field(fields, ...TARGET_KEYS)?.value);
  const phase: Phase = {
    id: head.id,
    title: withoutMarkers(head.title) || head.id,
    milestone: field(fields, 'milestone')?.value ?? '',
    dependsOn: refs(deps),
    ...(blocks ? { blocks: refs(blocks), blocksSource: { file, line: blocks.line.n } } : {}),
    ...(deps ? { dependsOnSource: { file, line: deps.line.n } } : {}),
    tasks: tasks.map((t) => t.id),
    status:
      status ??
      (taskStatuses.length > 0 && taskStatuses.every((s) => s === 'complete') ? 'complete' : 'not_started'),
    priority: priorityOf(doc.title?.text ?? '', field(fields, 'priority')?.value),
    ...(descriptionOf(doc) !== undefined ? { description: descriptionOf(doc) } : {}),
    acceptanceCriteria: texts(doc, /^acceptance criteria/),
    definitionOfDone: texts(doc, /^(definition of done|done when)/),
    metadata: metadataRecord(
      fields,
      new Set([
        'status',
        'state',
        'dependencies',
        'depends on',
        'depends',
        'blocks',
        'epic',
        'milestone',
        ...TARGET_KEYS,
      ]),
    ),
    ...(epic ? { epic: parseRefList(epic)[0] ?? epic } : epicFromPath ? { epic: epicFromPath } : {}),
    ...(target !== undefined ? { target } : {}),
    source: { file, line: head.line },
    ...(line !== undefined ? { statusSource: { file, line } } : {}),
  };
  return { phase, tasks };
}

function readTasks(file: string, phaseId: string, body: MdLine[], defaultRole: string): Task[] {
  const tasks: Task[] = [];
  let itemIndent: number | undefined;
  const notes = new Map<Task, string[]>();
  for (const line of body) {
    const item = listItem(line);
    if (!item || item.text === '') continue;
    itemIndent ??= item.indent;
    const last = tasks.at(-1);
    if (item.indent > itemIndent && last) {
      notes.get(last)?.push(stripInline(item.text));
      continue;
    }
    const parsed = parseTaskLine(item.text, true);
    const task: Task = {
      id: parsed.id ?? `${phaseId}.${tasks.length + 1}`,
      title: parsed.title,
      role: parsed.role ?? defaultRole,
      phase: phaseId,
      dependsOn: parsed.dependsOn,
      status: checkboxStatus(item.checkbox ?? ''),
      ...(parsed.target !== undefined ? { target: parsed.target } : {}),
      ...(parsed.bestOf !== undefined ? { bestOf: parsed.bestOf } : {}),
      source: { file, line: line.n },
      statusSource: { file, line: line.n },
    };
    notes.set(task, [...parsed.notes]);
    tasks.push(task);
  }
  for (const [task, lines] of notes) if (lines.length > 0) task.description = lines.join('\n');
  return tasks;
}
