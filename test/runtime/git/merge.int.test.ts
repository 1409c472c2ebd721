import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { INTEGRATION_WORKTREE, WorkspaceManager } from '../../../src/runtime/git/workspace.js';
import { commitFile, git, makeRepo, removeDir, tempDir } from '../helpers.js';

let dir: string;
let repo: string;
let ws: WorkspaceManager;

beforeEach(async () => {
  dir = tempDir('merge');
  repo = makeRepo(path.join(dir, 'repo'));
  ws = await WorkspaceManager.open({
    repoDir: repo,
    sandboxDir: '.state/sandbox',
    integrationBranch: 'integration',
    baseBranch: 'main',
  });
});

afterEach(() => removeDir(dir));

function parents(commit: string): string[] {
  return git(repo, 'rev-list', '--parents', '-n', '1', commit).split(' ').slice(1);
}

describe('mergeTask', () => {
  it('merges the task branch with --no-ff and the message, leaving the user checkout alone', async () => {
    const w = await ws.ensureWorkspace('T001');
    const tip = commitFile(w.path, 'src/add.ts', 'export const add = 1;\n', 'T001: add');
    const before = git(repo, 'rev-parse', 'integration');
    const result = await ws.mergeTask('T001', 'Merge T001: add the adder');
    expect(result.status).toBe('merged');
    const commit = (result as { commit: string }).commit;
    expect(git(repo, 'rev-parse', 'integration')).toBe(commit);
    expect(parents(commit)).toEqual([before, tip]);
    expect(git(repo, 'log', '-1', '--format=%s', commit)).toBe('Merge T001: add the adder');
    expect(git(repo, 'show', `integration:src/add.ts`)).toBe('export const add = 1;');
    expect(git(repo, 'symbolic-ref', '--short', 'HEAD')).toBe('main');
    expect(git(repo, 'rev-parse', 'main')).toBe(before);
    expect(await ws.integrationHead()).toBe(commit);
    expect(ws.branchFor('T001')).toBe('orch/T001');
    const integration = await ws.integrationPath();
    expect(integration).toBe(path.join(ws.sandboxDir, INTEGRATION_WORKTREE));
    expect(git(integration, 'rev-parse', 'HEAD')).toBe(commit);
  });

  it('is idempotent: merging again reports the existing merge commit', async () => {
    const w = await ws.ensureWorkspace('T002');
    commitFile(w.path, 'b.txt', 'b\n');
    const first = await ws.mergeTask('T002', 'Merge T002');
    const head = git(repo, 'rev-parse', 'integration');
    const again = await ws.mergeTask('T002', 'Merge T002');
    expect(again).toEqual({ status: 'already-merged', commit: (first as { commit: string }).commit });
    expect(git(repo, 'rev-parse', 'integration')).toBe(head);
  });

  it('reports a branch without new commits as already merged, with no merge commit', async () => {
    await ws.ensureWorkspace('T003');
    expect(await ws.mergeTask('T003', 'Merge T003')).toEqual({ status: 'already-merged', commit: null });
  });

  it('aborts a conflicting merge, lists the files, and leaves the integration branch untouched', async () => {
    const a = await ws.ensureWorkspace('A');
    const b = await ws.ensureWorkspace('B');
    commitFile(a.path, 'README.md', '# written by A\n');
    commitFile(a.path, 'shared/x.txt', 'A\n');
    commitFile(b.path, 'README.md', '# written by B\n');
    commitFile(b.path, 'shared/x.txt', 'B\n');
    commitFile(b.path, 'only-b.txt', 'fine\n');
    expect((await ws.mergeTask('A', 'Merge A')).status).toBe('merged');
    const head = git(repo, 'rev-parse', 'integration');
    const result = await ws.mergeTask('B', 'Merge B');
    expect(result).toEqual({ status: 'conflict', files: ['README.md', 'shared/x.txt'] });
    expect(git(repo, 'rev-parse', 'integration')).toBe(head);
    // No checkout was involved: nothing to roll back, nothing left half merged.
    expect(fs.existsSync(path.join(ws.sandboxDir, INTEGRATION_WORKTREE))).toBe(false);
    expect(git(repo, 'status', '--porcelain', '--untracked-files=no')).toBe('');
    expect(fs.existsSync(path.join(git(repo, 'rev-parse', '--absolute-git-dir'), 'MERGE_HEAD'))).toBe(false);
    // A later merge still works.
    const c = await ws.ensureWorkspace('C');
    commitFile(c.path, 'c.txt', 'c\n');
    expect((await ws.mergeTask('C', 'Merge C')).status).toBe('merged');
  });

  it('removes its own integration checkout at open, a merge a crash left half done in it included', async () => {
    const a = await ws.ensureWorkspace('A');
    const b = await ws.ensureWorkspace('B');
    commitFile(a.path, 'README.md', 'A\n');
    commitFile(b.path, 'README.md', 'B\n');
    await ws.mergeTask('A', 'Merge A');
    // Earlier versions merged in <sandbox>/.integration; integrationPath() still makes it.
    const integration = await ws.integrationPath();
    expect(integration).toBe(path.join(ws.sandboxDir, INTEGRATION_WORKTREE));
    const merged = git(repo, 'rev-parse', 'integration');
    // What a crash between "git merge" and "git merge --abort" leaves behind.
    expect(() => git(integration, 'merge', '--no-ff', '-m', 'crash', '--', 'orch/B')).toThrow();
    expect(git(integration, 'status', '--porcelain')).toContain('UU README.md');
    const reopened = await WorkspaceManager.open({
      repoDir: repo,
      sandboxDir: '.state/sandbox',
      integrationBranch: 'integration',
      baseBranch: 'main',
    });
    expect(fs.existsSync(integration)).toBe(false);
    expect(git(repo, 'worktree', 'list')).not.toContain(INTEGRATION_WORKTREE);
    expect(git(repo, 'rev-parse', 'integration')).toBe(merged);
    const c = await reopened.ensureWorkspace('C');
    commitFile(c.path, 'c.txt', 'c\n');
    expect((await reopened.mergeTask('C', 'Merge C')).status).toBe('merged');
  });

  it('merges in the user checkout when it has the integration branch, and refuses when it is dirty', async () => {
    git(repo, 'checkout', '-q', 'integration');
    const w = await ws.ensureWorkspace('T004');
    commitFile(w.path, 'd.txt', 'd\n');
    fs.writeFileSync(path.join(repo, 'README.md'), 'local edit\n');
    await expect(ws.mergeTask('T004', 'Merge T004')).rejects.toMatchObject({
      code: 'DIRTY_INTEGRATION_BRANCH',
    });
    git(repo, 'checkout', '--', 'README.md');
    expect((await ws.mergeTask('T004', 'Merge T004')).status).toBe('merged');
    expect(fs.readFileSync(path.join(repo, 'd.txt'), 'utf8')).toBe('d\n');
    expect(fs.existsSync(path.join(ws.sandboxDir, INTEGRATION_WORKTREE))).toBe(false);
    expect(await ws.integrationPath()).toBe(repo);
  });

  it('merges without a checkout, and still merges a branch whose commits cancel out', async () => {
    const w = await ws.ensureWorkspace('T010');
    commitFile(w.path, 'x.txt', 'x\n');
    git(w.path, 'rm', '-q', '--', 'x.txt');
    git(w.path, 'commit', '-q', '-m', 'undo x');
    const tip = git(w.path, 'rev-parse', 'HEAD');
    const before = git(repo, 'rev-parse', 'integration');
    const result = await ws.mergeTask('T010', 'Merge T010');
    expect(result.status).toBe('merged');
    const commit = (result as { commit: string }).commit;
    expect(parents(commit)).toEqual([before, tip]);
    expect(git(repo, 'rev-parse', `${commit}^{tree}`)).toBe(git(repo, 'rev-parse', `${before}^{tree}`));
    expect(fs.existsSync(path.join(ws.sandboxDir, INTEGRATION_WORKTREE))).toBe(false);
    expect(git(repo, 'worktree', 'list', '--porcelain')).not.toContain('branch refs/heads/integration');
    expect(await ws.mergeTask('T010', 'Merge T010')).toEqual({ status: 'already-merged', commit });
  });

  it('merges in a worktree that checked the integration branch out after open, so its files follow', async () => {
    const w = await ws.ensureWorkspace('T011');
    commitFile(w.path, 'y.txt', 'y\n');
    const elsewhere = path.join(dir, 'elsewhere');
    git(repo, 'worktree', 'add', '-q', '--', elsewhere, 'integration');
    const result = await ws.mergeTask('T011', 'Merge T011');
    expect(result.status).toBe('merged');
    expect(git(elsewhere, 'rev-parse', 'HEAD')).toBe((result as { commit: string }).commit);
    expect(fs.readFileSync(path.join(elsewhere, 'y.txt'), 'utf8')).toBe('y\n');
    expect(git(elsewhere, 'status', '--porcelain')).toBe('');
  });

  it('fails clearly for a task branch that does not exist', async () => {
    await expect(ws.mergeTask('NOPE', 'Merge')).rejects.toMatchObject({ code: 'MERGE_FAILED' });
  });

  it('commits merges with a fallback identity when the repository has none', async () => {
    const home = path.join(dir, 'home');
    fs.mkdirSync(home);
    const saved = { HOME: process.env.HOME, XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME };
    process.env.HOME = home;
    process.env.XDG_CONFIG_HOME = home;
    try {
      git(repo, 'config', '--unset', 'user.name');
      git(repo, 'config', '--unset', 'user.email');
      const w = await ws.ensureWorkspace('T005');
      fs.writeFileSync(path.join(w.path, 'e.txt'), 'e\n');
      git(w.path, 'add', '--', 'e.txt');
      git(
        w.path,
        '-c',
        'user.name=Agent',
        '-c',
        'user.email=agent@example.invalid',
        'commit',
        '-q',
        '-m',
        'e',
      );
      const r = await ws.mergeTask('T005', 'Merge T005');
      expect(r.status).toBe('merged');
      expect(git(repo, 'log', '-1', '--format=%an <%ae>', 'integration')).toBe(
        'orch <orch@localhost.invalid>',
      );
    } finally {
      process.env.HOME = saved.HOME;
      if (saved.XDG_CONFIG_HOME === undefined) delete process.env.XDG_CONFIG_HOME;
      else process.env.XDG_CONFIG_HOME = saved.XDG_CONFIG_HOME;
    }
  });
});
