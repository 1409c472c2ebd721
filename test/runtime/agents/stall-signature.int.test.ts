import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startAgent, workspaceSignature } from '../../../src/runtime/agents/runner.js';
import { isProcessGroupAlive } from '../../../src/runtime/system/process-identity.js';
import { commitFile, fixtureAgent, makeRepo, removeDir, sleep, tempDir } from '../helpers.js';

/** What the stall watchdog sees of a worktree, and the watchdog on `startAgent` alone. */

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

function repo(): string {
  const root = tempDir('stall-sig');
  dirs.push(root);
  const r = makeRepo(path.join(root, 'repo'));
  fs.writeFileSync(path.join(r, '.gitignore'), 'ignored/\n');
  commitFile(r, 'a.txt', 'a\n');
  return r;
}

describe('workspaceSignature', () => {
  it('changes with a new file, a file edited again, a commit; not with git-ignored files', async () => {
    const r = repo();
    const clean = await workspaceSignature(r);
    expect(await workspaceSignature(r)).toBe(clean);
    fs.writeFileSync(path.join(r, 'new.txt'), 'one\n');
    const added = await workspaceSignature(r);
    expect(added).not.toBe(clean);
    // Listed the same by `git status`, but its size changed.
    fs.writeFileSync(path.join(r, 'new.txt'), 'one\ntwo\n');
    const edited = await workspaceSignature(r);
    expect(edited).not.toBe(added);
    // Same size, later mtime.
    fs.utimesSync(path.join(r, 'new.txt'), new Date(), new Date(Date.now() + 5_000));
    const touched = await workspaceSignature(r);
    expect(touched).not.toBe(edited);
    commitFile(r, 'new.txt', 'three\n');
    const committed = await workspaceSignature(r);
    expect(committed).not.toBe(touched);
    fs.mkdirSync(path.join(r, 'ignored'));
    fs.writeFileSync(path.join(r, 'ignored', 'x.log'), 'noise\n');
    expect(await workspaceSignature(r)).toBe(committed);
  });

  it('is the empty string outside a git repository', async () => {
    const d = tempDir('stall-nogit');
    dirs.push(d);
    expect(await workspaceSignature(d)).toBe('');
  });
});

describe('startAgent with stallTimeoutMs', () => {
  it('stops a silent agent whole and reports it stalled with its last line', async () => {
    const r = repo();
    const stateDir = path.join(path.dirname(r), 'state');
    const agent = await startAgent({
      command: [fixtureAgent('hang.mjs')],
      prompt: 'p',
      identity: { runId: 'r', taskId: 'T1', spawnId: 's1', role: 'dev', attempt: 1, stateDir, workspace: r },
      env: { IGNORE_TERM: '1' },
      // Long enough for two Node processes to start on a loaded machine and print a line.
      stallTimeoutMs: 2000,
      stallPollMs: 50,
      killGraceMs: 300,
    });
    const result = await Promise.race([agent.done, sleep(8_000).then(() => undefined)]);
    if (result === undefined) await agent.stop();
    expect(result?.stalled?.idleMs).toBeGreaterThanOrEqual(2000);
    expect(result?.stalled?.lastOutputLine).toMatch(/^hanging \(pid \d+\)$/);
    expect(result?.timedOut).toBe(false);
    expect(isProcessGroupAlive(agent.pid)).toBe(false);
  }, 15_000);
});
