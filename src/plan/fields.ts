import { heading, keyValue, listItem, type MdLine, type MdListItem } from './markdown.js';

/**
 * `- **Key:** value` fields of a Markdown block (a story's Metadata section, a roadmap
 * phase), each with the list items written under it (`- **Tasks:**` then `  - [ ] …`).
 */

/** A list item that belongs to a field. */
export interface FieldItem {
  line: MdLine;
  item: MdListItem;
}

/** One `Key: value` field. */
export interface Field {
  /** The key as written. */
  key: string;
  /** Lower-case key with single spaces, for matching (`depends on`). */
  norm: string;
  value: string;
  line: MdLine;
  /** List items under the key (deeper ones included, in order). */
  items: FieldItem[];
}

/** What `readFields` found: the fields, and the lines that belong to none of them. */
export interface FieldsResult {
  fields: Field[];
  /** Lines that are neither a field nor one of its items (paragraphs, loose list items). */
  rest: MdLine[];
}

/**
 * Collects the fields of a block. Items under a key are the list items indented deeper
 * than the key's own bullet (or, for a key that is not a list item, the list that
 * follows it); a shallower line or another key ends them.
 *
 * @example
 * readFields(scanMarkdown('- **Tasks:**\n  - [ ] a')).fields[0]?.items.length; // 1
 */
export function readFields(lines: readonly MdLine[], plainKeys?: ReadonlySet<string>): FieldsResult {
  const fields: Field[] = [];
  const rest: MdLine[] = [];
  let open: { field: Field; indent: number; itemIndent: number | undefined } | undefined;
  for (const line of lines) {
    if (line.hidden) {
      if (!open) rest.push(line);
      continue;
    }
    if (line.text.trim() === '') continue;
    if (heading(line)) {
      open = undefined;
      rest.push(line);
      continue;
    }
    const item = listItem(line);
    const indent = item ? item.indent : -1;
    const kv = item?.checkbox === undefined ? keyValue(line.text, plainKeys) : undefined;
    if (open) {
      const belongs =
        item !== undefined &&
        indent > open.indent &&
        !(kv && (open.itemIndent === undefined || indent <= open.itemIndent));
      if (belongs) {
        open.itemIndent ??= indent;
        open.field.items.push({ line, item });
        continue;
      }
      open = undefined;
    }
    if (kv) {
      const field: Field = { key: kv.key, norm: normKey(kv.key), value: kv.value, line, items: [] };
      fields.push(field);
      open = { field, indent, itemIndent: undefined };
      continue;
    }
    rest.push(line);
  }
  return { fields, rest };
}

/**
 * Lower-cases a key and collapses spaces and punctuation (`Depends-On` → `depends on`).
 *
 * @example
 * normKey(' Assigned  To '); // 'assigned to'
 */
export function normKey(key: string): string {
  return key
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/**
 * The first field whose normalised key is one of `names`.
 *
 * @example
 * field(fields, 'depends on', 'dependencies');
 */
export function field(fields: readonly Field[], ...names: string[]): Field | undefined {
  return fields.find((f) => names.includes(f.norm));
}

/**
 * A field's value plus its items' texts (for lists written either inline or below).
 *
 * @example
 * fieldValues(f); // ['S001', 'S002']
 */
export function fieldValues(f: Field): string[] {
  const out = f.value === '' ? [] : [f.value];
  for (const { item } of f.items) if (item.text !== '') out.push(item.text);
  return out;
}
