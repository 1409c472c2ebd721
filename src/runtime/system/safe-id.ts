import { InvalidTaskIdError } from './errors.js';

/**
 * Task ids come from plan files that people and agents write, and they become git branch
 * names (`orch/<id>`) and directory names under the sandbox. Decision: **encode, and refuse
 * only what cannot be meaningful**, so any reasonable plan id runs and common ids stay
 * readable (`T001`, `1.2.3`, `batch-1_a` map to themselves).
 *
 * Encoding (injective, reversible with {@link decodeTaskId}):
 * - `A–Z a–z 0–9 _ -` are kept, except a leading `-` (it would read as an option);
 * - `.` is kept unless it is first, last, follows another `.`, or starts a trailing `.lock`;
 * - every other UTF-8 byte (space, `/`, `\`, `~^:?*[`, `@`, `{`, `+`, non-ASCII, …) becomes `+HH`.
 *
 * The result never contains `/`, `..`, `@{`, whitespace or a character git forbids in a ref,
 * never starts with `-` or `.`, and never ends with `.` or `.lock`; so `orch/<encoded>` is a
 * valid branch and `<sandbox>/<encoded>` stays inside the sandbox.
 *
 * Refused with `INVALID_TASK_ID`: the empty id, ids with control characters (C0, DEL) or
 * broken UTF-16, and ids longer than {@link MAX_ENCODED_LENGTH} once encoded.
 * Note: on case-insensitive file systems `T1` and `t1` would share a directory.
 */

/** Longest encoded id accepted (keeps branch and directory names well under OS limits). */
export const MAX_ENCODED_LENGTH = 120;

/** Branch prefix for task branches. */
export const TASK_BRANCH_PREFIX = 'orch/';

const PLAIN = /[A-Za-z0-9_-]/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Encodes a task id into a string safe as a path component and a ref component.
 * Throws {@link InvalidTaskIdError} for ids that are refused.
 *
 * @example
 * encodeTaskId('T001');        // 'T001'
 * encodeTaskId('../etc');      // '+2E+2E+2Fetc'
 * encodeTaskId('--upload-pack=x'); // '+2D-upload-pack+3Dx'
 */
export function encodeTaskId(id: string): string {
  if (id.length === 0) throw new InvalidTaskIdError(id, 'it is empty');
  if (CONTROL.test(id)) throw new InvalidTaskIdError(id, 'it contains control characters');
  if (LONE_SURROGATE.test(id)) throw new InvalidTaskIdError(id, 'it is not valid Unicode text');
  const chars = Array.from(id);
  let out = '';
  chars.forEach((ch, i) => {
    const keepDot = ch === '.' && i > 0 && i < chars.length - 1 && chars[i - 1] !== '.';
    const keep = (PLAIN.test(ch) && !(i === 0 && ch === '-')) || keepDot;
    out += keep ? ch : escapeChar(ch);
  });
  // A trailing ".lock" is reserved by git for lock files.
  if (/\.lock$/i.test(out)) out = `${out.slice(0, -5)}+2E${out.slice(-4)}`;
  if (out.length > MAX_ENCODED_LENGTH) {
    throw new InvalidTaskIdError(id, `it is longer than ${MAX_ENCODED_LENGTH} characters once made safe`);
  }
  return out;
}

/**
 * Reverses {@link encodeTaskId}.
 *
 * @example
 * decodeTaskId('+2E+2E+2Fetc'); // '../etc'
 */
export function decodeTaskId(encoded: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    const ch = encoded.charAt(i);
    if (ch === '+' && /^[0-9A-F]{2}$/.test(encoded.slice(i + 1, i + 3))) {
      bytes.push(parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...new TextEncoder().encode(ch));
    }
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
}

/**
 * The branch a task's agents work on: `orch/<encoded id>`.
 *
 * @example
 * taskBranch('T001'); // 'orch/T001'
 */
export function taskBranch(taskId: string, lane?: number): string {
  return TASK_BRANCH_PREFIX + workspaceKey(taskId, lane);
}

/**
 * The encoded id a task's worktree and branch are named by; a best-of-N lane's adds
 * `+lane<k>` (never the encoding of another id: `+` is always escaped as `+HH` there).
 *
 * @example
 * workspaceKey('T001'); // 'T001'
 * workspaceKey('T001', 2); // 'T001+lane2'
 */
export function workspaceKey(taskId: string, lane?: number): string {
  return encodeTaskId(taskId) + (lane === undefined ? '' : `+lane${lane}`);
}

/**
 * Throws {@link InvalidTaskIdError} unless the id can be encoded; use it to check plan ids
 * before anything is spawned.
 *
 * @example
 * assertValidTaskId('T001');
 */
export function assertValidTaskId(id: string): void {
  encodeTaskId(id);
}

function escapeChar(ch: string): string {
  return Array.from(
    new TextEncoder().encode(ch),
    (b) => `+${b.toString(16).toUpperCase().padStart(2, '0')}`,
  ).join('');
}
