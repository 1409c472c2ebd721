import fs from 'node:fs';
import path from 'node:path';
import type { WorkspaceConfig } from '../../core/config.js';
import { git } from '../git/git.js';
import { runCommand } from '../system/run-command.js';

/**
 * `workspace.copy` and `workspace.setup`: preparing a new task worktree before its first
 * attempt. A worktree counts as prepared once its set-up succeeded: a marker in the
 * worktree's own git directory (`<git-dir>/orch-prepared`) says so, so it goes with the
 * worktree (a recreated worktree is prepared again) and survives an orch restart.
 */

/** The marker file in a worktree's git directory once it was prepared. */
export const PREPARED_MARKER = 'orch-prepared';

/** How a preparation ended, for `WorkspacePrepared`. */
export interface PrepOutcome {
  copied: string[];
  command: string[] | null;
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  tail: string;
}

/**
 * Whether the worktree at `worktree` still needs preparing (no marker in its git directory).
 *
 * @example
 * if (await needsPreparing(ws.path)) await prepareWorkspace({ … });
 */
export async function needsPreparing(worktree: string): Promise<boolean> {
  const gitDir = (await git(worktree, ['rev-parse', '--absolute-git-dir'])).trim();
  return !fs.existsSync(path.join(gitDir, PREPARED_MARKER));
}

/**
 * Copies `config.copy` from `mainRepo` into `worktree` (files missing in the main
 * repository are skipped and said so in the output), lists them in the repository's
 * `info/exclude` so no `git add -A` in the worktree picks them up, then runs `config.setup`
 * in the worktree with its output in `logFile`. On success the marker is written; a
 * non-zero exit leaves the worktree unprepared (the next attempt prepares it again).
 *
 * @example
 * const r = await prepareWorkspace({ worktree, mainRepo, config: { setup: ['npm', 'ci'] }, logFile, env });
 * if (r.exitCode !== 0) fail(r.tail);
 */
export async function prepareWorkspace(o: {
  worktree: string;
  mainRepo: string;
  config: WorkspaceConfig;
  logFile: string;
  env: Record<string, string>;
}): Promise<PrepOutcome> {
  const notes: string[] = [];
  const copied: string[] = [];
  for (const rel of o.config.copy ?? []) {
    const from = path.join(o.mainRepo, rel);
    if (!fs.existsSync(from)) {
      notes.push(`workspace.copy: ${rel} is not in ${o.mainRepo}; not copied`);
      continue;
    }
    const to = path.join(o.worktree, rel);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.cpSync(from, to, { recursive: true, force: true });
    copied.push(rel);
  }
  if (copied.length > 0) await excludeInRepository(o.worktree, copied);
  fs.mkdirSync(path.dirname(o.logFile), { recursive: true });
  const header = notes.length > 0 ? `${notes.join('\n')}\n` : '';
  const gitDir = (await git(o.worktree, ['rev-parse', '--absolute-git-dir'])).trim();
  if (o.config.setup === undefined) {
    fs.writeFileSync(o.logFile, header);
    fs.writeFileSync(path.join(gitDir, PREPARED_MARKER), JSON.stringify({ copied }) + '\n');
    return { copied, command: null, exitCode: 0, timedOut: false, durationMs: 0, tail: header };
  }
  const result = await runCommand(o.config.setup, {
    cwd: o.worktree,
    logFile: o.logFile,
    env: o.env,
    ...(o.config.setupTimeout === undefined ? {} : { timeoutMs: o.config.setupTimeout * 1000 }),
  });
  const ok = result.exitCode === 0 && !result.timedOut;
  const banner = `orch: workspace.setup ${JSON.stringify(o.config.setup)} ${ok ? 'done' : result.timedOut ? 'timed out' : `failed (exit ${result.exitCode ?? result.signal ?? 'none'})`} in ${result.durationMs} ms\n`;
  fs.appendFileSync(o.logFile, header + banner);
  if (ok) {
    fs.writeFileSync(
      path.join(gitDir, PREPARED_MARKER),
      JSON.stringify({ copied, setup: o.config.setup }) + '\n',
    );
  }
  return {
    copied,
    command: [...o.config.setup],
    exitCode: result.timedOut ? null : result.exitCode,
    timedOut: result.timedOut,
    durationMs: result.durationMs,
    tail: header + result.tail,
  };
}

const EXCLUDE_HEADER = '# orch workspace.copy: copied into task worktrees, never committed';

/**
 * Adds `paths` (anchored at the worktree root) to `<common git dir>/info/exclude`, once each:
 * git reads that file for every worktree of the repository.
 */
async function excludeInRepository(worktree: string, paths: string[]): Promise<void> {
  const common = (await git(worktree, ['rev-parse', '--git-common-dir'])).trim();
  const file = path.join(path.resolve(worktree, common), 'info', 'exclude');
  const existing = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const lines = new Set(existing.split('\n'));
  const missing = paths.map((p) => `/${p.split(path.sep).join('/')}`).filter((l) => !lines.has(l));
  if (missing.length === 0) return;
  const head = lines.has(EXCLUDE_HEADER) ? [] : [EXCLUDE_HEADER];
  const sep = existing === '' || existing.endsWith('\n') ? '' : '\n';
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.appendFileSync(file, `${sep}${[...head, ...missing].join('\n')}\n`);
}

/**
 * The block of `count` ports for a new spawn: the lowest block from `base` up that no
 * block in `held` overlaps and that fits under 65536; null when none is left.
 *
 * @example
 * freePortBlock(20000, 3, [{ base: 20000, count: 3 }]); // 20003
 */
export function freePortBlock(
  base: number,
  count: number,
  held: readonly { base: number; count: number }[],
): number | null {
  for (let start = base; start + count - 1 <= 65535; start += count) {
    const overlaps = held.some((h) => start < h.base + h.count && h.base < start + count);
    if (!overlaps) return start;
  }
  return null;
}

/**
 * The environment of a port block: `ORCH_PORT_BASE` and `ORCH_PORTS` (comma list).
 *
 * @example
 * portEnv(20000, 2); // { ORCH_PORT_BASE: '20000', ORCH_PORTS: '20000,20001' }
 */
export function portEnv(base: number, count: number): Record<string, string> {
  return {
    ORCH_PORT_BASE: String(base),
    ORCH_PORTS: Array.from({ length: count }, (_, i) => String(base + i)).join(','),
  };
}
