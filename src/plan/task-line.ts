import { parseRefList, slugify, stripInline } from './text.js';

/** What a task checklist line says, apart from its checkbox. */
export interface TaskLine {
  /** `T002` in `T002: Implement add`, when the line starts with an id. */
  id: string | undefined;
  title: string;
  /** From `| role:implementer`. */
  role: string | undefined;
  /** From `| depends:T001,T002`. */
  dependsOn: string[];
  /** From `| target:api` (the multi-repo target the task works in). */
  target?: string;
  /** From `| bestOf:3` (validation checks it is a whole number 1..16). */
  bestOf?: number;
  /** Other `| …` parts, kept as description. */
  notes: string[];
}

const ROLE_KEYS = new Set(['role', 'roles', 'assigned to', 'assignee', 'agent', 'owner']);
const TARGET_KEYS = new Set(['target']);
const BEST_OF_KEYS = new Set(['bestof', 'best of']);
const DEP_KEYS = new Set(['depends', 'depends on', 'deps', 'dependencies', 'after', 'needs', 'requires']);

/**
 * Reads a task line: `T002: Implement add and subtract | role:implementer | depends:T001`.
 * With `withId` false the leading id is not looked for (format B numbers tasks itself).
 *
 * @example
 * parseTaskLine('T3: Write tests | role:tester | depends:T2,T1', true);
 * // { id: 'T3', title: 'Write tests', role: 'tester', dependsOn: ['T2', 'T1'], notes: [] }
 */
export function parseTaskLine(text: string, withId: boolean): TaskLine {
  const parts = text.split(/\s*\|\s*/);
  let title = parts[0] ?? '';
  let role: string | undefined;
  const dependsOn: string[] = [];
  const notes: string[] = [];
  let target: string | undefined;
  let bestOf: number | undefined;
  for (const part of parts.slice(1)) {
    const m = /^([A-Za-z][A-Za-z ]{0,20}?)\s*[:=]\s*(.*)$/.exec(part.trim());
    const key = m?.[1]?.toLowerCase().trim();
    if (m && key !== undefined && ROLE_KEYS.has(key)) {
      const r = roleName(m[2] ?? '');
      if (r) role = r;
    } else if (m && key !== undefined && DEP_KEYS.has(key)) {
      dependsOn.push(...parseRefList(m[2] ?? ''));
    } else if (m && key !== undefined && TARGET_KEYS.has(key) && targetName(m[2] ?? '') !== undefined) {
      target = targetName(m[2] ?? '');
    } else if (m && key !== undefined && BEST_OF_KEYS.has(key)) {
      bestOf = Number(stripInline(m[2] ?? '').trim() || 'NaN');
    } else if (part.trim() !== '') {
      notes.push(part.trim());
    }
  }
  let id: string | undefined;
  if (withId) {
    const m =
      /^\s*(?:\*\*|`)?([A-Za-z]+[-_]?\d+(?:[.-]\d+)*[a-z]?)(?:\*\*|`)?\s*(?:[:.)\]–—-]\s*|\s+-\s+|$)(.*)$/.exec(
        title,
      );
    if (m?.[1]) {
      id = m[1];
      title = m[2] ?? '';
    }
  }
  return {
    id,
    title: stripInline(title),
    role,
    dependsOn,
    notes,
    ...(target !== undefined ? { target } : {}),
    ...(bestOf !== undefined ? { bestOf } : {}),
  };
}

/**
 * A target id from what people write after `Target:` (`api`, `` `api` ``, `**api**`), or
 * `undefined` for an empty value, `none` or `-` (the main repository). The id is kept as
 * written otherwise, so validation can report one that is not configured.
 *
 * @example
 * targetName(' `api` '); // 'api'
 */
export function targetName(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const cleaned = stripInline(value).trim();
  return cleaned === '' || /^(none|-)$/i.test(cleaned) ? undefined : cleaned;
}

const NO_ROLE = new Set(['', 'tbd', 'none', 'unassigned', 'anyone', 'any', 'n-a', 'na', 'nobody']);

/**
 * A role id from what people write after `Assigned To:` or `role:` (`Backend Developer`
 * → `backend-developer`, `@coder` → `coder`), or `undefined` when it names no role
 * (`TBD`, `none`, `-`).
 *
 * @example
 * roleName('Coder Agent'); // 'coder-agent'
 */
export function roleName(value: string): string | undefined {
  const cleaned = stripInline(value)
    .replace(/^@/, '')
    .replace(/\([^)]*\)/g, ' ')
    .split(/[,;/]/)[0];
  const slug = slugify(cleaned ?? '');
  return NO_ROLE.has(slug) ? undefined : slug;
}
