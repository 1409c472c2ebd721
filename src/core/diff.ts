/**
 * Deep comparison of plain JSON values that names the first place they differ, for
 * `orch replay --verify` ("tasks.T001.context.attempts: 2 vs 3").
 */

/** Where two values first differ. */
export interface Difference {
  /** Path in the value, e.g. `tasks["1.2"].context.attempts` (empty for the root). */
  path: string;
  left: unknown;
  right: unknown;
}

/**
 * The first difference between two JSON-like values (depth first, in key order of `left`,
 * then keys only `right` has), or null when they are deep-equal. A key whose value is
 * `undefined` counts as absent, as it would after a round trip through JSON.
 *
 * @example
 * firstDifference({ a: { b: 1 } }, { a: { b: 2 } }); // { path: 'a.b', left: 1, right: 2 }
 */
export function firstDifference(left: unknown, right: unknown, path = ''): Difference | null {
  if (Object.is(left, right)) return null;
  if (typeof left !== 'object' || typeof right !== 'object' || left === null || right === null) {
    // 0 and -0 are the same number once written as JSON.
    return typeof left === 'number' && left === right ? null : { path, left, right };
  }
  if (Array.isArray(left) !== Array.isArray(right)) return { path, left, right };
  if (Array.isArray(left) && Array.isArray(right)) {
    const n = Math.max(left.length, right.length);
    for (let i = 0; i < n; i++) {
      if (i >= left.length || i >= right.length) {
        return { path: `${path}[${i}]`, left: left[i], right: right[i] };
      }
      const d = firstDifference(left[i], right[i], `${path}[${i}]`);
      if (d !== null) return d;
    }
    return null;
  }
  const a = left as Record<string, unknown>;
  const b = right as Record<string, unknown>;
  for (const key of Object.keys(a)) {
    const d = firstDifference(a[key], Object.hasOwn(b, key) ? b[key] : undefined, join(path, key));
    if (d !== null) return d;
  }
  for (const key of Object.keys(b)) {
    if (Object.hasOwn(a, key)) continue;
    if (b[key] !== undefined) return { path: join(path, key), left: undefined, right: b[key] };
  }
  return null;
}

/**
 * Appends a key to a path: `.key` for identifier-like keys, `["1.2"]` otherwise.
 *
 * @example
 * join('tasks', '1.2'); // 'tasks["1.2"]'
 */
export function join(path: string, key: string): string {
  if (/^[A-Za-z_$][\w$-]*$/.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

/**
 * A short text of a value for an error message (at most `max` characters).
 *
 * @example
 * preview({ value: 'running' }); // '{"value":"running"}'
 */
export function preview(value: unknown, max = 80): string {
  const text = value === undefined ? 'absent' : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
