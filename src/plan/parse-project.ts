import type { PlanProblem } from './errors.js';
import { normKey } from './fields.js';
import { heading, keyValue, listItem, paragraphText, scanMarkdown, type MdLine } from './markdown.js';
import type { DeclaredStatus, Milestone } from './model.js';
import { checkboxStatus, parseStatus } from './status.js';
import { headingSlug, parseRefList, splitIdTitle, stripInline } from './text.js';

/** What project.md says: the plan's name and description, and its milestones with their epics. */
export interface ProjectFile {
  name: string;
  description: string | undefined;
  milestones: Milestone[];
}

/**
 * Reads `project.md` of a plan directory (format A): `# Name`, `## Description`, and
 * `## Milestones` with one `### M1: Title` per milestone listing its epics (`- [ ] E001`).
 * Without a `## Milestones` section, headings that start with a milestone id (`M1`) or
 * the word Milestone are read as milestones.
 *
 * @example
 * parseProject('project.md', '# Calc\n## Milestones\n### M1: Core\n- [ ] E001', []).milestones[0]?.epics; // ['E001']
 */
export function parseProject(file: string, text: string, problems: PlanProblem[]): ProjectFile {
  const lines = scanMarkdown(text);
  let name = '';
  let description: string | undefined;
  const milestones: Milestone[] = [];
  let h2 = '';
  let h2Body: MdLine[] = [];
  const intro: MdLine[] = [];
  let current: { m: Milestone; body: MdLine[]; level: number } | undefined;
  let inMilestones = false;
  const finishH2 = (): void => {
    if (/^(description|overview|about|summary)\b/.test(h2) && description === undefined) {
      description = paragraphText(h2Body) || undefined;
    }
  };
  const finishMilestone = (): void => {
    if (current) fillMilestone(file, current.m, current.body, problems);
    current = undefined;
  };
  for (const line of lines) {
    const h = heading(line);
    if (h?.level === 1 && name === '') {
      name = stripInline(h.text).replace(/^project\s*:\s*/i, '');
      continue;
    }
    if (h && current && h.level <= current.level) finishMilestone();
    if (h && h.level <= 2) {
      finishH2();
      h2 = h.text.toLowerCase();
      h2Body = [];
      inMilestones = /milestones|roadmap|releases/.test(h2);
    }
    const looksLikeMilestone = h && /^(m\d|milestone\b)/i.test(stripInline(h.text));
    if (h && ((inMilestones && h.level === 3) || (!inMilestones && h.level >= 2 && looksLikeMilestone))) {
      const { id, title } = splitIdTitle(h.text.replace(/^milestone\s+/i, 'M'));
      const mid = id ?? (headingSlug(h.text) || `milestone-${milestones.length + 1}`);
      const m: Milestone = {
        id: mid,
        title: title === '' ? mid : title,
        phases: [],
        epics: [],
        status: 'not_started',
        source: { file, line: line.n },
      };
      milestones.push(m);
      current = { m, body: [], level: h.level };
      continue;
    }
    if (current) current.body.push(line);
    else if (h2 === '' && !h) intro.push(line);
    else if (!h) h2Body.push(line);
  }
  finishMilestone();
  finishH2();
  description ??= paragraphText(intro) || undefined;
  return { name, description, milestones };
}

function fillMilestone(file: string, m: Milestone, body: MdLine[], problems: PlanProblem[]): void {
  const checks: DeclaredStatus[] = [];
  const text: MdLine[] = [];
  let declared: DeclaredStatus | undefined;
  for (const line of body) {
    const kv = keyValue(line.text, new Set(['status']));
    if (kv) {
      const key = normKey(kv.key);
      if (key === 'status') {
        declared = parseStatus(kv.value);
        if (declared === undefined) problems.push(badStatus(file, line.n, `milestone ${m.id}`, kv.value));
        else m.statusSource = { file, line: line.n };
      } else if (key === 'epics') {
        m.epics?.push(...parseRefList(kv.value));
      }
      continue;
    }
    const item = listItem(line);
    if (item && item.text !== '') {
      const { id } = splitIdTitle(item.text);
      if (id !== undefined) {
        m.epics?.push(id);
        checks.push(checkboxStatus(item.checkbox ?? ''));
        continue;
      }
    }
    if (!line.hidden) text.push(line);
  }
  const description = paragraphText(text);
  if (description !== '') m.description = description;
  m.status = declared ?? summarise(checks);
}

/**
 * The status of a group from its members' statuses: complete when all are, in progress
 * when any has started, else not started (also when there are none).
 *
 * @example
 * summarise(['complete', 'not_started']); // 'in_progress'
 */
export function summarise(statuses: readonly DeclaredStatus[]): DeclaredStatus {
  if (statuses.length > 0 && statuses.every((s) => s === 'complete')) return 'complete';
  if (statuses.some((s) => s === 'complete' || s === 'in_progress')) return 'in_progress';
  return 'not_started';
}

/**
 * The problem for a status value that is not one of the known words or markers.
 *
 * @example
 * badStatus('roadmap.md', 7, 'phase 1.2', 'finito');
 */
export function badStatus(file: string, line: number, what: string, value: string): PlanProblem {
  return {
    file,
    line,
    message: `${what} has status "${value}", which is not a status: write not_started, in_progress, blocked or complete (or ⚪ Not Started, 🔄 In Progress, 🔴 Blocked, ✅ Complete)`,
  };
}
