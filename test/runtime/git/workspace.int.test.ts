import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkspaceManager, type WorkspaceOptions } from '../../../src/runtime/git/workspace.js';
import { commitFile, git, makeRepo, removeDir, tempDir } from '../helpers.js';

let dir: string;
let repo: string;

function options(over: Partial<WorkspaceOptions> = {}): WorkspaceOptions {
  return {
    repoDir: repo,
    sandboxDir: '.state/sandbox',
    integrationBranch: 'integration',
    baseBranch: 'main',
    ...over,
  };
}

beforeEach(() => {
  dir = tempDir('ws');
  repo = path.join(dir, 'repo');
});

afterEach(() => removeDir(dir));

describe('preflight', () => {
  it('refuses a directory that is not a git repository, or does not exist', async () => {
    fs.mkdirSync(repo);
    await expect(WorkspaceManager.open(options())).rejects.toMatchObject({
      code: 'NOT_A_GIT_REPO',
      exitCode: 1,
    });
    await expect(
      WorkspaceManager.open(options({ repoDir: path.join(dir, 'missing') })),
    ).rejects.toMatchObject({
      code: 'NOT_A_GIT_REPO',
    });
  });

  it('refuses a repository with no commits', async () => {
    fs.mkdirSync(repo);
    git(repo, 'init', '-q', '-b', 'main');
    await expect(WorkspaceManager.open(options())).rejects.toMatchObject({ code: 'NO_COMMITS' });
  });

  it('refuses branch names git would reject or read as options', async () => {
    makeRepo(repo);
    for (const bad of ['-x', '--upload-pack=evil', 'a..b', 'x@{1}', 'has space', 'end.lock']) {
      await expect(WorkspaceManager.open(options({ integrationBranch: bad }))).rejects.toMatchObject({
        code: 'INVALID_BRANCH_NAME',
      });
    }
  });

  it('names the existing branches when the base branch is missing', async () => {
    makeRepo(repo, 'master');
    const err = await WorkspaceManager.open(options()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'BASE_BRANCH_NOT_FOUND' });
    expect((err as Error & { hint: string }).hint).toContain('master');
  });

  it('creates the integration branch from the base branch', async () => {
    makeRepo(repo);
    const ws = await WorkspaceManager.open(options());
    expect(git(repo, 'rev-parse', 'integration')).toBe(git(repo, 'rev-parse', 'main'));
    expect(fs.existsSync(ws.sandboxDir)).toBe(true);
    expect(ws.sandboxDir).toBe(path.join(repo, '.state', 'sandbox'));
  });

  it('refuses a dirty integration branch, but not untracked files', async () => {
    makeRepo(repo);
    git(repo, 'checkout', '-q', '-b', 'integration');
    fs.writeFileSync(path.join(repo, 'untracked.txt'), 'x');
    await WorkspaceManager.open(options());
    fs.writeFileSync(path.join(repo, 'README.md'), 'changed\n');
    const err = await WorkspaceManager.open(options()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DIRTY_INTEGRATION_BRANCH' });
    expect((err as Error).message).toContain('README.md');
  });
});

describe('task worktrees', () => {
  it('creates a worktree on orch/<id> from the integration branch, and reuses it on a retry', async () => {
    makeRepo(repo);
    const ws = await WorkspaceManager.open(options());
    const integrationHead = git(repo, 'rev-parse', 'integration');
    const first = await ws.ensureWorkspace('T001');
    expect(first).toEqual({
      taskId: 'T001',
      path: path.join(repo, '.state', 'sandbox', 'T001'),
      branch: 'orch/T001',
      created: true,
      head: integrationHead,
    });
    expect(git(first.path, 'symbolic-ref', '--short', 'HEAD')).toBe('orch/T001');
    const commit = commitFile(first.path, 'work.txt', 'attempt 1\n');
    fs.writeFileSync(path.join(first.path, 'uncommitted.txt'), 'left by attempt 1');
    const again = await ws.ensureWorkspace('T001');
    expect(again).toMatchObject({ path: first.path, created: false, head: commit });
    expect(fs.existsSync(path.join(first.path, 'uncommitted.txt'))).toBe(true);
    // The user's own checkout is never moved.
    expect(git(repo, 'symbolic-ref', '--short', 'HEAD')).toBe('main');
    expect(await ws.commitsAhead('T001')).toBe(1);
  });

  it('recovers after a crash: a deleted worktree is recreated from the branch, a stale index.lock removed', async () => {
    makeRepo(repo);
    const ws = await WorkspaceManager.open(options());
    const first = await ws.ensureWorkspace('T002');
    const commit = commitFile(first.path, 'a.txt', 'a\n');
    fs.rmSync(first.path, { recursive: true, force: true });
    const back = await ws.ensureWorkspace('T002');
    expect(back).toMatchObject({ path: first.path, created: false, head: commit });

    const gitDir = git(back.path, 'rev-parse', '--absolute-git-dir');
    fs.writeFileSync(path.join(gitDir, 'index.lock'), '');
    await ws.ensureWorkspace('T002');
    expect(() => commitFile(back.path, 'b.txt', 'b\n')).not.toThrow();
  });

  it('recovers a worktree whose creation was interrupted (locked registration, missing directory)', async () => {
    makeRepo(repo);
    const ws = await WorkspaceManager.open(options());
    const created = await ws.ensureWorkspace('T003');
    git(repo, 'worktree', 'lock', '--reason', 'initializing', '--', created.path);
    fs.rmSync(created.path, { recursive: true, force: true });
    const back = await ws.ensureWorkspace('T003');
    expect(back.created).toBe(false);
    expect(fs.existsSync(path.join(back.path, 'README.md'))).toBe(true);
  });

  it('reuses an empty leftover directory but refuses to overwrite a foreign one', async () => {
    makeRepo(repo);
    const ws = await WorkspaceManager.open(options());
    fs.mkdirSync(ws.pathFor('T004'), { recursive: true });
    await expect(ws.ensureWorkspace('T004')).resolves.toMatchObject({ created: true });
    fs.mkdirSync(ws.pathFor('T005'), { recursive: true });
    fs.writeFileSync(path.join(ws.pathFor('T005'), 'precious.txt'), 'keep me');
    await expect(ws.ensureWorkspace('T005')).rejects.toMatchObject({ code: 'WORKSPACE_CONFLICT' });
    expect(fs.readFileSync(path.join(ws.pathFor('T005'), 'precious.txt'), 'utf8')).toBe('keep me');
  });

  it('checks a new worktree out as git worktree add does: its files, a clean index, the post-checkout hook', async () => {
    makeRepo(repo);
    commitFile(repo, 'src/lib.txt', 'lib\n');
    const hookLog = path.join(dir, 'hook.log');
    fs.writeFileSync(
      path.join(repo, '.git', 'hooks', 'post-checkout'),
      `#!/bin/sh\necho "$1 $2 $3 $(pwd -P)" >> '${hookLog}'\n`,
      { mode: 0o755 },
    );
    const ws = await WorkspaceManager.open(options());
    const w = await ws.ensureWorkspace('T007');
    expect(fs.readFileSync(path.join(w.path, 'src', 'lib.txt'), 'utf8')).toBe('lib\n');
    expect(git(w.path, 'status', '--porcelain')).toBe('');
    expect(git(w.path, 'symbolic-ref', '--short', 'HEAD')).toBe('orch/T007');
    const lines = fs.readFileSync(hookLog, 'utf8').trim().split('\n');
    expect(lines).toContain(`${'0'.repeat(40)} ${w.head} 1 ${fs.realpathSync(w.path)}`);
  });

  it('finishes the checkout of a worktree registered without one (orch stopped between the two)', async () => {
    makeRepo(repo);
    const ws = await WorkspaceManager.open(options());
    const wanted = ws.pathFor('T008');
    git(repo, 'branch', '-q', '--no-track', 'orch/T008', 'integration');
    git(repo, 'worktree', 'add', '-q', '--no-checkout', '--', wanted, 'orch/T008');
    expect(fs.existsSync(path.join(wanted, 'README.md'))).toBe(false);
    const back = await ws.ensureWorkspace('T008');
    expect(back).toMatchObject({ path: wanted, created: false, head: git(repo, 'rev-parse', 'integration') });
    expect(fs.existsSync(path.join(wanted, 'README.md'))).toBe(true);
    expect(git(wanted, 'status', '--porcelain')).toBe('');
  });

  it('makes many worktrees at once, each checked out on its own branch', async () => {
    makeRepo(repo);
    const ws = await WorkspaceManager.open(options());
    const ids = Array.from({ length: 12 }, (_, i) => `P${i}`);
    const made = await Promise.all(ids.map((id) => ws.ensureWorkspace(id)));
    for (const w of made) {
      expect(w.created).toBe(true);
      expect(git(w.path, 'symbolic-ref', '--short', 'HEAD')).toBe(w.branch);
      expect(git(w.path, 'status', '--porcelain')).toBe('');
      expect(fs.existsSync(path.join(w.path, 'README.md'))).toBe(true);
    }
    expect(git(repo, 'worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(13);
  });

  it('removes a worktree and optionally its branch', async () => {
    makeRepo(repo);
    const ws = await WorkspaceManager.open(options());
    const w = await ws.ensureWorkspace('T006');
    await ws.removeWorkspace('T006');
    expect(fs.existsSync(w.path)).toBe(false);
    expect(git(repo, 'branch', '--list', 'orch/T006')).toContain('orch/T006');
    await ws.removeWorkspace('T006', { deleteBranch: true });
    expect(git(repo, 'branch', '--list', 'orch/T006')).toBe('');
  });
});

describe('hostile task ids', () => {
  const hostile = [
    '../x',
    '../../../../tmp/escape',
    '/abs/path',
    '-x',
    '--upload-pack=touch /tmp/orch-pwned',
    '--output=/tmp/orch-pwned',
    'with space',
    '..',
    '.',
    '.hidden',
    'a..b',
    'x@{1}',
    '@',
    'a~1^2:3?*[x]\\y',
    'T1.lock',
    'trailing.',
    'a//b',
    'a/b/c',
    'ünïcødé ✓',
    '+2E',
    'HEAD',
    '$(touch pwned)',
  ];

  it('gives every hostile id its own branch and a directory inside the sandbox, and nothing else', async () => {
    makeRepo(repo);
    const ws = await WorkspaceManager.open(options());
    const outside = fs.readdirSync(dir).sort();
    const branches = new Set<string>();
    for (const id of hostile) {
      const w = await ws.ensureWorkspace(id);
      const rel = path.relative(ws.sandboxDir, w.path);
      expect(
        rel.startsWith('..') || path.isAbsolute(rel) || rel.includes(path.sep),
        `${id} -> ${w.path}`,
      ).toBe(false);
      expect(path.dirname(w.path)).toBe(ws.sandboxDir);
      expect(() =>
        execFileSync('git', ['check-ref-format', '--branch', w.branch], { cwd: repo, stdio: 'pipe' }),
      ).not.toThrow();
      expect(git(w.path, 'symbolic-ref', '--short', 'HEAD')).toBe(w.branch);
      branches.add(w.branch);
    }
    expect(branches.size).toBe(hostile.length);
    expect(fs.readdirSync(dir).sort()).toEqual(outside);
    expect(fs.existsSync('/tmp/orch-pwned')).toBe(false);
    expect(fs.existsSync(path.join(repo, 'pwned'))).toBe(false);
  });

  it('refuses ids that cannot be made safe with INVALID_TASK_ID', async () => {
    makeRepo(repo);
    const ws = await WorkspaceManager.open(options());
    for (const id of ['', 'a\nb', 'nul\u0000byte', 'esc\u001b[31m', 'x'.repeat(200)]) {
      await expect(ws.ensureWorkspace(id)).rejects.toMatchObject({ code: 'INVALID_TASK_ID' });
    }
    expect(git(repo, 'branch', '--list', 'orch/*')).toBe('');
  });
});

describe('the CI checkout', () => {
  it('tests exactly the merged commit while later merges move the integration branch, one CI run at a time', async () => {
    makeRepo(repo);
    const ws = await WorkspaceManager.open(options());
    const a = await ws.ensureWorkspace('A');
    commitFile(a.path, 'a.txt', 'a\n');
    const first = await ws.mergeTask('A', 'merge A');
    expect(first.status).toBe('merged');
    const firstCommit = first.status === 'merged' ? (first.commit ?? '') : '';

    const seen: string[] = [];
    let running = 0;
    let overlapped = false;
    const ciRun = ws.inCiCheckout(firstCommit, async (cwd) => {
      running += 1;
      if (running > 1) overlapped = true;
      // While this "CI" runs, B merges into the integration branch.
      const b = await ws.ensureWorkspace('B');
      commitFile(b.path, 'b.txt', 'b\n');
      expect((await ws.mergeTask('B', 'merge B')).status).toBe('merged');
      seen.push(git(cwd, 'rev-parse', 'HEAD'), String(fs.existsSync(path.join(cwd, 'b.txt'))));
      fs.writeFileSync(path.join(cwd, 'left-by-ci.txt'), 'x');
      running -= 1;
    });
    const second = ws.inCiCheckout('integration', async (cwd) => {
      running += 1;
      if (running > 1) overlapped = true;
      seen.push(
        String(fs.existsSync(path.join(cwd, 'b.txt'))),
        String(fs.existsSync(path.join(cwd, 'left-by-ci.txt'))),
      );
      running -= 1;
    });
    await Promise.all([ciRun, second]);
    expect(overlapped).toBe(false);
    // The first run saw A's merge commit, without B; the second saw B, and nothing the first left.
    expect(seen).toEqual([firstCommit, 'false', 'true', 'false']);
    expect(git(repo, 'log', '--first-parent', '--format=%s', 'integration').split('\n').slice(0, 2)).toEqual([
      'merge B',
      'merge A',
    ]);
  });
});
