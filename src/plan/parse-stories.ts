import type { PlanProblem } from './errors.js';
import { field, fieldValues, readFields, type Field } from './fields.js';
import { heading, listItem, listTexts, paragraphText, scanMarkdown, type MdLine } from './markdown.js';
import {
  DEFAULT_ROLE,
  type DeclaredStatus,
  type Epic,
  type Phase,
  type Priority,
  type Task,
} from './model.js';
import { badStatus } from './parse-project.js';
import { roleName, parseTaskLine } from './task-line.js';
import {
  checkboxStatus,
  idFromFileName,
  parseRefList,
  parseStatus,
  splitIdTitle,
  stripInline,
} from './text.js';

/**
 * Epic and story files of a plan directory (format A). Both are a `# ID: Title` heading,
 * a `## Metadata` list of `- **Key**: value` fields and list sections; a story adds
 * `## Tasks` lines `- [ ] T002: title | role:x | depends:T001`.
 */

/** A Markdown document cut at its `#` and `##` headings. */
interface Doc {
  title: { text: string; line: number } | undefined;
  /** Lines before the first `##`, then one entry per `##` section (lower-cased name). */
  sections: { name: string; line: number; body: MdLine[] }[];
}

function cut(text: string): Doc {
  const doc: Doc = { title: undefined, sections: [{ name: '', line: 0, body: [] }] };
  for (const line of scanMarkdown(text)) {
    const h = heading(line);
    if (h?.level === 1 && doc.title === undefined) {
      doc.title = { text: h.text, line: line.n };
      continue;
    }
    if (h && h.level <= 2) {
      doc.sections.push({ name: stripInline(h.text).toLowerCase(), line: line.n, body: [] });
      continue;
    }
    doc.sections.at(-1)?.body.push(line);
  }
  return doc;
}

const LIST_SECTIONS = /^(stories|tasks|acceptance criteria|definition of done|done when|checklist)/;

function metadataFields(doc: Doc): Field[] {
  const lines = doc.sections.filter((s) => !LIST_SECTIONS.test(s.name)).flatMap((s) => s.body);
  return readFields(lines).fields;
}

function section(doc: Doc, re: RegExp): Doc['sections'][number] | undefined {
  return doc.sections.find((s) => re.test(s.name));
}

function headingOf(
  file: string,
  doc: Doc,
  kind: string,
  problems: PlanProblem[],
): { id: string; title: string; line: number } | undefined {
  const fromHeading = doc.title ? splitIdTitle(doc.title.text) : { id: undefined, title: '' };
  const id = fromHeading.id ?? idFromFileName(file);
  if (id === undefined) {
    problems.push({
      file,
      line: doc.title?.line ?? 1,
      message: `${file} has no ${kind} id in its first heading or its file name: start it with "# ${kind === 'epic' ? 'E001' : 'S001'}: Title"`,
    });
    return undefined;
  }
  const title = fromHeading.id === undefined ? stripInline(doc.title?.text ?? '') : fromHeading.title;
  return { id, title: title === '' ? id : title, line: doc.title?.line ?? 1 };
}

function statusOf(
  file: string,
  fields: Field[],
  what: string,
  problems: PlanProblem[],
): { status: DeclaredStatus | undefined; line: number | undefined } {
  const f = field(fields, 'status', 'state');
  if (!f) return { status: undefined, line: undefined };
  const status = parseStatus(f.value);
  if (status === undefined) {
    problems.push(badStatus(file, f.line.n, what, f.value));
    return { status: undefined, line: undefined };
  }
  return { status, line: f.line.n };
}

function refs(f: Field | undefined): string[] {
  return f ? fieldValues(f).flatMap(parseRefList) : [];
}

function texts(doc: Doc, re: RegExp): string[] {
  const s = section(doc, re);
  if (!s) return [];
  const items = listTexts(s.body).map((i) => i.text);
  return items.length > 0
    ? items
    : s.body.filter((l) => !l.hidden && l.text.trim() !== '').map((l) => l.text.trim());
}

function metadataRecord(fields: Field[], skip: Set<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fields) if (!skip.has(f.norm)) out[f.key] = fieldValues(f).join('\n');
  return out;
}

function descriptionOf(doc: Doc): string | undefined {
  const s = section(doc, /^(description|overview|summary|user story|context|goal)/) ?? doc.sections[0];
  if (!s) return undefined;
  const rest = readFields(s.body).rest;
  return paragraphText(rest) || undefined;
}

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
      new Set(['status', 'dependencies', 'depends on', 'depends', 'milestone']),
    ),
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
      new Set(['status', 'state', 'dependencies', 'depends on', 'depends', 'blocks', 'epic', 'milestone']),
    ),
    ...(epic ? { epic: parseRefList(epic)[0] ?? epic } : epicFromPath ? { epic: epicFromPath } : {}),
    source: { file, line: head.line },
    ...(line !== undefined ? { statusSource: { file, line } } : {}),
  };
  return { phase, tasks };
}

/**
 * A phase's priority from its heading (`⭐ BOOTSTRAP`, `⭐ PRIORITY`, a bare ⭐, or the
 * upper-case words) and its `Priority` field (`bootstrap`; `priority`, `critical`,
 * `urgent`, `p0`). Anything else is normal.
 *
 * @example
 * priorityOf('Task Parser ⭐ BOOTSTRAP'); // 'bootstrap'
 */
export function priorityOf(headingText: string, fieldValue = ''): Priority {
  if (
    /\bBOOTSTRAP\b/.test(headingText) ||
    /⭐\s*bootstrap/iu.test(headingText) ||
    /\bbootstrap\b/i.test(fieldValue)
  ) {
    return 'bootstrap';
  }
  if (/\bPRIORITY\b|⭐/u.test(headingText) || /\b(priority|critical|urgent|p0)\b/i.test(fieldValue))
    return 'priority';
  return 'normal';
}

/**
 * A heading's title without its priority markers.
 *
 * @example
 * withoutMarkers('Task Parser ⭐ BOOTSTRAP'); // 'Task Parser'
 */
export function withoutMarkers(title: string): string {
  return title
    .replace(/⭐\s*(bootstrap|priority)?/giu, ' ')
    .replace(/\b(BOOTSTRAP|PRIORITY)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
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
      source: { file, line: line.n },
      statusSource: { file, line: line.n },
    };
    notes.set(task, [...parsed.notes]);
    tasks.push(task);
  }
  for (const [task, lines] of notes) if (lines.length > 0) task.description = lines.join('\n');
  return tasks;
}
