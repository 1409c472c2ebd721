// @ts-check
/**
 * The rule between the rooms of `src/` (see docs/architecture.md): an import may only go
 * down. `src/runtime` is split into rooms ranked from the bottom (`system`) to the top
 * (`demo`); a room imports its own files and lower rooms, never higher ones. `render/` and
 * `report/` are pure text: they import the pure folders (and `report/` also `render/`) and
 * nothing that does I/O. The pure folders and the store never import the runtime or the
 * commands, and nothing but the commands and the API entry imports the commands.
 */
import path from 'node:path';

/** Effect rooms of src/runtime, lowest first. */
export const RANKED_ROOMS = [
  'system',
  'log',
  'project',
  'git',
  'agents',
  'orchestrator',
  'operations',
  'demo',
];
/** Pure rooms of src/runtime and which other runtime rooms each may import. */
export const PURE_ROOMS = { render: ['render'], report: ['report', 'render'] };
/** The lowest ranked room allowed to import each pure room. */
const PURE_USERS = { render: 'orchestrator', report: 'operations' };
const BASE = ['core', 'plan', 'machines', 'util', 'store'];

/**
 * Where a file sits: `{ top, room }` where `top` is the folder under `src/` (or `index.ts`)
 * and `room` the folder under `src/runtime/`; null outside `src/`.
 * @param {string} file
 */
export function placeOf(file) {
  const parts = path.resolve(file).split(path.sep);
  const src = parts.lastIndexOf('src');
  if (src < 0 || src === parts.length - 1) return null;
  const top = parts[src + 1] ?? '';
  const room = top === 'runtime' && parts.length > src + 3 ? (parts[src + 2] ?? null) : null;
  return { top: top.replace(/\.[jt]s$/, ''), room };
}

/**
 * Why an import from `from` to `to` breaks the rule, or null when it is allowed.
 * @param {{ top: string, room: string | null }} from
 * @param {{ top: string, room: string | null }} to
 */
export function violation(from, to) {
  if (to.top === 'commands' && from.top !== 'commands' && from.top !== 'index')
    return 'only src/commands imports the commands';
  if (to.top === 'index' && from.top !== 'index')
    return 'nothing inside src imports the API entry (src/index.ts)';
  if (BASE.includes(from.top) && to.top === 'runtime')
    return `src/${from.top} is below src/runtime and never imports it`;
  if (from.top !== 'runtime' || to.top !== 'runtime') return null;
  const a = from.room;
  const b = to.room;
  if (a === null || b === null) return 'src/runtime holds rooms only: put the file in one';
  if (a === b) return null;
  if (a in PURE_ROOMS) {
    const allowed = PURE_ROOMS[/** @type {'render'|'report'} */ (a)];
    return allowed.includes(b)
      ? null
      : `runtime/${a} is pure text and imports no effect room (here runtime/${b})`;
  }
  const rankA = RANKED_ROOMS.indexOf(a);
  if (rankA < 0) return `runtime/${a} is not a room of the layout (docs/architecture.md)`;
  if (b in PURE_ROOMS) {
    const lowest = RANKED_ROOMS.indexOf(PURE_USERS[/** @type {'render'|'report'} */ (b)]);
    return rankA >= lowest
      ? null
      : `runtime/${a} may not import runtime/${b} (only runtime/${PURE_USERS[/** @type {'render'|'report'} */ (b)]} and above do)`;
  }
  const rankB = RANKED_ROOMS.indexOf(b);
  if (rankB < 0) return `runtime/${b} is not a room of the layout (docs/architecture.md)`;
  if (rankB > rankA) return `runtime/${a} is below runtime/${b}: a lower room never imports a higher one`;
  return null;
}

/** @type {import('eslint').Rule.RuleModule} */
const rooms = {
  meta: {
    type: 'problem',
    docs: { description: 'imports between the rooms of src/ only go down (docs/architecture.md)' },
    schema: [],
    messages: { wrongWay: 'wrong-way import of {{source}}: {{why}}' },
  },
  create(context) {
    const file = context.filename;
    const from = placeOf(file);
    if (from === null) return {};
    /** @param {any} node */
    const check = (node) => {
      const source = node.source;
      if (!source || source.type !== 'Literal' || typeof source.value !== 'string') return;
      const spec = source.value;
      if (!spec.startsWith('.')) return;
      const to = placeOf(path.resolve(path.dirname(file), spec));
      if (to === null) return;
      const why = violation(from, to);
      if (why !== null) context.report({ node: source, messageId: 'wrongWay', data: { source: spec, why } });
    };
    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: check,
    };
  },
};

export default { rules: { rooms } };
