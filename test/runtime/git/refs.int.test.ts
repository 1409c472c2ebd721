import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readRef, readWorktreeHead } from '../../../src/runtime/git/refs.js';
import { WorkspaceManager } from '../../../src/runtime/git/workspace.js';
import { commitFile, git, makeRepo, removeDir, tempDir } from '../helpers.js';

let dir: string;
let repo: string;
let common: string;

beforeEach(() => {
  dir = tempDir('refs');
  repo = makeRepo(path.join(dir, 'repo'));
  common = path.join(repo, '.git');
});

afterEach(() => removeDir(dir));

function openWorkspaces(): Promise<WorkspaceManager> {
  return WorkspaceManager.open({
    repoDir: repo,
    sandboxDir: '.state/sandbox',
    integrationBranch: 'integration',
    baseBranch: 'main',
  });
}

describe('reading refs without git', () => {
  it('agrees with git rev-parse for loose refs, packed refs, and refs that do not exist', () => {
    git(repo, 'branch', 'feature/one');
    expect(readRef(common, 'refs/heads/feature/one')).toBe(git(repo, 'rev-parse', 'feature/one'));
    git(repo, 'pack-refs', '--all');
    expect(fs.existsSync(path.join(common, 'refs/heads/feature/one'))).toBe(false);
    expect(readRef(common, 'refs/heads/feature/one')).toBe(git(repo, 'rev-parse', 'feature/one'));
    // A loose ref written after packing wins over the packed line, as in git.
    commitFile(repo, 'a.txt', 'a\n', 'a');
    git(repo, 'branch', '-f', 'feature/one', 'HEAD');
    expect(readRef(common, 'refs/heads/feature/one')).toBe(git(repo, 'rev-parse', 'HEAD'));
    expect(readRef(common, 'refs/heads/no-such-branch')).toBeNull();
  });

  it('leaves to git what it cannot tell: a symbolic ref, a name outside refs/, reftable', () => {
    git(repo, 'symbolic-ref', 'refs/heads/alias', 'refs/heads/main');
    expect(readRef(common, 'refs/heads/alias')).toBeUndefined();
    expect(readRef(common, 'HEAD')).toBeUndefined();
    expect(readRef(common, 'refs/heads/../../config')).toBeUndefined();
    const other = makeRepo(path.join(dir, 'other'));
    fs.appendFileSync(path.join(other, '.git', 'config'), '[extensions]\n\trefStorage = reftable\n');
    expect(readRef(path.join(other, '.git'), 'refs/heads/main')).toBeUndefined();
  });

  it("reads a worktree's HEAD: a linked worktree on a branch, a detached one, the main one", async () => {
    const ws = await openWorkspaces();
    const w = await ws.ensureWorkspace('T1');
    const tip = commitFile(w.path, 'b.txt', 'b\n', 'b');
    expect(readWorktreeHead(w.path)).toBe(tip);
    git(w.path, 'checkout', '-q', '--detach', 'HEAD~1');
    expect(readWorktreeHead(w.path)).toBe(git(w.path, 'rev-parse', 'HEAD'));
    expect(readWorktreeHead(repo)).toBe(git(repo, 'rev-parse', 'HEAD'));
    expect(readWorktreeHead(path.join(dir, 'not-a-worktree'))).toBeUndefined();
  });

  it('merges read the tips from the files, and still merge right when another writer moved the branch', async () => {
    const ws = await openWorkspaces();
    for (const id of ['T1', 'T2']) {
      const w = await ws.ensureWorkspace(id);
      commitFile(w.path, `${id}.txt`, `${id}\n`, id);
    }
    const first = await ws.mergeTask('T1', 'Merge T1');
    expect(first.status).toBe('merged');
    // Someone else commits onto the integration branch, and packs the refs.
    const other = path.join(dir, 'other-wt');
    git(repo, 'worktree', 'add', '-q', '--detach', other, 'integration');
    const theirs = commitFile(other, 'theirs.txt', 'x\n', 'theirs');
    git(repo, 'update-ref', 'refs/heads/integration', theirs);
    git(repo, 'pack-refs', '--all');
    const second = await ws.mergeTask('T2', 'Merge T2');
    expect(second.status).toBe('merged');
    const commit = (second as { commit: string }).commit;
    expect(git(repo, 'rev-parse', 'integration')).toBe(commit);
    expect(git(repo, 'rev-list', '--parents', '-n', '1', commit).split(' ')[1]).toBe(theirs);
    expect(git(repo, 'ls-tree', '--name-only', 'integration').split('\n')).toEqual(
      expect.arrayContaining(['T1.txt', 'T2.txt', 'theirs.txt']),
    );
  });
});

describe('worktrees and merges in two queues', () => {
  it('makes new worktrees while merges run, and every merge and worktree comes out right', async () => {
    const ws = await openWorkspaces();
    for (let i = 1; i <= 6; i++) {
      const w = await ws.ensureWorkspace(`M${i}`);
      commitFile(w.path, `M${i}.txt`, `${i}\n`, `M${i}`);
    }
    // Six merges and six new worktrees at once; both queues interleave.
    const merges = Array.from({ length: 6 }, (_, i) => ws.mergeTask(`M${i + 1}`, `Merge M${i + 1}`));
    const made = Array.from({ length: 6 }, (_, i) => ws.ensureWorkspace(`N${i + 1}`));
    const results = await Promise.all(merges);
    const worktrees = await Promise.all(made);
    expect(results.map((r) => r.status)).toEqual(Array(6).fill('merged'));
    expect(git(repo, 'rev-list', '--count', '--merges', 'integration')).toBe('6');
    for (const w of worktrees) {
      expect(w.created).toBe(true);
      expect(git(w.path, 'symbolic-ref', '--short', 'HEAD')).toBe(`orch/${w.taskId}`);
      // Made from the integration branch as it was at that moment: one of its heads.
      expect(git(repo, 'merge-base', '--is-ancestor', w.head, 'integration')).toBe('');
    }
    expect(
      git(repo, 'worktree', 'list', '--porcelain')
        .split('\n')
        .filter((l) => l.startsWith('worktree ')).length,
    ).toBe(13);
    // The integration branch still holds every merge (the check's fast path agrees with git).
    expect(await ws.missingFromIntegration(results.map((r) => (r as { commit: string }).commit))).toEqual([]);
    git(repo, 'update-ref', 'refs/heads/integration', (results[2] as { commit: string }).commit);
    expect(
      await ws.missingFromIntegration(results.map((r) => (r as { commit: string }).commit)),
    ).toHaveLength(3);
  });
});
