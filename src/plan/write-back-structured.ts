import { PlanWriteBackError } from './errors.js';
import type { DeclaredStatus } from './model.js';
import { parseStatus } from './status.js';
import { lineIndex, readTree, type Tree, type TreeEntry, type TreeNode } from './structured-tree.js';
import type { StatusUpdate } from './write-back.js';

interface Edit {
  at: number;
  end: number;
  text: string;
  /** How the tree changes with it, when that is known (else the next write parses again). */
  tree?: TreeChange;
}

type ScalarNode = Extract<TreeNode, { kind: 'scalar' }>;

/**
 * What an edit does to the tree: a status scalar's value replaced (quotes kept), or a
 * `status` entry inserted into a map at `index`, its key and value at these offsets into the
 * edit's text.
 */
type TreeChange =
  | { kind: 'replace'; scalar: ScalarNode; status: DeclaredStatus }
  | {
      kind: 'insert';
      map: MapNode;
      index: number;
      keyAt: number;
      valueAt: number;
      value: string;
      quote: ScalarNode['quote'];
    };

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
  if (edits.every((e) => e.tree !== undefined)) {
    lastWritten.set(memoKey, { text: out, tree: movedTree(tree.root, edits, out) });
    if (lastWritten.size > REMEMBERED_FILES) lastWritten.delete(lastWritten.keys().next().value!);
  }
  return out;
}

/**
 * The tree of `out`, the text that `edits` (sorted by offset from the last) made: the same
 * nodes, each replaced scalar holding its new value, each inserted `status` entry in its map,
 * and every offset after an edit moved by the edits before it. At an insertion's offset, a
 * node that starts there moves (the text goes in before it) and a node that ends there moves
 * only when the insertion is inside it (the map it goes into, and that map's ancestors).
 */
function movedTree(root: TreeNode, edits: readonly Edit[], out: string): Tree {
  const ascending = [...edits].reverse();
  const replaced = new Map<TreeNode, { at: number; text: string; status: DeclaredStatus }>();
  const inserts = new Map<TreeNode, { index: number; entry: TreeEntry }[]>();
  // For each node, the insertions inside it (it or a descendant is the map they go into).
  const inside = new Map<TreeNode, Set<Edit>>();
  // Each node's parent, made once when an insertion needs the maps it falls inside.
  let parents: Map<TreeNode, TreeNode> | undefined;
  const parentsOf = (): Map<TreeNode, TreeNode> => {
    if (parents !== undefined) return parents;
    const found = new Map<TreeNode, TreeNode>();
    const walk = (n: TreeNode): void => {
      const children = n.kind === 'map' ? n.entries.map((e) => e.value) : n.kind === 'seq' ? n.items : [];
      for (const c of children) {
        found.set(c, n);
        walk(c);
      }
    };
    walk(root);
    parents = found;
    return found;
  };
  let shift = 0;
  const moved: { edit: Edit; at: number }[] = [];
  for (const e of ascending) {
    moved.push({ edit: e, at: e.at + shift });
    shift += e.text.length - (e.end - e.at);
  }
  for (const { edit, at } of moved) {
    const change = edit.tree!;
    if (change.kind === 'replace') {
      replaced.set(change.scalar, { at, text: edit.text, status: change.status });
      continue;
    }
    const valueStart = at + change.valueAt;
    const entry: TreeEntry = {
      key: 'status',
      keyStart: at + change.keyAt,
      value: {
        kind: 'scalar',
        start: valueStart,
        end: valueStart + change.value.length + 2 * change.quote.length,
        value: change.value,
        quote: change.quote,
      },
    };
    inserts.set(change.map, [...(inserts.get(change.map) ?? []), { index: change.index, entry }]);
    const up = parentsOf();
    for (let n: TreeNode | undefined = change.map; n !== undefined; n = up.get(n)) {
      inside.set(n, (inside.get(n) ?? new Set()).add(edit));
    }
  }
  // The edits wholly before an offset are a prefix of `ascending` (they do not overlap):
  // found by bisection, so moving every node costs O(nodes × log edits).
  const grows = ascending.map((e) => e.text.length - (e.end - e.at));
  const before = [0];
  for (const g of grows) before.push(before[before.length - 1]! + g);
  const wholly = (e: Edit, offset: number) => (e.end > e.at ? offset >= e.end : offset > e.at);
  const move = (offset: number, end: boolean, node: TreeNode): number => {
    let lo = 0;
    let hi = ascending.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (wholly(ascending[mid]!, offset)) lo = mid + 1;
      else hi = mid;
    }
    let delta = before[lo]!;
    for (let i = lo; i < ascending.length && ascending[i]!.at === offset; i++) {
      const e = ascending[i]!;
      if (e.end === e.at && (!end || inside.get(node)?.has(e) === true)) delta += grows[i]!;
    }
    return offset + delta;
  };
  const copy = (n: TreeNode): TreeNode => {
    const r = replaced.get(n);
    if (r !== undefined && n.kind === 'scalar') {
      return { kind: 'scalar', start: r.at, end: r.at + r.text.length, value: r.status, quote: n.quote };
    }
    const start = move(n.start, false, n);
    const end = move(n.end, true, n);
    switch (n.kind) {
      case 'map': {
        const entries = n.entries.map((e) => ({
          key: e.key,
          keyStart: move(e.keyStart, false, n),
          value: copy(e.value),
        }));
        for (const ins of (inserts.get(n) ?? []).sort((a, b) => b.index - a.index)) {
          entries.splice(ins.index, 0, ins.entry);
        }
        return { kind: 'map', start, end, flow: n.flow, entries };
      }
      case 'seq':
        return { kind: 'seq', start, end, items: n.items.map(copy) };
      default:
        return { ...n, start, end };
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
          ? { tree: { kind: 'replace' as const, scalar: v, status } }
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
  const index = m.entries.indexOf(first);
  const keyLength = format === 'json' ? '"status": '.length : 'status: '.length;
  const inserted = (keyAt: number, at: number): TreeChange => ({
    kind: 'insert',
    map: m,
    index: at,
    keyAt,
    valueAt: keyAt + keyLength,
    value: status,
    quote: format === 'json' ? '"' : '',
  });
  if (m.flow && (sameLineAsOpen || format === 'yaml')) {
    return { at: first.keyStart, end: first.keyStart, text: `${pair}, `, tree: inserted(0, index) };
  }
  if (m.flow) {
    // A multi-line JSON object: a line of its own, indented like the first key.
    const indent = text.slice(lineStart, first.keyStart);
    return {
      at: lineStart,
      end: lineStart,
      text: `${indent}${pair},${eol(text)}`,
      tree: inserted(indent.length, index),
    };
  }
  const indent = ' '.repeat(first.keyStart - lineStart);
  let lineEnd = text.indexOf('\n', first.value.end > first.keyStart ? first.value.end - 1 : first.keyStart);
  if (lineEnd === -1) lineEnd = text.length;
  const crlf = lineEnd > 0 && text[lineEnd - 1] === '\r';
  const at = crlf ? lineEnd - 1 : lineEnd;
  const newline = crlf ? '\r\n' : '\n';
  return {
    at,
    end: at,
    text: `${newline}${indent}${pair}`,
    tree: inserted(newline.length + indent.length, index + 1),
  };
}

function eol(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}
