import { PlanWriteBackError } from './errors.js';
import type { DeclaredStatus } from './model.js';
import { parseStatus } from './status.js';
import { lineIndex, readTree, type Tree, type TreeEntry, type TreeNode } from './structured-tree.js';
import type { StatusUpdate } from './write-back.js';

interface Edit {
  at: number;
  end: number;
  text: string;
  /** Set when the edit replaces this status scalar's value (quotes kept), nothing else. */
  scalar?: Extract<TreeNode, { kind: 'scalar' }>;
  /** The status written. */
  status?: DeclaredStatus;
}

/**
 * The last text written and its tree. The gardener writes the same file again and again
 * (every few hundred milliseconds in a busy run), each time changing only status values; the
 * tree of what it wrote is the tree it read with those values changed and the offsets after
 * them moved, so the next write needs no parse (a YAML parse of a 200-task plan is ~20 ms).
 * A pure memo: the same text always gives the same tree, parsed or derived.
 */
const lastWritten = new Map<string, { text: string; tree: Tree }>();
/** Files remembered at most (a plan set of more files parses the others each time). */
const REMEMBERED_FILES = 32;

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
  const memoKey = `${format}:${file}`;
  const memo = lastWritten.get(memoKey);
  const tree = memo !== undefined && memo.text === text ? memo.tree : readTree(file, text, format);
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
  lastWritten.delete(memoKey);
  if (edits.every((e) => e.scalar !== undefined)) {
    lastWritten.set(memoKey, { text: out, tree: movedTree(tree.root, edits, out) });
    if (lastWritten.size > REMEMBERED_FILES) lastWritten.delete(lastWritten.keys().next().value!);
  }
  return out;
}

/**
 * The tree of `out`, the text that `edits` (status value replacements, sorted by offset from
 * the last) made: the same nodes, each edited scalar holding its new value and every offset
 * after an edit moved by the edits before it.
 */
function movedTree(root: TreeNode, edits: readonly Edit[], out: string): Tree {
  const ascending = [...edits].reverse();
  const replaced = new Map<TreeNode, Edit>(ascending.map((e) => [e.scalar!, e]));
  const move = (offset: number): number => {
    let delta = 0;
    for (const e of ascending) {
      if (e.end > offset) break;
      delta += e.text.length - (e.end - e.at);
    }
    return offset + delta;
  };
  const copy = (n: TreeNode): TreeNode => {
    const edit = replaced.get(n);
    if (edit !== undefined && n.kind === 'scalar') {
      const at = move(edit.at);
      return { kind: 'scalar', start: at, end: at + edit.text.length, value: edit.status!, quote: n.quote };
    }
    switch (n.kind) {
      case 'map':
        return {
          kind: 'map',
          start: move(n.start),
          end: move(n.end),
          flow: n.flow,
          entries: n.entries.map((e) => ({ key: e.key, keyStart: move(e.keyStart), value: copy(e.value) })),
        };
      case 'seq':
        return { kind: 'seq', start: move(n.start), end: move(n.end), items: n.items.map(copy) };
      default:
        return { ...n, start: move(n.start), end: move(n.end) };
    }
  };
  return { root: copy(root), lineOf: lineIndex(out) };
}

/**
 * The tree remembered for `text`, the last text written into `file` (tests compare it with a
 * parse of the same text), or undefined.
 *
 * @example
 * rememberedTree('plan.yaml', 'yaml', written); // { root, lineOf } or undefined
 */
export function rememberedTree(file: string, format: 'yaml' | 'json', text: string): Tree | undefined {
  const memo = lastWritten.get(`${format}:${file}`);
  return memo !== undefined && memo.text === text ? memo.tree : undefined;
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
      return {
        at: v.start,
        end: v.end,
        text: `${q}${status}${q}`,
        // A one-line scalar written as its value (no escapes, no block): the new one parses the same way.
        ...(q === v.quote && text.slice(v.start, v.end) === `${q}${v.value}${q}`
          ? { scalar: v, status }
          : {}),
      };
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
