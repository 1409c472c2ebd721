import { CHECKBOX_MARK } from './status.js';
import { splitLines, stripInline } from './text.js';

/**
 * A line-level view of a Markdown file, enough for plans: headings, list items with
 * optional checkboxes, and `- **Key:** value` lines. Lines inside fenced code blocks and
 * HTML comments are marked `hidden`, so nothing in them is ever read as structure.
 */

/** One line of a Markdown file. */
export interface MdLine {
  /** 1-based line number. */
  n: number;
  /** The line without its ending. */
  text: string;
  /** Inside a fenced code block or an HTML comment (or a fence line itself). */
  hidden: boolean;
}

/**
 * Splits Markdown into lines and marks fenced code blocks (``` and ~~~, closed by a
 * fence of the same character at least as long) and `<!-- … -->` comments as hidden.
 *
 * @example
 * scanMarkdown('# A\n```\n# not a heading\n```').map((l) => l.hidden); // [false, true, true, true]
 */
export function scanMarkdown(text: string): MdLine[] {
  const out: MdLine[] = [];
  let fence: { char: string; len: number } | undefined;
  let comment = false;
  splitLines(text).forEach((line, i) => {
    const n = i + 1;
    if (fence) {
      const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(line);
      if (close?.[1] && close[1][0] === fence.char && close[1].length >= fence.len) fence = undefined;
      out.push({ n, text: line, hidden: true });
      return;
    }
    if (comment) {
      if (line.includes('-->')) comment = false;
      out.push({ n, text: line, hidden: true });
      return;
    }
    const open = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (open?.[1]) {
      fence = { char: open[1][0] ?? '`', len: open[1].length };
      out.push({ n, text: line, hidden: true });
      return;
    }
    if (/^\s*<!--/.test(line)) {
      if (!line.includes('-->')) comment = true;
      out.push({ n, text: line, hidden: true });
      return;
    }
    out.push({ n, text: line, hidden: false });
  });
  return out;
}

/** An ATX heading. */
export interface MdHeading {
  level: number;
  /** Heading text without the `#`s and closing `#`s. */
  text: string;
}

/**
 * Reads an ATX heading (`## Title ##`), or `undefined`.
 *
 * @example
 * heading('### Phase 1.1: Models'); // { level: 3, text: 'Phase 1.1: Models' }
 */
export function heading(line: MdLine): MdHeading | undefined {
  if (line.hidden) return undefined;
  const m = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/.exec(line.text);
  if (!m?.[1]) return undefined;
  return { level: m[1].length, text: (m[2] ?? '').trim() };
}

/** A list item, with its checkbox if it has one. */
export interface MdListItem {
  /** Columns before the bullet. */
  indent: number;
  /** The mark between the brackets (`x`, ` `, `✅`), or undefined without a checkbox. */
  checkbox: string | undefined;
  /** The item's text after the bullet and checkbox. */
  text: string;
}

/**
 * Reads a bullet (`-`, `*`, `+`) or numbered (`1.`, `1)`) list item, or `undefined`.
 *
 * @example
 * listItem({ n: 1, text: '  - [x] Done', hidden: false }); // { indent: 2, checkbox: 'x', text: 'Done' }
 */
export function listItem(line: MdLine): MdListItem | undefined {
  if (line.hidden) return undefined;
  const m = /^([ \t]*)(?:[-*+]|\d{1,9}[.)])(?:[ \t]+(.*))?$/.exec(line.text);
  if (!m) return undefined;
  const indent = (m[1] ?? '').replace(/\t/g, '    ').length;
  const rest = m[2] ?? '';
  const box = /^\[([^\]\n]{0,4})\](?:[ \t]+(.*)|$)/u.exec(rest);
  if (box && CHECKBOX_MARK.test(box[1] ?? '')) {
    return { indent, checkbox: box[1] ?? '', text: (box[2] ?? '').trim() };
  }
  return { indent, checkbox: undefined, text: rest.trim() };
}

/**
 * Reads a `**Key:** value` or `**Key**: value` pair (in a list item or not). Plain
 * `Key: value` counts only when `plainKeys` contains the lower-cased key.
 *
 * @example
 * keyValue('- **Depends On:** Phase 1.1'); // { key: 'Depends On', value: 'Phase 1.1' }
 */
export function keyValue(
  text: string,
  plainKeys?: ReadonlySet<string>,
): { key: string; value: string } | undefined {
  const body = text.replace(/^\s*(?:(?:[-*+]|\d{1,9}[.)])\s+)?/, '');
  const bold = /^(?:\*\*|__)([^*_]+?)(?::\s*(?:\*\*|__)|(?:\*\*|__)\s*:)\s*(.*)$/.exec(body);
  if (bold?.[1] !== undefined) return { key: bold[1].trim(), value: (bold[2] ?? '').trim() };
  if (plainKeys) {
    const plain = /^([A-Za-z][A-Za-z ]{0,30}?)\s*:\s*(.*)$/.exec(body);
    if (plain?.[1] && plainKeys.has(plain[1].toLowerCase()))
      return { key: plain[1], value: (plain[2] ?? '').trim() };
  }
  return undefined;
}

/** A `##` section: its heading line and the lines up to the next heading of the same or a higher level. */
export interface MdSection {
  heading: MdHeading;
  line: MdLine;
  body: MdLine[];
}

/**
 * Splits lines into sections at headings of exactly `level` (deeper headings stay in the
 * body; a shallower heading ends the section and is not part of any section).
 *
 * @example
 * sections(scanMarkdown('# T\n## A\nx\n## B'), 2).map((s) => s.heading.text); // ['A', 'B']
 */
export function sections(lines: readonly MdLine[], level: number): MdSection[] {
  const out: MdSection[] = [];
  let current: MdSection | undefined;
  for (const line of lines) {
    const h = heading(line);
    if (h && h.level <= level) {
      current = h.level === level ? { heading: h, line, body: [] } : undefined;
      if (current) out.push(current);
      continue;
    }
    current?.body.push(line);
  }
  return out;
}

/**
 * The items of the Markdown lists in `lines` (top-level and nested), text stripped of
 * emphasis, skipping empty ones.
 *
 * @example
 * listTexts(scanMarkdown('- a\n1. b')); // ['a', 'b']
 */
export function listTexts(lines: readonly MdLine[]): { text: string; line: MdLine; item: MdListItem }[] {
  const out: { text: string; line: MdLine; item: MdListItem }[] = [];
  for (const line of lines) {
    const item = listItem(line);
    if (item && item.text !== '') out.push({ text: stripInline(item.text), line, item });
  }
  return out;
}

/**
 * The paragraph text of `lines` (not headings, not hidden), joined and trimmed.
 *
 * @example
 * paragraphText(scanMarkdown('Hello\nworld')); // 'Hello\nworld'
 */
export function paragraphText(lines: readonly MdLine[]): string {
  return lines
    .filter((l) => !l.hidden && !heading(l))
    .map((l) => l.text)
    .join('\n')
    .trim();
}
