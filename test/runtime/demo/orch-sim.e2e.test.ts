import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { git, makeRepo, removeDir, tempDir } from '../helpers.js';

// The shipped launcher: bin/orch-sim.js runs the built dist/runtime/demo/sim-agent.js.
const bin = fileURLToPath(new URL('../../../bin/orch-sim.js', import.meta.url));
let dir: string;

beforeEach(() => {
  dir = tempDir('sim-e2e');
});

afterEach(() => removeDir(dir));

it('bin/orch-sim.js commits in its workspace and tries to report with orch signal', () => {
  const repo = makeRepo(path.join(dir, 'repo'));
  git(repo, 'checkout', '-q', '-b', 'orch/T1');
  const env = {
    ...process.env,
    ORCH_TASK_ID: 'T1',
    ORCH_ATTEMPT: '1',
    ORCH_SPAWN_ID: 's-1',
    ORCH_SIM_MODE: 'succeed',
  };
  const r = spawnSync(process.execPath, [bin], { cwd: repo, env, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toContain('orch-sim: reporting: orch signal complete');
  expect(git(repo, 'log', '-1', '--format=%s')).toBe('T1: simulated work (orch-sim, attempt 1)');
  expect(fs.readFileSync(path.join(repo, 'orch-sim', 'T1.md'), 'utf8')).toContain('spawn s-1');
  expect(execFileSync('git', ['status', '--porcelain'], { cwd: repo, encoding: 'utf8' })).toBe('');
});

it('bin/orch-sim.js fails a first attempt on request', () => {
  const repo = makeRepo(path.join(dir, 'repo'));
  const env = { ...process.env, ORCH_TASK_ID: 'T2', ORCH_ATTEMPT: '1', ORCH_SIM_FAIL_FIRST: '1' };
  const r = spawnSync(process.execPath, [bin], { cwd: repo, env, encoding: 'utf8' });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('failing attempt 1 of T2 on purpose');
});
