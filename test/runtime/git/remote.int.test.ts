import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OrchestratorConfigSchema } from '../../../src/core/config.js';
import { initialState } from '../../../src/core/state.js';
import { createPrProvider, githubRepoOf } from '../../../src/runtime/git/pr-provider.js';
import { loadConfig } from '../../../src/runtime/project/config.js';
import { fetchBranch, mergeThroughRemote } from '../../../src/runtime/git/remote.js';
import { advanceBranch } from '../../../src/runtime/git/reviews.js';
import { WorkspaceManager } from '../../../src/runtime/git/workspace.js';
import { commitFile, git, makeRepo, removeDir, tempDir } from '../helpers.js';

// Several workers, one remote: a bare repository in a temp directory and clones of it,
// each with its own WorkspaceManager (as each worker has its own clone), all real git.

const projectRoot = fileURLToPath(new URL('../../..', import.meta.url));
const merger = fileURLToPath(new URL('../fixtures/remote-merger.ts', import.meta.url));

let dir: string;
let bare: string;

beforeEach(() => {
  dir = tempDir('remote');
  const seed = makeRepo(path.join(dir, 'seed'));
  bare = path.join(dir, 'remote.git');
  git(dir, 'clone', '-q', '--bare', seed, bare);
});

afterEach(() => removeDir(dir));

/** A worker's clone of the remote, with its own identity. */
function cloneOf(name: string): string {
  const clone = path.join(dir, name);
  git(dir, 'clone', '-q', bare, clone);
  git(clone, 'config', 'user.name', `worker ${name}`);
  git(clone, 'config', 'user.email', `${name}@example.invalid`);
  return clone;
}

function open(clone: string, remote = 'origin'): Promise<WorkspaceManager> {
  return WorkspaceManager.open({
    repoDir: clone,
    sandboxDir: '.state/sandbox',
    integrationBranch: 'integration',
    baseBranch: 'main',
    remote,
  });
}

function remoteHead(branch = 'integration'): string {
  return git(bare, 'rev-parse', '--verify', `refs/heads/${branch}`);
}

/** A task worktree made in `ws` with one commit adding `<id>.txt`; returns the branch tip. */
async function taskWithFile(ws: WorkspaceManager, id: string, file = `${id}.txt`, content = `${id}\n`) {
  const w = await ws.ensureWorkspace(id);
  return commitFile(w.path, file, content, `${id}: work`);
}

/** For each first-parent merge commit of the remote's integration branch: its second parent. */
function mergedTips(): string[] {
  return git(bare, 'log', '--first-parent', '--merges', '--format=%P', 'refs/heads/integration')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split(' ')[1]!);
}

function runMerger(clone: string, tasks: string[]): Promise<{ id: string; status: string }[]> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', merger, clone, 'origin', tasks.join(',')],
      { cwd: projectRoot, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`${error.message}\n${stderr}`));
        resolve(JSON.parse(stdout.trim().split('\n').pop()!) as { id: string; status: string }[]);
      },
    );
  });
}

describe('the integration branch on a remote', () => {
  it('is made on the remote from the base branch once, when two workers open at the same time', async () => {
    const [a, b] = [cloneOf('a'), cloneOf('b')];
    expect(git(bare, 'for-each-ref', '--format=%(refname)', 'refs/heads/integration')).toBe('');
    const [wa, wb] = await Promise.all([open(a), open(b)]);
    const main = remoteHead('main');
    expect(remoteHead()).toBe(main);
    expect(await wa.integrationHead()).toBe(main);
    expect(await wb.integrationHead()).toBe(main);
  });

  it('merges from two workers at once, each task exactly once, none lost', async () => {
    const [a, b] = [cloneOf('a'), cloneOf('b')];
    const [wa, wb] = [await open(a), await open(b)];
    const idsA = ['A1', 'A2', 'A3', 'A4', 'A5'];
    const idsB = ['B1', 'B2', 'B3', 'B4', 'B5'];
    const tips = new Map<string, string>();
    for (const id of idsA) tips.set(id, await taskWithFile(wa, id));
    for (const id of idsB) tips.set(id, await taskWithFile(wb, id));

    const results = await Promise.all([
      ...idsA.map((id) => wa.mergeTask(id, `Merge ${id}`)),
      ...idsB.map((id) => wb.mergeTask(id, `Merge ${id}`)),
    ]);
    expect(results.map((r) => r.status)).toEqual(Array(10).fill('merged'));

    const merged = mergedTips();
    expect(merged).toHaveLength(10);
    expect(new Set(merged)).toEqual(new Set(tips.values()));
    const files = git(bare, 'ls-tree', '--name-only', 'refs/heads/integration').split('\n');
    for (const id of [...idsA, ...idsB]) expect(files).toContain(`${id}.txt`);
    // Each worker's local integration branch is the commit it pushed last, which the remote contains.
    for (const ws of [wa, wb]) {
      const local = await ws.integrationHead();
      expect(git(bare, 'merge-base', '--is-ancestor', local, 'refs/heads/integration')).toBe('');
    }
    // The merge commit each worker reported is the one on the remote.
    const commits = results.map((r) => (r as { commit: string }).commit);
    const onRemote = git(bare, 'log', '--first-parent', '--merges', '--format=%H', 'refs/heads/integration');
    expect(new Set(onRemote.split('\n'))).toEqual(new Set(commits));
  });

  it('merges from two worker processes at once, each task exactly once', async () => {
    const [c, d] = [cloneOf('c'), cloneOf('d')];
    const [wc, wd] = [await open(c), await open(d)];
    const idsC = ['C1', 'C2', 'C3', 'C4'];
    const idsD = ['D1', 'D2', 'D3', 'D4'];
    const tips: string[] = [];
    for (const id of idsC) tips.push(await taskWithFile(wc, id));
    for (const id of idsD) tips.push(await taskWithFile(wd, id));

    const [outC, outD] = await Promise.all([runMerger(c, idsC), runMerger(d, idsD)]);
    expect([...outC, ...outD].map((r) => r.status)).toEqual(Array(8).fill('merged'));
    const merged = mergedTips();
    expect(merged).toHaveLength(8);
    expect(new Set(merged)).toEqual(new Set(tips));
  });

  it('retries a push the remote refused because another worker moved the head, merging on the new head', async () => {
    const [a, b] = [cloneOf('a'), cloneOf('b')];
    const [wa, wb] = [await open(a), await open(b)];
    const tipA = await taskWithFile(wa, 'R1');
    await taskWithFile(wb, 'R2');
    const heads: string[] = [];
    const adopted: string[] = [];
    const result = await mergeThroughRemote(a, {
      remote: 'origin',
      into: 'integration',
      branch: 'orch/R1',
      message: 'Merge R1',
      identity: [],
      head: async () => {
        const head = (await fetchBranch(a, 'origin', 'integration'))!;
        heads.push(head);
        // Between this worker's fetch and its push, the other worker merges.
        if (heads.length === 1) expect((await wb.mergeTask('R2', 'Merge R2')).status).toBe('merged');
        return head;
      },
      adopt: async (commit) => {
        adopted.push(commit);
      },
    });
    expect(result.status).toBe('merged');
    const commit = (result as { commit: string }).commit;
    expect(heads).toHaveLength(2);
    expect(heads[1]).not.toBe(heads[0]);
    expect(remoteHead()).toBe(commit);
    expect(git(bare, 'rev-list', '--parents', '-n', '1', commit).split(' ').slice(1)).toEqual([
      heads[1],
      tipA,
    ]);
    expect(adopted).toEqual([commit]);
    expect(mergedTips()).toHaveLength(2);
  });

  it('gives a clear MERGE_FAILED after the bounded number of refused pushes', async () => {
    const [a, b] = [cloneOf('a'), cloneOf('b')];
    const [wa, wb] = [await open(a), await open(b)];
    await taskWithFile(wa, 'X');
    for (const id of ['Y1', 'Y2', 'Y3']) await taskWithFile(wb, id);
    let calls = 0;
    const attempt = mergeThroughRemote(a, {
      remote: 'origin',
      into: 'integration',
      branch: 'orch/X',
      message: 'Merge X',
      identity: [],
      attempts: 3,
      maxBackoffMs: 10,
      head: async () => {
        const head = (await fetchBranch(a, 'origin', 'integration'))!;
        calls++;
        await wb.mergeTask(`Y${calls}`, `Merge Y${calls}`);
        return head;
      },
      adopt: async () => undefined,
    });
    await expect(attempt).rejects.toMatchObject({
      code: 'MERGE_FAILED',
      message: expect.stringMatching(/refused 3 times in a row/),
    });
    expect(calls).toBe(3);
    expect(mergedTips()).toHaveLength(3);
  });

  it('reports a conflict as on one machine and leaves the remote untouched', async () => {
    const [a, b] = [cloneOf('a'), cloneOf('b')];
    const [wa, wb] = [await open(a), await open(b)];
    await taskWithFile(wa, 'K1', 'shared.txt', 'from K1\n');
    await taskWithFile(wb, 'K2', 'shared.txt', 'from K2\n');
    expect((await wa.mergeTask('K1', 'Merge K1')).status).toBe('merged');
    const before = git(bare, 'for-each-ref', '--format=%(refname) %(objectname)');
    expect(await wb.mergeTask('K2', 'Merge K2')).toEqual({ status: 'conflict', files: ['shared.txt'] });
    expect(git(bare, 'for-each-ref', '--format=%(refname) %(objectname)')).toBe(before);
    expect(git(b, 'status', '--porcelain', '--untracked-files=no')).toBe('');
  });

  it('starts a worktree in one clone from the integration head another clone pushed', async () => {
    const [a, b] = [cloneOf('a'), cloneOf('b')];
    const [wa, wb] = [await open(a), await open(b)];
    await taskWithFile(wa, 'W1');
    const merged = (await wa.mergeTask('W1', 'Merge W1')) as { commit: string };
    expect(remoteHead()).toBe(merged.commit);
    const w2 = await wb.ensureWorkspace('W2');
    expect(w2.head).toBe(merged.commit);
    expect(fs.readFileSync(path.join(w2.path, 'W1.txt'), 'utf8')).toBe('W1\n');
    expect(await wb.integrationHead()).toBe(merged.commit);
  });

  it('fast-forwards a user checkout of the integration branch, files and all', async () => {
    const [a, b] = [cloneOf('a'), cloneOf('b')];
    const wa = await open(a);
    git(b, 'checkout', '-q', '-b', 'integration', 'origin/main');
    const wb = await open(b);
    await taskWithFile(wa, 'U1');
    const merged = (await wa.mergeTask('U1', 'Merge U1')) as { commit: string };
    await wb.ensureWorkspace('U2');
    expect(git(b, 'rev-parse', 'HEAD')).toBe(merged.commit);
    expect(fs.readFileSync(path.join(b, 'U1.txt'), 'utf8')).toBe('U1\n');
    expect(git(b, 'status', '--porcelain', '--untracked-files=no')).toBe('');
  });

  it('does not merge again a task the remote already has (also after a crash before the local branch moved)', async () => {
    const a = cloneOf('a');
    const wa = await open(a);
    await taskWithFile(wa, 'F1');
    const before = remoteHead();
    const first = (await wa.mergeTask('F1', 'Merge F1')) as { commit: string };
    expect(await wa.mergeTask('F1', 'Merge F1')).toEqual({ status: 'already-merged', commit: first.commit });
    expect(remoteHead()).toBe(first.commit);
    // A crash between the push and moving the local branch: the local branch is behind.
    git(a, 'update-ref', 'refs/heads/integration', before);
    const restarted = await open(a);
    expect(await restarted.integrationHead()).toBe(first.commit);
    git(a, 'update-ref', 'refs/heads/integration', before);
    expect(await restarted.mergeTask('F1', 'Merge F1')).toEqual({
      status: 'already-merged',
      commit: first.commit,
    });
    expect(await restarted.integrationHead()).toBe(first.commit);
    expect(remoteHead()).toBe(first.commit);
    expect(mergedTips()).toHaveLength(1);
  });

  it('refuses to drop local integration commits the remote does not have (INTEGRATION_DIVERGED)', async () => {
    const a = cloneOf('a');
    const wa = await open(a);
    const w = await wa.ensureWorkspace('L1');
    const local = commitFile(w.path, 'local.txt', 'only here\n');
    git(a, 'update-ref', 'refs/heads/integration', local);
    await expect(open(a)).rejects.toMatchObject({ code: 'INTEGRATION_DIVERGED' });
    expect(remoteHead()).not.toBe(local);
  });

  it('pushes a milestone branch once; a later worker takes the remote one', async () => {
    const [a, b] = [cloneOf('a'), cloneOf('b')];
    const [wa, wb] = [await open(a), await open(b)];
    await taskWithFile(wa, 'M1');
    const merged = (await wa.mergeTask('M1', 'Merge M1')) as { commit: string };
    await Promise.all([wa.publishBranch('milestone/M1'), wb.publishBranch('milestone/M1')]);
    expect(remoteHead('milestone/M1')).toBe(merged.commit);
    await taskWithFile(wa, 'M2');
    await wa.mergeTask('M2', 'Merge M2');
    const c = cloneOf('c');
    const wc = await open(c);
    await wc.publishBranch('milestone/M1');
    expect(git(c, 'rev-parse', 'refs/heads/milestone/M1')).toBe(merged.commit);
    expect(remoteHead('milestone/M1')).toBe(merged.commit);
  });

  it('names the remote when it cannot be reached', async () => {
    const a = cloneOf('a');
    await expect(open(a, path.join(dir, 'no-such-remote.git'))).rejects.toMatchObject({
      code: 'REMOTE_FAILED',
      message: expect.stringContaining('no-such-remote.git'),
    });
  });
});

describe('milestone pull requests through a remote', () => {
  it('local provider: the milestone branch is pushed to the configured remote (not origin)', async () => {
    const a = cloneOf('a');
    git(a, 'remote', 'rename', 'origin', 'shared');
    const ws = await open(a, 'shared');
    const config = OrchestratorConfigSchema.parse({ remote: 'shared' });
    const prs = createPrProvider(config, { repoDir: a, stateDir: path.join(dir, 'state'), workspaces: ws });
    const pr = await prs.open('M1', prs.branchFor('M1'), initialState());
    expect(pr.branch).toBe('milestone/M1');
    expect(remoteHead('milestone/M1')).toBe(remoteHead());
  });

  it('github provider: pushes to the remote (not origin), gh asked once; no GH_REPO for a remote that is not a GitHub URL', async () => {
    const a = cloneOf('a');
    git(a, 'remote', 'rename', 'origin', 'shared');
    const ws = await open(a, 'shared');
    const record = path.join(dir, 'gh-calls');
    const gh = path.join(dir, 'gh');
    fs.writeFileSync(
      gh,
      `#!/bin/sh\necho "$GH_REPO|$*" >> ${JSON.stringify(record)}\n[ "$2" = list ] && { echo "[]"; exit 0; }\necho https://github.example/acme/app/pull/1\n`,
      { mode: 0o755 },
    );
    const config = OrchestratorConfigSchema.parse({ remote: 'shared', pr: { provider: 'github' } });
    const prs = createPrProvider(config, {
      repoDir: a,
      stateDir: path.join(dir, 'state'),
      workspaces: ws,
      ghCommand: gh,
    });
    const pr = await prs.open('M1', 'milestone/M1', initialState());
    expect(pr).toEqual({ url: 'https://github.example/acme/app/pull/1', branch: 'milestone/M1' });
    expect(remoteHead('milestone/M1')).toBe(remoteHead());
    const calls = fs.readFileSync(record, 'utf8').trim().split('\n');
    // The remote here is a local path: no GitHub repository to name, gh finds its own.
    expect(calls.map((c) => c.split(' ').slice(0, 2).join(' '))).toEqual(['|pr list', '|pr create']);
  });

  it('moves the milestone branch on the remote to a fix another worker merged (review answers)', async () => {
    const [a, b] = [cloneOf('a'), cloneOf('b')];
    const wa = await open(a);
    await open(b);
    await wa.publishBranch('milestone/M1');
    const opened = remoteHead('milestone/M1');
    await taskWithFile(wa, 'FIX');
    const fix = (await wa.mergeTask('FIX', 'orch: merge task FIX')) as { commit: string };
    // Worker b has fetched neither the fix nor the milestone branch.
    expect(() => git(b, 'cat-file', '-e', `${fix.commit}^{commit}`)).toThrow();
    const via = { remote: 'origin', integrationBranch: 'integration' };
    await advanceBranch(b, 'milestone/M1', fix.commit, via);
    expect(remoteHead('milestone/M1')).toBe(fix.commit);
    expect(git(b, 'rev-parse', 'refs/heads/milestone/M1')).toBe(fix.commit);
    expect(git(bare, 'merge-base', '--is-ancestor', opened, fix.commit)).toBe('');
    // Again (a repeat after a crash): nothing to move, nothing refused.
    await advanceBranch(a, 'milestone/M1', fix.commit, via);
    expect(remoteHead('milestone/M1')).toBe(fix.commit);
  });

  it('names the GitHub repository of a remote URL in the form gh reads from GH_REPO', () => {
    expect(githubRepoOf('https://github.com/acme/app.git')).toBe('github.com/acme/app');
    expect(githubRepoOf('https://token@github.com/acme/app')).toBe('github.com/acme/app');
    expect(githubRepoOf('git@github.com:acme/app.git')).toBe('github.com/acme/app');
    expect(githubRepoOf('ssh://git@ghe.example:2222/team/svc.git')).toBe('ghe.example/team/svc');
    expect(githubRepoOf('/srv/git/app.git')).toBeNull();
    expect(githubRepoOf('file:///srv/git/app.git')).toBeNull();
  });
});

describe('a hostile remote value', () => {
  const hostile = [
    '--upload-pack=touch PWNED',
    '-oProxyCommand=touch PWNED',
    'origin\n--upload-pack=touch PWNED',
    'origin\u0000',
    '',
  ];

  it('is refused by WorkspaceManager.open with CONFIG_INVALID naming the key, and git never runs it', async () => {
    const a = cloneOf('a');
    for (const value of hostile) {
      const marker = path.join(a, 'PWNED');
      await expect(open(a, value.replace('PWNED', marker))).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringMatching(/^remote: /),
      });
      expect(fs.existsSync(marker)).toBe(false);
    }
    expect(git(bare, 'for-each-ref', '--format=%(refname)', 'refs/heads/integration')).toBe('');
  });

  it('is refused by the config schema and by loadConfig, naming the key', () => {
    for (const value of hostile) {
      const parsed = OrchestratorConfigSchema.safeParse({ remote: value });
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues.map((i) => i.path.join('.'))).toEqual(['remote']);
    }
    expect(OrchestratorConfigSchema.parse({ remote: 'origin' }).remote).toBe('origin');
    expect(OrchestratorConfigSchema.parse({}).remote).toBeUndefined();
    const repo = makeRepo(path.join(dir, 'cfg'));
    fs.writeFileSync(path.join(repo, 'orch.config.json'), JSON.stringify({ remote: '--upload-pack=x' }));
    expect(() => loadConfig(repo)).toThrow(/remote: it starts with "-"/);
  });
});
