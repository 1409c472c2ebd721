import { PlanParseError, type PlanProblem } from './errors.js';
import { field, fieldValues, readFields, type Field } from './fields.js';
import { heading, listItem, paragraphText, scanMarkdown, type MdLine } from './markdown.js';
import { DEFAULT_ROLE, type DeclaredStatus, type Milestone, type Phase, type Task } from './model.js';
import type { ParsedPlan } from './parse-directory.js';
import { badStatus, summarise } from './parse-project.js';
import { priorityOf, withoutMarkers } from './parse-stories.js';
import { parseTaskLine, roleName } from './task-line.js';
import {
  checkboxStatus,
  headingSlug,
  parseRefList,
  parseStatus,
  pushUnique,
  stripEmoji,
  stripInline,
} from './text.js';

/**
 * Format B: one roadmap file. `##` sections are milestones (id from the heading slug),
 * `### Phase N.M: Title` headings are phases, checklist items under `- **Tasks:**` are
 * tasks `N.M.k`. Sections and headings that are not phases, and fenced blocks, are skipped.
 */

const PHASE_HEADING = /^phase\s+(\d+(?:\.\d+)*[a-z]?)(?!\w|\.\d)\s*(?:[:.)–—-]\s*)?(.*)$/i;
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
]);

interface PhaseBlock {
  line: MdLine;
  level: number;
  id: string;
  headingText: string;
  title: string;
  body: MdLine[];
  milestone: Milestone;
}

/** The phase id and title of a `Phase N.M: Title` heading, or undefined. */
function phaseHeading(text: string): { id: string; title: string } | undefined {
  const m = PHASE_HEADING.exec(stripEmoji(stripInline(text)).replace(/^[^\p{L}\p{N}]+/u, ''));
  return m?.[1] ? { id: m[1], title: (m[2] ?? '').trim() } : undefined;
}

/**
 * Reads a roadmap (format B). `file` is the name problems and sources use.
 * Throws `PlanParseError` when the file has no `Phase N.M` heading at all.
 *
 * @example
 * const { plan } = parseRoadmap('## Batch 1\n### Phase 1.1: Models\n- **Tasks:**\n  - [ ] Define', 'roadmap.md', 'plans/roadmap.md');
 * plan.tasks[0]?.id; // '1.1.1'
 */
export function parseRoadmap(text: string, file: string, source: string): ParsedPlan {
  const lines = scanMarkdown(text);
  const problems: PlanProblem[] = [];
  const heads = lines.flatMap((line, i) => {
    const h = heading(line);
    return h ? [{ i, line, h, phase: h.level >= 2 ? phaseHeading(h.text) : undefined }] : [];
  });
  // A level-2 "Phase 1" heading with deeper phase headings under it is a section, not a phase.
  const sectionLike = new Set<number>();
  heads.forEach((hd, k) => {
    if (hd.h.level > 2 || !hd.phase) return;
    for (const next of heads.slice(k + 1)) {
      if (next.h.level <= 2) break;
      if (next.phase) {
        sectionLike.add(hd.i);
        break;
      }
    }
  });
  let name = '';
  const milestones: Milestone[] = [];
  const blocks: PhaseBlock[] = [];
  let section: { m: Milestone; pre: MdLine[] } | undefined;
  const sectionsSeen: { m: Milestone; pre: MdLine[] }[] = [];
  let block: PhaseBlock | undefined;
  let inPhaseSection = false;
  const headAt = new Map(heads.map((hd) => [hd.i, hd]));
  lines.forEach((line, i) => {
    const hd = headAt.get(i);
    if (hd?.h.level === 1 && name === '') {
      name = stripEmoji(stripInline(hd.h.text));
      return;
    }
    if (hd && hd.h.level <= 2 && (!hd.phase || sectionLike.has(i))) {
      block = undefined;
      section = {
        m: {
          id: headingSlug(hd.h.text) || `section-${sectionsSeen.length + 1}`,
          title: withoutMarkers(stripEmoji(stripInline(hd.h.text))),
          phases: [],
          status: 'not_started',
          source: { file, line: line.n },
        },
        pre: [],
      };
      sectionsSeen.push(section);
      inPhaseSection = false;
      return;
    }
    if (hd?.phase) {
      if (!section) {
        section = {
          m: {
            id: 'roadmap',
            title: name || 'Roadmap',
            phases: [],
            status: 'not_started',
            source: { file, line: line.n },
          },
          pre: [],
        };
        sectionsSeen.push(section);
      }
      if (!milestones.includes(section.m)) milestones.push(section.m);
      block = {
        line,
        level: hd.h.level,
        id: hd.phase.id,
        headingText: hd.h.text,
        title: withoutMarkers(hd.phase.title) || `Phase ${hd.phase.id}`,
        body: [],
        milestone: section.m,
      };
      blocks.push(block);
      inPhaseSection = true;
      return;
    }
    if (hd && block && hd.h.level <= block.level) block = undefined;
    // Only the lines right under a section heading can carry the section's own Status.
    if (hd && !block) inPhaseSection = true;
    if (block) block.body.push(line);
    else if (section && !inPhaseSection && !hd) section.pre.push(line);
  });
  if (blocks.length === 0) {
    throw new PlanParseError(
      file,
      0,
      `${file} has no "### Phase N.M: Title" heading, so it is not a roadmap`,
      {
        hint: 'write each phase as a "### Phase 1.1: Title" heading under a "## Batch" section (PLAN-FORMATS.md, format B)',
      },
    );
  }
  const phases: Phase[] = [];
  const tasks: Task[] = [];
  for (const b of blocks) {
    const { phase, tasks: ts } = readPhase(file, b, problems);
    phases.push(phase);
    tasks.push(...ts);
    b.milestone.phases.push(phase.id);
  }
  resolveMilestoneRefs(phases, milestones);
  for (const s of sectionsSeen) {
    if (milestones.includes(s.m)) fillMilestoneStatus(file, s.m, s.pre, phases, problems);
  }
  return {
    plan: { name: name || 'Roadmap', format: 'roadmap', source, milestones, phases, tasks, personas: [] },
    problems,
  };
}

function readPhase(file: string, b: PhaseBlock, problems: PlanProblem[]): { phase: Phase; tasks: Task[] } {
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
      source: { file, line: it.line.n },
      statusSource: { file, line: it.line.n },
    };
    notes.set(task, [...parsed.notes]);
    tasks.push(task);
  }
  for (const [task, lines] of notes) if (lines.length > 0) task.description = lines.join('\n');
  return tasks;
}

// "Depends On: Batch 1" means every phase of that section.
function resolveMilestoneRefs(phases: Phase[], milestones: Milestone[]): void {
  const phaseIds = new Set(phases.map((p) => p.id));
  const byId = new Map(milestones.map((m) => [m.id, m]));
  for (const phase of phases) {
    const out: string[] = [];
    for (const dep of phase.dependsOn) {
      const m = phaseIds.has(dep) ? undefined : byId.get(dep);
      pushUnique(out, m ? m.phases.filter((id) => id !== phase.id) : [dep]);
    }
    phase.dependsOn = out;
  }
}

function fillMilestoneStatus(
  file: string,
  m: Milestone,
  pre: MdLine[],
  phases: Phase[],
  problems: PlanProblem[],
): void {
  const { fields, rest } = readFields(pre);
  const f = field(fields, 'status', 'state');
  const declared = f ? parseStatus(f.value) : undefined;
  if (f && declared === undefined) problems.push(badStatus(file, f.line.n, `section ${m.id}`, f.value));
  const text = paragraphText(rest);
  if (text !== '') m.description = text;
  if (f && declared !== undefined) {
    m.status = declared;
    m.statusSource = { file, line: f.line.n };
    return;
  }
  const mine = new Set(m.phases);
  m.status = summarise(phases.filter((p) => mine.has(p.id)).map((p) => p.status));
}
