import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { git as orchGit, ORCH_GIT_CONFIG } from '../../../src/runtime/git/git.js';
import { WorkspaceManager } from '../../../src/runtime/git/workspace.js';
import { commitFile, git, makeRepo, removeDir, tempDir } from '../helpers.js';

const dirs: string[] = [];
const path0 = process.env['PATH'];
afterEach(() => {
  process.env['PATH'] = path0;
  for (const d of dirs.splice(0)) removeDir(d);
});

describe("orch's own git calls", () => {
  it('run without automatic gc or maintenance, and leave the repository configuration alone', async () => {
    const root = tempDir('git-config');
    dirs.push(root);
    const repo = makeRepo(path.join(root, 'repo'));
    // A git on PATH that records each call's arguments, then runs the real git.
    const real = (path0 ?? '')
      .split(path.delimiter)
      .map((d) => path.join(d, 'git'))
      .find((f) => fs.existsSync(f))!;
    const bin = path.join(root, 'bin');
    fs.mkdirSync(bin);
    const calls = path.join(root, 'calls.log');
    fs.writeFileSync(path.join(bin, 'git'), `#!/bin/sh\necho "$*" >> '${calls}'\nexec '${real}' "$@"\n`, {
      mode: 0o755,
    });
    process.env['PATH'] = `${bin}${path.delimiter}${path0 ?? ''}`;

    const ws = await WorkspaceManager.open({
      repoDir: repo,
      sandboxDir: '.state/sandbox',
      integrationBranch: 'integration',
      baseBranch: 'main',
    });
    const { path: dir } = await ws.ensureWorkspace('T1');
    // The agent's commit is not orch's git: it runs without the wrapper.
    process.env['PATH'] = path0;
    commitFile(dir, 'one.txt', '1\n');
    process.env['PATH'] = `${bin}${path.delimiter}${path0 ?? ''}`;
    const merged = await ws.mergeTask('T1', 'merge T1');
    expect(merged.status).toBe('merged');
    await orchGit(repo, ['status', '--porcelain']);

    const logged = fs.readFileSync(calls, 'utf8').trim().split('\n');
    const orchCalls = logged;
    expect(orchCalls.length).toBeGreaterThan(5);
    expect(ORCH_GIT_CONFIG).toEqual(['gc.auto=0', 'maintenance.auto=false']);
    const prefix = ORCH_GIT_CONFIG.flatMap((c) => ['-c', c]).join(' ');
    expect(orchCalls.filter((l) => !l.startsWith(prefix))).toEqual([]);
    expect(logged.some((l) => l.includes(' merge-tree '))).toBe(true);
    // Nothing was written into the repository's own configuration.
    // (`git config --get-regexp` exits 1 when no key matches.)
    expect(() => git(repo, 'config', '--get-regexp', '^(gc|maintenance)\\.')).toThrow(/Command failed/);
  });
});
