import fs from 'node:fs';
import path from 'node:path';

/**
 * Reading refs the way git stores them, without starting a git process: a loose ref is a file
 * `<common-dir>/<ref>` holding a commit id, else a line `<id> <ref>` of `<common-dir>/packed-refs`.
 * A start of git costs the orchestrator a fork of its own process (2–4 ms of CPU each, growing
 * with its memory) plus git's own start; a merge or an agent's end read two or three refs.
 *
 * Every function answers `undefined` when it cannot tell for sure (a symbolic ref, a ref
 * backend other than files such as reftable, an unreadable file): the caller then asks git.
 */

const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** packed-refs, parsed once per (size, mtime) of the file. */
const packedCache = new Map<string, { key: string; refs: Map<string, string> }>();

function packedRefs(commonDir: string): Map<string, string> | undefined {
  const file = path.join(commonDir, 'packed-refs');
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? new Map() : undefined;
  }
  const key = `${st.size}:${st.mtimeMs}:${st.ino}`;
  const cached = packedCache.get(commonDir);
  if (cached?.key === key) return cached.refs;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const refs = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('^')) continue;
    const space = line.indexOf(' ');
    const sha = line.slice(0, space);
    if (space > 0 && SHA.test(sha)) refs.set(line.slice(space + 1), sha);
  }
  packedCache.set(commonDir, { key, refs });
  return refs;
}

/** Whether this repository keeps its refs as files (not reftable), read from `<common-dir>/config` once. */
const filesBackend = new Map<string, boolean>();

function usesFiles(commonDir: string): boolean {
  let known = filesBackend.get(commonDir);
  if (known === undefined) {
    try {
      const config = fs.readFileSync(path.join(commonDir, 'config'), 'utf8');
      known = !/^\s*refstorage\s*=/im.test(config) && !fs.existsSync(path.join(commonDir, 'reftable'));
    } catch {
      known = false;
    }
    filesBackend.set(commonDir, known);
  }
  return known;
}

/**
 * The commit id `ref` (a full name, `refs/heads/…`) points at: a string, `null` when the ref
 * does not exist, `undefined` when only git can tell.
 *
 * @example
 * readRef('/repo/.git', 'refs/heads/integration'); // '3f2c…' | null | undefined
 */
export function readRef(commonDir: string, ref: string): string | null | undefined {
  if (!ref.startsWith('refs/') || ref.includes('..') || !usesFiles(commonDir)) return undefined;
  try {
    const text = fs.readFileSync(path.join(commonDir, ref), 'utf8').trim();
    return SHA.test(text) ? text : undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') return undefined;
  }
  const packed = packedRefs(commonDir);
  if (packed === undefined) return undefined;
  return packed.get(ref) ?? null;
}

/**
 * The commit a worktree's HEAD is at (through its `.git` file and the branch it names), or
 * `undefined` when only git can tell (then ask `git rev-parse HEAD`).
 *
 * @example
 * readWorktreeHead('/repo/.state/sandbox/T1'); // '3f2c…' | undefined
 */
export function readWorktreeHead(worktree: string): string | undefined {
  try {
    const dotGit = path.join(worktree, '.git');
    let gitDir: string;
    if (fs.statSync(dotGit).isDirectory()) gitDir = dotGit;
    else {
      const line = fs.readFileSync(dotGit, 'utf8').trim();
      if (!line.startsWith('gitdir: ')) return undefined;
      gitDir = path.resolve(worktree, line.slice('gitdir: '.length));
    }
    const head = fs.readFileSync(path.join(gitDir, 'HEAD'), 'utf8').trim();
    if (SHA.test(head)) return head;
    if (!head.startsWith('ref: ')) return undefined;
    let commonDir = gitDir;
    try {
      commonDir = path.resolve(gitDir, fs.readFileSync(path.join(gitDir, 'commondir'), 'utf8').trim());
    } catch {
      // The main worktree: its git dir is the common one.
    }
    return readRef(commonDir, head.slice('ref: '.length)) ?? undefined;
  } catch {
    return undefined;
  }
}
