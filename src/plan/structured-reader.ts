import type { PlanProblem } from './errors.js';
import { badStatus } from './parse-project.js';
import type { DeclaredStatus } from './model.js';
import { parseStatus } from './status.js';
import type { Tree, TreeEntry, TreeNode } from './structured-tree.js';
import { parseRefList } from './text.js';

/** A mapping node. */
export type MapNode = Extract<TreeNode, { kind: 'map' }>;

/**
 * Typed access to a format C document that records where the shape is wrong (`shape`,
 * thrown together later) and which statuses are unreadable (`problems`).
 *
 * @example
 * const r = new Reader('plan.yaml', readTree('plan.yaml', text, 'yaml'));
 */
export class Reader {
  readonly shape: PlanProblem[] = [];
  readonly problems: PlanProblem[] = [];
  constructor(
    readonly file: string,
    readonly tree: Tree,
  ) {}

  line(node: TreeNode | TreeEntry): number {
    return this.tree.lineOf('keyStart' in node ? node.keyStart : node.start);
  }

  bad(node: TreeNode | TreeEntry, message: string): void {
    this.shape.push({ file: this.file, line: this.line(node), message });
  }

  entry(map: MapNode, ...keys: string[]): TreeEntry | undefined {
    return map.entries.find((e) => keys.includes(e.key));
  }

  str(map: MapNode, what: string, ...keys: string[]): string | undefined {
    const e = this.entry(map, ...keys);
    if (!e || e.value.kind === 'null') return undefined;
    if (e.value.kind !== 'scalar') {
      this.bad(
        e,
        `${what}: "${e.key}" must be a single value, not a ${e.value.kind === 'map' ? 'mapping' : 'list'}`,
      );
      return undefined;
    }
    return e.value.value;
  }

  list(map: MapNode, what: string, ...keys: string[]): string[] {
    const e = this.entry(map, ...keys);
    if (!e || e.value.kind === 'null') return [];
    if (e.value.kind === 'scalar') return parseRefList(e.value.value);
    if (e.value.kind === 'map') {
      this.bad(e, `${what}: "${e.key}" must be a list of strings`);
      return [];
    }
    const out: string[] = [];
    for (const item of e.value.items) {
      if (item.kind === 'scalar') out.push(item.value);
      else if (item.kind !== 'null') this.bad(item, `${what}: every item of "${e.key}" must be a string`);
    }
    return out;
  }

  maps(map: MapNode, what: string, key: string): MapNode[] {
    const e = this.entry(map, key);
    if (!e || e.value.kind === 'null') return [];
    if (e.value.kind !== 'seq') {
      this.bad(e, `${what}: "${key}" must be a list`);
      return [];
    }
    return e.value.items.flatMap((item) => {
      if (item.kind === 'map') return [item];
      this.bad(item, `${what}: each item of "${key}" must be a mapping with an id`);
      return [];
    });
  }

  id(map: MapNode, what: string): string | undefined {
    const id = this.str(map, what, 'id');
    if (id === undefined || id.trim() === '') {
      this.bad(map, `${what} has no id: add "id: …"`);
      return undefined;
    }
    return id.trim();
  }

  status(map: MapNode, what: string): { status: DeclaredStatus | undefined; line: number } {
    const e = this.entry(map, 'status');
    const value = this.str(map, what, 'status');
    if (value === undefined || !e) return { status: undefined, line: this.line(map) };
    const status = parseStatus(value);
    if (status === undefined) this.problems.push(badStatus(this.file, this.line(e), what, value));
    return { status, line: this.line(e) };
  }

  record(map: MapNode, what: string, key: string): Record<string, string> {
    const e = this.entry(map, key);
    if (!e || e.value.kind === 'null') return {};
    if (e.value.kind !== 'map') {
      this.bad(e, `${what}: "${key}" must be a mapping of names to text`);
      return {};
    }
    const out: Record<string, string> = {};
    for (const inner of e.value.entries) {
      if (inner.value.kind === 'scalar') out[inner.key] = inner.value.value;
      else this.bad(inner, `${what}: "${key}.${inner.key}" must be text`);
    }
    return out;
  }
}
