import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fallbackIdentity } from '../../../src/runtime/git/git.js';
import { inProcessWriter } from '../../../src/runtime/git/objects.js';
import { commitFile, git, makeRepo, removeDir, tempDir } from '../helpers.js';

let dir: string;
let repo: string;
const AT = new Date('2026-03-01T12:34:56Z');

beforeEach(() => {
  dir = tempDir('objects');
  repo = makeRepo(path.join(dir, 'repo'));
});

afterEach(() => removeDir(dir));

/** git commit-tree at the same moment, for comparison. */
function gitCommitTree(tree: string, parents: string[], message: string): string {
  const stamp = `${Math.floor(AT.getTime() / 1000)} ${tz(AT)}`;
  return execFileSync('git', ['commit-tree', tree, ...parents.flatMap((p) => ['-p', p]), '-m', message], {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_DATE: stamp, GIT_COMMITTER_DATE: stamp },
  }).trim();
}

function tz(d: Date): string {
  const offset = -d.getTimezoneOffset();
  const abs = Math.abs(offset);
  return `${offset < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
}

describe('merge commits and the ref move without git', () => {
  it('makes exactly the commit git commit-tree makes, as a valid loose object', async () => {
    const writer = (await inProcessWriter(repo, path.join(repo, '.git'), [], () => AT))!;
    expect(writer).not.toBeNull();
    const base = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'checkout', '-q', '-b', 'side');
    const side = commitFile(repo, 'side.txt', 'side\n', 'side');
    const tree = git(repo, 'rev-parse', 'HEAD^{tree}');
    for (const message of [
      'orch: merge task T1 (a title)\n\nSpawn: s-1\nRun: r-1',
      'one line\n',
      'ünïcode ✓',
    ]) {
      const ours = writer.commit(tree, [base, side], message);
      expect(ours).toBe(gitCommitTree(tree, [base, side], message));
      expect(git(repo, 'cat-file', '-t', ours!)).toBe('commit');
    }
    git(repo, 'fsck', '--strict', '--no-dangling');
  });

  it("moves the ref only from the expected value, under git's lock, with git's reflog line", async () => {
    const writer = (await inProcessWriter(repo, path.join(repo, '.git'), await fallbackIdentity(repo)))!;
    const ref = 'refs/heads/integration';
    git(repo, 'branch', 'integration');
    const start = git(repo, 'rev-parse', 'integration');
    const next = commitFile(repo, 'n.txt', 'n\n', 'n');
    expect(writer.moveRef(ref, next, start, 'wrong start')).toBe('stale');
    expect(git(repo, 'rev-parse', 'integration')).toBe(start);
    fs.writeFileSync(path.join(repo, '.git', `${ref}.lock`), '');
    expect(writer.moveRef(ref, start, next, 'locked')).toBeUndefined();
    expect(fs.existsSync(path.join(repo, '.git', `${ref}.lock`))).toBe(true); // not ours to remove
    fs.rmSync(path.join(repo, '.git', `${ref}.lock`));
    expect(writer.moveRef(ref, start, next, 'merge orch/T1: Merge made by orch')).toBe('moved');
    expect(git(repo, 'rev-parse', 'integration')).toBe(next);
    expect(fs.existsSync(path.join(repo, '.git', `${ref}.lock`))).toBe(false);
    expect(git(repo, 'reflog', '-1', '--format=%H %gs', 'integration')).toBe(
      `${next} merge orch/T1: Merge made by orch`,
    );
    // A packed ref is moved the same way (the loose file written wins over the packed line).
    git(repo, 'pack-refs', '--all');
    expect(writer.moveRef(ref, next, start, 'back')).toBe('moved');
    expect(git(repo, 'rev-parse', 'integration')).toBe(start);
    git(repo, 'fsck', '--strict', '--no-dangling');
  });

  it('leaves to git a repository it cannot write exactly: signed commits, SHA-256, shared permissions', async () => {
    git(repo, 'config', 'commit.gpgSign', 'true');
    expect(await inProcessWriter(repo, path.join(repo, '.git'), [])).toBeNull();
    git(repo, 'config', '--unset', 'commit.gpgSign');
    git(repo, 'config', 'core.sharedRepository', 'group');
    expect(await inProcessWriter(repo, path.join(repo, '.git'), [])).toBeNull();
    const sha256 = path.join(dir, 'sha256');
    fs.mkdirSync(sha256);
    git(sha256, 'init', '-q', '--object-format=sha256');
    expect(await inProcessWriter(sha256, path.join(sha256, '.git'), [])).toBeNull();
  });
});
