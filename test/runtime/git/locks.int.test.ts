import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkspaceManager } from '../../../src/runtime/git/workspace.js';
import { commitFile, git, makeRepo, removeDir, tempDir } from '../helpers.js';

/**
 * Stale git locks (a crashed git's `index.lock`, `HEAD.lock`, branch lock) in orch's own
 * worktrees, on real repositories with real git processes: removed when no git process runs
 * there (said through `onStaleLockRemoved`), refused with GIT_LOCKED while one does.
 */

let dir: string;
let repo: string;
const removed: string[] = [];

beforeEach(() => {
  dir = tempDir('locks');
  repo = makeRepo(path.join(dir, 'repo'));
  removed.length = 0;
});
afterEach(() => removeDir(dir));

async function open(): Promise<WorkspaceManager> {
  return WorkspaceManager.open({
    repoDir: repo,
    sandboxDir: '.state/sandbox',
    integrationBranch: 'integration',
    baseBranch: 'main',
    onStaleLockRemoved: (message) => removed.push(message),
  });
}

/** Two tasks with one commit each; T1 merged, so the integration worktree exists. */
async function twoTasks(ws: WorkspaceManager): Promise<{ integration: string; t2: string }> {
  const t1 = await ws.ensureWorkspace('T1');
  commitFile(t1.path, 'a.txt', 'a\n');
  const t2 = await ws.ensureWorkspace('T2');
  commitFile(t2.path, 'b.txt', 'b\n');
  expect((await ws.mergeTask('T1', 'merge T1')).status).toBe('merged');
  return { integration: await ws.integrationPath(), t2: t2.path };
}

const gitDirOf = (worktree: string) => git(worktree, 'rev-parse', '--absolute-git-dir');

describe('stale git locks', () => {
  it('a crashed git left index.lock, HEAD.lock and the branch lock: no git runs there, so they are removed (and said), and the merge goes on', async () => {
    const ws = await open();
    const { integration } = await twoTasks(ws);
    const gitDir = gitDirOf(integration);
    const locks = [
      path.join(gitDir, 'index.lock'),
      path.join(gitDir, 'HEAD.lock'),
      path.join(repo, '.git', 'refs', 'heads', 'integration.lock'),
    ];
    for (const f of locks) fs.writeFileSync(f, '');
    // Without the removal git itself refuses.
    expect(() => git(integration, 'reset', '-q', 'HEAD')).toThrow(/index\.lock/);
    expect((await ws.mergeTask('T2', 'merge T2')).status).toBe('merged');
    for (const f of locks) expect(fs.existsSync(f)).toBe(false);
    expect(removed).toHaveLength(3);
    expect(removed[0]).toMatch(
      /^removed the stale git lock .*index\.lock \(\d+ s old\): no git process runs in /,
    );
  });

  it("a task worktree's index.lock is removed when the worktree is reused (a killed agent's git)", async () => {
    const ws = await open();
    const t1 = await ws.ensureWorkspace('T1');
    fs.writeFileSync(path.join(gitDirOf(t1.path), 'index.lock'), '');
    await ws.ensureWorkspace('T1');
    expect(() => commitFile(t1.path, 'c.txt', 'c\n')).not.toThrow();
    expect(removed).toEqual([expect.stringContaining(path.join(gitDirOf(t1.path), 'index.lock'))]);
  });

  it('a live git process in the worktree may hold it: GIT_LOCKED names the file and what to do, nothing is removed; once that git ends, the merge goes on', async () => {
    const ws = await open();
    const { integration } = await twoTasks(ws);
    const lock = path.join(gitDirOf(integration), 'index.lock');
    fs.writeFileSync(lock, '');
    // A real git, waiting on its stdin, with its working directory in the integration worktree.
    const holder = spawn('git', ['hash-object', '--stdin'], {
      cwd: integration,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const err = await ws.mergeTask('T2', 'merge T2').then(
        () => null,
        (e: unknown) => e as { code: string; message: string; hint: string },
      );
      expect(err?.code).toBe('GIT_LOCKED');
      expect(err?.message).toBe(
        `${lock} exists and may be in use: git process(es) ${holder.pid} are running in ${integration}`,
      );
      expect(err?.hint).toContain(`delete ${lock}`);
      expect(fs.existsSync(lock)).toBe(true);
      expect(removed).toEqual([]);
    } finally {
      const ended = new Promise((resolve) => holder.on('exit', resolve));
      holder.stdin.end();
      await ended;
    }
    expect((await ws.mergeTask('T2', 'merge T2')).status).toBe('merged');
    expect(fs.existsSync(lock)).toBe(false);
    expect(removed).toHaveLength(1);
  });
});
