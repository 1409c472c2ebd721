import { PlanWriteBackError } from './errors.js';
import type { DeclaredStatus, Source } from './model.js';
import { readTree, type TreeEntry, type TreeNode } from './structured-tree.js';
import { checkboxStatus, parseStatus } from './text.js';

/**
 * Status write-back (the roadmap gardener): change only the bytes that hold a status —
 * a checkbox mark, a `Status` line's value, a YAML/JSON `status` field (inserted when
 * missing) — and leave every other byte of the file as it was.
 */

/** One status to write: where it lives (from the parsed model), what it belongs to, the new value. */
export interface StatusUpdate {
  statusSource: Source;
  kind: 'task' | 'phase' | 'milestone';
  status: DeclaredStatus;
}

/** Which syntax the file is in; by default from the file name's extension. */
export interface WriteBackOptions {
  format?: 'markdown' | 'yaml' | 'json';
}

const MARK: Record<DeclaredStatus, string> = {
  complete: 'x',
  in_progress: '~',
  blocked: '!',
  not_started: ' ',
};
const WORDS: Record<DeclaredStatus, string> = {
  complete: '✅ Complete',
  in_progress: '🔄 In Progress',
  blocked: '🔴 Blocked',
  not_started: '⚪ Not Started',
};

/**
 * Returns `text` with the given statuses written in. Updates name lines from the model
 * parsed from this very text; a line that holds no status throws `PlanWriteBackError`.
 *
 * @example
 * writeBackStatuses('- [ ] Parse goals\n', [{ statusSource: { file: 'roadmap.md', line: 1 }, kind: 'task', status: 'complete' }]);
 * // '- [x] Parse goals\n'
 */
export function writeBackStatuses(
  text: string,
  updates: readonly StatusUpdate[],
  options: WriteBackOptions = {},
): string {
  if (updates.length === 0) return text;
  const file = updates[0]?.statusSource.file ?? '';
  const format =
    options.format ?? (/\.ya?ml$/i.test(file) ? 'yaml' : /\.json$/i.test(file) ? 'json' : 'markdown');
  return format === 'markdown' ? writeMarkdown(text, updates) : writeStructured(text, updates, format);
}

function writeMarkdown(text: string, updates: readonly StatusUpdate[]): string {
  const parts = text.split(/(\r?\n)/);
  const tickStyle = /^\s*(?:[-*+]|\d+[.)])\s+\[✅\]/mu.test(text) ? '✅' : 'x';
  for (const u of updates) {
    const index = (u.statusSource.line - 1) * 2;
    const line = parts[index];
    if (line === undefined || u.statusSource.line < 1) {
      throw new PlanWriteBackError(
        u.statusSource.file,
        u.statusSource.line,
        `${u.statusSource.file} has no line ${u.statusSource.line}`,
      );
    }
    parts[index] = markdownLine(line, u, tickStyle);
  }
  return parts.join('');
}

const BOX = /^(\s*(?:[-*+]|\d{1,9}[.)])\s+\[)([^\]\n]{0,4})(\])/u;
const ITEM = /^(\s*(?:[-*+]|\d{1,9}[.)])\s+)/;
const STATUS_LINE =
  /^(\s*(?:(?:[-*+]|\d{1,9}[.)])\s+)?(?:\*\*|__)?\s*(?:status|state)\s*(?:(?:\*\*|__)\s*:|:\s*(?:\*\*|__)?)[ \t]*)(.*?)([ \t]*)$/i;
const STATUS_PREFIX =
  /^(?:[\p{Extended_Pictographic}\u{2705}][\u{FE0F}]?\s*)?(?:not[ _-]?started|in[ _-]?progress|complete[d]?|done|blocked|wip|todo|pending|planned)?/iu;

function markdownLine(line: string, u: StatusUpdate, tickStyle: string): string {
  const box = BOX.exec(line);
  if (box) {
    const mark = box[2] ?? '';
    if (checkboxStatus(mark) === u.status && (mark !== '' || u.status === 'not_started')) return line;
    const next = u.status === 'complete' ? (/✅/u.test(mark) ? '✅' : tickStyle) : MARK[u.status];
    return `${box[1] ?? ''}${next}${line.slice((box[1] ?? '').length + mark.length)}`;
  }
  const status = STATUS_LINE.exec(line);
  if (status) {
    const value = status[2] ?? '';
    if (parseStatus(value) === u.status) return line;
    const word = /\p{Extended_Pictographic}/u.test(value)
      ? WORDS[u.status]
      : value === '' || /^[a-z_]+$/.test(value.trim())
        ? u.status
        : WORDS[u.status].replace(/^\S+ /u, '');
    const prefix = STATUS_PREFIX.exec(value)?.[0] ?? '';
    const tail = prefix.trim() === '' ? '' : value.slice(prefix.length);
    return `${status[1] ?? ''}${word}${tail}${status[3] ?? ''}`;
  }
  const item = ITEM.exec(line);
  if (item && u.kind === 'task')
    return `${item[1] ?? ''}[${u.status === 'complete' ? tickStyle : MARK[u.status]}] ${line.slice((item[1] ?? '').length)}`;
  throw new PlanWriteBackError(
    u.statusSource.file,
    u.statusSource.line,
    `${u.statusSource.file} line ${u.statusSource.line} holds no checkbox or Status to change`,
  );
}

interface Edit {
  at: number;
  end: number;
  text: string;
}

function writeStructured(text: string, updates: readonly StatusUpdate[], format: 'yaml' | 'json'): string {
  const file = updates[0]?.statusSource.file ?? 'plan';
  const tree = readTree(file, text, format);
  // Two updates for one entity: the last one wins (their edits would overlap).
  const targets = new Map<MapNode, DeclaredStatus>();
  const byKind = entities(tree.root);
  for (const u of updates) {
    const line = u.statusSource.line;
    const candidates = byKind[u.kind];
    const withStatus = candidates.find((m) => {
      const s = statusEntry(m);
      return s !== undefined && tree.lineOf(s.keyStart) === line;
    });
    const target = withStatus ?? candidates.find((m) => tree.lineOf(m.start) === line);
    if (!target) {
      throw new PlanWriteBackError(
        file,
        line,
        `${file} line ${line} holds no ${u.kind} to write a status into`,
      );
    }
    targets.delete(target);
    targets.set(target, u.status);
  }
  const edits: Edit[] = [];
  for (const [target, status] of targets) {
    const edit = structuredEdit(text, target, status, format);
    if (edit) edits.push(edit);
  }
  edits.sort((a, b) => b.at - a.at);
  let out = text;
  for (const e of edits) out = out.slice(0, e.at) + e.text + out.slice(e.end);
  return out;
}

type MapNode = Extract<TreeNode, { kind: 'map' }>;

function entities(root: TreeNode): Record<StatusUpdate['kind'], MapNode[]> {
  const out: Record<StatusUpdate['kind'], MapNode[]> = { milestone: [], phase: [], task: [] };
  const list = (m: MapNode, key: string): MapNode[] => {
    const v = m.entries.find((e) => e.key === key)?.value;
    return v?.kind === 'seq' ? v.items.filter((i): i is MapNode => i.kind === 'map') : [];
  };
  if (root.kind !== 'map') return out;
  for (const m of list(root, 'milestones')) {
    out.milestone.push(m);
    for (const p of list(m, 'phases')) {
      out.phase.push(p);
      out.task.push(...list(p, 'tasks'));
    }
  }
  return out;
}

function statusEntry(m: MapNode): TreeEntry | undefined {
  return m.entries.find((e) => e.key === 'status');
}

function structuredEdit(
  text: string,
  m: MapNode,
  status: DeclaredStatus,
  format: 'yaml' | 'json',
): Edit | undefined {
  const existing = statusEntry(m);
  if (existing) {
    const v = existing.value;
    if (v.kind === 'scalar') {
      if (parseStatus(v.value) === status) return undefined;
      const q = format === 'json' ? '"' : v.quote;
      return { at: v.start, end: v.end, text: `${q}${status}${q}` };
    }
    const colon = text.indexOf(':', existing.keyStart);
    const word = format === 'json' ? `"${status}"` : status;
    if (v.kind === 'null' && colon >= 0)
      return { at: colon + 1, end: v.end > colon ? v.end : colon + 1, text: ` ${word}` };
    return { at: v.start, end: v.end, text: word };
  }
  const first = m.entries.find((e) => e.key === 'id') ?? m.entries[0];
  const pair = format === 'json' ? `"status": "${status}"` : `status: ${status}`;
  if (!first)
    return { at: m.start + 1, end: m.start + 1, text: format === 'json' || m.flow ? ` ${pair} ` : pair };
  const lineStart = text.lastIndexOf('\n', first.keyStart - 1) + 1;
  const sameLineAsOpen = m.flow && text.slice(m.start, first.keyStart).indexOf('\n') === -1;
  if (m.flow && (sameLineAsOpen || format === 'yaml')) {
    return { at: first.keyStart, end: first.keyStart, text: `${pair}, ` };
  }
  if (m.flow) {
    // A multi-line JSON object: a line of its own, indented like the first key.
    return {
      at: lineStart,
      end: lineStart,
      text: `${text.slice(lineStart, first.keyStart)}${pair},${eol(text)}`,
    };
  }
  const indent = ' '.repeat(first.keyStart - lineStart);
  let lineEnd = text.indexOf('\n', first.value.end > first.keyStart ? first.value.end - 1 : first.keyStart);
  if (lineEnd === -1) lineEnd = text.length;
  const crlf = lineEnd > 0 && text[lineEnd - 1] === '\r';
  const at = crlf ? lineEnd - 1 : lineEnd;
  return { at, end: at, text: `${crlf ? '\r\n' : '\n'}${indent}${pair}` };
}

function eol(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}
