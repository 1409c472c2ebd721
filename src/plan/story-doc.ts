import type { PlanProblem } from './errors.js';
import { fieldValues, field, readFields, type Field } from './fields.js';
import { heading, listTexts, paragraphText, scanMarkdown, type MdLine } from './markdown.js';
import type { DeclaredStatus } from './model.js';
import { badStatus } from './parse-project.js';
import { parseStatus } from './status.js';
import { idFromFileName, parseRefList, splitIdTitle, stripInline } from './text.js';

/** The shared shape of epic and story files (format A): a titled document with `##` sections and metadata fields. */

/** A Markdown document cut at its `#` and `##` headings. */
export interface Doc {
  title: { text: string; line: number } | undefined;
  /** Lines before the first `##`, then one entry per `##` section (lower-cased name). */
  sections: { name: string; line: number; body: MdLine[] }[];
}

/**
 * Cuts an epic or story file at its `#` title and `##` sections.
 *
 * @example
 * cut('# S001: API\n## Tasks\n- [ ] T1: x').sections.map((s) => s.name); // ['', 'tasks']
 */
export function cut(text: string): Doc {
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

/**
 * The `- **Key**: value` fields outside the list sections (Stories, Tasks, criteria).
 *
 * @example
 * field(metadataFields(doc), 'status')?.value; // 'not_started'
 */
export function metadataFields(doc: Doc): Field[] {
  const lines = doc.sections.filter((s) => !LIST_SECTIONS.test(s.name)).flatMap((s) => s.body);
  return readFields(lines).fields;
}

/**
 * The first `##` section whose lower-cased name matches.
 *
 * @example
 * section(doc, /^tasks/)?.body;
 */
export function section(doc: Doc, re: RegExp): Doc['sections'][number] | undefined {
  return doc.sections.find((s) => re.test(s.name));
}

/**
 * The id and title from the `# ID: Title` heading (or the file name); undefined, with a
 * problem, when neither has an id.
 *
 * @example
 * headingOf('stories/E1/S002-impl.md', cut('# Implementation'), 'story', problems); // { id: 'S002', … }
 */
export function headingOf(
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

/**
 * The `Status` field, read; an unreadable value adds a problem and counts as absent.
 *
 * @example
 * statusOf(file, fields, 'story S002', problems); // { status: 'not_started', line: 5 }
 */
export function statusOf(
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

/**
 * The ids a dependency-like field lists (inline or as items below it).
 *
 * @example
 * refs(field(fields, 'dependencies')); // ['S001']
 */
export function refs(f: Field | undefined): string[] {
  return f ? fieldValues(f).flatMap(parseRefList) : [];
}

/**
 * The items of a list section (or its lines, when it has no list).
 *
 * @example
 * texts(doc, /^acceptance criteria/); // ['Given two numbers, add returns their sum']
 */
export function texts(doc: Doc, re: RegExp): string[] {
  const s = section(doc, re);
  if (!s) return [];
  const items = listTexts(s.body).map((i) => i.text);
  return items.length > 0
    ? items
    : s.body.filter((l) => !l.hidden && l.text.trim() !== '').map((l) => l.text.trim());
}

/**
 * The fields not in `skip`, as metadata (key as written → value).
 *
 * @example
 * metadataRecord(fields, new Set(['status'])); // { Priority: 'high' }
 */
export function metadataRecord(fields: Field[], skip: Set<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fields) if (!skip.has(f.norm)) out[f.key] = fieldValues(f).join('\n');
  return out;
}

/**
 * The text of a Description-like section, else the paragraphs before the first section.
 *
 * @example
 * descriptionOf(cut('# S1: A\n## Description\nWhy.')); // 'Why.'
 */
export function descriptionOf(doc: Doc): string | undefined {
  const s = section(doc, /^(description|overview|summary|user story|context|goal)/) ?? doc.sections[0];
  if (!s) return undefined;
  const rest = readFields(s.body).rest;
  return paragraphText(rest) || undefined;
}
