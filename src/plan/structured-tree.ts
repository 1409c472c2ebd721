import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node as YamlNode,
} from 'yaml';
import { PlanParseError, type PlanProblem } from './errors.js';
import { JsonReader } from './json-reader.js';

/**
 * YAML and JSON plan files read into one small tree that keeps character offsets, so
 * the format C parser can name lines and write-back can change a status in place.
 * Every scalar stays a string (`1.10` is the id "1.10", not the number 1.1).
 */

/** A node of a YAML or JSON document. */
export type TreeNode =
  | { kind: 'map'; start: number; end: number; flow: boolean; entries: TreeEntry[] }
  | { kind: 'seq'; start: number; end: number; items: TreeNode[] }
  | { kind: 'scalar'; start: number; end: number; value: string; quote: '' | '"' | "'" }
  | { kind: 'null'; start: number; end: number };

/** One `key: value` of a map. */
export interface TreeEntry {
  key: string;
  keyStart: number;
  value: TreeNode;
}

/** A parsed document with a way to turn offsets into 1-based lines. */
export interface Tree {
  root: TreeNode;
  lineOf: (offset: number) => number;
}

/**
 * Reads YAML (`yaml`) or strict JSON (`json`) text. Syntax errors throw `PlanParseError`
 * naming the file and line (all YAML errors are listed in `problems`).
 *
 * @example
 * const tree = readTree('plan.yaml', 'name: x\nmilestones: []', 'yaml');
 * tree.root.kind; // 'map'
 */
export function readTree(file: string, text: string, format: 'yaml' | 'json'): Tree {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const offset = text.length - body.length;
  const lineOf = lineIndex(text);
  const root =
    format === 'json'
      ? new JsonReader(file, body, offset, lineOf).document()
      : yamlRoot(file, body, offset, lineOf);
  return { root, lineOf };
}

/**
 * The 1-based line of each offset into `text` (a byte order mark is not counted).
 *
 * @example
 * lineIndex('a\nb')(2); // 2
 */
export function lineIndex(text: string): (offset: number) => number {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const offset = text.length - body.length;
  const starts = [0];
  for (let i = body.indexOf('\n'); i !== -1; i = body.indexOf('\n', i + 1)) starts.push(i + 1);
  return (pos: number): number => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= pos - offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

function yamlRoot(file: string, text: string, offset: number, lineOf: (o: number) => number): TreeNode {
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, {
      schema: 'failsafe',
      lineCounter: new LineCounter(),
      uniqueKeys: true,
      prettyErrors: false,
    });
  } catch (cause) {
    throw new PlanParseError(file, 1, `${file} is not valid YAML: ${(cause as Error).message}`, { cause });
  }
  if (doc.errors.length > 0) {
    const problems: PlanProblem[] = doc.errors.map((e) => ({
      file,
      line: lineOf((e.pos[0] ?? 0) + offset),
      message: `${file} is not valid YAML: ${e.message.split('\n')[0] ?? e.code}`,
    }));
    const first = problems[0] ?? { line: 1, message: `${file} is not valid YAML` };
    throw new PlanParseError(file, first.line, `${first.message} (line ${first.line})`, {
      hint: 'fix the YAML syntax at that line',
      problems,
    });
  }
  const convert = (node: unknown, depth: number): TreeNode => {
    if (depth > 200) throw new PlanParseError(file, 1, `${file} is nested too deeply to be a plan`);
    const n = (isAlias(node) ? node.resolve(doc) : node) as YamlNode | null | undefined;
    const range = (n as { range?: [number, number, number] | null } | null | undefined)?.range;
    const start = (range?.[0] ?? 0) + offset;
    const end = (range?.[1] ?? 0) + offset;
    if (isMap(n)) {
      const entries: TreeEntry[] = [];
      for (const pair of n.items) {
        const keyNode = pair.key as YamlNode | null;
        const key = isScalar(keyNode) ? String(keyNode.value) : '';
        entries.push({
          key,
          keyStart: (keyNode?.range?.[0] ?? range?.[0] ?? 0) + offset,
          value: convert(pair.value, depth + 1),
        });
      }
      return { kind: 'map', start, end, flow: n.flow === true, entries };
    }
    if (isSeq(n)) return { kind: 'seq', start, end, items: n.items.map((i) => convert(i, depth + 1)) };
    if (isScalar(n)) {
      if (n.value === null || n.value === undefined) return { kind: 'null', start, end };
      const quote = n.type === 'QUOTE_DOUBLE' ? '"' : n.type === 'QUOTE_SINGLE' ? "'" : '';
      return {
        kind: 'scalar',
        start,
        end,
        value: typeof n.value === 'string' ? n.value : JSON.stringify(n.value),
        quote,
      };
    }
    return { kind: 'null', start, end };
  };
  return convert(doc.contents, 0);
}
