import { PlanWriteBackError } from './errors.js';
import type { DeclaredStatus } from './model.js';
import { parseStatus } from './status.js';
import { readTree, type TreeEntry, type TreeNode } from './structured-tree.js';
import type { StatusUpdate } from './write-back.js';

interface Edit {
  at: number;
  end: number;
  text: string;
}

/**
 * Write-back for format C: finds each entity by its kind and line (its `status` key, or
 * its first line when it has none) and replaces the status value in place, or inserts
 * a `status` field next to its `id` (flow mappings and JSON objects inline, block
 * mappings as a line indented like the id).
 *
 * @example
 * writeStructured('milestones:\n  - id: M1\n    phases: []\n', [{ statusSource: { file: 'plan.yaml', line: 2 }, kind: 'milestone', status: 'complete' }], 'yaml');
 */
export function writeStructured(
  text: string,
  updates: readonly StatusUpdate[],
  format: 'yaml' | 'json',
): string {
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
